//! History on a real repository made with the `git` command: commits in a window, changes with
//! the functions they touch, blame, a clean revert that `git apply --check` accepts, and a
//! revert that conflicts with a later commit.

use std::path::Path;
use std::process::Command;

use super::*;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Commit times are offsets from this Unix time (git refuses tiny timestamps).
const T0: i64 = 1_700_000_000;

fn commit(dir: &Path, file: &str, text: &str, message: &str, time: i64) -> String {
    std::fs::write(dir.join(file), text).unwrap();
    git(dir, &["add", file]);
    let date = format!("{} +0000", T0 + time);
    let out = Command::new("git")
        .args(["commit", "-q", "-m", message])
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(dir, &["rev-parse", "HEAD"])
}

const V1: &str = "pub fn parse(l: &str) -> usize {\n    l.len()\n}\n\npub fn render(n: usize) -> String {\n    n.to_string()\n}\n";
const V2: &str = "pub fn parse(l: &str) -> usize {\n    let re = regex::Regex::new(\"x\").unwrap();\n    l.len() + re.as_str().len()\n}\n\npub fn render(n: usize) -> String {\n    n.to_string()\n}\n";
const V3: &str = "pub fn parse(l: &str) -> usize {\n    let re = regex::Regex::new(\"x\").unwrap();\n    l.len() + re.as_str().len()\n}\n\npub fn render(n: usize) -> String {\n    format!(\"{n}\")\n}\n";

/// A repository with three commits at known times: base, the regression in `parse`, and an
/// unrelated change to `render`.
fn repo() -> (tempfile::TempDir, [String; 3]) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let a = commit(dir.path(), "lib.rs", V1, "Start", 1_000);
    let b = commit(dir.path(), "lib.rs", V2, "Check lines with a regex", 2_000);
    let c = commit(dir.path(), "lib.rs", V3, "Render with format!", 3_000);
    (dir, [a, b, c])
}

#[test]
fn commits_in_a_window_newest_first_with_deploy_times() {
    let (dir, [a, b, c]) = repo();
    let h = History::open("app".into(), dir.path(), None).unwrap();
    let all = h.commits(0, i64::MAX, 100).unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, [c.as_str(), b.as_str(), a.as_str()]);
    assert_eq!(all[1].summary, "Check lines with a regex");
    assert_eq!(all[1].author, "Ada");
    assert_eq!(all[1].parent.as_deref(), Some(a.as_str()));
    let window = h.commits(T0 + 1_500, T0 + 2_500, 100).unwrap();
    assert_eq!(window.len(), 1);
    assert_eq!(window[0].id, b);
    assert_eq!(h.head().unwrap(), c);
    // With a deploy log, the window is about deploy times.
    let log = dir.path().join("deploys.csv");
    std::fs::write(
        &log,
        format!(
            "timestamp,commit\n{},{}\n{},{}\n",
            T0 + 2_500,
            &b[..10],
            T0 + 3_500,
            c
        ),
    )
    .unwrap();
    let h = History::open("app".into(), dir.path(), Some(&log)).unwrap();
    let window = h.commits(T0 + 2_400, T0 + 2_600, 100).unwrap();
    assert_eq!(window.len(), 1);
    assert_eq!(window[0].deployed, T0 + 2_500);
    assert_eq!(window[0].time, T0 + 2_000);
}

#[test]
fn changes_name_the_functions_their_hunks_touch() {
    let (dir, [_, b, c]) = repo();
    let h = History::open("app".into(), dir.path(), None).unwrap();
    let changes = h.changes(&b).unwrap();
    assert_eq!(changes.len(), 1);
    let change = &changes[0];
    assert_eq!(change.path, "lib.rs");
    assert_eq!(change.kind, ChangeKind::Modified);
    assert_eq!((change.added, change.deleted), (2, 1));
    let touched: Vec<&str> = change
        .hunks
        .iter()
        .flat_map(|h| h.functions.iter().map(String::as_str))
        .collect();
    assert_eq!(touched, ["parse"]);
    let touched: Vec<String> = h.changes(&c).unwrap()[0]
        .hunks
        .iter()
        .flat_map(|h| h.functions.clone())
        .collect();
    assert_eq!(touched, ["render"]);
    let diff = h.diff(&b, &|_| true).unwrap();
    assert!(diff.contains("+    let re = regex::Regex::new"), "{diff}");
    assert!(matches!(
        h.changes("0123456789abcdef"),
        Err(HistoryError::NotFound(_))
    ));
    assert!(matches!(
        h.changes("HEAD~1"),
        Err(HistoryError::InvalidArgument(_))
    ));
}

#[test]
fn blame_names_the_commit_of_each_line() {
    let (dir, [a, b, _]) = repo();
    let h = History::open("app".into(), dir.path(), None).unwrap();
    let lines = h.blame("lib.rs", 1, 3).unwrap();
    let by: Vec<&str> = lines.iter().map(|l| l.commit.as_str()).collect();
    assert_eq!(by, [a.as_str(), b.as_str(), b.as_str()]);
    assert!(h.blame("../etc/passwd", 1, 1).is_err());
    // Lines past the end of the file are left out, however far the range reaches.
    let all = h.blame("lib.rs", 1, u32::MAX).unwrap();
    assert_eq!(all.len(), V2.lines().count());
    assert_eq!(all.last().unwrap().line, V2.lines().count() as u32);
    assert!(h.blame("lib.rs", 1_000, u32::MAX).unwrap().is_empty());
}

#[test]
fn a_revert_applies_on_head_and_a_conflicting_one_says_why() {
    let (dir, [_, b, c]) = repo();
    let h = History::open("app".into(), dir.path(), None).unwrap();
    let patch = h.revert(&b, &|_| true).unwrap();
    assert!(patch.contains("-    let re = regex::Regex::new"), "{patch}");
    let file = dir.path().join("revert.patch");
    std::fs::write(&file, &patch).unwrap();
    git(dir.path(), &["apply", "--check", file.to_str().unwrap()]);

    // A later commit rewrites the same lines: the revert conflicts, and says with which file.
    commit(
        dir.path(),
        "lib.rs",
        &V3.replace(
            "l.len() + re.as_str().len()",
            "l.len() * 2 + re.as_str().len()",
        ),
        "Double it",
        4_000,
    );
    match h.revert(&b, &|_| true) {
        Err(HistoryError::Conflict(why)) => assert!(why.contains("lib.rs"), "{why}"),
        other => panic!("{other:?}"),
    }
    // The unrelated change to `render` still reverts cleanly beside it.
    assert!(h.revert(&c, &|_| true).unwrap().contains("-    format!"));
}
