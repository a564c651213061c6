//! `joule run`: skills over profiles, metrics and source trees, to a ranked report.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use joule_policy::RunLimits;

use super::{EngineArgs, Format, exit};
use crate::findings::Fleet;
use crate::metrics::prometheus::{self, RangeQuery};
use crate::report::Report;
use crate::session::{self, Request};
use crate::shard::Shard;
use crate::untrusted::terminal;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    session: SessionArgs,
    /// Report format.
    #[arg(long, value_enum, default_value = "markdown")]
    format: Format,
    /// Write the report here instead of standard output (`-` is standard output).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the report as a self-contained HTML page here (as `--format html` writes
    /// it): with a machine format on --output, one run gives both.
    #[arg(long, value_name = "FILE.html")]
    html: Option<PathBuf>,
    /// Also write every finding's suggested edits as one patch (for `git apply`).
    #[arg(long, value_name = "FILE")]
    patch: Option<PathBuf>,
    /// An earlier run's JSON report: every finding is marked new or unchanged (by its id, a
    /// fingerprint stable across runs), and the earlier ones no longer found are listed as
    /// gone, in every format.
    #[arg(long, value_name = "REPORT.json", help_heading = "CI gates")]
    baseline: Option<PathBuf>,
    /// Exit with status 4 when findings of this kind are present: `new` (against --baseline;
    /// every finding without one), `opportunity`, `regression` or `any`, with at least
    /// --min-share and --min-confidence. The report is written either way.
    #[arg(long, value_enum, value_name = "WHICH", help_heading = "CI gates")]
    fail_on: Option<crate::report::FailOn>,
    /// The least share of the profile (0..1) a finding needs to trip --fail-on.
    #[arg(
        long,
        value_name = "SHARE",
        default_value_t = 0.0,
        requires = "fail_on",
        help_heading = "CI gates"
    )]
    min_share: f64,
    /// The least confidence (0..1) a finding needs to trip --fail-on.
    #[arg(
        long,
        value_name = "CONFIDENCE",
        default_value_t = 0.0,
        requires = "fail_on",
        help_heading = "CI gates"
    )]
    min_confidence: f64,
    /// Then prepare each finding that carries edits as a verified branch of this git
    /// repository, as `joule pr REPORT.json --repo REPO` does (see docs/agents.md). The report
    /// is written as without it; what became of each change goes to standard error.
    #[arg(long, value_name = "REPO", help_heading = "Pull requests")]
    pull_requests: Option<PathBuf>,
    /// Where --pull-requests writes descriptions, mails and index.json (`joule pr --out`).
    /// [default: the repository's .git/joule-pr]
    #[arg(
        long,
        value_name = "DIR",
        requires = "pull_requests",
        help_heading = "Pull requests"
    )]
    pr_out: Option<PathBuf>,
    #[command(flatten, next_help_heading = "Pull requests")]
    pr_commands: super::pr::CommandArgs,
    /// Seconds each --verify or --bench run may take before it is killed (`joule pr --timeout`).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 1800.0,
        requires = "pull_requests",
        help_heading = "Pull requests"
    )]
    pr_timeout: f64,
    /// The HTML page's flame graphs (--format html, --html): frames narrower than this share
    /// of their graph (0..1) are merged into their callers, as flame graph tools leave out
    /// what they cannot draw.
    #[arg(long, value_name = "SHARE", default_value_t = crate::report::FlameDetail::default().min_width, help_heading = "HTML report")]
    flame_min_width: f64,
    /// The HTML page's flame graphs (--format html, --html): at most this many frames per
    /// graph; past it the narrowest are merged into their callers too.
    #[arg(long, value_name = "N", default_value_t = crate::report::FlameDetail::default().max_frames, help_heading = "HTML report")]
    flame_max_frames: usize,
    /// Push each proposed branch to this remote (`joule pr --push`).
    #[arg(
        long,
        value_name = "REMOTE",
        requires = "pull_requests",
        help_heading = "Pull requests"
    )]
    push: Option<String>,
}

impl RunArgs {
    fn flame_detail(&self) -> anyhow::Result<crate::report::FlameDetail> {
        if !(0.0..=1.0).contains(&self.flame_min_width) {
            anyhow::bail!(
                "--flame-min-width must be a share between 0 and 1 (got {})",
                self.flame_min_width
            );
        }
        if self.flame_max_frames == 0 {
            anyhow::bail!("--flame-max-frames must be at least 1");
        }
        Ok(crate::report::FlameDetail {
            min_width: self.flame_min_width,
            max_frames: self.flame_max_frames,
        })
    }

    /// What --pull-requests asks for, checked before the run: `Err` with the exit status when
    /// the command line is wrong.
    fn pull_requests(&self) -> anyhow::Result<Result<Option<crate::pr::Options>, u8>> {
        if let Err(status) = self
            .pr_commands
            .check_needs("--pull-requests REPO", self.pull_requests.is_some())
        {
            return Ok(Err(status));
        }
        let Some(repo) = &self.pull_requests else {
            return Ok(Ok(None));
        };
        // Not after a run that may take hours.
        git2::Repository::open(repo)
            .with_context(|| format!("--pull-requests {}: not a git repository", repo.display()))?;
        let options = crate::pr::Options {
            push: self.push.clone(),
            ..self.pr_commands.options(
                repo.clone(),
                self.pr_out.clone(),
                "--pr-timeout",
                self.pr_timeout,
            )?
        };
        Ok(Ok(Some(options)))
    }
}

/// What a session reads and runs, within which limits: `joule run`'s flags, and `joule mcp`'s.
#[derive(clap::Args, Debug)]
pub struct SessionArgs {
    /// A profile to analyse: pprof, `perf script` text, folded stacks, speedscope JSON, Chrome
    /// `.cpuprofile` or trace-event JSON, gzipped or not; the format is read from the content.
    /// `-` reads standard input. Repeatable.
    #[arg(long = "profile", value_name = "FILE")]
    profiles: Vec<PathBuf>,
    /// Resource time series to analyse: CSV (`timestamp,series,value`, other columns become
    /// labels) or JSON lines, gzipped or not. Repeatable.
    #[arg(long = "metrics", value_name = "FILE")]
    metrics: Vec<PathBuf>,
    /// Profiles taken at different times, read together as one metric set `profile-series` of
    /// per-function shares (`self:NAME`, `total:NAME`); each one's time is its own or a date or
    /// Unix time in its file name. Files, or directories of them; several may follow the flag,
    /// and it may be repeated.
    #[arg(long = "profile-series", value_name = "FILE|DIR", num_args = 1..)]
    profile_series: Vec<PathBuf>,
    /// A Prometheus server (its base URL, http or https) to read series from with --promql.
    #[arg(long, value_name = "URL")]
    prometheus: Option<String>,
    /// A PromQL expression whose values over --from..--to become a metric set, as
    /// [NAME=]QUERY (default names: prometheus, prometheus-2, ...). Repeatable.
    #[arg(long = "promql", value_name = "[NAME=]QUERY", requires = "prometheus")]
    promql: Vec<String>,
    /// Start of the Prometheus range: RFC 3339 or Unix seconds (default: 7 days before --to).
    #[arg(long, value_name = "TIME", requires = "promql")]
    from: Option<String>,
    /// End of the Prometheus range: RFC 3339 or Unix seconds (default: now).
    #[arg(long, value_name = "TIME", requires = "promql")]
    to: Option<String>,
    /// Time between points of the Prometheus range: 60, 30s, 5m, 1h (default: the range over
    /// 1,000, at least 1 s).
    #[arg(long, value_name = "DURATION", requires = "promql")]
    step: Option<String>,
    /// A git repository whose history skills may read (commits, diffs, blame, reverts), as DIR
    /// or NAME=DIR. Repeatable.
    #[arg(long = "history", value_name = "[NAME=]DIR")]
    histories: Vec<String>,
    /// When each commit reached production, as CSV lines `timestamp,commit`, for the repository
    /// NAME (or the only one). Without it, commit times are used. Repeatable.
    #[arg(long = "deploy-log", value_name = "[NAME=]FILE")]
    deploy_logs: Vec<String>,
    /// A source tree skills may read, as DIR or NAME=DIR. Repeatable.
    #[arg(long = "source", value_name = "[NAME=]DIR")]
    sources: Vec<String>,
    /// A build path that stands for a tree's root in the profiles' file names, as
    /// NAME=PREFIX (e.g. app=/home/ci/build/app). Without it, skills still find files by the
    /// longest suffix of the path that exists in the tree. Repeatable.
    #[arg(long = "path-prefix", value_name = "NAME=PREFIX")]
    path_prefixes: Vec<String>,
    /// perf.data profiles: a directory to look for the recorded binaries and their debug files
    /// in (by build id, the recorded path under it, or file name), before `$JOULE_SYMBOL_PATH`,
    /// perf's build-id cache, debuginfod's cache and /usr/lib/debug. Repeatable.
    #[arg(long = "symbol-path", value_name = "DIR")]
    symbol_paths: Vec<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
    /// A skill parameter, as SKILL.NAME=VALUE (e.g. hot-functions.limit=5). Repeatable.
    #[arg(long = "param", value_name = "SKILL.NAME=VALUE")]
    params: Vec<String>,
    /// Scan only shard K of N of the metric series (by a hash of each series' key; see
    /// docs/defense.md), for N processes that `joule merge` joins. Without it, a Kubernetes
    /// Indexed Job's $JOB_COMPLETION_INDEX and $JOB_COMPLETIONS give the shard.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// What a scan covers, for every skill with a `since` parameter (`regression-detect`): a
    /// time in the metrics' own form (Unix seconds, RFC 3339) or a share of each series
    /// (`70%`: its most recent 30%). Without it a scan is one-off and covers everything.
    #[arg(long, value_name = "TIME|SHARE%")]
    since: Option<String>,
    /// Skill invocations at once. Defaults to the number of cores.
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Rounds of finding-triggered skills after the scan.
    #[arg(long, value_name = "N", default_value_t = 4)]
    max_depth: usize,
    /// Invocations the whole run may make, scans and finding-triggered ones together; past it
    /// the rest are left out and the report says which.
    #[arg(long, value_name = "N", default_value_t = RunLimits::default().invocations)]
    max_invocations: usize,
    /// Findings the whole run may keep; past it the rest are left out and the report says whose.
    #[arg(long, value_name = "N", default_value_t = RunLimits::default().findings)]
    max_findings: usize,
    /// MiB of findings (all their text) the whole run may keep.
    #[arg(long, value_name = "MIB", default_value_t = RunLimits::default().findings_bytes >> 20)]
    max_findings_mib: usize,
    /// Wall-clock limit for the whole run, report included, in seconds: past it no skill
    /// starts, running ones are stopped, and the report is written with what was found.
    #[arg(long, value_name = "SECONDS", default_value_t = RunLimits::default().deadline.as_secs_f64())]
    run_timeout: f64,
    /// The policy: which skill (pinned by digest) may read what, within which limits. Without
    /// one, every skill may read every input given here (secrets still denied). See
    /// docs/security.md.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Append one JSON line per host call and load decision to this file.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Cores that run the profiled programs across the fleet, for the savings opportunities
    /// are worth (a finding's share of the profile is that share of these cores).
    #[arg(long, value_name = "N", default_value_t = Fleet::DEFAULT_CORES, value_parser = positive)]
    fleet_cores: f64,
    /// Watts a core draws, cooling included, for the savings in power.
    #[arg(long, value_name = "W", default_value_t = Fleet::DEFAULT_WATTS_PER_CORE, value_parser = positive)]
    watts_per_core: f64,
}

impl SessionArgs {
    /// The fleet that savings are estimated for.
    pub fn fleet(&self) -> Fleet {
        Fleet {
            cores: self.fleet_cores,
            watts_per_core: self.watts_per_core,
        }
    }
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text).map_err(|e| e.to_string())
}

/// A finite number above zero.
fn positive(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("expected a number above zero, got {text:?}")),
    }
}

fn parse_params(raw: &[String]) -> anyhow::Result<HashMap<String, BTreeMap<String, String>>> {
    let mut out: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    for p in raw {
        let (key, value) = p
            .split_once('=')
            .with_context(|| format!("--param {p}: expected SKILL.NAME=VALUE"))?;
        let (skill, name) = key
            .split_once('.')
            .with_context(|| format!("--param {p}: expected SKILL.NAME=VALUE"))?;
        out.entry(skill.to_string())
            .or_default()
            .insert(name.to_string(), value.to_string());
    }
    Ok(out)
}

fn parse_source(raw: &str) -> (String, PathBuf) {
    match raw.split_once('=') {
        Some((name, dir)) if !name.is_empty() && !name.contains('/') => {
            (name.to_string(), PathBuf::from(dir))
        }
        _ => {
            let dir = PathBuf::from(raw);
            (session::default_tree_name(&dir), dir)
        }
    }
}

/// `--history` and `--deploy-log` arguments as (name, directory, deploy log).
fn histories(
    repos: &[String],
    logs: &[String],
) -> anyhow::Result<Vec<(String, PathBuf, Option<PathBuf>)>> {
    let mut out: Vec<(String, PathBuf, Option<PathBuf>)> = repos
        .iter()
        .map(|r| parse_source(r))
        .map(|(n, d)| (n, d, None))
        .collect();
    for log in logs {
        let (name, file) = match log.split_once('=') {
            Some((name, file)) if !name.is_empty() && !name.contains('/') => {
                (Some(name), PathBuf::from(file))
            }
            _ => (None, PathBuf::from(log)),
        };
        let target = match name {
            Some(name) => out.iter_mut().find(|(n, _, _)| n == name),
            None if out.len() == 1 => out.first_mut(),
            None => None,
        };
        let Some(target) = target else {
            anyhow::bail!(
                "--deploy-log {log}: name the repository (NAME=FILE) among the --history ones"
            );
        };
        target.2 = Some(file);
    }
    Ok(out)
}

/// Paths with each directory replaced by the files in it, sorted.
fn files_in(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            out.extend(session::files_in(path, |_| true)?);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// `--prometheus`, `--promql`, `--from`, `--to` and `--step` as range queries.
fn prometheus_queries(args: &SessionArgs) -> anyhow::Result<Vec<RangeQuery>> {
    let Some(server) = &args.prometheus else {
        return Ok(Vec::new());
    };
    if args.promql.is_empty() {
        anyhow::bail!("--prometheus {server}: give the series to read with --promql QUERY");
    }
    let time = |flag: &str, text: &str| {
        crate::metrics::parse_timestamp(text)
            .map(|(_, t)| t)
            .with_context(|| {
                format!("--{flag} {text}: expected an RFC 3339 date-time or Unix seconds")
            })
    };
    let end = match &args.to {
        Some(text) => time("to", text)?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    let start = match &args.from {
        Some(text) => time("from", text)?,
        None => end.saturating_sub(7 * 86_400),
    };
    if end < start {
        anyhow::bail!("--from {start} is after --to {end}");
    }
    let step = match &args.step {
        Some(text) => prometheus::parse_duration(text).with_context(|| {
            format!("--step {text}: expected a duration such as 60, 30s, 5m, 1h")
        })?,
        None => (end.saturating_sub(start) / 1_000).max(1),
    };
    let mut queries: Vec<RangeQuery> = Vec::new();
    for (i, raw) in args.promql.iter().enumerate() {
        let (name, promql) = prometheus::split_named(raw);
        let name = match name {
            Some(name) => name.to_string(),
            None if i == 0 => "prometheus".to_string(),
            None => format!("prometheus-{}", i + 1),
        };
        if queries.iter().any(|q| q.name == name) {
            anyhow::bail!(
                "--promql {raw}: two metric sets are named `{name}`; name them NAME=QUERY"
            );
        }
        queries.push(RangeQuery {
            name,
            server: server.clone(),
            promql: promql.to_string(),
            start,
            end,
            step,
        });
    }
    Ok(queries)
}

/// The session `args` ask for: the request, the runtime's configuration (the pool sized for
/// the policy's most generous grant) and the invocations at once.
pub fn prepare(
    args: &SessionArgs,
) -> anyhow::Result<(Request, crate::engine::RuntimeConfig, usize)> {
    let jobs = args.jobs.unwrap_or_else(crate::engine::default_jobs).max(1);
    let mut request = Request {
        profiles: args.profiles.clone(),
        metrics: args.metrics.clone(),
        prometheus: prometheus_queries(args)?,
        profile_series: files_in(&args.profile_series)?,
        histories: histories(&args.histories, &args.deploy_logs)?,
        sources: args.sources.iter().map(|s| parse_source(s)).collect(),
        path_prefixes: args
            .path_prefixes
            .iter()
            .map(|p| {
                p.split_once('=')
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .with_context(|| format!("--path-prefix {p}: expected NAME=PREFIX"))
            })
            .collect::<anyhow::Result<_>>()?,
        skills: args.engine.skill_paths()?,
        builtin_skills: args.engine.builtin_skills(),
        parameters: parse_params(&args.params)?,
        jobs,
        max_depth: args.max_depth,
        budget: RunLimits {
            invocations: args.max_invocations,
            findings: args.max_findings,
            findings_bytes: args.max_findings_mib.saturating_mul(1 << 20),
            deadline: super::seconds("--run-timeout", args.run_timeout)?,
        },
        policy: None,
        audit: None,
        since: args.since.clone(),
        symbol_cache: None,
        symbol_paths: args.symbol_paths.clone(),
        shard: match args.shard {
            Some(shard) => Some(shard),
            None => Shard::from_env(|name| std::env::var(name).ok())?,
        },
    };
    let mut config = args.engine.config()?;
    // Source trees' function definitions are kept beside the compiled components.
    request.symbol_cache = config.cache.as_ref().map(|c| c.dir().join("symbols"));
    let policy = args
        .policy
        .as_deref()
        .map(|path| joule_policy::Policy::load(path, config.limits.clone()))
        .transpose()?;
    if let Some(policy) = &policy {
        // The pool's memory slots must fit the most generous grant.
        config.limits.memory_bytes = config.limits.memory_bytes.max(policy.max_memory());
    }
    request.policy = policy;
    request.audit = args
        .audit_log
        .as_deref()
        .map(crate::audit::AuditLog::create)
        .transpose()?;
    Ok((request, config, jobs))
}

pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    let pull_requests = match args.pull_requests()? {
        Ok(options) => options,
        Err(status) => return Ok(status),
    };
    // Read before the run, so a bad one fails at once.
    let earlier = args
        .baseline
        .as_deref()
        .map(crate::report::Earlier::read)
        .transpose()?;
    let detail = args.flame_detail()?;
    let (request, config, jobs) = prepare(&args.session)?;
    let request_shard = request.shard;
    // An interrupt stops the skills running (they are recorded as cancelled) and the report is
    // still written with what was found; a second one exits at once.
    crate::interrupt::catch()?;
    let bar = progress_bar(args.format);
    let watch = crate::engine::Watch {
        progress: (!bar.is_hidden()).then(|| {
            let bar = bar.clone();
            let shown: Arc<dyn Fn(crate::engine::Progress) + Send + Sync> = Arc::new(move |p| {
                if bar.length().is_none() {
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{spinner} skills {pos}/{len} [{elapsed}] {wide_msg}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                    );
                }
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
                bar.set_message(terminal::line(&p.message));
            });
            shown
        }),
        ..Default::default()
    };
    let cancel = watch.cancel.clone();
    crate::interrupt::on_interrupt(move || cancel.cancel());
    let tokio = super::tokio_runtime()?;
    // The session outlives the run: the HTML page draws from its inputs.
    let (report, session) = tokio.block_on(async {
        let runtime = session::runtime(config, jobs)?;
        session::analyse_keeping(runtime, request, watch).await
    })?;
    bar.finish_and_clear();
    // An interrupt once the run is over stops nothing: the report is whole.
    let interrupted = crate::interrupt::interrupted();
    let mut report = report.with_fleet(args.session.fleet());
    report.shard = request_shard;
    if let Some(earlier) = &earlier {
        report.baseline = Some(crate::report::Baseline::compare(&report, earlier));
    }

    let access = |id: &str| session.access(id);
    let views = crate::report::Views {
        inputs: session.inputs(),
        access: &access,
        detail,
    };
    write_report(&report, args.format, args.output.as_deref(), Some(&views))?;
    if let Some(path) = &args.html {
        write_report(&report, Format::Html, Some(path), Some(&views))?;
    }
    drop(session);
    if let Some(path) = &args.patch {
        std::fs::write(path, report.combined_patch())
            .with_context(|| format!("{}: cannot write the patch", path.display()))?;
    }
    let mut status = warn_and_exit(&report);
    if interrupted {
        eprintln!("joule: interrupted: the report holds what was found before");
        return Ok(exit::INTERRUPTED);
    }
    if let Some(fail_on) = args.fail_on {
        let gate = crate::report::Gate {
            fail_on,
            min_share: args.min_share,
            min_confidence: args.min_confidence,
        };
        let tripped = gate.tripped(&report);
        if !tripped.is_empty() {
            eprintln!(
                "joule: gate: {} finding(s) trip --fail-on {}:",
                tripped.len(),
                clap::ValueEnum::to_possible_value(&fail_on)
                    .map_or_else(String::new, |v| v.get_name().to_string())
            );
            for f in tripped.iter().take(20) {
                eprintln!(
                    "  {} {} ({}, share {:.4}, confidence {:.2})",
                    f.id,
                    f.title.terminal(),
                    f.kind.name(),
                    f.impact.sample_share.unwrap_or(0.0),
                    f.confidence
                );
            }
            if tripped.len() > 20 {
                eprintln!("  ... and {} more (see the report)", tripped.len() - 20);
            }
            status = exit::GATE;
        }
    }
    let Some(options) = pull_requests else {
        return Ok(status);
    };
    // The report is written: preparing the changes (and an interrupt during it) leaves it be.
    // PARTIAL when the report is partial or a change was rejected; GATE over it; INTERRUPTED
    // over all.
    let prepared = super::pr::prepare(&report, &options, "the report", true)?;
    Ok(if prepared == exit::INTERRUPTED {
        prepared
    } else {
        prepared.max(status)
    })
}

/// The run's progress on standard error: a spinner while the inputs are read and the skills
/// loaded, then the skill invocations finished of those admitted (later rounds add to them).
/// Hidden where stderr is not a terminal, and with the formats machines read.
fn progress_bar(format: Format) -> indicatif::ProgressBar {
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !terminal || matches!(format, Format::Json | Format::Sarif | Format::Html) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("reading the inputs, loading the skills");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Writes `report` in `format` to `output`, or to standard output.
pub fn write_report(
    report: &Report,
    format: Format,
    output: Option<&std::path::Path>,
    views: Option<&crate::report::Views>,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let text = match format {
        Format::Html => crate::report::html(report, views),
        Format::Json => report.json(),
        Format::Markdown => crate::report::markdown(report),
        Format::Sarif => crate::report::sarif(report),
        Format::MarkdownSummary => crate::report::markdown_summary(report),
    };
    tracing::info!(
        "the report: {} bytes of {format:?} made in {:.1} ms",
        text.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    // `-o -` is standard output.
    match output.filter(|p| *p != std::path::Path::new("-")) {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("{}: cannot write the report", path.display())),
        None => super::emit(&text),
    }
}

/// One warning line on stderr for each input that could not be read, each failed run and each
/// run that dropped findings at a limit; the exit status that says whether the report is whole.
pub fn warn_and_exit(report: &Report) -> u8 {
    for e in report
        .inputs
        .profiles
        .iter()
        .filter_map(|p| p.error.as_ref())
        .chain(
            report
                .inputs
                .metrics
                .iter()
                .filter_map(|m| m.error.as_ref()),
        )
    {
        eprintln!("joule: warning: {}", terminal::line(e));
    }
    // One line per failed run, whatever the skill wrote into its error.
    for r in &report.runs {
        if let Some(e) = &r.error {
            eprintln!(
                "joule: warning: skill `{}` failed: {}",
                terminal::line(&r.skill),
                e.terminal()
            );
        }
    }
    // And one per run that reached a limit and dropped findings.
    for r in &report.runs {
        if let Some(w) = &r.warning {
            eprintln!(
                "joule: warning: skill `{}`: {}",
                terminal::line(&r.skill),
                terminal::line(w)
            );
        }
    }
    if report.failed_runs() > 0 || report.unreadable_profiles() > 0 || report.dropped_findings() > 0
    {
        exit::PARTIAL
    } else {
        exit::OK
    }
}
