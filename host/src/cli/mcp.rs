//! `joule mcp`: serve the Model Context Protocol on standard input and output, with the inputs,
//! skills, policy and limits of `joule run`.

use super::exit;
use super::run::{SessionArgs, prepare};
use crate::mcp::Server;
use crate::session::{self, Session};

#[derive(clap::Args, Debug)]
pub struct McpArgs {
    #[command(flatten)]
    session: SessionArgs,
}

pub fn mcp(args: McpArgs) -> anyhow::Result<u8> {
    let (request, config, jobs) = prepare(&args.session)?;
    let fleet = args.session.fleet();
    let tokio = super::tokio_runtime()?;
    tokio.block_on(async {
        let runtime = session::runtime(config, jobs)?;
        let session = Session::open(runtime, request).await?;
        Server::new(session, fleet).serve_stdio().await
    })?;
    Ok(exit::OK)
}
