//! Profile benchmarks on Google pprof's `large.cpu.pb.gz` (20,430 samples): inflate alone,
//! decode + model build from inflated bytes, the whole `load`, and `profile top` (load, then
//! flat/cumulative per function and the top 10).
//!
//! Reproduce: `cargo bench -p joule --bench profiles`.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use joule::model::Order;

fn bench(c: &mut Criterion) {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/pprof/large.cpu.pb.gz");
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
        b.iter(|| joule::ingest::load_bytes("large.cpu.pb", &raw).expect("decode"))
    });
    c.bench_function("large.cpu: profile top (load + top 10)", |b| {
        b.iter(|| {
            let p = joule::ingest::load(&path).expect("load");
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
