//! A skill that recurses without bound: the Wasm stack must overflow into a trap the host
//! reports as "stack overflow", not a crash of the host.

use joule_sdk::prelude::*;

struct Recursor;

/// Recurses until `depth == limit`, which the caller makes unreachable. The result is rotated
/// before it is combined, so the compiler cannot turn the recursion into a loop, and nothing is
/// kept on the shadow stack in linear memory: only Wasm frames grow.
#[inline(never)]
fn dive(depth: u64, limit: u64) -> u64 {
    if depth == limit {
        return depth;
    }
    dive(depth + 1, limit).rotate_left(7) ^ depth
}

impl Skill for Recursor {
    fn describe() -> Descriptor {
        Describe::new("recursor", "0.1.0", "Recurses until the stack overflows.").build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        let deepest = dive(0, std::hint::black_box(u64::MAX));
        Ok(vec![
            Finding::info("never")
                .title(format!("returned from depth {deepest}"))
                .build(),
        ])
    }
}

export_skill!(Recursor);
