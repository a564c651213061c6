//! `joule profile top`: flat and cumulative time per function, answered natively from the
//! canonical model, in the layout of `pprof -top`.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::exit;
use crate::model::units::scaled;
use crate::model::{Order, Profile};

#[derive(clap::Subcommand, Debug)]
pub enum ProfileCommand {
    /// The functions with the most flat (self) time, like `pprof -top`.
    #[command(after_help = super::EXIT_CODES)]
    Top(TopArgs),
}

#[derive(clap::Args, Debug)]
pub struct TopArgs {
    /// The profile (pprof, gzipped or not, or folded stacks).
    file: PathBuf,
    /// How many functions to show.
    #[arg(short = 'n', long = "nodes", default_value_t = 10)]
    n: usize,
    /// Sort by cumulative instead of flat.
    #[arg(long)]
    cum: bool,
    /// Which sample type to show, by name (`cpu`, `samples`, `alloc_space`) or index.
    #[arg(long, value_name = "TYPE")]
    sample_type: Option<String>,
    /// Output as JSON.
    #[arg(long)]
    json: bool,
}

pub fn profile(command: ProfileCommand) -> anyhow::Result<u8> {
    match command {
        ProfileCommand::Top(args) => top(args),
    }
}

fn sample_type(p: &Profile, wanted: Option<&str>) -> anyhow::Result<usize> {
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

fn top(args: TopArgs) -> anyhow::Result<u8> {
    let profile = crate::ingest::load(&args.file)?;
    let t = sample_type(&profile, args.sample_type.as_deref())?;
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
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(exit::OK);
    }
    print!(
        "{}",
        render_top(&profile, t, &rows, total, &unit, &args.file)
    );
    for w in &profile.warnings {
        eprintln!("joule: warning: {}: {w}", args.file.display());
    }
    Ok(exit::OK)
}

fn render_top(
    profile: &Profile,
    t: usize,
    rows: &[crate::model::FunctionStat],
    total: i64,
    unit: &str,
    file: &std::path::Path,
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
    let with_self = (0..profile.functions.len() as u32)
        .filter(|&f| profile.function_stat(f, t).total_value != 0)
        .count();
    let _ = writeln!(out, "Showing top {} nodes out of {with_self}", rows.len());
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
