//! A skill that returns 100,000 small findings: the findings limit must stop it.

use joule_sdk::prelude::*;

struct Flooder;

impl Skill for Flooder {
    fn describe() -> Descriptor {
        Describe::new("flooder", "0.1.0", "Returns far too many findings.")
            .parameter("count", "How many findings to return.", Some("100000"))
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let count: usize = invocation.param_or("count", 100_000)?;
        // Tiny findings (a one-letter rule, nothing else), so the count is what goes over a
        // limit, not the size.
        Ok((0..count).map(|_| Finding::info("f").build()).collect())
    }
}

export_skill!(Flooder);
