//! Ingest benchmark: a fleet of 1,000 series x 1,000 points (CSV, time-major, five-minute Unix
//! seconds, a `group` label, 34 MB) parsed and stored, on one thread and on every core.
//! Reports the time for the whole file (and points a second); divide by 1,000,000 for the time
//! a point. The whole-process figures at 100,000 series are `make bench-fleet`'s.
//!
//! Reproduce: `cargo bench -p joule --bench metrics` (or `make bench`).

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use joule::metrics::{LoadOptions, load_bytes_with};

const SERIES: usize = 1_000;
const POINTS: usize = 1_000;

/// The fleet as `make bench-fleet`'s generator writes it, without noise (parsing cost does not
/// depend on the digits much; each value has four decimals as there).
fn fleet_csv() -> Vec<u8> {
    let mut out = String::from("timestamp,series,value,group\n");
    for i in 0..POINTS {
        let t = 1_793_491_200 + 300 * i as i64;
        for s in 0..SERIES {
            let v = 10.0 + s as f64 + (i * 7919 % 1000) as f64 / 1000.0;
            out.push_str(&format!("{t},f{s:06},{v:.4},g{:04}\n", s / 100));
        }
    }
    out.into_bytes()
}

fn ingest(c: &mut Criterion) {
    let csv = fleet_csv();
    let mut group = c.benchmark_group("ingest-1000x1000");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements((SERIES * POINTS) as u64));
    for (name, threads) in [("csv-1-thread", 1), ("csv-all-cores", 0)] {
        let options = LoadOptions {
            threads,
            ..LoadOptions::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let set = load_bytes_with("fleet.csv", &csv, &options).expect("the fleet");
                assert_eq!(set.point_count(), SERIES * POINTS);
                set
            })
        });
    }
    group.finish();
}

criterion_group!(metrics, ingest);
criterion_main!(metrics);
