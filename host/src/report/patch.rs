//! Edits into unified diffs. Edits are applied to the file as the granted tree holds it (read
//! through the same resolver skills use), checked for bounds, character boundaries and overlap,
//! and diffed with `similar` into `git apply`-able patches.

use std::collections::BTreeMap;

use joule_policy::DenyRules;

use crate::findings::{Edit, Span};
use crate::inputs::Inputs;
use crate::untrusted::Untrusted;

/// The unified diff of a set of edits (one finding's, or a whole report's), or why it cannot be
/// made. Both hold the skills' file names and replacement text: they are returned as the
/// strings they are, for the `--patch` file, and carried as [`Untrusted`] in findings.
pub fn patch(
    edits: &[&Edit],
    inputs: &Inputs,
    deny: Option<&DenyRules>,
) -> Result<Option<String>, String> {
    if edits.is_empty() {
        return Ok(None);
    }
    let mut by_file: BTreeMap<(Option<&str>, &str), Vec<&Edit>> = BTreeMap::new();
    for &e in edits {
        by_file
            .entry((e.tree.as_ref().map(Untrusted::raw), e.file.raw()))
            .or_default()
            .push(e);
    }
    let mut out = String::new();
    for ((tree_name, file), edits) in by_file {
        let tree = inputs.tree(tree_name).ok_or_else(|| match tree_name {
            Some(name) => format!("edit names source tree `{name}`, which was not granted"),
            None => "edit needs a source tree and none was granted".to_string(),
        })?;
        if let Some(deny) = deny {
            deny.check(file, tree.resolved(file).as_deref())
                .map_err(|denial| format!("edit denied: {denial}"))?;
        }
        let original = tree
            .read(file)
            .map_err(|e| format!("cannot read {file}: {e}"))?;
        let updated = apply(&original, &edits).map_err(|e| format!("{file}: {e}"))?;
        let diff = similar::TextDiff::from_lines(&original, &updated);
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{file}"), &format!("b/{file}"))
                .to_string(),
        );
    }
    Ok(Some(out))
}

/// Byte offset where 1-based `line` starts (the end of the text for the line after the last).
fn line_offset(text: &str, line: u32) -> Option<usize> {
    if line == 0 {
        return None;
    }
    if line == 1 {
        return Some(0);
    }
    let mut seen = 1;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            seen += 1;
            if seen == line {
                return Some(i + 1);
            }
        }
    }
    (seen + 1 == line && !text.ends_with('\n')).then_some(text.len())
}

fn byte_range(text: &str, span: &Span) -> Result<(usize, usize), String> {
    let (start, end) = match *span {
        Span::Bytes { start, end } => (start as usize, end as usize),
        Span::Lines { start, end } => {
            if start == 0 || end.saturating_add(1) < start {
                return Err(format!("line span {start}..={end} is not a range"));
            }
            let from = line_offset(text, start)
                .ok_or_else(|| format!("line {start} is past the end of the file"))?;
            let to = if end < start {
                from
            } else {
                line_offset(text, end.saturating_add(1)).unwrap_or(text.len())
            };
            (from, to)
        }
    };
    if start > end || end > text.len() {
        return Err(format!(
            "byte span {start}..{end} is outside the file ({} bytes)",
            text.len()
        ));
    }
    if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return Err(format!("byte span {start}..{end} splits a character"));
    }
    Ok((start, end))
}

/// Applies non-overlapping edits to `text`.
pub fn apply(text: &str, edits: &[&Edit]) -> Result<String, String> {
    let mut ranges: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| byte_range(text, &e.span).map(|(s, t)| (s, t, e.replacement.raw())))
        .collect::<Result<_, _>>()?;
    ranges.sort_by_key(|&(s, t, _)| (s, t));
    for pair in ranges.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(format!(
                "edits overlap: {}..{} and {}..{}",
                pair[0].0, pair[0].1, pair[1].0, pair[1].1
            ));
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, replacement) in ranges {
        out.push_str(&text[at..start]);
        out.push_str(replacement);
        at = end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(span: Span, replacement: &str) -> Edit {
        Edit {
            tree: None,
            file: "f.rs".into(),
            span,
            replacement: replacement.into(),
        }
    }

    #[test]
    fn applies_line_and_byte_edits() {
        let text = "a\nb\nc\n";
        let insert = edit(Span::Lines { start: 2, end: 1 }, "x\n");
        let replace = edit(Span::Bytes { start: 4, end: 5 }, "C");
        assert_eq!(apply(text, &[&insert, &replace]).unwrap(), "a\nx\nb\nC\n");
        let whole_line = edit(Span::Lines { start: 3, end: 3 }, "");
        assert_eq!(apply(text, &[&whole_line]).unwrap(), "a\nb\n");
    }

    #[test]
    fn refuses_bad_edits() {
        let text = "héllo\n";
        let split = edit(Span::Bytes { start: 2, end: 3 }, "");
        assert!(
            apply(text, &[&split])
                .unwrap_err()
                .contains("splits a character")
        );
        let past = edit(Span::Lines { start: 9, end: 9 }, "");
        assert!(apply(text, &[&past]).unwrap_err().contains("past the end"));
        let a = edit(Span::Bytes { start: 0, end: 3 }, "");
        let b = edit(Span::Bytes { start: 1, end: 4 }, "");
        assert!(apply(text, &[&a, &b]).unwrap_err().contains("overlap"));
    }
}
