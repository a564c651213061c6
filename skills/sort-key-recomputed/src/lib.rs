//! `sort-key-recomputed`: sorts whose key function builds a fresh value (a case-folded
//! `String`, a `format!`, a clone) on both sides of every comparison.
//!
//! Profile evidence: the time inside `sort_by_key` / `sort_unstable_by_key` (or `sort_by` /
//! `sort_unstable_by`) spent computing and dropping keys rather than comparing them, charged to
//! the function that sorts. Source evidence (a syntax query in that function): the sort call,
//! with a key closure that allocates. The fix: `sort_by_cached_key`, which computes each key
//! once (n times instead of about 2 n log2 n) and is stable, so equal keys keep their order as
//! `sort_by_key` keeps them.

use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// The sort entry points whose comparator calls a key function.
const LIBRARY: &str = r"^<?alloc::slice::<impl \[T\]>::(sort_by_key|sort_unstable_by_key|sort_by|sort_unstable_by)$|^<?core::slice::<impl \[T\]>::(sort_unstable_by_key|sort_unstable_by)$";

/// Key work under the comparator: the program's key closure and dropping the keys it built.
const COST: &str = r"\{\{closure\}\}$|\{closure#\d+\}$|drop_in_place<alloc::string::String>|drop_in_place<alloc::vec::Vec";

/// The sort's own closures (the comparator `sort_by_key` wraps around the key) are not key work.
const NOT_COST: &str = r"^<?(alloc|core)::slice::";

/// Calls that make a new value on the heap: a key built with one of them allocates per call.
const ALLOCATING: [&str; 11] = [
    "to_lowercase",
    "to_uppercase",
    "to_ascii_lowercase",
    "to_ascii_uppercase",
    "to_string",
    "to_owned",
    "clone()",
    "format!",
    "collect",
    "to_vec",
    "String::from",
];

const QUERY: &str = r#"(call_expression
  function: (field_expression field: (field_identifier) @method)
  arguments: (arguments . (closure_expression) @closure .)
  (#any-of? @method "sort_by_key" "sort_unstable_by_key" "sort_by" "sort_unstable_by")) @call"#;

/// Share of the key work the fix removes: keys are computed n times instead of about
/// 2 n log2 n; for the thousands of items a sort worth reporting has, that is 90% or more.
const REMOVED: f64 = 0.9;

struct SortKeyRecomputed;

impl Skill for SortKeyRecomputed {
    fn describe() -> Descriptor {
        Describe::offense(
            "sort-key-recomputed",
            env!("CARGO_PKG_VERSION"),
            "Sorts whose key function allocates on every comparison; proposes \
             `sort_by_cached_key`, which builds each key once.",
            "0.01",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        Attribution::new(COST, LIBRARY).not_cost(NOT_COST).scan(
            invocation,
            "key work inside sorts",
            caller_findings,
        )
    }
}

/// A sort call found in the source, and its fix when there is a mechanical one.
#[derive(Debug, PartialEq)]
pub struct Fix {
    /// The new call: `sort_by_cached_key(|e| e.name.to_lowercase())` or just the method name.
    pub replacement: String,
    /// Bytes of the source it replaces.
    pub start: u64,
    pub end: u64,
}

/// The fix for a sort call whose method is `method` (at `method_range`), whose closure is
/// `closure` and which ends at byte `call_end`, when its key allocates: `sort_by_key` becomes
/// `sort_by_cached_key`; `sort_by(|a, b| K(a).cmp(&K(b)))` becomes `sort_by_cached_key(|a| K(a))`.
pub fn fix(method: &str, method_range: (u64, u64), closure: &str, call_end: u64) -> Option<Fix> {
    if !ALLOCATING.iter().any(|a| closure.contains(a)) {
        return None;
    }
    match method {
        "sort_by_key" | "sort_unstable_by_key" => Some(Fix {
            replacement: "sort_by_cached_key".to_string(),
            start: method_range.0,
            end: method_range.1,
        }),
        "sort_by" | "sort_unstable_by" => {
            // `|a, b| LEFT.cmp(&RIGHT)` where RIGHT is LEFT with `b` for `a`.
            let (params, body) = closure.strip_prefix('|')?.split_once('|')?;
            let (a, b) = params.split_once(',')?;
            let (a, b) = (a.trim(), b.trim());
            let ident =
                |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
            if !ident(a) || !ident(b) {
                return None;
            }
            let body = body.trim();
            let (left, right) = body.strip_suffix(')')?.split_once(".cmp(&")?;
            if rename(left, a, b) != right.trim()
                || !left.contains(a)
                || rename(left, b, "") != left
            {
                return None;
            }
            // The cached key must own its data (a key borrowed from the element cannot be
            // kept beside it): one made by a call that returns a new value.
            let owned = [
                "to_lowercase()",
                "to_uppercase()",
                "to_ascii_lowercase()",
                "to_ascii_uppercase()",
                "to_string()",
                "to_owned()",
                "clone()",
            ];
            if !owned.iter().any(|o| left.trim_end().ends_with(o)) && !left.starts_with("format!") {
                return None;
            }
            Some(Fix {
                replacement: format!("sort_by_cached_key(|{a}| {left})"),
                start: method_range.0,
                end: call_end,
            })
        }
        _ => None,
    }
}

/// `text` with the identifier `from` replaced by `to` (whole identifiers only).
fn rename(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(from)
            && (i == 0 || !is_ident(bytes[i - 1]))
            && bytes.get(i + from.len()).is_none_or(|&b| !is_ident(b))
        {
            out.push_str(to);
            i += from.len();
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let unit = profile.unit();
    let cost = format!(
        "{} goes to building and dropping sort keys inside the sorts `{}` runs.",
        profile.cost(caller.value),
        function.name,
    );
    let query = Query::new(Language::Rust, QUERY);
    let mut findings = Vec::new();
    for (tree, site) in sites_in(trees, function, &query)? {
        let (Some(method), Some(closure), Some(call)) = (
            site.capture("method"),
            site.capture("closure"),
            site.capture("call"),
        ) else {
            continue;
        };
        let Some(fix) = fix(
            &method.text,
            (method.bytes.start, method.bytes.end),
            &closure.text,
            call.bytes.end,
        ) else {
            continue;
        };
        let edit = Edit::bytes(
            &tree,
            &site.path,
            fix.start as usize,
            fix.end as usize,
            &fix.replacement,
        );
        findings.push(
            Finding::opportunity("sort-key-recomputed")
                .title(format!(
                    "`{}` rebuilds its sort key on every comparison: {} of {}",
                    function.name,
                    percent(share),
                    profile.sample_type()
                ))
                .message(format!(
                    "{cost}\n\n`{}` calls its key function on both sides of every comparison, \
                     about 2 n log2 n times for n items, and this key allocates each time:\n\n\
                     ```rust\n{}\n```\n\n`sort_by_cached_key` computes each key once (n times) \
                     and sorts by the cached keys; it is stable, so items with equal keys keep \
                     their order, as with `sort_by_key`.",
                    method.text, call.text
                ))
                .location(Location::capture(&tree, &site.path, call).in_function(&function.name))
                .measured(profile, caller.value)
                .saving(share * REMOVED)
                .confidence(0.9)
                .evidence("key work in the sort", caller.value as f64, unit)
                .evidence("stacks", caller.stacks as f64, "stacks")
                .label("fingerprint", format!("{}:{}", method.text, closure.text))
                .edit(edit)
                .build(),
        );
    }
    Ok(findings)
}

export_skill!(SortKeyRecomputed, id = "sort-key-recomputed");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_by_key_with_an_allocating_key_becomes_cached() {
        let f = fix("sort_by_key", (10, 21), "|e| e.name.to_lowercase()", 48).unwrap();
        assert_eq!(
            (f.replacement.as_str(), f.start, f.end),
            ("sort_by_cached_key", 10, 21)
        );
        assert!(fix("sort_by_key", (0, 1), "|e| e.size", 3).is_none());
    }

    #[test]
    fn sort_by_comparing_one_key_becomes_cached() {
        let closure = "|x, y| x.path.to_lowercase().cmp(&y.path.to_lowercase())";
        let f = fix("sort_by", (5, 12), closure, 60).unwrap();
        assert_eq!(
            f.replacement,
            "sort_by_cached_key(|x| x.path.to_lowercase())"
        );
        assert_eq!((f.start, f.end), (5, 60));
        // A key borrowed from the element, or one that names both: no rewrite.
        let borrowed =
            "|a, b| a.p.split('/').collect::<Vec<_>>().cmp(&b.p.split('/').collect::<Vec<_>>())";
        assert!(fix("sort_by", (0, 1), borrowed, 3).is_none());
        assert!(
            fix(
                "sort_by",
                (0, 1),
                "|a, b| f(a, b).to_string().cmp(&f(b, b).to_string())",
                3
            )
            .is_none()
        );
        // Different keys on the two sides: not a key sort.
        let mixed = "|x, y| x.path.to_lowercase().cmp(&y.name.to_lowercase())";
        assert!(fix("sort_by", (0, 1), mixed, 3).is_none());
        assert_eq!(rename("xs.x + x_1", "x", "y"), "xs.y + x_1");
    }
}
