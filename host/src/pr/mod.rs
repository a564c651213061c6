//! `joule pr`: each finding that carries edits (an opportunity's patch, a mitigation's revert)
//! prepared as a pull request in the operator's repository: a branch and commit of its own,
//! built in a separate worktree, verified by the repository's own build and tests (and timed
//! by its benchmark) before it is proposed; a description, a `format-patch` mail and a JSON
//! index beside it. A finding that cannot be prepared says why; the others go on.

pub mod git;
mod message;
pub mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use git2::Repository;
use serde::Serialize;

use crate::findings::{Finding, Kind};
use crate::report::Report;
use crate::untrusted::Untrusted;

/// What the operator asked for.
#[derive(Clone, Debug)]
pub struct Options {
    /// The repository the changes are proposed to.
    pub repo: PathBuf,
    /// Where descriptions, mails and the index go (and the worktrees while they last); the
    /// repository's git directory's `joule-pr/` when `None`. Never inside the checkout.
    pub out: Option<PathBuf>,
    /// Must pass on the patched tree (`sh -c`, at the repository's root).
    pub verify: Option<String>,
    /// Timed before and after the change.
    pub bench: Option<String>,
    pub bench_runs: usize,
    /// For each command run.
    pub timeout: Duration,
    /// Push each proposed branch here.
    pub push: Option<String>,
    /// Only these findings (ids or their prefixes); all with edits when empty.
    pub only: Vec<String>,
}

/// What became of one finding.
#[derive(Debug, Serialize)]
pub struct Prepared {
    pub finding: String,
    pub skill: String,
    pub kind: &'static str,
    pub rule: String,
    pub title: String,
    /// `proposed` (a verified branch), or `rejected` (with the reason).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub subject: String,
    pub files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<verify::Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bench: Option<verify::Bench>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mbox: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed: Option<String>,
}

/// The reason given for the change that was in progress when `joule pr` was interrupted.
pub const INTERRUPTED: &str = "interrupted (SIGINT, SIGTERM or SIGHUP): its commands were killed, its worktree and branch removed";

/// Whether `id` is a finding id as the host writes them (16 hex digits): it names files and
/// directories under OUT, so nothing else is taken from a report.
fn valid_finding_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The patch a finding carries, with paths from the repository's root, or why none applies.
///
/// A mitigation's revert is computed here, by the host, from the commit the finding names (the
/// skill's own text of it is not applied); an opportunity's patch was made by the host from the
/// skill's edits, and may only touch the files the finding locates, in its one source tree.
fn patch_of(finding: &Finding, report: &Report, workdir: &Path) -> Option<Result<String, String>> {
    if finding.kind == Kind::Mitigation {
        finding.labels.get(&Untrusted::from("revert-patch"))?;
        let Some(commit) = finding
            .labels
            .get(&Untrusted::from("commit"))
            .or(finding.at.as_ref())
            .map(|c| c.raw().to_string())
        else {
            return Some(Err("the mitigation names no commit to revert".to_string()));
        };
        let history = match crate::history::History::open("pr".to_string(), workdir, None) {
            Ok(h) => h,
            Err(e) => return Some(Err(format!("{e:#}"))),
        };
        return Some(
            history
                .revert(&commit, &|_| true)
                .map(|p| message::with_git_headers(&p))
                .map_err(|e| format!("no clean revert of {commit} on HEAD: {e}")),
        );
    }
    let patch = finding.patch.as_ref()?.raw();
    // An edit's paths are from its source tree's root: where that tree sits in the repository.
    let tree = finding
        .locations
        .iter()
        .find_map(|l| l.tree.as_ref())
        .map(|t| t.raw().to_string());
    if let Some(other) = finding
        .edits
        .iter()
        .filter_map(|e| e.tree.as_ref())
        .find(|t| Some(t.raw()) != tree.as_deref())
    {
        return Some(Err(format!(
            "the edits are in the source tree `{}`, not the finding's own: prepare it by hand",
            other.terminal()
        )));
    }
    let located: Vec<&str> = finding
        .locations
        .iter()
        .filter_map(|l| l.file.as_ref().map(Untrusted::raw))
        .collect();
    if let Some(stray) = message::files_of(patch)
        .into_iter()
        .find(|f| !located.contains(&f.as_str()))
    {
        return Some(Err(format!(
            "the patch changes {stray}, which the finding does not locate (a change a reviewer would not expect, and that --verify would run): prepare it by hand"
        )));
    }
    let tree_dir = tree.as_ref().and_then(|name| {
        report
            .inputs
            .sources
            .iter()
            .find(|s| &s.name == name)
            .map(|s| PathBuf::from(&s.path))
    });
    let prefix = match tree_dir {
        None => PathBuf::new(),
        Some(dir) => {
            let (Ok(dir), Ok(root)) = (std::fs::canonicalize(&dir), std::fs::canonicalize(workdir))
            else {
                return Some(Err(format!(
                    "the finding's source tree `{}` ({}) cannot be found from here: run `joule pr` where `joule run` ran",
                    tree.unwrap_or_default(),
                    dir.display()
                )));
            };
            match dir.strip_prefix(&root) {
                Ok(p) => p.to_path_buf(),
                Err(_) => {
                    return Some(Err(format!(
                        "the finding's source tree {} is not inside the repository {}",
                        dir.display(),
                        root.display()
                    )));
                }
            }
        }
    };
    Some(Ok(message::with_git_headers(&message::under(
        patch,
        &prefix.to_string_lossy(),
    ))))
}

/// Prepares a pull request for each finding of `report` that carries edits; returns where they
/// were written, and what became of each. Once interrupted (`verify::catch_interrupts`), the
/// change in progress is rejected and removed, no other is started, and the index holds those
/// prepared until then.
pub fn prepare(report: &Report, options: &Options) -> anyhow::Result<(PathBuf, Vec<Prepared>)> {
    let repo = Repository::open(&options.repo)
        .with_context(|| format!("{}: not a git repository", options.repo.display()))?;
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        anyhow::bail!(
            "{}: a bare repository; give the checkout the changes are for",
            options.repo.display()
        );
    };
    let base = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .with_context(|| format!("{}: no commit at HEAD", options.repo.display()))?
        .id();
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| repo.path().join("joule-pr"));
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    let out = std::fs::canonicalize(&out)?;
    let checkout = std::fs::canonicalize(&workdir)?;
    let git_dir = std::fs::canonicalize(repo.path())?;
    if out.starts_with(&checkout) && !out.starts_with(&git_dir) {
        anyhow::bail!(
            "--out {}: inside the checkout, which `joule pr` leaves alone; give a directory outside it (the default is {})",
            out.display(),
            git_dir.join("joule-pr").display()
        );
    }
    // The unpatched tree the benchmark is timed on first: one worktree for every finding.
    let mut baseline: Option<git::Workspace> = None;
    let mut prepared = Vec::new();
    for finding in &report.findings {
        // Interrupted (see `verify::catch_interrupts`): no other change is started.
        if verify::interrupted() {
            break;
        }
        if !options.only.is_empty() && !options.only.iter().any(|p| finding.id.starts_with(p)) {
            continue;
        }
        if !valid_finding_id(&finding.id) || crate::engine::valid_id(&finding.skill).is_err() {
            continue;
        }
        let Some(patch) = patch_of(finding, report, &workdir) else {
            continue;
        };
        let subject = message::subject(finding);
        let mut entry = Prepared {
            finding: finding.id.clone(),
            skill: finding.skill.clone(),
            kind: finding.kind.name(),
            rule: finding.rule.terminal(),
            title: finding.title.terminal(),
            status: "rejected",
            reason: None,
            branch: None,
            commit: None,
            subject,
            files: Vec::new(),
            verify: None,
            bench: None,
            description: None,
            mbox: None,
            pushed: None,
        };
        let result = (|| -> Result<(), String> {
            let patch = patch?;
            let branch = git::branch_name(finding.rule.raw(), &finding.id);
            let dir = out.join("worktrees").join(&finding.id);
            let mut space =
                git::Workspace::create(&repo, base, &branch, &dir).map_err(|e| format!("{e:#}"))?;
            entry.files = match space.apply(&patch) {
                Ok(files) => files,
                Err(e) => {
                    let files = message::files_of(&patch);
                    let dirty = git::dirty(&repo, &files);
                    return Err(if dirty.is_empty() {
                        format!("the patch does not apply on HEAD ({base}): {e}")
                    } else {
                        format!(
                            "the patch does not apply on HEAD ({base}): {e}; the working tree has uncommitted changes to {} (the finding may have been made on them: commit them first)",
                            dirty.join(", ")
                        )
                    });
                }
            };
            if let Some(command) = &options.verify {
                let outcome = verify::run(command, &space.path, options.timeout);
                let passed = outcome.passed();
                let reason = format!("{}:\n{}", outcome.summary(), outcome.tail);
                entry.verify = Some(outcome);
                if !passed {
                    return Err(reason);
                }
            }
            if let Some(command) = &options.bench {
                if baseline.is_none() {
                    let dir = out.join("worktrees").join("baseline");
                    let name = format!("joule/baseline/{}", &base.to_string()[..8]);
                    // Only ever the base commit, and only for this run.
                    git::delete_branch(&repo, &name);
                    baseline = Some(
                        git::Workspace::create(&repo, base, &name, &dir)
                            .map_err(|e| format!("the unpatched tree for --bench: {e:#}"))?,
                    );
                }
                let before = &baseline
                    .as_ref()
                    .map(|b| b.path.clone())
                    .unwrap_or_default();
                match verify::bench(
                    command,
                    before,
                    &space.path,
                    options.bench_runs,
                    options.timeout,
                ) {
                    Ok(b) => entry.bench = Some(b),
                    Err(failed) => {
                        return Err(format!(
                            "the benchmark failed: {}:\n{}",
                            failed.summary(),
                            failed.tail
                        ));
                    }
                }
            }
            // A signal after the commands passed (or with none to run): not proposed either.
            if verify::interrupted() {
                return Err(String::new());
            }
            let text = message::commit(finding, report, &entry);
            let commit = space
                .commit(&text)
                .map_err(|e| format!("cannot commit: {e:#}"))?;
            let mail = space.format_patch(commit).map_err(|e| format!("{e:#}"))?;
            let here = out.join(&finding.id);
            std::fs::create_dir_all(&here).map_err(|e| format!("{}: {e}", here.display()))?;
            entry.branch = Some(branch.clone());
            entry.commit = Some(commit.to_string());
            let description = here.join("description.md");
            let mbox = here.join(format!("{}.patch", &finding.id));
            std::fs::write(&mbox, &mail).map_err(|e| format!("{}: {e}", mbox.display()))?;
            let text = message::description(finding, report, &entry, &patch);
            std::fs::write(&description, text)
                .map_err(|e| format!("{}: {e}", description.display()))?;
            entry.description = Some(description.display().to_string());
            entry.mbox = Some(mbox.display().to_string());
            // Proposed: the branch stays, and only now leaves the machine.
            space.keep();
            entry.status = "proposed";
            if let Some(remote) = &options.push {
                entry.pushed = Some(match git::push(&repo, remote, &branch) {
                    Ok(()) => format!("pushed to {remote}"),
                    Err(e) => format!("{e:#}"),
                });
            }
            Ok(())
        })();
        // Dropped by now, with the closure: a rejected change's worktree and branch are gone.
        if let Err(reason) = result {
            // Interrupted: said first, with what had happened (a command killed by it, or a
            // failure before it) after.
            entry.reason = Some(match (verify::interrupted(), reason.is_empty()) {
                (false, _) => reason,
                (true, true) => INTERRUPTED.to_string(),
                (true, false) => format!("{INTERRUPTED}; {reason}"),
            });
            entry.status = "rejected";
            entry.branch = None;
            entry.commit = None;
        }
        prepared.push(entry);
    }
    drop(baseline);
    let index = out.join("index.json");
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &prepared {
        *by_status.entry(p.status).or_default() += 1;
    }
    let json = serde_json::json!({
        "repository": workdir.display().to_string(),
        "base": base.to_string(),
        "counts": by_status,
        "pull_requests": prepared,
    });
    std::fs::write(&index, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("{}: cannot write", index.display()))?;
    Ok((out, prepared))
}
