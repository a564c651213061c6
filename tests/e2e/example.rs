//! Given the bundled example (`logscan`, its real pprof-rs profile and its source), the shipped
//! skills find the two regexes compiled per call, with shares that match an independent count
//! over the folded stacks of the same capture, and the patch they propose applies, compiles and
//! keeps the program's own tests passing.

use std::process::Command;

use joule_tests::*;

/// Counts taken straight from `logscan.folded` (root-first stacks with sample counts): the
/// samples where `caller` calls `Regex::new` directly, the samples whose leaf is `leaf`, and
/// the total.
struct FoldedCounts {
    total: u64,
}

impl FoldedCounts {
    fn read() -> (Vec<(Vec<String>, u64)>, Self) {
        let text = std::fs::read_to_string(root().join("example/profiles/logscan.folded")).unwrap();
        let stacks: Vec<(Vec<String>, u64)> = text
            .lines()
            .map(|l| {
                let (stack, count) = l.rsplit_once(' ').unwrap();
                (
                    stack.split(';').map(str::to_string).collect(),
                    count.parse().unwrap(),
                )
            })
            .collect();
        let total = stacks.iter().map(|(_, c)| c).sum();
        (stacks, FoldedCounts { total })
    }
}

fn share_calling_regex_new(stacks: &[(Vec<String>, u64)], total: u64, caller: &str) -> f64 {
    let n: u64 = stacks
        .iter()
        .filter(|(frames, _)| {
            frames
                .windows(2)
                .any(|w| w[0] == caller && w[1] == "regex::regex::string::Regex::new")
        })
        .map(|(_, c)| c)
        .sum();
    n as f64 / total as f64
}

fn share_with_leaf(stacks: &[(Vec<String>, u64)], total: u64, leaf: &str) -> f64 {
    let n: u64 = stacks
        .iter()
        .filter(|(frames, _)| frames.last().is_some_and(|f| f == leaf))
        .map(|(_, c)| c)
        .sum();
    n as f64 / total as f64
}

fn assert_close(actual: &serde_json::Value, expected: f64) {
    let actual = actual.as_f64().expect("a number");
    assert!(
        (actual - expected).abs() < 1e-6,
        "{actual} != {expected} (expected from the folded stacks)"
    );
}

fn regex_findings_match_the_folded_counts(report: &serde_json::Value) {
    let (stacks, counts) = FoldedCounts::read();
    let found = findings_of(report, "regex-in-hot-path");
    assert_eq!(found.len(), 2, "{report:#}");
    let expected = [
        ("logscan::parse::parse_line", 20, "parse_line"),
        ("logscan::parse::is_bot", 38, "is_bot"),
    ];
    for (f, (function, line, short)) in found.iter().zip(expected) {
        assert_eq!(f["kind"], "opportunity");
        assert_eq!(f["rule"], "regex-compiled-per-call");
        let loc = &f["locations"][0];
        assert_eq!(loc["function"], function);
        assert_eq!(loc["tree"], "example");
        assert_eq!(loc["file"], "src/parse.rs");
        assert_eq!(loc["lines"]["start"], line);
        assert_close(
            &f["impact"]["sample_share"],
            share_calling_regex_new(&stacks, counts.total, function),
        );
        assert_eq!(f["confidence"], 0.95);
        assert_eq!(f["edits"].as_array().unwrap().len(), 2, "{short}");
    }
}

#[test]
fn skills_find_the_regexes_compiled_per_call() {
    let dir = tempfile::tempdir().unwrap();
    let patch = dir.path().join("demo.patch");
    let (report, code, stderr) = joule_json(&[
        "--profile",
        "example/profiles/logscan.pb.gz",
        "--source",
        "example=example/logscan",
        "--skills",
        path_str(&skills_dir()),
        "--patch",
        path_str(&patch),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["version"], 1);
    assert_eq!(run_of(&report, "hot-functions")["status"], "ok");
    assert_eq!(run_of(&report, "regex-in-hot-path")["status"], "ok");

    regex_findings_match_the_folded_counts(&report);
    // The two regex findings outrank everything else.
    assert_eq!(report["findings"][0]["skill"], "regex-in-hot-path");
    assert_eq!(report["findings"][1]["skill"], "regex-in-hot-path");

    // hot-functions: the hottest leaf of the capture, with its share.
    let (stacks, counts) = FoldedCounts::read();
    let hot = findings_of(&report, "hot-functions");
    assert_eq!(hot.len(), 10);
    assert_eq!(hot[0]["locations"][0]["function"], "core::ptr::write");
    assert_close(
        &hot[0]["impact"]["sample_share"],
        share_with_leaf(&stacks, counts.total, "core::ptr::write"),
    );

    let text = std::fs::read_to_string(&patch).unwrap();
    for line in [
        "+static PARSE_LINE_RE: std::sync::LazyLock<Regex> =",
        "+    let re = &*PARSE_LINE_RE;",
        "+static IS_BOT_RE: std::sync::LazyLock<Regex> =",
        "+    std::sync::LazyLock::new(|| Regex::new(r\"(?i)bot|crawler|spider\").unwrap());",
        "+    IS_BOT_RE.is_match(ua)",
        "-    Regex::new(r\"(?i)bot|crawler|spider\").unwrap().is_match(ua)",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "patch lacks {line:?}:\n{text}"
        );
    }
    patched_program_builds_and_passes_its_tests(&text);
}

/// Applies the patch to a copy of `logscan` with `git apply`, then builds it and runs its
/// tests offline, so the suggested fix is shown to be a real one.
fn patched_program_builds_and_passes_its_tests(patch: &str) {
    let copy = tempfile::tempdir().unwrap();
    let crate_dir = copy.path().join("logscan");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    for entry in std::fs::read_dir(root().join("example/logscan/src")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), crate_dir.join("src").join(entry.file_name())).unwrap();
    }
    std::fs::write(
        crate_dir.join("Cargo.toml"),
        "[package]\nname = \"logscan\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [dependencies]\nregex = \"1\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::copy(root().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    std::fs::write(copy.path().join("fix.patch"), patch).unwrap();
    run_ok(
        Command::new("git")
            .args(["apply", "--verbose", "../fix.patch"])
            .current_dir(&crate_dir),
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_ok(
        Command::new(cargo)
            .args(["test", "--offline", "--quiet"])
            .env("CARGO_TARGET_DIR", target_dir().join("e2e-patched"))
            .current_dir(&crate_dir),
    );
    let patched = std::fs::read_to_string(crate_dir.join("src/parse.rs")).unwrap();
    assert!(!patched.contains("let re = Regex::new("), "{patched}");
}

#[test]
fn folded_stacks_without_file_names_find_the_same_call_sites() {
    let (report, code, stderr) = joule_json(&[
        "--profile",
        "example/profiles/logscan.folded",
        "--source",
        "example=example/logscan",
        "--skills",
        path_str(&skill("regex-in-hot-path")),
    ]);
    assert_eq!(code, 0, "{stderr}");
    regex_findings_match_the_folded_counts(&report);
}

#[test]
fn without_source_the_profile_evidence_still_stands() {
    let (report, code, stderr) = joule_json(&[
        "--profile",
        "example/profiles/logscan.pb.gz",
        "--skills",
        path_str(&skill("regex-in-hot-path")),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let found = findings_of(&report, "regex-in-hot-path");
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[0]["locations"][0]["function"],
        "logscan::parse::parse_line"
    );
    assert!(found[0]["locations"][0].get("file").is_none());
    assert_eq!(found[0]["confidence"], 0.7);
    assert!(found[0]["edits"].as_array().unwrap().is_empty());
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("Grant the source tree (`--source DIR`)")
    );
}

#[test]
fn the_markdown_report_ranks_and_shows_the_patch() {
    let out = joule(&[
        "run",
        "--profile",
        "example/profiles/logscan.pb.gz",
        "--source",
        "example=example/logscan",
        "--skills",
        path_str(&skills_dir()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("# Joule report\n"), "{md}");
    assert!(
        md.contains("## 1. `logscan::parse::parse_line` compiles a regex on every call: 66.9% of cpu/nanoseconds"),
        "{md}"
    );
    assert!(md.contains("Location: `src/parse.rs:20` in `logscan::parse::parse_line`"));
    assert!(md.contains("```diff\n--- a/src/parse.rs\n+++ b/src/parse.rs\n"));
    assert!(md.contains("| `hot-functions` | 0.1.0 | scan | ok |"));
}

/// The example's history (example/history): five real commits of logscan, the fourth making
/// `parse_line` compile a regex per line, deployed a day apart, with real profiles of each
/// build. Watching the service's own functions, `regression-detect` finds `parse_line`'s
/// cumulative share jump at that deploy, `regression-attribute` names that commit first, and
/// `regression-mitigate` writes a revert that applies to the current head and builds.
#[test]
fn the_example_history_regression_is_traced_to_its_commit_and_reverted() {
    let dir = scratch_dir("example-history");
    let repo = dir.join("logscan");
    let bundle = root().join("example/history/logscan.bundle");
    git(
        &dir,
        &[
            "-c",
            "init.defaultBranch=main",
            "clone",
            "-q",
            path_str(&bundle),
            "logscan",
        ],
        None,
    );
    let history = format!("logscan={}", repo.display());
    let deploys = format!(
        "logscan={}",
        root().join("example/history/deploys.csv").display()
    );
    let profiles = root().join("example/history/profiles");
    let (report, code, stderr) = joule_json(&[
        "--history",
        &history,
        "--deploy-log",
        &deploys,
        "--profile-series",
        path_str(&profiles),
        "--param",
        "regression-detect.series=total:logscan::",
        "--skills",
        path_str(&skill("regression-detect")),
        "--skills",
        path_str(&skill("regression-attribute")),
        "--skills",
        path_str(&skill("regression-mitigate")),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let regressions: Vec<_> = findings_of(&report, "regression-detect")
        .into_iter()
        .filter(|f| f["kind"] == "regression")
        .collect();
    assert_eq!(regressions.len(), 1, "{regressions:#?}");
    let r = regressions[0];
    assert!(
        r["series"]
            .as_str()
            .unwrap()
            .starts_with("total:logscan::parse::parse_line"),
        "{r:#}"
    );
    // The regressing commit reached production at 06:00 on 25 November.
    assert_eq!(r["at"], "2026-11-25T06:00:00Z");

    let culprit = git(&repo, &["log", "--format=%H", "--grep", "one regex"], None);
    let cause = findings_of(&report, "regression-attribute");
    assert_eq!(cause.len(), 1, "{cause:#?}");
    assert_eq!(cause[0]["at"], culprit.as_str(), "{}", cause[0]["message"]);

    let mitigation = findings_of(&report, "regression-mitigate");
    assert_eq!(mitigation.len(), 1, "{mitigation:#?}");
    let patch = mitigation[0]["labels"]["revert-patch"].as_str().unwrap();
    assert!(patch.contains("-    let re = Regex::new("), "{patch}");
    let file = dir.join("revert.patch");
    std::fs::write(&file, patch).unwrap();
    git(&repo, &["apply", path_str(&file)], None);
    let parse = std::fs::read_to_string(repo.join("src/parse.rs")).unwrap();
    assert!(
        parse.contains("line.splitn(4, ' ')"),
        "the split parser is back"
    );
}
