//! Reads one metric file the way `joule run --metrics` does and says what it cost: wall time,
//! microseconds a point, the store's bytes a point, and the process' peak memory. The ingest
//! half of `make bench-fleet` (the other half is the whole run).
//!
//! ```sh
//! cargo run --release -p joule-tests --example ingest -- target/fleet/fleet.csv [--shard K/N] [--threads N]
//! ```

use std::time::Instant;

use joule::metrics::{LoadOptions, Shard, load_with};

/// The process' peak resident memory, in bytes (`ru_maxrss` is in KiB on Linux).
fn peak_rss() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    if !ok {
        return 0;
    }
    // SAFETY: filled by the successful call above.
    let usage = unsafe { usage.assume_init() };
    usage.ru_maxrss.max(0) as u64 * 1024
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut options = LoadOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--shard" => {
                let text = args.next().ok_or("--shard K/N")?;
                let (k, n) = text.split_once('/').ok_or("--shard K/N")?;
                options.shard = Some(Shard::new(k.parse()?, n.parse()?)?);
            }
            "--threads" => options.threads = args.next().ok_or("--threads N")?.parse()?,
            _ => file = Some(arg),
        }
    }
    let file = file.ok_or("a metric file to read")?;
    let started = Instant::now();
    let set = load_with(std::path::Path::new(&file), &options)?;
    let seconds = started.elapsed().as_secs_f64();
    let f = set.footprint();
    println!(
        "{file}: {} series, {} points, {} grids in {seconds:.2} s ({:.3} us a point); \
         store {:.2} bytes a point + {:.1} MB of keys; peak RSS {:.0} MB; {} warnings",
        f.series,
        f.points,
        f.grids,
        seconds * 1e6 / f.points.max(1) as f64,
        f.bytes_a_point(),
        f.key_bytes as f64 / 1e6,
        peak_rss() as f64 / 1e6,
        set.warnings.len()
    );
    Ok(())
}
