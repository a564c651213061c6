//! Composition under run budgets: `breeder` runs on the scan and on its own findings (a trigger
//! declared a thousand times over) and answers each run with 50 findings. Beside it,
//! `hot-functions` and `follower` (once per hot function) must get everything they get alone,
//! and the run must stop the breeding at its budgets, share them fairly, say so, and finish.

use std::collections::HashSet;

use joule_tests::*;
use serde_json::Value;

fn records<'a>(report: &'a Value, skill: &str) -> Vec<&'a Value> {
    report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["skill"] == skill)
        .collect()
}

/// `hot-functions` and `follower` on Go's `large.cpu`, after the skills and flags in `first`
/// (so the skills given there run, and are triggered, before them).
fn run(first: &[&str]) -> (Value, i32, String) {
    let (hot, follower) = (skill("hot-functions"), test_skill("follower"));
    let mut args = vec!["--profile", "tests/fixtures/pprof/large.cpu.pb.gz"];
    args.extend_from_slice(first);
    args.extend(["--skills", path_str(&hot), "--skills", path_str(&follower)]);
    joule_json(&args)
}

#[test]
fn a_chain_that_feeds_on_itself_stops_at_the_run_budgets_and_the_others_keep_theirs() {
    let (alone, code, stderr) = run(&[]);
    assert_eq!(code, 0, "{stderr}");
    let breeder = test_skill("breeder");
    // The breeder comes first, so its jobs and findings come first in every round: the budgets
    // are shared out fairly, not first come first served, or the few would get nothing.
    let (report, code, stderr) = run(&[
        "--skills",
        path_str(&breeder),
        "--max-invocations",
        "40",
        "--max-findings",
        "700",
    ]);
    assert_eq!(code, 3, "a budget reached is a partial result: {stderr}");

    // The others found exactly what they find alone.
    for skill in ["hot-functions", "follower"] {
        assert_eq!(
            finding_facts(&findings_of(&report, skill)),
            finding_facts(&findings_of(&alone, skill)),
            "{skill}"
        );
        assert!(records(&report, skill).iter().all(|r| r["status"] == "ok"));
    }

    // At most 300 invocations ran, each skill at most once per upstream finding, however many
    // of its triggers matched it.
    let ran: Vec<&Value> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["trigger"] != "budget")
        .collect();
    assert!(ran.len() <= 40, "{} invocations", ran.len());
    let mut pairs = HashSet::new();
    for r in &ran {
        if let Some(input) = r["input"].as_str() {
            assert!(pairs.insert((r["skill"].as_str(), input)), "twice: {r:#}");
        }
    }

    // What was left out is said, with the flag that raises the limit: invocations not run as
    // failures, findings not kept as a warning with their count.
    let budget_records: Vec<&Value> = records(&report, "breeder")
        .into_iter()
        .filter(|r| r["trigger"] == "budget")
        .collect();
    let budget: Vec<&str> = budget_records
        .iter()
        .filter_map(|r| r["error"].as_str().or(r["warning"].as_str()))
        .collect();
    assert!(
        budget_records
            .iter()
            .any(|r| r["status"] == "ok" && r["findings_dropped"].as_u64() > Some(0)),
        "{budget_records:?}"
    );
    assert!(
        budget
            .iter()
            .any(|e| e.contains("were not run") && e.contains("--max-invocations")),
        "{budget:?}"
    );
    assert!(
        budget
            .iter()
            .any(|e| e.contains("were not kept") && e.contains("--max-findings")),
        "{budget:?}"
    );
    assert!(findings_of(&report, "breeder").len() < 700);
}
