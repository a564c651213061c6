//! `joule mcp`: serve the Model Context Protocol on standard input and output, with the inputs,
//! skills, policy and limits of `joule run`.

use std::path::PathBuf;

use super::exit;
use super::run::{SessionArgs, prepare};
use crate::mcp::Server;
use crate::session::{self, Session};

#[derive(clap::Args, Debug)]
pub struct McpArgs {
    #[command(flatten)]
    session: SessionArgs,
    /// Offer the tool `prepare_pull_request`, which prepares a finding as a verified branch of
    /// this git repository (as `joule pr` does). The agent names the finding; the commands are
    /// the operator's, given here.
    #[arg(long, value_name = "DIR")]
    pr_repo: Option<PathBuf>,
    /// Where `prepare_pull_request` writes descriptions, mails and its index [default: the
    /// repository's .git/joule-pr].
    #[arg(long, value_name = "DIR", requires = "pr_repo")]
    pr_out: Option<PathBuf>,
    /// The build and test command a prepared change must pass (`joule pr --verify`).
    #[arg(long, value_name = "CMD", requires = "pr_repo")]
    verify: Option<String>,
    /// The benchmark timed before and after a prepared change (`joule pr --bench`).
    #[arg(long, value_name = "CMD", requires = "pr_repo")]
    bench: Option<String>,
    /// Timed runs of --bench on each side.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    bench_runs: u64,
    /// Seconds each --verify or --bench run may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800.0)]
    pr_timeout: f64,
}

pub fn mcp(args: McpArgs) -> anyhow::Result<u8> {
    let (request, config, jobs) = prepare(&args.session)?;
    let fleet = args.session.fleet();
    let pull_requests = match &args.pr_repo {
        None => None,
        Some(repo) => Some(crate::pr::Options {
            repo: repo.clone(),
            out: args.pr_out.clone(),
            verify: args.verify.clone(),
            bench: args.bench.clone(),
            bench_runs: args.bench_runs as usize,
            timeout: super::seconds("--pr-timeout", args.pr_timeout)?,
            push: None,
            only: Vec::new(),
        }),
    };
    let tokio = super::tokio_runtime()?;
    tokio.block_on(async {
        let runtime = session::runtime(config, jobs)?;
        let session = Session::open(runtime, request).await?;
        Server::new(session, fleet, pull_requests)
            .serve_stdio()
            .await
    })?;
    Ok(exit::OK)
}
