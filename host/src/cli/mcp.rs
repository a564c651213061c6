//! `joule mcp`: serve the Model Context Protocol on standard input and output (or Streamable
//! HTTP), with the inputs, skills, policy and limits of `joule run`.

use std::path::PathBuf;

use super::exit;
use super::run::{SessionArgs, prepare};
use crate::mcp::Server;
use crate::session::{self, Session};

#[derive(clap::Args, Debug)]
pub struct McpArgs {
    #[command(flatten)]
    session: SessionArgs,
    /// Serve Streamable HTTP at http://ADDR/mcp instead of standard input and output. Give a
    /// loopback address (the default is 127.0.0.1:8940; port 0 picks a free one): the server
    /// has no authentication of its own, and requests whose Host header is not loopback (or
    /// an --allow-host) are refused.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8940")]
    http: Option<std::net::SocketAddr>,
    /// A Host header value `--http` also accepts (a name, or NAME:PORT), beyond localhost,
    /// 127.0.0.1 and ::1: for a server reached by another name. Repeat for more.
    #[arg(long, value_name = "HOST", requires = "http")]
    allow_host: Vec<String>,
    /// Offer the tool `prepare_pull_request`, which prepares a finding as a verified branch of
    /// this git repository (as `joule pr` does). The agent names the finding; the commands are
    /// the operator's, given here.
    #[arg(long, value_name = "DIR")]
    pr_repo: Option<PathBuf>,
    /// Where `prepare_pull_request` writes descriptions, mails and its index [default: the
    /// repository's .git/joule-pr].
    #[arg(long, value_name = "DIR", requires = "pr_repo")]
    pr_out: Option<PathBuf>,
    #[command(flatten)]
    pr_commands: super::pr::CommandArgs,
    /// Seconds each --verify or --bench run may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800.0)]
    pr_timeout: f64,
}

pub fn mcp(args: McpArgs) -> anyhow::Result<u8> {
    if let Err(status) = args
        .pr_commands
        .check_needs("--pr-repo DIR", args.pr_repo.is_some())
    {
        return Ok(status);
    }
    let pull_requests = match &args.pr_repo {
        None => None,
        Some(repo) => Some(args.pr_commands.options(
            repo.clone(),
            args.pr_out.clone(),
            "--pr-timeout",
            args.pr_timeout,
        )?),
    };
    let (request, config, jobs) = prepare(&args.session)?;
    let fleet = args.session.fleet();
    let tokio = super::tokio_runtime()?;
    tokio.block_on(async {
        let runtime = session::runtime(config, jobs)?;
        let session = Session::open(runtime, request).await?;
        let server = Server::new(session, fleet, pull_requests);
        match args.http {
            None => server.serve_stdio().await,
            Some(addr) => {
                if !addr.ip().is_loopback() {
                    eprintln!(
                        "joule mcp: warning: --http {addr} is reachable from other machines, and \
                         this server has no authentication: anyone who reaches it can run the \
                         loaded skills and read what [agent] grants"
                    );
                }
                server
                    .serve_http(addr, args.allow_host.clone(), |bound| {
                        eprintln!("joule mcp: serving MCP at http://{bound}/mcp");
                    })
                    .await
            }
        }
    })?;
    Ok(exit::OK)
}
