//! The workload `tests/eval/attribution_real.py` profiles on each version of `similar`: every
//! source file of one version diffed against the same file of another (real edits, hundreds of
//! lines), by lines with each algorithm, by words and by characters, rendered as a unified diff
//! and as inline changes, over and over for the given seconds of CPU time (so a profile has as
//! many samples on a busy machine as on an idle one). Its inputs are the same for every
//! version, so a share that moves between deploys is the library's doing.
//!
//!     driver OLD_DIR NEW_DIR SECONDS [ROUNDS]
//!
//! With ROUNDS, it runs that many rounds instead and prints the CPU seconds one took. It also prints
//! the calls a counter planted in the library counted (the evaluation's sizing build), if any.

use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicU64, Ordering};

use similar::{Algorithm, ChangeTag, TextDiff};

/// Incremented by the counter the evaluation plants in a function to size its slowdown.
#[no_mangle]
pub static JOULE_EVAL_CALLS: AtomicU64 = AtomicU64::new(0);

/// CPU time this (single-threaded) process has run, from Linux's scheduler statistics.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/schedstat").expect("/proc/self/schedstat");
    let nanos: u64 = stat
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("CPU time in schedstat");
    nanos as f64 / 1e9
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("input folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// One pass over every pair; returns a checksum so nothing is optimised away.
fn round(pairs: &[(String, String)]) -> usize {
    let mut sum = 0;
    for (old, new) in pairs {
        // Words and characters of the files' beginnings: Myers on many small tokens is
        // quadratic in the differences, and would be all the profile.
        let head = |s: &str, n: usize| s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
        for algorithm in [Algorithm::Myers, Algorithm::Patience, Algorithm::Histogram] {
            let diff = TextDiff::configure()
                .algorithm(algorithm)
                .diff_lines(old.as_str(), new.as_str());
            sum += diff.ops().len();
            sum += diff.unified_diff().context_radius(3).to_string().len();
        }
        let lines = TextDiff::from_lines(old.as_str(), new.as_str());
        for op in lines.ops() {
            for change in lines.iter_inline_changes(op) {
                sum += change.values().len();
            }
        }
        let words = TextDiff::from_words(&old[..head(old, 8000)], &new[..head(new, 8000)]);
        sum += words
            .iter_all_changes()
            .filter(|c| c.tag() != ChangeTag::Equal)
            .count();
        sum += (words.ratio() * 1000.0) as usize;
        let chars = TextDiff::from_chars(&old[..head(old, 600)], &new[..head(new, 600)]);
        sum += chars.ops().len();
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (old_dir, new_dir) = (Path::new(&args[1]), Path::new(&args[2]));
    let seconds: f64 = args[3].parse().expect("seconds");
    let rounds: Option<usize> = args.get(4).map(|r| r.parse().expect("rounds"));
    let mut old_files = Vec::new();
    sources(old_dir, &mut old_files);
    let mut pairs = Vec::new();
    for old in old_files {
        let new = new_dir.join(old.strip_prefix(old_dir).expect("under the folder"));
        if let (Ok(a), Ok(b)) = (std::fs::read_to_string(&old), std::fs::read_to_string(&new)) {
            if a != b {
                pairs.push((a, b));
            }
        }
    }
    let mut sum = 0;
    if let Some(rounds) = rounds {
        let start = cpu_seconds();
        for _ in 0..rounds {
            sum += round(&pairs);
        }
        println!("{}", (cpu_seconds() - start) / rounds as f64);
    } else {
        while cpu_seconds() < seconds {
            sum += round(&pairs);
        }
    }
    let calls = JOULE_EVAL_CALLS.load(Ordering::Relaxed);
    if calls > 0 {
        eprintln!("calls {calls}");
    }
    eprintln!("{} pairs, checksum {sum}", pairs.len());
}
