//! A skill that panics: its run must be reported failed with the panic message, and the other
//! skills' findings must be unaffected.

use joule_sdk::prelude::*;

struct Panicker;

impl Skill for Panicker {
    fn describe() -> Descriptor {
        Describe::new("panicker", "0.1.0", "Panics on every run.").build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        let empty: Vec<u32> = std::hint::black_box(Vec::new());
        let index = std::hint::black_box(3);
        Ok(vec![
            Finding::info("never")
                .title(format!("{}", empty[index]))
                .build(),
        ])
    }
}

export_skill!(Panicker);
