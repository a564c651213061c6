//! The attack generator's harness: the `driver` test skill (tests/skills/driver) loaded into the
//! real runtime with small limits and real inputs (the example's profiles and source tree, a
//! metrics file, the example's git history), one invocation per program, and the invariants
//! every run must keep whatever the program: it ends within its deadline plus a margin, the host
//! neither panics nor loses the run, and the report renders in every output (Markdown, JSON, the
//! terminal, the patch, the audit log) with the structure the host writes for that many
//! findings and runs, no matter what bytes the skill put in them.
//!
//! Used by the fuzz target `fuzz/host` (coverage-guided, `make fuzz`) and by e2e/attack.rs (the
//! committed seeds and a deterministic stream of programs, `make test`). The driver component
//! must be built first: `make test-skills`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use joule::audit::AuditLog;
use joule::engine::{ComponentCache, LoadedSkill, Plan, Runtime, RuntimeConfig};
use joule::history::History;
use joule::inputs::{Inputs, NamedMetrics, NamedProfile, ProfileViews};
use joule::report::{InputsRecord, MetricsRecord, ProfileRecord, Report, SourceRecord};
use joule::source::SourceTree;
use joule::untrusted::terminal;
use joule_policy::{Limits, Policy, RunLimits, SkillGrants};

use crate::shape;

/// The skill's id, as it describes itself.
pub const SKILL: &str = "driver";
/// Each invocation's deadline: short, so a program that spins costs little.
pub const DEADLINE: Duration = Duration::from_secs(1);
/// Each invocation's memory cap.
pub const MEMORY: usize = 64 << 20;
/// What an invocation may take past its deadline: instantiating, the epoch tick, a host call
/// in flight when the deadline passes, a loaded machine. A run past it is a hang.
pub const MARGIN: Duration = Duration::from_secs(2);
/// The source tree's name in the run.
pub const TREE: &str = "example";

/// The lines of the host's log the terminal got, from every run in this process.
static TERMINAL: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        TERMINAL
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The driver skill in a runtime, with the inputs every program runs on.
pub struct Target {
    tokio: tokio::runtime::Runtime,
    runtime: Arc<Runtime>,
    skill: Arc<LoadedSkill>,
    inputs: Inputs,
    access: HashMap<String, (Arc<SkillGrants>, Arc<Inputs>)>,
    sources: Vec<(String, PathBuf)>,
    /// Every host call of every run, as `joule run --audit-log` writes them.
    audit: Arc<AuditLog>,
    /// A clone of the example's history and the audit log, removed with the target.
    scratch: PathBuf,
}

/// One program's run: what it gave, and how long it and the report built from it took.
pub struct Attack {
    pub program: Vec<u8>,
    pub report: Report,
    pub elapsed: Duration,
    /// What the host's log wrote to the terminal during the run.
    pub log: String,
    /// The audit log's lines of the run.
    pub audit: String,
}

/// The program as the `program` parameter carries it.
pub fn hex(program: &[u8]) -> String {
    program.iter().map(|b| format!("{b:02x}")).collect()
}

impl Target {
    /// Loads the driver (built by `make test-skills`) and the inputs; `cache` is where compiled
    /// components are kept.
    pub fn new(driver: &Path, cache: &Path) -> Target {
        // The host's log, as `joule run` writes it to the terminal, every level.
        // Not `try_init`, which would also route the `log` crate's records (Cranelift's) here.
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
                .with_ansi(false)
                .with_writer(|| Capture)
                .finish(),
        );
        let root = crate::root();
        let limits = Limits {
            deadline: DEADLINE,
            memory_bytes: MEMORY,
            ..Limits::default()
        };
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_stack_size(joule::engine::THREAD_STACK)
            .build()
            .expect("a tokio runtime");
        let runtime = Arc::new(
            Runtime::new(RuntimeConfig {
                limits: limits.clone(),
                concurrency: 1,
                cache: Some(ComponentCache::new(cache)),
            })
            .expect("the runtime starts"),
        );
        let skill = runtime
            .load(driver)
            .unwrap_or_else(|e| panic!("{}: {e:#} (run `make test-skills`)", driver.display()));
        assert_eq!(skill.descriptor.id, SKILL);

        static TARGETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = TARGETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        remove_stale_scratch();
        let scratch = std::env::temp_dir().join(format!("joule-attack-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).expect("a scratch directory");
        let history = scratch.join("history");
        let audit = AuditLog::create(&scratch.join("audit.jsonl")).expect("the audit log");
        let bundle = root.join("example/history/logscan.bundle");
        crate::run_ok(
            std::process::Command::new("git")
                .args(["-c", "init.defaultBranch=main", "clone", "-q"])
                .arg(&bundle)
                .arg(&history),
        );
        let profiles = [
            "example/profiles/logscan.pb.gz",
            "example/profiles/logscan.folded",
        ]
        .map(|p| {
            let path = root.join(p);
            let profile = joule_profile::ingest::load(&path).expect("the example's profile");
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            Arc::new(NamedProfile {
                name,
                path,
                profile,
            })
        })
        .to_vec();
        let metrics_path = root.join("tests/fixtures/metrics/cpu-hosts.csv");
        let set = joule::metrics::load(&metrics_path).expect("the metrics file");
        let source_dir = root.join("example/logscan");
        let inputs = Inputs {
            profiles,
            trees: vec![Arc::new(
                SourceTree::open(TREE, &source_dir).expect("the example's source"),
            )],
            metrics: vec![Arc::new(NamedMetrics {
                name: "cpu-hosts.csv".into(),
                path: metrics_path,
                set,
            })],
            histories: vec![Arc::new(
                History::open(
                    "logscan".into(),
                    &history,
                    Some(&root.join("example/history/deploys.csv")),
                )
                .expect("the example's history"),
            )],
            ..Inputs::default()
        };
        let grants = Policy::open(limits)
            .admit(&skill.component())
            .expect("an open policy admits the driver");
        let granted = inputs.granted_to(&grants, &mut ProfileViews::default());
        let access = HashMap::from([(SKILL.to_string(), (Arc::new(grants), Arc::new(granted)))]);
        Target {
            tokio,
            runtime,
            skill,
            inputs,
            access,
            sources: vec![(TREE.to_string(), source_dir)],
            audit,
            scratch,
        }
    }

    /// Runs one program as one invocation, as `joule run` would, and builds the report.
    pub fn run(&self, program: &[u8]) -> Attack {
        let parameters = HashMap::from([(
            SKILL.to_string(),
            BTreeMap::from([("program".to_string(), hex(program))]),
        )]);
        let budget = RunLimits::default();
        let started = Instant::now();
        let plan = Plan {
            skills: vec![self.skill.clone()],
            entry: None,
            access: self.access.clone(),
            audit: Some(self.audit.clone()),
            parameters,
            since: None,
            jobs: 1,
            max_depth: 0,
            ends: started + budget.deadline,
            budget,
            watch: Default::default(),
        };
        plan.validate().expect("the driver declares `program`");
        TERMINAL.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let audit_path = self.scratch.join("audit.jsonl");
        let audited = std::fs::metadata(&audit_path).map_or(0, |m| m.len()) as usize;
        let (runs, findings) = self
            .tokio
            .block_on(joule::engine::run(self.runtime.clone(), plan));
        let log = std::mem::take(&mut *TERMINAL.lock().unwrap_or_else(|e| e.into_inner()));
        let audit = std::fs::read(&audit_path).unwrap_or_default();
        // The report is part of the run's time: a skill's findings must not hold it up either.
        let report = Report::new(
            self.record(),
            runs,
            findings,
            &self.inputs,
            &self.access,
            started + RunLimits::default().deadline,
        );
        let elapsed = started.elapsed();
        Attack {
            program: program.to_vec(),
            report,
            elapsed,
            log: String::from_utf8_lossy(&log).into_owned(),
            audit: String::from_utf8_lossy(audit.get(audited..).unwrap_or_default()).into_owned(),
        }
    }

    /// The inputs' part of the report, as a session writes it.
    fn record(&self) -> InputsRecord {
        InputsRecord {
            profiles: self
                .inputs
                .profiles
                .iter()
                .map(|p| {
                    let t = p.profile.default_sample_type;
                    ProfileRecord {
                        path: p.path.display().to_string(),
                        name: p.name.clone(),
                        format: Some(p.profile.format.name().to_string()),
                        sample_type: Some(p.profile.sample_type_label(t)),
                        total: p.profile.totals().get(t).copied(),
                        samples: Some(p.profile.raw_sample_count),
                        error: None,
                        warnings: p.profile.warnings.clone(),
                    }
                })
                .collect(),
            sources: self
                .sources
                .iter()
                .map(|(name, dir)| SourceRecord {
                    name: name.clone(),
                    path: dir.display().to_string(),
                })
                .collect(),
            metrics: self
                .inputs
                .metrics
                .iter()
                .map(|m| MetricsRecord {
                    path: m.path.display().to_string(),
                    name: m.name.clone(),
                    series: Some(m.set.series.len()),
                    points: Some(m.set.point_count()),
                    error: None,
                    warnings: m.set.warnings.clone(),
                })
                .collect(),
        }
    }
}

/// Removes the scratch directories of processes that have ended: a fuzz target keeps its
/// target in a static, which is never dropped.
fn remove_stale_scratch() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("joule-attack-")
            .and_then(|rest| rest.split('-').next());
        if let Some(pid) = pid
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Checks every invariant of one run; panics naming the broken one and the program (in hex,
/// as the `program` parameter takes it).
pub fn check(attack: &Attack) {
    if let Err(broken) = invariants(attack) {
        panic!(
            "{broken}\nprogram: {}\nruns: {:#?}",
            hex(&attack.program),
            attack.report.runs
        );
    }
}

/// Every invariant of one run: the first one broken, if any.
pub fn invariants(attack: &Attack) -> Result<(), String> {
    let report = &attack.report;
    if attack.elapsed > DEADLINE + MARGIN {
        return Err(format!(
            "the run and its report took {:?}: past the deadline of {DEADLINE:?} and the margin of {MARGIN:?}",
            attack.elapsed
        ));
    }
    if report.runs.len() != 1 || report.runs[0].skill != SKILL {
        return Err(format!("one run of `{SKILL}` expected"));
    }
    if let Some(error) = &report.runs[0].error {
        let error = error.raw();
        if error.contains("host thread") || error.contains("host bug") {
            return Err(format!("the host lost the run: {error}"));
        }
    }
    let markdown = joule::report::markdown(report);
    markdown_shape(&markdown, report.findings.len(), report.runs.len())?;
    json_shape(&report.json(), report)?;
    patch_shape("the combined patch", report.combined_patch())?;
    for f in &report.findings {
        if let Some(patch) = &f.patch {
            patch_shape("a finding's patch", patch.raw())?;
        }
    }
    terminal_shape(report, &attack.log)?;
    audit_shape(report, &attack.audit)
}

fn terminal_safe(what: &str, text: &str) -> Result<(), String> {
    match text
        .char_indices()
        .find(|(_, c)| shape::acts_on_terminal(*c))
    {
        Some((at, c)) => Err(format!("{what} holds {c:?} at byte {at}")),
        None => Ok(()),
    }
}

/// The Markdown report has the title, one heading per finding (numbered in order), the runs
/// and, when an input had problems, that heading: no other. The findings table has a row per
/// finding and the runs table a row per run, each of seven cells and credited to the skill;
/// each finding's first line names its skill; no raw HTML, image or footnote; and nothing a
/// terminal acts on (the report goes to standard output).
pub fn markdown_shape(markdown: &str, findings: usize, runs: usize) -> Result<(), String> {
    terminal_safe("the Markdown report", markdown)?;
    let read = shape::read(markdown);
    if !read.unwanted.is_empty() {
        return Err(format!("the Markdown report holds {:?}", read.unwanted));
    }
    let h = &read.headings;
    let problems = usize::from(h.last().is_some_and(|l| l == "Input problems"));
    if h.len() != findings + 2 + problems
        || h[0] != "Joule report"
        || h[findings + 1] != "Runs"
        || h[1..=findings]
            .iter()
            .enumerate()
            // `## 1. ` and an empty title: the heading reads `1.`.
            .any(|(i, t)| *t != format!("{}.", i + 1) && !t.starts_with(&format!("{}. ", i + 1)))
    {
        return Err(format!(
            "the Markdown report's headings are not the host's for {findings} findings: {h:#?}"
        ));
    }
    for i in 1..=findings {
        let meta = read.after_heading.get(i).map_or("", String::as_str);
        if !meta.contains(&format!(" · skill {SKILL} · ")) {
            return Err(format!("finding {i}'s first line is {meta:?}"));
        }
    }
    let rows = |table: Option<&Vec<Vec<String>>>, header: &str, rows: usize| match table {
        Some(t)
            if t.len() == rows + 1
                && t[0].first().is_some_and(|h| h == header)
                && t.iter().all(|r| r.len() == 7) =>
        {
            Ok(t.clone())
        }
        _ => Err(format!(
            "the `{header}` table is not {rows} rows of 7 cells: {table:#?}"
        )),
    };
    if findings > 0 {
        let table = rows(read.tables.first(), "#", findings)?;
        for (i, row) in table[1..].iter().enumerate() {
            if row[0] != (i + 1).to_string() || row[6] != SKILL {
                return Err(format!("findings table row {}: {row:?}", i + 1));
            }
        }
    }
    let table = rows(read.tables.last(), "Skill", runs)?;
    if table[1..].iter().any(|row| row[0] != SKILL) {
        return Err(format!("a run is credited to another skill: {table:?}"));
    }
    Ok(())
}

/// The JSON report parses, matches docs/findings-v1.schema.json, has the report's findings and
/// runs, and keeps each finding's title as the skill gave it.
pub fn json_shape(json: &str, report: &Report) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("the JSON report does not parse: {e}"))?;
    crate::schema_errors(&value)?;
    let found = value["findings"].as_array().map_or(0, Vec::len);
    let runs = value["runs"].as_array().map_or(0, Vec::len);
    if found != report.findings.len() || runs != report.runs.len() {
        return Err(format!(
            "the JSON report has {found} findings and {runs} runs, not {} and {}",
            report.findings.len(),
            report.runs.len()
        ));
    }
    for (i, f) in report.findings.iter().enumerate() {
        if value["findings"][i]["title"] != f.title.raw() {
            return Err(format!("finding {}'s title changed in JSON", i + 1));
        }
    }
    Ok(())
}

/// A unified diff: every line a header, a hunk header, or a context, added or removed line,
/// so no replacement text starts a file or a hunk of its own.
pub fn patch_shape(what: &str, patch: &str) -> Result<(), String> {
    let mut in_hunk = false;
    for line in patch.lines() {
        let ok = if line.starts_with("diff --git ") {
            in_hunk = false;
            true
        } else if line.starts_with("@@ ") {
            in_hunk = true;
            true
        } else if in_hunk {
            line.starts_with([' ', '+', '-', '\\']) || line.is_empty()
        } else {
            line.starts_with("--- ") || line.starts_with("+++ ") || line.starts_with("index ")
        };
        if !ok {
            return Err(format!(
                "{what} has a line no diff writes: {line:?}\n{patch}"
            ));
        }
    }
    Ok(())
}

/// What the terminal gets: the host's log lines (each one of the host's, starting with its
/// time) and the warning `joule run` prints for a failed run (one line); nothing in either
/// that a terminal acts on.
pub fn terminal_shape(report: &Report, log: &str) -> Result<(), String> {
    terminal_safe("the host's log", log)?;
    if let Some(line) = log
        .lines()
        .find(|l| l.len() < 20 || !l.as_bytes()[..4].iter().all(u8::is_ascii_digit))
    {
        return Err(format!("a log line the host did not write: {line:?}"));
    }
    for r in &report.runs {
        if let Some(e) = &r.error {
            let warning = format!(
                "joule: warning: skill `{}` failed: {}",
                terminal::line(&r.skill),
                e.terminal()
            );
            terminal_safe("a warning", &warning)?;
            if warning.contains('\n') {
                return Err(format!("a warning of more than one line: {warning:?}"));
            }
        }
    }
    Ok(())
}

/// The audit log: a JSON object a line, each the driver's, at most a line per host call the run
/// made (one more when calls past the audit buffer were dropped) and last the run's end. Like
/// all JSON the host writes, it carries the skill's text as given, escaped by serde (which
/// leaves bidi controls and U+2028 as they are: docs/security.md, "Untrusted text").
pub fn audit_shape(report: &Report, audit: &str) -> Result<(), String> {
    let mut lines = Vec::new();
    for line in audit.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("an audit line does not parse ({e}): {line:?}"))?;
        if value["skill"] != SKILL || !matches!(value["decision"].as_str(), Some("allow" | "deny"))
        {
            return Err(format!("an audit line not the driver's: {line:?}"));
        }
        lines.push(value);
    }
    let ends = lines
        .iter()
        .filter(|l| l["interface"] == "run" && l["op"] == "scan");
    if ends.count() != 1 || lines.last().is_none_or(|l| l["op"] != "scan") {
        return Err(format!("the audit log has not one end, last:\n{audit}"));
    }
    let calls = report.runs[0].host_calls as usize;
    if lines.len() - 1 > calls + 1 {
        return Err(format!(
            "{} audit lines for {calls} host calls:\n{audit}",
            lines.len() - 1
        ));
    }
    Ok(())
}
