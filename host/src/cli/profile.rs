//! `joule profile`: work with profiles directly, natively in the host: `top` (like
//! `pprof -top`), `convert` between formats, `diff` two profiles per function.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use joule_profile::ingest::ReadOptions;
use joule_profile::model::diff::{DiffOrder, FunctionDelta};
use joule_profile::model::units::scaled;
use joule_profile::model::{Order, Profile};

use super::exit;

#[derive(clap::Subcommand, Debug)]
pub enum ProfileCommand {
    /// The functions with the most flat (self) time, like `pprof -top`.
    #[command(after_help = super::EXIT_CODES)]
    Top(TopArgs),
    /// Convert a profile to folded stacks, pprof or speedscope JSON.
    #[command(after_help = super::EXIT_CODES)]
    Convert(ConvertArgs),
    /// Per-function flat and cumulative differences between two profiles.
    #[command(after_help = super::EXIT_CODES)]
    Diff(DiffArgs),
}

/// How to read inputs whose format leaves choices (`perf script`), as inferno's options.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReadArgs {
    /// perf script: name the root frame `comm-pid`.
    #[arg(long)]
    pid: bool,
    /// perf script: name the root frame `comm-pid/tid`.
    #[arg(long)]
    tid: bool,
    /// perf script: suffix kernel frames with `_[k]`.
    #[arg(long)]
    kernel: bool,
    /// perf script: suffix JIT frames with `_[j]`.
    #[arg(long)]
    jit: bool,
    /// perf script: name unsymbolized frames by module and address.
    #[arg(long)]
    addrs: bool,
    /// perf script: keep mangled symbol names as perf wrote them, as inferno-collapse-perf
    /// does (Joule demangles C++ and Rust names by default).
    #[arg(long)]
    no_demangle: bool,
    /// perf script and perf.data: only samples of this event (default: the first event in
    /// the file).
    #[arg(long, value_name = "EVENT")]
    event: Option<String>,
    /// perf.data: a directory to look for the recorded binaries and their debug files in
    /// (by build id, by the recorded path under it, by file name); repeatable. Searched
    /// before `$JOULE_SYMBOL_PATH`, perf's build-id cache, debuginfod's cache and
    /// /usr/lib/debug.
    #[arg(long, value_name = "DIR")]
    symbol_path: Vec<PathBuf>,
    /// Which sample type to use, by name (`cpu`, `samples`, `alloc_space`) or index; the
    /// profile's default when absent.
    #[arg(long, value_name = "TYPE")]
    pub sample_type: Option<String>,
}

impl ReadArgs {
    pub fn options(&self) -> ReadOptions {
        ReadOptions {
            include_pid: self.pid || self.tid,
            include_tid: self.tid,
            annotate_kernel: self.kernel,
            annotate_jit: self.jit,
            include_addrs: self.addrs,
            event: self.event.clone(),
            no_demangle: self.no_demangle,
            symbol_paths: self.symbol_path.clone(),
        }
    }

    pub fn load(&self, path: &Path) -> anyhow::Result<(Profile, usize)> {
        let profile = joule_profile::ingest::load_with(path, &self.options())?;
        for w in &profile.warnings {
            eprintln!("joule: warning: {}: {w}", path.display());
        }
        let t = sample_type(&profile, self.sample_type.as_deref())?;
        Ok((profile, t))
    }
}

#[derive(clap::Args, Debug)]
pub struct TopArgs {
    /// The profile (any format Joule reads, gzipped or not); `-` reads standard input.
    file: PathBuf,
    /// How many functions to show.
    #[arg(short = 'n', long = "nodes", default_value_t = 10)]
    n: usize,
    /// Sort by cumulative instead of flat.
    #[arg(long)]
    cum: bool,
    #[command(flatten)]
    read: ReadArgs,
    /// Output as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Folded,
    Pprof,
    Speedscope,
}

#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// The profile to convert (any format Joule reads, gzipped or not); `-` reads standard
    /// input.
    file: PathBuf,
    /// The output format.
    #[arg(long, value_enum)]
    to: OutputFormat,
    /// Write here instead of standard output (pprof is written gzipped); `-` is standard
    /// output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The profile before.
    base: PathBuf,
    /// The profile after.
    new: PathBuf,
    /// How many functions to show.
    #[arg(short = 'n', long = "nodes", default_value_t = 20)]
    n: usize,
    /// Order by the change of the cumulative value instead of the flat one.
    #[arg(long)]
    cum: bool,
    /// Scale the base to the new profile's total first (like `pprof -normalize`).
    #[arg(long)]
    normalize: bool,
    #[command(flatten)]
    read: ReadArgs,
    /// Output as JSON.
    #[arg(long)]
    json: bool,
}

pub fn profile(command: ProfileCommand) -> anyhow::Result<u8> {
    match command {
        ProfileCommand::Top(args) => top(args),
        ProfileCommand::Convert(args) => convert(args),
        ProfileCommand::Diff(args) => diff(args),
    }
}

/// A sample type by name or index; the default when absent.
pub fn sample_type(p: &Profile, wanted: Option<&str>) -> anyhow::Result<usize> {
    let Some(wanted) = wanted else {
        return Ok(p.default_sample_type);
    };
    if let Ok(i) = wanted.parse::<usize>()
        && i < p.sample_types.len()
    {
        return Ok(i);
    }
    p.sample_types
        .iter()
        .position(|t| p.str(t.name) == wanted)
        .with_context(|| {
            let names: Vec<_> = (0..p.sample_types.len())
                .map(|i| p.sample_type_label(i))
                .collect();
            format!(
                "the profile has no sample type `{wanted}` (it has: {})",
                names.join(", ")
            )
        })
}

fn write_output(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    // `-o -` is standard output, as `-` is standard input.
    match path.filter(|p| *p != Path::new("-")) {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("{}: cannot write the output", path.display())),
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            Ok(stdout.flush()?)
        }
    }
}

fn convert(args: ConvertArgs) -> anyhow::Result<u8> {
    let (profile, t) = args.read.load(&args.file)?;
    let bytes = match args.to {
        OutputFormat::Folded => joule_profile::export::folded::write(&profile, t).into_bytes(),
        OutputFormat::Pprof => joule_profile::export::pprof::write_gz(&profile),
        OutputFormat::Speedscope => {
            joule_profile::export::speedscope::write(&profile, t).into_bytes()
        }
    };
    write_output(args.output.as_deref(), &bytes)?;
    Ok(exit::OK)
}

fn top(args: TopArgs) -> anyhow::Result<u8> {
    let (profile, t) = args.read.load(&args.file)?;
    let order = if args.cum {
        Order::ByTotal
    } else {
        Order::BySelf
    };
    let rows = profile.top(t, order, args.n, |_| true);
    let total = profile.totals()[t];
    let unit = profile.str(profile.sample_types[t].unit).to_string();
    if args.json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "function": profile.function_name(r.function),
                    "flat": r.self_value,
                    "cum": r.total_value,
                })
            })
            .collect();
        let out = serde_json::json!({
            "file": args.file.display().to_string(),
            "sample_type": profile.sample_type_label(t),
            "total": total,
            "functions": list,
        });
        super::emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
        return Ok(exit::OK);
    }
    super::emit(&render_top(&profile, t, &rows, total, &unit, &args.file))?;
    Ok(exit::OK)
}

pub(crate) fn render_top(
    profile: &Profile,
    t: usize,
    rows: &[joule_profile::model::FunctionStat],
    total: i64,
    unit: &str,
    file: &Path,
) -> String {
    let pct = |v: i64| {
        if total == 0 {
            0.0
        } else {
            v as f64 * 100.0 / total as f64
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "File: {}",
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let _ = writeln!(out, "Type: {}", profile.str(profile.sample_types[t].name));
    if let Some(d) = profile.duration_nanos {
        let _ = writeln!(
            out,
            "Duration: {}, Total samples = {} ({:.2}%)",
            scaled(d as i64, "nanoseconds"),
            scaled(total, unit),
            if d == 0 {
                0.0
            } else {
                total as f64 * 100.0 / d as f64
            }
        );
    }
    let shown: i64 = rows.iter().map(|r| r.self_value).sum();
    let _ = writeln!(
        out,
        "Showing nodes accounting for {}, {:.2}% of {} total",
        scaled(shown, unit),
        pct(shown),
        scaled(total, unit)
    );
    let with_value = (0..profile.functions.len() as u32)
        .filter(|&f| profile.function_stat(f, t).total_value != 0)
        .count();
    let _ = writeln!(out, "Showing top {} nodes out of {with_value}", rows.len());
    let _ = writeln!(
        out,
        "{:>10} {:>6} {:>6} {:>10} {:>6}",
        "flat", "flat%", "sum%", "cum", "cum%"
    );
    let mut sum = 0i64;
    for r in rows {
        sum += r.self_value;
        let _ = writeln!(
            out,
            "{:>10} {:>5.2}% {:>5.2}% {:>10} {:>5.2}%  {}",
            scaled(r.self_value, unit),
            pct(r.self_value),
            pct(sum),
            scaled(r.total_value, unit),
            pct(r.total_value),
            profile.function_name(r.function)
        );
    }
    out
}

/// `+50.0%`, `new` (nothing before), or `-` (nothing before or after).
fn relative(base: i64, new: i64) -> String {
    match (base, new) {
        (0, 0) => "-".to_string(),
        (0, _) => "new".to_string(),
        _ => format!("{:+.1}%", (new - base) as f64 * 100.0 / base as f64),
    }
}

fn diff(args: DiffArgs) -> anyhow::Result<u8> {
    let (base, bt) = args.read.load(&args.base)?;
    let (new, nt) = args.read.load(&args.new)?;
    comparable(
        (&base, bt, &args.base.display().to_string()),
        (&new, nt, &args.new.display().to_string()),
    )?;
    let mut rows = changes(&base, bt, &new, nt, args.normalize, args.cum);
    rows.truncate(args.n);
    if args.json {
        let out = serde_json::json!({
            "base": args.base.display().to_string(),
            "new": args.new.display().to_string(),
            "sample_type": new.sample_type_label(nt),
            "normalized": args.normalize,
            "base_total": base.totals()[bt],
            "new_total": new.totals()[nt],
            "functions": rows.iter().map(delta_json).collect::<Vec<_>>(),
        });
        super::emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
        return Ok(exit::OK);
    }
    let new_unit = new.str(new.sample_types[nt].unit);
    super::emit(&render_diff(&rows, new_unit, &base, bt, &new, nt))?;
    Ok(exit::OK)
}

/// Refuses to compare two profiles that count different things (time with bytes): each is
/// `(profile, sample type, its name in the message)`.
pub(crate) fn comparable(
    (base, bt, base_name): (&Profile, usize, &str),
    (new, nt, new_name): (&Profile, usize, &str),
) -> anyhow::Result<()> {
    if base.str(base.sample_types[bt].unit) != new.str(new.sample_types[nt].unit) {
        anyhow::bail!(
            "the profiles count different things: {} in {base_name}, {} in {new_name}",
            base.sample_type_label(bt),
            new.sample_type_label(nt),
        );
    }
    Ok(())
}

/// The functions whose flat or cumulative value changed from `base` to `new`, the largest
/// change (of the cumulative value with `cum`, else of the flat one) first.
pub(crate) fn changes(
    base: &Profile,
    bt: usize,
    new: &Profile,
    nt: usize,
    normalize: bool,
    cum: bool,
) -> Vec<FunctionDelta> {
    let order = if cum {
        DiffOrder::ByTotal
    } else {
        DiffOrder::BySelf
    };
    let mut rows = joule_profile::model::diff::diff(base, bt, new, nt, normalize, order);
    rows.retain(|d| d.self_delta() != 0 || d.total_delta() != 0);
    rows
}

/// One function's change as `joule profile diff --json` gives it.
pub(crate) fn delta_json(d: &FunctionDelta) -> serde_json::Value {
    serde_json::json!({
        "function": d.name,
        "base_flat": d.base_self, "new_flat": d.new_self,
        "flat_delta": d.self_delta(), "flat_relative": d.self_relative(),
        "base_cum": d.base_total, "new_cum": d.new_total,
        "cum_delta": d.total_delta(), "cum_relative": d.total_relative(),
    })
}

pub(crate) fn render_diff(
    rows: &[FunctionDelta],
    unit: &str,
    base: &Profile,
    bt: usize,
    new: &Profile,
    nt: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Type: {}; total {} -> {}",
        new.sample_type_label(nt),
        scaled(base.totals()[bt], unit),
        scaled(new.totals()[nt], unit)
    );
    let _ = writeln!(
        out,
        "{:>10} {:>10} {:>11} {:>8} {:>10} {:>10} {:>11} {:>8}  function",
        "flat", "-> flat", "delta", "rel", "cum", "-> cum", "delta", "rel"
    );
    for d in rows {
        let signed = |v: i64| {
            if v >= 0 {
                format!("+{}", scaled(v, unit))
            } else {
                format!("-{}", scaled(-v, unit))
            }
        };
        let _ = writeln!(
            out,
            "{:>10} {:>10} {:>11} {:>8} {:>10} {:>10} {:>11} {:>8}  {}",
            scaled(d.base_self, unit),
            scaled(d.new_self, unit),
            signed(d.self_delta()),
            relative(d.base_self, d.new_self),
            scaled(d.base_total, unit),
            scaled(d.new_total, unit),
            signed(d.total_delta()),
            relative(d.base_total, d.new_total),
            d.name
        );
    }
    out
}
