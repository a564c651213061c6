//! The attack generator without cargo-fuzz: the `driver` skill runs every committed seed of
//! `fuzz/corpus/host_calls/` and a few hundred programs from a fixed pseudo-random stream in the
//! real engine, and each run keeps the invariants of `joule_tests::attack` (bounded time, no
//! lost run, every output with the host's structure). The checks themselves are shown to catch
//! a report whose structure a skill changed.

use joule_sdk::stats::noise::Gaussian;
use joule_tests::attack::{self, Attack, Target};
use joule_tests::*;

/// Programs from the stream, beside the seeds.
const RANDOM_PROGRAMS: usize = 500;

fn target() -> Target {
    Target::new(&test_skill("driver"), &cache_dir())
}

/// The same programs on every machine: lengths and bytes from the SDK's seeded generator.
struct Stream(Gaussian);

impl Stream {
    fn below(&mut self, n: usize) -> usize {
        (self.0.uniform() * n as f64) as usize
    }

    fn program(&mut self) -> Vec<u8> {
        let len = self.below(384);
        (0..len).map(|_| self.below(256) as u8).collect()
    }
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = root().join("fuzz/corpus/host_calls");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 8, "{} seeds", seeds.len());
    seeds
}

#[test]
fn every_seed_and_random_program_keeps_the_invariants() {
    let target = target();
    let mut calls = 0;
    let mut findings = 0;
    let mut failed = 0;
    let mut slowest = std::time::Duration::ZERO;
    let mut hostile_titles = 0;
    let mut stream = Stream(Gaussian(0x6a6f_756c_6521));
    let programs = seeds()
        .into_iter()
        .chain((0..RANDOM_PROGRAMS).map(|i| (format!("random {i}"), stream.program())));
    for (name, program) in programs {
        let ran = target.run(&program);
        if let Err(broken) = attack::invariants(&ran) {
            panic!(
                "{name}: {broken}\nprogram: {}\nruns: {:#?}",
                attack::hex(&program),
                ran.report.runs
            );
        }
        let run = &ran.report.runs[0];
        calls += run.host_calls;
        findings += ran.report.findings.len();
        failed += usize::from(run.error.is_some());
        slowest = slowest.max(ran.elapsed);
        hostile_titles += ran
            .report
            .findings
            .iter()
            .filter(|f| f.title.raw().contains(['\n', '\u{1b}', '|', '`']))
            .count();
    }
    eprintln!("{calls} host calls, {findings} findings, {failed} failed runs, slowest {slowest:?}");
    // The stream does reach the host and the report: not a test of nothing.
    assert!(calls > 3000, "{calls} host calls");
    assert!(findings > 100, "{findings} findings");
    assert!(hostile_titles > 10, "{hostile_titles} hostile titles");
    // Peak memory of the whole process (every run, the runtime, the inputs) stays bounded.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kib) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        assert!(kib < 2 << 20, "peak resident memory {kib} KiB");
    }
}

#[test]
fn each_seed_reaches_the_interface_it_is_named_after() {
    let target = target();
    for (name, program) in seeds() {
        let ran = target.run(&program);
        attack::check(&ran);
        let run = &ran.report.runs[0];
        let calls = [
            "profiles", "handles", "source", "metrics", "history", "log", "mixed",
        ];
        if calls.iter().any(|c| name.starts_with(c)) {
            assert!(run.host_calls > 0, "{name}: no host call");
        }
        if name.starts_with("findings") {
            assert!(!ran.report.findings.is_empty(), "{name}: no findings");
        }
        if name.starts_with("log") {
            assert!(!run.log.is_empty(), "{name}: no log line");
        }
    }
}

/// A report written as a skill would like it: an extra heading and table row before the runs.
fn forged(ran: &Attack) -> String {
    let markdown = joule::report::markdown(&ran.report);
    let at = markdown.rfind("## Runs").unwrap();
    format!(
        "{}## 2. Injected\n\n| 2 | x | info | – | – | 1.00 | `driver` |\n\n{}",
        &markdown[..at],
        &markdown[at..]
    )
}

#[test]
fn the_checks_catch_a_changed_structure() {
    let target = target();
    let seed = seeds()
        .into_iter()
        .find(|(n, _)| n.starts_with("findings"))
        .unwrap();
    let ran = target.run(&seed.1);
    attack::check(&ran);
    let (n, runs) = (ran.report.findings.len(), ran.report.runs.len());
    assert!(n >= 2, "{n} findings: {:#?}", ran.report.runs);
    assert!(attack::markdown_shape(&forged(&ran), n, runs).is_err());
    let markdown = joule::report::markdown(&ran.report);
    assert!(attack::markdown_shape(&markdown, n + 1, runs).is_err());
    assert!(attack::markdown_shape(&format!("{markdown}\u{1b}[2K"), n, runs).is_err());
    assert!(attack::markdown_shape(&format!("{markdown}\n<script>"), n, runs).is_err());
    assert!(attack::patch_shape("p", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n").is_ok());
    assert!(attack::patch_shape("p", "--- a/x\n+++ b/x\nrm -rf /\n").is_err());
    assert!(attack::json_shape("{\"findings\": [", &ran.report).is_err());
    assert!(attack::terminal_shape(&ran.report, "\u{1b}]0;title\u{7}").is_err());
    assert!(ran.audit.lines().count() >= 2, "{}", ran.audit);
    assert!(attack::audit_shape(&ran.report, &ran.audit).is_ok());
    let forged_audit = format!("{}{{\"skill\":\"other\"}}\n", ran.audit);
    assert!(attack::audit_shape(&ran.report, &forged_audit).is_err());
}
