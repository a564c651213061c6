//! Any bytes (gzip included) through format detection and the reader it picks, as `joule` reads
//! a profile from memory; a profile that comes back goes through every query and writer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = joule_profile::ingest::load_bytes("fuzz-input", data) {
        joule_fuzz::exercise(&p);
    }
});
