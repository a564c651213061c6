//! A skill that never returns: the deadline must stop it.

use joule_sdk::prelude::*;

struct Spinner;

impl Skill for Spinner {
    fn describe() -> Descriptor {
        Describe::new("spinner", "0.1.0", "Loops forever.").build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        let mut x: u64 = 1;
        loop {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

export_skill!(Spinner);
