//! The shipped skills built into the `joule` binary: with no `--skills` (and no `$JOULE_SKILLS`)
//! they run on the bundled example as the files `make skills` builds do, with the same digests;
//! `--skills` adds components, one with a built-in skill's id replacing it; `--no-builtin-skills`
//! leaves them out; and a policy that names only some of them runs those, leaving the others out
//! with one notice instead of failing.
//!
//! Every other test runs joule with `JOULE_NO_BUILTIN_SKILLS=1` ([`joule_command`]); these remove
//! it.

use std::collections::BTreeSet;
use std::process::Output;

use joule_tests::*;

/// `joule` with `args`, the built-in skills on (no `JOULE_NO_BUILTIN_SKILLS`, no
/// `JOULE_SKILLS`), from the repository root.
fn joule_builtin(args: &[&str]) -> Output {
    joule_command()
        .env_remove("JOULE_NO_BUILTIN_SKILLS")
        .args(args)
        .output()
        .expect("joule runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `joule run ... --format json` with the built-in skills on: the report, exit code and stderr.
fn run_json(args: &[&str]) -> (serde_json::Value, i32, String) {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    let out = joule_builtin(&all);
    let stderr = text(&out.stderr);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "joule {all:?} did not print JSON ({e}); exit {:?}\n{stderr}",
            out.status.code()
        )
    });
    assert_matches_schema(&report);
    (report, out.status.code().unwrap_or(-1), stderr)
}

/// `joule skills --json` with the built-in skills on, and `args`.
fn skills_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["skills", "--json"];
    all.extend_from_slice(args);
    let out = joule_builtin(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The shipped skills: every crate under `skills/`.
fn shipped() -> BTreeSet<String> {
    std::fs::read_dir(root().join("skills"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

const EXAMPLE: [&str; 4] = [
    "--profile",
    "example/profiles/logscan.pb.gz",
    "--source",
    "example=example/logscan",
];

fn runs(report: &serde_json::Value) -> Vec<&serde_json::Value> {
    report["runs"].as_array().expect("runs").iter().collect()
}

#[test]
fn the_example_runs_on_the_built_in_skills_with_no_skills_given() {
    let (report, code, stderr) = run_json(&EXAMPLE);
    assert_eq!(code, 0, "{stderr}");
    let shipped = shipped();
    let ran: BTreeSet<String> = runs(&report)
        .iter()
        .map(|r| r["skill"].as_str().unwrap().to_string())
        .collect();
    assert!(ran.is_subset(&shipped), "{ran:?}");
    // Every skill that scans ran (the regression skills run on other skills' findings, or
    // scan metric series the example run does not give them, and still run on none).
    for skill in ["hot-functions", "regex-in-hot-path", "sort-key-recomputed"] {
        assert_eq!(run_of(&report, skill)["status"], "ok", "{skill}");
    }
    assert!(ran.len() >= 15, "{ran:?}");
    // Each run's component is the file `make skills` builds: the same bytes.
    for run in runs(&report) {
        let id = run["skill"].as_str().unwrap();
        assert_eq!(run["digest"], digest_of(&skill(id)), "{id}");
        assert_eq!(run["status"], "ok", "{run:#}");
    }
    // The offense findings the example is known for (see example.rs): the two regexes
    // compiled per call, outranking everything else.
    let regex = findings_of(&report, "regex-in-hot-path");
    assert_eq!(regex.len(), 2, "{report:#}");
    let functions: Vec<&str> = regex
        .iter()
        .map(|f| f["locations"][0]["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        functions,
        ["logscan::parse::parse_line", "logscan::parse::is_bot"]
    );
    for f in &regex {
        assert_eq!(f["rule"], "regex-compiled-per-call");
        assert_eq!(f["locations"][0]["file"], "src/parse.rs");
    }
    assert_eq!(report["findings"][0]["skill"], "regex-in-hot-path");
    assert_eq!(report["findings"][1]["skill"], "regex-in-hot-path");
    assert_eq!(findings_of(&report, "hot-functions").len(), 10);

    // The same findings as the shipped skills' files give, loaded with --skills alone.
    let (files, code, stderr) = joule_json(
        &[
            &EXAMPLE[..],
            &["--skills", path_str(&skills_dir()), "--no-builtin-skills"],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    let ids = |r: &serde_json::Value| -> Vec<serde_json::Value> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].clone())
            .collect()
    };
    assert_eq!(ids(&report), ids(&files));
}

#[test]
fn joule_skills_lists_every_shipped_skill_as_built_in() {
    let listed = skills_json(&[]);
    let skills = listed["skills"].as_array().unwrap();
    let ids: BTreeSet<String> = skills
        .iter()
        .map(|s| s["descriptor"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, shipped());
    for s in skills {
        let id = s["descriptor"]["id"].as_str().unwrap();
        assert_eq!(s["source"], "built-in", "{s:#}");
        assert_eq!(s["path"], format!("built-in:{id}"));
        assert_eq!(s["digest"], digest_of(&skill(id)), "{id}");
    }
    assert!(listed["failed"].as_array().unwrap().is_empty());

    // The text lists say where each comes from too.
    let out = joule_builtin(&["skills"]);
    assert_eq!(out.status.code(), Some(0));
    let listing = text(&out.stdout);
    assert_eq!(
        listing.matches("  source:       built-in\n").count(),
        shipped().len(),
        "{listing}"
    );
    assert!(!listing.contains("  file:"), "{listing}");
}

#[test]
fn skills_given_are_added_to_the_built_in_ones() {
    let extra = test_skill("reporter");
    let listed = skills_json(&["--skills", path_str(&extra)]);
    let skills = listed["skills"].as_array().unwrap();
    assert_eq!(skills.len(), shipped().len() + 1, "{listed:#}");
    let added: Vec<_> = skills.iter().filter(|s| s["source"] == "file").collect();
    assert_eq!(added.len(), 1, "{listed:#}");
    assert_eq!(added[0]["path"], path_str(&extra));
    assert_eq!(added[0]["descriptor"]["id"], "reporter");
}

#[test]
fn a_skill_given_with_a_built_in_id_replaces_the_built_in_one() {
    let hot = "target/joule-skills/hot-functions.wasm";
    assert!(root().join(hot).is_file(), "run `make skills` first");
    let listed = skills_json(&["--skills", hot]);
    let skills = listed["skills"].as_array().unwrap();
    assert_eq!(skills.len(), shipped().len(), "{listed:#}");
    let hot_functions: Vec<_> = skills
        .iter()
        .filter(|s| s["descriptor"]["id"] == "hot-functions")
        .collect();
    assert_eq!(hot_functions.len(), 1, "{listed:#}");
    assert_eq!(hot_functions[0]["source"], "file");
    assert_eq!(hot_functions[0]["path"], hot);
    assert!(
        skills
            .iter()
            .filter(|s| s["descriptor"]["id"] != "hot-functions")
            .all(|s| s["source"] == "built-in")
    );

    // A run has one run of it, and no refusal of either.
    let (report, code, stderr) = run_json(&[&EXAMPLE[..], &["--skills", hot]].concat());
    assert_eq!(code, 0, "{stderr}");
    let hot_runs: Vec<_> = runs(&report)
        .into_iter()
        .filter(|r| r["skill"] == "hot-functions")
        .collect();
    assert_eq!(hot_runs.len(), 1, "{report:#}");
    assert_eq!(hot_runs[0]["status"], "ok");
    assert_eq!(findings_of(&report, "hot-functions").len(), 10);
}

#[test]
fn without_the_built_in_skills_and_no_skills_given_nothing_runs() {
    for (env, flag) in [(false, true), (true, false)] {
        let mut command = joule_command();
        if !env {
            command.env_remove("JOULE_NO_BUILTIN_SKILLS");
        }
        let mut args = vec!["run"];
        args.extend(EXAMPLE);
        if flag {
            args.push("--no-builtin-skills");
        }
        let out = command.args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("no skills given: pass --skills PATH")
                && stderr.contains("the built-in skills are off"),
            "{stderr}"
        );
    }
}

/// A policy naming only `hot-functions` (pinned to the file `make skills` built: the built-in
/// one has its digest) runs the built-in `hot-functions`, and leaves the other built-in skills
/// out with one notice naming the entry that would run them: not the refusals (exit 3) that
/// the same components given as files get.
#[test]
fn a_policy_runs_the_built_in_skills_it_names_and_leaves_out_the_others() {
    let policy = pinned_policy("minimal.toml", &[]);
    let scratch = scratch_dir("builtin-policy");
    let audit = scratch.join("audit.jsonl");
    let args = [
        "--profile",
        "example/profiles/logscan.pb.gz",
        "--source",
        "app=example/logscan",
        "--policy",
        path_str(&policy),
        "--audit-log",
        path_str(&audit),
    ];
    let (report, code, stderr) = run_json(&args);
    assert_eq!(code, 0, "{stderr}");
    let ran: Vec<_> = runs(&report)
        .iter()
        .map(|r| r["skill"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["hot-functions"], "{report:#}");
    assert_eq!(run_of(&report, "hot-functions")["status"], "ok");
    assert_eq!(findings_of(&report, "hot-functions").len(), 10);
    let left_out = shipped().len() - 1;
    assert_eq!(
        stderr
            .matches(&format!("left out {left_out} built-in skills"))
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("has no [[skill]] entry for")
            && stderr.contains("`regex-in-hot-path`")
            && stderr.contains("  [[skill]]\n  id = \"alloc-in-loop\"\n  digest = \"sha256:")
            && stderr.contains(&digest_of(&skill("alloc-in-loop"))),
        "{stderr}"
    );
    // The audit log records each decision, the built-in skills left out among them.
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(
        log.contains("built-in:regex-in-hot-path") && log.contains("built-in:hot-functions"),
        "{log}"
    );

    // `joule audit` judges them as the run does: the skill named loads, the others are left out.
    let out = joule_builtin(&["audit", "--policy", path_str(&policy), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let audited: Vec<_> = audit["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["path"].as_str().unwrap()))
        .collect();
    assert_eq!(audited, [("hot-functions", "built-in:hot-functions")]);
    assert_eq!(
        audit["built_in_left_out"].as_array().unwrap().len(),
        left_out,
        "{audit:#}"
    );

    // The same components as files, with the built-in skills off: each unlisted one is refused.
    let (files, code, _) = joule_json(
        &[
            &args[..6],
            &["--skills", path_str(&skills_dir()), "--no-builtin-skills"],
        ]
        .concat(),
    );
    assert_eq!(code, 3);
    assert_eq!(runs(&files).len(), shipped().len(), "{files:#}");
}

/// `joule mcp` loads the skills again when the `--skills` directory changes: the built-in
/// skills stay, beside the components of the directory.
#[test]
fn the_mcp_server_keeps_the_built_in_skills_when_it_loads_the_skills_again() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    // A directory holding one component at first: the shipped hot-functions, which replaces
    // the built-in one.
    let watched = scratch_dir("builtin-mcp");
    std::fs::copy(skill("hot-functions"), watched.join("hot-functions.wasm")).unwrap();
    let mut child = joule_command()
        .env_remove("JOULE_NO_BUILTIN_SKILLS")
        .args([
            "mcp",
            "--profile",
            "example/profiles/logscan.pb.gz",
            "--skills",
        ])
        .arg(&watched)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("joule mcp starts");
    let mut stdin = child.stdin.take().unwrap();
    // Lines of the server's output, read on a thread of their own.
    let (lines, received) = std::sync::mpsc::channel::<serde_json::Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(message) = serde_json::from_str(&line)
                && lines.send(message).is_err()
            {
                break;
            }
        }
    });
    let mut send = |message: serde_json::Value| {
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    };
    let wait_for = |what: &dyn Fn(&serde_json::Value) -> bool| -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let message = received
                .recv_timeout(left)
                .expect("the server answered in time");
            if what(&message) {
                return message;
            }
        }
    };
    send(serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}}
    }));
    wait_for(&|m| m["id"] == 1);
    send(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let tools = |id: u64, send: &mut dyn FnMut(serde_json::Value)| -> BTreeSet<String> {
        send(serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}));
        let answer = wait_for(&|m| m["id"] == id);
        answer["result"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let before = tools(2, &mut send);
    assert!(
        before.contains("hot-functions") && before.contains("regex-in-hot-path"),
        "{before:?}"
    );
    assert!(!before.contains("reporter"), "{before:?}");
    std::fs::copy(test_skill("reporter"), watched.join("reporter.wasm")).unwrap();
    wait_for(&|m| m["method"] == "notifications/tools/list_changed");
    let after = tools(3, &mut send);
    assert!(after.contains("reporter"), "{after:?}");
    assert!(after.is_superset(&before), "{before:?} -> {after:?}");
    let _ = child.kill();
    let _ = child.wait();
}
