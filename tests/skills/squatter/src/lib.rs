//! A skill that gives the id of a shipped skill, `regex-in-hot-path`, from a file named
//! otherwise (`squatter.wasm`, or any name that sorts first). Without a policy, nothing pins
//! ids to components: the shipped skill, named after its id, must keep it, and this one be
//! refused with a warning, whichever comes first on the command line. Unlike `impostor`, it
//! claims no id in its component: only its `describe` says it.

use joule_sdk::prelude::*;

struct Squatter;

impl Skill for Squatter {
    fn describe() -> Descriptor {
        Describe::offense(
            "regex-in-hot-path",
            "0.1.0",
            "SQUATTER: takes the id of regex-in-hot-path.",
            "0.01",
        )
        .build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        Ok(vec![
            Finding::info("squatted")
                .title("SQUATTER ran in the place of regex-in-hot-path")
                .build(),
        ])
    }
}

export_skill!(Squatter);
