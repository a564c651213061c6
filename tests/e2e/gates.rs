//! CI gates on the bundled example: `--baseline` marks each finding new or unchanged and lists
//! the gone ones (JSON, Markdown, SARIF), and `--fail-on` exits with status 4 exactly when
//! findings of its kind, share and confidence are there; a bad baseline is refused before the
//! run, naming the file and the place.

use std::path::Path;

use joule_tests::*;
use serde_json::{Value, json};

/// `joule run` on the example's profile and tree with the offense skills, plus `extra`.
fn run(extra: &[&str]) -> std::process::Output {
    let ex = root().join("example");
    let mut args = vec![
        "run".to_string(),
        "--profile".into(),
        path_str(&ex.join("profiles/logscan.pb.gz")).into(),
        "--source".into(),
        format!("example={}", path_str(&ex.join("logscan"))),
        "--skills".into(),
        path_str(&skill("hot-functions")).into(),
        "--skills".into(),
        path_str(&skill("regex-in-hot-path")).into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    joule(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn json_of(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn baselines_mark_findings_and_gates_trip_on_what_they_name() {
    let scratch = scratch_dir("gates");
    let first = scratch.join("first.json");
    let out = run(&["--format", "json", "-o", path_str(&first)]);
    assert_eq!(out.status.code(), Some(0));
    let report = json_of(&first);
    let ids: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    let hoist = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["skill"] == "regex-in-hot-path")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // An earlier report without one hoist, and with a finding since fixed.
    let mut earlier = report.clone();
    let findings = earlier["findings"].as_array_mut().unwrap();
    findings.retain(|f| f["id"] != hoist.as_str());
    findings.push(json!({
        "id": "00000000000000aa", "skill": "regex-in-hot-path", "kind": "opportunity",
        "rule": "regex-compiled-per-call", "title": "a regex compiled in a loop, since hoisted",
        "message": "", "locations": [], "impact": {}, "confidence": 0.9, "evidence": [],
        "edits": []
    }));
    let earlier_path = scratch.join("earlier.json");
    std::fs::write(&earlier_path, earlier.to_string()).unwrap();

    let second = scratch.join("second.json");
    let out = run(&[
        "--format",
        "json",
        "-o",
        path_str(&second),
        "--baseline",
        path_str(&earlier_path),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compared = json_of(&second);
    assert_matches_schema(&compared);
    let baseline = &compared["baseline"];
    assert_eq!(baseline["new"], json!([hoist]));
    assert_eq!(
        baseline["unchanged"].as_array().unwrap().len(),
        ids.len() - 1
    );
    assert_eq!(baseline["gone"][0]["id"], "00000000000000aa");
    assert_eq!(
        baseline["gone"][0]["title"],
        "a regex compiled in a loop, since hoisted"
    );

    // Markdown: a Baseline column, and what is gone.
    let out = run(&["--baseline", path_str(&earlier_path)]);
    let markdown = String::from_utf8_lossy(&out.stdout);
    assert!(markdown.contains("| Baseline |"), "{markdown}");
    assert!(markdown.contains("1 new, "), "{markdown}");
    assert!(
        markdown.contains("| Gone since the baseline |"),
        "{markdown}"
    );
    assert!(markdown.contains("a regex compiled in a loop, since hoisted"));

    // SARIF: each result's baselineState.
    let sarif = scratch.join("second.sarif");
    run(&[
        "--format",
        "sarif",
        "-o",
        path_str(&sarif),
        "--baseline",
        path_str(&earlier_path),
    ]);
    let log = json_of(&sarif);
    for r in log["runs"][0]["results"].as_array().unwrap() {
        let id = r["properties"]["joule/id"].as_str().unwrap();
        let wanted = if id == hoist { "new" } else { "unchanged" };
        assert_eq!(r["baselineState"], wanted, "{id}");
    }

    // Gates: status 4 exactly when findings of the kind, share and confidence are there.
    let gate = |args: &[&str]| run(&[&["-o", path_str(&scratch.join("gated.md"))], args].concat());
    let tripped = gate(&["--fail-on", "opportunity"]);
    assert_eq!(tripped.status.code(), Some(4));
    let said = String::from_utf8_lossy(&tripped.stderr);
    assert!(
        said.contains("trip --fail-on opportunity") && said.contains(&hoist),
        "{said}"
    );
    assert!(
        scratch.join("gated.md").is_file(),
        "the report is written when the gate trips"
    );
    assert_eq!(gate(&["--fail-on", "regression"]).status.code(), Some(0));
    assert_eq!(
        gate(&["--fail-on", "opportunity", "--min-share", "0.99"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        gate(&["--fail-on", "opportunity", "--min-confidence", "1.01"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(gate(&["--fail-on", "any"]).status.code(), Some(4));
    // New against the baseline: the one hoist; against the first report itself, nothing.
    let new = gate(&["--fail-on", "new", "--baseline", path_str(&earlier_path)]);
    assert_eq!(new.status.code(), Some(4));
    let said = String::from_utf8_lossy(&new.stderr);
    assert!(
        said.contains("1 finding(s)") && said.contains(&hoist),
        "{said}"
    );
    assert_eq!(
        gate(&["--fail-on", "new", "--baseline", path_str(&first)])
            .status
            .code(),
        Some(0)
    );

    // A baseline that is not a report: refused before the run, with the file and the place.
    let bad = scratch.join("bad.json");
    std::fs::write(&bad, "{\"findings\": [\n  {\"id\": 7}\n]}").unwrap();
    let out = run(&["--baseline", path_str(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("bad.json") && said.contains("line 2"),
        "{said}"
    );
    assert!(out.stdout.is_empty(), "no report without a usable baseline");
}

/// On a terminal (a pseudo-terminal from `script`), `joule run` shows the skills' progress on
/// standard error and clears it; with a machine format, or off a terminal, nothing.
#[test]
fn progress_shows_on_a_terminal_only() {
    let scratch = scratch_dir("progress");
    let ex = root().join("example");
    let command = |format: &str| {
        format!(
            "JOULE_NO_BUILTIN_SKILLS=1 JOULE_CACHE_DIR={} {} run --profile {} --skills {} --skills {} --format {format} -o {}",
            path_str(&cache_dir()),
            path_str(joule_bin()),
            path_str(&ex.join("profiles/logscan.pb.gz")),
            path_str(&skill("hot-functions")),
            path_str(&skill("regex-in-hot-path")),
            path_str(&scratch.join(format!("report.{format}"))),
        )
    };
    let on_terminal = |format: &str| {
        let out = std::process::Command::new("script")
            .args(["-qec", &command(format), "/dev/null"])
            .output()
            .expect("script (util-linux) runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // indicatif limits how often it draws, so which counts show depends on timing: the
    // spinner, or the skills' count, or both.
    let shown = on_terminal("markdown");
    assert!(
        shown.contains("loading the skills") || shown.contains("/2 ["),
        "{shown:?}"
    );
    assert!(on_terminal("json").is_empty());
    // Off a terminal: no progress on stderr.
    let out = run(&["-o", path_str(&scratch.join("plain.md"))]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("skills "),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
