//! The words of a pull request: the commit's subject and body (with its `Joule-Finding:`
//! trailer) and the description a reviewer reads; and the patch's file paths moved under the
//! directory its source tree is in.

use std::fmt::Write as _;

use super::Prepared;
use crate::findings::{Finding, Kind};
use crate::report::Report;
use crate::untrusted::{Untrusted, terminal};

/// The longest subject line.
const SUBJECT: usize = 72;
/// Body lines are wrapped here.
const WIDTH: usize = 72;

/// `text` cut to `max` characters at a word boundary, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split(' ') {
        if out.chars().count() + word.chars().count() + 2 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = text.chars().take(max - 1).collect();
    }
    out.push('…');
    out
}

/// The commit's subject: a revert says what it reverts; an opportunity says what it fixes,
/// without the share (which is in the body).
pub fn subject(finding: &Finding) -> String {
    let title = finding.title.terminal().replace('`', "");
    let title = title.lines().next().unwrap_or("").trim().to_string();
    let text = if finding.kind == Kind::Mitigation {
        title
            .split(" to undo ")
            .next()
            .unwrap_or(&title)
            .to_string()
    } else {
        let what = match title.rsplit_once(": ") {
            Some((what, rest)) if rest.contains('%') => what.to_string(),
            _ => title,
        };
        format!("perf: {what}")
    };
    cut(&text, SUBJECT)
}

/// `text` wrapped at [`WIDTH`], keeping its line breaks and fenced blocks.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || line.len() <= WIDTH {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut current = String::new();
        for word in line.split(' ') {
            if !current.is_empty() && current.len() + word.len() + 1 > WIDTH {
                out.push_str(&current);
                out.push('\n');
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push_str(&current);
        out.push('\n');
    }
    out
}

/// The message without its fenced `diff` blocks (a revert's message carries the whole diff,
/// which the commit and the description show as the change itself).
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut diff = false;
    for line in text.lines() {
        let fence = line.trim_start();
        if !diff && fence.starts_with("```diff") {
            diff = true;
            continue;
        }
        if diff {
            if fence.starts_with("```") {
                diff = false;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

/// What the change is and where: one sentence.
fn what(finding: &Finding, entry: &Prepared) -> String {
    let files = if entry.files.is_empty() {
        String::new()
    } else {
        format!(" in {}", entry.files.join(", "))
    };
    match finding.kind {
        Kind::Mitigation => {
            let commit = finding
                .labels
                .get(&Untrusted::from("commit"))
                .map(Untrusted::terminal)
                .unwrap_or_default();
            format!(
                "Reverts {} on the current head{files}, to undo a regression Joule traced to it.",
                commit.chars().take(12).collect::<String>()
            )
        }
        _ => format!(
            "Applies the edit Joule's `{}` skill proposes for `{}`{files}.",
            finding.skill,
            finding.rule.terminal()
        ),
    }
}

/// The impact line: share of the profile and what it is worth across the fleet.
fn impact(finding: &Finding, report: &Report) -> Option<String> {
    let share = finding.impact.sample_share?;
    let mut line = format!("{:.1}% of the profile", share * 100.0);
    if let (Some(saving), Some(fleet)) = (&finding.saving, &report.fleet) {
        let _ = write!(
            line,
            "; fixing it saves about {} cores and {} W across a fleet of {} cores ({} W a core)",
            crate::report::significant(saving.cores),
            crate::report::significant(saving.watts),
            crate::report::significant(fleet.cores),
            crate::report::significant(fleet.watts_per_core)
        );
    }
    Some(line)
}

/// `body` with every line `git am` would take for the start of a patch or a new message
/// (`---`, `diff `, `Index:`, `+++ `, `@@`, `From `) indented, so a skill's text cannot smuggle
/// a hunk into the mail a reviewer applies.
fn mail_safe(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 64);
    for line in body.lines() {
        if ["---", "diff ", "Index:", "+++ ", "@@", "From "]
            .iter()
            .any(|p| line.starts_with(p))
        {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The commit message: subject, what and why, evidence, impact, verification, the trailer.
pub fn commit(finding: &Finding, report: &Report, entry: &Prepared) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "{}\n", what(finding, entry));
    let _ = writeln!(body, "{}\n", prose(&terminal::lines(finding.message.raw())));
    if !finding.evidence.is_empty() {
        body.push_str("Evidence:\n");
        for m in &finding.evidence {
            let _ = writeln!(
                body,
                "- {}: {} {}",
                m.name.terminal(),
                crate::report::number(m.value),
                m.unit.terminal()
            );
        }
        body.push('\n');
    }
    if let Some(line) = impact(finding, report) {
        let _ = writeln!(body, "Impact: {line}.\n");
    }
    if let Some(v) = &entry.verify {
        let _ = writeln!(body, "Verified: {}.", v.summary());
    }
    if let Some(b) = &entry.bench {
        let _ = writeln!(body, "Benchmark: {}.", b.summary());
    }
    format!(
        "{}\n\n{}\nJoule-Finding: {}\n",
        entry.subject,
        mail_safe(&wrap(body.trim_end())),
        finding.id
    )
}

/// The pull request's description, in Markdown.
pub fn description(finding: &Finding, report: &Report, entry: &Prepared, patch: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {}\n",
        crate::untrusted::markdown::inline(&entry.subject)
    );
    let _ = writeln!(
        out,
        "{}\n",
        crate::untrusted::markdown::inline(&what(finding, entry))
    );
    let _ = writeln!(
        out,
        "Finding `{}` of skill `{}` (rule {}, {}), confidence {:.2}.\n",
        finding.id,
        finding.skill,
        finding.rule.md_code(),
        finding.kind.name(),
        finding.confidence
    );
    out.push_str("## Why\n\n");
    let why = Untrusted::from(prose(finding.message.raw()));
    let _ = writeln!(out, "{}\n", why.md_message(&finding.skill));
    if !finding.evidence.is_empty() {
        out.push_str("## Evidence\n\n| measure | value |\n|---|---:|\n");
        for m in &finding.evidence {
            let _ = writeln!(
                out,
                "| {} | {} {} |",
                m.name.md_cell(),
                crate::report::number(m.value),
                m.unit.md_cell()
            );
        }
        out.push('\n');
    }
    if let Some(line) = impact(finding, report) {
        let _ = writeln!(out, "**Impact:** {line}.\n");
    }
    let places: Vec<String> = finding
        .locations
        .iter()
        .filter_map(crate::report::place)
        .collect();
    if !places.is_empty() {
        out.push_str("## Where\n\n");
        for p in places {
            let _ = writeln!(out, "- {p}");
        }
        out.push('\n');
    }
    if let Some(series) = &finding.series {
        out.push_str("## The regression\n\n");
        let _ = writeln!(out, "- series: {}", series.md_code());
        for key in ["commit", "head"] {
            if let Some(v) = finding.labels.get(&Untrusted::from(key)) {
                let _ = writeln!(out, "- {key}: {}", v.md_code());
            }
        }
        // The regression itself: when, and the series before and after.
        let regression = report
            .findings
            .iter()
            .find(|f| f.kind == Kind::Regression && f.series.as_ref() == Some(series));
        if let Some(r) = regression {
            if let Some(at) = &r.at {
                let _ = writeln!(out, "- changed at: {}", at.md_code());
            }
            for m in &r.evidence {
                let _ = writeln!(
                    out,
                    "- {}: {} {}",
                    m.name.md_inline(),
                    crate::report::number(m.value),
                    m.unit.md_inline()
                );
            }
        }
        out.push('\n');
    }
    out.push_str("## Verification\n\n");
    match &entry.verify {
        Some(v) => {
            let _ = writeln!(
                out,
                "- build and tests: {}",
                crate::untrusted::markdown::inline(&v.summary())
            );
        }
        None => out.push_str("- build and tests: not run (`joule pr --verify CMD`)\n"),
    }
    match &entry.bench {
        Some(b) => {
            let _ = writeln!(
                out,
                "- benchmark: {}",
                crate::untrusted::markdown::inline(&b.summary())
            );
        }
        None => out.push_str("- benchmark: not run (`joule pr --bench CMD`)\n"),
    }
    out.push_str("\n## The change\n\n");
    out.push_str(&Untrusted::from(patch).md_fenced("diff"));
    let _ = writeln!(
        out,
        "\n---\nPrepared by `joule pr` on branch `{}`. To open it on GitHub: `gh pr create --head {} --title \"…\" --body-file description.md`.",
        entry.branch.as_deref().unwrap_or(""),
        entry.branch.as_deref().unwrap_or("")
    );
    out
}

/// The files a patch names (its `+++ b/` side, else `--- a/`).
pub fn files_of(patch: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in headers(patch) {
        if let Some(p) = line
            .strip_prefix("+++ b/")
            .or_else(|| line.strip_prefix("--- a/"))
            && !out.iter().any(|o| o == p)
        {
            out.push(p.to_string());
        }
    }
    out
}

/// The header lines of a unified diff (not the lines of its hunks, whatever they hold).
fn headers(patch: &str) -> impl Iterator<Item = &str> {
    let mut hunks = Hunks::default();
    patch.lines().filter(move |line| !hunks.step(line))
}

/// Where a unified diff's reader is: inside a hunk (lines still to come on each side) or in
/// the headers between them.
#[derive(Default)]
struct Hunks {
    left: (usize, usize),
}

impl Hunks {
    /// Reads one line (without its line end): `true` when it is a hunk's header or one of its
    /// lines, whatever it holds; `false` for a file header line.
    fn step(&mut self, line: &str) -> bool {
        let left = &mut self.left;
        if left.0 > 0 || left.1 > 0 {
            match line.as_bytes().first() {
                Some(b'-') => left.0 = left.0.saturating_sub(1),
                Some(b'+') => left.1 = left.1.saturating_sub(1),
                Some(b'\\') => {}
                _ => {
                    left.0 = left.0.saturating_sub(1);
                    left.1 = left.1.saturating_sub(1);
                }
            }
            return true;
        }
        if let Some(counts) = hunk_counts(line) {
            *left = counts;
            return true;
        }
        false
    }
}

/// The old and new line counts of a hunk header `@@ -a,b +c,d @@`.
fn hunk_counts(line: &str) -> Option<(usize, usize)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |r: &str| r.split_once(',').map_or(Some(1), |(_, n)| n.parse().ok());
    Some((count(old)?, count(new)?))
}

/// `patch` with a `diff --git a/X b/Y` line before each file whose header has none (libgit2
/// reads only git's form; a skill's edits are plain unified diffs).
pub fn with_git_headers(patch: &str) -> String {
    let lines: Vec<&str> = patch.split_inclusive('\n').collect();
    let mut out = String::with_capacity(patch.len() + 256);
    let mut hunks = Hunks::default();
    // A `diff --git` line was seen for the file whose header is being read.
    let mut git_header = false;
    for (i, line) in lines.iter().enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        if hunks.step(bare) {
            git_header = false;
            out.push_str(line);
            continue;
        }
        if bare.starts_with("diff --git ") {
            git_header = true;
        } else if let Some(old) = bare.strip_prefix("--- ") {
            let new = lines
                .get(i + 1)
                .and_then(|l| l.trim_end_matches(['\n', '\r']).strip_prefix("+++ "));
            if !git_header && let Some(new) = new {
                let name = |side: &str, p: &str, dev: &str| match p {
                    "/dev/null" => format!("{side}/{dev}"),
                    p => format!("{side}/{}", p.split_once('/').map_or(p, |(_, rest)| rest)),
                };
                let (a, b) = (
                    old.split('\t').next().unwrap_or(old),
                    new.split('\t').next().unwrap_or(new),
                );
                let a_name = name("a", a, b.split_once('/').map_or(b, |(_, r)| r));
                let b_name = name("b", b, a.split_once('/').map_or(a, |(_, r)| r));
                out.push_str(&format!("diff --git {a_name} {b_name}\n"));
            }
        }
        out.push_str(line);
    }
    out
}

/// `patch` with its paths moved under `dir` (the source tree's place in the repository).
pub fn under(patch: &str, dir: &str) -> String {
    let dir = dir.trim_matches('/');
    if dir.is_empty() {
        return patch.to_string();
    }
    let mut hunks = Hunks::default();
    let mut out = String::with_capacity(patch.len() + 256);
    for line in patch.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if hunks.step(bare) {
            out.push_str(line);
            continue;
        }
        let end = &line[bare.len()..];
        let moved = if let Some(rest) = bare.strip_prefix("diff --git a/") {
            rest.split_once(" b/")
                .map(|(a, b)| format!("diff --git a/{dir}/{a} b/{dir}/{b}"))
        } else if let Some(p) = bare.strip_prefix("--- a/") {
            Some(format!("--- a/{dir}/{p}"))
        } else if let Some(p) = bare.strip_prefix("+++ b/") {
            Some(format!("+++ b/{dir}/{p}"))
        } else if let Some(p) = bare.strip_prefix("rename from ") {
            Some(format!("rename from {dir}/{p}"))
        } else {
            bare.strip_prefix("rename to ")
                .map(|p| format!("rename to {dir}/{p}"))
        };
        match moved {
            Some(m) => {
                out.push_str(&m);
                out.push_str(end);
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "--- a/src/parse.rs\n+++ b/src/parse.rs\n@@ -1,3 +1,3 @@\n context\n--- a/not/a/header\n+++ b/not/a/header\n";

    #[test]
    fn paths_move_under_the_tree_and_hunk_lines_stay() {
        let moved = under(PATCH, "example/logscan");
        assert!(moved.starts_with(
            "--- a/example/logscan/src/parse.rs\n+++ b/example/logscan/src/parse.rs\n"
        ));
        // Lines inside the hunk that look like headers are content, left as they are.
        assert!(moved.ends_with(" context\n--- a/not/a/header\n+++ b/not/a/header\n"));
        assert_eq!(files_of(PATCH), vec!["src/parse.rs".to_string()]);
        assert_eq!(under(PATCH, ""), PATCH);
        let git = "diff --git a/x.rs b/y.rs\nrename from x.rs\nrename to y.rs\n";
        assert_eq!(
            under(git, "d"),
            "diff --git a/d/x.rs b/d/y.rs\nrename from d/x.rs\nrename to d/y.rs\n"
        );
    }

    #[test]
    fn plain_unified_diffs_get_the_git_header_libgit2_reads() {
        let two = "--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1 +1 @@\n-x\n+y\n--- a/b.rs\n+++ b/b.rs\n@@ -1 +1 @@\n-p\n+q\n";
        let with = with_git_headers(two);
        assert_eq!(
            with,
            "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1 +1 @@\n-x\n+y\ndiff --git a/b.rs b/b.rs\n--- a/b.rs\n+++ b/b.rs\n@@ -1 +1 @@\n-p\n+q\n"
        );
        git2::Diff::from_buffer(with.as_bytes()).expect("libgit2 reads it");
        // One that has them is left alone.
        assert_eq!(with_git_headers(&with), with);
    }

    #[test]
    fn a_message_cannot_start_a_patch_in_the_mail() {
        let body = "why\n--- a/build.rs\n+++ b/build.rs\n@@ -0,0 +1 @@\ndiff --git a b\nFrom x\nok";
        let safe = mail_safe(body);
        assert!(
            safe.lines().skip(1).take(5).all(|l| l.starts_with("  ")),
            "{safe}"
        );
        assert!(safe.starts_with("why\n") && safe.ends_with("\nok\n"));
    }

    #[test]
    fn subjects_fit_and_say_what_changes() {
        assert_eq!(cut("short", 72), "short");
        let long = "word ".repeat(30);
        let c = cut(long.trim(), 72);
        assert!(c.chars().count() <= 72 && c.ends_with('…'), "{c}");
        let one = "x".repeat(100);
        assert_eq!(cut(&one, 72).chars().count(), 72);
    }
}
