//! The attack generator's skill: reads a program from its `program` parameter (hex) and runs it
//! as a sequence of host calls over every interface of `wit/` (profiles, stack cursors,
//! filters, diffs, source reads, searches, syntax queries and function lookups, metrics,
//! history, log,
//! findings reported early) with
//! hostile arguments taken from the program's bytes: paths with `..`, `//`, NULs and deny-listed
//! names, huge limits and ranges, random regex, glob and query text, handles dropped, reused and
//! made up. Then it returns the findings the program describes, every string of them (title,
//! rule, message, locations, evidence, labels, edits) taken from the bytes too: line breaks,
//! HTML, Markdown, terminal escapes, `|` and backticks.
//!
//! Errors from host calls are normal and ignored: the program goes on to its next call. The
//! host's invariants are checked outside, on the report (`joule_tests::attack`, `fuzz/host`).

use joule_sdk::bindings::joule::skill::types::Impact;
use joule_sdk::bindings::joule::skill::{history, log as wlog, metrics, profiles, source};
use joule_sdk::prelude::*;
use joule_sdk::{
    ByteRange, CursorOptions, DiffQuery, LabelMatch, MatchMode, Measure, Order, SampleFilter,
    SearchQuery, SyntaxQuery, TopQuery,
};

struct Driver;

/// At most this many host calls (and findings) a program, so one input is one quick run.
const MAX_STEPS: usize = 256;
/// Handles of each kind the program keeps at most (it drops the oldest past that).
const MAX_HELD: usize = 64;
/// Findings a program returns at most.
const MAX_FINDINGS: usize = 12;

/// Pieces of hostile text: paths that try to leave a tree or reach a denied file, Markdown and
/// HTML that try to open blocks, terminal escapes, regex and glob and tree-sitter syntax.
const PIECES: &[&str] = &[
    "",
    "x",
    "..",
    "../",
    "/",
    "//",
    "/etc/passwd",
    "./",
    "src",
    "src/main.rs",
    "src/parse.rs",
    "Cargo.toml",
    "src/../../",
    ".git/config",
    ".env",
    "id_rsa",
    "secrets.pem",
    "\0",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\u{1b}[2K\r",
    "\u{1b}]0;pwned\u{7}",
    "\u{1b}[31m",
    "\u{8}",
    "\u{202e}",
    "\u{2028}",
    "\u{feff}",
    "# ",
    "\n## 1. Injected\n",
    "\n## Runs\n",
    "| a | b |\n|---|---|\n| c | d |",
    "|",
    "\\|",
    "`",
    "```",
    "~~~",
    "\n```\n",
    "<script>alert(1)</script>",
    "<!--",
    "-->",
    "<div>",
    "![x](http://e/x.png)",
    "[l](javascript:alert(1))",
    "[^1]: note",
    "> ",
    "- ",
    "1. ",
    "---",
    "===",
    "* * *",
    "**",
    "_",
    "&amp;",
    "\\",
    "(a+)+$",
    "[",
    "(?i)",
    ".*",
    "a{100000}",
    "\\p{L}+",
    "**/*",
    "**/*.rs",
    "{a,b",
    "[!",
    "(call_expression) @c",
    "((identifier) @i (#match? @i \"(a+)+$\"))",
    "(",
    "@",
    "(#eq? @x",
    "fn",
    "parse_line",
    "main",
    "logscan::parse::parse_line",
    "HEAD",
    "HEAD~1",
    "0000000000000000000000000000000000000000",
    "6ed7b70",
    "-",
    "é",
    "\u{10ffff}",
    "😀",
    "\n@@ -1 +1 @@\n",
    "\n+++ b/x\n",
    "\ndiff --git a/x b/x\n",
];

/// Reads the program: bytes, numbers and texts. Past the end it reads zeros.
struct Program {
    bytes: Vec<u8>,
    at: usize,
}

impl Program {
    fn parse(hex: &str) -> Program {
        let digits: Vec<u8> = hex
            .bytes()
            .filter_map(|c| (c as char).to_digit(16).map(|d| d as u8))
            .collect();
        let bytes = digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect();
        Program { bytes, at: 0 }
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn raw_u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A count, limit or index: small, zero, huge or just past a host cap.
    fn num(&mut self) -> u32 {
        match self.byte() % 10 {
            0 => 0,
            1 => 1,
            2 => u32::MAX,
            3 => self.byte() as u32,
            4 => self.raw_u32(),
            5 => 10_001,
            6 => 100_001,
            7 => i32::MAX as u32 + 1,
            8 => self.byte() as u32 % 8,
            _ => self.u16() as u32,
        }
    }

    fn time(&mut self) -> i64 {
        match self.byte() % 6 {
            0 => 0,
            1 => i64::MIN,
            2 => i64::MAX,
            3 => -1,
            4 => 1_700_000_000 + self.u16() as i64 * 3600,
            _ => self.raw_u32() as i64 * self.raw_u32() as i64,
        }
    }

    fn float(&mut self) -> f64 {
        match self.byte() % 10 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => -0.0,
            4 => f64::MAX,
            5 => f64::MIN_POSITIVE / 2.0,
            6 => -1.0,
            7 => 2.5,
            _ => self.byte() as f64 / 255.0,
        }
    }

    /// Hostile text: pieces of [`PIECES`], raw bytes of the program (NUL and escapes
    /// included), and now and then one piece repeated thousands of times.
    fn text(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..self.byte() % 5 {
            let k = self.byte();
            match k {
                0..=169 => out.push_str(PIECES[k as usize % PIECES.len()]),
                170..=239 => {
                    let n = self.byte() as usize % 24;
                    let from = self.at.min(self.bytes.len());
                    let to = (from + n).min(self.bytes.len());
                    out.push_str(&String::from_utf8_lossy(&self.bytes[from..to]));
                    // Control bytes survive as they are (they are valid UTF-8).
                    self.at += n;
                }
                _ => {
                    let piece = PIECES[self.byte() as usize % PIECES.len()];
                    let times = (self.u16() as usize).min(1 << 14);
                    out.push_str(&piece.repeat(times));
                }
            }
        }
        out
    }

    fn opt_text(&mut self) -> Option<String> {
        self.bool().then(|| self.text())
    }

    fn opt_num(&mut self) -> Option<u32> {
        self.bool().then(|| self.num())
    }

    /// An index into `n` things (0 when there are none).
    fn pick(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.byte() as usize % n }
    }

    fn ids(&mut self) -> Vec<u32> {
        (0..self.byte() % 6).map(|_| self.num()).collect()
    }

    fn line_range(&mut self) -> LineRange {
        LineRange {
            start: self.num(),
            end: self.num(),
        }
    }

    fn globs(&mut self) -> Vec<String> {
        (0..self.byte() % 3).map(|_| self.text()).collect()
    }
}

/// The handles a program holds; each list is pushed to by `granted` and the calls that
/// return resources, and dropped from by the `drop` step.
#[derive(Default)]
struct Held {
    profiles: Vec<profiles::Profile>,
    cursors: Vec<profiles::StackCursor>,
    trees: Vec<source::Tree>,
    sets: Vec<metrics::MetricSet>,
    repos: Vec<history::Repo>,
    /// Tree names seen, for edits that name a real tree.
    tree_names: Vec<String>,
}

fn keep<T>(list: &mut Vec<T>, more: impl IntoIterator<Item = T>) {
    list.extend(more);
    if list.len() > MAX_HELD {
        list.drain(..list.len() - MAX_HELD);
    }
}

/// One of `list`, chosen by the program (`None` when the list is empty).
fn choose<'a, T>(p: &mut Program, list: &'a [T]) -> Option<&'a T> {
    let i = p.pick(list.len());
    list.get(i)
}

fn order(p: &mut Program) -> Order {
    if p.bool() {
        Order::BySelf
    } else {
        Order::ByTotal
    }
}

fn profile_step(p: &mut Program, held: &mut Held, op: u8) {
    if op == 0 || held.profiles.is_empty() {
        keep(&mut held.profiles, profiles::granted());
        return;
    }
    let Some(profile) = choose(p, &held.profiles) else {
        return;
    };
    let st = p.opt_num();
    match op {
        1 => drop(profile.metadata()),
        2 => drop(profile.function(p.num())),
        3 => {
            let mode = match p.byte() % 3 {
                0 => MatchMode::Exact,
                1 => MatchMode::Substring,
                _ => MatchMode::Regex,
            };
            drop(profile.find_functions(&p.text(), mode, p.num()));
        }
        4 => drop(profile.top(&TopQuery {
            order: order(p),
            limit: p.num(),
            sample_type: st,
            name_filter: p.opt_text(),
        })),
        5 => drop(profile.stat(p.num(), st)),
        6 => drop(profile.total_of(&p.ids(), st)),
        7 => drop(profile.callers(p.num(), st, p.num())),
        8 => drop(profile.callees(p.num(), st, p.num())),
        9 => drop(profile.lines(p.num(), st, p.num())),
        10 => {
            let options = CursorOptions {
                containing: p.ids(),
                batch: p.num(),
            };
            if let Ok(cursor) = profile.stacks(&options) {
                keep(&mut held.cursors, [cursor]);
            }
        }
        11 => {
            if let Some(cursor) = choose(p, &held.cursors) {
                for _ in 0..p.byte() % 4 {
                    drop(cursor.next());
                }
            }
        }
        12 => {
            let labels = (0..p.byte() % 3)
                .map(|_| LabelMatch {
                    key: p.text(),
                    value: p.opt_text(),
                })
                .collect();
            let filter = SampleFilter {
                labels,
                exclude: p.bool(),
            };
            if let Ok(view) = profile.filter(&filter) {
                keep(&mut held.profiles, [view]);
            }
        }
        13 => drop(profile.labels(st, p.num())),
        14 => {
            if let Some(base) = choose(p, &held.profiles) {
                drop(profile.diff(
                    base,
                    DiffQuery {
                        order: order(p),
                        limit: p.num(),
                        normalize: p.bool(),
                        base_sample_type: p.opt_num(),
                        sample_type: st,
                    },
                ));
            }
        }
        _ => drop(profile.subtree(&p.ids(), st, p.num())),
    }
}

fn source_step(p: &mut Program, held: &mut Held, op: u8) {
    if op == 0 || held.trees.is_empty() {
        let trees = source::granted();
        for t in &trees {
            let name = t.name();
            if !held.tree_names.contains(&name) {
                held.tree_names.push(name);
            }
        }
        keep(&mut held.trees, trees);
        return;
    }
    let Some(tree) = choose(p, &held.trees) else {
        return;
    };
    match op {
        1 => drop(tree.read(&p.text())),
        2 => drop(tree.read_lines(&p.text(), p.line_range())),
        3 => drop(tree.stat(&p.text())),
        4 => drop(tree.list_dir(&p.text())),
        5 => drop(tree.search(&SearchQuery {
            pattern: p.text(),
            regex: p.bool(),
            case_insensitive: p.bool(),
            globs: p.globs(),
            under: p.opt_text(),
            limit: p.num(),
        })),
        6 => drop(tree.locate(&p.text())),
        7 => drop(tree.definitions(&p.text(), p.num())),
        _ => {
            let language = match p.byte() % 9 {
                0 => Language::Rust,
                1 => Language::C,
                2 => Language::Cpp,
                3 => Language::Go,
                4 => Language::Python,
                5 => Language::Java,
                6 => Language::Javascript,
                7 => Language::Typescript,
                _ => Language::Tsx,
            };
            drop(tree.query(&SyntaxQuery {
                language,
                query: p.text(),
                globs: p.globs(),
                under: p.opt_text(),
                limit: p.num(),
            }));
        }
    }
}

fn metrics_step(p: &mut Program, held: &mut Held, op: u8) {
    if op == 0 || held.sets.is_empty() {
        keep(&mut held.sets, metrics::granted());
        return;
    }
    let Some(set) = choose(p, &held.sets) else {
        return;
    };
    match op {
        1 => {
            drop(set.name());
            let _ = set.time_format();
            let _ = set.count();
        }
        2 => drop(set.show(p.time())),
        3 => drop(set.list_series(p.num(), p.num(), p.opt_text().as_deref())),
        4 => drop(set.points(p.num(), p.num(), p.num())),
        5 => drop(set.values(p.num(), p.num(), p.num())),
        _ => drop(set.times(p.num(), p.num(), p.num())),
    }
}

fn history_step(p: &mut Program, held: &mut Held, op: u8) {
    if op == 0 || held.repos.is_empty() {
        keep(&mut held.repos, history::granted());
        return;
    }
    let Some(repo) = choose(p, &held.repos) else {
        return;
    };
    match op {
        1 => {
            drop(repo.name());
            drop(repo.head());
        }
        2 => drop(repo.commits(p.time(), p.time(), p.num())),
        3 => drop(repo.commit(&p.text())),
        4 => drop(repo.changes(&p.text())),
        5 => drop(repo.diff(&p.text())),
        6 => drop(repo.blame(&p.text(), p.num(), p.num())),
        _ => drop(repo.revert(&p.text())),
    }
}

/// Drops a held handle of some kind (later steps may still pick a sibling of it), or uses a
/// handle number nobody gave: the component model must trap that, ending the run.
fn handle_step(p: &mut Program, held: &mut Held, op: u8) {
    match op {
        0 if !held.profiles.is_empty() => {
            let i = p.pick(held.profiles.len());
            drop(held.profiles.remove(i));
        }
        1 if !held.cursors.is_empty() => {
            let i = p.pick(held.cursors.len());
            drop(held.cursors.remove(i));
        }
        2 if !held.trees.is_empty() => {
            let i = p.pick(held.trees.len());
            drop(held.trees.remove(i));
        }
        3 if !held.sets.is_empty() => {
            let i = p.pick(held.sets.len());
            drop(held.sets.remove(i));
        }
        4 if !held.repos.is_empty() => {
            let i = p.pick(held.repos.len());
            drop(held.repos.remove(i));
        }
        // Made up, or the number of a handle just dropped: only when the program insists (two
        // more bytes agree), as the trap ends the run.
        5 if p.byte() == 0xff => {
            let handle = p.num();
            // SAFETY: deliberately unsound: the host must refuse a handle it never gave.
            let forged = unsafe { profiles::Profile::from_handle(handle) };
            drop(forged.metadata());
            std::mem::forget(forged);
        }
        _ => {}
    }
}

/// Work for the limits: a loop of `n` × 4096 steps, or `n` × 64 KiB of memory touched; for
/// `n` = 255, a loop that only the deadline ends, or a gigabyte (past the memory cap).
fn burn_step(p: &mut Program, op: u8) {
    let n = p.byte() as u64;
    if op == 0 {
        let steps = if n == 255 { u64::MAX } else { n << 12 };
        let mut x = 1u64;
        for i in 0..steps {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
        std::hint::black_box(x);
    } else {
        let bytes = if n == 255 {
            1 << 30
        } else {
            (n as usize) << 16
        };
        let mut block = vec![0u8; bytes];
        for i in (0..block.len()).step_by(4096) {
            block[i] = 1;
        }
        std::hint::black_box(&block);
    }
}

fn location(p: &mut Program, held: &Held) -> Location {
    Location {
        tree: tree_name(p, held),
        file: p.opt_text(),
        lines: p.bool().then(|| p.line_range()),
        function: p.opt_text(),
    }
}

/// A real tree's name, or hostile text, or none.
fn tree_name(p: &mut Program, held: &Held) -> Option<String> {
    match p.byte() % 3 {
        0 => None,
        1 => choose(p, &held.tree_names).cloned(),
        _ => Some(p.text()),
    }
}

fn finding(p: &mut Program, held: &Held) -> Finding {
    let kind = match p.byte() % 5 {
        0 => FindingKind::Opportunity,
        1 => FindingKind::Regression,
        2 => FindingKind::RootCause,
        3 => FindingKind::Mitigation,
        _ => FindingKind::Info,
    };
    let locations = (0..p.byte() % 3).map(|_| location(p, held)).collect();
    let impact = Impact {
        sample_share: p.bool().then(|| p.float()),
        value: p.bool().then(|| p.float()),
        unit: p.opt_text(),
        relative_change: p.bool().then(|| p.float()),
    };
    let evidence = (0..p.byte() % 3)
        .map(|_| Measure {
            name: p.text(),
            value: p.float(),
            unit: p.text(),
        })
        .collect();
    let edits = (0..p.byte() % 3)
        .map(|_| {
            let span = if p.bool() {
                Span::Lines(p.line_range())
            } else {
                Span::Bytes(ByteRange {
                    start: p.num() as u64,
                    end: p.num() as u64,
                })
            };
            Edit {
                tree: tree_name(p, held),
                file: p.text(),
                span,
                replacement: p.text(),
            }
        })
        .collect();
    let labels = (0..p.byte() % 3).map(|_| (p.text(), p.text())).collect();
    Finding {
        kind,
        rule: p.text(),
        title: p.text(),
        message: p.text(),
        locations,
        impact,
        confidence: p.float(),
        evidence,
        edits,
        series: p.opt_text(),
        at: p.opt_text(),
        labels,
    }
}

impl Skill for Driver {
    fn describe() -> Descriptor {
        Describe::new(
            "driver",
            "0.1.0",
            "Runs a program of host calls with hostile arguments, and returns hostile findings.",
        )
        .uses("profiles")
        .uses("source")
        .uses("metrics")
        .uses("history")
        .uses("log")
        .parameter(
            "program",
            "The program, in hex: each step a byte choosing the call, then its arguments.",
            Some(""),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let mut p = Program::parse(invocation.param("program").unwrap_or(""));
        let mut held = Held::default();
        let mut findings = Vec::new();
        // Findings made, reported or kept to return.
        let mut made = 0;
        for _ in 0..MAX_STEPS {
            if p.done() {
                break;
            }
            let step = p.byte();
            let op = p.byte() % 16;
            match step % 16 {
                0..=3 => profile_step(&mut p, &mut held, op),
                4..=6 => source_step(&mut p, &mut held, op % 9),
                7 => metrics_step(&mut p, &mut held, op % 7),
                8 => history_step(&mut p, &mut held, op % 8),
                9 => {
                    let level = match op % 5 {
                        0 => wlog::Level::Trace,
                        1 => wlog::Level::Debug,
                        2 => wlog::Level::Info,
                        3 => wlog::Level::Warn,
                        _ => wlog::Level::Error,
                    };
                    wlog::log(level, &p.text());
                }
                10 => handle_step(&mut p, &mut held, op % 6),
                11 => burn_step(&mut p, op % 2),
                12 => {
                    // The skill's own error, as its whole answer.
                    if op == 15 {
                        return Err(p.text());
                    }
                }
                _ => {
                    if made < MAX_FINDINGS {
                        made += 1;
                        let finding = finding(&mut p, &held);
                        // One in four handed to the host now (`findings.report`), the rest
                        // returned: the host must treat both alike.
                        if op.is_multiple_of(4) {
                            Finding::report(std::slice::from_ref(&finding));
                        } else {
                            findings.push(finding);
                        }
                    }
                }
            }
        }
        Ok(findings)
    }
}

export_skill!(Driver);
