//! Given broken profiles beside a good one: each broken one is reported with its file and the
//! byte offset or line where it went wrong, the good one is still analysed, and the exit code
//! says the result is partial.

use std::io::Read;

use joule_tests::*;

fn inflate(path: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn broken_profiles_are_reported_and_the_rest_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("pprof/large.cpu.pb.gz");
    let gz = std::fs::read(&good).unwrap();
    let raw = inflate(&good);

    let truncated_gz = dir.path().join("truncated.pb.gz");
    std::fs::write(&truncated_gz, &gz[..100_000]).unwrap();
    let truncated_raw = dir.path().join("truncated.pb");
    std::fs::write(&truncated_raw, &raw[..raw.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, [0xffu8, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef]).unwrap();
    let empty = dir.path().join("empty.pb");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("missing.pb.gz");
    let invalid_lines = fixture("folded/simple-with-invalids.txt");

    let mut args: Vec<String> = Vec::new();
    for p in [
        &truncated_gz,
        &good,
        &truncated_raw,
        &garbage,
        &empty,
        &missing,
        &invalid_lines,
    ] {
        args.push("--profile".into());
        args.push(p.display().to_string());
    }
    args.push("--skills".into());
    args.push(skill("hot-functions").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (report, code, stderr) = joule_json(&args);
    assert_eq!(code, 3, "{stderr}");

    let error_of = |name: &str| -> String {
        report["inputs"]["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["error"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let e = error_of("truncated.pb.gz");
    assert!(
        e.contains("truncated.pb.gz: byte 100000: the gzip stream is truncated"),
        "{e}"
    );
    let e = error_of("truncated.pb");
    assert!(
        e.contains("truncated.pb: byte ") && e.contains("truncated or corrupt"),
        "{e}"
    );
    let e = error_of("garbage.bin");
    assert!(
        e.contains("garbage.bin: not a profile format Joule reads"),
        "{e}"
    );
    assert!(error_of("empty.pb").contains("empty.pb: the profile is empty"));
    assert!(error_of("missing.pb.gz").contains("missing.pb.gz: cannot read profile: no such file"));
    assert_eq!(error_of("large.cpu.pb.gz"), "");
    assert_eq!(error_of("simple-with-invalids.txt"), "");

    // The folded file's bad lines are warnings naming the line; its good lines are analysed.
    let folded = report["inputs"]["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "simple-with-invalids.txt")
        .unwrap();
    let warnings: Vec<&str> = folded["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        warnings,
        [
            "line 1: not `frame;frame;... count`, skipped",
            "line 2: not `frame;frame;... count`, skipped",
            "line 8: not `frame;frame;... count`, skipped"
        ]
    );
    assert_eq!(folded["samples"], 5);
    assert_eq!(folded["total"], 14);

    // Both readable profiles were analysed.
    let profiles: Vec<&str> = findings_of(&report, "hot-functions")
        .iter()
        .map(|f| f["labels"]["profile"].as_str().unwrap())
        .collect();
    assert!(profiles.contains(&"large.cpu.pb.gz"));
    assert!(profiles.contains(&"simple-with-invalids.txt"));
    assert!(stderr.contains("joule: warning: "), "{stderr}");
}

#[test]
fn profile_top_names_the_place_of_a_bad_profile() {
    let dir = tempfile::tempdir().unwrap();
    let raw = inflate(&fixture("pprof/large.cpu.pb.gz"));
    let cut = dir.path().join("cut.pb");
    std::fs::write(&cut, &raw[..4096]).unwrap();
    let out = joule(&["profile", "top", path_str(&cut)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("joule: error: ") && err.contains("cut.pb: byte "),
        "{err}"
    );
}

#[test]
fn no_loadable_skill_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.wasm");
    std::fs::write(&fake, b"\0asm not really").unwrap();
    let out = joule(&["run", "--skills", path_str(&fake)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no skill could be loaded") && err.contains("fake.wasm"),
        "{err}"
    );
}
