//! Helpers shared by the end-to-end tests: where the repository, the built skills, the `joule`
//! binary and the fixtures are, and a way to run `joule` and read its JSON report.
//!
//! The tests themselves are in `e2e/`, declared as test targets of the host package so that
//! cargo builds the real `joule` binary before running them. The skills are built to Wasm by
//! `make skills test-skills` (which `make test` runs first).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

/// A shipped skill component, as `make skills` leaves it.
pub fn skill(name: &str) -> PathBuf {
    built(
        &target_dir()
            .join("joule-skills")
            .join(format!("{name}.wasm")),
    )
}

/// A test-only skill component, as `make test-skills` leaves it.
pub fn test_skill(name: &str) -> PathBuf {
    built(
        &target_dir()
            .join("test-skills")
            .join(format!("{name}.wasm")),
    )
}

/// The directory holding every shipped skill.
pub fn skills_dir() -> PathBuf {
    skill("hot-functions");
    target_dir().join("joule-skills")
}

fn built(path: &Path) -> PathBuf {
    assert!(
        path.is_file(),
        "{} is missing: run `make skills test-skills` (or `make test`) first",
        path.display()
    );
    path.to_path_buf()
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// The `joule` binary cargo built for this test run: it sits beside the `deps/` folder holding
/// the test executable, whatever the profile and target directory.
pub fn joule_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test knows its own path");
        let bin = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executables live in <target>/<profile>/deps")
            .join(format!("joule{}", std::env::consts::EXE_SUFFIX));
        assert!(
            bin.is_file(),
            "{} is missing: run the end-to-end tests with `cargo test -p joule`",
            bin.display()
        );
        bin
    })
}

/// A private compiled-component cache for tests, so they do not touch the user's.
pub fn cache_dir() -> PathBuf {
    target_dir().join("test-cache")
}

/// Runs `joule` with `args`, with the test cache.
pub fn joule(args: &[&str]) -> Output {
    Command::new(joule_bin())
        .args(args)
        .env("JOULE_CACHE_DIR", cache_dir())
        .env_remove("JOULE_SKILLS")
        .current_dir(root())
        .output()
        .expect("joule runs")
}

/// Runs `joule run ... --format json` and parses the report; returns it with the exit code
/// and stderr.
pub fn joule_json(args: &[&str]) -> (serde_json::Value, i32, String) {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    let out = joule(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "joule {all:?} did not print JSON ({e}); exit {:?}\nstderr:\n{stderr}\nstdout:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_matches_schema(&report);
    (report, out.status.code().unwrap_or(-1), stderr)
}

/// Checks a report against `docs/findings-v1.schema.json`.
pub fn assert_matches_schema(report: &serde_json::Value) {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = SCHEMA.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("docs/findings-v1.schema.json"))
            .expect("the schema is in docs/");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
    });
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the report does not match docs/findings-v1.schema.json:\n{}",
        errors.join("\n")
    );
}

/// The findings of a report made by `skill`.
pub fn findings_of<'a>(report: &'a serde_json::Value, skill: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["skill"] == skill)
        .collect()
}

/// The run record of a skill (the first one).
pub fn run_of<'a>(report: &'a serde_json::Value, skill: &str) -> &'a serde_json::Value {
    report["runs"]
        .as_array()
        .expect("runs array")
        .iter()
        .find(|r| r["skill"] == skill)
        .unwrap_or_else(|| panic!("no run of {skill} in {report:#}"))
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
