//! A skill that returns one finding whose message is 64 MiB: the findings size limit must stop
//! it, and the report must not carry the message.

use joule_sdk::prelude::*;

struct Giant;

impl Skill for Giant {
    fn describe() -> Descriptor {
        Describe::new("giant", "0.1.0", "Returns one enormous finding.")
            .parameter("mib", "Size of the message, in MiB.", Some("64"))
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let mib: usize = invocation.param_or("mib", 64)?;
        let message = "G".repeat(mib << 20);
        Ok(vec![
            Finding::info("giant")
                .title("a giant finding")
                .message(message)
                .build(),
        ])
    }
}

export_skill!(Giant);
