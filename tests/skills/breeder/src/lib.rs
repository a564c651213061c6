//! A skill that multiplies itself through composition: it runs on the scan and on its own
//! findings, declares that trigger a thousand times over, and answers every run with `fan-out`
//! new findings. Unchecked, round after round, that is fan-out to the power of the depth
//! invocations; the run's budgets must stop it, keep what it found, and say so.

use joule_sdk::prelude::*;

struct Breeder;

impl Skill for Breeder {
    fn describe() -> Descriptor {
        let mut describe = Describe::new("breeder", "0.1.0", "Breeds findings from findings.")
            .on_scan()
            .parameter("fan-out", "Findings returned per run.", Some("50"));
        for _ in 0..1_000 {
            describe = describe.on_finding(FindingKind::Info, Some("offspring"));
        }
        describe.on_finding(FindingKind::Info, None).build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let fan_out: usize = invocation.param_or("fan-out", 50)?;
        let parent = invocation
            .input
            .as_ref()
            .map(|f| f.title.clone())
            .unwrap_or_else(|| "scan".to_string());
        Ok((0..fan_out)
            .map(|i| {
                let name = format!("{parent}/{i}");
                Finding::info("offspring")
                    .title(name.clone())
                    .label("fingerprint", name)
                    .build()
            })
            .collect())
    }
}

export_skill!(Breeder);
