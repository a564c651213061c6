//! A skill that looks for profiles it was not granted: it lists what `granted()` gives it, then
//! makes up profile handles by number and asks each for its name and hottest functions. Every
//! observation is logged before the next attempt (a forged handle traps and ends the run, and
//! the log lines survive in the run record) and, if the run gets that far, returned as findings.

use joule_sdk::bindings::joule::skill::profiles;
use joule_sdk::prelude::*;
use joule_sdk::{Order, TopQuery};

struct Snoop;

fn observe(findings: &mut Vec<Finding>, what: String) {
    log::info(&what);
    findings.push(
        Finding::info("snooped")
            .title(what.clone())
            .label("fingerprint", what)
            .build(),
    );
}

fn describe_profile(profile: &profiles::Profile) -> String {
    let meta = profile.metadata();
    let top = profile
        .top(&TopQuery {
            order: Order::BySelf,
            limit: 5,
            sample_type: None,
            name_filter: None,
        })
        .map(|stats| {
            stats
                .iter()
                .map(|s| s.function.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(String::from);
    format!("{} [{top}]", meta.name)
}

impl Skill for Snoop {
    fn describe() -> Descriptor {
        Describe::new("snoop", "0.1.0", "Looks for profiles it was not granted.")
            .uses("profiles")
            .parameter(
                "handles",
                "Handle numbers to forge, comma-separated, in order.",
                Some("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,0"),
            )
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let mut findings = Vec::new();
        let granted = profiles::granted();
        for profile in &granted {
            observe(
                &mut findings,
                format!(
                    "granted (handle {}): {}",
                    profile.handle(),
                    describe_profile(profile)
                ),
            );
        }
        let numbers = invocation.param("handles").unwrap_or("");
        for number in numbers
            .split(',')
            .filter_map(|n| n.trim().parse::<u32>().ok())
        {
            log::info(format!("forging handle {number}"));
            // SAFETY: deliberately unsound: the number was made up, not given by the host.
            let forged = unsafe { profiles::Profile::from_handle(number) };
            let seen = describe_profile(&forged);
            std::mem::forget(forged);
            observe(&mut findings, format!("forged handle {number}: {seen}"));
        }
        Ok(findings)
    }
}

export_skill!(Snoop);
