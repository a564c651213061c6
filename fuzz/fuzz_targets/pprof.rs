//! Any bytes through the pprof reader; a profile that comes back goes through every query and
//! writer, and (for one input in 16) the reader on two threads must agree with the reader
//! on one.
#![no_main]

use joule_profile::ingest::Pprof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    joule_fuzz::read_and_exercise(&Pprof, data);
    // One input in 16: a second thread per run costs far more than the read itself under the
    // sanitizers (its start, and the wait for it).
    if data.len() % 16 == 0 {
        joule_fuzz::pprof_threads_agree(data);
    }
});
