//! Any bytes through the perf.data reader (the layout checks, the record parser, the mappings
//! and callchains); a profile that comes back goes through every query and writer. The seed is
//! the real capture of `tests/fixtures/perf-data/`.
//!
//! The record parser (linux-perf-event-reader) can overflow on a hostile count when debug
//! assertions are on, as they are here; the reader catches that panic and reports the file as
//! unreadable, so this target lets panics raised inside that crate through and aborts on any
//! other (Joule's own code must not panic at all).
#![no_main]

use std::sync::Once;

use joule_profile::ingest::PerfData;
use libfuzzer_sys::fuzz_target;

static SETUP: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    SETUP.call_once(|| {
        let abort_on_others = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .location()
                .is_some_and(|l| l.file().contains("linux-perf-event-reader"))
            {
                abort_on_others(info);
            }
        }));
        // No perf build-id cache: the seed's binary is not looked up at every run.
        // SAFETY: set once, before any other thread of this process reads the environment.
        unsafe { std::env::set_var("HOME", "/nonexistent") };
    });
    joule_fuzz::read_and_exercise(&PerfData, data);
});
