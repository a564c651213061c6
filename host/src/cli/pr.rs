//! `joule pr`: the findings of a JSON report that carry edits, each prepared as a verified
//! branch of the repository, with its description, mail and an index (see `crate::pr`).

use std::path::PathBuf;

use anyhow::Context;

use super::exit;
use crate::pr::{self, Options};
use crate::report::Report;
use crate::untrusted::terminal;

#[derive(clap::Args, Debug)]
pub struct PrArgs {
    /// A findings JSON report (`joule run --format json`); `-` reads standard input.
    #[arg(value_name = "REPORT.json")]
    report: PathBuf,
    /// The git repository the changes are for (its checkout, branch and index are left alone:
    /// each change is built in a worktree of its own).
    #[arg(long, value_name = "DIR", default_value = ".")]
    repo: PathBuf,
    /// Where descriptions, mails and the index (index.json) go; outside the checkout.
    /// [default: the repository's .git/joule-pr]
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The build and test command that must pass on the patched tree (`sh -c`, at the root of
    /// the change's worktree), e.g. 'cargo test'. A change that fails it is not proposed. It
    /// runs the proposed code outside the sandbox: see docs/agents.md.
    #[arg(long, value_name = "CMD")]
    verify: Option<String>,
    /// A benchmark command timed on the tree before and after each change, alternately.
    #[arg(long, value_name = "CMD")]
    bench: Option<String>,
    /// Timed runs of --bench on each side (after one untimed run each).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    bench_runs: u64,
    /// Seconds each command may take before it is killed (with everything it started).
    #[arg(long, value_name = "SECONDS", default_value_t = 1800.0)]
    timeout: f64,
    /// Push each proposed branch to this remote: a remote's name, a path or a file:// URL (for
    /// ssh or https remotes, `git push` the branches).
    #[arg(long, value_name = "REMOTE")]
    push: Option<String>,
    /// Only this finding (its id or a prefix of it). Repeatable.
    #[arg(long = "finding", value_name = "ID")]
    findings: Vec<String>,
}

pub fn pr(args: PrArgs) -> anyhow::Result<u8> {
    let file = args.report.display().to_string();
    let text = if args.report.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        bytes
    } else {
        std::fs::read(&args.report).with_context(|| format!("{file}: cannot read the report"))?
    };
    let report: Report = serde_json::from_slice(&text).map_err(|e| {
        anyhow::anyhow!(
            "{file}:{}:{}: not a Findings JSON report: {e}",
            e.line(),
            e.column()
        )
    })?;
    let options = Options {
        repo: args.repo,
        out: args.out,
        verify: args.verify,
        bench: args.bench,
        bench_runs: args.bench_runs as usize,
        timeout: super::seconds("--timeout", args.timeout)?,
        push: args.push,
        only: args.findings,
    };
    let (out_dir, prepared) = pr::prepare(&report, &options)?;
    if prepared.is_empty() {
        eprintln!("joule: no finding of {file} carries edits: nothing to prepare");
        return Ok(exit::OK);
    }
    let mut out = String::new();
    for p in &prepared {
        match p.status {
            "proposed" => {
                out.push_str(&format!(
                    "proposed {} ({}): {}\n",
                    p.branch.as_deref().unwrap_or(""),
                    terminal::line(&p.finding),
                    terminal::line(&p.subject)
                ));
                if let Some(v) = &p.verify {
                    out.push_str(&format!("  verified: {}\n", terminal::line(&v.summary())));
                }
                if let Some(b) = &p.bench {
                    out.push_str(&format!("  benchmark: {}\n", terminal::line(&b.summary())));
                }
                if let Some(pushed) = &p.pushed {
                    out.push_str(&format!("  {}\n", terminal::line(pushed)));
                }
                out.push_str(&format!(
                    "  description: {}\n",
                    p.description.as_deref().unwrap_or("")
                ));
            }
            _ => {
                let reason = p.reason.as_deref().unwrap_or("");
                out.push_str(&format!(
                    "rejected {} ({}): {}\n",
                    terminal::line(&p.finding),
                    terminal::line(&p.subject),
                    terminal::line(reason.lines().next().unwrap_or(""))
                ));
            }
        }
    }
    out.push_str(&format!(
        "index: {}\n",
        out_dir.join("index.json").display()
    ));
    super::emit(&out)?;
    let rejected = prepared.iter().filter(|p| p.status != "proposed").count();
    Ok(if rejected > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    })
}
