//! The attack generator: any bytes are a program for the `driver` test skill (host calls over
//! every interface with hostile arguments, then hostile findings), run as one invocation in the
//! real engine with a short deadline and a small memory cap, on the example's profiles, source
//! tree and history and a metrics file; every invariant of `joule_tests::attack` is checked
//! after each run (a broken one panics, which libFuzzer reports with the input).
//!
//! Needs the driver component: `make test-skills` (which `make fuzz` runs first).
#![no_main]

use std::sync::OnceLock;

use joule_tests::attack::{self, Target};
use libfuzzer_sys::fuzz_target;

static TARGET: OnceLock<Target> = OnceLock::new();

fuzz_target!(|program: &[u8]| {
    let target = TARGET.get_or_init(|| {
        Target::new(
            &joule_tests::test_skill("driver"),
            &joule_tests::cache_dir(),
        )
    });
    attack::check(&target.run(program));
});
