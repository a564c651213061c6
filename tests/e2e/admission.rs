//! What runs before admission, and who keeps an id. A component runs no code, not even its
//! `describe`, until the policy admits it by its digest; `describe` then runs within its own
//! short, fixed limits, not a run's; and without a policy, a skill keeps its id against a
//! component that gives the same one from a file named otherwise.

use std::path::Path;
use std::time::{Duration, Instant};

use joule_policy::{DESCRIBE_DEADLINE, DESCRIBE_MEMORY};
use joule_tests::*;

fn large_cpu() -> String {
    path_str(&fixture("pprof/large.cpu.pb.gz")).to_string()
}

/// `joule run` of `hot-functions` beside the test skill `other` on `large.cpu.pb.gz`, with
/// `extra` arguments, timed.
fn beside(other: &str, extra: &[&str]) -> (Sandboxed, Duration) {
    let (profile, hot, other) = (large_cpu(), skill("hot-functions"), test_skill(other));
    let mut args = vec![
        "--profile",
        &profile,
        "--skills",
        path_str(&hot),
        "--skills",
        path_str(&other),
    ];
    args.extend_from_slice(extra);
    joule_bin(); // built (or found up to date) before the clock starts
    let started = Instant::now();
    let run = run_sandboxed(&args, &[]);
    (run, started.elapsed())
}

/// A policy pinning `hot-functions` and the test skill `id`, whose runs get `run_limits`.
fn policy_pinning(id: &str, run_limits: &str) -> std::path::PathBuf {
    let path = scratch_dir("admission").join("policy.toml");
    let text = format!(
        "version = 1\n\n[limits]\n{run_limits}\n\n[[skill]]\nid = \"hot-functions\"\ndigest = \"sha256:{}\"\nprofiles = [\"*\"]\n\n[[skill]]\nid = \"{id}\"\ndigest = \"sha256:{}\"\n",
        digest_of(&skill("hot-functions")),
        digest_of(&test_skill(id)),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn error_of(run: &Sandboxed, skill: &str) -> String {
    let record = run.run_of(skill);
    assert_eq!(record["trigger"], "load", "{record:#}");
    assert_eq!(record["status"], "failed", "{record:#}");
    record["error"].as_str().unwrap_or_default().to_string()
}

// --------------------------------------------------------------------------------------------
// No code before admission; `describe` within its own limits.
// --------------------------------------------------------------------------------------------

#[test]
fn a_component_the_policy_does_not_pin_is_refused_without_running_its_describe() {
    // `stall`'s describe never returns: had it run, the load would have waited for describe's
    // deadline and failed with it.
    let policy = pinned_policy("minimal.toml", &[]);
    let (run, took) = beside("stall", &["--policy", path_str(&policy)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.run_of("hot-functions")["status"], "ok");
    let error = error_of(&run, "stall");
    let digest = digest_of(&test_skill("stall"));
    for phrase in [
        "skill `stall` has no [[skill]] entry",
        "none of its code was run",
        "id = \"stall\"",
        &format!("digest = \"sha256:{digest}\""),
    ] {
        assert!(error.contains(phrase), "{phrase:?} not in {error}");
    }
    assert!(!error.contains("describe"), "{error}");
    assert!(
        took < DESCRIBE_DEADLINE,
        "the run took {took:?}: as long as describe's deadline"
    );
    let audit = run.audit.summary();
    let stall = audit.of("stall");
    assert_eq!(stall.refusals().len(), 1, "{:#?}", stall.loads);
    assert!(stall.refusals()[0].contains("none of its code was run"));
    assert!(stall.allowed.is_empty() && stall.denials == 0);

    // `joule audit` shows it from its bytes alone, at once: digest, imports, refused, and the
    // name it goes by (its file name: it claims no id).
    joule_bin();
    let started = Instant::now();
    let out = joule(&[
        "audit",
        "--format",
        "json",
        "--policy",
        path_str(&policy),
        path_str(&test_skill("stall")),
    ]);
    assert!(started.elapsed() < DESCRIBE_DEADLINE);
    assert_eq!(out.status.code(), Some(3));
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &audit["components"][0];
    assert_eq!(c["id"], "stall", "{c:#}");
    assert_eq!(c["id_from"], "file name");
    assert_eq!(c["version"], "");
    assert_eq!(c["digest"], format!("sha256:{digest}"));
    assert!(
        c["imports"][0]["interface"]
            .as_str()
            .unwrap()
            .starts_with("joule:skill/types@")
    );
    let verdict = c["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("refused: skill `stall` has no [[skill]] entry"),
        "{verdict}"
    );
}

#[test]
fn describe_runs_within_its_own_deadline_not_the_runs() {
    // Pinned, with runs allowed two minutes; and with no policy and `--timeout 120`.
    let policy = policy_pinning("stall", "timeout_seconds = 120");
    for extra in [
        vec!["--policy", path_str(&policy)],
        vec!["--timeout", "120"],
    ] {
        let (run, took) = beside("stall", &extra);
        assert_eq!(run.code, 3, "{extra:?}: {}", run.stderr);
        assert_eq!(run.run_of("hot-functions")["status"], "ok");
        let error = error_of(&run, "stall");
        let deadline = format!(
            "deadline exceeded: still running after {:.1} s",
            DESCRIBE_DEADLINE.as_secs_f64()
        );
        assert!(
            error.contains("`describe` failed") && error.contains(&deadline),
            "{extra:?}: {error}"
        );
        assert!(
            took >= DESCRIBE_DEADLINE && took < DESCRIBE_DEADLINE * 6,
            "{extra:?}: {took:?}"
        );
    }
}

#[test]
fn describe_runs_within_its_own_memory_cap_not_the_runs() {
    let policy = policy_pinning("balloon", "memory_mib = 1024");
    for extra in [
        vec!["--policy", path_str(&policy)],
        vec!["--memory", "1024"],
    ] {
        let (run, _) = beside("balloon", &extra);
        assert_eq!(run.code, 3, "{extra:?}: {}", run.stderr);
        assert_eq!(run.run_of("hot-functions")["status"], "ok");
        let error = error_of(&run, "balloon");
        let cap = format!("the cap is {:.1} MiB", (DESCRIBE_MEMORY >> 20) as f64);
        assert!(
            error.contains("`describe` failed") && error.contains(&cap),
            "{extra:?}: {error}"
        );
    }
}

// --------------------------------------------------------------------------------------------
// Without a policy, who keeps an id.
// --------------------------------------------------------------------------------------------

/// `joule run` without a policy on the example with these components, in this order.
fn example_with(components: &[&Path]) -> Sandboxed {
    let tree = format!("example={}", root().join("example/logscan").display());
    let profile = root().join("example/profiles/logscan.pb.gz");
    let mut args = vec![
        "--profile".to_string(),
        path_str(&profile).to_string(),
        "--source".to_string(),
        tree,
    ];
    for c in components {
        args.extend(["--skills".to_string(), path_str(c).to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_sandboxed(&args, &[])
}

fn titles(run: &Sandboxed) -> Vec<String> {
    run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn without_a_policy_a_skill_keeps_its_id_against_a_component_named_otherwise() {
    let alone = |id: &str| {
        let run = example_with(&[&skill(id)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        finding_facts(&run.findings_of(id))
    };
    // `squatter` gives the id `regex-in-hot-path` from its describe only; `impostor` claims
    // `hot-functions` in its component too. Either comes first or last on the command line.
    for (newcomer, id) in [
        ("squatter", "regex-in-hot-path"),
        ("impostor", "hot-functions"),
    ] {
        let (newcomer_path, real) = (test_skill(newcomer), skill(id));
        let expected = alone(id);
        for (order, components) in [
            ("newcomer first", [newcomer_path.as_path(), real.as_path()]),
            ("newcomer last", [real.as_path(), newcomer_path.as_path()]),
        ] {
            let run = example_with(&components);
            assert_eq!(run.code, 3, "{order}: {}", run.stderr);
            let kept = run.run_of(id);
            assert_eq!(kept["status"], "ok", "{order}: {kept:#}");
            assert_eq!(kept["digest"], digest_of(&real).as_str(), "{order}");
            assert_eq!(finding_facts(&run.findings_of(id)), expected, "{order}");
            assert!(
                titles(&run)
                    .iter()
                    .all(|t| !t.contains("SQUATTER") && !t.contains("IMPOSTOR")),
                "{order}: {:?}",
                titles(&run)
            );
            // Refused, with a warning that names the one that kept the id.
            let error = error_of(&run, newcomer);
            assert!(
                error.contains(&format!("skill id `{id}` is already taken by"))
                    && error.contains(path_str(&real)),
                "{order}: {error}"
            );
            assert!(
                run.stderr.contains("warning") && run.stderr.contains(path_str(&real)),
                "{order}: {}",
                run.stderr
            );
            let audit = run.audit.summary();
            assert!(
                audit
                    .of(id)
                    .refusals()
                    .iter()
                    .any(|r| r.contains("already taken")),
                "{order}"
            );
        }
        // `joule skills` keeps the same one.
        let out = joule(&[
            "skills",
            "--json",
            "--skills",
            path_str(&newcomer_path),
            "--skills",
            path_str(&real),
        ]);
        let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(listed["skills"].as_array().unwrap().len(), 1, "{listed:#}");
        assert_eq!(listed["skills"][0]["digest"], digest_of(&real).as_str());
        assert_eq!(out.status.code(), Some(3));
    }
}

#[test]
fn among_components_named_after_the_id_the_first_given_keeps_it() {
    // A copy of `squatter` named `regex-in-hot-path.wasm`: named as well as the shipped one, so
    // the order the operator gives decides, and the refusal says which one kept the id.
    let dir = scratch_dir("lookalike");
    let lookalike = dir.join("regex-in-hot-path.wasm");
    std::fs::copy(test_skill("squatter"), &lookalike).unwrap();
    let shipped = skill("regex-in-hot-path");

    // Both files are named `regex-in-hot-path`, so the refused one's record is too: the one that
    // ran is the record of its scan.
    let ran = |run: &Sandboxed| -> String {
        run.report["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["skill"] == "regex-in-hot-path" && r["trigger"] == "scan")
            .unwrap_or_else(|| panic!("{:#}", run.report["runs"]))["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let run = example_with(&[&shipped, &lookalike]);
    assert_eq!(ran(&run), digest_of(&shipped));
    assert!(titles(&run).iter().all(|t| !t.contains("SQUATTER")));

    let run = example_with(&[&lookalike, &shipped]);
    assert_eq!(ran(&run), digest_of(&lookalike));
    assert!(titles(&run).iter().any(|t| t.contains("SQUATTER")));
    let refused = run.report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["trigger"] == "load")
        .unwrap();
    assert_eq!(refused["digest"], digest_of(&shipped).as_str());
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains(&format!("already taken by {}", lookalike.display())),
        "{refused:#}"
    );
}
