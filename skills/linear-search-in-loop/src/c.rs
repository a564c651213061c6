//! C: an array searched with a hand-written helper inside a loop walks it on every iteration.
//!
//! C has no set in its library, so programs write the search themselves: `int contains(const
//! char *const *list, size_t len, const char *s) { for (size_t i = 0; i < len; i++) if
//! (strcmp(list[i], s) == 0) return 1; return 0; }`. Profile evidence: the time in such a
//! helper (its own and the comparisons under it), charged to the calling function. -O2
//! inlines a small helper into its callers, and the comparison (`strcmp`, a libc leaf that
//! never sets up a frame) loses its caller in a frame-pointer unwind; Joule's perf.data reader
//! gives both back from the binary ([profiles.md](../../../docs/profiles.md)). A profiled
//! function is taken for a helper when its source is that linear scan (a syntax query: a
//! function whose body is a `for` loop holding only `if (COND) return HIT;`, then `return
//! MISS;`, where COND compares an element of one parameter, indexed by the loop's variable,
//! with another parameter: `strcmp(list[i], s) == 0`, `!strcmp(..)`, `strcasecmp`, or `==`).
//! Source evidence in the caller: a call of the helper inside a loop. No patch: C's choices (sort
//! the array once and `bsearch` it, or a hash table, POSIX `hsearch` or the program's own) are
//! the program's; the finding says which, and whether the loop changes the array (then a set
//! must be kept beside it).

use joule_sdk::hotspot::{Attribution, CallerCost, plain_name, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// A function whose whole body is a linear scan: one `for` loop whose body is one `if` that
/// returns, then a return.
const HELPERS: &str = r#"((function_definition
   declarator: (function_declarator
     declarator: (identifier) @helper
     parameters: (parameter_list) @params)
   body: (compound_statement
     . (for_statement
         initializer: (_) @init
         body: [
           (if_statement condition: (parenthesized_expression) @cond consequence: (return_statement) @hit)
           (compound_statement . (if_statement condition: (parenthesized_expression) @cond consequence: (return_statement) @hit) .)
         ])
     . (return_statement) @miss .)) @function)"#;

/// Calls.
const CALLS: &str = r#"((call_expression
   function: (identifier) @callee
   arguments: (argument_list) @args) @call)"#;

const LOOPS: &str = r#"[(for_statement) (while_statement) (do_statement)] @loop"#;

/// Files a function of one name is looked for in, at most, when the profile names no file.
const DEFINING_FILES: u32 = 16;

/// Hot functions (by total time) looked at for being a search helper, at most.
const CANDIDATES: u32 = 100;

/// Share of the searching the fix removes: a hash lookup (or a binary search) instead of a
/// walk.
const REMOVED: f64 = 0.9;

/// A search helper found in the source: its name, and which argument is the array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Helper {
    pub name: String,
    pub list_argument: usize,
    /// How it compares: `strcmp`, `strcasecmp` or `==`.
    pub comparison: String,
}

pub fn scan(invocation: &Invocation) -> Result<Vec<Finding>, String> {
    let min_share: f64 = invocation.param_or("min-share", 0.01)?;
    let trees = Tree::granted();
    let mut helpers: Vec<Helper> = Vec::new();
    for profile in Profile::granted() {
        for helper in profiled_helpers(&profile, &trees, min_share)? {
            if !helpers.contains(&helper) {
                helpers.push(helper);
            }
        }
    }
    if helpers.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = helpers.iter().map(|h| super::escape(&h.name)).collect();
    let cost = format!("^({})$", names.join("|"));
    Attribution::new(&cost, &cost)
        .in_language(Language::C)
        .scan(invocation, "searching arrays", |profile, trees, caller| {
            caller_findings(profile, trees, caller, &helpers)
        })
}

/// The profile's C functions (among the hottest by total time, each at least `min_share` of
/// the profile) whose source is a search helper.
fn profiled_helpers(
    profile: &Profile,
    trees: &[Tree],
    min_share: f64,
) -> Result<Vec<Helper>, String> {
    let mut found = Vec::new();
    let mut queried = super::PerFile::new(Language::C, HELPERS);
    for stat in profile.top_by_total(CANDIDATES)? {
        let function = &stat.function;
        if profile.share(stat.total_value) < min_share {
            break;
        }
        let name = plain_name(&function.name);
        // The files that may define it: the profile's, else (`perf script` text names no
        // file) the C files of the trees' indexes that define a function of that name.
        let files: Vec<(&Tree, String)> = match function.file.as_deref() {
            Some(file) if Language::of_path(file) == Some(Language::C) => {
                Tree::locate_in(trees, file).into_iter().collect()
            }
            Some(_) => continue,
            None if is_identifier(&name) => {
                let mut files = Vec::new();
                for tree in trees {
                    for d in tree.definitions(&name, DEFINING_FILES)? {
                        if Language::of_path(&d.path) == Some(Language::C)
                            && !files.iter().any(|(t, p): &(&Tree, String)| {
                                t.name() == tree.name() && *p == d.path
                            })
                        {
                            files.push((tree, d.path));
                        }
                    }
                }
                files
            }
            None => continue,
        };
        for (tree, path) in files {
            for m in queried.matches(tree, &path)? {
                if m.text("helper") != name {
                    continue;
                }
                if let Some(helper) = helper(
                    &name,
                    m.text("params"),
                    m.text("init"),
                    m.text("cond"),
                    (m.text("hit"), m.text("miss")),
                ) {
                    log::info(format!(
                        "`{}` searches an array linearly: its callers are looked at",
                        function.name
                    ));
                    found.push(helper);
                }
            }
        }
    }
    Ok(found)
}

/// A C identifier (`contains`), as a function named by a profile without its file may be.
fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// A helper from its parts as the query captured them: the parameter list, the loop's
/// initializer (which names the index), the `if`'s condition and the two returns. `None`
/// unless the condition compares `LIST[INDEX]` (LIST a parameter) with another parameter and
/// the returns say found and not found (`1`/`0`, `true`/`false`, the index and `-1`).
pub fn helper(
    name: &str,
    params: &str,
    init: &str,
    condition: &str,
    (hit, miss): (&str, &str),
) -> Option<Helper> {
    let params = parameter_names(params)?;
    let index = loop_index(init)?;
    let value = |r: &str| {
        r.trim()
            .strip_prefix("return")
            .map(|v| v.trim().trim_end_matches(';').trim().to_string())
    };
    let (hit, miss) = (value(hit)?, value(miss)?);
    let answers = matches!(
        (hit.as_str(), miss.as_str()),
        ("1", "0") | ("true", "false") | ("0", "1") | ("false", "true")
    ) || (hit == index && miss == "-1");
    if !answers {
        return None;
    }
    let (comparison, left, right) = compared(condition)?;
    let element = |side: &str| -> Option<usize> {
        let (list, rest) = side.split_once('[')?;
        (rest.strip_suffix(']')?.trim() == index)
            .then(|| params.iter().position(|p| p == list.trim()))
            .flatten()
    };
    let parameter = |side: &str| params.iter().position(|p| p == side.trim());
    let (list_argument, needle) = match (element(&left), element(&right)) {
        (Some(l), None) => (l, parameter(&right)?),
        (None, Some(l)) => (l, parameter(&left)?),
        _ => return None,
    };
    (list_argument != needle).then(|| Helper {
        name: name.to_string(),
        list_argument,
        comparison,
    })
}

/// The names of a C parameter list's parameters (`(const char *const *list, size_t n, const
/// char *s)` -> `list`, `n`, `s`); `None` for one it does not read (variadic, function
/// pointers, unnamed).
pub fn parameter_names(list: &str) -> Option<Vec<String>> {
    let inner = list.trim().strip_prefix('(')?.strip_suffix(')')?;
    if inner.contains(['(', '.']) {
        return None;
    }
    inner
        .split(',')
        .map(|p| {
            let p = p.trim().trim_end_matches("[]").trim();
            let name: String = p
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            // A type alone (`int`) is no name.
            (!name.is_empty() && name.len() < p.len()).then_some(name)
        })
        .collect()
}

/// The index a `for` loop's initializer declares or sets: `size_t i = 0;` or `i = 0` -> `i`.
pub fn loop_index(init: &str) -> Option<String> {
    let before = init.split('=').next()?.trim();
    let name = before
        .rsplit(|c: char| c.is_whitespace() || c == '*')
        .next()?;
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then(|| name.to_string())
}

/// How a condition compares two things, and the two: `(strcmp(a, b) == 0)`, `(!strcmp(a,
/// b))`, `(0 == strcasecmp(a, b))` or `(a == b)`.
pub fn compared(condition: &str) -> Option<(String, String, String)> {
    let c = condition.trim();
    let c = c
        .strip_prefix('(')
        .and_then(|c| c.strip_suffix(')'))?
        .trim();
    let call = |text: &str| -> Option<(String, String, String)> {
        let text = text.trim();
        let (function, args) = text.split_once('(')?;
        let function = function.trim();
        if !matches!(function, "strcmp" | "strcasecmp" | "wcscmp") {
            return None;
        }
        let args = args.strip_suffix(')')?;
        let (a, b) = args.split_once(',')?;
        if b.contains([',', '(']) || a.contains('(') {
            return None;
        }
        Some((
            function.to_string(),
            a.trim().to_string(),
            b.trim().to_string(),
        ))
    };
    if let Some(rest) = c.strip_prefix('!') {
        return call(rest);
    }
    if let Some((l, r)) = c.split_once("==") {
        let (l, r) = (l.trim(), r.trim());
        if r == "0" {
            return call(l);
        }
        if l == "0" {
            return call(r);
        }
        let simple = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|ch| ch.is_alphanumeric() || matches!(ch, '_' | '[' | ']' | ' '))
        };
        if simple(l) && simple(r) {
            return Some(("==".to_string(), l.to_string(), r.to_string()));
        }
    }
    None
}

/// The arguments of a call, split at top-level commas: `(list, len, word)` -> three.
pub fn arguments(args: &str) -> Vec<String> {
    let inner = args
        .trim()
        .strip_prefix('(')
        .and_then(|a| a.strip_suffix(')'))
        .unwrap_or("");
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(inner[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner.trim().is_empty() {
        out.push(inner[start..].trim().to_string());
    }
    out
}

/// Whether `text` (a loop's) may change the array `list`: stores into it, assigns it, or
/// reallocates it.
pub fn changes(text: &str, list: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(list).any(|(i, _)| {
        let before = text[..i].chars().last();
        if before.is_some_and(|c| ident(c) || c == '.' || c == '>') {
            return false;
        }
        let rest = &text[i + list.len()..];
        if rest.chars().next().is_some_and(ident) {
            return false;
        }
        let rest = rest.trim_start();
        let assigned = |r: &str| {
            let r = r.trim_start();
            r.starts_with('=') && !r.starts_with("==")
        };
        assigned(rest)
            || rest
                .strip_prefix('[')
                .and_then(|r| r.find(']').map(|j| &r[j + 1..]))
                .is_some_and(assigned)
    })
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
    helpers: &[Helper],
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let mut findings = Vec::new();
    for (tree_name, site) in sites_in(trees, function, &Query::new(Language::C, CALLS))? {
        let Some(helper) = helpers.iter().find(|h| h.name == site.text("callee")) else {
            continue;
        };
        let Some(call) = site.capture("call") else {
            continue;
        };
        if site.loop_depth == 0 {
            continue;
        }
        let args = arguments(site.text("args"));
        let Some(list) = args.get(helper.list_argument) else {
            continue;
        };
        let list = list
            .trim_start_matches(['(', ' '])
            .rsplit(')')
            .next()
            .unwrap_or(list)
            .trim()
            .to_string();
        // An array named by an expression the finding can speak of (`stop`, `out->words`,
        // `cfg.names[k]`); a call's result or an empty name is not one.
        let named = !list.is_empty()
            && list
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '>' | '[' | ']'));
        if !named {
            continue;
        }
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        // What the outermost loop around the call does to the array.
        let changed = match tree.outermost_loop(&site, &Query::new(Language::C, LOOPS), call)? {
            Some(outer) => changes(
                &tree
                    .read_lines(&site.path, outer.lines.start, outer.lines.end)?
                    .join("\n"),
                &list,
            ),
            None => false,
        };
        let how = if helper.comparison == "==" {
            "comparing each element".to_string()
        } else {
            format!("calling `{}` on each element", helper.comparison)
        };
        findings.push(
            Finding::opportunity("linear-search-in-loop")
                .title(format!(
                    "`{}` searches `{list}` on every iteration: {} of {}",
                    function.name,
                    percent(share),
                    profile.sample_type()
                ))
                .message(format!(
                    "{} goes to `{}` under `{}`, which walks an array from the start, {how}. \
                     Inside a loop,\n\n```c\n{}\n```\n\nwalks `{list}` on every iteration, so \
                     the loop costs its length times the array's. {}",
                    profile.cost(caller.value),
                    helper.name,
                    function.name,
                    call.text,
                    if changed {
                        format!(
                            "The function adds to `{list}` as it goes, so a set built before \
                             the loop would go stale: keep a hash table beside it, added to \
                             with it, and look values up there."
                        )
                    } else {
                        format!(
                            "Sort `{list}` once before the loop and look values up with \
                             `bsearch` (log n comparisons), or put its elements in a hash \
                             table (POSIX `hsearch`, or the program's own) and look them up \
                             there. No patch is proposed: which one fits is the program's \
                             choice."
                        )
                    }
                ))
                .location(
                    Location::capture(&tree_name, &site.path, call).in_function(&function.name),
                )
                .measured(profile, caller.value)
                .saving(share * REMOVED)
                .confidence(0.75)
                .evidence(
                    "time searching the array",
                    caller.value as f64,
                    profile.unit(),
                )
                .label("fingerprint", call.text.clone())
                .build(),
        );
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_scan_of_one_parameter_for_another_is_a_helper() {
        let params = "(const char *const *list, size_t len, const char *word)";
        assert_eq!(
            helper(
                "contains",
                params,
                "size_t i = 0;",
                "(strcmp(list[i], word) == 0)",
                ("return 1;", "return 0;")
            ),
            Some(Helper {
                name: "contains".into(),
                list_argument: 0,
                comparison: "strcmp".into()
            })
        );
        assert_eq!(
            helper(
                "index_of",
                "(int id, const int *ids, int n)",
                "int k = 0;",
                "(ids[k] == id)",
                ("return k;", "return -1;")
            )
            .map(|h| (h.list_argument, h.comparison)),
            Some((1, "==".to_string()))
        );
        assert!(
            helper(
                "has",
                params,
                "size_t i = 0;",
                "(!strcasecmp(word, list[i]))",
                ("return true;", "return false;")
            )
            .is_some()
        );
        // Compared with something that is not a parameter; a prefix test; a character; an
        // answer that is not found / not found.
        for (condition, hit, miss) in [
            ("(strcmp(list[i], \"x\") == 0)", "return 1;", "return 0;"),
            ("(strncmp(list[i], word, 3) == 0)", "return 1;", "return 0;"),
            ("(list[i][0] == word[0])", "return 1;", "return 0;"),
            ("(strcmp(list[i], word) == 0)", "return i;", "return 0;"),
        ] {
            assert_eq!(
                helper("f", params, "size_t i = 0;", condition, (hit, miss)),
                None,
                "{condition} {hit} {miss}"
            );
        }
    }

    #[test]
    fn parameter_lists_and_loop_indexes_are_read() {
        assert_eq!(
            parameter_names("(const char *const *list, size_t n, const char *s)"),
            Some(vec!["list".into(), "n".into(), "s".into()])
        );
        assert_eq!(
            parameter_names("(int ids[], int n)"),
            Some(vec!["ids".into(), "n".into()])
        );
        assert_eq!(parameter_names("(int, int)"), None);
        assert_eq!(parameter_names("(const char *fmt, ...)"), None);
        assert_eq!(loop_index("size_t i = 0;").as_deref(), Some("i"));
        assert_eq!(loop_index("i = 0").as_deref(), Some("i"));
    }

    #[test]
    fn calls_and_changes_are_read() {
        assert_eq!(
            arguments("((const char *const *)out->words, out->len, word)"),
            ["(const char *const *)out->words", "out->len", "word"]
        );
        assert_eq!(arguments("(f(a, b), c)"), ["f(a, b)", "c"]);
        assert!(arguments("()").is_empty());
        let body = "out->words[out->len++] = strdup(word);";
        assert!(changes(body, "out->words"));
        assert!(changes("stop = load();", "stop"));
        assert!(!changes("if (contains(stop, n, w)) k++;", "stop"));
        assert!(!changes("if (stop[i] == w) k++;", "stop"));
        assert!(!changes("nonstop = 1;", "stop"));
    }
}
