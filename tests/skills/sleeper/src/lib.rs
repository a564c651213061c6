//! A skill that spends its time waiting inside WASI host calls, where no Wasm runs for the
//! epoch deadline to interrupt: the invocation's deadline must cancel the wait itself.

use std::time::Duration;

use joule_sdk::prelude::*;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll;

struct Sleeper;

impl Skill for Sleeper {
    fn describe() -> Descriptor {
        Describe::new("sleeper", "0.1.0", "Waits in WASI calls for hours.")
            .parameter(
                "how",
                "sleep | never | instant | poll | naps | stdin",
                Some("sleep"),
            )
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        match invocation.param("how").unwrap_or("sleep") {
            // std's sleep: one `subscribe-duration` and `block` per chunk of the duration.
            "sleep" => std::thread::sleep(Duration::from_secs(10 * 3600)),
            // A pollable that is never ready.
            "never" => monotonic_clock::subscribe_duration(u64::MAX).block(),
            // An instant at the end of time.
            "instant" => monotonic_clock::subscribe_instant(u64::MAX).block(),
            // `poll` over many pollables, none ever ready.
            "poll" => {
                let waits: Vec<_> = (0..64)
                    .map(|i| monotonic_clock::subscribe_duration(u64::MAX - i))
                    .collect();
                let refs: Vec<&poll::Pollable> = waits.iter().collect();
                loop {
                    poll::poll(&refs);
                }
            }
            // Short waits one after another: Wasm runs between them, briefly.
            "naps" => loop {
                std::thread::sleep(Duration::from_millis(1));
            },
            // Reading stdin, which the host closes: answers at once, then the skill spins in
            // Wasm (the epoch stops that).
            "stdin" => loop {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
            },
            other => return Err(format!("unknown `how`: {other}")),
        }
        Err("woke up".into())
    }
}

export_skill!(Sleeper);
