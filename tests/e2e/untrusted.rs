//! Untrusted text (docs/security.md): given `scribbler`, a skill whose every string tries to
//! break the output it lands in, and `misnamer`, whose id holds a forged table row, beside
//! `hot-functions`, no output changes shape. The Markdown report has one table row and one
//! section per finding, each credited to its own skill, and one row per run; `joule audit` has
//! one block per component and no `gaps: none` but its own; `joule skills` one entry per skill;
//! `joule policy init` parses with exactly the keys it writes; and nothing a skill wrote reaches
//! the terminal as an escape sequence, a carriage return, NUL or a bidi control. The JSON report
//! keeps the skills' text as they gave it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use joule_tests::shape::{assert_terminal_safe, read};
use joule_tests::*;
use serde_json::Value;

/// A source tree `app` holding `src/lib.rs`, for the edit scribbler proposes.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    dir
}

fn run_args(tree: &Path) -> Vec<String> {
    let profile = fixture("pprof/large.cpu.pb.gz");
    [
        "--profile",
        path_str(&profile),
        "--source",
        &format!("app={}", tree.display()),
        "--skills",
        path_str(&skill("hot-functions")),
        "--skills",
        path_str(&test_skill("scribbler")),
        "--skills",
        path_str(&test_skill("misnamer")),
    ]
    .map(String::from)
    .to_vec()
}

fn strings(values: &Value, key: &str) -> Vec<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn scribbled_text_changes_nothing_in_the_shape_of_the_markdown_report() {
    let tree = tree();
    let args = run_args(tree.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // The same run in JSON: the findings and runs the report must show, and no more.
    let (report, code, _) = joule_json(&args);
    assert_eq!(code, 3, "scribbler's triggered run and misnamer fail");
    let findings = report["findings"].as_array().unwrap();
    let skills_of_findings = strings(&report["findings"], "skill");
    let skills_of_runs = strings(&report["runs"], "skill");
    assert!(findings.len() > 20, "{report:#}");
    assert!(skills_of_findings.iter().any(|s| s == "hot-functions"));
    // JSON keeps the skill's text as it gave it.
    let first = findings
        .iter()
        .find(|f| f["labels"]["fingerprint"] == "first")
        .unwrap();
    assert!(
        first["title"].as_str().unwrap().contains("\x1b[2K\r"),
        "{first:#}"
    );

    let mut all = vec!["run", "--format", "markdown"];
    all.extend(&args);
    let out = joule(&all);
    assert_eq!(out.status.code(), Some(3));
    let markdown = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_terminal_safe("the Markdown report", &markdown);
    let read = read(&markdown);
    assert_eq!(read.unwanted, Vec::<String>::new(), "{markdown}");

    // Headings: the title, one per finding in rank order, then the runs. No other.
    assert_eq!(
        read.headings.len(),
        findings.len() + 2,
        "{:#?}",
        read.headings
    );
    assert_eq!(read.headings[0], "Joule report");
    for (i, heading) in read.headings[1..=findings.len()].iter().enumerate() {
        assert!(
            heading.starts_with(&format!("{}. ", i + 1)),
            "heading {}: {heading:?}",
            i + 1
        );
    }
    assert_eq!(read.headings.last().unwrap(), "Runs");

    // Each finding's section says which skill made it, the one JSON says.
    for (i, skill) in skills_of_findings.iter().enumerate() {
        let line = &read.after_heading[i + 1];
        assert!(
            line.contains(&format!(" · skill {skill} · ")),
            "finding {}: {line:?}",
            i + 1
        );
        if skill != "hot-functions" {
            assert!(!line.contains(" · skill hot-functions · "), "{line:?}");
        }
    }

    // Tables: findings, then runs; a row per finding and per run, each credited as in JSON.
    let tables: Vec<&Vec<Vec<String>>> = read
        .tables
        .iter()
        .filter(|t| t[0][0] == "#" || t[0][0] == "Skill")
        .collect();
    assert_eq!(tables.len(), 2, "{:#?}", read.tables);
    let (found, runs) = (tables[0], tables[1]);
    assert_eq!(found.len(), findings.len() + 1, "{found:#?}");
    for (i, row) in found[1..].iter().enumerate() {
        assert_eq!(row.len(), 7, "{row:?}");
        assert_eq!(row[0], (i + 1).to_string());
        assert_eq!(row[6], skills_of_findings[i], "row {}: {row:?}", i + 1);
    }
    assert_eq!(runs.len(), skills_of_runs.len() + 1, "{runs:#?}");
    for (row, skill) in runs[1..].iter().zip(&skills_of_runs) {
        assert_eq!(row.len(), 7, "{row:?}");
        assert_eq!(&row[0], skill);
    }
    assert_eq!(
        runs.iter().filter(|r| r[0] == "misnamer").count(),
        1,
        "{runs:#?}"
    );

    // What could not stay Markdown is shown as text, named; the patch stays in its block.
    assert!(
        markdown.contains("Message from `scribbler`, shown as text"),
        "{markdown}"
    );
    assert!(
        markdown.contains("+## 97. Injected from a patch"),
        "{markdown}"
    );

    // The terminal: scribbler's two log lines (error and warn) are two lines of stderr, and
    // every line of stderr is the host's.
    assert_terminal_safe("stderr", &stderr);
    for line in stderr.lines() {
        let host_line = line.starts_with("joule: warning: ")
            || (line.len() > 20 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit));
        assert!(
            host_line,
            "a line the host did not write: {line:?}\n{stderr}"
        );
    }
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("skill=scribbler"))
            .count(),
        2,
        "{stderr}"
    );
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("joule: warning: skill `scribbler` failed"))
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_skill_id_that_would_forge_a_row_is_refused_at_load() {
    let tree = tree();
    let args = run_args(tree.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (report, _, stderr) = joule_json(&args);
    let misnamer = run_of(&report, "misnamer");
    assert_eq!(misnamer["status"], "failed");
    assert_eq!(misnamer["trigger"], "load");
    let error = misnamer["error"].as_str().unwrap();
    assert!(
        error.contains("`describe` returned the id \"hot-functions\\n| 1 | forged")
            && error.contains("may hold only ASCII letters, digits, `.`, `_` and `-`"),
        "{error}"
    );
    assert!(findings_of(&report, "misnamer").is_empty());
    // Its one warning is one line.
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("misnamer")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert_terminal_safe("stderr", &stderr);
}

/// `joule audit` of hot-functions, scribbler and misnamer, as text and as JSON.
fn audit() -> (String, Value) {
    let paths = [
        skill("hot-functions"),
        test_skill("scribbler"),
        test_skill("misnamer"),
    ];
    let paths: Vec<&str> = paths.iter().map(|p| path_str(p)).collect();
    let mut text_args = vec!["audit"];
    text_args.extend(&paths);
    let out = joule(&text_args);
    assert_eq!(out.status.code(), Some(3), "misnamer cannot load");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut json_args = vec!["audit", "--format", "json"];
    json_args.extend(&paths);
    let json = serde_json::from_slice(&joule(&json_args).stdout).unwrap();
    (text, json)
}

#[test]
fn the_audit_keeps_one_block_per_component_and_no_gaps_but_its_own() {
    let (text, json) = audit();
    assert_terminal_safe("joule audit", &text);
    let components = json["components"].as_array().unwrap();
    let ids = strings(&json["components"], "id");
    assert_eq!(ids, ["hot-functions", "scribbler"], "{json:#}");
    // JSON keeps what scribbler declared as it declared it.
    let scribbler = &components[1];
    assert!(
        scribbler["declares"][1]
            .as_str()
            .unwrap()
            .contains("gaps:     none"),
        "{scribbler:#}"
    );

    // Every line is the host's: the header, the table (one row per component), the blocks
    // (one header line per component, then indented lines), the unloadable one.
    let mut rows = Vec::new();
    let mut blocks = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("Policy: ") || line.starts_with("SKILL ") {
            continue;
        }
        if line.starts_with("  ") {
            continue;
        }
        if line.starts_with("unloadable: ") {
            assert!(line.contains("misnamer.wasm"), "{line}");
            continue;
        }
        let id = line.split(' ').next().unwrap();
        assert!(
            ids.iter().any(|i| i == id),
            "a line the host did not write: {line:?}\n{text}"
        );
        if line.contains(".wasm)") {
            blocks.push(id);
        } else {
            rows.push(id);
        }
    }
    assert_eq!(rows, ["hot-functions", "scribbler"], "{text}");
    assert_eq!(blocks, ["hot-functions", "scribbler"], "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("unloadable: "))
            .count(),
        1,
        "{text}"
    );
    for key in [
        "  digest:",
        "  verdict:",
        "  imports:",
        "  declares:",
        "  grants:",
        "  gaps:",
    ] {
        assert_eq!(
            text.lines().filter(|l| l.starts_with(key)).count(),
            2,
            "{key}\n{text}"
        );
    }
    let no_gaps = components
        .iter()
        .filter(|c| c["gaps"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(
        text.lines().filter(|l| *l == "  gaps:     none").count(),
        no_gaps,
        "{text}"
    );
}

#[test]
fn joule_skills_keeps_one_entry_per_skill() {
    let out = joule(&[
        "skills",
        "--skills",
        path_str(&skill("hot-functions")),
        "--skills",
        path_str(&test_skill("scribbler")),
        "--skills",
        path_str(&test_skill("misnamer")),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_terminal_safe("joule skills", &text);
    assert_terminal_safe("joule skills' stderr", &stderr);
    let entries: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(entries.len(), 2, "{text}");
    for (entry, id) in entries.iter().zip(["hot-functions", "scribbler"]) {
        let mut lines = entry.lines();
        assert!(
            lines.next().unwrap().starts_with(&format!("{id} ")),
            "{entry}"
        );
        for line in lines {
            assert!(
                line.starts_with("  "),
                "a line the host did not write: {line:?}"
            );
        }
        assert_eq!(
            entry.lines().filter(|l| l.starts_with("  sha256:")).count(),
            1,
            "{entry}"
        );
    }
    let scribbler = entries[1];
    // One summary line, one trigger line, one parameter (a header and one line).
    assert_eq!(
        scribbler
            .lines()
            .filter(|l| l.starts_with("  triggers:"))
            .count(),
        1
    );
    let parameters: Vec<&str> = scribbler
        .lines()
        .skip_while(|l| *l != "  parameters:")
        .skip(1)
        .collect();
    assert_eq!(parameters.len(), 1, "{scribbler}");
    assert_eq!(stderr.lines().count(), 1, "misnamer's warning: {stderr}");
}

#[test]
fn policy_init_writes_only_the_keys_it_means_to() {
    let hot = skill("hot-functions");
    let scribbler = test_skill("scribbler");
    let out = joule(&[
        "policy",
        "init",
        "--skills",
        path_str(&hot),
        "--skills",
        path_str(&scribbler),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_terminal_safe("joule policy init", &text);
    let policy: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("not TOML: {e}\n{text}"));
    let keys: BTreeSet<&str> = policy.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["version", "skill"]), "{text}");
    let skills = policy["skill"].as_array().unwrap();
    assert_eq!(skills.len(), 2, "{text}");
    let allowed = BTreeSet::from(["id", "digest", "profiles", "sources", "metrics", "history"]);
    let mut ids = Vec::new();
    for (entry, file) in skills.iter().zip([&hot, &scribbler]) {
        let entry = entry.as_table().unwrap();
        for key in entry.keys() {
            assert!(allowed.contains(key.as_str()), "{key} in {text}");
        }
        assert_eq!(
            entry["digest"].as_str().unwrap(),
            format!("sha256:{}", digest_of(file))
        );
        ids.push(entry["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids, ["hot-functions", "scribbler"]);
    // No grant of source trees to anyone: `init` grants none.
    for entry in skills {
        if let Some(sources) = entry.get("sources") {
            assert_eq!(sources.as_array().unwrap().len(), 0, "{text}");
        }
    }
    // And the policy it wrote loads: `joule audit` under it names both.
    let file: PathBuf = scratch_dir("untrusted-policy").join("policy.toml");
    std::fs::write(&file, &text).unwrap();
    let out = joule(&[
        "audit",
        "--format",
        "json",
        "--policy",
        path_str(&file),
        path_str(&hot),
        path_str(&scribbler),
    ]);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    for c in json["components"].as_array().unwrap() {
        assert_eq!(c["verdict"], "loads", "{c:#}");
    }
}
