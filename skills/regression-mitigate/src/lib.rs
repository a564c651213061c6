//! `regression-mitigate`: for each root cause, a patch that reverts the suspect commit on the
//! current HEAD (computed by the host with a three-way revert, so `git apply --check` accepts
//! it), or a clear statement of why it does not revert cleanly.

use joule_sdk::prelude::*;
use joule_sdk::{FindingKind, Repo};

struct RegressionMitigate;

impl Skill for RegressionMitigate {
    fn describe() -> Descriptor {
        Describe::new(
            "regression-mitigate",
            env!("CARGO_PKG_VERSION"),
            "A revert of each regression's most likely cause that applies on the current head, or \
             why it cannot be reverted cleanly.",
        )
        .on_finding(FindingKind::RootCause, Some("commit-attribution"))
        .uses("history")
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let cause = invocation
            .input
            .as_ref()
            .ok_or("a finding-triggered run must receive its root cause")?;
        let label = |key: &str| {
            cause
                .labels
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let commit = label("commit").ok_or("the root cause names no commit")?;
        let repo_name = label("repo").unwrap_or_default();
        let repos = Repo::granted();
        let repo = repos
            .iter()
            .find(|r| r.name() == repo_name)
            .or(repos.first())
            .ok_or("no repository is granted")?;
        let summary = repo.commit(&commit)?.summary;
        let short: String = commit.chars().take(12).collect();
        let series = cause.series.clone().unwrap_or_default();
        let head = repo.head()?;
        // One mitigation per root cause: a series that regressed twice has two, told apart by
        // the regression's fingerprint, which the root cause carries.
        let fingerprint = label("fingerprint");
        let finding = match repo.revert(&commit) {
            Ok(patch) => Finding::of_kind(FindingKind::Mitigation, "revert")
                .title(format!(
                    "Revert {short} \"{summary}\" to undo the regression of {series}"
                ))
                .message(format!(
                    "This patch undoes {short} on the current head ({}); `git apply --check` \
                     accepts it there. Review it, run the benchmarks, and ship it or fix \
                     forward.\n\n```diff\n{patch}```\n",
                    head.chars().take(12).collect::<String>()
                ))
                .series(series)
                .at(commit.clone())
                .confidence(cause.confidence)
                .label("repo", repo.name())
                .label("commit", commit.clone())
                .label("head", head)
                .label("revert-patch", patch),
            Err(e) => Finding::of_kind(FindingKind::Mitigation, "revert-blocked")
                .title(format!("{short} \"{summary}\" cannot be reverted cleanly"))
                .message(format!(
                    "No clean revert of {short} on the current head: {}. Revert it by hand, \
                     resolving the conflicts, or fix the regression forward.",
                    e.message
                ))
                .series(series)
                .at(commit.clone())
                .confidence(cause.confidence * 0.5)
                .label("repo", repo.name())
                .label("commit", commit.clone())
                .label("head", head)
                .label("reason", e.message),
        };
        let finding = match fingerprint {
            Some(fingerprint) => finding.label("fingerprint", fingerprint),
            None => finding,
        };
        Ok(vec![finding.build()])
    }
}

export_skill!(RegressionMitigate, id = "regression-mitigate");
