//! A skill that loops forever around a cheap host call: the deadline must stop it even though
//! most of its time is spent in the host, or the host-call count limit when the policy sets a
//! low `host_calls`.

use joule_sdk::bindings::joule::skill::{profiles, source};
use joule_sdk::prelude::*;

struct CallSpinner;

impl Skill for CallSpinner {
    fn describe() -> Descriptor {
        Describe::new(
            "call-spinner",
            "0.1.0",
            "Loops forever around a cheap host call.",
        )
        .uses("profiles")
        .uses("source")
        .parameter(
            "call",
            "`name` (tree.name of the first tree), `metadata` (profile.metadata of the first \
             profile) or `log` (an empty log line).",
            Some("name"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let call = invocation.param("call").unwrap_or("name").to_string();
        let trees = source::granted();
        let granted = profiles::granted();
        let mut calls: u64 = 0;
        match call.as_str() {
            "metadata" => {
                let profile = granted.first().ok_or("no profile granted")?;
                loop {
                    std::hint::black_box(profile.metadata());
                    calls = std::hint::black_box(calls + 1);
                }
            }
            "log" => loop {
                log::debug("");
                calls = std::hint::black_box(calls + 1);
            },
            _ => {
                let tree = trees.first().ok_or("no tree granted")?;
                loop {
                    std::hint::black_box(tree.name());
                    calls = std::hint::black_box(calls + 1);
                }
            }
        }
    }
}

export_skill!(CallSpinner);
