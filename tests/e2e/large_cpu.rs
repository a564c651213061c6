//! Given Google pprof's `large.cpu` (a Go CPU profile, 20,430 samples), `joule profile top`
//! gives the flat and cumulative values `pprof -top` gives, and the shipped skills report the
//! right hot functions and no regex finding (there is no regex in it).

use joule_tests::*;

#[test]
fn profile_top_matches_pprof() {
    let file = fixture("pprof/large.cpu.pb.gz");
    let out = joule(&["profile", "top", path_str(&file), "-n", "5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    // pprof -top on the same file:
    //   205.17s 85.38% 85.38%    205.17s 85.38%  time.Now
    //    22.91s  9.53% 94.92%     22.91s  9.53%  time.now
    //     8.81s  3.67% 98.59%    217.07s 90.34%  main.next
    assert_eq!(
        rows[0],
        [
            "205.17s", "85.38%", "85.38%", "205.17s", "85.38%", "time.Now"
        ]
    );
    assert_eq!(
        rows[1],
        ["22.91s", "9.53%", "94.92%", "22.91s", "9.53%", "time.now"]
    );
    assert_eq!(
        rows[2],
        ["8.81s", "3.67%", "98.59%", "217.07s", "90.34%", "main.next"]
    );
    assert_eq!(rows.len(), 5);
    assert!(text.contains("Type: cpu"), "{text}");
    assert!(text.contains("of 240.29s total"), "{text}");
}

#[test]
fn profile_top_json_and_other_sample_types() {
    let file = fixture("pprof/large.cpu.pb.gz");
    let out = joule(&[
        "profile",
        "top",
        path_str(&file),
        "-n",
        "2",
        "--sample-type",
        "samples",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let top: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(top["sample_type"], "samples/count");
    assert_eq!(top["total"], 24029);
    assert_eq!(top["functions"][0]["function"], "time.Now");
    assert_eq!(top["functions"][0]["flat"], 20517);

    let out = joule(&[
        "profile",
        "top",
        path_str(&file),
        "--sample-type",
        "alloc_space",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no sample type `alloc_space`") && err.contains("cpu/nanoseconds"),
        "{err}"
    );
}

#[test]
fn skills_rank_the_hot_functions_of_large_cpu() {
    let file = fixture("pprof/large.cpu.pb.gz");
    let (report, code, stderr) = joule_json(&[
        "--profile",
        path_str(&file),
        "--skills",
        path_str(&skills_dir()),
        "--param",
        "hot-functions.limit=3",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(run_of(&report, "hot-functions")["status"], "ok");
    assert_eq!(run_of(&report, "regex-in-hot-path")["status"], "ok");
    assert!(findings_of(&report, "regex-in-hot-path").is_empty());

    let hot = findings_of(&report, "hot-functions");
    let functions: Vec<&str> = hot
        .iter()
        .map(|f| f["locations"][0]["function"].as_str().unwrap())
        .collect();
    assert_eq!(functions, ["time.Now", "time.now", "main.next"]);
    let share = hot[0]["impact"]["sample_share"].as_f64().unwrap();
    assert!((share - 205.17 / 240.29).abs() < 1e-4, "{share}");
    assert_eq!(hot[0]["impact"]["value"], 205170000000.0);
    assert_eq!(hot[0]["labels"]["profile"], "large.cpu.pb.gz");
    let next = hot[2];
    let total = next["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "total")
        .unwrap();
    assert_eq!(total["value"], 217070000000.0);
    assert!(
        next["message"]
            .as_str()
            .unwrap()
            .contains("Called from `main.main` (90.3%)")
    );
}
