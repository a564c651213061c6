//! The `joule` command line: flags in, library calls, output and an exit code out.

mod audit;
mod flamegraph;
mod mcp;
mod merge;
mod pr;
pub(crate) mod profile;
mod query;
pub(crate) mod run;
mod skills;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use joule_policy::Limits;

use crate::untrusted::terminal;

/// Exit codes, as documented in `joule --help`.
pub mod exit {
    /// Everything ran: every input was read and every skill run succeeded.
    pub const OK: u8 = 0;
    /// Nothing useful could be done: no skill loaded, a source tree or output that cannot be
    /// opened, a bad parameter.
    pub const ERROR: u8 = 1;
    /// The command line itself is wrong.
    pub const USAGE: u8 = 2;
    /// The report was written, but an input could not be read, a skill failed, or findings were
    /// dropped at a limit.
    pub const PARTIAL: u8 = 3;
    /// `joule run --fail-on`: findings tripped the gate (the report was written).
    pub const GATE: u8 = 4;
    /// `joule pr` (or `joule run --pull-requests`) stopped by SIGINT, SIGTERM or SIGHUP: the
    /// change in progress was discarded (128 + SIGINT, as a shell reports Ctrl-C).
    pub const INTERRUPTED: u8 = 130;
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success: every input was read and every skill run succeeded
  1  error: nothing useful could be done (no skill loaded, unreadable source tree or output,
     unknown parameter, unreadable profile for `profile top`)
  2  usage: the command line is wrong
  3  partial: the report was written, but a profile could not be read, a skill run failed,
     or findings were dropped at a limit (see the report's runs and inputs); for `joule pr`
     and `joule run --pull-requests`, also: a change was rejected (see the index)
  4  gate: `joule run --fail-on` found findings that trip it (listed on standard error; the
     report was written)
  130 interrupted (SIGINT, SIGTERM or SIGHUP): `joule run` stopped its running skills
      (recorded as cancelled) and still wrote the report with what was found; `joule pr` (or
      `run --pull-requests`) killed the running --verify or --bench command and removed the
      change in progress. A second interrupt exits at once";

#[derive(Parser, Debug)]
#[command(
    name = "joule",
    version,
    about = "Run sandboxed performance-engineering skills over profiles and source trees.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG also works.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run skills over profiles and source trees, and report their findings ranked.
    #[command(after_help = EXIT_CODES)]
    Run(Box<run::RunArgs>),
    /// Serve the Model Context Protocol on standard input and output (or Streamable HTTP with
    /// --http): one tool per skill, and the host's own (inputs, profile top, callers, callees,
    /// diff, source, syntax queries, series, commits, findings), for AI agents. Takes `joule
    /// run`'s inputs, policy and limits; see docs/agents.md.
    #[command(after_help = EXIT_CODES)]
    Mcp(Box<mcp::McpArgs>),
    /// Turn each finding of a JSON report that carries edits into a verified branch of the
    /// repository, with a pull-request description, a format-patch mail and an index.
    #[command(after_help = EXIT_CODES)]
    Pr(Box<pr::PrArgs>),
    /// Join the JSON reports of a sharded scan (`joule run --shard K/N`) into one, or write one
    /// report in another format (`joule merge r.json --format sarif`).
    #[command(after_help = EXIT_CODES)]
    Merge(merge::MergeArgs),
    /// Load skills and show what each one describes: id, version, triggers, capabilities,
    /// parameters, imports and digest.
    #[command(after_help = EXIT_CODES)]
    Skills(skills::SkillsArgs),
    /// Work with a profile directly, natively in the host: top, convert, diff.
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// What each component imports, declares and is granted, and the gaps between them.
    #[command(after_help = EXIT_CODES)]
    Audit(audit::AuditArgs),
    /// Policy files: pin component digests, or start a policy for some skills.
    #[command(subcommand)]
    Policy(audit::PolicyCommand),
    /// Render a flame graph (SVG) of a profile, or the differential one of two.
    #[command(after_help = EXIT_CODES)]
    Flamegraph(flamegraph::FlamegraphArgs),
    /// Run a tree-sitter query over a source tree, as a skill's `tree.query` would: for trying
    /// a query out while writing a skill.
    #[command(after_help = EXIT_CODES)]
    Query(query::QueryArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Json,
    Markdown,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// The findings table only (with --baseline's marks), cut under GitHub's comment size
    /// limit: for a pull-request comment.
    MarkdownSummary,
    /// One self-contained page: the findings table, flame graphs, series charts and patches.
    Html,
}

/// Settings shared by the commands that load skills.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    /// Skill components (.wasm), or directories of them, besides the built-in skills (one with
    /// a built-in skill's id replaces it). Repeatable. Defaults to the paths in $JOULE_SKILLS
    /// (separated by `:`).
    #[arg(long = "skills", value_name = "PATH")]
    pub skills: Vec<PathBuf>,
    /// Leave out the shipped skills built into joule: only those of --skills ($JOULE_SKILLS)
    /// load.
    #[arg(
        long,
        env = "JOULE_NO_BUILTIN_SKILLS",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub no_builtin_skills: bool,
    /// Wall-clock limit per skill invocation, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub timeout: f64,
    /// Memory limit per skill invocation, in MiB: its linear memory and the host memory held
    /// for it, one account (policy: `memory_mib`).
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().memory_bytes >> 20)]
    pub memory: usize,
    /// Findings one invocation may return; past it the highest-ranked are kept and the rest
    /// counted (policy: `findings`).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_findings)]
    pub max_skill_findings: usize,
    /// KiB of findings (all their text) one invocation may return; past it the highest-ranked
    /// that fit are kept (policy: `findings_kib`).
    #[arg(long, value_name = "KIB", default_value_t = Limits::default().findings_bytes >> 10)]
    pub max_skill_findings_kib: usize,
    /// Host calls one invocation may make (policy: `host_calls`).
    #[arg(long, value_name = "N", default_value_t = Limits::default().host_calls)]
    pub max_host_calls: u64,
    /// MiB all host calls of one invocation may return to it (policy: `host_call_mib`).
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().host_call_bytes >> 20)]
    pub max_host_call_mib: u64,
    /// Resource handles one invocation may hold at once (policy: `handles`).
    #[arg(long, value_name = "N", default_value_t = Limits::default().handles)]
    pub max_handles: usize,
    /// KiB of log lines kept per invocation; later lines are counted (policy: `log_kib`).
    #[arg(long, value_name = "KIB", default_value_t = Limits::default().log_bytes >> 10)]
    pub max_log_kib: usize,
    /// Compile skills every time instead of using the compiled-component cache
    /// ($JOULE_CACHE_DIR, default ~/.cache/joule/components).
    #[arg(long)]
    pub no_cache: bool,
}

/// A positive, finite number of seconds from flag `flag`, as a duration (at most 100 years).
pub fn seconds(flag: &str, value: f64) -> anyhow::Result<std::time::Duration> {
    const CENTURY: f64 = 100.0 * 365.25 * 86_400.0;
    if !(value > 0.0 && value <= CENTURY) {
        anyhow::bail!(
            "{flag} must be a positive number of seconds, at most {CENTURY:.0} (got {value})"
        );
    }
    Ok(std::time::Duration::from_secs_f64(value))
}

impl EngineArgs {
    /// The skill components and directories given: `--skills`, else `$JOULE_SKILLS`. Empty
    /// when neither is given and the built-in skills load; an error when nothing would load.
    pub fn skill_paths(&self) -> anyhow::Result<Vec<PathBuf>> {
        if !self.skills.is_empty() {
            return Ok(self.skills.clone());
        }
        if let Some(paths) = std::env::var_os("JOULE_SKILLS") {
            return Ok(std::env::split_paths(&paths).collect());
        }
        if self.builtin_skills() {
            return Ok(Vec::new());
        }
        let why = if self.no_builtin_skills {
            "the built-in skills are off (--no-builtin-skills or JOULE_NO_BUILTIN_SKILLS)"
        } else {
            "this joule has no built-in skills (built without the `builtin-skills` feature)"
        };
        anyhow::bail!(
            "no skills given: pass --skills PATH (a .wasm component or a directory of them) or set JOULE_SKILLS; {why}"
        )
    }

    /// Whether the built-in skills load (with those given, which replace any of the same id).
    pub fn builtin_skills(&self) -> bool {
        !self.no_builtin_skills && !crate::builtin::all().is_empty()
    }

    pub fn config(&self) -> anyhow::Result<crate::engine::RuntimeConfig> {
        let deadline = seconds("--timeout", self.timeout)?;
        if self.memory == 0 || self.memory > 4096 {
            anyhow::bail!("--memory must be between 1 and 4096 MiB");
        }
        // The command line's limits are every skill's defaults; a policy's [limits] and
        // per-skill limits override them.
        let mut config = crate::engine::RuntimeConfig {
            limits: Limits {
                deadline,
                memory_bytes: self.memory << 20,
                max_findings: self.max_skill_findings,
                findings_bytes: self.max_skill_findings_kib.saturating_mul(1 << 10),
                host_calls: self.max_host_calls,
                host_call_bytes: self.max_host_call_mib.saturating_mul(1 << 20),
                handles: self.max_handles,
                log_bytes: self.max_log_kib.saturating_mul(1 << 10),
            },
            ..Default::default()
        };
        if self.no_cache {
            config.cache = None;
        }
        Ok(config)
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: piped or captured, stderr holds no escape sequence at all.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Entry point of the `joule` binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    init_tracing(cli.verbose);
    let result = match cli.command {
        Command::Run(args) => run::run(*args),
        Command::Skills(args) => skills::skills(args),
        Command::Profile(command) => profile::profile(command),
        Command::Flamegraph(args) => flamegraph::flamegraph(args),
        Command::Query(args) => query::query(args),
        Command::Merge(args) => merge::merge(args),
        Command::Mcp(args) => mcp::mcp(*args),
        Command::Pr(args) => pr::pr(*args),
        Command::Audit(args) => audit::audit(args),
        Command::Policy(command) => audit::policy(command),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // A reader that stops early (`joule ... | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            // Errors may quote skills (a panic in `describe`, a parameter name); their own
            // lines went through `terminal::line` where they were made.
            eprintln!("joule: error: {}", terminal::lines(&format!("{e:#}")));
            ExitCode::from(exit::ERROR)
        }
    }
}

/// Writes a command's output to stdout (a closed pipe surfaces as an error the entry point
/// treats as a normal end, where `print!` would panic).
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    Ok(stdout.flush()?)
}

/// A multi-threaded tokio runtime for a command.
fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Skills are called from the blocking pool (their Wasm runs on the engine's own stacks);
        // the host's parsers and queries called around them get the same room.
        .thread_stack_size(crate::engine::THREAD_STACK)
        .build()?)
}
