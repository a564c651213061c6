//! The hostile-skill suite of docs/security.md: each test runs one attack (a test skill in
//! tests/skills/) beside a well-behaved skill (`hot-functions`) under a policy from
//! tests/policies/ with an audit log, and checks that the host survives (it exits 3, partial,
//! and writes a JSON report), that the attack fails, that the other skill's findings are
//! exactly what it finds alone, and that the audit log records what happened and never holds
//! contents.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use joule_tests::*;
use serde_json::Value;

// --------------------------------------------------------------------------------------------
// The stage: a source tree with secrets and ways out, the profile, the well-behaved skill.
// --------------------------------------------------------------------------------------------

/// What the file outside the tree holds; no report or audit log may ever contain it.
const OUTSIDE_FILE: &str = "OUTSIDE-SECRET-FILE";
/// What the file in the directory outside the tree holds.
const OUTSIDE_DIR: &str = "OUTSIDE-SECRET-DIR";
/// The contents of each secret file of the tree (they all start with `JOULE_SECRET`).
const SECRETS: &[(&str, &str)] = &[
    (".env", "JOULE_SECRET_DOTENV=hunter2-dotenv"),
    (".env.local", "JOULE_SECRET_DOTENV_LOCAL"),
    ("id_rsa", "JOULE_SECRET_SSH"),
    ("key.pem", "JOULE_SECRET_PEM"),
    (".git/config", "JOULE_SECRET_GIT"),
    ("config/prod/db.toml", "JOULE_SECRET_PROD"),
];

/// A temporary directory holding `root/`, the tree granted as `app`, and things outside it:
///
/// ```text
/// outside.txt              OUTSIDE-SECRET-FILE
/// outside-dir/data.txt     OUTSIDE-SECRET-DIR
/// root/src/lib.rs          public code
/// root/data.txt            "inside data"
/// root/sub-real/data.txt   "inside sub"
/// root/sub -> sub-real     (a symlink inside the tree)
/// root/big.txt             1 MiB of text
/// root/.env .env.local id_rsa key.pem .git/config config/prod/db.toml   secrets
/// root/config/dev/db.toml  not a secret
/// root/innocent.txt -> .env
/// root/leak -> ../outside.txt            (absolute)
/// root/leak-dir -> ..                    (absolute)
/// ```
struct Stage {
    dir: tempfile::TempDir,
}

impl Stage {
    fn new() -> Self {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let root = base.join("root");
        let write = |rel: &str, text: &str| {
            let path = base.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("outside.txt", &format!("{OUTSIDE_FILE}\n"));
        write("outside-dir/data.txt", &format!("{OUTSIDE_DIR}\n"));
        write("root/src/lib.rs", "pub fn public() {} // JOULE_PUBLIC\n");
        write("root/data.txt", "inside data\n");
        write("root/sub-real/data.txt", "inside sub\n");
        write("root/config/dev/db.toml", "public = true\n");
        let line = format!("{}\n", "b".repeat(1023));
        write("root/big.txt", &line.repeat(1024));
        for (rel, text) in SECRETS {
            write(&format!("root/{rel}"), &format!("{text}\n"));
        }
        symlink("sub-real", root.join("sub")).unwrap();
        symlink(".env", root.join("innocent.txt")).unwrap();
        symlink(base.join("outside.txt"), root.join("leak")).unwrap();
        symlink(base, root.join("leak-dir")).unwrap();
        // Directories reached through in-tree symlinks: what is under them is judged where it
        // really is (`g/config` is `.git/config`).
        symlink(".git", root.join("g")).unwrap();
        symlink("config", root.join("cfg")).unwrap();
        Stage { dir }
    }

    fn base(&self) -> &Path {
        self.dir.path()
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn source_arg(&self) -> String {
        format!("app={}", self.root().display())
    }
}

fn large_cpu() -> PathBuf {
    fixture("pprof/large.cpu.pb.gz")
}

/// `hot-functions` alone on `large.cpu.pb.gz`, no policy: what it must still find beside any
/// hostile skill.
fn hot_functions_alone() -> &'static [String] {
    static ALONE: OnceLock<Vec<String>> = OnceLock::new();
    ALONE.get_or_init(|| baseline(&[path_str(&large_cpu())]))
}

/// The findings of `hot-functions` alone on these profiles, without a policy.
fn baseline(profiles: &[&str]) -> Vec<String> {
    let mut args = Vec::new();
    for p in profiles {
        args.extend(["--profile", p]);
    }
    let hot = skill("hot-functions");
    args.extend(["--skills", path_str(&hot)]);
    let (report, code, stderr) = joule_json(&args);
    assert_eq!(code, 0, "hot-functions alone must succeed\n{stderr}");
    let facts = finding_facts(&findings_of(&report, "hot-functions"));
    assert!(!facts.is_empty(), "hot-functions alone found nothing");
    facts
}

/// `joule run` with `large.cpu.pb.gz`, the stage's tree as `app` (when given), `hot-functions`
/// and the test skills named in `hostile`, the policy (when given) and `extra` arguments.
fn run_beside(
    policy: Option<&Path>,
    stage: Option<&Stage>,
    hostile: &[&str],
    extra: &[&str],
) -> Sandboxed {
    let args = beside_args(policy, stage, hostile, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_sandboxed(&args, &[])
}

fn beside_args(
    policy: Option<&Path>,
    stage: Option<&Stage>,
    hostile: &[&str],
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = vec!["--profile".into(), path_str(&large_cpu()).into()];
    if let Some(stage) = stage {
        args.extend(["--source".into(), stage.source_arg()]);
    }
    args.extend(["--skills".into(), path_str(&skill("hot-functions")).into()]);
    for name in hostile {
        args.extend(["--skills".into(), path_str(&test_skill(name)).into()]);
    }
    if let Some(policy) = policy {
        args.extend(["--policy".into(), path_str(policy).into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

// --------------------------------------------------------------------------------------------
// What every hostile run must show.
// --------------------------------------------------------------------------------------------

/// The host survived with a partial result (exit 3) unless told otherwise, `hot-functions` ran
/// and found exactly what it finds alone (`expected`), and the audit log is well-formed, names
/// each skill's digest, and records `hot-functions`' load and its allowed profile calls and the
/// hostile skills' load decisions. Returns the audit summary for more checks.
fn assert_survived(
    run: &Sandboxed,
    code: i32,
    hostile: &[&str],
    expected: &[String],
) -> AuditSummary {
    assert_eq!(
        run.code, code,
        "exit code {} (expected {code})\nstderr:\n{}\nruns: {:#}",
        run.code, run.stderr, run.report["runs"]
    );
    let hot = run.run_of("hot-functions");
    assert_eq!(
        hot["status"], "ok",
        "hot-functions must be unaffected: {hot:#}"
    );
    assert_eq!(
        finding_facts(&run.findings_of("hot-functions")),
        expected,
        "hot-functions' findings changed beside {hostile:?}"
    );

    let audit = run.audit.summary();
    assert!(audit.lines > 0, "the audit log is empty");
    let hot_audit = audit.of("hot-functions");
    assert!(
        hot_audit.loaded(),
        "no allowed load of hot-functions: {:#?}",
        hot_audit.loads
    );
    assert!(
        hot_audit.allowed_on("profiles") > 0,
        "hot-functions' profile calls are not in the audit log: {:?}",
        hot_audit.allowed
    );
    assert_eq!(hot_audit.denials, 0, "{:#?}", hot_audit.denied);
    let digest = digest_of(&skill("hot-functions"));
    assert!(
        !hot_audit.digests.is_empty() && hot_audit.digests.iter().all(|d| d.contains(&digest)),
        "hot-functions' audit lines must carry its digest {digest}: {:?}",
        hot_audit.digests
    );
    for name in hostile {
        let id = skill_id(name);
        assert!(
            !audit.of(id).loads.is_empty(),
            "no load decision for {id} in the audit log"
        );
        // A run the host stopped is in the audit log as a denied `run` line with the same
        // reason as the report's.
        let record = run.run_of(name);
        if record["status"] == "failed" && record["trigger"] != "load" {
            let error = record["error"].as_str().unwrap_or_default();
            let stopped = run.audit.entries(id, |e| {
                e["interface"] == "run" && e["reason"].as_str() == Some(error)
            });
            assert!(
                !stopped.is_empty(),
                "{name}'s failure is not in the audit log: {error}"
            );
        }
    }
    audit
}

/// The id a test skill describes itself with (the impostor claims `hot-functions`).
fn skill_id(name: &str) -> &str {
    match name {
        "impostor" => "hot-functions",
        other => other,
    }
}

/// `skill`'s run failed with an error containing `phrase`; returns the error.
fn assert_failed_with<'a>(run: &'a Sandboxed, skill: &str, phrase: &str) -> &'a str {
    let record = run.run_of(skill);
    assert_eq!(record["status"], "failed", "{skill} must fail: {record:#}");
    let error = record["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(phrase),
        "{skill} failed with {error:?}; expected it to say {phrase:?}"
    );
    error
}

/// `skill` was refused at load: its run record has trigger `load`, status failed, and an error
/// containing each of `phrases`; the audit log has the refusal, with the same reason.
fn assert_refused_at_load(run: &Sandboxed, audit: &AuditSummary, skill: &str, phrases: &[&str]) {
    let record = run.run_of(skill);
    assert_eq!(record["trigger"], "load", "{record:#}");
    assert_eq!(record["status"], "failed", "{record:#}");
    let error = record["error"].as_str().unwrap_or_default();
    for phrase in phrases {
        assert!(
            error.contains(phrase),
            "{skill}: {error:?} does not say {phrase:?}"
        );
    }
    let refusals = audit.of(skill).refusals();
    assert!(
        refusals
            .iter()
            .any(|r| phrases.iter().all(|p| r.contains(p))),
        "the audit log has no refused load of {skill} saying {phrases:?}: {refusals:?}"
    );
    assert!(run.findings_of(skill).is_empty());
}

/// The finding of `skill` with this title: its message.
fn message_of<'a>(run: &'a Sandboxed, skill: &str, title: &str) -> &'a str {
    run.findings_of(skill)
        .into_iter()
        .find(|f| f["title"] == title)
        .unwrap_or_else(|| panic!("{skill} reported nothing titled {title:?}"))["message"]
        .as_str()
        .unwrap()
}

/// Whether an audit line is about `path` of a tree: the host may write the path alone or
/// qualified by the tree's name (`app:data.txt`).
fn about_path(entry: &Value, path: &str) -> bool {
    entry["resource"]
        .as_str()
        .is_some_and(|r| r == path || r.ends_with(&format!(":{path}")))
}

fn report_text(run: &Sandboxed) -> String {
    run.report.to_string()
}

/// Nothing from outside the tree, and none of the secrets, in the report or the audit log.
fn assert_nothing_leaked(run: &Sandboxed) {
    let text = report_text(run);
    for leak in [OUTSIDE_FILE, OUTSIDE_DIR]
        .iter()
        .chain(SECRETS.iter().map(|(_, s)| s))
    {
        assert!(!text.contains(leak), "the report contains {leak:?}");
        assert!(!run.audit.contains(leak), "the audit log contains {leak:?}");
    }
}

// --------------------------------------------------------------------------------------------
// Time and stack.
// --------------------------------------------------------------------------------------------

#[test]
fn a_loop_around_a_cheap_host_call_is_stopped_by_the_deadline() {
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), Some(&stage), &["call-spinner"], &[]);
    let audit = assert_survived(&run, 3, &["call-spinner"], hot_functions_alone());
    assert_failed_with(
        &run,
        "call-spinner",
        "deadline exceeded: still running after 2.0 s",
    );
    let record = run.run_of("call-spinner");
    let took = record["duration_ms"].as_f64().unwrap();
    // Stopped by the deadline, not before it, and within the margin after it.
    assert!(
        (2000.0..2000.0 + DEADLINE_MARGIN_MS).contains(&took),
        "call-spinner ran {took} ms"
    );
    let calls = record["host_calls"].as_u64().unwrap();
    assert!(calls > 1000, "it spent its time in host calls: {calls}");
    assert!(
        audit.of("call-spinner").allowed_on("source") > 0,
        "its tree.name calls are not in the audit log"
    );
}

/// The most a run may outlast its deadline: the epoch tick, the timer's wake-up, the report.
const DEADLINE_MARGIN_MS: f64 = 500.0;

#[test]
fn a_skill_waiting_inside_wasi_is_stopped_at_its_deadline() {
    // No Wasm runs while a skill waits in a WASI call, so the epoch cannot interrupt it: the
    // deadline cancels the wait itself. Each way to wait, beside hot-functions, whose findings
    // stay what they are alone.
    let policy = pinned_policy("hostile.toml", &[]);
    for how in ["sleep", "never", "instant", "poll", "naps", "stdin"] {
        let param = format!("sleeper.how={how}");
        let run = run_beside(Some(&policy), None, &["sleeper"], &["--param", &param]);
        assert_survived(&run, 3, &["sleeper"], hot_functions_alone());
        assert_failed_with(
            &run,
            "sleeper",
            "deadline exceeded: still running after 2.0 s",
        );
        let took = run.run_of("sleeper")["duration_ms"].as_f64().unwrap();
        assert!(
            (2000.0..2000.0 + DEADLINE_MARGIN_MS).contains(&took),
            "sleeper ({how}) ran {took} ms with a 2 s deadline"
        );
    }
}

#[test]
fn a_loop_around_a_cheap_host_call_is_stopped_by_the_host_call_count_limit() {
    let stage = Stage::new();
    let policy = pinned_policy("low-limits.toml", &[]);
    let run = run_beside(Some(&policy), Some(&stage), &["call-spinner"], &[]);
    let audit = assert_survived(&run, 3, &["call-spinner"], hot_functions_alone());
    let error = assert_failed_with(&run, "call-spinner", "limit exceeded");
    assert!(
        error.contains("host-call") && !error.contains("data limit"),
        "expected the host-call count limit, got {error:?}"
    );
    let record = run.run_of("call-spinner");
    let calls = record["host_calls"].as_u64().unwrap();
    assert!(
        calls <= 1010,
        "the limit is 1000 host calls; it made {calls}"
    );
    let took = record["duration_ms"].as_f64().unwrap();
    assert!(
        took < 5000.0,
        "stopped by the count, not the deadline: {took} ms"
    );
    let denied = audit.of("call-spinner").denied_with("limit exceeded");
    assert!(
        !denied.is_empty(),
        "the audit log does not record the call refused by the limit: {:#?}",
        audit.of("call-spinner").denied
    );
}

#[test]
fn a_long_host_search_is_stopped_by_the_same_deadline() {
    // 40 files of 1 MB of accented words: one search of the searcher's pattern over them takes
    // about 6 s on the 2-core development machine, three times the searcher's 2 s deadline.
    let dir = tempfile::tempdir().unwrap();
    let words = [
        "café",
        "déjà",
        "naïve",
        "señor",
        "über",
        "façade",
        "jalapeño",
        "crème",
        "brûlée",
        "résumé",
    ];
    let mut text = String::new();
    let mut n = 7u64;
    while text.len() < 1_000_000 {
        for _ in 0..10 {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(words[(n >> 33) as usize % words.len()]);
            text.push(' ');
        }
        text.push('\n');
    }
    for i in 0..40 {
        std::fs::write(dir.path().join(format!("f{i}.txt")), &text).unwrap();
    }
    let policy = pinned_policy("hostile.toml", &[]);
    let source = format!("app={}", dir.path().display());
    let run = run_sandboxed(
        &[
            "--profile",
            path_str(&large_cpu()),
            "--source",
            &source,
            "--skills",
            path_str(&skill("hot-functions")),
            "--skills",
            path_str(&test_skill("searcher")),
            "--policy",
            path_str(&policy),
        ],
        &[],
    );
    let audit = assert_survived(&run, 3, &["searcher"], hot_functions_alone());
    assert_failed_with(
        &run,
        "searcher",
        "deadline exceeded: still running after 2.0 s",
    );
    let took = run.run_of("searcher")["duration_ms"].as_f64().unwrap();
    assert!(
        (2000.0..2000.0 + DEADLINE_MARGIN_MS).contains(&took),
        "the search must stop at the deadline, not when it is done: {took} ms"
    );
    assert!(audit.of("searcher").allowed_on("source") > 0);
}

#[test]
fn the_runs_deadline_stops_running_skills_and_starts_no_more() {
    // Skills' own deadlines (30 s) are far past the run's (2 s): the run's comes first, and
    // the whole process (start-up, reading the inputs, the report) ends soon after it.
    let started = std::time::Instant::now();
    let run = run_beside(
        None,
        None,
        &["spinner"],
        &["--timeout", "30", "--run-timeout", "2", "--jobs", "2"],
    );
    let whole = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        whole < 2000.0 + 3.0 * DEADLINE_MARGIN_MS,
        "a 2 s run took {whole} ms"
    );
    assert_survived(&run, 3, &["spinner"], hot_functions_alone());
    let error = assert_failed_with(&run, "spinner", "the run's deadline came");
    assert!(error.contains("--run-timeout"), "{error}");
    // The run's clock started before the inputs were read; the spinner's, after.
    let took = run.run_of("spinner")["duration_ms"].as_f64().unwrap();
    assert!(
        took < 2000.0 + DEADLINE_MARGIN_MS,
        "spinner ran {took} ms in a 2 s run"
    );

    // One invocation at a time, and two skills that never end: the second never starts, and
    // the report says so, with the flag.
    let run = run_sandboxed(
        &[
            "--profile",
            path_str(&large_cpu()),
            "--skills",
            path_str(&test_skill("spinner")),
            "--skills",
            path_str(&test_skill("sleeper")),
            "--timeout",
            "30",
            "--run-timeout",
            "2",
            "--jobs",
            "1",
        ],
        &[],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let runs = run.report["runs"].as_array().unwrap();
    let stopped: Vec<&Value> = runs.iter().filter(|r| r["trigger"] == "scan").collect();
    assert_eq!(stopped.len(), 1, "{runs:#?}");
    let not_run: Vec<&Value> = runs.iter().filter(|r| r["trigger"] == "budget").collect();
    assert_eq!(not_run.len(), 1, "{runs:#?}");
    let error = not_run[0]["error"].as_str().unwrap();
    assert!(
        error.contains("were not run: the run's deadline") && error.contains("--run-timeout"),
        "{error}"
    );
}

#[test]
fn host_work_that_cannot_watch_a_clock_is_stopped_by_the_same_deadline() {
    // Each of the compiler's queries takes tree-sitter about 2 s to compile (5 s in the test
    // build), and each is a new text: the wait for the compiler ends at the deadline.
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), Some(&stage), &["compiler"], &[]);
    let audit = assert_survived(&run, 3, &["compiler"], hot_functions_alone());
    assert_failed_with(
        &run,
        "compiler",
        "deadline exceeded: still running after 2.0 s",
    );
    let took = run.run_of("compiler")["duration_ms"].as_f64().unwrap();
    assert!(
        (2000.0..2000.0 + DEADLINE_MARGIN_MS).contains(&took),
        "the compiler ran {took} ms with a 2 s deadline"
    );
    assert!(audit.of("compiler").allowed_on("source") > 0);
}

#[test]
fn unbounded_recursion_fails_the_run_with_stack_overflow_and_the_host_survives() {
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), None, &["recursor"], &[]);
    assert_survived(&run, 3, &["recursor"], hot_functions_alone());
    let error = assert_failed_with(&run, "recursor", "stack overflow");
    assert!(!error.contains("returned from depth"), "{error}");
    assert!(run.findings_of("recursor").is_empty());
}

#[test]
fn panics_deadlines_and_memory_caps_from_the_policy_fail_only_their_own_run() {
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), None, &["panicker", "spinner", "hog"], &[]);
    assert_survived(
        &run,
        3,
        &["panicker", "spinner", "hog"],
        hot_functions_alone(),
    );
    assert_failed_with(
        &run,
        "panicker",
        "panicked: index out of bounds: the len is 0 but the index is 3",
    );
    // [skill.limits] of spinner: 3 s, not the policy's 10 s.
    assert_failed_with(
        &run,
        "spinner",
        "deadline exceeded: still running after 3.0 s",
    );
    let took = run.run_of("spinner")["duration_ms"].as_f64().unwrap();
    assert!((3000.0..15000.0).contains(&took), "spinner ran {took} ms");
    // [skill.limits] of hog: 64 MiB, not the policy's 256.
    let error = assert_failed_with(&run, "hog", "memory cap exceeded");
    assert!(error.contains("the cap is 64.0 MiB"), "{error}");
}

// --------------------------------------------------------------------------------------------
// Paths: escapes, races, secrets.
// --------------------------------------------------------------------------------------------

#[test]
fn escapes_out_of_the_tree_are_refused_and_audited() {
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), Some(&stage), &["escaper"], &[]);
    // The escaper handles every refusal and returns its findings: nothing failed.
    let audit = assert_survived(&run, 0, &["escaper"], hot_functions_alone());
    assert_eq!(run.run_of("escaper")["status"], "ok");
    let attempts: Vec<(String, String)> = run
        .findings_of("escaper")
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(attempts.len(), 21, "{attempts:#?}");
    for (what, outcome) in &attempts {
        // `stat` of a symlink may describe the link itself (lstat), never its target.
        assert!(
            !outcome.starts_with("READ")
                && (!outcome.starts_with("STAT") || outcome.starts_with("STAT EntryKind::Symlink")),
            "{what} went through: {outcome}"
        );
        if what.starts_with("list_dir") && outcome.starts_with("LISTED") {
            assert!(
                !outcome.contains("outside"),
                "{what} listed outside: {outcome}"
            );
        }
        if what.starts_with("search") {
            assert!(
                outcome.starts_with("FOUND 0") || !outcome.starts_with("FOUND"),
                "{what} found something outside: {outcome}"
            );
        }
    }
    let outcome = |p: &str| &attempts.iter().find(|(t, _)| t == p).unwrap().1;
    assert!(outcome("../outside.txt").starts_with("denied: ../outside.txt: `..` is not allowed"));
    assert!(outcome("src/../../outside.txt").starts_with("denied: src/../../outside.txt: `..`"));
    assert!(
        outcome("/etc/passwd").starts_with("denied: /etc/passwd: absolute paths are not allowed")
    );
    for through_symlink in ["leak", "leak-dir/outside.txt", "read_lines leak"] {
        assert!(
            outcome(through_symlink).starts_with("denied: "),
            "{through_symlink}: {}",
            outcome(through_symlink)
        );
    }
    assert_eq!(outcome("std::env::vars"), "0 variables");

    let escaper = audit.of("escaper");
    assert!(
        escaper.denials >= 8,
        "the refusals are not in the audit log: {:#?}",
        escaper.denied
    );
    let leak = escaper
        .denied
        .iter()
        .find(|e| about_path(e, "leak"))
        .unwrap_or_else(|| panic!("no denial of `leak`: {:#?}", escaper.denied));
    assert_eq!(leak["interface"], "source", "{leak}");
    assert_nothing_leaked(&run);
}

#[test]
fn swapping_a_file_for_a_symlink_while_it_is_read_never_leaks_the_outside() {
    use std::os::unix::fs::symlink;
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    let root = stage.root();
    let outside_file = stage.base().join("outside.txt");
    let outside_dir = stage.base().join("outside-dir");
    let (tmp_link, tmp_real, tmp_sub) = (
        root.join(".swap-link"),
        root.join(".swap-real"),
        root.join(".swap-sub"),
    );
    let (data, sub) = (root.join("data.txt"), root.join("sub"));
    let mut swaps = 0u64;
    // One swap cycle: `data.txt` becomes a symlink out of the tree, `sub` a symlink to a
    // directory out of the tree, then both become what they were. Each step is one atomic
    // rename over the path the skill reads.
    let mut swap = || {
        let _ = std::fs::remove_file(&tmp_link);
        symlink(&outside_file, &tmp_link).unwrap();
        std::fs::rename(&tmp_link, &data).unwrap();
        let _ = std::fs::remove_file(&tmp_sub);
        symlink(&outside_dir, &tmp_sub).unwrap();
        std::fs::rename(&tmp_sub, &sub).unwrap();
        std::fs::write(&tmp_real, "inside data\n").unwrap();
        std::fs::rename(&tmp_real, &data).unwrap();
        let _ = std::fs::remove_file(&tmp_sub);
        symlink("sub-real", &tmp_sub).unwrap();
        std::fs::rename(&tmp_sub, &sub).unwrap();
        swaps += 1;
    };
    let args = beside_args(Some(&policy), Some(&stage), &["swapper"], &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_sandboxed_while(&args, &[], &mut swap);
    assert!(swaps > 100, "the test swapped only {swaps} times");

    let audit = assert_survived(&run, 0, &["swapper"], hot_functions_alone());
    assert_eq!(
        run.run_of("swapper")["status"],
        "ok",
        "{:#}",
        run.run_of("swapper")
    );
    let seen: Vec<(String, String, f64)> = run
        .findings_of("swapper")
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
                f["evidence"][0]["value"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    for (path, outcome, count) in &seen {
        assert!(
            !outcome.contains("OUTSIDE"),
            "{path} was read outside the tree {count} times: {outcome}"
        );
        assert!(
            outcome.starts_with("content: inside") || outcome.starts_with("denied: "),
            "{path}: unexpected outcome ({count} times): {outcome}"
        );
    }
    // The reads did race the swaps: each path was seen both inside and refused.
    for (path, inside) in [
        ("data.txt", "content: inside data"),
        ("sub/data.txt", "content: inside sub"),
    ] {
        assert!(
            seen.iter().any(|(p, o, _)| p == path && o == inside),
            "{path} was never read inside: {seen:#?}"
        );
        assert!(
            seen.iter()
                .any(|(p, o, _)| p == path && o.starts_with("denied: ")),
            "{path} was never caught pointing outside ({swaps} swaps): {seen:#?}"
        );
    }
    let swapper = audit.of("swapper");
    assert!(swapper.allowed_on("source") > 0, "{:?}", swapper.allowed);
    assert!(
        swapper.denied.iter().any(|e| about_path(e, "data.txt")),
        "the refused reads of data.txt are not in the audit log: {:#?}",
        &swapper.denied[..swapper.denied.len().min(5)]
    );
    assert_nothing_leaked(&run);
}

/// The outcomes of the globber's attempts, by title.
fn globber_outcomes(run: &Sandboxed) -> Vec<(String, String)> {
    run.findings_of("globber")
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Each read the globber tries, and the pattern that must refuse it.
const SECRET_READS: &[(&str, &str)] = &[
    (".env", ".env"),
    (".ENV", ".env"),
    ("./.env", ".env"),
    (".//.env", ".env"),
    (".env.", ".env"),
    (".env ", ".env"),
    (".env. .", ".env"),
    ("innocent.txt", ".env"),
    (".env.local", ".env.*"),
    (".Env.Local", ".env.*"),
    ("id_rsa", "id_*"),
    ("ID_RSA", "id_*"),
    ("key.pem", "*.pem"),
    ("KEY.PEM", "*.pem"),
    ("key.pem.", "*.pem"),
    (".git/config", ".git/**"),
    (".GIT/config", ".git/**"),
    ("./.git//config", ".git/**"),
];

/// The reads refused by the policy's own `deny = ["config/prod/**"]`.
const DENIED_BY_POLICY: &[&str] = &[
    "config/prod/db.toml",
    "CONFIG/Prod/db.toml",
    "config//prod/./db.toml",
];

/// The line number in `(...toml:N)` of a denial message.
fn policy_line(message: &str, file: &str) -> Option<usize> {
    let at = message.find(&format!("{file}:"))? + file.len() + 1;
    let digits: String = message[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Checks the listings and searches of the globber: no secret listed or found.
fn assert_secrets_not_listed_or_found(outcomes: &[(String, String)], secret_files: &[&str]) {
    let outcome = |t: &str| -> &str {
        &outcomes
            .iter()
            .find(|(title, _)| title == t)
            .unwrap_or_else(|| panic!("no attempt {t:?}"))
            .1
    };
    for dir in ["\"\"", "\".\""] {
        let listed = outcome(&format!("list_dir {dir}"));
        assert!(listed.starts_with("LISTED: "), "{dir}: {listed}");
        let names: Vec<&str> = listed["LISTED: ".len()..].split(", ").collect();
        assert!(names.contains(&"src"), "the listing works: {listed}");
        for secret in secret_files.iter().filter(|s| !s.contains('/')) {
            assert!(
                !names.contains(secret),
                "list_dir {dir} shows {secret}: {listed}"
            );
        }
    }
    for (dir, file) in [
        (".git", ".git/config"),
        ("config/prod", "config/prod/db.toml"),
        ("g", ".git/config"),
        ("cfg/prod", "config/prod/db.toml"),
    ] {
        if !secret_files.contains(&file) {
            continue;
        }
        let listed = outcome(&format!("list_dir {dir:?}"));
        let name = file.rsplit('/').next().unwrap();
        assert!(
            !listed.starts_with("LISTED: ") || !listed.contains(name),
            "list_dir {dir} shows {file}: {listed}"
        );
    }
    for (title, found) in outcomes.iter().filter(|(t, _)| t.starts_with("search")) {
        for secret in secret_files {
            let contents = SECRETS.iter().find(|(f, _)| f == secret).unwrap().1;
            assert!(
                !found.contains(contents),
                "{title} found {secret}'s contents: {found}"
            );
            assert!(
                !found.contains(&format!("{secret}:")),
                "{title} found {secret}: {found}"
            );
        }
    }
    let any_line = outcome("search regex any line");
    assert!(
        any_line.contains("src/lib.rs:1: pub fn public()"),
        "search works on the other files: {any_line}"
    );
}

#[test]
fn secret_paths_stay_denied_whatever_their_spelling() {
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    let block = policy_block_lines(&policy, "globber");
    let run = run_beside(Some(&policy), Some(&stage), &["globber"], &[]);
    let audit = assert_survived(&run, 0, &["globber"], hot_functions_alone());
    let outcomes = globber_outcomes(&run);
    let outcome = |t: &str| -> &str {
        &outcomes
            .iter()
            .find(|(title, _)| title == t)
            .unwrap_or_else(|| panic!("no attempt {t:?}"))
            .1
    };

    for (path, pattern) in SECRET_READS {
        let got = outcome(&format!("read {path}"));
        assert!(
            got.starts_with("denied: "),
            "read {path:?} must be denied by \"{pattern}\": {got}"
        );
        assert!(
            got.contains(&format!("built-in secret pattern \"{pattern}\"")),
            "read {path:?}: the denial must name the pattern \"{pattern}\": {got}"
        );
        assert!(
            got.contains("[[skill]] \"globber\""),
            "read {path:?}: the denial must name the policy entry that would allow it: {got}"
        );
        let line = policy_line(got, "hostile.toml")
            .unwrap_or_else(|| panic!("read {path:?}: no hostile.toml:LINE in {got}"));
        assert!(
            block.contains(&line),
            "line {line} is not in globber's block {block:?}: {got}"
        );
    }
    for path in DENIED_BY_POLICY {
        let got = outcome(&format!("read {path}"));
        assert!(got.starts_with("denied: "), "read {path:?}: {got}");
        assert!(got.contains("\"config/prod/**\""), "read {path:?}: {got}");
        let line = policy_line(got, "hostile.toml")
            .unwrap_or_else(|| panic!("read {path:?}: no hostile.toml:LINE in {got}"));
        assert!(
            block.contains(&line),
            "line {line} is not in globber's block {block:?}: {got}"
        );
    }
    let dotdot = outcome("read sub/../.env");
    assert!(
        (dotdot.starts_with("denied: ") || dotdot.starts_with("invalid-argument: "))
            && dotdot.contains("`..`"),
        "{dotdot}"
    );
    for other in [
        "read_lines .env",
        "stat .env",
        "read g/config",
        "read cfg/prod/db.toml",
    ] {
        assert!(
            outcome(other).starts_with("denied: "),
            "{other}: {}",
            outcome(other)
        );
    }
    let all_secrets: Vec<&str> = SECRETS.iter().map(|(f, _)| *f).collect();
    assert_secrets_not_listed_or_found(&outcomes, &all_secrets);

    let globber = audit.of("globber");
    let dotenv: Vec<_> = globber
        .denied
        .iter()
        .filter(|e| about_path(e, ".env"))
        .collect();
    assert!(
        dotenv
            .iter()
            .any(|e| e["reason"].as_str().unwrap().contains("\".env\"")),
        "the denial of .env is not in the audit log: {:#?}",
        globber.denied
    );
    assert!(globber.denials >= SECRET_READS.len() + DENIED_BY_POLICY.len());
    assert_nothing_leaked(&run);
}

#[test]
fn secret_paths_are_denied_without_a_policy_too() {
    let stage = Stage::new();
    let run = run_beside(None, Some(&stage), &["globber"], &[]);
    let audit = assert_survived(&run, 0, &["globber"], hot_functions_alone());
    let outcomes = globber_outcomes(&run);
    for (path, pattern) in SECRET_READS {
        let got = &outcomes
            .iter()
            .find(|(t, _)| *t == format!("read {path}"))
            .unwrap()
            .1;
        assert!(
            got.starts_with("denied: ") && got.contains(&format!("\"{pattern}\"")),
            "read {path:?} must be denied by \"{pattern}\" without a policy: {got}"
        );
    }
    // Without a policy there is no `deny = ["config/prod/**"]`: that file is just a file.
    let prod = &outcomes
        .iter()
        .find(|(t, _)| t == "read config/prod/db.toml")
        .unwrap()
        .1;
    assert!(prod.starts_with("READ: JOULE_SECRET_PROD"), "{prod}");
    let builtin: Vec<&str> = SECRETS
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| !f.starts_with("config/"))
        .collect();
    assert_secrets_not_listed_or_found(&outcomes, &builtin);
    let text = report_text(&run);
    for (file, secret) in SECRETS.iter().filter(|(f, _)| builtin.contains(f)) {
        assert!(
            !text.contains(secret),
            "{file}'s contents are in the report"
        );
    }
    assert!(audit.of("globber").denials >= SECRET_READS.len());
}

#[test]
fn allow_lets_one_secret_path_through_and_no_other() {
    let stage = Stage::new();
    let policy = pinned_policy("secrets-allowed.toml", &[]);
    let run = run_beside(Some(&policy), Some(&stage), &["globber"], &[]);
    assert_survived(&run, 0, &["globber"], hot_functions_alone());
    let outcomes = globber_outcomes(&run);
    let outcome = |t: &str| -> &str { &outcomes.iter().find(|(title, _)| title == t).unwrap().1 };
    for path in [".env", "./.env", ".//.env"] {
        assert!(
            outcome(&format!("read {path}")).starts_with("READ: JOULE_SECRET_DOTENV"),
            "allow = [\".env\"] must let {path:?} through: {}",
            outcome(&format!("read {path}"))
        );
    }
    for (path, pattern) in [
        (".env.local", ".env.*"),
        ("id_rsa", "id_*"),
        ("key.pem", "*.pem"),
        (".git/config", ".git/**"),
    ] {
        let got = outcome(&format!("read {path}"));
        assert!(
            got.starts_with("denied: ") && got.contains(&format!("\"{pattern}\"")),
            "{path}: {got}"
        );
    }
}

// --------------------------------------------------------------------------------------------
// Handles.
// --------------------------------------------------------------------------------------------

#[test]
fn forged_stale_and_confused_handles_trap_without_touching_anything() {
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    for mode in [
        "forged-profile",
        "forged-tree",
        "stale-profile",
        "stale-tree",
        "confused",
        "forged-argument",
    ] {
        let param = format!("forger.mode={mode}");
        let run = run_beside(
            Some(&policy),
            Some(&stage),
            &["forger"],
            &["--param", &param],
        );
        let audit = assert_survived(&run, 3, &["forger"], hot_functions_alone());
        let record = run.run_of("forger");
        assert_eq!(record["status"], "failed", "{mode}: {record:#}");
        let error = record["error"].as_str().unwrap_or_default();
        assert!(
            error.to_lowercase().contains("handle"),
            "{mode}: the error must say the handle was bad: {error}"
        );
        assert!(
            run.findings_of("forger").is_empty(),
            "{mode}: a forged call answered: {:#?}",
            run.findings_of("forger")
        );
        let forger = audit.of("forger");
        let reads: usize = forger
            .allowed
            .iter()
            .filter(|(k, _)| {
                k.starts_with("source/") && !k.ends_with("granted") && !k.contains("drop")
            })
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            reads, 0,
            "{mode}: the forger reached the tree: {:?}",
            forger.allowed
        );
        assert!(
            !run.audit.contains("inside data"),
            "{mode}: contents in the audit log"
        );
    }
}

#[test]
fn a_skill_sees_only_the_profiles_granted_to_it_even_through_forged_handles() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.folded");
    let b = dir.path().join("b.folded");
    std::fs::write(&a, "alpha_main;alpha_work 10\nalpha_main;alpha_idle 5\n").unwrap();
    std::fs::write(&b, "bravo_main;bravo_secret_fn 20\nbravo_main 3\n").unwrap();
    let expected = baseline(&[path_str(&a), path_str(&b)]);
    assert!(
        expected.iter().any(|f| f.contains("bravo_secret_fn")),
        "hot-functions reads both profiles: {expected:#?}"
    );
    let policy = pinned_policy("restricted.toml", &[]);
    let snoop = test_skill("snoop");
    let hot = skill("hot-functions");
    for handles in [
        None,
        Some("0"),
        Some("2"),
        Some("3"),
        Some("5,6,7,8"),
        Some("16"),
    ] {
        let param = handles.map(|h| format!("snoop.handles={h}"));
        let mut args = vec![
            "--profile",
            path_str(&a),
            "--profile",
            path_str(&b),
            "--skills",
            path_str(&hot),
            "--skills",
            path_str(&snoop),
            "--policy",
            path_str(&policy),
        ];
        if let Some(p) = &param {
            args.extend(["--param", p.as_str()]);
        }
        let run = run_sandboxed(&args, &[]);
        let record = run.run_of("snoop");
        let failed = record["status"] == "failed";
        let audit = assert_survived(&run, if failed { 3 } else { 0 }, &["snoop"], &expected);
        if failed {
            let error = record["error"].as_str().unwrap_or_default();
            assert!(
                error.to_lowercase().contains("handle"),
                "{handles:?}: snoop failed for another reason: {error}"
            );
        }
        let mut seen: Vec<String> = record["log"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|x| x["message"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        seen.extend(
            run.findings_of("snoop")
                .iter()
                .map(|f| f["title"].as_str().unwrap().to_string()),
        );
        seen.sort();
        seen.dedup();
        assert!(
            seen.iter()
                .any(|s| s.starts_with("granted") && s.contains("a.folded")),
            "{handles:?}: snoop does not see its own profile: {seen:#?}"
        );
        assert!(
            seen.iter().filter(|s| s.starts_with("granted")).count() == 1,
            "{handles:?}: snoop is granted more than a.folded: {seen:#?}"
        );
        for s in &seen {
            assert!(
                !s.contains("b.folded") && !s.contains("bravo"),
                "{handles:?}: snoop saw the profile it was not granted: {s}"
            );
        }
        assert!(audit.of("snoop").allowed_on("profiles") > 0);
        let about_b = run
            .audit
            .entries("snoop", |e| e.to_string().contains("b.folded"));
        assert!(about_b.is_empty(), "{handles:?}: {about_b:#?}");
    }
}

#[test]
fn hoarding_handles_is_stopped_by_the_handle_limit() {
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    for kind in ["profiles", "trees", "cursors", "filters"] {
        let param = format!("handles.kind={kind}");
        let run = run_beside(
            Some(&policy),
            Some(&stage),
            &["handles"],
            &["--param", &param],
        );
        let audit = assert_survived(&run, 3, &["handles"], hot_functions_alone());
        assert_failed_with(&run, "handles", "handle limit exceeded");
        // The policy's `handles = 100`, not Wasmtime's own table limit (100,000 handles).
        let calls = run.run_of("handles")["host_calls"].as_u64().unwrap();
        assert!(
            calls <= 300,
            "{kind}: the limit is 100 handles; {calls} host calls were made"
        );
        let denied = audit.of("handles").denied_with("handle limit exceeded");
        assert!(
            !denied.is_empty(),
            "{kind}: the refused handle is not in the audit log: {:#?}",
            audit.of("handles").denied
        );
    }
}

/// How far past its memory limit a skill's attacks may grow the host's peak resident set, over
/// the same run with the skill idle (docs/security.md, "Host memory"): the stdio and log
/// buffers, a host call's transient answers, and what the allocator keeps of freed memory.
const HOST_MEMORY_MARGIN_MIB: u64 = 16;

#[test]
fn host_memory_made_for_a_skill_is_charged_to_its_memory_limit() {
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    let beside = |attack: &str| {
        let param = format!("hoarder.attack={attack}");
        run_beside(
            Some(&policy),
            Some(&stage),
            &["hoarder"],
            &["--param", &param],
        )
    };
    // Twice: the first run may compile the component, which the second finds in the cache.
    beside("none");
    let idle = beside("none");
    assert_survived(&idle, 0, &["hoarder"], hot_functions_alone());
    let idle_mib = idle.peak_rss_kib / 1024;
    // Each attack alone would take the host far past the skill's 32 MiB (a cursor copies the
    // stack index, a view the whole profile, an audit record a 512-byte path) with 1,000,000
    // handles and 4 GiB of host-call data allowed: the memory account stops it. The last two
    // fill the skill's own memory first: what the host builds, and the findings it copies out,
    // must fit beside it.
    for attack in [
        "cursors",
        "views",
        "view-cursors",
        "audit",
        "squeeze",
        "findings",
    ] {
        let run = beside(attack);
        assert_survived(&run, 3, &["hoarder"], hot_functions_alone());
        // Findings that do not fit beside its memory are a limit that degrades: those that
        // fit are kept, the rest counted, and the flag named.
        let error = if attack == "findings" {
            let warning = assert_limited(&run, "hoarder", 0, "--memory");
            assert!(warning.contains("left in its memory account"), "{warning}");
            warning
        } else {
            let error = assert_failed_with(&run, "hoarder", "memory cap exceeded");
            assert!(error.contains("the cap is 32.0 MiB"), "{attack}: {error}");
            error
        };
        let peak_mib = run.peak_rss_kib / 1024;
        eprintln!("{attack}: peak RSS {peak_mib} MiB, idle {idle_mib} MiB: {error}");
        assert!(
            peak_mib <= idle_mib + 32 + HOST_MEMORY_MARGIN_MIB,
            "{attack}: the host grew to {peak_mib} MiB; idle it peaks at {idle_mib} MiB, and \
             the skill's limit is 32 MiB plus a margin of {HOST_MEMORY_MARGIN_MIB} MiB"
        );
        if !matches!(attack, "squeeze" | "findings") {
            // Stopped by a host charge: the refused call is in the audit log with the reason.
            let refused = run.audit.entries("hoarder", |e| {
                e["decision"] == "deny"
                    && e["interface"] != "run"
                    && e["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("memory cap exceeded"))
            });
            assert!(
                !refused.is_empty(),
                "{attack}: the refused call is not in the audit log"
            );
        }
    }
}

// --------------------------------------------------------------------------------------------
// Output: findings, log, stdout, host-call data.
// --------------------------------------------------------------------------------------------

/// `skill` returned, reached a findings limit, and kept what fits: status ok, `dropped`
/// findings counted (0: some, however many), and a warning naming the flag that raises it.
fn assert_limited<'a>(run: &'a Sandboxed, skill: &str, dropped: u64, flag: &str) -> &'a str {
    let record = run.run_of(skill);
    assert_eq!(
        record["status"], "ok",
        "{skill} must keep what fits: {record:#}"
    );
    // 0: some, however many.
    if dropped == 0 {
        assert!(record["findings_dropped"].as_u64() > Some(0), "{record:#}");
    } else {
        assert_eq!(record["findings_dropped"], dropped, "{record:#}");
    }
    let warning = record["warning"].as_str().unwrap_or_default();
    assert!(
        warning.contains("findings limit reached") && warning.contains(flag),
        "{skill}: {warning:?} does not name {flag}"
    );
    warning
}

#[test]
fn too_many_findings_keep_the_first_thousand_and_count_the_rest() {
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), None, &["flooder"], &[]);
    // Exit 3: the report is incomplete, and says so.
    assert_survived(&run, 3, &["flooder"], hot_functions_alone());
    assert_limited(&run, "flooder", 99_000, "--max-skill-findings");
    assert_eq!(run.run_of("flooder")["findings"], 1000);
    // Identical findings de-duplicate to one in the report.
    assert!(!run.findings_of("flooder").is_empty());
    assert!(
        run.report_bytes < 8 << 20,
        "the report is {} bytes",
        run.report_bytes
    );
}

#[test]
fn findings_reported_before_a_stop_are_kept_within_the_limits() {
    let policy = pinned_policy("hostile.toml", &[]);
    // 500 findings reported in batches, the limit 300: the 300 highest-ranked (the last
    // reported, worth the most) are kept however the skill then ends.
    let best: Vec<String> = (200..500).rev().map(|i| format!("reported {i}")).collect();
    for (then, phrase) in [
        ("spin", "deadline exceeded"),
        ("panic", "panicked: stopped after reporting 500 findings"),
        ("grow", "memory cap exceeded"),
        ("return", ""),
    ] {
        let param = format!("reporter.then={then}");
        let run = run_beside(Some(&policy), None, &["reporter"], &["--param", &param]);
        assert_survived(&run, 3, &["reporter"], hot_functions_alone());
        let record = run.run_of("reporter");
        let kept: Vec<String> = run
            .findings_of("reporter")
            .iter()
            .filter(|f| f["rule"] == "reported")
            .map(|f| f["title"].as_str().unwrap().to_string())
            .collect();
        if then == "return" {
            // What `run` returned is ranked with what was reported: 301 findings for 300 places,
            // and the returned one (worth half the profile) is among the best.
            assert_limited(&run, "reporter", 201, "--max-skill-findings");
            assert_eq!(kept, best[..299], "{then}");
            assert_eq!(run.findings_of("reporter").len(), 300);
        } else {
            assert_failed_with(&run, "reporter", phrase);
            let warning = record["warning"].as_str().unwrap_or_default();
            assert!(
                warning.contains("the 300 finding(s) it reported before it failed are kept")
                    && warning.contains("--max-skill-findings"),
                "{then}: {warning}"
            );
            assert_eq!(record["findings"], 300, "{then}: {record:#}");
            assert_eq!(record["findings_dropped"], 200, "{then}: {record:#}");
            assert_eq!(kept, best, "{then}");
        }
    }
}

#[test]
fn an_oversized_finding_is_dropped_at_the_findings_size_limit() {
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), None, &["giant"], &[]);
    assert_survived(&run, 3, &["giant"], hot_functions_alone());
    assert_limited(&run, "giant", 1, "--max-skill-findings-kib");
    assert!(run.findings_of("giant").is_empty());
    assert!(
        run.report_bytes < 4 << 20,
        "the 64 MiB message reached the report ({} bytes)",
        run.report_bytes
    );
}

/// The bytes of the log lines kept in a run record.
fn kept_log_bytes(record: &Value) -> usize {
    record["log"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| l["message"].as_str().unwrap().len())
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_gigabyte_of_log_keeps_the_log_budget_and_bounded_host_memory() {
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), None, &["logger"], &[]);
    let record = run.run_of("logger").clone();
    let completed = record["status"] == "ok";
    if !completed {
        assert_failed_with(&run, "logger", "deadline exceeded");
    }
    let audit = assert_survived(
        &run,
        if completed { 0 } else { 3 },
        &["logger"],
        hot_functions_alone(),
    );
    let dropped = record["log_dropped"].as_u64().unwrap_or(0);
    assert!(dropped > 0, "1 GiB of log and nothing dropped: {record:#}");
    let kept = kept_log_bytes(&record);
    assert!(
        kept <= 64 << 10,
        "{kept} bytes of log kept; the budget is 64 KiB"
    );
    let peak_mib = run.peak_rss_kib / 1024;
    assert!(peak_mib < 512, "the host grew to {peak_mib} MiB");
    assert!(
        run.report_bytes < 1 << 20,
        "the report is {} bytes",
        run.report_bytes
    );
    assert!(
        audit.of("logger").allowed_on("log") > 0,
        "the log calls are not in the audit log"
    );
    assert!(
        !run.audit.contains(&"L".repeat(64)),
        "the audit log holds the log lines' contents"
    );
}

#[test]
fn empty_log_lines_are_budgeted_too() {
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(
        Some(&policy),
        None,
        &["logger"],
        &[
            "--param",
            "logger.lines=200000",
            "--param",
            "logger.line-bytes=0",
        ],
    );
    let record = run.run_of("logger").clone();
    let completed = record["status"] == "ok";
    assert_survived(
        &run,
        if completed { 0 } else { 3 },
        &["logger"],
        hot_functions_alone(),
    );
    let kept = record["log"].as_array().map(Vec::len).unwrap_or(0);
    // Whatever a line costs, it is at least a byte of the 64 KiB budget.
    assert!(kept <= 64 << 10, "{kept} empty lines kept of 200,000");
    assert!(
        record["log_dropped"].as_u64().unwrap_or(0) > 0,
        "{record:#}"
    );
    assert!(
        run.report_bytes < 4 << 20,
        "the report is {} bytes",
        run.report_bytes
    );
}

#[test]
fn rereading_a_big_file_is_stopped_by_the_host_call_data_limit() {
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), Some(&stage), &["caller"], &[]);
    let audit = assert_survived(&run, 3, &["caller"], hot_functions_alone());
    assert_failed_with(&run, "caller", "host-call data limit exceeded");
    // 64 MiB of host-call data is 64 reads of the 1 MiB file, not 10,000.
    let calls = run.run_of("caller")["host_calls"].as_u64().unwrap();
    assert!(
        calls < 100,
        "{calls} host calls before the 64 MiB limit stopped it"
    );
    let caller = audit.of("caller");
    let reads = run.audit.entries("caller", |e| {
        about_path(e, "big.txt") && e["decision"] == "allow"
    });
    assert!(
        reads.iter().any(|e| e["bytes"].as_u64() == Some(1 << 20)),
        "the reads of big.txt are not in the audit log with their size: {:#?}",
        &reads[..reads.len().min(3)]
    );
    assert!(
        !caller.denied_with("limit exceeded").is_empty(),
        "the read refused by the limit is not in the audit log: {:#?}",
        caller.denied
    );
    assert!(
        !run.audit.contains(&"b".repeat(64)),
        "contents in the audit log"
    );
}

#[test]
fn floods_of_stdout_and_stderr_are_capped() {
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), None, &["shouter"], &[]);
    let record = run.run_of("shouter").clone();
    let ok = record["status"] == "ok";
    assert_survived(
        &run,
        if ok { 0 } else { 3 },
        &["shouter"],
        hot_functions_alone(),
    );
    for stream in ["stdout", "stderr"] {
        let kept = record[stream].as_str().map(str::len).unwrap_or(0);
        assert!(kept <= 1 << 20, "{kept} bytes of {stream} kept of 8 MiB");
    }
    assert!(
        run.report_bytes < 4 << 20,
        "the report is {} bytes",
        run.report_bytes
    );
}

// --------------------------------------------------------------------------------------------
// The machine: environment, clocks, exit, WASI imports.
// --------------------------------------------------------------------------------------------

#[test]
fn a_skill_sees_no_environment_no_arguments_and_no_host_secret() {
    let policy = pinned_policy("hostile.toml", &[]);
    let args = beside_args(Some(&policy), None, &["prober"], &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_sandboxed(&args, &[("JOULE_TEST_SECRET", "hunter2")]);
    assert_survived(&run, 0, &["prober"], hot_functions_alone());
    assert_eq!(run.run_of("prober")["status"], "ok");
    assert_eq!(
        message_of(&run, "prober", "env"),
        "",
        "the environment leaked"
    );
    assert_eq!(
        message_of(&run, "prober", "args"),
        "",
        "the arguments leaked"
    );
    let cwd = message_of(&run, "prober", "cwd");
    let host_cwd = root();
    assert!(
        !cwd.contains(path_str(&host_cwd)),
        "the host's directory leaked: {cwd}"
    );
    let stdin = message_of(&run, "prober", "stdin");
    assert!(
        stdin == "read 0 bytes: " || stdin.starts_with("error"),
        "{stdin}"
    );
    assert!(
        !report_text(&run).contains("hunter2"),
        "the host's environment reached the report"
    );
    assert!(
        !run.audit.contains("hunter2"),
        "the host's environment reached the audit log"
    );
    // Clocks and randomness are not secrets; they are reported for the record.
    for what in ["wall-clock", "monotonic-clock", "random"] {
        eprintln!("prober {what}: {}", message_of(&run, "prober", what));
    }
}

#[test]
fn a_skill_calling_exit_fails_its_run_and_the_host_carries_on() {
    let policy = pinned_policy("hostile.toml", &[]);
    let run = run_beside(Some(&policy), None, &["exiter"], &[]);
    assert_survived(&run, 3, &["exiter"], hot_functions_alone());
    let error = run.run_of("exiter")["error"].as_str().unwrap_or_default();
    assert_eq!(run.run_of("exiter")["status"], "failed");
    assert!(error.to_lowercase().contains("exit"), "{error}");
    assert!(run.findings_of("exiter").is_empty());
}

#[test]
fn a_skill_importing_wasi_sockets_is_refused_at_load() {
    let policy = pinned_policy("hostile.toml", &[]);
    for policy in [Some(policy.as_path()), None] {
        let run = run_beside(policy, None, &["sockets"], &[]);
        let audit = assert_survived(&run, 3, &["sockets"], hot_functions_alone());
        assert_refused_at_load(&run, &audit, "sockets", &["wasi:sockets"]);
    }
}

#[test]
fn granted_wasi_sockets_load_but_reach_no_address() {
    use std::net::{TcpListener, UdpSocket};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let udp = UdpSocket::bind(("127.0.0.1", port)).ok();
    if let Some(u) = &udp {
        u.set_nonblocking(true).unwrap();
    }
    let policy = pinned_policy("wasi.toml", &[]);
    let param = format!("sockets.port={port}");
    let run = run_beside(Some(&policy), None, &["sockets"], &["--param", &param]);
    let audit = assert_survived(&run, 0, &["sockets"], hot_functions_alone());
    assert!(
        audit.of("sockets").loaded(),
        "{:#?}",
        audit.of("sockets").loads
    );
    assert_eq!(run.run_of("sockets")["status"], "ok");
    let attempts = run.findings_of("sockets");
    assert_eq!(attempts.len(), 4, "{attempts:#?}");
    for f in &attempts {
        let outcome = f["message"].as_str().unwrap();
        assert!(outcome.starts_with("error: "), "{}: {outcome}", f["title"]);
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the skill reached the test's TCP port: {other:?}"),
    }
    if let Some(u) = udp {
        let mut buf = [0u8; 64];
        match u.recv_from(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the skill reached the test's UDP port: {other:?}"),
        }
    }
}

#[test]
fn a_skill_importing_wasi_filesystem_is_refused_at_load() {
    let policy = pinned_policy("hostile.toml", &[]);
    for policy in [Some(policy.as_path()), None] {
        let run = run_beside(policy, None, &["filer"], &[]);
        let audit = assert_survived(&run, 3, &["filer"], hot_functions_alone());
        assert_refused_at_load(&run, &audit, "filer", &["wasi:filesystem"]);
    }
}

#[test]
fn granted_wasi_filesystem_loads_but_sees_no_file() {
    let policy = pinned_policy("wasi.toml", &[]);
    let target = scratch_dir("filer").join("filer-was-here");
    let param = format!("filer.write-to={}", target.display());
    let run = run_beside(Some(&policy), None, &["filer"], &["--param", &param]);
    let audit = assert_survived(&run, 0, &["filer"], hot_functions_alone());
    assert!(audit.of("filer").loaded(), "{:#?}", audit.of("filer").loads);
    assert_eq!(run.run_of("filer")["status"], "ok");
    let attempts = run.findings_of("filer");
    assert_eq!(attempts.len(), 7, "{attempts:#?}");
    for f in &attempts {
        let outcome = f["message"].as_str().unwrap();
        assert!(outcome.starts_with("error: "), "{}: {outcome}", f["title"]);
    }
    assert!(!target.exists(), "the skill wrote {}", target.display());
    assert!(
        !report_text(&run).contains("root:x:0:0"),
        "/etc/passwd leaked"
    );
}

// --------------------------------------------------------------------------------------------
// History: a read-only grant writes nothing.
// --------------------------------------------------------------------------------------------

/// A repository under `dir` with what reverts meet: files added, changed, deleted and renamed
/// after the fact, a merge commit, a commit later ones rewrote, and both packed and loose
/// objects (libgit2 touches either kind when it "freshens" an object it would write).
fn history_repo(dir: &Path) -> PathBuf {
    let repo = dir.join("history");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], None);
    let at = |i: i64| Some(1_700_000_000 + i * 100);
    let commit = |file: &str, text: &str, message: &str, i: i64| {
        std::fs::write(repo.join(file), text).unwrap();
        git(&repo, &["add", "-A"], None);
        git(&repo, &["commit", "-q", "-m", message], at(i));
    };
    let body: String = (1..=30).map(|i| format!("fn f{i}() {{}}\n")).collect();
    commit("lib.rs", &body, "Start", 1);
    commit("gone.txt", "deleted later\n", "Add gone.txt", 2);
    commit(
        "lib.rs",
        &body.replace("fn f3() {}", "fn f3() { slow() }"),
        "Slow f3",
        3,
    );
    git(&repo, &["gc", "-q"], None);
    git(&repo, &["mv", "lib.rs", "core.rs"], None);
    commit(
        "core.rs",
        &body
            .replace("fn f3() {}", "fn f3() { slow() }")
            .replace("fn f29() {}", "fn f29() { fast() }"),
        "Rename lib.rs, speed up f29",
        4,
    );
    std::fs::remove_file(repo.join("gone.txt")).unwrap();
    commit("added.txt", "new\n", "Delete gone.txt", 5);
    git(&repo, &["checkout", "-q", "-b", "side"], None);
    commit("side.txt", "from the side\n", "Side work", 6);
    git(&repo, &["checkout", "-q", "main"], None);
    git(
        &repo,
        &["merge", "-q", "--no-ff", "-m", "Merge side", "side"],
        at(7),
    );
    commit(
        "core.rs",
        &body
            .replace("fn f3() {}", "fn f3() { slower() }")
            .replace("fn f29() {}", "fn f29() { fast() }"),
        "Rewrite f3",
        8,
    );
    repo
}

#[test]
fn reverting_every_commit_again_and_again_writes_nothing_to_the_repository() {
    let stage = Stage::new();
    let repo = history_repo(stage.base());
    age(&repo);
    let before = snapshot(&repo);
    let policy = pinned_policy("hostile.toml", &[]);
    let history = format!("app={}", repo.display());
    let run = run_beside(
        Some(&policy),
        Some(&stage),
        &["rewriter"],
        &["--history", &history],
    );
    let audit = assert_survived(&run, 0, &["rewriter"], hot_functions_alone());
    let changed = changed_entries(&before, &snapshot(&repo));
    assert!(
        changed.is_empty(),
        "the read-only repository changed: {changed:?}"
    );
    // The attack really ran: reverts came back as patches (merges and renames among them), and
    // conflicts, the root commit and ids that are no commit were refused; every call audited.
    let findings = run.findings_of("rewriter");
    let count = |name: &str| -> f64 {
        findings[0]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_f64())
            .unwrap_or_else(|| panic!("no {name} in {:#}", findings[0]))
    };
    let title = findings[0]["title"].as_str().unwrap();
    assert!(count("patches") >= 40.0, "{title}");
    assert!(count("refused") >= 10.0, "{title}");
    assert!(count("blamed") > 0.0, "{title}");
    assert!(
        audit
            .of("rewriter")
            .allowed
            .get("history/revert")
            .copied()
            .unwrap_or(0)
            >= 50
    );
}

// --------------------------------------------------------------------------------------------
// Loading: digests, impostors, skills the policy does not name.
// --------------------------------------------------------------------------------------------

#[test]
fn a_component_pinned_to_another_digest_is_refused_with_both_digests() {
    let example_profile = root().join("example/profiles/logscan.pb.gz");
    let example_tree = format!("example={}", root().join("example/logscan").display());
    let regex = skill("regex-in-hot-path");
    let hot = skill("hot-functions");
    let expected = {
        let (report, code, stderr) = joule_json(&[
            "--profile",
            path_str(&example_profile),
            "--source",
            &example_tree,
            "--skills",
            path_str(&regex),
        ]);
        assert_eq!(code, 0, "{stderr}");
        finding_facts(&findings_of(&report, "regex-in-hot-path"))
    };
    assert!(!expected.is_empty());
    let policy = pinned_policy("wrong-digest.toml", &[]);
    let run = run_sandboxed(
        &[
            "--profile",
            path_str(&example_profile),
            "--source",
            &example_tree,
            "--skills",
            path_str(&hot),
            "--skills",
            path_str(&regex),
            "--policy",
            path_str(&policy),
        ],
        &[],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let regex_run = run.run_of("regex-in-hot-path");
    assert_eq!(regex_run["status"], "ok", "{regex_run:#}");
    assert_eq!(
        finding_facts(&run.findings_of("regex-in-hot-path")),
        expected
    );
    let audit = run.audit.summary();
    let real = digest_of(&hot);
    let pinned = "ab".repeat(32);
    assert_refused_at_load(&run, &audit, "hot-functions", &[&real, &pinned]);
    assert!(audit.of("regex-in-hot-path").loaded());
    assert_eq!(
        audit.of("hot-functions").allowed.len(),
        0,
        "a refused skill made calls"
    );
}

#[test]
fn an_impostor_claiming_a_granted_id_is_refused_by_its_digest_in_either_order() {
    let stage = Stage::new();
    let policy = pinned_policy("hostile.toml", &[]);
    let impostor = test_skill("impostor");
    let genuine = skill("hot-functions");
    let impostor_digest = digest_of(&impostor);
    let real_digest = digest_of(&genuine);
    // Listed first, the impostor must not take the id from the skill the policy pins; listed
    // second, it must still be refused for its digest, and audited.
    for (order, skills) in [
        ("impostor first", [&impostor, &genuine]),
        ("impostor second", [&genuine, &impostor]),
    ] {
        let source = stage.source_arg();
        let run = run_sandboxed(
            &[
                "--profile",
                path_str(&large_cpu()),
                "--source",
                &source,
                "--skills",
                path_str(skills[0]),
                "--skills",
                path_str(skills[1]),
                "--policy",
                path_str(&policy),
            ],
            &[],
        );
        assert_eq!(
            run.code, 3,
            "{order}: exit {}\nstderr:\n{}",
            run.code, run.stderr
        );
        let runs = run.report["runs"].as_array().unwrap();
        let refused = runs
            .iter()
            .find(|r| r["trigger"] == "load")
            .unwrap_or_else(|| panic!("{order}: no refused load: {runs:#?}"));
        assert_eq!(refused["status"], "failed", "{order}: {refused:#}");
        assert_eq!(
            refused["digest"],
            impostor_digest.as_str(),
            "{order}: the refused component is the impostor: {refused:#}"
        );
        let error = refused["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(&impostor_digest) && error.contains(&real_digest),
            "{order}: refused for its digest, with both digests: {error}"
        );
        let genuine_run = runs
            .iter()
            .find(|r| r["digest"] == real_digest.as_str() && r["trigger"] == "scan")
            .unwrap_or_else(|| panic!("{order}: no run of the real hot-functions: {runs:#?}"));
        assert_eq!(genuine_run["status"], "ok", "{order}: {genuine_run:#}");
        let titles: Vec<&str> = run.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["title"].as_str().unwrap())
            .collect();
        assert!(
            titles.iter().all(|t| !t.contains("IMPOSTOR")),
            "{order}: {titles:#?}"
        );
        assert_eq!(
            finding_facts(&run.findings_of("hot-functions")),
            hot_functions_alone(),
            "{order}"
        );
        let audit = run.audit.summary();
        let refusals = audit.of("hot-functions").refusals();
        assert!(
            refusals
                .iter()
                .any(|r| r.contains(&impostor_digest) && r.contains(&real_digest)),
            "{order}: the impostor's refusal is not in the audit log: {refusals:?}"
        );
        assert!(audit.of("hot-functions").loaded(), "{order}");
        assert_nothing_leaked(&run);
    }
}

#[test]
fn a_skill_the_policy_does_not_name_is_refused() {
    let stage = Stage::new();
    let policy = pinned_policy("minimal.toml", &[]);
    let run = run_beside(Some(&policy), Some(&stage), &["panicker"], &[]);
    let audit = assert_survived(&run, 3, &["panicker"], hot_functions_alone());
    let record = run.run_of("panicker");
    assert_eq!(record["trigger"], "load", "{record:#}");
    let error = record["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("policy") && !error.contains("panicked"),
        "refused for not being in the policy, before it ran: {error}"
    );
    assert!(!audit.of("panicker").refusals().is_empty());
}
