//! Helpers shared by the end-to-end tests: where the repository, the built skills, the `joule`
//! binary and the fixtures are, and a way to run `joule` and read its JSON report.
//!
//! The tests themselves are in `e2e/`, test targets of this crate. They run the real `joule`
//! binary, which [`joule_bin`] builds (or finds up to date) on first use. The skills are built to
//! Wasm by `make skills test-skills` (which `make test` runs first).
//!
//! [`attack`] is the attack generator's harness (the `driver` skill in the real engine, and the
//! invariants each run must keep), shared with the fuzz target in `fuzz/host`; [`shape`] reads
//! outputs as a person would see them.

pub mod attack;
pub mod shape;

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

/// The `joule` binary under test: `$JOULE_BIN` when set, else the workspace's own, for the
/// profile and in the target directory these tests were built for.
///
/// `cargo test --workspace` (what `make test` runs) builds it with everything else, because the
/// host package has an integration test of its own. When it is missing or older than a source
/// it is built from (only this crate's tests were built: `cargo test -p joule-tests`), the first
/// call in a test process builds it the way `cargo test --workspace` does (`--no-run`), so a
/// test never runs a stale binary and the build reuses what `make test` compiled (a plain `cargo
/// build -p joule` resolves dependency features differently and would compile wasmtime a
/// second time).
pub fn joule_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("JOULE_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("the test knows its own path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executables live in <target>/<profile>/deps");
        let bin = profile_dir.join(format!("joule{}", std::env::consts::EXE_SUFFIX));
        if !is_stale(&bin) {
            return bin;
        }
        let target = profile_dir
            .parent()
            .expect("a profile directory sits in the target directory");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["test", "--workspace", "--no-run", "--quiet"])
            .env("CARGO_TARGET_DIR", target)
            .current_dir(root());
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some("release") => {
                build.arg("--release");
            }
            Some(other) => {
                build.args(["--profile", other]);
            }
        }
        // What cargo set for this test process describes this crate, not the build: left in,
        // a build script that watches one (ring's watches CARGO_MANIFEST_DIR) would rebuild
        // the host for every test binary. make's jobserver descriptors (named in MAKEFLAGS) are
        // not open in this process.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_by_cargo = name.starts_with("CARGO_PKG_")
                || matches!(
                    &*name,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_BIN_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                        | "CARGO_RUSTC_CURRENT_DIR"
                );
            if set_by_cargo || matches!(&*name, "MAKEFLAGS" | "MFLAGS" | "CARGO_MAKEFLAGS") {
                build.env_remove(&*name);
            }
        }
        run_ok(&mut build);
        assert!(
            bin.is_file(),
            "{} is missing after cargo build",
            bin.display()
        );
        // Best effort: without the stamp the next check builds again, which is only slower.
        let _ = std::fs::write(stamp(&bin), b"");
        bin
    })
}

/// When a build last found `bin` up to date.
fn stamp(bin: &Path) -> PathBuf {
    bin.with_extension("e2e-stamp")
}

/// Whether `bin` is missing or older than anything it is built from: the sources cargo's
/// dep-info file beside it lists (exactly the files rustc read for it, the WIT contract
/// included), and the manifests and lock file that choose its dependencies.
fn is_stale(bin: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    // cargo leaves a binary that is up to date as it was: the stamp says when a build last
    // found it so, so a change that does not touch the binary (a comment in a manifest) costs
    // one build, not one per test process from then on.
    let Some(linked) = modified(bin) else {
        return true;
    };
    let built = modified(&stamp(bin)).map_or(linked, |checked| checked.max(linked));
    let Ok(dep_info) = std::fs::read_to_string(bin.with_extension("d")) else {
        return true;
    };
    // `target: source source ...`, spaces inside a path escaped as `\ `.
    let Some((_, sources)) = dep_info.split_once(": ") else {
        return true;
    };
    let escaped = sources.replace("\\ ", "\0");
    let sources = escaped
        .split_whitespace()
        .map(|s| PathBuf::from(s.replace('\0', " ")));
    let manifests = [
        "Cargo.lock",
        "host/Cargo.toml",
        "host/profile/Cargo.toml",
        "host/policy/Cargo.toml",
    ]
    .map(|p| root().join(p));
    sources
        .chain(manifests)
        .any(|p| modified(&p).is_none_or(|changed| changed > built))
}

/// A private compiled-component cache for tests, so they do not touch the user's.
pub fn cache_dir() -> PathBuf {
    target_dir().join("test-cache")
}

/// Runs `command` with no input, and panics with its output unless it succeeds.
/// The example's history (`example/history/logscan.bundle`) cloned into `dir/logscan`, with a
/// committer for the commits tests make in it.
pub fn clone_example_history(dir: &Path) -> PathBuf {
    let repo = dir.join("logscan");
    run_ok(
        Command::new("git")
            .args(["-c", "init.defaultBranch=main", "clone", "-q"])
            .arg(root().join("example/history/logscan.bundle"))
            .arg(&repo),
    );
    for (key, value) in [
        ("user.name", "Joule Test"),
        ("user.email", "test@joule.invalid"),
    ] {
        run_ok(
            Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args(["config", key, value]),
        );
    }
    repo
}

pub fn run_ok(command: &mut Command) {
    command.stdin(std::process::Stdio::null());
    empty_dev_null();
    let mut out = command.output().expect("command runs");
    // A nested cargo's target probe reads /dev/null (see `empty_dev_null`): if another process
    // wrote there in between, empty it and try once more.
    let probe_failed = |out: &Output| {
        String::from_utf8_lossy(&out.stderr).contains("to learn about target-specific information")
    };
    if !out.status.success() && probe_failed(&out) && empty_dev_null() {
        out = command.output().expect("command runs");
    }
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Empties /dev/null when it is a regular file holding bytes, and says whether it did.
///
/// On some machines (this project's CI runner among them) /dev/null is a plain file, so what
/// one tool writes there the next one reads. Cargo's target probe runs `rustc -` with its stdin
/// on /dev/null, and fails with "couldn't read from stdin, as it did not contain valid UTF-8"
/// once a compiler has written an object file there. `.ci/run` makes it the device again where
/// it can; this covers the machines where it cannot.
pub fn empty_dev_null() -> bool {
    let dev_null = Path::new("/dev/null");
    match std::fs::metadata(dev_null) {
        Ok(meta) if meta.is_file() && meta.len() > 0 => std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(dev_null)
            .is_ok(),
        _ => false,
    }
}

/// Runs `joule` with `args`, with the test cache.
pub fn joule(args: &[&str]) -> Output {
    joule_in(&root(), args)
}

/// Runs `joule` with `args` in the directory `dir`, with the test cache, and without the
/// built-in skills ([`joule_command`]).
pub fn joule_in(dir: &Path, args: &[&str]) -> Output {
    joule_command()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("joule runs")
}

/// The `joule` binary as the tests run it: with the test cache, no `$JOULE_SKILLS`, and
/// without the skills built into it (`JOULE_NO_BUILTIN_SKILLS=1`), so a test's `--skills` are
/// exactly the skills that run. `tests/e2e/builtin_skills.rs` removes that variable.
pub fn joule_command() -> Command {
    let mut command = Command::new(joule_bin());
    command
        .env("JOULE_CACHE_DIR", cache_dir())
        .env_remove("JOULE_SKILLS")
        .env("JOULE_NO_BUILTIN_SKILLS", "1")
        .current_dir(root());
    command
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
    if let Err(e) = schema_errors(report) {
        panic!("{e}");
    }
}

/// What in a report does not match `docs/findings-v1.schema.json`.
pub fn schema_errors(report: &serde_json::Value) -> Result<(), String> {
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
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the report does not match docs/findings-v1.schema.json:\n{}",
            errors.join("\n")
        ))
    }
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

// ---------------------------------------------------------------------------------------------
// Policies, digests, sandboxed runs with an audit log (the hostile-skill suite, e2e/sandbox.rs).
// ---------------------------------------------------------------------------------------------

/// The sha256 of a component, in hex: its digest as `joule skills` prints it (`sha256:` line)
/// and as a policy pins it (`sha256:<hex>`).
pub fn digest_of(component: &Path) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(component)
        .unwrap_or_else(|e| panic!("{}: cannot read: {e}", component.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Python of a virtual environment `<target>/NAME` holding PyPI package `requirement`
/// (`name==version`), made once: whether it is there is asked by importing `module`.
pub fn python_venv(name: &str, requirement: &str, module: &str) -> PathBuf {
    let dir = target_dir().join(name);
    let python = dir.join("bin/python");
    let has = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", &format!("import {module}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has(&python) {
        run_ok(Command::new("python3").args(["-m", "venv"]).arg(&dir));
        run_ok(Command::new(&python).args(["-m", "pip", "install", "--quiet", requirement]));
    }
    python
}

/// A fresh directory under `<target>/tmp/joule-tests/`, unique to this process and call.
pub fn scratch_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = target_dir()
        .join("tmp/joule-tests")
        .join(format!("{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("{}: cannot create: {e}", dir.display()));
    dir
}

/// A policy template in `tests/policies/`.
pub fn policy_template(name: &str) -> PathBuf {
    root().join("tests/policies").join(name)
}

/// The placeholder digest policy templates use.
pub const PIN: &str = "sha256:PIN";

/// A copy of the policy `template` (a path, or a name in `tests/policies/`) with every
/// `sha256:PIN` replaced by the digest of the component for its `[[skill]]`'s id: the one given
/// in `pins`, else `<id>.wasm` among the shipped skills, else among the test skills. The copy
/// keeps the template's file name, in a fresh scratch directory; its lines are the template's.
pub fn pinned_policy(template: impl AsRef<Path>, pins: &[(&str, &Path)]) -> PathBuf {
    let template = template.as_ref();
    let template = if template.is_file() {
        template.to_path_buf()
    } else {
        policy_template(&template.to_string_lossy())
    };
    let text = std::fs::read_to_string(&template)
        .unwrap_or_else(|e| panic!("{}: cannot read: {e}", template.display()));
    let pinned = pin_digests(&text, |id| {
        if let Some((_, path)) = pins.iter().find(|(i, _)| *i == id) {
            return digest_of(path);
        }
        for dir in ["joule-skills", "test-skills"] {
            let candidate = target_dir().join(dir).join(format!("{id}.wasm"));
            if candidate.is_file() {
                return digest_of(&candidate);
            }
        }
        panic!(
            "{}: no component for skill {id:?} to pin (run `make skills test-skills`)",
            template.display()
        )
    });
    let out = scratch_dir("policy").join(template.file_name().expect("a file name"));
    std::fs::write(&out, pinned).unwrap();
    out
}

/// Replaces `sha256:PIN` on the `digest = ` line of each `[[skill]]` block of a policy with
/// `digest(id)` (hex). Lines are kept one for one, so line numbers in the host's messages match
/// the template's.
pub fn pin_digests(policy: &str, mut digest: impl FnMut(&str) -> String) -> String {
    let lines: Vec<&str> = policy.split_inclusive('\n').collect();
    let mut out = String::with_capacity(policy.len());
    let mut start = 0;
    while start < lines.len() {
        // A block runs from a `[[skill]]` line (or the top) to the next one.
        let end = (start + 1..lines.len())
            .find(|&i| lines[i].trim() == "[[skill]]")
            .unwrap_or(lines.len());
        let block = &lines[start..end];
        let id = block.iter().find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "id").then(|| value.trim().trim_matches('"').to_string())
        });
        for line in block {
            if line.trim_start().starts_with("digest") && line.contains(PIN) {
                let id = id
                    .as_deref()
                    .unwrap_or_else(|| panic!("`{}` outside a [[skill]] with an id", line.trim()));
                out.push_str(&line.replace(PIN, &format!("sha256:{}", digest(id))));
            } else {
                out.push_str(line);
            }
        }
        start = end;
    }
    out
}

/// The 1-based line range of the `[[skill]]` block with this id in a policy file.
pub fn policy_block_lines(policy: &Path, id: &str) -> std::ops::RangeInclusive<usize> {
    let text = std::fs::read_to_string(policy).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim() == "[[skill]]")
        .collect();
    for (k, &h) in headers.iter().enumerate() {
        let end = headers.get(k + 1).copied().unwrap_or(lines.len());
        if lines[h..end]
            .iter()
            .any(|l| l.replace(' ', "") == format!("id=\"{id}\""))
        {
            return (h + 1)..=end;
        }
    }
    panic!("{}: no [[skill]] with id {id:?}", policy.display())
}

/// The audit log a run wrote: JSON lines, read lazily (a skill looping on host calls can make
/// millions of them).
pub struct Audit {
    pub path: PathBuf,
}

/// The interfaces an audit line may name (docs/security.md, "The audit log").
pub const AUDIT_INTERFACES: &[&str] = &[
    "profiles", "source", "log", "metrics", "history", "findings", "load", "run",
];

impl Audit {
    /// Calls `f` with every line, parsed; panics on a line that is not a JSON object.
    pub fn for_each(&self, mut f: impl FnMut(&serde_json::Value)) {
        use std::io::BufRead;
        let file = std::fs::File::open(&self.path)
            .unwrap_or_else(|e| panic!("the audit log {} is missing: {e}", self.path.display()));
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.unwrap_or_else(|e| panic!("audit line {}: {e}", n + 1));
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("audit line {} is not JSON ({e}): {line}", n + 1));
            assert!(
                value.is_object(),
                "audit line {} is not an object: {line}",
                n + 1
            );
            f(&value);
        }
    }

    /// Checks every line has the fields docs/security.md lists, with the right types: `time`
    /// (RFC 3339), `skill`, `interface` (one of [`AUDIT_INTERFACES`]), `op`, `decision`
    /// (`allow` or `deny`, with a `reason` for denials), and numeric `bytes` and `duration_us`
    /// when present. Returns the number of lines.
    pub fn check_format(&self) -> usize {
        let mut n = 0;
        self.for_each(|e| {
            n += 1;
            check_audit_line(e);
        });
        n
    }

    /// Reads the log once: checks every line's format (see [`Audit::check_format`]) and
    /// gathers, per skill, its load decisions, its allowed calls by `interface/op`, its first
    /// denials, and the digests its lines name.
    pub fn summary(&self) -> AuditSummary {
        let mut summary = AuditSummary::default();
        self.for_each(|e| {
            summary.lines += 1;
            check_audit_line(e);
            let skill = e["skill"].as_str().unwrap_or_default().to_string();
            let s = summary.skills.entry(skill).or_default();
            if let Some(d) = e["digest"].as_str() {
                s.digests.insert(d.to_string());
            }
            if e["interface"] == "load" {
                s.loads.push(e.clone());
            } else if e["decision"] == "allow" {
                let key = format!(
                    "{}/{}",
                    e["interface"].as_str().unwrap_or_default(),
                    e["op"].as_str().unwrap_or_default()
                );
                *s.allowed.entry(key).or_default() += 1;
            } else {
                s.denials += 1;
                if s.denied.len() < AuditSummary::KEEP_DENIALS {
                    s.denied.push(e.clone());
                }
            }
        });
        summary
    }

    /// The lines about `skill` matching `pred` (collected: keep `pred` narrow).
    pub fn entries(
        &self,
        skill: &str,
        mut pred: impl FnMut(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        self.for_each(|e| {
            if e["skill"] == skill && pred(e) {
                out.push(e.clone());
            }
        });
        out
    }

    /// How many lines about `skill` match `pred`.
    pub fn count(&self, skill: &str, mut pred: impl FnMut(&serde_json::Value) -> bool) -> usize {
        let mut n = 0;
        self.for_each(|e| {
            if e["skill"] == skill && pred(e) {
                n += 1;
            }
        });
        n
    }

    /// The load decisions for `skill`.
    pub fn loads(&self, skill: &str) -> Vec<serde_json::Value> {
        self.entries(skill, |e| e["interface"] == "load")
    }

    /// Whether any line contains `text` anywhere (the log must never hold contents).
    pub fn contains(&self, text: &str) -> bool {
        let raw = std::fs::read(&self.path).unwrap_or_default();
        raw.windows(text.len().max(1)).any(|w| w == text.as_bytes())
    }
}

/// Checks one audit line against docs/security.md (see [`Audit::check_format`]).
fn check_audit_line(e: &serde_json::Value) {
    let time = e["time"].as_str().unwrap_or_else(|| panic!("no time: {e}"));
    assert!(
        time.len() >= 20
            && time.as_bytes()[4] == b'-'
            && time.as_bytes()[10] == b'T'
            && (time.ends_with('Z') || time[19..].contains(['+', '-'])),
        "time is not RFC 3339: {e}"
    );
    assert!(e["skill"].is_string(), "no skill: {e}");
    let interface = e["interface"].as_str().unwrap_or("");
    assert!(
        AUDIT_INTERFACES.contains(&interface),
        "unknown interface: {e}"
    );
    assert!(e["op"].is_string(), "no op: {e}");
    match e["decision"].as_str() {
        Some("allow") => {}
        Some("deny") => assert!(
            e["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "a denial without a reason: {e}"
        ),
        _ => panic!("decision is neither allow nor deny: {e}"),
    }
    for key in ["bytes", "duration_us"] {
        assert!(
            e.get(key).is_none_or(|v| v.is_number()),
            "{key} is not a number: {e}"
        );
    }
}

/// What an audit log says, per skill (see [`Audit::summary`]).
#[derive(Debug, Default)]
pub struct AuditSummary {
    pub lines: usize,
    pub skills: std::collections::BTreeMap<String, SkillAudit>,
}

/// The audit lines of one skill.
#[derive(Debug, Default)]
pub struct SkillAudit {
    /// Its `load` lines.
    pub loads: Vec<serde_json::Value>,
    /// Allowed calls, counted by `interface/op`.
    pub allowed: std::collections::BTreeMap<String, usize>,
    /// Its denied calls (not loads): the number, and the first [`AuditSummary::KEEP_DENIALS`].
    pub denials: usize,
    pub denied: Vec<serde_json::Value>,
    /// The `digest` values its lines carry.
    pub digests: std::collections::BTreeSet<String>,
}

impl AuditSummary {
    pub const KEEP_DENIALS: usize = 1000;

    /// The lines of `skill`; panics, listing the skills seen, when it has none.
    pub fn of(&self, skill: &str) -> &SkillAudit {
        self.skills.get(skill).unwrap_or_else(|| {
            panic!(
                "the audit log has no line for {skill}; it has {:?}",
                self.skills.keys().collect::<Vec<_>>()
            )
        })
    }
}

impl SkillAudit {
    /// Allowed calls on `interface` (any op).
    pub fn allowed_on(&self, interface: &str) -> usize {
        self.allowed
            .iter()
            .filter(|(k, _)| k.split('/').next() == Some(interface))
            .map(|(_, n)| n)
            .sum()
    }

    /// Whether a load was allowed.
    pub fn loaded(&self) -> bool {
        self.loads.iter().any(|e| e["decision"] == "allow")
    }

    /// The reasons of the refused loads.
    pub fn refusals(&self) -> Vec<&str> {
        self.loads
            .iter()
            .filter(|e| e["decision"] == "deny")
            .filter_map(|e| e["reason"].as_str())
            .collect()
    }

    /// The kept denials whose reason contains `text`.
    pub fn denied_with(&self, text: &str) -> Vec<&serde_json::Value> {
        self.denied
            .iter()
            .filter(|e| e["reason"].as_str().is_some_and(|r| r.contains(text)))
            .collect()
    }
}

/// One `joule run --format json --audit-log ...` done by [`run_sandboxed`]: the report, the
/// exit code, stderr, the audit log, and the host's peak resident memory.
pub struct Sandboxed {
    pub report: serde_json::Value,
    pub code: i32,
    pub stderr: String,
    pub audit: Audit,
    /// Peak resident set of the `joule` process (VmHWM), in KiB, as last seen while it ran.
    pub peak_rss_kib: u64,
    /// The size of the JSON report, in bytes.
    pub report_bytes: u64,
    /// The scratch directory holding the report and the audit log (removed on drop).
    pub dir: PathBuf,
}

impl Drop for Sandboxed {
    fn drop(&mut self) {
        if std::env::var_os("JOULE_KEEP_TEST_FILES").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Sandboxed {
    /// The run record of a skill (the first one).
    pub fn run_of(&self, skill: &str) -> &serde_json::Value {
        run_of(&self.report, skill)
    }

    /// The findings of a skill.
    pub fn findings_of(&self, skill: &str) -> Vec<&serde_json::Value> {
        findings_of(&self.report, skill)
    }
}

/// How long a sandboxed run may take before the test kills it and fails: far beyond any limit
/// the test policies set, so only a host that enforces nothing reaches it.
pub const SANDBOX_KILL_AFTER: std::time::Duration = std::time::Duration::from_secs(240);

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `joule run --format json --output R --audit-log A` plus `args`, with `env` added to its
/// environment. The report goes to a file, so a huge one cannot block a pipe; the host's peak
/// memory is sampled from /proc while it runs. Panics, with the exit code and stderr, when no
/// JSON report was written.
pub fn run_sandboxed(args: &[&str], env: &[(&str, &str)]) -> Sandboxed {
    sandboxed(args, env, None)
}

/// [`run_sandboxed`], calling `during` in a tight loop for as long as `joule` runs (a test
/// swapping files under a skill, say).
pub fn run_sandboxed_while(
    args: &[&str],
    env: &[(&str, &str)],
    during: &mut dyn FnMut(),
) -> Sandboxed {
    sandboxed(args, env, Some(during))
}

fn sandboxed(
    args: &[&str],
    env: &[(&str, &str)],
    mut during: Option<&mut dyn FnMut()>,
) -> Sandboxed {
    let dir = scratch_dir("sandbox");
    let report_path = dir.join("report.json");
    let audit_path = dir.join("audit.jsonl");
    let stderr_path = dir.join("stderr.txt");
    let mut all: Vec<&str> = vec!["run", "--format", "json", "--output"];
    all.push(path_str(&report_path));
    all.push("--audit-log");
    all.push(path_str(&audit_path));
    all.extend_from_slice(args);
    let mut command = joule_command();
    command
        .args(&all)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("joule starts");
    let started = std::time::Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("joule can be waited for") {
            break status;
        }
        if started.elapsed() > SANDBOX_KILL_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "joule {all:?} still ran after {SANDBOX_KILL_AFTER:?}: killed\nstderr:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        // Poll every 2 ms; in between, run `during` back to back, or sleep.
        let poll_at = std::time::Instant::now() + std::time::Duration::from_millis(2);
        match during.as_mut() {
            Some(f) => {
                while std::time::Instant::now() < poll_at {
                    f();
                }
            }
            None => std::thread::sleep(std::time::Duration::from_millis(2)),
        }
    };
    let code = status.code().unwrap_or(-1);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let text = std::fs::read(&report_path).unwrap_or_default();
    let report: serde_json::Value = serde_json::from_slice(&text).unwrap_or_else(|e| {
        let tail: String = {
            let chars: Vec<char> = stderr.chars().collect();
            chars[chars.len().saturating_sub(3000)..].iter().collect()
        };
        panic!(
            "joule {all:?} wrote no JSON report ({e}); exit {code} ({status})\nstderr (end):\n{tail}"
        )
    });
    assert_matches_schema(&report);
    Sandboxed {
        report,
        code,
        stderr,
        audit: Audit { path: audit_path },
        peak_rss_kib: peak,
        report_bytes: text.len() as u64,
        dir,
    }
}

/// The findings of a report as comparable facts (id, kind, rule, title, message, share),
/// sorted: for checking that a well-behaved skill's findings are intact beside a hostile one.
pub fn finding_facts(findings: &[&serde_json::Value]) -> Vec<String> {
    let mut facts: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} | {} | {}",
                f["id"],
                f["kind"],
                f["rule"],
                f["title"],
                f["message"],
                f["impact"]["sample_share"]
            )
        })
        .collect();
    facts.sort();
    facts
}

/// Runs `git ARGS` in `dir` as a fixed author (and at Unix time `time`, when given, for the
/// commit dates); panics with git's message if it fails; returns its trimmed output.
pub fn git(dir: &Path, args: &[&str], time: Option<i64>) -> String {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com");
    if let Some(t) = time {
        cmd.env("GIT_AUTHOR_DATE", format!("{t} +0000"))
            .env("GIT_COMMITTER_DATE", format!("{t} +0000"));
    }
    let out = cmd.output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One entry of a directory as [`snapshot`] records it: kind, size, permissions, modification
/// time (seconds, nanoseconds) and, for a file, its contents.
pub type EntrySnapshot = (String, u64, u32, i64, i64, Vec<u8>);

/// Every entry under `dir` (`.git` included), by path relative to it: what must not change when
/// a grant is read-only. Compare two with [`changed_entries`].
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, EntrySnapshot> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                todo.push(entry.unwrap().path());
            }
        }
        let contents = if meta.is_file() {
            std::fs::read(&path).unwrap()
        } else {
            Vec::new()
        };
        let entry = (
            format!("{:?}", meta.file_type()),
            meta.len(),
            meta.mode(),
            meta.mtime(),
            meta.mtime_nsec(),
            contents,
        );
        out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), entry);
    }
    out
}

/// The paths added, removed or changed (in any field) between two snapshots.
pub fn changed_entries(
    before: &std::collections::BTreeMap<PathBuf, EntrySnapshot>,
    after: &std::collections::BTreeMap<PathBuf, EntrySnapshot>,
) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = after
        .iter()
        .filter(|(path, entry)| before.get(*path) != Some(entry))
        .map(|(path, _)| path.clone())
        .chain(before.keys().filter(|p| !after.contains_key(*p)).cloned())
        .collect();
    paths.sort();
    paths
}

/// Sets the times of everything under `dir` far in the past, so that a write, or a mere touch
/// (libgit2 "freshens" objects by touching them), shows in a [`snapshot`].
pub fn age(dir: &Path) {
    run_ok(
        Command::new("find")
            .args([".", "-exec", "touch", "-h", "-d", "@1000000000", "{}", "+"])
            .current_dir(dir),
    );
}
