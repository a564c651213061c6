//! `quadratic-format`: `s = format!("{s}{x}")` inside a loop copies everything built so far
//! into a new string on every iteration: the loop costs the square of the result's length.
//!
//! Profile evidence: the copying (`memcpy`, `Vec<u8>` extension, `alloc::fmt::format`) under
//! string formatting, charged to the function. Source evidence (a syntax query in that
//! function, inside a loop): `NAME = format!(..)` whose format string starts with `NAME`
//! itself (`"{NAME}..."`, or `"{}..."` with `NAME` as the first argument). The patch appends
//! the rest instead: `NAME.push_str(&format!("...", ..))`, or `NAME.push_str("...")` when the
//! rest is plain text.

use joule_sdk::code::split_arguments;
use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// The copying: glibc's copies, the byte vector extension under `push_str`, `format` itself.
const COST: &str = r"^(__memmove_\w+|__memcpy_\w+|memcpy|memmove)$|^<?alloc::vec::Vec<u8> as alloc::vec::spec_extend::SpecExtend|^<?alloc::fmt::format";

/// String formatting, as the program calls it.
const LIBRARY: &str = r"^<?(&mut )?(alloc::fmt::|core::fmt::|alloc::string::String as core::fmt::Write|alloc::string::String>::push_str)|^<?alloc::vec::Vec<u8> as alloc::vec::spec_extend|^(__memmove_\w+|__memcpy_\w+|memcpy|memmove)$";

const QUERY: &str = r#"((expression_statement
  (assignment_expression
    left: (identifier) @name
    right: (macro_invocation macro: (identifier) @macro (token_tree) @arguments))) @statement
  (#eq? @macro "format"))"#;

/// Share of the copying the fix removes: each piece is copied once instead of the whole
/// string so far.
const REMOVED: f64 = 0.9;

struct QuadraticFormat;

impl Skill for QuadraticFormat {
    fn describe() -> Descriptor {
        Describe::offense(
            "quadratic-format",
            env!("CARGO_PKG_VERSION"),
            "Strings rebuilt from themselves with format! inside a loop (quadratic copying); \
             proposes appending with push_str.",
            "0.02",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        Attribution::new(COST, LIBRARY).glue("std::").scan(
            invocation,
            "string copying under formatting",
            caller_findings,
        )
    }
}

/// The appending statement for `NAME = format!(ARGUMENTS)` when the format starts with NAME,
/// else `None`.
pub fn append(name: &str, tokens: &str) -> Option<String> {
    let inner = tokens.trim().strip_prefix('(')?.strip_suffix(')')?;
    let args = split_arguments(inner)?;
    let (format, rest) = args.split_first()?;
    let text = format.strip_prefix('"')?.strip_suffix('"')?;
    // Explicit positions (`{0}`, `{:1$}`) count the arguments; dropping the first shifts them.
    if text.contains('$') || (0..10).any(|d| text.contains(&format!("{{{d}"))) {
        return None;
    }
    let (tail, rest) = if let Some(tail) = text.strip_prefix(&format!("{{{name}}}")) {
        (tail, rest)
    } else if let Some(tail) = text.strip_prefix("{}") {
        match rest.split_first() {
            Some((first, others)) if *first == name => (tail, others),
            _ => return None,
        }
    } else {
        return None;
    };
    // The rest must not mention NAME again (it is being appended to).
    if tail.contains(&format!("{{{name}")) || rest.contains(&name) {
        return None;
    }
    Some(if rest.is_empty() && !tail.contains(['{', '}']) {
        format!("{name}.push_str(\"{tail}\");")
    } else {
        let mut call = format!("{name}.push_str(&format!(\"{tail}\"");
        for a in rest {
            call.push_str(", ");
            call.push_str(a);
        }
        call.push_str("));");
        call
    })
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let unit = profile.unit();
    let mut findings = Vec::new();
    for (tree, site) in sites_in(trees, function, &Query::new(Language::Rust, QUERY))? {
        let (Some(statement), Some(name), Some(arguments)) = (
            site.capture("statement"),
            site.capture("name"),
            site.capture("arguments"),
        ) else {
            continue;
        };
        if site.loop_depth == 0 || !statement.is_whole() || !arguments.is_whole() {
            continue;
        }
        let Some(replacement) = append(&name.text, &arguments.text) else {
            continue;
        };
        findings.push(
            Finding::opportunity("quadratic-format")
                .title(format!(
                    "`{}` rebuilds `{}` with format! on every iteration: {} of {}",
                    function.name,
                    name.text,
                    percent(share),
                    profile.sample_type()
                ))
                .message(format!(
                    "{} is spent copying strings under formatting in `{}`. Inside \
                     a loop,\n\n```rust\n{}\n```\n\nformats everything `{}` holds so far into a \
                     new string, so each iteration copies the whole result again: the loop \
                     costs the square of its length. Appending copies each piece once:\n\n\
                     ```rust\n{replacement}\n```",
                    profile.cost(caller.value),
                    function.name,
                    statement.text,
                    name.text,
                ))
                .location(
                    Location::capture(&tree, &site.path, statement).in_function(&function.name),
                )
                .measured(profile, caller.value)
                .saving(share * REMOVED)
                .confidence(0.9)
                .evidence("copying under formatting", caller.value as f64, unit)
                .label("fingerprint", statement.text.clone())
                .edit(Edit::capture(&tree, &site.path, statement, &replacement))
                .build(),
        );
    }
    Ok(findings)
}

export_skill!(QuadraticFormat);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_becomes_an_append() {
        assert_eq!(
            append("list", r#"("{list}{id}")"#).as_deref(),
            Some(r#"list.push_str(&format!("{id}"));"#)
        );
        assert_eq!(
            append("s", r#"("{}{}, ", s, x.name)"#).as_deref(),
            Some(r#"s.push_str(&format!("{}, ", x.name));"#)
        );
        assert_eq!(
            append("s", r#"("{s},")"#).as_deref(),
            Some(r#"s.push_str(",");"#)
        );
        assert_eq!(append("s", r#"("{x}{s}")"#), None);
        assert_eq!(append("s", r#"("{}{}", t, s)"#), None);
        assert_eq!(append("s", r#"("{s}{s}")"#), None);
        assert_eq!(append("s", r#"("{}{0}", s)"#), None);
        assert_eq!(append("s", r#"("{}{:1$}", s, w)"#), None);
    }
}
