//! `linear-search-in-loop`: `if x in items` inside a loop, where `items` is a list, walks the
//! list on every iteration: n x m comparisons where a set built once makes it n lookups.
//!
//! Profile evidence (Python, line-level): the self time of the function on the line of the
//! membership test (py-spy charges the list walk, done in C, to that line). Source evidence (a
//! syntax query in that function): the `in` / `not in` test against a name, inside a loop or a
//! comprehension, and that name is not changed in the function. The fix builds
//! `items_set = set(items)` just before the outermost loop around the test and tests against it.
//!
//! Rust (`rust.rs`): `items.contains(&x)` on a slice or vector in a loop, found by the time in
//! `slice::contains`; the fix collects a `HashSet` before the loop. C++ (`cpp.rs`):
//! `std::find(v.begin(), v.end(), x) != v.end()` (or `std::count(..)` compared with 0) on a
//! `std::vector` in a loop, found by the time in `std::find`'s frames (inlined: a `perf.data`
//! capture read with the binary's DWARF); the fix builds a `std::unordered_set` before the loop.
//! Go (`go.rs`): a hand-written `contains(list, x)` helper (a linear scan, recognised from its
//! source) or `slices.Contains` called in a loop, found by the time in the helper; the fix
//! builds a `map[T]bool` before the loop. Java (`java.rs`): `items.contains(x)` on a `List`
//! in a loop. HotSpot's JIT inlines `ArrayList.contains` into the caller at steady state, so
//! the walk shows as the method's own time: found by that self time together with the
//! `ArrayList.contains` / `indexOfRange` frames charged to the method (both required), with a
//! lower confidence; the fix builds a `HashSet` before the loop. C (`c.rs`): a hand-written
//! search helper (a `for` loop comparing each element with `strcmp` or `==`, recognised from
//! its source) called in a loop, found by the time in the helper (given back from DWARF when
//! inlined); no patch, the finding says to sort and `bsearch` or to hash.

use joule_sdk::SyntaxCapture;
use joule_sdk::hotspot::sites_in;
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

mod c;
mod cpp;
mod go;
mod java;
mod rust;

const MEMBERSHIP: &str =
    r#"(comparison_operator (_) @needle operators: _ @op (identifier) @haystack) @test"#;

const LOOPS: &str = r#"[(for_statement) (while_statement) (list_comprehension) (set_comprehension) (dictionary_comprehension) (generator_expression)] @loop"#;

/// Share of the line's time the fix removes: a hash lookup instead of a walk of the list.
const REMOVED: f64 = 0.95;

/// Functions (by self time) whose lines are looked at.
const CANDIDATES: u32 = 30;

struct LinearSearchInLoop;

impl Skill for LinearSearchInLoop {
    fn describe() -> Descriptor {
        Describe::offense(
            "linear-search-in-loop",
            env!("CARGO_PKG_VERSION"),
            "Membership tests against a list inside a loop (Python `if x in items`, Rust \
             `items.contains(&x)`, C++ `std::find(v.begin(), v.end(), x) != v.end()`, Go \
             `contains(items, x)` helpers and `slices.Contains`, Java `items.contains(x)` on a \
             `List`, C `contains(list, n, x)` helpers), each walking it; proposes building a set \
             once before the loop.",
            "0.01",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let min_share: f64 = invocation.param_or("min-share", 0.01)?;
        let trees = Tree::granted();
        let mut findings = Vec::new();
        for profile in Profile::granted() {
            let hot = profile.hot_in(Language::Python, Order::BySelf, CANDIDATES, min_share)?;
            for stat in &hot {
                findings.extend(function_findings(
                    &profile,
                    &trees,
                    &stat.function,
                    min_share,
                )?);
            }
            let examined = hot.len();
            log::info(format!(
                "{}: {examined} hot Python functions looked at for membership tests in loops",
                profile.name()
            ));
        }
        findings.extend(rust::scan(invocation)?);
        findings.extend(c::scan(invocation)?);
        findings.extend(cpp::scan(invocation)?);
        findings.extend(go::scan(invocation)?);
        findings.extend(java::scan(invocation)?);
        Ok(findings)
    }
}

/// `s` as a regex matching it literally (a helper's name in an `Attribution` cost pattern).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One query's matches per file, each file queried once however many of its functions are
/// looked at (search helpers are recognised file by file).
pub struct PerFile {
    language: Language,
    query: &'static str,
    done: Vec<(String, String, Vec<SyntaxMatch>)>,
}

impl PerFile {
    pub fn new(language: Language, query: &'static str) -> Self {
        PerFile {
            language,
            query,
            done: Vec::new(),
        }
    }

    /// The query's matches in `path` of `tree`.
    pub fn matches(&mut self, tree: &Tree, path: &str) -> Result<&[SyntaxMatch], CallError> {
        let known = self
            .done
            .iter()
            .position(|(t, p, _)| t == tree.name() && p == path);
        let index = match known {
            Some(i) => i,
            None => {
                let glob = joule_sdk::hotspot::glob_literal(path);
                let matches = tree.query(&Query::new(self.language, self.query).glob(&glob))?;
                self.done
                    .push((tree.name().to_string(), path.to_string(), matches));
                self.done.len() - 1
            }
        };
        Ok(&self.done[index].2)
    }
}

/// Whether `body` changes the list `name` (appends to it, assigns it, deletes from it): then a
/// set built before the loop would go stale.
pub fn changes(body: &str, name: &str) -> bool {
    let calls = [
        "append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse", "add", "update",
        "discard",
    ];
    // Bound as a loop or comprehension target (`for NAME in`, `for k, NAME in`): a new list
    // each iteration, not one to freeze before the loop.
    let bound = body.split("for ").skip(1).any(|after| {
        after.split(" in ").next().is_some_and(|targets| {
            targets
                .split(',')
                .any(|t| t.trim().trim_matches(['(', ')']) == name)
        })
    });
    bound
        || calls.iter().any(|c| body.contains(&format!("{name}.{c}(")))
        || body.lines().any(|line| {
            let line = line.trim_start();
            line.strip_prefix(name).is_some_and(|rest| {
                let rest = rest.trim_start();
                (rest.starts_with('=') && !rest.starts_with("=="))
                    || rest.starts_with("+=")
                    || rest.starts_with("|=")
                    || rest.starts_with('[')
            }) || line.starts_with(&format!("del {name}"))
        })
}

fn function_findings(
    profile: &Profile,
    trees: &[Tree],
    function: &Function,
    min_share: f64,
) -> Result<Vec<Finding>, String> {
    let lines = profile.lines(function.id, 1000)?;
    let query = Query::new(Language::Python, MEMBERSHIP);
    let mut findings = Vec::new();
    for (tree_name, site) in sites_in(trees, function, &query)? {
        let (Some(test), Some(haystack), Some(op)) = (
            site.capture("test"),
            site.capture("haystack"),
            site.capture("op"),
        ) else {
            continue;
        };
        if site.loop_depth == 0 || !matches!(op.text.as_str(), "in" | "not in") {
            continue;
        }
        let value: i64 = lines
            .iter()
            .filter(|l| test.lines.start <= l.line && l.line <= test.lines.end)
            .map(|l| l.self_value)
            .sum();
        let share = profile.share(value);
        if share < min_share {
            continue;
        }
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        let edits = fix(tree, &site, &haystack.text, haystack)?;
        let unit = profile.unit();
        let mut f = Finding::opportunity("linear-search-in-loop")
            .title(format!(
                "`{}` searches the list `{}` on every iteration: {} of {}",
                function.name,
                haystack.text,
                percent(share),
                profile.sample_type()
            ))
            .location(Location::capture(&tree_name, &site.path, test).in_function(&function.name))
            .measured(profile, value)
            .saving(share * REMOVED)
            .evidence("time on the line of the test", value as f64, unit)
            .evidence("loop depth", f64::from(site.loop_depth), "loops")
            .label("fingerprint", test.text.clone());
        let mut message = format!(
            "{} is spent on line {} of `{}`, the membership test\n\n```python\n{}\n```\n\n\
             inside a loop: `{}` walks `{}` element by element on every iteration, so the loop \
             costs its length times the list's.",
            profile.cost(value),
            test.lines.start,
            function.name,
            test.text,
            op.text,
            haystack.text
        );
        match edits {
            Some(edits) => {
                message.push_str(&format!(
                    " The patch builds `{0}_set = set({0})` once, before the loop, and tests \
                     against it: a hash lookup per iteration (the elements must be hashable, \
                     as strings and numbers are).",
                    haystack.text
                ));
                for e in edits {
                    f = f.edit(e);
                }
                f = f.confidence(0.85);
            }
            None => {
                message.push_str(&format!(
                    " `{}` changes inside the function, so no mechanical patch is offered: keep \
                     a set beside it, updated with it, and test against the set.",
                    haystack.text
                ));
                f = f.confidence(0.7);
            }
        }
        findings.push(f.message(message).build());
    }
    Ok(findings)
}

/// The edits: `NAME_set = set(NAME)` before the outermost loop around the test, at that
/// loop's indentation, and the test made against it. `None` when the function changes `NAME`.
fn fix(
    tree: &Tree,
    site: &SyntaxMatch,
    name: &str,
    haystack: &SyntaxCapture,
) -> Result<Option<Vec<Edit>>, CallError> {
    let Some((start, end)) = site.function_lines.map(|l| (l.start, l.end)) else {
        return Ok(None);
    };
    let body = tree.read_lines(&site.path, start, end)?.join("\n");
    if changes(&body, name) {
        return Ok(None);
    }
    let Some(outer) = tree.outermost_loop(site, &Query::new(Language::Python, LOOPS), haystack)?
    else {
        return Ok(None);
    };
    let line = outer.lines.start;
    // A comprehension may sit inside a statement that began on an earlier line (an argument
    // list, a continued expression): the new line would land inside it.
    if !matches!(outer.kind.as_str(), "for_statement" | "while_statement") && line > 1 {
        let previous = tree.read_lines(&site.path, line - 1, line - 1)?.join("");
        let previous = previous.trim_end();
        if previous.ends_with(['(', '[', '{', ',', '\\', '+', '-', '*', '/', '=']) {
            return Ok(None);
        }
    }
    let indent = tree.indentation(&site.path, line)?;
    Ok(Some(vec![
        Edit::lines(
            tree.name(),
            &site.path,
            line,
            line - 1,
            &format!("{indent}{name}_set = set({name})\n"),
        ),
        Edit::capture(tree.name(), &site.path, haystack, &format!("{name}_set")),
    ]))
}

/// The function a syntax match is in, as each language's checks read it: its tree, its first
/// line and its text (its lines joined).
pub struct FunctionText<'a> {
    pub tree: &'a Tree,
    pub first: u32,
    pub text: String,
}

impl FunctionText<'_> {
    /// The line of byte `at` of the text.
    pub fn line_at(&self, at: usize) -> u32 {
        self.first + self.text[..at].matches('\n').count() as u32
    }
}

/// The text of `site`'s function in the tree named `tree_name`; `None` when the tree or the
/// function's lines are unknown.
pub fn function_text<'a>(
    trees: &'a [Tree],
    tree_name: &str,
    site: &SyntaxMatch,
) -> Result<Option<FunctionText<'a>>, CallError> {
    let (Some(tree), Some(lines)) = (
        trees.iter().find(|t| t.name() == tree_name),
        site.function_lines,
    ) else {
        return Ok(None);
    };
    let text = tree
        .read_lines(&site.path, lines.start, lines.end)?
        .join("\n");
    Ok(Some(FunctionText {
        tree,
        first: lines.start,
        text,
    }))
}

export_skill!(LinearSearchInLoop, id = "linear-search-in-loop");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_that_changes_is_not_frozen_into_a_set() {
        let body = "def f(xs, seen):\n    for x in xs:\n        if x not in seen:\n            seen.append(x)\n";
        assert!(changes(body, "seen"));
        assert!(!changes(body, "xs"));
        assert!(changes("    blocked = load()\n", "blocked"));
        assert!(!changes("    if blocked == other:\n", "blocked"));
        assert!(changes("    blocked += more\n", "blocked"));
        assert!(changes("    for row in rows:\n        if k in row:", "row"));
        assert!(changes("    for i, row in enumerate(rows):", "row"));
        assert!(changes("    seen.add(x)", "seen"));
        assert!(!changes("    for x in blocked_list:", "blocked"));
    }
}
