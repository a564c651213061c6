//! A skill whose `describe` never returns. `describe` is the first code of a component to run:
//! under a policy that does not pin this component it must never run at all (the load is
//! refused at once), and where it may run, its own fixed deadline must stop it, not the far
//! longer one a run gets.

use joule_sdk::prelude::*;

struct Stall;

impl Skill for Stall {
    fn describe() -> Descriptor {
        let mut x: u64 = 1;
        loop {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        Err("never described, never run".into())
    }
}

export_skill!(Stall);
