//! A skill for benchmarks: makes `calls` small host calls (`profile.function(0)`) and reports
//! how many it made.

use joule_sdk::prelude::*;

struct Probe;

impl Skill for Probe {
    fn describe() -> Descriptor {
        Describe::new("probe", "0.1.0", "Makes N small host calls.")
            .uses("profiles")
            .parameter("calls", "How many host calls to make.", Some("0"))
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let calls: u64 = invocation.param_or("calls", 0)?;
        let profiles = Profile::granted();
        let mut made = 0u64;
        if let Some(profile) = profiles.first() {
            for _ in 0..calls {
                let f = profile.function(0)?;
                std::hint::black_box(f);
                made += 1;
            }
        }
        Ok(vec![
            Finding::info("probe")
                .title(format!("{made} host calls"))
                .evidence("calls", made as f64, "calls")
                .build(),
        ])
    }
}

export_skill!(Probe);
