//! Given skills that panic, spin forever, hog memory and try to escape their source tree,
//! running beside a real skill without a policy: each hostile run is reported failed with the
//! reason, nothing escapes, and the real skill's findings are all there. The same attacks and
//! many more, under a policy and with an audit log, are in sandbox.rs.

use joule_tests::*;

fn sandbox_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("outside.txt"), "OUTSIDE secret").unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/lib.rs"), "fn main() {}\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside.txt"), root.join("leak")).unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("leak-dir")).unwrap();
    dir
}

#[test]
fn hostile_skills_fail_alone() {
    let tree = sandbox_tree();
    let root = tree.path().join("root");
    let profile = fixture("pprof/large.cpu.pb.gz");
    let (report, code, stderr) = joule_json(&[
        "--profile",
        path_str(&profile),
        "--source",
        &format!("app={}", root.display()),
        "--skills",
        path_str(&skill("hot-functions")),
        "--skills",
        path_str(&test_skill("panicker")),
        "--skills",
        path_str(&test_skill("spinner")),
        "--skills",
        path_str(&test_skill("hog")),
        "--skills",
        path_str(&test_skill("escaper")),
        "--timeout",
        "3",
        "--memory",
        "64",
    ]);
    assert_eq!(code, 3, "partial result expected\n{stderr}");

    let panicker = run_of(&report, "panicker");
    assert_eq!(panicker["status"], "failed");
    let reason = panicker["error"].as_str().unwrap();
    assert!(
        reason.starts_with("panicked: index out of bounds: the len is 0 but the index is 3"),
        "{reason}"
    );

    let spinner = run_of(&report, "spinner");
    assert_eq!(spinner["status"], "failed");
    assert_eq!(
        spinner["error"],
        "deadline exceeded: still running after 3.0 s"
    );
    let took = spinner["duration_ms"].as_f64().unwrap();
    // Stopped by the deadline, not before it; the upper bound only guards against "never".
    assert!((3000.0..15000.0).contains(&took), "spinner ran {took} ms");

    let hog = run_of(&report, "hog");
    assert_eq!(hog["status"], "failed");
    let reason = hog["error"].as_str().unwrap();
    assert!(
        reason.starts_with("memory cap exceeded") && reason.contains("the cap is 64.0 MiB"),
        "{reason}"
    );

    // The real skill is unaffected.
    assert_eq!(run_of(&report, "hot-functions")["status"], "ok");
    assert_eq!(findings_of(&report, "hot-functions").len(), 3);

    // Every escape attempt was refused, with the reason.
    let escaper = run_of(&report, "escaper");
    assert_eq!(escaper["status"], "ok", "{escaper:#}");
    let attempts: Vec<(String, String)> = findings_of(&report, "escaper")
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(attempts.len(), 21, "{attempts:?}");
    for (path, outcome) in &attempts {
        // `stat` of a symlink may describe the link itself (lstat), never its target.
        assert!(
            !outcome.starts_with("READ")
                && (!outcome.starts_with("STAT") || outcome.starts_with("STAT EntryKind::Symlink")),
            "{path} was read: {outcome}"
        );
        assert!(
            !outcome.contains("OUTSIDE"),
            "{path} reached outside: {outcome}"
        );
    }
    let outcome = |p: &str| &attempts.iter().find(|(t, _)| t == p).unwrap().1;
    assert!(outcome("../outside.txt").starts_with("denied: ../outside.txt: `..` is not allowed"));
    assert!(outcome("src/../../outside.txt").starts_with("denied: src/../../outside.txt: `..`"));
    assert!(
        outcome("/etc/passwd").starts_with("denied: /etc/passwd: absolute paths are not allowed")
    );
    assert!(
        outcome("leak").starts_with("denied: leak: leads outside the tree root"),
        "{}",
        outcome("leak")
    );
    for path in [
        "leak-dir/outside.txt",
        "leak-dir/root/leak",
        "./../outside.txt",
        "//etc/passwd",
        "read_lines leak",
        "list_dir ..",
        "list_dir /",
        "list_dir leak-dir",
        "search under ..",
        "search under leak-dir",
    ] {
        assert!(
            outcome(path).starts_with("denied: "),
            "{path}: {}",
            outcome(path)
        );
    }
    assert_eq!(outcome("search everywhere"), "FOUND 0: ");
    assert_eq!(outcome("std::env::vars"), "0 variables");
}
