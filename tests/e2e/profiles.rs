//! `joule profile convert`, `diff` and `joule flamegraph`, as an operator uses them: given real
//! profiles, the conversions keep every number, the diff names what changed, and the flame
//! graphs are drawn.

use joule_tests::*;

fn stdout_of(args: &[&str]) -> String {
    let out = joule(args);
    assert!(
        out.status.success(),
        "joule {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn pprof_to_pprof_and_folded_keeps_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let large = fixture("pprof/large.cpu.pb.gz");
    let copy = dir.path().join("copy.pb.gz");
    stdout_of(&[
        "profile",
        "convert",
        path_str(&large),
        "--to",
        "pprof",
        "-o",
        path_str(&copy),
    ]);
    let top = |p: &std::path::Path| stdout_of(&["profile", "top", path_str(p), "-n", "8"]);
    let (a, b) = (top(&large), top(&copy));
    // Everything but the file name line is the same.
    assert_eq!(
        a.lines().skip(1).collect::<Vec<_>>(),
        b.lines().skip(1).collect::<Vec<_>>()
    );

    let folded = stdout_of(&["profile", "convert", path_str(&large), "--to", "folded"]);
    let total: i64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, 240_290_000_000, "cpu nanoseconds survive folding");
    // `-o -` is standard output, not a file named `-`.
    let dashed = joule_in(
        dir.path(),
        &[
            "profile",
            "convert",
            path_str(&large),
            "--to",
            "folded",
            "-o",
            "-",
        ],
    );
    assert!(dashed.status.success());
    assert_eq!(String::from_utf8(dashed.stdout).unwrap(), folded);
    assert!(!dir.path().join("-").exists());
    let samples = stdout_of(&[
        "profile",
        "convert",
        path_str(&large),
        "--to",
        "folded",
        "--sample-type",
        "samples",
    ]);
    let count: i64 = samples
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<i64>().unwrap())
        .sum();
    assert_eq!(count, 24029);
    assert!(
        folded
            .lines()
            .any(|l| l.starts_with("runtime.main;main.main;main.next;time.Now "))
    );
}

#[test]
fn diff_names_what_grew_and_what_shrank() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.folded");
    let new = dir.path().join("new.folded");
    std::fs::write(&base, "main;parse;regex_compile 60\nmain;render 40\n").unwrap();
    std::fs::write(
        &new,
        "main;parse;regex_compile 6\nmain;parse;match 10\nmain;render 44\n",
    )
    .unwrap();
    let out = stdout_of(&["profile", "diff", path_str(&base), path_str(&new), "--json"]);
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = |name: &str| {
        d["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["function"] == name)
            .unwrap_or_else(|| panic!("{name} in {d:#}"))
            .clone()
    };
    assert_eq!(
        d["functions"][0]["function"], "regex_compile",
        "largest flat change first"
    );
    assert_eq!(row("regex_compile")["flat_delta"], -54);
    assert_eq!(row("regex_compile")["flat_relative"], -0.9);
    assert_eq!(row("match")["base_flat"], 0);
    assert_eq!(row("match")["flat_relative"], serde_json::Value::Null);
    assert_eq!(row("parse")["cum_delta"], -44);
    assert_eq!(row("render")["flat_delta"], 4);
    assert_eq!(
        (d["base_total"].as_i64(), d["new_total"].as_i64()),
        (Some(100), Some(60))
    );

    let text = stdout_of(&["profile", "diff", path_str(&base), path_str(&new)]);
    let first = text.lines().nth(2).unwrap();
    assert!(
        first.ends_with("regex_compile") && first.contains("-90.0%"),
        "{text}"
    );
}

#[test]
fn flame_graphs_are_drawn_with_inferno() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("logscan.svg");
    stdout_of(&[
        "flamegraph",
        "example/profiles/logscan.pb.gz",
        "-o",
        path_str(&svg),
    ]);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<?xml") && text.contains("<svg"),
        "not an SVG"
    );
    assert!(text.contains("logscan::parse::parse_line"));
    assert!(text.contains("Flame graph: example/profiles/logscan.pb.gz"));

    let base = dir.path().join("base.folded");
    let new = dir.path().join("new.folded");
    std::fs::write(&base, "main;parse 60\nmain;render 40\n").unwrap();
    std::fs::write(&new, "main;parse 90\nmain;render 40\n").unwrap();
    let diff = dir.path().join("diff.svg");
    stdout_of(&[
        "flamegraph",
        path_str(&new),
        "--diff",
        path_str(&base),
        "-o",
        path_str(&diff),
        "--title",
        "parse grew",
    ]);
    let text = std::fs::read_to_string(&diff).unwrap();
    assert!(text.contains("parse grew"));
    // inferno notes the change in the tooltip, as a share of the whole: (90 - 60) / 130.
    assert!(text.contains("<title>parse (90 count, 69.23%; +23.08%)</title>"));
    assert!(text.contains("<title>render (40 count, 30.77%; 0.00%)</title>"));
}

/// `-` is standard input, streamed as a file is: `perf script | joule profile top -`. A
/// gzipped pprof and `perf script` text piped in read as the same files do; nothing piped in
/// is an error naming standard input.
#[test]
fn a_profile_piped_in_reads_as_the_file_does() {
    use std::io::Write;
    use std::process::Stdio;
    let piped = |bytes: &[u8], args: &[&str]| {
        let mut child = joule_command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    };
    for name in ["pprof/large.cpu.pb.gz", "perf/example-perf-stacks.txt.gz"] {
        let file = fixture(name);
        let bytes = std::fs::read(&file).unwrap();
        let from_file = stdout_of(&["profile", "top", path_str(&file), "-n", "12"]);
        let out = piped(&bytes, &["profile", "top", "-", "-n", "12"]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let from_pipe = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            from_pipe.lines().skip(1).collect::<Vec<_>>(),
            from_file.lines().skip(1).collect::<Vec<_>>(),
            "{name}"
        );
    }
    let out = piped(b"", &["profile", "top", "-"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("standard input: the profile is empty"),
        "{stderr}"
    );
}

/// Hot code no symbol names (pprof's conversion of a legacy heap profile: addresses only, no
/// binary named) is reported as unsymbolized code to capture again with symbols, with no
/// function location for a skill to look up, never as a function called `<unknown>`.
#[test]
fn unsymbolized_code_is_never_named_as_a_function() {
    let profile = fixture("pprof-top/go-legacy-heap.pb.gz");
    let skills = skill("hot-functions");
    let (report, code, stderr) = joule_json(&[
        "--profile",
        path_str(&profile),
        "--skills",
        path_str(&skills),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    let title = f["title"].as_str().unwrap();
    assert!(title.starts_with("#1 unsymbolized code: 100"), "{title}");
    assert!(!title.contains("<unknown>"), "{title}");
    assert!(f["locations"].as_array().unwrap().is_empty(), "{f:#}");
    assert_eq!(f["labels"]["unsymbolized"], "");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("capture again with symbols")
    );
}
