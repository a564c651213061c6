//! A skill whose `describe` allocates without end: `describe` runs within its own fixed memory
//! cap, however much memory the policy or the command line gives a run.

use joule_sdk::prelude::*;

struct Balloon;

impl Skill for Balloon {
    fn describe() -> Descriptor {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; 4 << 20];
            chunk[0] = 1;
            hoard.push(std::hint::black_box(chunk));
        }
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        Err("never described, never run".into())
    }
}

export_skill!(Balloon);
