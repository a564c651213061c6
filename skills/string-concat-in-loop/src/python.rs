//! Python: `out += piece` on a `bytes` value inside a loop copies everything built so far on
//! every iteration.
//!
//! CPython extends a local `str` in place when nothing else holds it, so `text += line` on a
//! local string is linear and is not reported; `bytes` has no such path (`b += chunk` makes a
//! new object each time, measured quadratic), nor does a string kept in an attribute or a
//! container. Profile evidence (line level): the function's self time on the lines of the
//! appends (py-spy charges the copying, done in C, to the line). Source evidence (syntax
//! queries in that function): a local declared from a bytes literal (`out = b""`) and appended
//! to with `+=` inside a loop. The patch collects the pieces in a list and joins them once
//! after the outermost loop: `out_parts = []`, `out_parts.append(piece)`, then
//! `out = b"".join(out_parts)`. It is offered only when, from the declaration to the loop's
//! end, the name is used by nothing but its appends.

use joule_sdk::hotspot::sites_in;
use joule_sdk::prelude::*;
use joule_sdk::units::percent;
use joule_sdk::{SyntaxCapture, SyntaxMatch};

/// Appends: `NAME += VALUE`.
const APPENDS: &str = r#"((augmented_assignment
   left: (identifier) @name operator: "+=" right: (_) @value) @append)"#;

/// Declarations from a string literal: `NAME = b"..."` (bytes when the literal says so).
const DECLARATIONS: &str = r#"((expression_statement
   (assignment left: (identifier) @name right: (string) @init)) @decl)"#;

const LOOPS: &str = r#"[(for_statement) (while_statement)] @loop"#;

/// Share of the appends' time the patch removes. The lines' time holds the copying and also
/// computing each piece (C code py-spy charges to the same line), which stays: the copying is
/// 99% of it in the corpus program (8,000 pieces), a third in pypdf's ASCIIHex decoder on 13 KB
/// pages (tests/eval/real.py), so half is stated.
const REMOVED: f64 = 0.5;

/// Functions (by self time) whose lines are looked at.
const CANDIDATES: u32 = 30;

pub fn scan(invocation: &Invocation) -> Result<Vec<Finding>, String> {
    let min_share: f64 = invocation.param_or("min-share", 0.02)?;
    let trees = Tree::granted();
    let mut findings = Vec::new();
    for profile in Profile::granted() {
        for stat in profile.hot_in(Language::Python, Order::BySelf, CANDIDATES, min_share)? {
            findings.extend(function_findings(
                &profile,
                &trees,
                &stat.function,
                min_share,
            )?);
        }
    }
    Ok(findings)
}

/// Whether a Python string literal is a bytes literal (`b""`, `rb''`, `Br"..."`).
pub fn is_bytes_literal(literal: &str) -> bool {
    let prefix: String = literal
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    prefix.to_ascii_lowercase().contains('b')
}

fn function_findings(
    profile: &Profile,
    trees: &[Tree],
    function: &Function,
    min_share: f64,
) -> Result<Vec<Finding>, String> {
    let lines = profile.lines(function.id, 1000)?;
    let appends = sites_in(trees, function, &Query::new(Language::Python, APPENDS))?;
    let declarations = sites_in(trees, function, &Query::new(Language::Python, DECLARATIONS))?;
    // Names appended to inside a loop, each once, in order, with the time on their appends.
    let mut names: Vec<(String, String, i64)> = Vec::new();
    for (tree, m) in &appends {
        let (Some(name), Some(append)) = (m.capture("name"), m.capture("append")) else {
            continue;
        };
        if m.loop_depth == 0 {
            continue;
        }
        let value: i64 = lines
            .iter()
            .filter(|l| append.lines.start <= l.line && l.line <= append.lines.end)
            .map(|l| l.self_value)
            .sum();
        match names
            .iter_mut()
            .find(|(t, n, _)| t == tree && *n == name.text)
        {
            Some(entry) => entry.2 += value,
            None => names.push((tree.clone(), name.text.clone(), value)),
        }
    }
    let mut findings = Vec::new();
    for (tree_name, name, value) in names {
        let share = profile.share(value);
        if share < min_share {
            continue;
        }
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        let ours = |sites: &[(String, SyntaxMatch)]| -> Vec<SyntaxMatch> {
            sites
                .iter()
                .filter(|(t, m)| {
                    *t == tree_name && m.capture("name").is_some_and(|n| n.text == name)
                })
                .map(|(_, m)| m.clone())
                .collect()
        };
        let (appends, declarations) = (ours(&appends), ours(&declarations));
        // Bytes declared in this function: a `str`, a parameter or a global may be extended
        // in place, or be another type.
        let [declaration] = declarations.as_slice() else {
            continue;
        };
        let Some(init) = declaration.capture("init") else {
            continue;
        };
        if !is_bytes_literal(&init.text) {
            joule_sdk::log::info(format!(
                "`{}`: `{name} +=` in a loop takes {}, but `{name}` is a str, which CPython \
                 extends in place",
                function.name,
                percent(share)
            ));
            continue;
        }
        let Some(first) = appends
            .iter()
            .filter(|m| m.loop_depth > 0)
            .find_map(|m| m.capture("append"))
        else {
            continue;
        };
        let path = declaration.path.clone();
        let plan = plan(tree, &name, declaration, &appends)?;
        let mut finding = Finding::opportunity("string-concat-in-loop")
            .title(format!(
                "`{}` builds the bytes `{name}` with += in a loop: {} of {}",
                function.name,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} is spent on the lines that append to `{name}` in `{}`. Inside a loop,\n\n\
                 ```python\n{}\n```\n\nmakes a new `bytes` object holding all of `{name}` on \
                 every iteration (CPython extends only a `str` in place): n appends cost n * n \
                 / 2 copies. Collecting the pieces in a list and joining them once costs their \
                 length. The lines' time also holds computing each piece, which stays: the \
                 saving stated is half of it. {}",
                profile.cost(value),
                function.name,
                first.text.lines().next().unwrap_or("").trim(),
                match &plan {
                    Ok(_) => format!(
                        "The patch collects them in `{name}_parts` and sets `{name} = \
                         b\"\".join({name}_parts)` after the loop."
                    ),
                    Err(why) => format!("No patch is proposed because {why}."),
                }
            ))
            .location(Location::capture(&tree_name, &path, first).in_function(&function.name))
            .measured(profile, value)
            .saving(share * REMOVED)
            .confidence(0.85)
            .evidence(
                "time on the lines of the appends",
                value as f64,
                profile.unit(),
            )
            .label("fingerprint", format!("{name} += (bytes)"));
        if let Ok(edits) = plan {
            for edit in edits {
                finding = finding.edit(edit);
            }
        }
        findings.push(finding.build());
    }
    Ok(findings)
}

/// The edits that collect `name`'s pieces in a list, or why they cannot be made.
fn plan(
    tree: &Tree,
    name: &str,
    declaration: &SyntaxMatch,
    appends: &[SyntaxMatch],
) -> Result<Result<Vec<Edit>, String>, CallError> {
    let (Some(decl), Some(init)) = (declaration.capture("decl"), declaration.capture("init"))
    else {
        return Ok(Err("the declaration was not captured".into()));
    };
    if declaration.loop_depth > 0 {
        return Ok(Err(format!("`{name}` is declared inside a loop")));
    }
    if !decl.is_whole()
        || appends
            .iter()
            .any(|m| m.capture("value").is_none_or(|v| !v.is_whole()))
    {
        return Ok(Err("a statement is too long to rewrite".into()));
    }
    let path = &declaration.path;
    let pieces: Vec<(&SyntaxCapture, &SyntaxCapture)> = appends
        .iter()
        .filter_map(|m| Some((m.capture("append")?, m.capture("value")?)))
        .collect();
    // The outermost loop of the function holding the first append; every append inside it.
    let Some(&(first, _)) = pieces.first() else {
        return Ok(Err("no append was captured".into()));
    };
    let Some(outer) =
        tree.outermost_loop(declaration, &Query::new(Language::Python, LOOPS), first)?
    else {
        return Ok(Err("the loop was not found".into()));
    };
    if pieces
        .iter()
        .any(|(a, _)| a.bytes.start < outer.bytes.start || a.bytes.end > outer.bytes.end)
    {
        return Ok(Err(format!(
            "`{name}` is appended to outside that loop too"
        )));
    }
    if decl.bytes.end > outer.bytes.start {
        return Ok(Err(format!("`{name}` is declared after the loop starts")));
    }
    // From the declaration to the loop's end, the name is the declaration's or an append's
    // target, nothing else (a read there would see the list).
    let uses = tree.identifiers(Language::Python, path, name)?;
    for u in &uses {
        let Some(c) = u.capture("use") else { continue };
        if c.bytes.start < decl.bytes.start || c.bytes.end > outer.bytes.end {
            continue;
        }
        let target = |s: &SyntaxCapture| s.bytes.start == c.bytes.start;
        let is_target = c.bytes.start == decl.bytes.start
            || appends.iter().filter_map(|m| m.capture("name")).any(target);
        if !is_target {
            return Ok(Err(format!(
                "`{name}` is read or rebound inside the loop (line {})",
                c.lines.start
            )));
        }
    }
    let parts = format!("{name}_parts");
    if tree
        .identifiers(Language::Python, path, &parts)?
        .iter()
        .any(|u| u.function == declaration.function)
    {
        return Ok(Err(format!("`{parts}` is already a name there")));
    }
    let empty = init
        .text
        .trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let start = if matches!(empty, "\"\"" | "''") {
        format!("{parts} = []")
    } else {
        format!("{parts} = [{}]", init.text)
    };
    let mut edits = vec![Edit::capture(tree.name(), path, decl, &start)];
    for (append, value) in &pieces {
        edits.push(Edit::capture(
            tree.name(),
            path,
            append,
            &format!("{parts}.append({})", value.text),
        ));
    }
    let indent = tree.indentation(path, outer.lines.start)?;
    let after = outer.lines.end + 1;
    edits.push(Edit::lines(
        tree.name(),
        path,
        after,
        after - 1,
        &format!("{indent}{name} = b\"\".join({parts})\n"),
    ));
    Ok(Ok(edits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_literals_are_told_from_strings() {
        for b in ["b\"\"", "b''", "rb\"x\"", "Br'\\d'", "B\"\""] {
            assert!(is_bytes_literal(b), "{b}");
        }
        for s in ["\"\"", "''", "r\"x\"", "f\"{x}\"", "u''", "\"b\""] {
            assert!(!is_bytes_literal(s), "{s}");
        }
    }
}
