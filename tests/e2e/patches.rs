//! Patches that say what they do, against a skill (`patcher`) whose edits try to hide it: one
//! file under another spelling, a fix of another skill's displaced from the combined patch, a
//! lone carriage return, and small edits whose patches carry whole files past the skill's
//! findings budget. Beside it, `regex-in-hot-path` fixes the bundled example.

use std::process::Command;

use joule_tests::*;
use serde_json::Value;

fn rule<'a>(findings: &[&'a Value], rule: &str) -> Vec<&'a Value> {
    findings
        .iter()
        .copied()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn ids(values: &Value) -> Vec<&str> {
    values
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn patches_name_one_file_once_say_what_they_displace_and_stay_in_budget() {
    let dir = scratch_dir("patches");
    let combined = dir.join("all.patch");
    let (report, code, stderr) = joule_json(&[
        "--profile",
        "example/profiles/logscan.pb.gz",
        "--source",
        "example=example/logscan",
        "--skills",
        path_str(&skill("regex-in-hot-path")),
        "--skills",
        path_str(&test_skill("patcher")),
        "--patch",
        path_str(&combined),
        // The findings budget the patches must stay in (as a policy's `findings_kib` would).
        "--max-skill-findings-kib",
        "4096",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let patcher = findings_of(&report, "patcher");
    let fixes = findings_of(&report, "regex-in-hot-path");
    assert_eq!(fixes.len(), 2, "{report:#}");

    // `./src//parse.rs` is reported as the file it is, and displaces both fixes of it from the
    // combined patch: every one of the three says which edits it overlaps.
    let take_over = rule(&patcher, "take-over")[0];
    assert_eq!(take_over["edits"][0]["file"], "src/parse.rs");
    let mut displaced = ids(&take_over["overlaps"]);
    displaced.sort();
    let mut fix_ids: Vec<&str> = fixes.iter().filter_map(|f| f["id"].as_str()).collect();
    fix_ids.sort();
    assert_eq!(displaced, fix_ids, "{take_over:#}");
    for fix in &fixes {
        assert_eq!(ids(&fix["overlaps"]), [take_over["id"].as_str().unwrap()]);
        assert!(
            fix["patch"].as_str().is_some(),
            "a fix's own patch still stands: {fix:#}"
        );
    }

    // A lone carriage return is line content, as git reads it.
    let lone = rule(&patcher, "lone-cr")[0];
    assert!(
        lone["patch"].as_str().unwrap().contains("+// one\rtwo\n"),
        "{lone:#}"
    );

    // Each deletion returns a few bytes and patches a whole file: past the findings budget
    // (4 MiB here) the patches are left out, and every finding stands.
    let deletions = rule(&patcher, "delete-report");
    assert_eq!(deletions.len(), 700);
    let (kept, left_out): (Vec<&Value>, Vec<&Value>) = deletions
        .iter()
        .partition(|f| f["patch"].as_str().is_some());
    assert!(
        !kept.is_empty() && !left_out.is_empty(),
        "{} kept",
        kept.len()
    );
    let patch_bytes: usize = patcher
        .iter()
        .filter_map(|f| f["patch"].as_str())
        .map(str::len)
        .sum();
    assert!(patch_bytes <= 4 << 20, "{patch_bytes} bytes of patches");
    let error = left_out[0]["patch_error"].as_str().unwrap();
    assert!(
        error.starts_with("patch left out:") && error.contains("findings budget of 4096 KiB"),
        "{error}"
    );

    // The combined patch names each file once and applies to a copy of the program.
    let text = std::fs::read_to_string(&combined).unwrap();
    for file in ["src/parse.rs", "src/main.rs", "src/report.rs"] {
        assert_eq!(
            text.matches(&format!("--- a/{file}\n")).count(),
            1,
            "{file} in:\n{text}"
        );
    }
    let copy = dir.join("logscan");
    std::fs::create_dir_all(copy.join("src")).unwrap();
    for entry in std::fs::read_dir(root().join("example/logscan/src")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join("src").join(entry.file_name())).unwrap();
    }
    run_ok(
        Command::new("git")
            .args(["apply", "--verbose"])
            .arg(&combined)
            .current_dir(&copy),
    );
    let parse = std::fs::read_to_string(copy.join("src/parse.rs")).unwrap();
    assert_eq!(parse, "// taken over\n");
    let main = std::fs::read_to_string(copy.join("src/main.rs")).unwrap();
    assert!(main.starts_with("// one\rtwo\n"), "{main:?}");
}
