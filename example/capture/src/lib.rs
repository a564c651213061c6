//! CPU profiles of this process, sampled with pprof-rs and written as pprof (each distinct frame
//! a location with its inline chain) and folded stacks: what the example and the offense corpus
//! capture their profiles with.

#[cfg(feature = "pprof")]
mod sampler {
    use std::collections::{BTreeMap, HashMap};
    use std::error::Error;
    use std::fs::File;
    use std::io::{BufWriter, Write};
    use std::path::Path;
    use std::time::UNIX_EPOCH;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use pprof::protos::{self, Message};
    use pprof::{ProfilerGuard, ProfilerGuardBuilder, Report, Symbol};

    /// Requested samples per second of CPU time. pprof-rs uses `setitimer(ITIMER_PROF)`, which the
    /// kernel fires at most once per scheduler tick: on a `CONFIG_HZ=250` kernel this yields 250 Hz.
    const FREQUENCY_HZ: i32 = 1000;

    /// A running profiler; dropping it stops sampling.
    pub struct Capture {
        guard: ProfilerGuard<'static>,
        cpu_at_start: Option<u64>,
    }

    impl Capture {
        pub fn start() -> Result<Self, pprof::Error> {
            // pprof-rs also suggests blocklisting "libc", because libgcc's unwinder used to take a
            // lock (dl_iterate_phdr) that the interrupted code may hold. glibc >= 2.35 with libgcc
            // >= 12 looks frames up lock-free (_dl_find_object), and skipping libc would drop every
            // sample taken in malloc, free and memcpy, which is a quarter of this program's CPU time.
            let guard = ProfilerGuardBuilder::default()
                .frequency(FREQUENCY_HZ)
                .blocklist(&["libgcc", "pthread", "vdso"])
                .build()?;
            Ok(Self {
                guard,
                cpu_at_start: cpu_time_ns(),
            })
        }

        /// Stops sampling and writes the requested files, the pprof one stamped as taken at Unix
        /// time `time` when given; returns the number of samples taken.
        pub fn finish(
            self,
            pprof: Option<&Path>,
            folded: Option<&Path>,
            time: Option<i64>,
        ) -> Result<isize, Box<dyn Error>> {
            let cpu_at_end = cpu_time_ns();
            let report = self.guard.report().build()?;
            drop(self.guard);
            let samples: isize = report.data.values().sum();
            if let Some(path) = pprof {
                // Weight samples with the CPU time actually spent per sample, not the nominal period.
                let period = match (self.cpu_at_start, cpu_at_end, samples) {
                    (Some(start), Some(end), 1..) => ((end - start) / samples as u64) as i64,
                    _ => 1_000_000_000 / i64::from(FREQUENCY_HZ),
                };
                let mut gz = GzEncoder::new(File::create(path)?, Compression::default());
                let mut profile = PprofBuilder::build(&report, period);
                if let Some(t) = time {
                    profile.time_nanos = t.saturating_mul(1_000_000_000);
                }
                gz.write_all(&profile.encode_to_vec())?;
                gz.finish()?;
            }
            if let Some(path) = folded {
                let mut out = BufWriter::new(File::create(path)?);
                for (stack, count) in folded_stacks(&report) {
                    writeln!(out, "{stack} {count}")?;
                }
                out.flush()?;
            }
            Ok(samples)
        }
    }

    /// CPU time used by this (single-threaded) process so far, in nanoseconds, if Linux reports it.
    fn cpu_time_ns() -> Option<u64> {
        let schedstat = std::fs::read_to_string("/proc/self/schedstat").ok()?;
        schedstat.split_whitespace().next()?.parse().ok()
    }

    /// `root;...;leaf` stacks with their sample counts, merged and sorted.
    fn folded_stacks(report: &Report) -> BTreeMap<String, isize> {
        let mut stacks = BTreeMap::new();
        for (frames, count) in &report.data {
            // pprof-rs keeps frames leaf first, and each frame's inlined callees before their caller.
            let names: Vec<String> = frames
                .frames
                .iter()
                .rev()
                .flat_map(|frame| frame.iter().rev())
                .map(|symbol| symbol.name().replace(';', ":"))
                .collect();
            *stacks.entry(names.join(";")).or_insert(0) += count;
        }
        stacks
    }

    /// Converts a report to profile.proto. pprof-rs's own `Report::pprof` keeps one location per
    /// function name, so every frame of a function carries the line of whichever sample came first;
    /// here each distinct frame is a location whose lines are its inline chain, innermost first.
    #[derive(Default)]
    struct PprofBuilder {
        profile: protos::Profile,
        strings: HashMap<String, i64>,
        functions: HashMap<(i64, i64), u64>,
        locations: HashMap<Vec<(u64, i64)>, u64>,
    }

    impl PprofBuilder {
        fn build(report: &Report, period: i64) -> protos::Profile {
            let mut b = Self::default();
            b.string(""); // profile.proto requires string_table[0] == "".
            let cpu = protos::ValueType {
                ty: b.string("cpu"),
                unit: b.string("nanoseconds"),
            };
            let samples = protos::ValueType {
                ty: b.string("samples"),
                unit: b.string("count"),
            };
            for (frames, &count) in &report.data {
                let location_id = frames.frames.iter().map(|f| b.location(f)).collect();
                let count = count as i64;
                b.profile.sample.push(protos::Sample {
                    location_id,
                    value: vec![count, count * period],
                    label: Vec::new(),
                });
            }
            let timing = &report.timing;
            let start = timing
                .start_time
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            b.profile.sample_type = vec![samples, cpu.clone()];
            b.profile.period_type = Some(cpu);
            b.profile.period = period;
            b.profile.time_nanos = start.as_nanos() as i64;
            b.profile.duration_nanos = timing.duration.as_nanos() as i64;
            b.profile
        }

        fn string(&mut self, s: &str) -> i64 {
            if let Some(&id) = self.strings.get(s) {
                return id;
            }
            let id = self.profile.string_table.len() as i64;
            self.profile.string_table.push(s.to_owned());
            self.strings.insert(s.to_owned(), id);
            id
        }

        fn function(&mut self, symbol: &Symbol) -> u64 {
            let key = (self.string(&symbol.name()), self.string(&symbol.filename()));
            if let Some(&id) = self.functions.get(&key) {
                return id;
            }
            let id = self.profile.function.len() as u64 + 1;
            let system_name = self.string(&symbol.sys_name());
            self.profile.function.push(protos::Function {
                id,
                name: key.0,
                system_name,
                filename: key.1,
                start_line: 0,
            });
            self.functions.insert(key, id);
            id
        }

        fn location(&mut self, frame: &[Symbol]) -> u64 {
            let lines: Vec<(u64, i64)> = frame
                .iter()
                .map(|s| (self.function(s), i64::from(s.lineno())))
                .collect();
            if let Some(&id) = self.locations.get(&lines) {
                return id;
            }
            let id = self.profile.location.len() as u64 + 1;
            self.profile.location.push(protos::Location {
                id,
                line: lines
                    .iter()
                    .map(|&(function_id, line)| protos::Line { function_id, line })
                    .collect(),
                ..Default::default()
            });
            self.locations.insert(lines, id);
            id
        }
    }
}

#[cfg(feature = "pprof")]
pub use sampler::Capture;

use std::error::Error;

/// The `main` of an offense-corpus program: runs `work` a number of times (`--iterations N`,
/// else `default_iterations`), prints `elapsed_ns <total wall time of the work>`, and with
/// `--pprof OUT` writes a CPU profile of the work (`--folded OUT` as folded stacks).
pub fn bench_main(default_iterations: u32, mut work: impl FnMut()) -> std::process::ExitCode {
    match bench(default_iterations, &mut work) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn bench(default_iterations: u32, work: &mut dyn FnMut()) -> Result<(), Box<dyn Error>> {
    let mut iterations = default_iterations;
    let (mut pprof, mut folded) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--iterations" => iterations = value()?.parse()?,
            "--pprof" => pprof = Some(std::path::PathBuf::from(value()?)),
            "--folded" => folded = Some(std::path::PathBuf::from(value()?)),
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --iterations N, --pprof OUT, --folded OUT)"
                )
                .into());
            }
        }
    }
    #[cfg(feature = "pprof")]
    let capture = (pprof.is_some() || folded.is_some())
        .then(Capture::start)
        .transpose()?;
    #[cfg(not(feature = "pprof"))]
    if pprof.is_some() || folded.is_some() {
        return Err("--pprof and --folded need a build with `--features capture`".into());
    }
    let started = std::time::Instant::now();
    for _ in 0..iterations {
        work();
    }
    let elapsed = started.elapsed();
    #[cfg(feature = "pprof")]
    if let Some(capture) = capture {
        let samples = capture.finish(pprof.as_deref(), folded.as_deref(), None)?;
        eprintln!("{samples} samples");
    }
    println!("elapsed_ns {}", elapsed.as_nanos());
    Ok(())
}
