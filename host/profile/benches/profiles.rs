//! Profile benchmarks on Google pprof's `large.cpu.pb.gz` (20,430 samples): inflate alone,
//! decode + model build from inflated bytes (also the pprof reader alone on one thread, to show
//! what the second thread is worth), the whole `load`, and `profile top` (load, then
//! flat/cumulative per function and the top 10).
//!
//! Reproduce: `cargo bench -p joule-profile --bench profiles`.
//!
//! The allocator is told to keep freed memory (glibc's trim threshold raised to 256 MiB, its
//! mmap threshold to 32 MiB, for every benchmark here alike): otherwise glibc gives the model's pages back to
//! the system after each iteration and the next one pays for fresh pages (about 2 µs each on
//! this VM), which made the decode figure swing between 1.9 and 7.4 ms from run to run. Each
//! iteration's output is dropped inside its timing (freeing it is counted as reading).

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use joule_profile::model::Order;

/// Keeps freed memory in the process (see the module comment).
fn keep_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets allocator parameters; called before any timing.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

fn bench(c: &mut Criterion) {
    keep_freed_memory();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/pprof/large.cpu.pb.gz");
    let gz = std::fs::read(&path).expect("fixture");
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("inflate");

    c.bench_function("large.cpu: inflate only", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(raw.len());
            flate2::read::MultiGzDecoder::new(&gz[..])
                .read_to_end(&mut out)
                .expect("inflate");
            out
        })
    });
    c.bench_function("large.cpu: decode + model build (inflated)", |b| {
        b.iter(|| joule_profile::ingest::load_bytes("large.cpu.pb", &raw).expect("decode"))
    });
    c.bench_function(
        "large.cpu: decode + model build, one thread (inflated)",
        |b| {
            b.iter(|| {
                joule_profile::ingest::Pprof
                    .read_on(&raw, false)
                    .expect("decode")
            })
        },
    );
    c.bench_function("large.cpu: profile top (load + top 10)", |b| {
        b.iter(|| {
            let p = joule_profile::ingest::load(&path).expect("load");
            let t = p.default_sample_type;
            p.top(t, Order::BySelf, 10, |_| true)
        })
    });
}

criterion_group! {
    name = profiles;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(profiles);
