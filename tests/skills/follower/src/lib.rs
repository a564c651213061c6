//! A skill triggered by other skills' findings: once per `hot-function` finding, it answers
//! with a finding that names its input, so a test can check the composition graph.

use joule_sdk::prelude::*;

struct Follower;

impl Skill for Follower {
    fn describe() -> Descriptor {
        Describe::new("follower", "0.1.0", "Follows hot-function findings.")
            .on_finding(FindingKind::Info, Some("hot-function"))
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let input = invocation
            .input
            .as_ref()
            .ok_or("a finding-triggered run must receive its finding")?;
        let function = input
            .locations
            .first()
            .and_then(|l| l.function.clone())
            .unwrap_or_default();
        Ok(vec![
            Finding::info("follow-up")
                .title(format!("follows: {}", input.title))
                .location(Location::function(&function))
                .label("fingerprint", input.title.clone())
                .build(),
        ])
    }
}

export_skill!(Follower);
