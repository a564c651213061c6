//! `joule run --format sarif` on the bundled example, offense and defense: a log Microsoft's
//! SARIF Multitool validates with its GitHub rules (npm `@microsoft/sarif-multitool`, installed
//! under the target directory), with rules per skill rule, the skills as extensions, paths
//! relative to the repository root that name real files, fingerprints stable across runs, and
//! fixes whose replacements make the same files as the findings' own patches.
//!
//! Needs `npm` (`make setup` installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use joule_tests::*;
use serde_json::Value;

/// The Multitool version the checks were written against.
const MULTITOOL: &str = "@microsoft/sarif-multitool@5.7.0";

/// The Multitool's Linux executable, installed once under the target directory.
fn multitool() -> PathBuf {
    let dir = target_dir().join("sarif-multitool");
    let exe = dir.join("node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    if !exe.is_file() {
        run_ok(
            Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .arg(MULTITOOL),
        );
    }
    exe
}

/// The example's report in `format`, with every shipped skill, its history cloned into
/// `scratch`.
fn example_report(scratch: &Path, format: &str, out: &Path) {
    let history = scratch.join("logscan");
    if !history.is_dir() {
        clone_example_history(scratch);
    }
    let ex = root().join("example");
    let args = [
        "run".to_string(),
        "--profile".into(),
        path_str(&ex.join("profiles/logscan.pb.gz")).into(),
        "--source".into(),
        format!("example={}", path_str(&ex.join("logscan"))),
        "--history".into(),
        format!("logscan={}", path_str(&history)),
        "--deploy-log".into(),
        format!("logscan={}", path_str(&ex.join("history/deploys.csv"))),
        "--profile-series".into(),
        path_str(&ex.join("history/profiles")).into(),
        "--param".into(),
        "regression-detect.series=total:logscan::".into(),
        "--skills".into(),
        path_str(&skills_dir()).into(),
        "--format".into(),
        format.into(),
        "-o".into(),
        path_str(out).into(),
    ];
    let output = joule(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_sarif_log_validates_and_points_at_the_right_lines() {
    let scratch = scratch_dir("sarif");
    let log_path = scratch.join("example.sarif");
    example_report(&scratch, "sarif", &log_path);
    let log = read_json(&log_path);
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "Joule");

    // A rule per skill rule, prefixed by the skill; each skill an extension with its digest.
    let rules: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for wanted in [
        "regex-in-hot-path/regex-compiled-per-call",
        "regression-detect/mean-shift",
        "regression-mitigate/revert",
    ] {
        assert!(rules.contains(&wanted), "{wanted} not in {rules:?}");
    }
    for rule in driver["rules"].as_array().unwrap() {
        assert!(rule["shortDescription"]["text"].as_str().unwrap().len() > 5);
        assert!(
            rule["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("Joule skill")
        );
    }
    let extensions = run["tool"]["extensions"].as_array().unwrap();
    let regex = extensions
        .iter()
        .find(|e| e["name"] == "regex-in-hot-path")
        .expect("the regex skill is an extension");
    assert_eq!(
        regex["properties"]["digest"].as_str().unwrap(),
        format!("sha256:{}", digest_of(&skill("regex-in-hot-path")))
    );

    // Results: every one located; files relative to the repository root, and real.
    let results = run["results"].as_array().unwrap();
    let json_path = scratch.join("example.json");
    example_report(&scratch, "json", &json_path);
    let report = read_json(&json_path);
    assert_eq!(results.len(), report["findings"].as_array().unwrap().len());
    for r in results {
        let rule = r["ruleId"].as_str().unwrap();
        assert_eq!(
            driver["rules"][r["ruleIndex"].as_u64().unwrap() as usize]["id"],
            rule
        );
        assert!(!r["locations"].as_array().unwrap().is_empty(), "{r}");
        if let Some(uri) = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str()
        {
            assert!(
                root().join(uri).is_file(),
                "{uri} is not a file of the repository"
            );
        }
        assert!(r["properties"]["confidence"].as_f64().is_some());
        assert!(
            r["partialFingerprints"]["primaryLocationLineHash"]
                .as_str()
                .unwrap()
                .ends_with(":1")
        );
    }
    let hoists: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "regex-in-hot-path/regex-compiled-per-call")
        .collect();
    assert_eq!(hoists.len(), 2);
    let parse_line = hoists
        .iter()
        .find(|r| {
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                == "logscan::parse::parse_line"
        })
        .unwrap();
    let place = &parse_line["locations"][0]["physicalLocation"];
    assert_eq!(
        place["artifactLocation"]["uri"],
        "example/logscan/src/parse.rs"
    );
    let line = place["region"]["startLine"].as_u64().unwrap() as usize;
    let source = std::fs::read_to_string(root().join("example/logscan/src/parse.rs")).unwrap();
    assert!(
        source.lines().nth(line - 1).unwrap().contains("Regex::new"),
        "line {line} of parse.rs is the Regex::new"
    );
    assert!(parse_line["properties"]["share"].as_f64().unwrap() > 0.5);
    assert!(
        parse_line["properties"]["saving"]["cores"]
            .as_f64()
            .is_some()
    );

    // The fixes make the same file as each finding's own patch.
    for r in &hoists {
        let id = r["properties"]["joule/id"].as_str().unwrap();
        let finding = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap();
        let patched = patched_by_patch(&scratch, finding["patch"].as_str().unwrap());
        let fixed = fixed_by_sarif(&r["fixes"][0]);
        assert_eq!(
            fixed, patched,
            "the SARIF fix of {id} differs from its patch"
        );
    }

    // Stable across runs: the same findings, the same fingerprints.
    let again_path = scratch.join("again.sarif");
    example_report(&scratch, "sarif", &again_path);
    let again = read_json(&again_path);
    let prints = |log: &Value| -> Vec<String> {
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"]["primaryLocationLineHash"].to_string())
            .collect()
    };
    assert_eq!(prints(&log), prints(&again));

    // Microsoft's validator, with the rules GitHub code scanning applies: no errors.
    let validated = scratch.join("validation.sarif");
    let _ = std::fs::remove_file(&validated);
    let out = Command::new(multitool())
        .args(["validate", "--rule-kind", "Sarif;Gh", "-o"])
        .arg(&validated)
        .arg(&log_path)
        // Its .NET runtime needs no ICU this way.
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .expect("the Multitool runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    let findings = read_json(&validated);
    let errors: Vec<&Value> = findings["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error")
        .collect();
    assert!(errors.is_empty(), "the Multitool found errors:\n{said}");
    assert!(said.contains("1 files scanned"), "{said}");
}

/// The file a finding's unified diff makes from the example's tree (`git apply` on a copy).
fn patched_by_patch(scratch: &Path, patch: &str) -> (String, String) {
    let copy = scratch.join("patched");
    let _ = std::fs::remove_dir_all(&copy);
    run_ok(
        Command::new("cp")
            .arg("-r")
            .arg(root().join("example/logscan"))
            .arg(&copy),
    );
    let file = scratch.join("finding.patch");
    std::fs::write(&file, patch).unwrap();
    run_ok(
        Command::new("git")
            .arg("apply")
            .arg(&file)
            .current_dir(&copy),
    );
    let changed = patch
        .lines()
        .find_map(|l| l.strip_prefix("+++ b/"))
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(copy.join(&changed)).unwrap();
    (format!("example/logscan/{changed}"), text)
}

/// The file a SARIF fix makes: its one artifact change's replacements, applied by line and
/// column (or byte) to the repository's file.
fn fixed_by_sarif(fix: &Value) -> (String, String) {
    let changes = fix["artifactChanges"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{fix}");
    let uri = changes[0]["artifactLocation"]["uri"].as_str().unwrap();
    let text = std::fs::read_to_string(root().join(uri)).unwrap();
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |line: usize, column: Option<usize>| -> usize {
        line_starts[line - 1] + column.map_or(0, |c| c - 1)
    };
    let line_end = |line: usize| -> usize {
        text[line_starts[line - 1]..]
            .find('\n')
            .map_or(text.len(), |i| line_starts[line - 1] + i)
    };
    let mut edits: Vec<(usize, usize, String)> = changes[0]["replacements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let region = &r["deletedRegion"];
            let inserted = r["insertedContent"]["text"].as_str().unwrap().to_string();
            if let Some(byte) = region["byteOffset"].as_u64() {
                let len = region["byteLength"].as_u64().unwrap();
                return (byte as usize, (byte + len) as usize, inserted);
            }
            let start_line = region["startLine"].as_u64().unwrap() as usize;
            let end_line = region["endLine"].as_u64().unwrap_or(start_line as u64) as usize;
            let start_col = region["startColumn"].as_u64().map(|c| c as usize);
            let start = offset(start_line, start_col.or(Some(1)));
            let end = match region["endColumn"].as_u64() {
                Some(c) => offset(end_line, Some(c as usize)),
                None => line_end(end_line),
            };
            (start, end, inserted)
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.clone();
    for (start, end, inserted) in edits {
        out.replace_range(start..end, &inserted);
    }
    (uri.to_string(), out)
}
