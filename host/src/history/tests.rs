//! History on a real repository made with the `git` command: commits in a window, changes with
//! the functions they touch, blame, a clean revert that `git apply --check` accepts, and a
//! revert that conflicts with a later commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, args, None)
}

/// `git` with `args` in `dir` as Ada, at `T0 + time` when given (author and committer dates).
fn git_at(dir: &Path, args: &[&str], time: Option<i64>) -> String {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com");
    if let Some(time) = time {
        let date = format!("{} +0000", T0 + time);
        command
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
    }
    let out = command.output().expect("git runs");
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
    git_at(dir, &["commit", "-q", "-m", message], Some(time));
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

/// The slowdown was added right under a signature that a later commit rewrote: git's merge
/// calls that a conflict (the changes touch), but no line changed on both sides, so the revert
/// keeps the new signature, drops the slowdown, and applies on HEAD.
#[test]
fn a_revert_next_to_a_later_change_applies_and_one_on_the_same_lines_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    let base = "impl Side {\n    fn from_tokenized(input: &str) -> Self {\n        Side(input.len())\n    }\n}\n";
    commit(d, "mod.rs", base, "Start", 1_000);
    let slow = base.replace(
        "-> Self {\n",
        "-> Self {\n        let mut order: Vec<u64> = (0..820).collect();\n        order.sort_unstable();\n",
    );
    let planted = commit(d, "mod.rs", &slow, "Tidy up", 2_000);
    let rewritten = slow.replace(
        "    fn from_tokenized(input: &str) -> Self {\n",
        "    pub(crate) fn from_tokenized(\n        input: &str,\n    ) -> Self {\n",
    );
    commit(d, "mod.rs", &rewritten, "Make it public", 3_000);
    let h = History::open("app".into(), d, None).unwrap();
    let patch = h.revert(&planted, &|_| true).unwrap();
    assert!(patch.contains("-        order.sort_unstable();"), "{patch}");
    // Only the slowdown's lines change: the new signature stays.
    let changed: Vec<&str> = patch
        .lines()
        .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    assert_eq!(changed.len(), 2, "{patch}");
    let file = d.join("revert.patch");
    std::fs::write(&file, &patch).unwrap();
    git(d, &["apply", "--check", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    // A later commit that changes the slowdown's own lines: a real conflict.
    commit(
        d,
        "mod.rs",
        &rewritten.replace("sort_unstable()", "sort()"),
        "Stable order",
        4_000,
    );
    match h.revert(&planted, &|_| true) {
        Err(HistoryError::Conflict(why)) => assert!(why.contains("mod.rs"), "{why}"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A read-only grant stays read-only: every answer, reverts included, leaves the repository as
// it was, byte for byte and time for time; and reverts computed in memory are libgit2's.
// ---------------------------------------------------------------------------------------------

/// Every kind of change a revert meets: files added, modified, deleted, renamed later on HEAD
/// (by content, so the merge must find the rename), a subdirectory no commit touches, a binary
/// file, a merge commit, and a commit that later ones rewrote (its revert conflicts).
fn rich_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(d.join("docs/deep")).unwrap();
    std::fs::write(d.join("docs/deep/notes.md"), "untouched\n").unwrap();
    std::fs::write(d.join("gone.txt"), "deleted later\n").unwrap();
    git(d, &["add", "docs", "gone.txt"]);
    let long: String = (1..=40).map(|i| format!("fn f{i}() {{}}\n")).collect();
    commit(d, "old.rs", &long, "Start", 1_000);
    commit(d, "lib.rs", V1, "Add lib", 1_100);
    commit(d, "lib.rs", V2, "Check lines with a regex", 2_000);
    commit(
        d,
        "old.rs",
        &long.replace("fn f3() {}", "fn f3() { slow() }"),
        "Slow f3",
        2_100,
    );
    // HEAD renames old.rs and changes a line far from f3: reverting "Slow f3" must follow it.
    git(d, &["mv", "old.rs", "new.rs"]);
    let moved = std::fs::read_to_string(d.join("new.rs"))
        .unwrap()
        .replace("fn f38() {}", "fn f38() { fast() }");
    commit(d, "new.rs", &moved, "Rename old.rs, speed up f38", 2_200);
    git(d, &["rm", "-q", "gone.txt"]);
    commit(
        d,
        "added.txt",
        "new file\n",
        "Delete gone.txt, add added.txt",
        2_300,
    );
    std::fs::write(d.join("logo.bin"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    commit(d, "logo.bin", "\0binary\0", "Add a binary file", 2_400);
    git(d, &["checkout", "-q", "-b", "side"]);
    commit(d, "side.txt", "from the side branch\n", "Side work", 2_500);
    git(d, &["checkout", "-q", "main"]);
    commit(d, "lib.rs", V3, "Render with format!", 2_600);
    git_at(
        d,
        &["merge", "-q", "--no-ff", "-m", "Merge side", "side"],
        Some(2_700),
    );
    commit(
        d,
        "lib.rs",
        &V3.replace(
            "l.len() + re.as_str().len()",
            "l.len() * 2 + re.as_str().len()",
        ),
        "Double it",
        2_800,
    );
    dir
}

/// An entry as [`snapshot`] records it: kind, size, permissions, modification time (seconds,
/// nanoseconds) and, for a file, its contents.
type Entry = (String, u64, u32, i64, i64, Vec<u8>);

/// Every entry under `dir`, `.git` included: its kind, size, permissions, modification time
/// (to the nanosecond) and contents.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Entry> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let contents = if meta.is_file() {
            std::fs::read(&path).unwrap()
        } else {
            Vec::new()
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                todo.push(entry.unwrap().path());
            }
        }
        let kind = format!("{:?}", meta.file_type());
        let key = path.strip_prefix(dir).unwrap().to_path_buf();
        let fields = (
            kind,
            meta.len(),
            meta.mode(),
            meta.mtime(),
            meta.mtime_nsec(),
            contents,
        );
        out.insert(key, fields);
    }
    out
}

/// Sets every entry's times far in the past, so a write, or a mere touch, shows.
fn age(dir: &Path) {
    let out = Command::new("find")
        .args([".", "-exec", "touch", "-h", "-d", "@1000000000", "{}", "+"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asks `dir`'s history everything a skill can: every commit, its changes and diff, blame of
/// every line of every file at HEAD, and the revert of every commit (merges and the root too).
/// Returns each revert's answer by commit.
fn ask_everything(dir: &Path) -> Vec<(String, Result<String, HistoryError>)> {
    let h = History::open("app".into(), dir, None).unwrap();
    let head = h.head().unwrap();
    let all = h.commits(i64::MIN, i64::MAX, usize::MAX).unwrap();
    assert!(all.len() >= 10, "{all:?}");
    let mut reverts = Vec::new();
    for c in &all {
        h.commit(&c.id).unwrap();
        h.changes(&c.id).unwrap();
        h.diff(&c.id, &|_| true).unwrap();
        reverts.push((c.id.clone(), h.revert(&c.id, &|_| true)));
    }
    for file in git(dir, &["ls-tree", "-r", "--name-only", &head]).lines() {
        let _ = h.blame(file, 1, u32::MAX);
    }
    reverts
}

#[test]
fn no_answer_writes_to_the_repository_loose_or_packed() {
    let dir = rich_repo();
    for layout in ["loose objects", "packed by git gc"] {
        if layout.starts_with("packed") {
            git(dir.path(), &["gc", "-q"]);
        }
        age(dir.path());
        let before = snapshot(dir.path());
        let reverts = ask_everything(dir.path());
        assert!(
            reverts.iter().filter(|(_, r)| r.is_ok()).count() >= 5,
            "{layout}: {reverts:#?}"
        );
        let after = snapshot(dir.path());
        let changed: Vec<_> = after
            .iter()
            .filter(|(path, entry)| before.get(*path) != Some(entry))
            .map(|(path, _)| path)
            .chain(before.keys().filter(|p| !after.contains_key(*p)))
            .collect();
        assert!(
            changed.is_empty(),
            "{layout}: the history answers changed {changed:?}"
        );
    }
}

#[test]
fn reverts_in_memory_are_what_libgit2_makes_in_the_repository() {
    let dir = rich_repo();
    let ours = ask_everything(dir.path());
    // libgit2's own revert, in a copy of the repository it may write to: what `revert` did
    // before it moved into memory.
    let copy = tempfile::tempdir().unwrap();
    let out = Command::new("cp")
        .args([
            "-a",
            &format!("{}/.", dir.path().display()),
            &copy.path().display().to_string(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let repo = Repository::open(copy.path()).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    let mut reverted = 0;
    for (id, answer) in &ours {
        let c = repo.find_commit(Oid::from_str(id).unwrap()).unwrap();
        if c.parent_count() == 0 {
            assert!(
                matches!(answer, Err(HistoryError::Conflict(_))),
                "{answer:?}"
            );
            continue;
        }
        let mainline = if c.parent_count() > 1 { 1 } else { 0 };
        let mut index = repo.revert_commit(&c, &head, mainline, None).unwrap();
        if index.has_conflicts() {
            assert!(
                matches!(answer, Err(HistoryError::Conflict(why)) if why.contains("does not revert cleanly")),
                "{}: libgit2 conflicts, we said {answer:?}",
                c.summary().unwrap()
            );
            continue;
        }
        let tree = repo.find_tree(index.write_tree_to(&repo).unwrap()).unwrap();
        let diff = repo
            .diff_tree_to_tree(Some(&head.tree().unwrap()), Some(&tree), None)
            .unwrap();
        let expected = patch_text(&diff, &|_| true).unwrap();
        assert_eq!(
            answer.as_ref().ok(),
            Some(&expected),
            "{}",
            c.summary().unwrap()
        );
        reverted += 1;
    }
    assert!(reverted >= 5, "{ours:#?}");
    // The cases that matter: the rename followed, the merge undone, the binary file removed.
    let by_summary = |s: &str| {
        let id = git(dir.path(), &["log", "--format=%H", "--grep", s, "-n", "1"]);
        ours.iter().find(|(i, _)| *i == id).unwrap().1.clone()
    };
    let slow = by_summary("Slow f3").unwrap();
    assert!(
        slow.contains("+++ b/new.rs") && slow.contains("-fn f3() { slow() }"),
        "{slow}"
    );
    let merge = by_summary("Merge side").unwrap();
    assert!(merge.contains("-from the side branch"), "{merge}");
    let binary = by_summary("Add a binary file").unwrap();
    assert!(binary.contains("logo.bin"), "{binary}");
}

#[test]
fn a_repository_the_process_cannot_write_still_answers() {
    let dir = rich_repo();
    let before = ask_everything(dir.path());
    let out = Command::new("chmod")
        .args(["-R", "a-w", &dir.path().display().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    // As root, permissions do not stop writes: then this shows only that nothing needs them
    // (the snapshot test above is the proof that nothing is written).
    let blocked = std::fs::write(dir.path().join(".git/probe"), "x").is_err();
    let after = ask_everything(dir.path());
    let _ = std::fs::remove_file(dir.path().join(".git/probe"));
    Command::new("chmod")
        .args(["-R", "u+w", &dir.path().display().to_string()])
        .output()
        .unwrap();
    assert_eq!(before, after, "writes blocked: {blocked}");
}
