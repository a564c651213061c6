//! A skill that reports what the standard library lets it see of the machine: environment
//! variables, command-line arguments, the current directory, standard input, the wall clock,
//! the monotonic clock and randomness. Each is one finding whose message is what it saw, so a
//! test can check that nothing of the host leaks in.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::Read;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use joule_sdk::prelude::*;

struct Prober;

fn saw(findings: &mut Vec<Finding>, what: &str, message: String, value: f64) {
    findings.push(
        Finding::info("probed")
            .title(what.to_string())
            .message(message)
            .evidence(what, value, "")
            .label("fingerprint", what.to_string())
            .build(),
    );
}

impl Skill for Prober {
    fn describe() -> Descriptor {
        Describe::new(
            "prober",
            "0.1.0",
            "Reports the environment, arguments, clocks and randomness it sees.",
        )
        .build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        let mut findings = Vec::new();

        let vars: Vec<String> = std::env::vars_os()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect();
        saw(&mut findings, "env", vars.join("\n"), vars.len() as f64);

        let args: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        saw(&mut findings, "args", args.join("\n"), args.len() as f64);

        let cwd = match std::env::current_dir() {
            Ok(dir) => format!("cwd: {}", dir.display()),
            Err(e) => format!("error: {e}"),
        };
        saw(&mut findings, "cwd", cwd, 0.0);

        let mut input = Vec::new();
        let stdin = match std::io::stdin().read_to_end(&mut input) {
            Ok(n) => format!("read {n} bytes: {}", String::from_utf8_lossy(&input)),
            Err(e) => format!("error: {e}"),
        };
        saw(&mut findings, "stdin", stdin, input.len() as f64);

        let (wall, seconds) = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => (
                format!("{} s since the epoch", since.as_secs_f64()),
                since.as_secs_f64(),
            ),
            Err(e) => (format!("before the epoch: {e}"), -1.0),
        };
        saw(&mut findings, "wall-clock", wall, seconds);

        let start = Instant::now();
        let mut spin = 0u64;
        for i in 0..100_000u64 {
            spin = std::hint::black_box(spin.wrapping_add(i));
        }
        let elapsed = start.elapsed();
        saw(
            &mut findings,
            "monotonic-clock",
            format!("{} ns for 100,000 additions ({spin})", elapsed.as_nanos()),
            elapsed.as_nanos() as f64,
        );

        // std's hash maps are seeded from the platform's randomness: two states hashing the
        // same value differently means random bytes came in.
        let a = RandomState::new().hash_one(0u64);
        let b = RandomState::new().hash_one(0u64);
        saw(
            &mut findings,
            "random",
            format!("{a:016x} {b:016x}"),
            if a == b { 0.0 } else { 1.0 },
        );
        Ok(findings)
    }
}

export_skill!(Prober);
