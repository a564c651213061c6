//! `joule merge`: the reports of a sharded scan (`joule run --shard K/N --format json`, one
//! per shard) joined into one, as one process scanning every series would have reported.

use std::path::PathBuf;

use anyhow::Context;

use super::Format;
use crate::report::{self, Part};

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Findings JSON reports of the shards (`joule run --shard K/N --format json`).
    #[arg(required = true, value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "markdown")]
    format: Format,
    /// Write the report here instead of standard output (`-` is standard output).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn merge(args: MergeArgs) -> anyhow::Result<u8> {
    let mut parts = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        let file = path.display().to_string();
        let text =
            std::fs::read(path).with_context(|| format!("{file}: cannot read the report"))?;
        let report = serde_json::from_slice(&text).map_err(|e| {
            anyhow::anyhow!(
                "{file}:{}:{}: not a Findings JSON report: {e}",
                e.line(),
                e.column()
            )
        })?;
        parts.push(Part { file, report });
    }
    let merged = report::merge(parts)?;
    super::run::write_report(&merged, args.format, args.output.as_deref(), None)?;
    Ok(super::run::warn_and_exit(&merged))
}
