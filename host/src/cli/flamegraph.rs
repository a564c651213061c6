//! `joule flamegraph`: an SVG flame graph of a profile, or the differential flame graph of two,
//! rendered by inferno from the model's folded stacks.

use std::path::PathBuf;

use anyhow::Context;
use inferno::flamegraph::{self, Options};

use super::exit;
use super::profile::ReadArgs;

#[derive(clap::Args, Debug)]
pub struct FlamegraphArgs {
    /// The profile (any format Joule reads). With `--diff`, the profile after.
    file: PathBuf,
    /// A base profile: draw the differential flame graph from it to FILE (red grew, blue
    /// shrank; widths are FILE's).
    #[arg(long, value_name = "BASE")]
    diff: Option<PathBuf>,
    /// The SVG to write.
    #[arg(long, short, value_name = "OUT.svg")]
    output: PathBuf,
    /// The title at the top of the graph.
    #[arg(long)]
    title: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
}

pub fn flamegraph(args: FlamegraphArgs) -> anyhow::Result<u8> {
    let (profile, t) = args.read.load(&args.file)?;
    let (folded, default_title) = match &args.diff {
        Some(base_path) => {
            let (base, bt) = args.read.load(base_path)?;
            (
                joule_profile::export::folded::write_diff(&base, bt, &profile, t),
                format!(
                    "Differential flame graph: {} -> {}",
                    base_path.display(),
                    args.file.display()
                ),
            )
        }
        None => (
            joule_profile::export::folded::write(&profile, t),
            format!("Flame graph: {}", args.file.display()),
        ),
    };
    let mut options = Options::default();
    options.title = args.title.unwrap_or(default_title);
    options.count_name = profile.str(profile.sample_types[t].unit).to_string();
    let file = std::fs::File::create(&args.output)
        .with_context(|| format!("{}: cannot create the SVG", args.output.display()))?;
    let writer = std::io::BufWriter::new(file);
    flamegraph::from_lines(&mut options, folded.lines(), writer)
        .with_context(|| format!("{}: cannot render the flame graph", args.output.display()))?;
    Ok(exit::OK)
}
