//! `joule pr` on the bundled example's repository (its history bundle, cloned): the two regex
//! hoists and the defense chain's revert each become a branch, built and tested in a worktree
//! of its own, timed before and after, committed with a real message, mailed as
//! `format-patch`, described, and pushed to a bare repository; the user's checkout (dirty on
//! purpose), branch and index untouched. And what cannot be proposed says why: a patch that no
//! longer applies, a verify command that hangs, a branch that already exists. `joule run
//! --pull-requests` does it all in one command; and an interrupted `joule pr` kills its command
//! and leaves no worktree or branch behind.
//!
//! Needs `cargo` for the example's own build and tests, and crates.io for its dependency.

use std::path::{Path, PathBuf};
use std::process::Command;

use joule_tests::*;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The example's history cloned into `dir`, and the report of every shipped skill on it (its
/// tree as the source, the same repository as the history).
fn example_repository(dir: &Path) -> (PathBuf, PathBuf) {
    let repo = clone_example_history(dir);
    let report = dir.join("report.json");
    let mut args = example_run(&repo);
    args.extend(["-o".to_string(), path_str(&report).to_string()]);
    let out = joule(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "joule run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (repo, report)
}

/// `joule run` with every shipped skill on the example's clone `repo` (its tree as the source,
/// the same repository as the history), a JSON report to standard output.
fn example_run(repo: &Path) -> Vec<String> {
    let tree = format!("logscan={}", repo.display());
    [
        "run",
        "--profile",
        path_str(&root().join("example/profiles/logscan.pb.gz")),
        "--source",
        &tree,
        "--history",
        &tree,
        "--deploy-log",
        &format!(
            "logscan={}",
            root().join("example/history/deploys.csv").display()
        ),
        "--profile-series",
        path_str(&root().join("example/history/profiles")),
        "--param",
        "regression-detect.series=total:logscan::",
        "--skills",
        path_str(&skills_dir()),
        "--format",
        "json",
    ]
    .map(str::to_string)
    .to_vec()
}

/// `joule pr` (or `joule run --pull-requests`) with `args`, its commands building in each
/// worktree's own `target/` (a `CARGO_TARGET_DIR` from CI would make every worktree share one,
/// and the benchmark time the same binary on both sides), with the test cache.
fn joule_pr(args: &[&str]) -> std::process::Output {
    joule_command()
        .args(args)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("joule runs")
}

fn read_index(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("index.json")).expect("index.json written"))
        .expect("index.json is JSON")
}

fn entry<'a>(index: &'a serde_json::Value, rule: &str, function: &str) -> &'a serde_json::Value {
    index["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rule"] == rule && p["title"].as_str().unwrap_or("").contains(function))
        .unwrap_or_else(|| panic!("no {rule} entry for {function}: {index:#}"))
}

#[test]
fn the_examples_findings_become_verified_timed_pushed_branches() {
    let scratch = scratch_dir("pr");
    let (repo, report) = example_repository(&scratch);
    let bare = scratch.join("remote.git");
    run_ok(
        Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(&bare),
    );
    // The user's checkout has work in progress: it must stay as it is.
    let report_rs = repo.join("src/report.rs");
    let mut text = std::fs::read_to_string(&report_rs).unwrap();
    text.push_str("\n// work in progress\n");
    std::fs::write(&report_rs, &text).unwrap();
    let status = git(&repo, &["status", "--porcelain"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let out_dir = scratch.join("out");
    let out = joule_pr(&[
        "pr",
        path_str(&report),
        "--repo",
        path_str(&repo),
        "--out",
        path_str(&out_dir),
        "--verify",
        "cargo test -q",
        "--bench",
        "cargo build --release -q && target/release/logscan --lines 3000 >/dev/null",
        "--bench-runs",
        "3",
        "--push",
        path_str(&bare),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "joule pr failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = read_index(&out_dir);
    assert_eq!(index["counts"]["proposed"], 3, "{index:#}");
    for (rule, function) in [
        ("regex-compiled-per-call", "parse_line"),
        ("regex-compiled-per-call", "is_bot"),
        ("revert", "e6d9acc9f9c5"),
    ] {
        let e = entry(&index, rule, function);
        let branch = e["branch"].as_str().unwrap();
        assert!(branch.starts_with(&format!("joule/{rule}/")), "{branch}");
        assert_eq!(e["verify"]["exit"], 0, "{e:#}");
        let speedup = e["bench"]["speedup"].as_f64().unwrap();
        assert!(speedup > 1.0, "{function}: {speedup}x, {e:#}");
        assert!(
            e["pushed"].as_str().unwrap().starts_with("pushed to"),
            "{e:#}"
        );
        // The branch holds one commit on HEAD, with a real message and the trailer.
        let commit = e["commit"].as_str().unwrap();
        assert_eq!(git(&repo, &["rev-parse", &format!("{commit}^")]), head);
        let message = git(&repo, &["log", "-1", "--format=%B", commit]);
        let subject = message.lines().next().unwrap();
        assert!(subject.chars().count() <= 72, "{subject}");
        assert!(
            message.contains(&format!(
                "Joule-Finding: {}",
                e["finding"].as_str().unwrap()
            )),
            "{message}"
        );
        assert!(
            message.contains("Verified: `cargo test -q` passed"),
            "{message}"
        );
        assert!(message.contains("as fast"), "{message}");
        // Pushed: the bare repository has the branch at the commit.
        assert_eq!(
            git(&bare, &["rev-parse", &format!("refs/heads/{branch}")]).trim(),
            commit
        );
        // The mail applies where the commit was made.
        let mbox = std::fs::read_to_string(e["mbox"].as_str().unwrap()).unwrap();
        assert!(mbox.starts_with("From "), "{mbox}");
        let description = std::fs::read_to_string(e["description"].as_str().unwrap()).unwrap();
        for part in ["## Why", "## Verification", "## The change", "gh pr create"] {
            assert!(description.contains(part), "{part} missing:\n{description}");
        }
    }
    let revert = entry(&index, "revert", "e6d9acc9f9c5");
    let description = std::fs::read_to_string(revert["description"].as_str().unwrap()).unwrap();
    assert!(description.contains("## The regression"), "{description}");
    assert!(description.contains("changed at"), "{description}");
    // The user's checkout, branch and index: as they were; no worktree left behind.
    assert_eq!(git(&repo, &["status", "--porcelain"]), status);
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
    assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 1);
    assert!(!git(&repo, &["branch"]).contains("joule/baseline"));
}

#[test]
fn what_cannot_be_proposed_says_why_and_the_rest_goes_on() {
    let scratch = scratch_dir("pr-bad");
    let (repo, report) = example_repository(&scratch);
    // A later commit changes is_bot's regex: its hoist no longer applies.
    let parse = repo.join("src/parse.rs");
    let text = std::fs::read_to_string(&parse).unwrap().replace(
        r#"(?i)bot|crawler|spider"#,
        r#"(?i)bot|crawler|spider|slurp"#,
    );
    std::fs::write(&parse, text).unwrap();
    git(&repo, &["commit", "-qam", "parse: slurp is a bot too"]);
    // The verify command passes on the parse_line hoist (it adds a LazyLock) and hangs on the
    // revert (which has none): killed at the timeout.
    let out_dir = scratch.join("out");
    let args = [
        "pr",
        path_str(&report),
        "--repo",
        path_str(&repo),
        "--out",
        path_str(&out_dir),
        "--verify",
        "grep -q LazyLock src/parse.rs || sleep 60",
        "--timeout",
        "2",
    ];
    let started = std::time::Instant::now();
    let out = joule_pr(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "partial: {stdout}");
    assert!(
        started.elapsed().as_secs() < 30,
        "the hang was not cut short"
    );
    let index = read_index(&out_dir);
    let hoist = entry(&index, "regex-compiled-per-call", "parse_line");
    assert_eq!(hoist["status"], "proposed", "{hoist:#}");
    let stale = entry(&index, "regex-compiled-per-call", "is_bot");
    assert_eq!(stale["status"], "rejected");
    assert!(
        stale["reason"]
            .as_str()
            .unwrap()
            .contains("does not apply on HEAD"),
        "{stale:#}"
    );
    let hung = entry(&index, "revert", "e6d9acc9f9c5");
    assert_eq!(hung["status"], "rejected");
    assert!(
        hung["reason"]
            .as_str()
            .unwrap()
            .contains("did not finish within its timeout"),
        "{hung:#}"
    );
    assert!(stdout.contains("rejected"), "{stdout}");
    // Nothing is left of the rejected ones: no branch, no worktree.
    let branches = git(&repo, &["branch"]);
    assert_eq!(branches.matches("joule/").count(), 1, "{branches}");
    assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 1);
    // Again: the proposed branch exists, and that is the reason given.
    let out = joule_pr(&args);
    assert_eq!(out.status.code(), Some(3));
    let again = read_index(&out_dir);
    let hoist = entry(&again, "regex-compiled-per-call", "parse_line");
    assert!(
        hoist["reason"].as_str().unwrap().contains("already exists"),
        "{hoist:#}"
    );
}

#[test]
fn run_with_pull_requests_reports_and_prepares_in_one_command() {
    let scratch = scratch_dir("pr-run");
    let repo = clone_example_history(&scratch);
    let out_dir = scratch.join("out");
    let mut args = example_run(&repo);
    // The hoists add a LazyLock to src/parse.rs and pass; the revert adds none and is rejected.
    args.extend(
        [
            "--pull-requests",
            path_str(&repo),
            "--pr-out",
            path_str(&out_dir),
            "--verify",
            "grep -q LazyLock src/parse.rs",
        ]
        .map(str::to_string),
    );
    let out = joule_pr(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The report is on standard output as without --pull-requests; the changes on stderr.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is the JSON report ({e}); stderr:\n{stderr}"));
    assert_matches_schema(&report);
    assert_eq!(
        out.status.code(),
        Some(3),
        "one rejected: partial\n{stderr}"
    );
    assert!(stderr.contains("proposed joule/"), "{stderr}");
    assert!(stderr.contains("rejected"), "{stderr}");
    let index = read_index(&out_dir);
    assert_eq!(index["counts"]["proposed"], 2, "{index:#}");
    assert_eq!(index["counts"]["rejected"], 1, "{index:#}");
    let hoist = entry(&index, "regex-compiled-per-call", "parse_line");
    let id = hoist["finding"].as_str().unwrap();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == id),
        "the index's findings are the report's"
    );
    assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 1);
    // The pull-request flags need --pull-requests (a usage error, before any run).
    let out = joule(&["run", "--verify", "true"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = joule(&["run", "--pr-out", path_str(&out_dir)]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // And a repository that is not one, before any run.
    let out = joule(&["run", "--pull-requests", path_str(&scratch.join("nowhere"))]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a git repository"),
        "{out:?}"
    );
}

/// Whether a process of group `pgid` is still alive (not counting zombies, which hold no
/// resources and are reaped by their parent or init).
fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // SAFETY: signal 0 only checks the group exists.
        return unsafe { libc::kill(-pgid, 0) } == 0;
    };
    entries.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z"
    })
}

#[test]
fn an_interrupted_pr_kills_its_command_and_leaves_nothing_behind() {
    let scratch = scratch_dir("pr-interrupt");
    let (repo, report) = example_repository(&scratch);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let marker = scratch.join(format!("verify-started-{name}"));
        let out_dir = scratch.join(format!("out-{name}"));
        // The verify command writes its process group's id (the shell's pid: it leads the
        // group), then hangs far past the test.
        let verify = format!(
            "echo $$ > {}.tmp && mv {0}.tmp {0}; sleep 60",
            marker.display()
        );
        let mut child = Command::new(joule_bin())
            .args(["pr", path_str(&report), "--repo", path_str(&repo), "--out"])
            .arg(&out_dir)
            .args(["--verify", &verify])
            .env_remove("CARGO_TARGET_DIR")
            .current_dir(root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("joule runs");
        let waited = std::time::Instant::now();
        while !marker.exists() {
            assert!(
                waited.elapsed().as_secs() < 60,
                "{name}: the verify command did not start"
            );
            assert!(child.try_wait().unwrap().is_none(), "joule pr ended early");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let pgid: i32 = std::fs::read_to_string(&marker)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(group_alive(pgid), "{name}: the verify command runs");
        // The worktree is there while the command runs.
        assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 2);
        // SAFETY: signals joule, the child this test started.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let sent = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if sent.elapsed().as_secs() > 20 {
                let _ = child.kill();
                // SAFETY: the verify command's group, which this test's joule started.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                panic!("{name}: joule pr did not end after the signal");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(status.code(), Some(130), "{name}: {status:?}\n{stderr}");
        assert!(
            sent.elapsed().as_secs() < 10,
            "{name}: not prompt: {:?}",
            sent.elapsed()
        );
        assert!(stderr.contains("interrupted"), "{stderr}");
        // Nothing of the group survives: the `sleep 60` was killed with its shell.
        let reaped = std::time::Instant::now();
        while group_alive(pgid) {
            assert!(
                reaped.elapsed().as_secs() < 5,
                "{name}: a process of the verify command's group survived"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // No worktree, no branch, the checkout as it was; the index says why.
        assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 1);
        let branches = git(&repo, &["branch"]);
        assert!(!branches.contains("joule/"), "{name}: {branches}");
        assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
        assert!(
            !out_dir
                .join("worktrees")
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some())
        );
        let index = read_index(&out_dir);
        let prs = index["pull_requests"].as_array().unwrap();
        assert_eq!(prs.len(), 1, "{name}: no other change started: {index:#}");
        assert_eq!(prs[0]["status"], "rejected");
        assert!(
            prs[0]["reason"]
                .as_str()
                .unwrap()
                .starts_with("interrupted"),
            "{index:#}"
        );
    }
}
