//! logscan: summarises a web-server access log (statuses, top users and paths, latency percentiles).
//!
//! This is Joule's bundled example program: it works, but it carries the kind of inefficiencies
//! a performance engineer would flag (see `example/README.md`).

mod parse;
mod report;
mod synth;

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str =
    "usage: logscan [--lines N | --input FILE] [--pprof OUT.pb.gz] [--folded OUT.folded]

  --lines N        scan N lines of a generated, deterministic log (default 20000)
  --input FILE     scan FILE (combined log format, optional trailing request time) instead
  --pprof OUT      write a gzipped pprof CPU profile of the scan (needs --features capture)
  --folded OUT     write the same profile as folded stacks (needs --features capture)
  --profile-time T stamp the pprof profile as taken at Unix time T (replaying a history on a
                   simulated clock) instead of now";

const DEFAULT_LINES: usize = 20_000;
const SEED: u64 = 0x10C5_CA4E;

struct Options {
    lines: usize,
    input: Option<PathBuf>,
    pprof: Option<PathBuf>,
    folded: Option<PathBuf>,
    profile_time: Option<i64>,
}

/// `Ok(None)` means help was asked for.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        lines: DEFAULT_LINES,
        input: None,
        pprof: None,
        folded: None,
        profile_time: None,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--lines" => {
                options.lines = value()?.parse().map_err(|e| format!("--lines: {e}"))?;
            }
            "--input" => options.input = Some(value()?.into()),
            "--pprof" => options.pprof = Some(value()?.into()),
            "--folded" => options.folded = Some(value()?.into()),
            "--profile-time" => {
                let t = value()?
                    .parse()
                    .map_err(|e| format!("--profile-time: {e}"))?;
                options.profile_time = Some(t);
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    Ok(Some(options))
}

fn run() -> Result<(), Box<dyn Error>> {
    let Some(options) = parse_args(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    let profiling = options.pprof.is_some() || options.folded.is_some();
    #[cfg(not(feature = "capture"))]
    if profiling {
        return Err("--pprof and --folded need a build with `--features capture`".into());
    }

    let text = match &options.input {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => synth::generate(options.lines, SEED),
    };

    // Only the scan is profiled, not generating or reading the input.
    #[cfg(feature = "capture")]
    let profiler = profiling.then(joule_capture::Capture::start).transpose()?;
    let started = Instant::now();
    let summary = report::scan(&text);
    let elapsed = started.elapsed();
    #[cfg(feature = "capture")]
    if let Some(profiler) = profiler {
        let samples = profiler.finish(
            options.pprof.as_deref(),
            options.folded.as_deref(),
            options.profile_time,
        )?;
        eprintln!("logscan: profile has {samples} samples");
    }

    print!("{summary}");
    eprintln!(
        "logscan: scanned {} lines in {:.2?}",
        summary.lines, elapsed
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logscan: {e}");
            ExitCode::FAILURE
        }
    }
}
