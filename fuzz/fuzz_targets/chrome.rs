//! Any bytes through the chrome reader; a profile that comes back goes through every query and writer.
#![no_main]

use joule_profile::ingest::ChromeCpuProfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    joule_fuzz::read_and_exercise(&ChromeCpuProfile, data);
});
