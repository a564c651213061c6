//! Edits into unified diffs. Edits are applied to the file as the granted tree holds it (read
//! through the same resolver skills use), checked for bounds, character boundaries and overlap,
//! and written as `git apply`-able patches.
//!
//! An edit goes to the one canonical path its file has in its tree, whatever spelling the skill
//! used (`./a`, `a//b`, a symlink inside the tree), so two edits to one file always meet in the
//! overlap check and the patch names each file once. Lines are what git calls lines: text up to
//! and including `\n`. A carriage return is part of its line's content (so CRLF files and a lone
//! `\r` in a replacement survive `git apply` unchanged).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::ops::Range;
use std::time::{Duration, Instant};

use joule_policy::DenyRules;
use similar::{Algorithm, DiffTag};

use crate::findings::{Edit, Span};
use crate::inputs::Inputs;
use crate::source::SourceTree;
use crate::untrusted::Untrusted;

/// Where an edit really goes: the tree's name and the file's canonical path in it.
pub type FileKey = (String, String);

/// The tree and canonical file an edit goes to, after the deny rules (as given and as
/// resolved) let it through.
pub fn resolve<'a>(
    edit: &Edit,
    inputs: &'a Inputs,
    deny: Option<&DenyRules>,
) -> Result<(&'a SourceTree, String), String> {
    resolve_file(
        edit.tree.as_ref().map(Untrusted::raw),
        edit.file.raw(),
        inputs,
        deny,
    )
}

/// The tree and canonical file that `file` in tree `tree_name` (the first tree when `None`)
/// names, after the deny rules (as given and as resolved) let it through: for an edit, or for a
/// location whose lines a report quotes.
pub fn resolve_file<'a>(
    tree_name: Option<&str>,
    file: &str,
    inputs: &'a Inputs,
    deny: Option<&DenyRules>,
) -> Result<(&'a SourceTree, String), String> {
    let tree = inputs.tree(tree_name).ok_or_else(|| match tree_name {
        Some(name) => format!("edit names source tree `{name}`, which was not granted"),
        None => "edit needs a source tree and none was granted".to_string(),
    })?;
    if let Some(deny) = deny {
        deny.check(file, tree.resolved(file).as_deref())
            .map_err(|denial| format!("edit denied: {denial}"))?;
    }
    let canonical = tree
        .canonical(file)
        .map_err(|e| format!("cannot read {file}: {e}"))?;
    Ok((tree, canonical))
}

/// The unified diff of a set of edits (one finding's, or a whole report's), or why it cannot be
/// made. Both hold the skills' file names and replacement text: they are returned as the
/// strings they are, for the `--patch` file, and carried as [`Untrusted`] in findings.
/// Diffing past `deadline` is linear and coarser ([`unified`]).
pub fn patch(
    edits: &[&Edit],
    inputs: &Inputs,
    deny: Option<&DenyRules>,
    deadline: Instant,
) -> Result<Option<String>, String> {
    if edits.is_empty() {
        return Ok(None);
    }
    let mut by_file: BTreeMap<FileKey, (&SourceTree, Vec<&Edit>)> = BTreeMap::new();
    for &e in edits {
        let (tree, file) = resolve(e, inputs, deny)?;
        by_file
            .entry((tree.name().to_string(), file))
            .or_insert_with(|| (tree, Vec::new()))
            .1
            .push(e);
    }
    let mut out = String::new();
    for ((_, file), (tree, edits)) in by_file {
        let original = tree
            .read(&file)
            .map_err(|e| format!("cannot read {file}: {e}"))?;
        let updated = apply(&original, &edits).map_err(|e| format!("{file}: {e}"))?;
        out.push_str(&unified(&file, &original, &updated, deadline));
    }
    Ok(Some(out))
}

/// `text` cut into git's lines: each up to and including its `\n`, the last maybe without.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// A hunk's range as a unified diff writes it: `start,len`, `start` alone for one line, and the
/// line before for an empty range.
fn range(r: &Range<usize>) -> String {
    match r.len() {
        0 => format!("{},0", r.start),
        1 => format!("{}", r.start + 1),
        n => format!("{},{n}", r.start + 1),
    }
}

/// How long one file's diff may search for the smallest one. Myers' algorithm takes time in
/// the product of the lines and the differences: an edit that inserts tens of thousands of lines
/// (a skill's replacement text) would keep the report from being written for minutes, after the
/// skill's own deadline. Past this, it returns a larger diff at once, as exact.
const DIFF_DEADLINE: Duration = Duration::from_millis(200);

/// How long the diffs of one skill's patches may search in all, and those of the combined
/// patch: many findings with slow diffs cannot add up to more, and one skill's cannot use up
/// another's time.
pub const DIFF_BUDGET: Duration = Duration::from_secs(2);

/// The unified diff (three lines of context) from `old` to `new` of `file`; empty when they
/// are the same.
///
/// Myers' algorithm takes time in the file's length times the lines changed, which a skill's
/// edits decide. Past `deadline` (what is left of the report's time for it), or after
/// [`DIFF_DEADLINE`] on this file, `similar` stops looking for the shortest diff and gives the
/// rest as removed and added lines: a larger patch that applies the same, in linear time.
pub fn unified(file: &str, old: &str, new: &str, deadline: Instant) -> String {
    let (old, new) = (lines(old), lines(new));
    let deadline = deadline.min(Instant::now() + DIFF_DEADLINE);
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, &old, &new, Some(deadline));
    let mut out = String::new();
    for group in similar::group_diff_ops(ops, 3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        if out.is_empty() {
            let _ = writeln!(out, "--- a/{file}\n+++ b/{file}");
        }
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let _ = writeln!(out, "@@ -{} +{} @@", range(&old_range), range(&new_range));
        for op in &group {
            let (tag, old_lines, new_lines) = op.as_tag_tuple();
            let mut emit = |sign: char, line: &str| {
                out.push(sign);
                out.push_str(line);
                if !line.ends_with('\n') {
                    out.push_str("\n\\ No newline at end of file\n");
                }
            };
            match tag {
                DiffTag::Equal => old[old_lines].iter().for_each(|l| emit(' ', l)),
                DiffTag::Delete => old[old_lines].iter().for_each(|l| emit('-', l)),
                DiffTag::Insert => new[new_lines].iter().for_each(|l| emit('+', l)),
                DiffTag::Replace => {
                    old[old_lines].iter().for_each(|l| emit('-', l));
                    new[new_lines].iter().for_each(|l| emit('+', l));
                }
            }
        }
    }
    out
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

pub fn byte_range(text: &str, span: &Span) -> Result<(usize, usize), String> {
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

    #[test]
    fn a_diff_of_many_inserted_lines_takes_its_deadline_not_minutes() {
        // A file with blank lines between its lines, and an edit that inserts 40,000 more blank
        // lines, between lines of its own: the smallest diff has many equal lines to choose
        // from, and Myers' search takes minutes.
        let old: String = (0..400).map(|i| format!("line {i}\n\n")).collect();
        let inserted: String = (0..20_000).map(|i| format!("\n{}\n", i % 7)).collect();
        let new = format!(
            "{}{inserted}{}",
            &old[..old.len() / 2],
            &old[old.len() / 2..]
        );
        let started = std::time::Instant::now();
        let far = started + Duration::from_secs(3600);
        let diff = unified("f", &old, &new, far);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let count = |sign: char| diff.lines().filter(|l| l.starts_with(sign)).count();
        assert_eq!(count('+') - count('-'), 40_000);
    }
}
