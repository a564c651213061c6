//! A skill that calls `std::process::exit(0)` halfway through its run: the host process must
//! not exit, and the run must not pass for a success (it returned no findings, it quit).

use joule_sdk::prelude::*;

struct Exiter;

impl Skill for Exiter {
    fn describe() -> Descriptor {
        Describe::new("exiter", "0.1.0", "Exits the process from inside its run.").build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        if std::hint::black_box(true) {
            std::process::exit(0);
        }
        Ok(vec![Finding::info("never").title("did not exit").build()])
    }
}

export_skill!(Exiter);
