//! `quadratic-format`: `s = format!("{s}{x}")` inside a loop copies everything built so far
//! into a new string on every iteration: the loop costs the square of the result's length.
//!
//! Profile evidence: the copying (`memcpy`, `Vec<u8>` extension, `alloc::fmt::format`) under
//! string formatting, charged to the function. Source evidence (a syntax query in that
//! function, inside a loop): `NAME = format!(..)` whose format string starts with `NAME`
//! itself (`"{NAME}..."`, or `"{}..."` with `NAME` as the first argument). The patch appends
//! the rest instead: `NAME.push_str(&format!("...", ..))`, or `NAME.push_str("...")` when the
//! rest is plain text.

use joule_sdk::SyntaxCapture;
use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// The copying: glibc's copies, the byte vector extension under `push_str`, `format` itself.
const COST: &str = r"^(__memmove_\w+|__memcpy_\w+|memcpy|memmove)$|^<?alloc::vec::Vec<u8> as alloc::vec::spec_extend::SpecExtend|^<?alloc::fmt::format";

/// String formatting, as the program calls it.
const LIBRARY: &str = r"^<?(&mut )?(alloc::fmt::|core::fmt::|alloc::string::String as core::fmt::Write|alloc::string::String>::push_str)|^<?alloc::vec::Vec<u8> as alloc::vec::spec_extend|^(__memmove_\w+|__memcpy_\w+|memcpy|memmove)$";

/// The statements; then, one match per comma, the commas of every `format!`'s own token tree
/// (not those in its strings or nested brackets), joined to their statement by the tree's bytes.
const QUERY: &str = r#"((expression_statement
  (assignment_expression
    left: (identifier) @name
    right: (macro_invocation macro: (identifier) @macro (token_tree) @arguments))) @statement
  (#eq? @macro "format"))

((macro_invocation macro: (identifier) @macro (token_tree "," @comma) @tokens)
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

/// The macro's arguments: the token tree's text split at its own commas (the query's
/// `@comma` captures, so not the commas in strings or nested brackets), each trimmed. `None`
/// unless the text is all of the tree's and in parentheses.
pub fn arguments<'a>(tokens: &'a SyntaxCapture, commas: &[&SyntaxCapture]) -> Option<Vec<&'a str>> {
    if !tokens.is_whole() {
        return None;
    }
    let text = tokens.text.as_str();
    let mut cuts: Vec<usize> = commas
        .iter()
        .map(|c| {
            c.bytes
                .start
                .checked_sub(tokens.bytes.start)
                .map(|b| b as usize)
        })
        .collect::<Option<_>>()?;
    cuts.sort_unstable();
    if !(text.starts_with('(') && text.ends_with(')')) {
        return None;
    }
    let (open, close) = (1, text.len() - 1);
    let mut out = Vec::new();
    let mut start = open;
    for cut in cuts.into_iter().chain([close]) {
        out.push(text.get(start..cut)?.trim());
        start = cut + 1;
    }
    // A trailing comma leaves nothing after it.
    if out.last() == Some(&"") {
        out.pop();
    }
    Some(out)
}

/// The appending statement for `NAME = format!(ARGUMENTS)` when the format starts with NAME,
/// else `None`.
pub fn append(name: &str, args: &[&str]) -> Option<String> {
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
    // Every comma is a match: room for a long function's worth.
    let sites = sites_in(
        trees,
        function,
        &Query::new(Language::Rust, QUERY).limit(10_000),
    )?;
    let every_comma: Vec<(&str, &SyntaxCapture, &SyntaxCapture)> = sites
        .iter()
        .filter_map(|(_, m)| Some((m.path.as_str(), m.capture("tokens")?, m.capture("comma")?)))
        .collect();
    for (tree, site) in &sites {
        let (Some(statement), Some(name), Some(arguments_tree)) = (
            site.capture("statement"),
            site.capture("name"),
            site.capture("arguments"),
        ) else {
            continue;
        };
        if site.loop_depth == 0 || !statement.is_whole() {
            continue;
        }
        let commas: Vec<&SyntaxCapture> = every_comma
            .iter()
            .filter(|(path, tokens, _)| {
                *path == site.path && tokens.bytes.start == arguments_tree.bytes.start
            })
            .map(|(_, _, comma)| *comma)
            .collect();
        let Some(replacement) =
            arguments(arguments_tree, &commas).and_then(|args| append(&name.text, &args))
        else {
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
                    Location::capture(tree, &site.path, statement).in_function(&function.name),
                )
                .measured(profile, caller.value)
                .saving(share * REMOVED)
                .confidence(0.9)
                .evidence("copying under formatting", caller.value as f64, unit)
                .label("fingerprint", statement.text.clone())
                .edit(Edit::capture(tree, &site.path, statement, &replacement))
                .build(),
        );
    }
    Ok(findings)
}

export_skill!(QuadraticFormat, id = "quadratic-format");

#[cfg(test)]
mod tests {
    use super::*;
    use joule_sdk::{ByteRange, LineRange};

    #[test]
    fn the_format_becomes_an_append() {
        assert_eq!(
            append("list", &[r#""{list}{id}""#]).as_deref(),
            Some(r#"list.push_str(&format!("{id}"));"#)
        );
        assert_eq!(
            append("s", &[r#""{}{}, ""#, "s", "x.name"]).as_deref(),
            Some(r#"s.push_str(&format!("{}, ", x.name));"#)
        );
        assert_eq!(
            append("s", &[r#""{s},""#]).as_deref(),
            Some(r#"s.push_str(",");"#)
        );
        assert_eq!(append("s", &[r#""{x}{s}""#]), None);
        assert_eq!(append("s", &[r#""{}{}""#, "t", "s"]), None);
        assert_eq!(append("s", &[r#""{s}{s}""#]), None);
        assert_eq!(append("s", &[r#""{}{0}""#, "s"]), None);
        assert_eq!(append("s", &[r#""{}{:1$}""#, "s", "w"]), None);
    }

    #[test]
    fn arguments_split_at_the_trees_own_commas() {
        // `("{}{}, ", s, f(x, y),)` at byte 40 of its file: the query captures the commas
        // after the string, after `s` and the trailing one, not those inside.
        let text = r#"("{}{}, ", s, f(x, y),)"#;
        let capture = |start: usize, text: &str| SyntaxCapture {
            name: String::new(),
            kind: String::new(),
            bytes: ByteRange {
                start: 40 + start as u64,
                end: 40 + (start + text.len()) as u64,
            },
            lines: LineRange { start: 1, end: 1 },
            text: text.to_string(),
        };
        let tokens = capture(0, text);
        let commas = [capture(9, ","), capture(12, ","), capture(21, ",")];
        let commas: Vec<&SyntaxCapture> = commas.iter().collect();
        assert_eq!(
            arguments(&tokens, &commas),
            Some(vec![r#""{}{}, ""#, "s", "f(x, y)"])
        );
        assert_eq!(arguments(&capture(0, "()"), &[]), Some(vec![]));
        let cut = SyntaxCapture {
            text: "(\"a".to_string(),
            ..capture(0, "(\"ab\")")
        };
        assert_eq!(arguments(&cut, &[]), None, "a capture the host cut short");
    }
}
