//! Any bytes through the perf script reader: with default options, then with the options the
//! first byte selects, each read also as a stream through a small buffer, which must agree.
#![no_main]

use joule_profile::ingest::{Perf, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let default = ReadOptions::default();
    if let Some(p) = joule_fuzz::read_with(&Perf, data, &default) {
        joule_fuzz::perf_stream_matches(data, &default, &p);
    }
    let Some(&selector) = data.first() else {
        return;
    };
    let options = joule_fuzz::perf_options(selector);
    if options != default
        && let Some(p) = joule_fuzz::read_with(&Perf, data, &options)
    {
        joule_fuzz::perf_stream_matches(data, &options, &p);
    }
});
