//! `perf script` text into the model, against inferno's `collapse-perf` (single-threaded) on the
//! same bytes in memory: Brendan Gregg's `example-perf-stacks.txt` (3.1 MB, 37k lines), and a
//! ~200 MB input made by repeating it (written to a temporary directory at start, read back,
//! removed at exit).
//!
//! Reproduce: `cargo bench -p joule-profile --bench perf_script`. Criterion prints MB/s for both readers.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use inferno::collapse::Collapse;
use joule_profile::ingest::ReadOptions;

const LARGE_BYTES: usize = 200 * 1000 * 1000;

fn example() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/perf/example-perf-stacks.txt.gz");
    let gz = std::fs::read(&path).expect("fixture");
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("inflate");
    raw
}

/// The example repeated to about 200 MB, through a file in a temporary directory.
fn large(example: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("large-perf-script.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut written = 0;
    while written < LARGE_BYTES {
        file.write_all(example).expect("write");
        // Events are blank-line terminated; keep the copies apart.
        file.write_all(b"\n").expect("write");
        written += example.len() + 1;
    }
    file.flush().expect("flush");
    drop(file);
    std::fs::read(&path).expect("read back")
}

fn joule_vs_inferno(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    bytes: &[u8],
) {
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    let options = ReadOptions::default();
    group.bench_function("joule", |b| {
        b.iter(|| {
            joule_profile::ingest::load_bytes_with("perf.txt", bytes, &options).expect("reads")
        })
    });
    group.bench_function("inferno collapse-perf (1 thread)", |b| {
        b.iter(|| {
            let mut opt = inferno::collapse::perf::Options::default();
            opt.nthreads = 1;
            let mut folder = inferno::collapse::perf::Folder::from(opt);
            folder.collapse(bytes, std::io::sink()).expect("collapses")
        })
    });
}

fn bench(c: &mut Criterion) {
    let example = example();
    let mut group = c.benchmark_group("perf script: example-perf-stacks (3.1 MB)");
    group.measurement_time(Duration::from_secs(10));
    joule_vs_inferno(&mut group, &example);
    group.finish();

    let large = large(&example);
    let mut group = c.benchmark_group(format!(
        "perf script: example repeated ({} MB)",
        large.len() / 1_000_000
    ));
    // Flat sampling: ten runs of the same count, not 1 + 2 + ... + 10 runs of inferno's 0.6 s.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    joule_vs_inferno(&mut group, &large);
    group.finish();
}

criterion_group!(perf_script, bench);
criterion_main!(perf_script);
