//! One analysis session end to end: read the inputs, load the skills, run them, build the
//! report. The `joule run` command is a thin layer over [`analyse`]; so are the tests.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::engine::{LoadedSkill, Plan, RunRecord, Runtime, RuntimeConfig};
use crate::inputs::{Inputs, NamedProfile};
use crate::report::{InputsRecord, ProfileRecord, Report, SourceRecord};
use crate::source::SourceTree;

/// What the operator asked for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub profiles: Vec<PathBuf>,
    /// Source trees as (name, directory).
    pub sources: Vec<(String, PathBuf)>,
    /// Build-path prefixes that stand for a tree's root in profiles, as (tree name, prefix).
    pub path_prefixes: Vec<(String, String)>,
    /// Skill components, or directories holding them.
    pub skills: Vec<PathBuf>,
    /// skill id -> parameter -> value.
    pub parameters: HashMap<String, BTreeMap<String, String>>,
    pub jobs: usize,
    pub max_depth: usize,
}

/// The `.wasm` files a `--skills` argument names, sorted: the file itself, or the components in
/// a directory.
pub fn skill_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("{}: cannot list skills", path.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
                .collect();
            found.sort();
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
    let mut skills: Vec<Arc<LoadedSkill>> = Vec::new();
    let mut failures = Vec::new();
    for handle in handles {
        let Ok((file, loaded, elapsed)) = handle.await else {
            continue;
        };
        let error = match loaded {
            Ok(skill) => match skills
                .iter()
                .find(|s| s.descriptor.id == skill.descriptor.id)
            {
                None => {
                    skills.push(skill);
                    continue;
                }
                Some(first) => format!(
                    "{}: skill id `{}` is already taken by {}",
                    file.display(),
                    skill.descriptor.id,
                    first.path.display()
                ),
            },
            Err(e) => format!("{e:#}"),
        };
        failures.push(RunRecord::failed_load(&file, error, elapsed));
    }
    (skills, failures)
}

/// Reads every profile concurrently; unreadable ones are recorded with their error.
pub async fn load_profiles(paths: &[PathBuf]) -> (Vec<Arc<NamedProfile>>, Vec<ProfileRecord>) {
    let handles: Vec<_> = paths
        .iter()
        .cloned()
        .map(|path| {
            tokio::task::spawn_blocking(move || {
                let loaded = crate::ingest::load(&path);
                (path, loaded)
            })
        })
        .collect();
    let mut profiles = Vec::new();
    let mut records = Vec::new();
    for handle in handles {
        let Ok((path, loaded)) = handle.await else {
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
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
    if let Some((name, _)) = request
        .path_prefixes
        .iter()
        .find(|(n, _)| !request.sources.iter().any(|(s, _)| s == n))
    {
        anyhow::bail!("--path-prefix {name}=...: no source tree is named `{name}`");
    }
    let (skills, mut runs) = load_skills(&runtime, files).await;
    if skills.is_empty() {
        let reasons: Vec<String> = runs.iter().filter_map(|r| r.error.clone()).collect();
        anyhow::bail!("no skill could be loaded:\n  {}", reasons.join("\n  "));
    }
    let inputs = Arc::new(Inputs { profiles, trees });
    let plan = Plan {
        skills,
        inputs: inputs.clone(),
        parameters: request.parameters,
        jobs: request.jobs.max(1),
        max_depth: request.max_depth,
    };
    plan.validate()?;
    let (records, findings) = crate::engine::run(runtime, plan).await;
    runs.extend(records);
    Ok(Report::new(
        InputsRecord {
            profiles: profile_records,
            sources: source_records,
        },
        runs,
        findings,
        &inputs,
    ))
}

/// A runtime configured for a session with `jobs` concurrent invocations.
pub fn runtime(mut config: RuntimeConfig, jobs: usize) -> anyhow::Result<Arc<Runtime>> {
    config.concurrency = jobs.max(1);
    Ok(Arc::new(Runtime::new(config)?))
}
