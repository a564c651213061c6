//! One analysis session end to end: read the inputs, load the skills, run them, build the
//! report. The `joule run` command is a thin layer over [`analyse`]; so are the tests.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use joule_policy::{Denial, Policy, RunLimits, SkillGrants};
use joule_profile::ingest::ReadOptions;

use crate::audit::AuditLog;
use crate::engine::{Inspected, LoadedSkill, Location, Plan, Runtime, RuntimeConfig};
use crate::history::History;
use crate::inputs::{Inputs, NamedMetrics, NamedProfile, ProfileViews};
use crate::report::{InputsRecord, MetricsRecord, ProfileRecord, Report, RunRecord, SourceRecord};
use crate::source::SourceTree;
use crate::untrusted::{Untrusted, terminal};

/// What the operator asked for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub profiles: Vec<PathBuf>,
    /// Source trees as (name, directory).
    pub sources: Vec<(String, PathBuf)>,
    /// Build-path prefixes that stand for a tree's root in profiles, as (tree name, prefix).
    pub path_prefixes: Vec<(String, String)>,
    /// Metric files (CSV, JSON lines).
    pub metrics: Vec<PathBuf>,
    /// Profiles taken over time, turned into one metric set of per-function shares.
    pub profile_series: Vec<PathBuf>,
    /// Prometheus range queries, each a metric set.
    pub prometheus: Vec<crate::metrics::prometheus::RangeQuery>,
    /// Git repositories as (name, directory, deploy log).
    pub histories: Vec<(String, PathBuf, Option<PathBuf>)>,
    /// Skill components, or directories holding them.
    pub skills: Vec<PathBuf>,
    /// Whether the skills built into joule ([`crate::builtin`]) load too; one of `skills` with
    /// a built-in skill's id replaces it.
    pub builtin_skills: bool,
    /// skill id -> parameter -> value.
    pub parameters: HashMap<String, BTreeMap<String, String>>,
    pub jobs: usize,
    pub max_depth: usize,
    /// What the whole run may do.
    pub budget: RunLimits,
    /// Who may read what; `Policy::open` when the operator gave none.
    pub policy: Option<Policy>,
    /// Where to record every host call and load decision.
    pub audit: Option<Arc<AuditLog>>,
    /// Only the metric series of this shard (`--shard K/N`).
    pub shard: Option<crate::shard::Shard>,
    /// What a scan covers (`--since`), for every skill declaring a `since` parameter.
    pub since: Option<String>,
    /// Where source trees keep their files' function definitions between runs; `None`
    /// indexes every file each run.
    pub symbol_cache: Option<PathBuf>,
    /// Where perf.data profiles' binaries are looked for first (`--symbol-path`).
    pub symbol_paths: Vec<PathBuf>,
}

/// The files in directory `dir` that `keep` takes, sorted.
pub fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list the directory", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && keep(p))
        .collect();
    found.sort();
    Ok(found)
}

/// The `.wasm` files a `--skills` argument names, sorted: the file itself, or the components in
/// a directory.
pub fn skill_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = files_in(path, |p| p.extension().is_some_and(|e| e == "wasm"))?;
            if found.is_empty() {
                anyhow::bail!(
                    "{}: no .wasm skill components in this directory",
                    path.display()
                );
            }
            files.extend(found);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            anyhow::bail!("{}: no such skill file or directory", path.display());
        }
    }
    Ok(files)
}

/// The components to load: the files of `paths` ([`skill_files`]) in order, then, when
/// `built_in`, every built-in skill ([`crate::builtin`]) by id. [`load_skills`] leaves out a
/// built-in skill that one of the files replaces.
pub fn components(paths: &[PathBuf], built_in: bool) -> anyhow::Result<Vec<Location>> {
    let mut components: Vec<Location> = skill_files(paths)?
        .into_iter()
        .map(Location::File)
        .collect();
    if built_in {
        components.extend(
            crate::builtin::all()
                .iter()
                .map(|b| Location::BuiltIn(b.id)),
        );
    }
    Ok(components)
}

/// What loading one component came to.
#[derive(Debug)]
pub enum Loaded {
    /// Admitted to run code, and described: ready for its grants ([`Policy::admit`]).
    Skill(Arc<LoadedSkill>),
    /// Refused before any of its code ran ([`Policy::admit_unrun`]).
    Refused {
        /// What its bytes say.
        component: Box<Inspected>,
        /// What it went by: the id the policy pins its digest under, its claim, its file name.
        name: String,
        denial: Denial,
    },
    /// Not loadable at all (unreadable, not a skill component, `describe` failed), as the run
    /// record that says why.
    Failed(Box<RunRecord>),
    /// A built-in skill the policy has no entry for (none names its id or pins its digest): left
    /// out, not refused, so a policy written for some skills runs them without failing on the
    /// built-in ones it never mentions. None of its code ran. See [`unlisted_notice`].
    Unlisted {
        component: Box<Inspected>,
        name: String,
        denial: Denial,
    },
}

impl Loaded {
    /// What the component goes by: its id once described, else the name it went by.
    fn name(&self) -> &str {
        match self {
            Loaded::Skill(skill) => &skill.descriptor.id,
            Loaded::Refused { name, .. } | Loaded::Unlisted { name, .. } => name,
            Loaded::Failed(record) => &record.skill,
        }
    }
}

/// The record of a component that could not be loaded, named after its file (a built-in
/// skill, after its id).
fn failed_load(location: &Location, error: Untrusted, took: std::time::Duration) -> RunRecord {
    match location {
        Location::File(path) => RunRecord::failed_load(path, error, took),
        Location::BuiltIn(id) => RunRecord {
            duration_ms: took.as_secs_f64() * 1e3,
            ..RunRecord::by_host(id.to_string(), "load", Some(error))
        },
    }
}

/// The one notice for the built-in skills a policy left out ([`Loaded::Unlisted`], as
/// (name, digest)): which, and the policy lines that would run one.
pub fn unlisted_notice(policy: &Policy, unlisted: &[(String, String)]) -> Option<String> {
    let (first, digest) = unlisted.first()?;
    let file = policy
        .path
        .as_ref()
        .map(|p| format!(" {}", p.display()))
        .unwrap_or_default();
    let names: Vec<String> = unlisted
        .iter()
        .map(|(name, _)| format!("`{name}`"))
        .collect();
    Some(format!(
        "left out {} built-in skill{} the policy{file} has no [[skill]] entry for (deny by default): {}. To run one, add its entry, as for `{first}`:\n  [[skill]]\n  id = \"{first}\"\n  digest = \"sha256:{digest}\"\n(`joule policy init` writes one for each; --no-builtin-skills leaves the built-in skills out)",
        unlisted.len(),
        if unlisted.len() == 1 { "" } else { "s" },
        names.join(", ")
    ))
}

/// Loads skills in parallel, in the order of `components`, asking `policy` before each one runs
/// any code: a component it does not admit is inspected (digest, claimed id, imports) and refused
/// without its `describe` ever running (a built-in skill it does not mention at all is
/// [`Loaded::Unlisted`]). With no policy to ask (`None`), every component
/// describes itself: that is for the operator's own commands about the files they name
/// (`joule skills`, `joule policy pin` and `init`), never for a run. A component that fails to
/// load becomes a failed run record; the others load.
///
/// A built-in skill is left out, logged, when a component given as a file goes by its id
/// (described, or by the name it went by if refused or unloadable): the file replaces it.
pub async fn load_skills(
    runtime: &Arc<Runtime>,
    components: Vec<Location>,
    policy: Option<&Policy>,
) -> Vec<Loaded> {
    let handles: Vec<_> = components
        .into_iter()
        .map(|location| {
            let runtime = runtime.clone();
            let policy = policy.cloned();
            let built_in = location.is_built_in();
            let handle = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let loaded = load_one(&runtime, &location, policy.as_ref());
                match loaded {
                    Ok(loaded) => loaded,
                    Err(e) => Loaded::Failed(Box::new(failed_load(
                        &location,
                        format!("{e:#}").into(),
                        started.elapsed(),
                    ))),
                }
            });
            (built_in, handle)
        })
        .collect();
    let mut out = Vec::new();
    for (built_in, handle) in handles {
        if let Ok(loaded) = handle.await {
            out.push((built_in, loaded));
        }
    }
    let given: std::collections::HashSet<String> = out
        .iter()
        .filter(|(built_in, _)| !built_in)
        .map(|(_, l)| l.name().to_string())
        .collect();
    out.into_iter()
        .filter_map(|(built_in, l)| {
            if built_in && given.contains(l.name()) {
                tracing::info!(
                    "built-in skill `{}` replaced by the component given with that id",
                    l.name()
                );
                return None;
            }
            Some(l)
        })
        .collect()
}

/// The skills described, and the run records of the components that failed to load, from a
/// [`load_skills`] that asked no policy (where nothing is refused).
pub fn described(loaded: Vec<Loaded>) -> (Vec<Arc<LoadedSkill>>, Vec<RunRecord>) {
    let mut skills = Vec::new();
    let mut failed = Vec::new();
    for l in loaded {
        match l {
            Loaded::Skill(skill) => skills.push(skill),
            Loaded::Failed(record) => failed.push(*record),
            Loaded::Refused { .. } | Loaded::Unlisted { .. } => {
                unreachable!("no policy was asked")
            }
        }
    }
    (skills, failed)
}

fn load_one(
    runtime: &Runtime,
    location: &Location,
    policy: Option<&Policy>,
) -> anyhow::Result<Loaded> {
    let component = match location {
        Location::File(path) => runtime.inspect(path)?,
        Location::BuiltIn(id) => {
            let built_in = crate::builtin::get(id)
                .with_context(|| format!("{location}: no built-in skill has this id"))?;
            runtime.inspect_bytes(built_in.bytes, location.clone())?
        }
    };
    let Some(policy) = policy else {
        return Ok(Loaded::Skill(runtime.describe_component(component)?));
    };
    // Until it has described itself, a component is called by the id the policy pins its
    // digest under, else the id it claims, else its file name.
    let name = policy
        .pinned_as(&component.digest)
        .first()
        .map(|id| id.to_string())
        .unwrap_or_else(|| component.name());
    let unrun = joule_policy::Unrun {
        name: &name,
        digest: &component.digest,
        imports: &component.imports,
    };
    if let Err(denial) = policy.admit_unrun(&unrun) {
        let unlisted = !policy.is_open()
            && location.is_built_in()
            && policy.pinned_as(&component.digest).is_empty()
            && policy.entry(&name).is_none();
        if unlisted {
            return Ok(Loaded::Unlisted {
                component: Box::new(component),
                name,
                denial,
            });
        }
        return Ok(Loaded::Refused {
            component: Box::new(component),
            name,
            denial,
        });
    }
    Ok(Loaded::Skill(runtime.describe_component(component)?))
}

/// The skills of `loaded`, refusing two with one id by the rule of
/// [`joule_policy::id_keepers`]: the one named after its id keeps it, else the first given
/// (`--skills` arguments in order, the files of a directory by name). Returns the skills kept,
/// and the ones refused, each with why (naming the one that kept the id). Under a policy, run
/// this after the digest checks, so an impostor claiming a pinned id cannot crowd out the real
/// skill.
pub fn unique_ids<T>(
    loaded: Vec<T>,
    skill: impl Fn(&T) -> &LoadedSkill,
) -> (Vec<T>, Vec<(T, String)>) {
    let files: Vec<String> = loaded
        .iter()
        .map(|item| skill(item).location.stem())
        .collect();
    let given: Vec<(&str, &str)> = loaded
        .iter()
        .zip(&files)
        .map(|(item, file)| (skill(item).descriptor.id.as_str(), file.as_str()))
        .collect();
    let keepers = joule_policy::id_keepers(&given);
    let keeper_paths: Vec<Location> = keepers
        .iter()
        .map(|&k| skill(&loaded[k]).location.clone())
        .collect();
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for (i, item) in loaded.into_iter().enumerate() {
        if keepers[i] == i {
            kept.push(item);
            continue;
        }
        let this = skill(&item);
        let why = format!(
            "{}: skill id `{}` is already taken by {}, which keeps it (a component named after its id keeps the id; otherwise the first given does); this one is refused",
            this.location, this.descriptor.id, keeper_paths[i]
        );
        refused.push((item, why));
    }
    (kept, refused)
}

/// A component refused at load, for its run record and the audit log's load decision.
pub struct Refusal<'a> {
    location: &'a Location,
    /// The id it gave, or the name it went by when none of its code ran.
    id: &'a str,
    version: &'a Untrusted,
    digest: &'a str,
}

impl<'a> Refusal<'a> {
    pub fn of(skill: &'a LoadedSkill) -> Self {
        Refusal {
            location: &skill.location,
            id: &skill.descriptor.id,
            version: &skill.descriptor.version,
            digest: &skill.digest,
        }
    }

    /// Refused by the policy, for `reason`: recorded under its id.
    pub fn record(&self, reason: &str, audit: Option<&AuditLog>) -> RunRecord {
        let shown = self.location.to_string();
        if let Some(audit) = audit {
            audit.write_load(self.id, self.digest, &shown, Some(reason));
        }
        let mut record = failed_load(
            self.location,
            format!("{shown}: {reason}").into(),
            Default::default(),
        );
        record.skill = self.id.to_string();
        record.version = self.version.clone();
        record.digest = self.digest.to_string();
        record
    }

    /// Refused for giving an id another component keeps (`why` says which): recorded under its
    /// file name, as any component that failed to load, and in the audit log under the id.
    pub fn duplicate(&self, why: &str, audit: Option<&AuditLog>) -> RunRecord {
        if let Some(audit) = audit {
            audit.write_load(self.id, self.digest, &self.location.to_string(), Some(why));
        }
        let mut record = failed_load(self.location, why.to_string().into(), Default::default());
        record.version = self.version.clone();
        record.digest = self.digest.to_string();
        record
    }
}

/// Reads every file with `load` on the blocking pool, concurrently; each result comes back
/// with its path and file name, in the order given.
async fn read_all<T: Send + 'static, E: Send + 'static>(
    paths: &[PathBuf],
    load: impl Fn(&Path) -> Result<T, E> + Clone + Send + 'static,
) -> Vec<(PathBuf, String, Result<T, E>)> {
    let handles: Vec<_> = paths
        .iter()
        .cloned()
        .map(|path| {
            let load = load.clone();
            tokio::task::spawn_blocking(move || (load(&path), path))
        })
        .collect();
    let mut out = Vec::new();
    for handle in handles {
        let Ok((loaded, path)) = handle.await else {
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        out.push((path, name, loaded));
    }
    out
}

/// Reads every profile concurrently; unreadable ones are recorded with their error.
pub async fn load_profiles(
    paths: &[PathBuf],
    options: &ReadOptions,
) -> (Vec<Arc<NamedProfile>>, Vec<ProfileRecord>) {
    let mut profiles = Vec::new();
    let mut records = Vec::new();
    let options = options.clone();
    let load = move |path: &Path| joule_profile::ingest::load_with(path, &options);
    for (path, name, loaded) in read_all(paths, load).await {
        match loaded {
            Ok(profile) => {
                let t = profile.default_sample_type;
                records.push(ProfileRecord {
                    path: path.display().to_string(),
                    name: name.clone(),
                    format: Some(profile.format.name().to_string()),
                    sample_type: Some(profile.sample_type_label(t)),
                    total: profile.totals().get(t).copied(),
                    samples: Some(profile.raw_sample_count),
                    error: None,
                    warnings: profile.warnings.clone(),
                });
                profiles.push(Arc::new(NamedProfile {
                    name,
                    path,
                    profile,
                }));
            }
            Err(e) => records.push(ProfileRecord {
                path: path.display().to_string(),
                name,
                format: None,
                sample_type: None,
                total: None,
                samples: None,
                error: Some(e.to_string()),
                warnings: Vec::new(),
            }),
        }
    }
    (profiles, records)
}

/// A metric set as read, and its record for the report: an unreadable one has only the record.
fn named_metrics(
    path: PathBuf,
    name: String,
    loaded: Result<crate::metrics::MetricSet, crate::metrics::MetricsError>,
) -> (Option<Arc<NamedMetrics>>, MetricsRecord) {
    match loaded {
        Ok(set) => {
            let record = MetricsRecord {
                path: path.display().to_string(),
                name: name.clone(),
                series: Some(set.series.len()),
                points: Some(set.point_count()),
                error: None,
                warnings: set.warnings.clone(),
            };
            (Some(Arc::new(NamedMetrics { name, path, set })), record)
        }
        Err(e) => (
            None,
            MetricsRecord {
                path: path.display().to_string(),
                name,
                series: None,
                points: None,
                error: Some(e.to_string()),
                warnings: Vec::new(),
            },
        ),
    }
}

/// Reads every metric file concurrently, keeping only `shard`'s series when given (the rows of
/// the others are dropped as they are read); unreadable ones are recorded with their error.
pub async fn load_metrics(
    paths: &[PathBuf],
    shard: Option<crate::shard::Shard>,
) -> (Vec<Arc<NamedMetrics>>, Vec<MetricsRecord>) {
    let mut sets = Vec::new();
    let mut records = Vec::new();
    let options = crate::metrics::LoadOptions {
        shard,
        ..Default::default()
    };
    let load = move |path: &Path| crate::metrics::load_with(path, &options);
    for (path, name, loaded) in read_all(paths, load).await {
        let (set, record) = named_metrics(path, name, loaded);
        sets.extend(set);
        records.push(record);
    }
    (sets, records)
}

/// Each metric set with only the series of `shard`, and its record counting those.
fn keep_shard(
    sets: Vec<Arc<NamedMetrics>>,
    records: &mut [MetricsRecord],
    shard: crate::shard::Shard,
) -> Vec<Arc<NamedMetrics>> {
    sets.into_iter()
        .map(|named| {
            let mut named = Arc::try_unwrap(named).unwrap_or_else(|shared| NamedMetrics {
                name: shared.name.clone(),
                path: shared.path.clone(),
                set: shared.set.clone(),
            });
            named.set.keep_shard(shard);
            if let Some(r) = records.iter_mut().find(|r| r.name == named.name) {
                r.series = Some(named.set.series.len());
                r.points = Some(named.set.point_count());
            }
            Arc::new(named)
        })
        .collect()
}

/// The name of the metric set made from `--profile-series` profiles.
pub const PROFILE_SERIES: &str = "profile-series";

/// Smallest share of a profile (self or total) a function must reach in some profile of a
/// series to get a time series of its own.
pub const PROFILE_SERIES_MIN_SHARE: f64 = 0.001;

/// Profiles taken over time as one metric set: per function, its self and total share of
/// each profile (`self:NAME`, `total:NAME`, label `function`), at the profile's time (its own,
/// or a date or Unix time in its file name). A profile that cannot be read or dated is named in
/// the record's warnings and left out; none left is an error.
pub async fn profile_series(
    paths: &[PathBuf],
    options: &ReadOptions,
) -> (Option<Arc<NamedMetrics>>, MetricsRecord) {
    let mut dated = Vec::new();
    let mut warnings = Vec::new();
    let options = options.clone();
    let load = move |path: &Path| joule_profile::ingest::load_with(path, &options);
    for (path, name, loaded) in read_all(paths, load).await {
        match loaded {
            Ok(profile) => match crate::metrics::profile_time(&path, &profile) {
                Some(t) => dated.push((t, profile)),
                None => warnings.push(format!(
                    "{name}: no time in the profile or its file name (e.g. cpu-2026-11-01T12:00:00Z.pb.gz); left out"
                )),
            },
            Err(e) => warnings.push(format!("{e}; left out")),
        }
    }
    dated.sort_by_key(|(t, _)| *t);
    let refs: Vec<(i64, &joule_profile::model::Profile)> =
        dated.iter().map(|(t, p)| (*t, p)).collect();
    let mut set = crate::metrics::from_profiles(&refs, None, PROFILE_SERIES_MIN_SHARE);
    set.time_format = crate::metrics::TimeFormat::Rfc3339;
    set.source = PROFILE_SERIES.to_string();
    warnings.append(&mut set.warnings);
    let path = paths.first().cloned().unwrap_or_default();
    let error = dated.is_empty().then(|| {
        format!(
            "{PROFILE_SERIES}: none of the {} profiles could be read and dated",
            paths.len()
        )
    });
    let record = MetricsRecord {
        path: path.display().to_string(),
        name: PROFILE_SERIES.to_string(),
        series: error.is_none().then_some(set.series.len()),
        points: error.is_none().then_some(set.point_count()),
        error: error.clone(),
        warnings,
    };
    let named = error.is_none().then(|| {
        Arc::new(NamedMetrics {
            name: PROFILE_SERIES.to_string(),
            path,
            set,
        })
    });
    (named, record)
}

/// One Prometheus range query as a metric set; a failed one is recorded with its error.
pub async fn prometheus_set(
    query: crate::metrics::prometheus::RangeQuery,
) -> (Option<Arc<NamedMetrics>>, MetricsRecord) {
    let path = PathBuf::from(format!("{} {}", query.server, query.promql));
    let name = query.name.clone();
    let loaded =
        tokio::task::spawn_blocking(move || crate::metrics::prometheus::query_range(&query))
            .await
            .unwrap_or_else(|e| {
                Err(crate::metrics::MetricsError {
                    file: name.clone(),
                    place: None,
                    message: format!("the Prometheus query failed: {e}"),
                })
            });
    named_metrics(path, name, loaded)
}

/// The name a source tree gets when the operator does not give one: its directory's name.
pub fn default_tree_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "source".to_string())
}

/// Runs a whole session, until `watch` cancels it. Errors only when nothing useful can be done
/// (no skill loaded, a source tree that cannot be opened, a bad parameter); everything else
/// lands in the report.
pub async fn analyse(
    runtime: Arc<Runtime>,
    request: Request,
    watch: crate::engine::Watch,
) -> anyhow::Result<Report> {
    Ok(analyse_keeping(runtime, request, watch).await?.0)
}

/// [`analyse`], keeping the session: what the report is drawn from (the HTML page's inputs).
pub async fn analyse_keeping(
    runtime: Arc<Runtime>,
    request: Request,
    watch: crate::engine::Watch,
) -> anyhow::Result<(Report, Session)> {
    // The run's clock starts now: reading the inputs, the skills, the report all count.
    let now = std::time::Instant::now();
    let ends = deadline(now, request.budget.deadline);
    let session = Session::open(runtime, request).await?;
    let parameters = session.parameters.clone();
    let report = session.run(None, parameters, ends, watch).await?;
    Ok((report, session))
}

/// `now` plus `limit`, or a century on when that overflows.
pub fn deadline(now: std::time::Instant, limit: std::time::Duration) -> std::time::Instant {
    now.checked_add(limit)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(100 * 365 * 86_400))
}

/// Inputs read and skills loaded and admitted, ready to run any number of times: once for
/// `joule run`, once a tool call for `joule mcp`.
pub struct Session {
    runtime: Arc<Runtime>,
    record: InputsRecord,
    inputs: Inputs,
    /// The skills, as last loaded (`joule mcp` loads them again when their files change).
    skills: std::sync::RwLock<Arc<Skills>>,
    /// Where the skills are loaded from (`--skills`).
    skill_paths: Vec<PathBuf>,
    /// Whether the built-in skills load too.
    builtin_skills: bool,
    policy: Policy,
    views: std::sync::Mutex<ProfileViews>,
    audit: Option<Arc<AuditLog>>,
    /// What an agent (`joule mcp`) may read through the host's tools, or why nothing.
    agent: Result<(Arc<SkillGrants>, Arc<Inputs>), Denial>,
    /// The operator's `--param`s.
    pub parameters: HashMap<String, BTreeMap<String, String>>,
    since: Option<String>,
    jobs: usize,
    max_depth: usize,
    budget: RunLimits,
}

/// The skills of a session: loaded, admitted by the policy, and what each may reach.
pub struct Skills {
    /// Components refused or failed at load, reported with every whole run.
    refused: Vec<RunRecord>,
    skills: Vec<Arc<LoadedSkill>>,
    access: HashMap<String, (Arc<SkillGrants>, Arc<Inputs>)>,
}

impl Skills {
    /// Loads the components at `paths` (and the built-in skills, when `built_in`), and admits
    /// those the policy admits: each with the inputs its grants let through.
    async fn load(
        runtime: &Arc<Runtime>,
        (paths, built_in): (&[PathBuf], bool),
        policy: &Policy,
        inputs: &Inputs,
        views: &std::sync::Mutex<ProfileViews>,
        audit: Option<&Arc<AuditLog>>,
    ) -> anyhow::Result<Skills> {
        let components = components(paths, built_in)?;
        let mut runs = Vec::new();
        let mut admitted = Vec::new();
        let mut unlisted = Vec::new();
        for loaded in load_skills(runtime, components, Some(policy)).await {
            let skill = match loaded {
                Loaded::Skill(skill) => skill,
                Loaded::Unlisted {
                    component,
                    name,
                    denial,
                } => {
                    // Not a refusal in the report, but a decision in the audit log all the same.
                    if let Some(audit) = audit {
                        let reason = denial.to_string();
                        let shown = component.location.to_string();
                        audit.write_load(&name, &component.digest, &shown, Some(&reason));
                    }
                    unlisted.push((name, component.digest));
                    continue;
                }
                Loaded::Refused {
                    component,
                    name,
                    denial,
                } => {
                    let never_ran = Untrusted::default();
                    let refusal = Refusal {
                        location: &component.location,
                        id: &name,
                        version: &never_ran,
                        digest: &component.digest,
                    };
                    runs.push(refusal.record(&denial.to_string(), audit.map(|a| &**a)));
                    continue;
                }
                Loaded::Failed(record) => {
                    runs.push(*record);
                    continue;
                }
            };
            match policy.admit(&skill.component()) {
                Ok(grants) => admitted.push((skill, grants)),
                Err(denial) => {
                    runs.push(Refusal::of(&skill).record(&denial.to_string(), audit.map(|a| &**a)))
                }
            }
        }
        let (admitted, duplicates) = unique_ids(admitted, |(skill, _)| skill);
        for ((skill, _), why) in duplicates {
            runs.push(Refusal::of(&skill).duplicate(&why, audit.map(|a| &**a)));
        }
        let mut skills = Vec::new();
        let mut access = HashMap::new();
        let mut views = views.lock().unwrap_or_else(|e| e.into_inner());
        let notice = unlisted_notice(policy, &unlisted);
        for (skill, grants) in admitted {
            if let Some(audit) = audit {
                let path = skill.location.to_string();
                audit.write_load(&skill.descriptor.id, &skill.digest, &path, None);
            }
            let granted = inputs.granted_to(&grants, &mut views);
            access.insert(
                skill.descriptor.id.clone(),
                (Arc::new(grants), Arc::new(granted)),
            );
            skills.push(skill);
        }
        if skills.is_empty() {
            // One line each, whatever a skill put in them: the error goes to the terminal.
            let reasons: Vec<String> = runs
                .iter()
                .filter_map(|r| r.error.as_ref().map(Untrusted::terminal))
                .collect();
            anyhow::bail!(
                "no skill could be loaded:\n  {}",
                reasons
                    .into_iter()
                    .chain(notice)
                    .collect::<Vec<_>>()
                    .join("\n  ")
            );
        }
        if let Some(notice) = notice {
            tracing::warn!("{notice}");
        }
        Ok(Skills {
            refused: runs,
            skills,
            access,
        })
    }

    /// The skills loaded and admitted.
    pub fn all(&self) -> &[Arc<LoadedSkill>] {
        &self.skills
    }

    /// The loaded skill with id `id`.
    pub fn get(&self, id: &str) -> Option<&Arc<LoadedSkill>> {
        self.skills.iter().find(|s| s.descriptor.id == id)
    }

    /// Each skill's id and digest, in load order: what a change of skills changes.
    pub fn identity(&self) -> Vec<(String, String)> {
        self.skills
            .iter()
            .map(|s| (s.descriptor.id.clone(), s.digest.clone()))
            .collect()
    }
}

impl Session {
    /// Reads the inputs and loads the skills the policy admits. Errors only when nothing
    /// useful can be done (no skill loaded, a source tree that cannot be opened, a bad
    /// parameter).
    pub async fn open(runtime: Arc<Runtime>, request: Request) -> anyhow::Result<Session> {
        // Named before the inputs are read: a missing skills directory fails at once.
        skill_files(&request.skills)?;
        let read_options = ReadOptions {
            symbol_paths: request.symbol_paths.clone(),
            ..ReadOptions::default()
        };
        let (profiles, profile_records) = load_profiles(&request.profiles, &read_options).await;
        let (mut metrics, mut metric_records) = load_metrics(&request.metrics, request.shard).await;
        if !request.profile_series.is_empty() {
            let (set, record) = profile_series(&request.profile_series, &read_options).await;
            metrics.extend(set);
            metric_records.push(record);
        }
        for query in &request.prometheus {
            let (set, record) = prometheus_set(query.clone()).await;
            metrics.extend(set);
            metric_records.push(record);
        }
        // Files were read for the shard; sets made otherwise (profiles over time, Prometheus) are
        // cut to it here.
        if let Some(shard) = request.shard {
            metrics = keep_shard(metrics, &mut metric_records, shard);
        }
        let mut trees = Vec::new();
        let mut source_records = Vec::new();
        for (name, dir) in &request.sources {
            if trees.iter().any(|t: &Arc<SourceTree>| t.name() == name) {
                anyhow::bail!("two source trees are named `{name}`; name them with NAME=DIR");
            }
            let mut tree = SourceTree::open(name.clone(), dir)?;
            for (_, prefix) in request.path_prefixes.iter().filter(|(n, _)| n == name) {
                tree = tree.with_prefix(prefix.clone());
            }
            if let Some(cache) = &request.symbol_cache {
                tree = tree.with_symbol_cache(cache);
            }
            trees.push(Arc::new(tree));
            source_records.push(SourceRecord {
                name: name.clone(),
                path: dir.display().to_string(),
            });
        }
        let mut histories: Vec<Arc<History>> = Vec::new();
        for (name, dir, deploys) in &request.histories {
            if histories.iter().any(|h| h.name() == name) {
                anyhow::bail!("two repositories are named `{name}`; name them with NAME=DIR");
            }
            histories.push(Arc::new(History::open(
                name.clone(),
                dir,
                deploys.as_deref(),
            )?));
        }
        if let Some((name, _)) = request
            .path_prefixes
            .iter()
            .find(|(n, _)| !request.sources.iter().any(|(s, _)| s == n))
        {
            anyhow::bail!("--path-prefix {name}=...: no source tree is named `{name}`");
        }
        let policy = request
            .policy
            .unwrap_or_else(|| Policy::open(runtime.limits().clone()));
        let run_inputs = Inputs {
            profiles,
            trees,
            withheld_profiles: Vec::new(),
            withheld_trees: Vec::new(),
            metrics,
            withheld_metrics: Vec::new(),
            histories,
            withheld_histories: Vec::new(),
        };
        let views = std::sync::Mutex::new(ProfileViews::default());
        let skills = Skills::load(
            &runtime,
            (&request.skills, request.builtin_skills),
            &policy,
            &run_inputs,
            &views,
            request.audit.as_ref(),
        )
        .await?;
        let agent = policy.agent_grants().map(|grants| {
            let mut views = views.lock().unwrap_or_else(|e| e.into_inner());
            let inputs = run_inputs.granted_to(&grants, &mut views);
            (Arc::new(grants), Arc::new(inputs))
        });
        let session = Session {
            runtime,
            record: InputsRecord {
                profiles: profile_records,
                sources: source_records,
                metrics: metric_records,
            },
            inputs: run_inputs,
            skills: std::sync::RwLock::new(Arc::new(skills)),
            skill_paths: request.skills,
            builtin_skills: request.builtin_skills,
            policy,
            views,
            audit: request.audit,
            agent,
            parameters: request.parameters,
            since: request.since,
            jobs: request.jobs.max(1),
            max_depth: request.max_depth,
            budget: request.budget,
        };
        // A `--param` for no loaded skill is refused now, not at the first run.
        let now = std::time::Instant::now();
        let skills = session.skill_set();
        session.plan(
            &skills,
            None,
            session.parameters.clone(),
            now,
            Default::default(),
        )?;
        Ok(session)
    }

    /// What an agent may read, and its grants (for the deny rules), or why it may read nothing.
    pub fn agent(&self) -> Result<&(Arc<SkillGrants>, Arc<Inputs>), &Denial> {
        self.agent.as_ref()
    }

    /// What a run may do (its deadline counts from its start).
    pub fn budget(&self) -> &RunLimits {
        &self.budget
    }

    /// The audit log, if one was asked for.
    pub fn audit(&self) -> Option<&Arc<AuditLog>> {
        self.audit.as_ref()
    }

    /// The loaded skill with id `id`.
    pub fn skill(&self, id: &str) -> Option<Arc<LoadedSkill>> {
        self.skill_set().get(id).cloned()
    }

    /// The skills loaded and admitted.
    pub fn skills(&self) -> Vec<Arc<LoadedSkill>> {
        self.skill_set().skills.clone()
    }

    /// The skills as last loaded, with their grants.
    pub fn skill_set(&self) -> Arc<Skills> {
        self.skills
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads the skills again from the paths the session was opened with (under the same
    /// policy, over the same inputs), and uses them from the next run on. Returns whether the
    /// set of skills (ids and digests) changed. A component that fails to load or is refused is
    /// left out, with a warning in the log; when none can be loaded, or the operator's
    /// `--param`s no longer fit, the old skills stay and the error says why.
    pub async fn reload_skills(&self) -> anyhow::Result<bool> {
        let skills = Skills::load(
            &self.runtime,
            (&self.skill_paths, self.builtin_skills),
            &self.policy,
            &self.inputs,
            &self.views,
            self.audit.as_ref(),
        )
        .await?;
        for refused in &skills.refused {
            if let Some(error) = &refused.error {
                tracing::warn!(
                    "skills loaded again: `{}` left out: {}",
                    terminal::line(&refused.skill),
                    error.terminal()
                );
            }
        }
        // The operator's `--param`s must still name loaded skills and their parameters, or every
        // later run would fail on them.
        let now = std::time::Instant::now();
        self.plan(
            &skills,
            None,
            self.parameters.clone(),
            now,
            Default::default(),
        )
        .context("the skills as loaded again do not take the --param values given")?;
        let mut current = self.skills.write().unwrap_or_else(|e| e.into_inner());
        let changed = current.identity() != skills.identity();
        *current = Arc::new(skills);
        Ok(changed)
    }

    /// Where the skills are loaded from.
    pub fn skill_paths(&self) -> &[PathBuf] {
        &self.skill_paths
    }

    /// What was read of each input.
    pub fn record(&self) -> &InputsRecord {
        &self.record
    }

    /// Every input read, whoever it is granted to.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// What skill `id` was granted, and the inputs it sees.
    pub fn access(&self, id: &str) -> Option<(Arc<SkillGrants>, Arc<Inputs>)> {
        self.skill_set().access.get(id).cloned()
    }

    /// The plan of a run of every skill, or of skill `only` (and the skills its findings
    /// trigger), with `parameters`, until `ends`.
    fn plan(
        &self,
        skills: &Skills,
        only: Option<&str>,
        parameters: HashMap<String, BTreeMap<String, String>>,
        ends: std::time::Instant,
        watch: crate::engine::Watch,
    ) -> anyhow::Result<Plan> {
        if let Some(id) = only {
            let Some(skill) = skills.get(id) else {
                anyhow::bail!(
                    "no loaded skill has id `{id}` (loaded: {})",
                    skills
                        .skills
                        .iter()
                        .map(|s| s.descriptor.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            if !skill
                .descriptor
                .triggers
                .contains(&crate::engine::Trigger::Scan)
            {
                anyhow::bail!(
                    "skill `{id}` does not scan: it runs on the findings of other skills ({}); run the skill that makes them",
                    skill
                        .descriptor
                        .triggers
                        .iter()
                        .map(|t| match t {
                            crate::engine::Trigger::Scan => "scan".to_string(),
                            crate::engine::Trigger::Finding { kind, rule } => format!(
                                "{} findings{}",
                                kind.name(),
                                rule.as_ref()
                                    .map(|r| format!(" of rule {}", r.terminal()))
                                    .unwrap_or_default()
                            ),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        let plan = Plan {
            skills: skills.skills.clone(),
            entry: only.map(str::to_string),
            access: skills.access.clone(),
            audit: self.audit.clone(),
            parameters,
            since: self.since.clone(),
            jobs: self.jobs,
            max_depth: self.max_depth,
            budget: self.budget.clone(),
            ends,
            watch,
        };
        plan.validate()?;
        Ok(plan)
    }

    /// Runs every skill (`only` = `None`) or one, with `parameters` (skill id -> name ->
    /// value), until `ends` or until `watch` cancels it, and builds the report.
    pub async fn run(
        &self,
        only: Option<&str>,
        parameters: HashMap<String, BTreeMap<String, String>>,
        ends: std::time::Instant,
        watch: crate::engine::Watch,
    ) -> anyhow::Result<Report> {
        let skills = self.skill_set();
        let plan = self.plan(&skills, only, parameters, ends, watch)?;
        let (records, findings) = crate::engine::run(self.runtime.clone(), plan).await;
        let mut runs = if only.is_none() {
            skills.refused.clone()
        } else {
            Vec::new()
        };
        runs.extend(records);
        Ok(Report::new(
            self.record.clone(),
            runs,
            findings,
            &self.inputs,
            &skills.access,
            ends,
        ))
    }
}

/// A runtime configured for a session with `jobs` concurrent invocations.
pub fn runtime(mut config: RuntimeConfig, jobs: usize) -> anyhow::Result<Arc<Runtime>> {
    config.concurrency = jobs.max(1);
    Ok(Arc::new(Runtime::new(config)?))
}
