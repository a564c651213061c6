//! A skill that hands findings to the host while it runs (`findings.report`), then ends as
//! parameter `then` says: `spin` past its deadline, `panic`, `grow` past its memory cap, or
//! `return` more findings. What it reported must survive whichever way it ends, within the
//! findings limits: the host keeps the highest-ranked.

use joule_sdk::prelude::*;

struct Reporter;

impl Skill for Reporter {
    fn describe() -> Descriptor {
        Describe::new(
            "reporter",
            "0.1.0",
            "Reports findings as it goes, then is stopped or returns.",
        )
        .parameter(
            "count",
            "Findings to report, in batches of 100.",
            Some("500"),
        )
        .parameter("then", "spin, panic, grow or return.", Some("spin"))
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let count: usize = invocation.param_or("count", 500)?;
        // Finding i is worth i / count of the profile, so the best are the last reported.
        let finding = |i: usize| {
            // A function each, so no two share a fingerprint.
            Finding::opportunity("reported")
                .title(format!("reported {i}"))
                .location(Location::function(&format!("f{i}")))
                .share((i + 1) as f64 / count as f64)
                .build()
        };
        let all: Vec<Finding> = (0..count).map(finding).collect();
        for batch in all.chunks(100) {
            Finding::report(batch);
        }
        match invocation.param("then").unwrap_or("spin") {
            "spin" => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "panic" => panic!("stopped after reporting {count} findings"),
            "grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            _ => Ok(vec![
                Finding::opportunity("returned")
                    .title("returned at the end")
                    .share(0.5)
                    .build(),
            ]),
        }
    }
}

export_skill!(Reporter);
