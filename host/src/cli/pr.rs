//! `joule pr`: the findings of a JSON report that carry edits, each prepared as a verified
//! branch of the repository, with its description, mail and an index (see `crate::pr`). `joule
//! run --pull-requests` does the same with the report it has just made.

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
    #[command(flatten)]
    commands: CommandArgs,
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

/// The repository's own commands a change is verified and timed with: `joule pr`'s flags, and
/// `joule run --pull-requests`'.
#[derive(clap::Args, Debug, Clone)]
pub struct CommandArgs {
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
}

impl CommandArgs {
    /// Changes to `repo`, written to `out`, with these commands, each limited to `timeout`
    /// seconds (the flag `timeout_flag` gave); pushed nowhere, every finding.
    pub fn options(
        &self,
        repo: PathBuf,
        out: Option<PathBuf>,
        timeout_flag: &str,
        timeout: f64,
    ) -> anyhow::Result<Options> {
        Ok(Options {
            repo,
            out,
            verify: self.verify.clone(),
            bench: self.bench.clone(),
            bench_runs: self.bench_runs as usize,
            timeout: super::seconds(timeout_flag, timeout)?,
            push: None,
            only: Vec::new(),
        })
    }

    /// Checks that these flags come with `needs` (`--pull-requests REPO` for `joule run`,
    /// `--pr-repo DIR` for `joule mcp`), which is `given` or not: `Err` with the exit status
    /// after saying what is missing.
    pub fn check_needs(&self, needs: &str, given: bool) -> Result<(), u8> {
        let flag = if self.verify.is_some() {
            "--verify"
        } else if self.bench.is_some() {
            "--bench"
        } else {
            return Ok(());
        };
        if given {
            return Ok(());
        }
        let name = needs.split(' ').next().unwrap_or(needs);
        eprintln!("joule: error: {flag} is a {name} flag: give {needs} too");
        Err(exit::USAGE)
    }
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
        push: args.push,
        only: args.findings,
        ..args
            .commands
            .options(args.repo, args.out, "--timeout", args.timeout)?
    };
    prepare(&report, &options, &file, false)
}

/// Prepares the changes of `report` (named `source` in messages) as `options` say, SIGINT and
/// SIGTERM caught (`pr::verify::catch_interrupts`); says what became of each on standard
/// output, or on standard error with `to_stderr` (where the report itself went to standard
/// output). The exit status: OK, PARTIAL when one was rejected, INTERRUPTED.
pub fn prepare(
    report: &Report,
    options: &Options,
    source: &str,
    to_stderr: bool,
) -> anyhow::Result<u8> {
    pr::verify::catch_interrupts()?;
    let (out_dir, prepared) = pr::prepare(report, options)?;
    let interrupted = pr::verify::interrupted();
    if prepared.is_empty() && !interrupted {
        eprintln!("joule: no finding of {source} carries edits: nothing to prepare");
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
    if to_stderr {
        eprint!("{out}");
    } else {
        super::emit(&out)?;
    }
    if interrupted {
        eprintln!(
            "joule: interrupted: the change in progress was discarded and no other was prepared"
        );
        return Ok(exit::INTERRUPTED);
    }
    let rejected = prepared.iter().filter(|p| p.status != "proposed").count();
    Ok(if rejected > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    })
}
