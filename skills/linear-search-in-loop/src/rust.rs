//! Rust: `items.contains(&x)` on a slice or `Vec` inside a loop walks it on every iteration.
//!
//! Profile evidence: the time in `slice::contains` (`core::slice::<impl [T]>::contains`, the
//! element type's `SliceContains::slice_contains`) charged to the calling function. Source
//! evidence (a syntax query in that function): `NAME.contains(ARG)` inside a loop, where the
//! function declares `NAME` as a slice or vector (`NAME: &[T]`, `NAME: &Vec<T>`, `NAME:
//! Vec<T>`, `let NAME = vec![..]`, `let NAME: Vec<T>`) of a type that can be hashed (not
//! `f32`/`f64`), and does not change it. The patch builds `let NAME_set: HashSet<_> =
//! NAME.iter().collect();` before the outermost loop and tests against the set.

use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// Walking a slice for a value.
pub const COST: &str = r"^<?core::slice::(<impl \[T\]>::)?contains(<.*)?$|SliceContains>::slice_contains$|^<?core::slice::cmp::slice_contains(<.*)?$";

const CONTAINS: &str = r#"((call_expression
   function: (field_expression value: (identifier) @haystack field: (field_identifier) @method)
   arguments: (arguments . (_) @needle .)) @call
 (#eq? @method "contains"))"#;

const LOOPS: &str = r#"[(for_expression) (while_expression) (loop_expression)] @loop"#;

/// Share of the walking the fix removes: a hash lookup instead of a walk.
const REMOVED: f64 = 0.95;

pub fn scan(invocation: &Invocation) -> Result<Vec<Finding>, String> {
    Attribution::new(COST, COST)
        .in_language(Language::Rust)
        .scan(invocation, "walking slices for a value", caller_findings)
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let mut findings = Vec::new();
    for (tree_name, site) in sites_in(trees, function, &Query::new(Language::Rust, CONTAINS))? {
        let (Some(call), Some(haystack)) = (site.capture("call"), site.capture("haystack")) else {
            continue;
        };
        if site.loop_depth == 0 {
            continue;
        }
        let Some(function_text) = super::function_text(trees, &tree_name, &site)? else {
            continue;
        };
        let (tree, body) = (function_text.tree, &function_text.text);
        let name = haystack.text.as_str();
        let Some(element) = declared_sequence(body, name) else {
            // Not known to be a slice or a vector: a set or a string has `contains` too.
            continue;
        };
        let why_not = if element.contains("f32") || element.contains("f64") {
            Some(format!(
                "`{name}` holds `{element}`, which cannot be hashed"
            ))
        } else if changes(body, name) {
            Some(format!("`{name}` changes in the function"))
        } else {
            None
        };
        let mut finding = Finding::opportunity("linear-search-in-loop")
            .title(format!(
                "`{}` searches `{name}` on every iteration: {} of {}",
                function.name,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} goes to `slice::contains` under `{}`: inside a loop,\n\n```rust\n{}\n```\n\n\
                 walks `{name}` element by element on every iteration, so the loop costs its \
                 length times the slice's. {}",
                profile.cost(caller.value),
                function.name,
                call.text,
                match &why_not {
                    None => format!(
                        "The patch collects `{name}` into a `HashSet` once, before the loop, \
                         and tests against it: one hash lookup an iteration."
                    ),
                    Some(why) => format!(
                        "No patch is proposed because {why}: keep a set beside it, or sort it \
                         and use `binary_search`."
                    ),
                }
            ))
            .location(Location::capture(&tree_name, &site.path, call).in_function(&function.name))
            .measured(profile, caller.value)
            .saving(share * REMOVED)
            .confidence(if why_not.is_none() { 0.85 } else { 0.7 })
            .evidence(
                "time walking the slice",
                caller.value as f64,
                profile.unit(),
            )
            .label("fingerprint", call.text.clone());
        if why_not.is_none()
            && let Some(outer) =
                tree.outermost_loop(&site, &Query::new(Language::Rust, LOOPS), haystack)?
        {
            let line = outer.lines.start;
            let indent = tree.indentation(&site.path, line)?;
            finding = finding
                .edit(Edit::lines(
                    &tree_name,
                    &site.path,
                    line,
                    line - 1,
                    &format!(
                        "{indent}let {name}_set: std::collections::HashSet<_> = {name}.iter().collect();\n"
                    ),
                ))
                .edit(Edit::capture(&tree_name, &site.path, haystack, &format!("{name}_set")));
        }
        findings.push(finding.build());
    }
    Ok(findings)
}

/// The element type of `name` when the function (its text, `body`) declares it as a slice or
/// a vector: a parameter `name: &[T]`, `&mut [T]`, `&Vec<T>`, `Vec<T>`, or a local `let name:
/// Vec<T>` / `let name = vec![..]` (`_` for an element not written).
pub fn declared_sequence(body: &str, name: &str) -> Option<String> {
    let compact: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    for prefix in [
        format!("{name}: &["),
        format!("{name}: &mut ["),
        format!("{name}: &Vec<"),
        format!("{name}: Vec<"),
        format!("let {name}: Vec<"),
        format!("let mut {name}: Vec<"),
    ] {
        if let Some(i) = compact.find(&prefix) {
            // A parameter or binding of that name, not a field or another name ending so.
            let before = compact[..i].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let rest = &compact[i + prefix.len()..];
            let close = if prefix.ends_with('[') { ']' } else { '>' };
            let mut depth = 0;
            let end = rest.char_indices().find(|&(_, c)| {
                match c {
                    '<' | '[' | '(' => depth += 1,
                    '>' | ']' | ')' if depth > 0 => depth -= 1,
                    c if c == close && depth == 0 => return true,
                    _ => {}
                }
                false
            })?;
            return Some(rest[..end.0].trim().to_string());
        }
    }
    [
        format!("let {name} = vec!["),
        format!("let mut {name} = vec!["),
    ]
    .iter()
    .any(|p| compact.contains(p.as_str()))
    .then(|| "_".to_string())
}

/// Whether the function changes `name`: a method that mutates a vector, an assignment, or a
/// mutable borrow.
pub fn changes(body: &str, name: &str) -> bool {
    let mutators = [
        "push",
        "insert",
        "extend",
        "retain",
        "clear",
        "remove",
        "swap_remove",
        "truncate",
        "pop",
        "drain",
        "sort",
        "dedup",
        "append",
        "resize",
    ];
    mutators
        .iter()
        .any(|m| body.contains(&format!("{name}.{m}(")))
        || body.contains(&format!("&mut {name}"))
        || body.lines().any(|line| {
            let line = line.trim_start();
            line.strip_prefix(name).is_some_and(|rest| {
                let rest = rest.trim_start();
                (rest.starts_with('=') && !rest.starts_with("==")) || rest.starts_with('[')
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_and_vectors_are_told_by_their_declaration() {
        let f = "pub fn allowed(events: &[Event], blocked: &[u64]) -> Vec<Event> {";
        assert_eq!(declared_sequence(f, "blocked").as_deref(), Some("u64"));
        assert_eq!(declared_sequence(f, "events").as_deref(), Some("Event"));
        assert_eq!(
            declared_sequence("fn f(xs: &Vec<(u32, String)>) {", "xs").as_deref(),
            Some("(u32, String)")
        );
        assert_eq!(
            declared_sequence("fn f() {\n    let stop = vec![\"a\", \"b\"];", "stop").as_deref(),
            Some("_")
        );
        assert_eq!(
            declared_sequence("fn f(words: &HashSet<String>) {", "words"),
            None
        );
        assert_eq!(declared_sequence("fn f(s: &str) {", "s"), None);
        // A field or a longer name is not the variable.
        assert_eq!(declared_sequence("struct A { my_xs: &[u8] }", "xs"), None);
        assert_eq!(
            declared_sequence("fn f(scores: &[f64]) {", "scores").as_deref(),
            Some("f64")
        );
    }

    #[test]
    fn vectors_that_change_are_not_frozen() {
        assert!(changes("seen.push(x);", "seen"));
        assert!(changes("    seen = load();", "seen"));
        assert!(changes("sort_in_place(&mut seen);", "seen"));
        assert!(!changes("if seen.contains(&x) {}", "seen"));
        assert!(!changes("    if seen == other {}", "seen"));
    }
}
