//! Patches as a reviewer gets them: given findings with edits to a granted tree, the per-finding
//! and combined patches say what the edits do, whatever spelling or line endings a skill used,
//! and `git apply` takes them.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use joule_policy::{Limits, SkillGrants};

use super::*;
use crate::findings::{Impact, Kind, Span};
use crate::source::SourceTree;
use crate::untrusted::Untrusted;

/// A tree with `files` written into a fresh directory, granted as `app`.
fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Arc<Inputs>) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let tree = SourceTree::open("app", dir.path()).unwrap();
    let inputs = Inputs {
        trees: vec![Arc::new(tree)],
        ..Inputs::default()
    };
    (dir, Arc::new(inputs))
}

fn edit(file: &str, span: Span, replacement: &str) -> Edit {
    Edit {
        tree: None,
        file: file.into(),
        span,
        replacement: replacement.into(),
    }
}

/// A finding of `skill` with `edits`, worth `share` (which sets its rank).
fn finding(skill: &str, rule: &str, share: f64, edits: Vec<Edit>) -> Finding {
    Finding {
        id: String::new(),
        skill: skill.into(),
        kind: Kind::Opportunity,
        rule: rule.into(),
        title: rule.into(),
        message: String::new().into(),
        locations: Vec::new(),
        impact: Impact {
            sample_share: Some(share),
            ..Impact::default()
        },
        confidence: 1.0,
        evidence: Vec::new(),
        edits,
        patch: None,
        patch_error: None,
        series: None,
        at: None,
        labels: Default::default(),
        saving: None,
        overlaps: Vec::new(),
    }
    .fingerprinted()
}

fn report(inputs: &Arc<Inputs>, findings: Vec<Finding>, limits: Limits) -> Report {
    report_until(
        inputs,
        findings,
        limits,
        Instant::now() + Duration::from_secs(60),
    )
}

/// [`report`], with the run's deadline at `deadline`.
fn report_until(
    inputs: &Arc<Inputs>,
    findings: Vec<Finding>,
    limits: Limits,
    deadline: Instant,
) -> Report {
    let mut access = HashMap::new();
    for f in &findings {
        let grants = Arc::new(SkillGrants::open(&f.skill, limits.clone()));
        access.insert(f.skill.clone(), (grants, inputs.clone()));
    }
    Report::new(
        InputsRecord::default(),
        Vec::new(),
        findings,
        inputs,
        &access,
        deadline,
    )
}

/// Whether `git apply --check` takes `patch` in `dir`.
fn git_applies(dir: &Path, patch: &str) -> Result<(), String> {
    git_apply(dir, patch, &["--check", "--verbose"])
}

/// Runs `git apply` with `flags` on `patch` in `dir`.
fn git_apply(dir: &Path, patch: &str, flags: &[&str]) -> Result<(), String> {
    // Beside the tree, named after it: tests running at once write patches of their own.
    let file = dir.with_extension("patch");
    std::fs::write(&file, patch).unwrap();
    let out = Command::new("git")
        .arg("apply")
        .args(flags)
        .arg(&file)
        .current_dir(dir)
        .output()
        .expect("git runs");
    let _ = std::fs::remove_file(&file);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn one_file_under_several_spellings_is_one_file_and_the_displaced_fix_says_so() {
    let (dir, inputs) = tree(&[("src/a.rs", "one\ntwo\nthree\n")]);
    std::os::unix::fs::symlink("a.rs", dir.path().join("src/link.rs")).unwrap();
    let first = finding(
        "s1",
        "r1",
        0.5,
        vec![edit(
            "./src/a.rs",
            Span::Lines { start: 2, end: 2 },
            "TWO\n",
        )],
    );
    let second = finding(
        "s2",
        "r2",
        0.3,
        vec![edit(
            "src//link.rs",
            Span::Lines { start: 2, end: 3 },
            "2\n3\n",
        )],
    );
    let third = finding(
        "s3",
        "r3",
        0.1,
        vec![edit("src/a.rs", Span::Lines { start: 1, end: 1 }, "1\n")],
    );
    let r = report(&inputs, vec![third, second, first], Limits::default());
    let [a, b, c] = &r.findings[..] else { panic!() };
    assert_eq!(
        (a.skill.as_str(), b.skill.as_str(), c.skill.as_str()),
        ("s1", "s2", "s3")
    );
    // Every edit now names the canonical file, and each finding's own patch stands.
    for f in &r.findings {
        assert_eq!(f.edits[0].file, "src/a.rs");
        assert_eq!(f.edits[0].tree.as_ref().map(Untrusted::raw), Some("app"));
        assert!(
            f.patch
                .as_ref()
                .unwrap()
                .raw()
                .starts_with("--- a/src/a.rs\n"),
            "{f:?}"
        );
    }
    // The second overlaps the first: left out of the combined patch, and both say so.
    assert_eq!(a.overlaps, std::slice::from_ref(&b.id));
    assert_eq!(b.overlaps, std::slice::from_ref(&a.id));
    assert!(c.overlaps.is_empty());
    let combined = r.combined_patch();
    assert_eq!(combined.matches("--- a/src/a.rs").count(), 1, "{combined}");
    assert!(
        combined.contains("+TWO\n") && combined.contains("+1\n"),
        "{combined}"
    );
    assert!(!combined.contains("+3\n"), "{combined}");
    git_applies(dir.path(), combined).unwrap();
}

#[test]
fn carriage_returns_are_line_content_as_git_reads_them() {
    let (dir, inputs) = tree(&[("crlf.txt", "a\r\nb\r\nc\r\n"), ("plain.txt", "x\ny\nz")]);
    let crlf = finding(
        "s1",
        "crlf",
        0.4,
        vec![edit("crlf.txt", Span::Lines { start: 2, end: 2 }, "B\r\n")],
    );
    // A lone carriage return inside a replacement, and a last line without a newline.
    let lone = finding(
        "s2",
        "lone",
        0.3,
        vec![edit(
            "plain.txt",
            Span::Lines { start: 2, end: 3 },
            "y\rY\nzz",
        )],
    );
    let r = report(&inputs, vec![crlf, lone], Limits::default());
    for f in &r.findings {
        let p = f.patch.as_ref().unwrap().raw();
        git_applies(dir.path(), p).unwrap_or_else(|e| panic!("{e}\n{p:?}"));
    }
    let combined = r.combined_patch();
    assert!(combined.contains("+y\rY\n"), "{combined:?}");
    assert!(
        combined.contains("\\ No newline at end of file"),
        "{combined:?}"
    );
    git_applies(dir.path(), combined).unwrap_or_else(|e| panic!("{e}\n{combined:?}"));
}

#[test]
fn patches_past_the_skills_findings_budget_are_left_out_and_the_findings_stand() {
    let text: String = (0..200).map(|i| format!("line {i}\n")).collect();
    let (_dir, inputs) = tree(&[("big.txt", &text)]);
    let findings: Vec<Finding> = (0..4)
        .map(|i| {
            let line = 1 + 50 * i;
            let replacement = "x".repeat(300) + "\n";
            finding(
                "wordy",
                &format!("r{i}"),
                0.5 - 0.1 * i as f64,
                vec![edit(
                    "big.txt",
                    Span::Lines {
                        start: line,
                        end: line,
                    },
                    &replacement,
                )],
            )
        })
        .collect();
    let limits = Limits {
        findings_bytes: 1 << 10,
        ..Limits::default()
    };
    let r = report(&inputs, findings, limits);
    let kept = r.findings.iter().filter(|f| f.patch.is_some()).count();
    assert!((1..4).contains(&kept), "{kept}");
    let dropped = r.findings.iter().find(|f| f.patch.is_none()).unwrap();
    let e = dropped.patch_error.as_ref().unwrap().raw();
    assert!(
        e.starts_with("patch left out:") && e.contains("findings budget of 1 KiB"),
        "{e}"
    );
    assert_eq!(r.findings.len(), 4);
}

#[test]
fn many_findings_merge_into_one_patch_with_every_clash_named() {
    // 2,000 findings, each replacing one line of its own, and every tenth one again replacing
    // a line already taken: the merge keeps the first of each pair.
    let text: String = (0..2_000).map(|i| format!("{i}\n")).collect();
    let (dir, inputs) = tree(&[("n.txt", &text)]);
    let mut findings = Vec::new();
    for i in 0..2_000u32 {
        let line = i + 1;
        let share = 1.0 - f64::from(i) / 10_000.0;
        findings.push(finding(
            "s",
            &format!("own{i}"),
            share,
            vec![edit(
                "n.txt",
                Span::Lines {
                    start: line,
                    end: line,
                },
                &format!("n{i}\n"),
            )],
        ));
        if i % 10 == 0 {
            findings.push(finding(
                "s",
                &format!("again{i}"),
                share / 2.0,
                vec![edit(
                    "n.txt",
                    Span::Lines {
                        start: line,
                        end: line,
                    },
                    "dup\n",
                )],
            ));
        }
    }
    let r = report(&inputs, findings, Limits::default());
    let displaced = r
        .findings
        .iter()
        .filter(|f| f.rule.raw().starts_with("again"))
        .collect::<Vec<_>>();
    assert_eq!(displaced.len(), 200);
    assert!(
        displaced.iter().all(|f| f.overlaps.len() == 1),
        "each names the fix it lost to"
    );
    let combined = r.combined_patch();
    assert_eq!(combined.matches("\n+n").count(), 2_000);
    assert!(!combined.contains("+dup"));
    git_applies(dir.path(), combined).unwrap();
}

#[test]
fn past_the_runs_deadline_a_diff_is_linear_and_still_applies() {
    // Every other line of 40,000 changed: Myers' shortest diff costs the file's length times
    // the lines changed. Past the deadline the diff is coarser, quick, and `git apply` takes it.
    let old: String = (0..40_000).map(|i| format!("line {i}\n")).collect();
    let new: String = (0..40_000)
        .map(|i| match i % 2 {
            0 => format!("line {i}\n"),
            _ => format!("changed {i}\n"),
        })
        .collect();
    let started = Instant::now();
    let coarse = super::patch::unified("big.txt", &old, &new, started);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    let (dir, _) = tree(&[("big.txt", &old)]);
    let patch = format!("diff --git a/big.txt b/big.txt\n{coarse}");
    git_apply(dir.path(), &patch, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("big.txt")).unwrap(),
        new
    );
}

#[test]
fn past_the_runs_deadline_no_patch_is_made_and_the_findings_stand() {
    let (_dir, inputs) = tree(&[("a.txt", "one\ntwo\n")]);
    let findings = vec![finding(
        "late",
        "r",
        0.5,
        vec![edit("a.txt", Span::Lines { start: 1, end: 1 }, "uno\n")],
    )];
    let r = report_until(&inputs, findings, Limits::default(), Instant::now());
    assert_eq!(r.findings.len(), 1);
    assert!(r.findings[0].patch.is_none());
    let e = r.findings[0].patch_error.as_ref().unwrap().raw();
    assert!(
        e.contains("the run's deadline") && e.contains("--run-timeout"),
        "{e}"
    );
    assert_eq!(r.combined_patch(), "");
}

#[test]
fn the_short_summary_stays_under_githubs_comment_limit_and_says_what_it_left_out() {
    let (_dir, inputs) = tree(&[("a.rs", "fn a() {}\n")]);
    let findings: Vec<Finding> = (0..3000)
        .map(|i| {
            let mut f = finding("wide", &format!("rule-{i}"), 0.001, Vec::new());
            // Multi-byte titles: the cut must fall between characters.
            f.title = format!("finding {i} {}", "é".repeat(31)).into();
            f.fingerprinted()
        })
        .collect();
    let wide = report(&inputs, findings, Limits::default());
    let summary = super::markdown_summary(&wide);
    assert!(summary.len() < 65_536, "{} bytes", summary.len());
    let rows = summary
        .lines()
        .filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert!(rows > 100, "{rows} rows");
    assert!(
        summary.contains(&format!(
            "*{} more findings are in the full report",
            3000 - rows
        )),
        "{}",
        &summary[summary.len() - 300..]
    );
    // A small report is whole.
    let (_dir, inputs) = tree(&[("a.rs", "fn a() {}\n")]);
    let small = report(
        &inputs,
        vec![finding("s", "r", 0.5, Vec::new())],
        Limits::default(),
    );
    let summary = super::markdown_summary(&small);
    assert!(!summary.contains("more findings"));
    assert!(summary.contains("| 1 |"));
}
