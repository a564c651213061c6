//! One analysis session end to end: read the inputs, load the skills, run them, build the
//! report. The `joule run` command is a thin layer over [`analyse`]; so are the tests.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use joule_policy::{Policy, RunLimits};

use crate::audit::AuditLog;
use crate::engine::{LoadedSkill, Plan, Runtime, RuntimeConfig};
use crate::history::History;
use crate::inputs::{Inputs, NamedMetrics, NamedProfile, ProfileViews};
use crate::report::{InputsRecord, MetricsRecord, ProfileRecord, Report, RunRecord, SourceRecord};
use crate::source::SourceTree;
use crate::untrusted::Untrusted;

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

/// Loads skills in parallel. A skill that fails to load becomes a failed run record; the
/// others load.
pub async fn load_skills(
    runtime: &Arc<Runtime>,
    files: Vec<PathBuf>,
) -> (Vec<Arc<LoadedSkill>>, Vec<RunRecord>) {
    let handles: Vec<_> = files
        .into_iter()
        .map(|file| {
            let runtime = runtime.clone();
            tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let loaded = runtime.load(&file);
                (file, loaded, started.elapsed())
            })
        })
        .collect();
    let mut skills = Vec::new();
    let mut failures = Vec::new();
    for handle in handles {
        let Ok((file, loaded, elapsed)) = handle.await else {
            continue;
        };
        match loaded {
            Ok(skill) => skills.push(skill),
            // The error may quote the skill (a panic in `describe`): untrusted.
            Err(e) => failures.push(RunRecord::failed_load(
                &file,
                format!("{e:#}").into(),
                elapsed,
            )),
        }
    }
    (skills, failures)
}

/// Keeps the first skill of each id and refuses the others. Under a policy, run this after
/// the digest checks, so an impostor claiming a pinned id cannot crowd out the real skill.
pub fn unique_ids<T>(
    loaded: Vec<T>,
    skill: impl Fn(&T) -> &LoadedSkill,
) -> (Vec<T>, Vec<RunRecord>) {
    let mut kept: Vec<T> = Vec::new();
    let mut failures = Vec::new();
    for item in loaded {
        let this = skill(&item);
        match kept
            .iter()
            .map(&skill)
            .find(|s| s.descriptor.id == this.descriptor.id)
        {
            None => kept.push(item),
            Some(first) => failures.push(RunRecord::failed_load(
                &this.path,
                format!(
                    "{}: skill id `{}` is already taken by {}",
                    this.path.display(),
                    this.descriptor.id,
                    first.path.display()
                )
                .into(),
                Default::default(),
            )),
        }
    }
    (kept, failures)
}

/// Reads every file with `load` on the blocking pool, concurrently; each result comes back
/// with its path and file name, in the order given.
async fn read_all<T: Send + 'static, E: Send + 'static>(
    paths: &[PathBuf],
    load: fn(&Path) -> Result<T, E>,
) -> Vec<(PathBuf, String, Result<T, E>)> {
    let handles: Vec<_> = paths
        .iter()
        .cloned()
        .map(|path| tokio::task::spawn_blocking(move || (load(&path), path)))
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
pub async fn load_profiles(paths: &[PathBuf]) -> (Vec<Arc<NamedProfile>>, Vec<ProfileRecord>) {
    let mut profiles = Vec::new();
    let mut records = Vec::new();
    for (path, name, loaded) in read_all(paths, joule_profile::ingest::load).await {
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

/// Reads every metric file concurrently; unreadable ones are recorded with their error.
pub async fn load_metrics(paths: &[PathBuf]) -> (Vec<Arc<NamedMetrics>>, Vec<MetricsRecord>) {
    let mut sets = Vec::new();
    let mut records = Vec::new();
    for (path, name, loaded) in read_all(paths, crate::metrics::load).await {
        let (set, record) = named_metrics(path, name, loaded);
        sets.extend(set);
        records.push(record);
    }
    (sets, records)
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
pub async fn profile_series(paths: &[PathBuf]) -> (Option<Arc<NamedMetrics>>, MetricsRecord) {
    let mut dated = Vec::new();
    let mut warnings = Vec::new();
    for (path, name, loaded) in read_all(paths, joule_profile::ingest::load).await {
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

/// Runs a whole session. Errors only when nothing useful can be done (no skill loaded, a source
/// tree that cannot be opened, a bad parameter); everything else lands in the report.
pub async fn analyse(runtime: Arc<Runtime>, request: Request) -> anyhow::Result<Report> {
    let files = skill_files(&request.skills)?;
    let (profiles, profile_records) = load_profiles(&request.profiles).await;
    let (mut metrics, mut metric_records) = load_metrics(&request.metrics).await;
    if !request.profile_series.is_empty() {
        let (set, record) = profile_series(&request.profile_series).await;
        metrics.extend(set);
        metric_records.push(record);
    }
    for query in &request.prometheus {
        let (set, record) = prometheus_set(query.clone()).await;
        metrics.extend(set);
        metric_records.push(record);
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
    let (loaded, mut runs) = load_skills(&runtime, files).await;
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
    let mut admitted = Vec::new();
    for skill in loaded {
        let path = skill.path.display().to_string();
        match policy.admit(&skill.component()) {
            Ok(grants) => admitted.push((skill, grants)),
            Err(denial) => {
                let reason = denial.to_string();
                if let Some(audit) = &request.audit {
                    audit.write_load(&skill.descriptor.id, &skill.digest, &path, Some(&reason));
                }
                let mut record = RunRecord::failed_load(
                    &skill.path,
                    format!("{path}: {reason}").into(),
                    Default::default(),
                );
                record.skill = skill.descriptor.id.clone();
                record.version = skill.descriptor.version.clone();
                record.digest = skill.digest.clone();
                runs.push(record);
            }
        }
    }
    let (admitted, duplicates) = unique_ids(admitted, |(skill, _)| skill);
    runs.extend(duplicates);
    let mut skills = Vec::new();
    let mut access = HashMap::new();
    let mut views = ProfileViews::default();
    for (skill, grants) in admitted {
        if let Some(audit) = &request.audit {
            let path = skill.path.display().to_string();
            audit.write_load(&skill.descriptor.id, &skill.digest, &path, None);
        }
        let inputs = run_inputs.granted_to(&grants, &mut views);
        access.insert(
            skill.descriptor.id.clone(),
            (Arc::new(grants), Arc::new(inputs)),
        );
        skills.push(skill);
    }
    if skills.is_empty() {
        // One line each, whatever a skill put in them: the error goes to the terminal.
        let reasons: Vec<String> = runs
            .iter()
            .filter_map(|r| r.error.as_ref().map(Untrusted::terminal))
            .collect();
        anyhow::bail!("no skill could be loaded:\n  {}", reasons.join("\n  "));
    }
    let plan = Plan {
        skills,
        access,
        audit: request.audit.clone(),
        parameters: request.parameters,
        jobs: request.jobs.max(1),
        max_depth: request.max_depth,
        budget: request.budget,
    };
    plan.validate()?;
    let access = plan.access.clone();
    let (records, findings) = crate::engine::run(runtime, plan).await;
    runs.extend(records);
    Ok(Report::new(
        InputsRecord {
            profiles: profile_records,
            sources: source_records,
            metrics: metric_records,
        },
        runs,
        findings,
        &run_inputs,
        &access,
    ))
}

/// A runtime configured for a session with `jobs` concurrent invocations.
pub fn runtime(mut config: RuntimeConfig, jobs: usize) -> anyhow::Result<Arc<Runtime>> {
    config.concurrency = jobs.max(1);
    Ok(Arc::new(Runtime::new(config)?))
}
