//! `regression-attribute`: for each regression, the commits deployed in the window before it
//! (and a little after, for the uncertainty of the change point), ranked by how much of the
//! regressed function's cost runs through the functions each commit changed (from the granted
//! profiles), discounted by how much of the whole profile runs through them, then by whether the
//! commit names the function or its file; the top three with their scores and reasons.

use joule_sdk::prelude::*;
use joule_sdk::units::parse_time;
use joule_sdk::{Commit, FindingKind, Repo};

struct RegressionAttribute;

impl Skill for RegressionAttribute {
    fn describe() -> Descriptor {
        Describe::new(
            "regression-attribute",
            env!("CARGO_PKG_VERSION"),
            "The commits most likely to have caused each regression, ranked by the share of the \
             regressed function's cost that runs through the functions they changed.",
        )
        .on_finding(FindingKind::Regression, None)
        .uses("history")
        .uses("profiles")
        .parameter(
            "lookback-hours",
            "How far before the regression to look for commits.",
            Some("72"),
        )
        .parameter(
            "after-minutes",
            "How far after the regression's estimated time to still take commits: a change \
             point is placed to within a few points, and a deploy takes a while to land.",
            Some("30"),
        )
        .parameter(
            "candidates",
            "How many ranked commits to report.",
            Some("3"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let regression = invocation
            .input
            .as_ref()
            .ok_or("a finding-triggered run must receive its regression")?;
        let at_text = regression.at.clone().unwrap_or_default();
        let Some(at) = parse_time(&at_text) else {
            return Err(format!(
                "the regression's time {at_text:?} is neither Unix seconds nor RFC 3339"
            ));
        };
        let lookback: f64 = invocation.param_or("lookback-hours", 72.0)?;
        let after: f64 = invocation.param_or("after-minutes", 30.0)?;
        let keep: usize = invocation.param_or("candidates", 3)?;
        let target = regressed_function(regression);
        let profiles = Profile::granted();
        let mut findings = Vec::new();
        for repo in Repo::granted() {
            let since = at - (lookback * 3600.0) as i64;
            let until = at + (after * 60.0) as i64;
            let commits = repo.commits(since, until, 500)?;
            let mut ranked = Vec::new();
            for commit in commits {
                let changed = repo.functions_changed(&commit.id)?;
                let files: Vec<String> = repo
                    .changes(&commit.id)?
                    .into_iter()
                    .map(|c| c.path)
                    .collect();
                ranked.push(score(
                    &commit,
                    &changed,
                    &files,
                    target.as_deref(),
                    &profiles,
                    at,
                ));
            }
            ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
            ranked.truncate(keep.max(1));
            if let Some(best) = ranked.first() {
                findings.push(root_cause(regression, &repo, &ranked, best));
            }
        }
        Ok(findings)
    }
}

/// The function a regression is about: its location, a `function` label, or the part of the
/// series name after `self:` / `total:`.
fn regressed_function(f: &Finding) -> Option<String> {
    if let Some(name) = f.locations.first().and_then(|l| l.function.clone()) {
        return Some(name);
    }
    if let Some((_, v)) = f.labels.iter().find(|(k, _)| k == "function") {
        return Some(v.clone());
    }
    let series = f.series.as_deref()?;
    let base = series.split('{').next().unwrap_or(series);
    base.split_once(':').map(|(_, name)| name.to_string())
}

/// The last path segment of a function name (`logscan::parse::parse_line` -> `parse_line`),
/// which is how source definitions name it.
fn short(name: &str) -> &str {
    let name = name.split('<').next().unwrap_or(name);
    name.rsplit("::")
        .next()
        .unwrap_or(name)
        .rsplit('.')
        .next()
        .unwrap_or(name)
}

struct Candidate {
    commit: Commit,
    score: f64,
    through: f64,
    reasons: Vec<String>,
}

fn score(
    commit: &Commit,
    changed: &[String],
    files: &[String],
    target: Option<&str>,
    profiles: &[Profile],
    at: i64,
) -> Candidate {
    let mut reasons = Vec::new();
    let short_target = target.map(short);
    let exact = short_target.is_some_and(|t| changed.iter().any(|f| f == t));
    // Profile evidence: the share of the regressed function's stacks that also run through a
    // function this commit changed, discounted by how much of the whole profile runs through
    // those functions (a change to `main` is under every stack, which says nothing).
    let (through, spread) = match target {
        Some(t) if !changed.is_empty() => profiles
            .iter()
            .filter_map(|p| share_through(p, t, changed))
            .fold((f64::NAN, 0.0), |best, (through, spread)| {
                if best.0.is_nan() || through * (1.0 - spread) > best.0 * (1.0 - best.1) {
                    (through, spread)
                } else {
                    best
                }
            }),
        _ => (f64::NAN, 0.0),
    };
    let through = if through.is_nan() {
        if exact { 1.0 } else { 0.0 }
    } else {
        through
    };
    // A change to the function itself is the most direct evidence, however hot the function.
    let specific = if exact {
        through
    } else {
        through * (1.0 - spread)
    };
    if exact {
        reasons.push(format!(
            "changes `{}` itself",
            short_target.unwrap_or_default()
        ));
    } else if through > 0.0 {
        reasons.push(format!(
            "{:.0}% of the regressed function's samples run through functions it changed ({})",
            through * 100.0,
            changed.join(", ")
        ));
        if spread >= 0.25 {
            reasons.push(format!(
                "but {:.0}% of all samples run through them, so that says little",
                spread * 100.0
            ));
        }
    } else if !changed.is_empty() {
        reasons.push(format!("changes {}", changed.join(", ")));
    }
    let text = short_target.is_some_and(|t| commit.message.contains(t));
    if text {
        reasons.push("its message names the function".to_string());
    }
    let file_hint = short_target.is_some_and(|t| {
        files
            .iter()
            .any(|f| f.rsplit('/').next().is_some_and(|base| base.contains(t)))
    });
    if file_hint {
        reasons.push("it touches a file named after the function".to_string());
    }
    // Nearer the regression is slightly more likely, as a tie-breaker (at most 0.05).
    let age_hours = (at - commit.deployed).max(0) as f64 / 3600.0;
    let recency = 0.05 / (1.0 + age_hours);
    let score = 0.75 * specific
        + 0.15 * f64::from(u8::from(text))
        + 0.05 * f64::from(u8::from(file_hint))
        + recency;
    Candidate {
        commit: commit.clone(),
        score,
        through,
        reasons,
    }
}

/// Of the stacks through `target` in `profile`, the share (by value) that also pass through a
/// function named in `changed`, and the share of the whole profile that runs through those
/// functions; `None` when the profile does not have `target`.
fn share_through(profile: &Profile, target: &str, changed: &[String]) -> Option<(f64, f64)> {
    let t = short(target);
    let ids = |name: &str| -> Vec<u32> {
        profile
            .find(&format!(r"(^|[:.]){}$", regex_escape(name)))
            .map(|fs| fs.into_iter().map(|f| f.id).collect())
            .unwrap_or_default()
    };
    let targets = ids(t);
    if targets.is_empty() {
        return None;
    }
    let changed_ids: Vec<u32> = changed.iter().flat_map(|c| ids(c)).collect();
    let column = profile.metadata().default_sample_type as usize;
    let (mut all, mut through) = (0i64, 0i64);
    for stack in profile.stacks(&targets).ok()? {
        let value = stack.values.get(column).copied().unwrap_or(0);
        all += value;
        if stack
            .frames
            .iter()
            .any(|f| changed_ids.contains(&f.function))
        {
            through += value;
        }
    }
    let spread = profile.share(profile.total_of(&changed_ids).unwrap_or(0));
    (all > 0).then(|| (through as f64 / all as f64, spread))
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn root_cause(
    regression: &Finding,
    repo: &Repo,
    ranked: &[Candidate],
    best: &Candidate,
) -> Finding {
    let series = regression.series.clone().unwrap_or_default();
    let short_id: String = best.commit.id.chars().take(12).collect();
    let mut message = format!(
        "Commits deployed before the regression of `{series}` at {}, most likely first:\n\n",
        regression.at.clone().unwrap_or_default()
    );
    for (i, c) in ranked.iter().enumerate() {
        message.push_str(&format!(
            "{}. `{}` {} (score {:.2}): {}\n",
            i + 1,
            c.commit.id.chars().take(12).collect::<String>(),
            c.commit.summary,
            c.score,
            if c.reasons.is_empty() {
                "deployed in the window".to_string()
            } else {
                c.reasons.join("; ")
            }
        ));
    }
    let candidates: Vec<String> = ranked
        .iter()
        .map(|c| format!("{}:{:.3}", c.commit.id, c.score))
        .collect();
    let mut f = Finding::of_kind(FindingKind::RootCause, "commit-attribution")
        .title(format!(
            "{short_id} \"{}\" most likely caused the regression of {series}",
            best.commit.summary
        ))
        .message(message)
        .series(series)
        .at(best.commit.id.clone())
        .confidence(best.score.clamp(0.0, 1.0))
        .evidence("score", best.score, "")
        .evidence("share-through-changed-functions", best.through, "")
        .label("repo", repo.name())
        .label("commit", best.commit.id.clone())
        .label("candidates", candidates.join(","));
    if let Some(rc) = regression.impact.relative_change {
        f = f.relative_change(rc);
    }
    if let Some(loc) = regression.locations.first() {
        f = f.location(loc.clone());
    }
    f.build()
}

export_skill!(RegressionAttribute, id = "regression-attribute");
