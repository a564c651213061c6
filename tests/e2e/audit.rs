//! `joule audit` and `joule policy`, as a security reviewer uses them: digests and imports read
//! from the components themselves, grants and gaps against a policy, risky imports refused,
//! and the shipped demo policy (`policies/demo.toml`) running the demo with an audit log.

use std::path::Path;

use joule_tests::*;

fn audit_json(args: &[&str]) -> (serde_json::Value, i32) {
    let mut all = vec!["audit", "--format", "json"];
    all.extend_from_slice(args);
    let out = joule(&all);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "joule {all:?}: no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, out.status.code().unwrap_or(-1))
}

fn component<'a>(audit: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    audit["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no component {id} in {audit:#}"))
}

fn imports(c: &serde_json::Value) -> Vec<&str> {
    c["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["interface"].as_str().unwrap())
        .collect()
}

fn gaps(c: &serde_json::Value) -> Vec<&str> {
    c["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect()
}

fn p(path: &Path) -> &str {
    path_str(path)
}

#[test]
fn audit_reads_digests_and_imports_from_the_components() {
    let hot = skill("hot-functions");
    let regex = skill("regex-in-hot-path");
    let sockets = test_skill("sockets");
    let filer = test_skill("filer");
    let (audit, code) = audit_json(&[p(&hot), p(&regex), p(&sockets), p(&filer)]);
    assert_eq!(
        code, 3,
        "a component the host would refuse makes the exit partial"
    );

    for (id, file) in [("hot-functions", &hot), ("regex-in-hot-path", &regex)] {
        let c = component(&audit, id);
        assert_eq!(c["digest"], format!("sha256:{}", digest_of(file)), "{id}");
        assert_eq!(c["verdict"], "loads", "{id}");
        let imported = imports(c);
        for wanted in [
            "joule:skill/profiles@",
            "joule:skill/source@",
            "joule:skill/log@",
        ] {
            assert!(
                imported.iter().any(|i| i.starts_with(wanted)),
                "{id} imports {wanted}: {imported:?}"
            );
        }
        assert!(
            !imported.iter().any(|i| i.starts_with("wasi:filesystem")
                || i.starts_with("wasi:sockets")
                || i.starts_with("wasi:http")),
            "{id}: {imported:?}"
        );
        // Every import says what it reaches in this host.
        for i in c["imports"].as_array().unwrap() {
            let reaches = i["reaches"].as_str().unwrap();
            assert!(
                !reaches.is_empty() && !reaches.contains("not provided"),
                "{i}"
            );
        }
        assert!(gaps(c).is_empty(), "{id}: {:?}", gaps(c));
    }

    // What a component imports is read from the component: `sockets` declares nothing, but
    // its imports show wasi:sockets, and the host would refuse it.
    for (id, risky) in [("sockets", "wasi:sockets/"), ("filer", "wasi:filesystem/")] {
        let c = component(&audit, id);
        assert!(imports(c).iter().any(|i| i.starts_with(risky)), "{id}");
        let verdict = c["verdict"].as_str().unwrap();
        assert!(verdict.starts_with("refused"), "{id}: {verdict}");
        assert!(
            verdict.contains(risky.trim_end_matches('/')),
            "{id}: {verdict}"
        );
        assert!(
            gaps(c)
                .iter()
                .any(|g| g.starts_with(&format!("risky import {risky}"))
                    && g.contains("not granted")),
            "{id}: {:?}",
            gaps(c)
        );
    }
}

#[test]
fn audit_against_a_policy_shows_grants_and_the_gaps_both_ways() {
    let dir = scratch_dir("audit-policy");
    let policy = dir.join("policy.toml");
    // `snoop` imports profiles but not source; grant it a tree it never asks for, and give
    // hot-functions no tree although it imports source.
    let text = format!(
        "version = 1\n\n[[skill]]\nid = \"hot-functions\"\ndigest = \"sha256:{}\"\nprofiles = [\"*\"]\n\n[[skill]]\nid = \"snoop\"\ndigest = \"sha256:{}\"\nprofiles = [\"a.folded\"]\nsources = [\"app\"]\n\n[[skill]]\nid = \"sockets\"\ndigest = \"sha256:{}\"\nwasi = [\"sockets\", \"http\"]\n",
        digest_of(&skill("hot-functions")),
        digest_of(&test_skill("snoop")),
        digest_of(&test_skill("sockets")),
    );
    std::fs::write(&policy, text).unwrap();
    let (audit, _) = audit_json(&[
        "--policy",
        p(&policy),
        p(&skill("hot-functions")),
        p(&test_skill("snoop")),
        p(&test_skill("sockets")),
        p(&skill("regex-in-hot-path")),
    ]);

    let hot = component(&audit, "hot-functions");
    assert_eq!(hot["verdict"], "loads");
    assert_eq!(hot["grants"]["profiles"], "*");
    assert!(
        gaps(hot).contains(&"imports joule:skill/source but is granted no source tree"),
        "{:?}",
        gaps(hot)
    );

    let snoop = component(&audit, "snoop");
    assert!(
        gaps(snoop).contains(&"is granted source trees but never imports joule:skill/source"),
        "{:?}",
        gaps(snoop)
    );

    let sockets = component(&audit, "sockets");
    assert_eq!(
        sockets["verdict"], "loads",
        "wasi sockets granted: {sockets:#}"
    );
    assert!(
        gaps(sockets).contains(&"is granted wasi \"http\" but never imports it"),
        "{:?}",
        gaps(sockets)
    );
    assert!(
        gaps(sockets)
            .iter()
            .any(|g| g.starts_with("risky import wasi:sockets/") && g.ends_with("(granted)")),
        "{:?}",
        gaps(sockets)
    );

    // Deny by default: a component the policy does not name is refused, and the verdict says
    // what entry would let it run.
    let regex = component(&audit, "regex-in-hot-path");
    // Refused before any of its code ran: named by the id its component claims, not described.
    assert_eq!(regex["id_from"], "claim", "{regex:#}");
    assert_eq!(regex["version"], "", "{regex:#}");
    let verdict = regex["verdict"].as_str().unwrap();
    assert!(verdict.contains("no [[skill]] entry"), "{verdict}");
    assert!(
        verdict.contains(&format!(
            "sha256:{}",
            digest_of(&skill("regex-in-hot-path"))
        )),
        "{verdict}"
    );

    // The text form carries the same verdicts, one row per component.
    let out = joule(&[
        "audit",
        "--policy",
        p(&policy),
        p(&skill("hot-functions")),
        p(&test_skill("sockets")),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let row = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("no row for {id}:\n{text}"))
            .to_string()
    };
    assert!(row("hot-functions").ends_with("loads"), "{text}");
    assert!(row("sockets").contains("loads"), "{text}");
    assert!(text.contains("wasi:cli/environment"), "{text}");
    assert!(text.contains("empty: no variables, no arguments"), "{text}");
}

#[test]
fn policy_init_and_pin_write_digests_the_host_then_accepts() {
    let dir = scratch_dir("policy-pin");
    let hot = skill("hot-functions");

    // init: a starting policy, pinned to the components given.
    let out = joule(&["policy", "init", "--skills", p(&hot)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let init = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        init.contains(&format!("digest = \"sha256:{}\"", digest_of(&hot))),
        "{init}"
    );

    // pin: the demo policy's placeholders become the built components' digests, comments kept.
    let policy = dir.join("demo.toml");
    std::fs::copy(root().join("policies/demo.toml"), &policy).unwrap();
    let out = joule(&["policy", "pin", p(&policy), "--skills", p(&skills_dir())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pinned = std::fs::read_to_string(&policy).unwrap();
    assert!(!pinned.contains(&format!("digest = \"{PIN}\"")), "{pinned}");
    for id in ["hot-functions", "regex-in-hot-path"] {
        assert!(
            pinned.contains(&format!("sha256:{}", digest_of(&skill(id)))),
            "{id}: {pinned}"
        );
    }
    assert!(
        pinned.contains("# Limits for every skill below"),
        "{pinned}"
    );
}

#[test]
fn the_demo_runs_under_its_policy_with_the_same_findings_and_an_audit_log() {
    let policy = pinned_policy(root().join("policies/demo.toml"), &[]);
    let skills = skills_dir();
    let base = [
        "--profile",
        "example/profiles/logscan.pb.gz",
        "--source",
        "example=example/logscan",
        "--skills",
        path_str(&skills),
    ];
    let (open, code, stderr) = joule_json(&base);
    assert_eq!(code, 0, "{stderr}");

    let audit_log = scratch_dir("demo-policy").join("audit.jsonl");
    let mut args: Vec<&str> = base.to_vec();
    args.extend(["--policy", p(&policy), "--audit-log", p(&audit_log)]);
    let (governed, code, stderr) = joule_json(&args);
    assert_eq!(code, 0, "{stderr}");

    // The policy grants what the skills need: same findings as without it.
    let ids = |r: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&open), ids(&governed));
    assert!(!ids(&governed).is_empty());

    let text = std::fs::read_to_string(&audit_log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for id in ["hot-functions", "regex-in-hot-path"] {
        let digest = digest_of(&skill(id));
        let mine: Vec<_> = lines.iter().filter(|l| l["skill"] == id).collect();
        assert!(
            mine.iter()
                .any(|l| l["op"] == "load" && l["decision"] == "allow"),
            "{id}: no load record"
        );
        assert!(mine.iter().all(|l| l["digest"] == digest.as_str()), "{id}");
        assert!(
            mine.iter()
                .any(|l| l["interface"] == "profiles" && l["resource"] == "logscan.pb.gz"),
            "{id}: no profile query recorded"
        );
    }
    // regex-in-hot-path reads the source it patches (the line of each call, beside its syntax
    // queries); the audit log names the file, not its text.
    assert!(
        lines.iter().any(|l| l["skill"] == "regex-in-hot-path"
            && l["op"] == "read-lines"
            && l["resource"].as_str().unwrap().starts_with("example:src/")),
        "{text}"
    );
    assert!(
        !text.contains("Regex::new"),
        "the audit log holds source text"
    );
}
