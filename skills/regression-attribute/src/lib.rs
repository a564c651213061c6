//! `regression-attribute`: for each regression, the commits deployed in the window before it
//! (and a little after, for the uncertainty of the change point), ranked by how much of the
//! regressed function's cost runs through the functions each commit changed (from the granted
//! profiles), discounted by how much of the whole profile runs through them, then by whether the
//! commit names the function or its file; the top three with their scores and reasons.

mod names;
mod timing;

use joule_sdk::prelude::*;
use joule_sdk::units::parse_time;
use joule_sdk::{Commit, FileChange, FindingKind, MetricSet, Repo};

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
        .uses("metrics")
        .parameter(
            "lookback-hours",
            "How far before the regression to look for commits.",
            Some("72"),
        )
        .parameter(
            "after-minutes",
            "How far after the regression's estimated time to still take commits: a change \
             point is placed to within a few points, and a deploy takes a while to land. The \
             window reaches at least the second point of the series after that time.",
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
        // The regressed function, and the correlated ones whose change was as concentrated
        // (`alike`): the cost may have been added in any of them.
        let targets: Vec<Target> = regressed_function(regression)
            .into_iter()
            .chain(alike_functions(regression))
            .map(|raw| Target {
                parts: names::segments(&raw),
            })
            .filter(|t| !t.parts.is_empty())
            .collect();
        let profiles: Vec<Frames> = Profile::granted().into_iter().map(Frames::new).collect();
        let points = regressed_points(regression);
        let mut findings = Vec::new();
        for repo in Repo::granted() {
            let since = at - (lookback * 3600.0) as i64;
            let until = window_end(
                points.as_deref(),
                at,
                (after * 60.0) as i64,
                points_after(regression),
            );
            let commits = repo.commits(since, until, 500)?;
            // Evidence of time: how well a rise at each commit's deploy explains the series
            // around the regression, as far after it as the window reaches before it. Changes
            // further away are other changes (a later rise, an earlier fall): a single rise
            // fitted to the whole series would weigh them, and they are no evidence about
            // this one.
            let deploys: Vec<i64> = commits.iter().map(|c| c.deployed).collect();
            let local = points
                .as_deref()
                .map(|p| timing::around(p, since, at, until));
            let weights = local
                .as_deref()
                .and_then(|p| timing::deploy_weights(p, &deploys));
            let mut ranked = Vec::new();
            for (i, commit) in commits.iter().enumerate() {
                let changes = repo.changes(&commit.id)?;
                let when = weights.as_ref().map(|w| w[i]);
                // A commit is judged by the target it explains best.
                let best = targets
                    .iter()
                    .map(|t| score(commit, &changes, Some(t), &profiles, at, when))
                    .max_by(|a, b| a.score.total_cmp(&b.score));
                ranked.push(
                    best.unwrap_or_else(|| score(commit, &changes, None, &profiles, at, when)),
                );
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

/// The regressed function: the parts of the named function its frame runs in
/// ([`names::segments`]).
struct Target {
    parts: Vec<String>,
}

/// The function a regression is about: its location, a `function` label, or the part of the
/// series name after `self:` / `total:` (the whole of it: `total:f.<locals>.<listcomp>` is
/// about `f`'s comprehension, which [`names::segments`] leads back to `f`).
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

/// Points after the regression's time a deploy may be at and still be taken, at least: a
/// change point in a noisy series can be placed a point or two early (one high point before
/// the step), and where points are hours apart (profiles taken a few times a day) a fixed
/// margin of minutes would leave the deploy out.
const POINTS_EARLY: usize = 2;

/// Points after the regression's time a deploy may be at: [`POINTS_EARLY`], or the detector's
/// `min-segment` label when larger. Two rises closer together than that are placed as one, at
/// the first: a real commit that raised the function a deploy before the culprit takes the
/// culprit's rise into its own, and the culprit is then deployed after the time placed.
fn points_after(f: &Finding) -> usize {
    f.labels
        .iter()
        .find(|(k, _)| k == "min-segment")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .map_or(POINTS_EARLY, |m| m.clamp(POINTS_EARLY, 1_000))
}

/// The end of the window of commits for a regression at `at`: `after` seconds later, or the
/// time of the `points`th point of the series after `at` when that is later.
fn window_end(points: Option<&[(i64, f64)]>, at: i64, after: i64, reach: usize) -> i64 {
    let by_points = points.and_then(|p| {
        let next = p.partition_point(|&(t, _)| t <= at);
        p.get(next + reach.max(1) - 1).or(p.last()).map(|&(t, _)| t)
    });
    (at + after).max(by_points.unwrap_or(i64::MIN))
}

/// The functions of the series the detector found alike the regressed one (its `alike` label:
/// correlated series whose change was as concentrated), each `total:NAME{labels}` as NAME.
fn alike_functions(f: &Finding) -> Vec<String> {
    let Some((_, list)) = f.labels.iter().find(|(k, _)| k == "alike") else {
        return Vec::new();
    };
    // Series are comma-separated, but a name can hold commas too (`Compact<O,N,D>`): each
    // series starts with its `total:` or `self:` prefix.
    let mut series: Vec<String> = Vec::new();
    for piece in list.split(',') {
        match series.last_mut() {
            Some(last) if !piece.starts_with("total:") && !piece.starts_with("self:") => {
                last.push(',');
                last.push_str(piece);
            }
            _ => series.push(piece.to_string()),
        }
    }
    series
        .iter()
        .filter_map(|s| {
            let (_, rest) = s.split_once(':')?;
            // The labels the detector appends: `{function=NAME}` or `{k=v,...}`.
            let name = match rest.rfind("{function=") {
                Some(i) => &rest[..i],
                None => rest.strip_suffix('}').map_or(rest, |r| {
                    r.rfind('{')
                        .filter(|&i| r[i..].contains('='))
                        .map_or(rest, |i| &r[..i])
                }),
            };
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

/// The regressed series' points, from the granted metric set the regression names (or any
/// that has a series of its name and labels).
fn regressed_points(f: &Finding) -> Option<Vec<(i64, f64)>> {
    let series = f.series.as_deref()?;
    let name = series.split('{').next().unwrap_or(series);
    let set_name = f
        .labels
        .iter()
        .find(|(k, _)| k == "metric-set")
        .map(|(_, v)| v.as_str());
    let sets = MetricSet::granted();
    let mut ordered: Vec<&MetricSet> = sets.iter().filter(|s| Some(s.name()) == set_name).collect();
    ordered.extend(sets.iter().filter(|s| Some(s.name()) != set_name));
    for set in ordered {
        let info = set
            .matching(Some(name))
            .into_iter()
            .find(|i| i.name == name && i.labels.iter().all(|l| f.labels.contains(l)));
        if let Some(info) = info {
            let points = set.points(info.id).ok()?;
            return Some(points.into_iter().map(|p| (p.t, p.v)).collect());
        }
    }
    None
}

/// One granted profile with each function's name reduced to the named function it runs in,
/// computed once for every commit's comparisons.
struct Frames {
    profile: Profile,
    /// Function id and reduced name.
    functions: Vec<(u32, Vec<String>)>,
}

impl Frames {
    fn new(profile: Profile) -> Frames {
        let functions = profile
            .find(".")
            .unwrap_or_default()
            .into_iter()
            .map(|f| (f.id, names::segments(&f.name)))
            .collect();
        Frames { profile, functions }
    }

    /// Functions of this profile that are `changed` (a function of the file at `path`), or run
    /// inside it (its closures, lambdas).
    fn ids_of(&self, changed: &str, path: &str) -> Vec<u32> {
        self.functions
            .iter()
            .filter(|(_, parts)| names::identity_at(parts, changed, path) == names::Identity::Same)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Functions of this profile that are the regressed one or run inside it (a series named
    /// by the function's last parts stands for the frames of that name in any module).
    fn ids_of_target(&self, target: &Target) -> Vec<u32> {
        self.functions
            .iter()
            .filter(|(_, parts)| {
                *parts == target.parts
                    || names::identity(parts, &target.parts.join("::")) == names::Identity::Same
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

struct Candidate {
    commit: Commit,
    score: f64,
    through: f64,
    reasons: Vec<String>,
}

/// What a commit's changes say about the regressed function: how it is among the functions
/// changed, and the share of the commit's changed lines in hunks that touch it.
fn identity_in(changes: &[FileChange], target: Option<&Target>) -> (names::Identity, f64) {
    let Some(target) = target else {
        return (names::Identity::None, 0.0);
    };
    let (mut best, mut on, mut all) = (names::Identity::None, 0u64, 0u64);
    for change in changes {
        for hunk in &change.hunks {
            let lines = u64::from(hunk.old_count.max(hunk.new_count).max(1));
            all += lines;
            let here = hunk
                .functions
                .iter()
                .map(|f| names::identity_at(&target.parts, f, &change.path))
                .max()
                .unwrap_or(names::Identity::None);
            if here == names::Identity::Same {
                on += lines;
            }
            best = best.max(here);
        }
    }
    (
        best,
        if all == 0 {
            0.0
        } else {
            on as f64 / all as f64
        },
    )
}

fn score(
    commit: &Commit,
    changes: &[FileChange],
    target: Option<&Target>,
    profiles: &[Frames],
    at: i64,
    when: Option<f64>,
) -> Candidate {
    // Each changed function with the file it is in (which says its module).
    let mut changed: Vec<(String, String)> = Vec::new();
    for change in changes {
        for f in change.hunks.iter().flat_map(|h| &h.functions) {
            if !changed.iter().any(|(n, p)| n == f && *p == change.path) {
                changed.push((f.clone(), change.path.clone()));
            }
        }
    }
    let mut reasons = Vec::new();
    let (identity, concentration) = identity_in(changes, target);
    let exact = identity == names::Identity::Same;
    let name = target.map(|t| t.parts.join(".")).unwrap_or_default();
    // Profile evidence: the share of the regressed function's stacks that also run through a
    // function this commit changed, discounted by how much of the whole profile runs through
    // those functions (a change to `main` is under every stack, which says nothing).
    let (through, spread) = match target {
        Some(t) if !changed.is_empty() => profiles
            .iter()
            .filter_map(|p| share_through(p, t, &changed))
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
    // A change to the function itself is the most direct evidence, however hot the function;
    // one to a function of the same last name in another type or file, much weaker.
    let specific = match identity {
        names::Identity::Same => 1.0_f64.max(through),
        names::Identity::LastPart => (through * (1.0 - spread)).max(0.3),
        names::Identity::None => through * (1.0 - spread),
    };
    if exact {
        reasons.push(format!("changes `{name}` itself"));
    } else if identity == names::Identity::LastPart {
        reasons.push(format!(
            "changes a function named `{}`, but not `{name}`",
            target.map(|t| names::short(&t.parts)).unwrap_or_default()
        ));
    } else if through > 0.0 {
        reasons.push(format!(
            "{:.0}% of the regressed function's samples run through functions it changed ({})",
            through * 100.0,
            listed(&changed)
        ));
        if spread >= 0.25 {
            reasons.push(format!(
                "but {:.0}% of all samples run through them, so that says little",
                spread * 100.0
            ));
        }
    } else if !changed.is_empty() {
        reasons.push(format!("changes {}", listed(&changed)));
    }
    let text = target.is_some_and(|t| names::named_in(&commit.message, &t.parts));
    if text {
        reasons.push("its message names the function".to_string());
    }
    let file_hint = target.is_some_and(|t| {
        let short = names::short(&t.parts);
        changes.iter().any(|c| {
            let base = c.path.rsplit('/').next().unwrap_or(&c.path);
            short.len() >= 4 && base.split('.').next() == Some(short)
        })
    });
    if file_hint {
        reasons.push("it touches a file named after the function".to_string());
    }
    // When: how well a rise at this commit's deploy explains the series, if it was read.
    let timing = when.unwrap_or(1.0);
    if let Some(w) = when {
        if w >= 0.5 {
            reasons.push("the series rose when it was deployed".to_string());
        } else if w < 0.05 {
            reasons.push("the series did not rise when it was deployed".to_string());
        }
    }
    // Nearer the regression is slightly more likely, as a tie-breaker (at most 0.02); a
    // commit deployed after the time placed only when the series says so, with no bonus.
    let recency = if commit.deployed > at {
        0.0
    } else {
        0.02 / (1.0 + (at - commit.deployed) as f64 / 3600.0)
    };
    let evidence = 0.75 * specific
        + 0.1 * f64::from(u8::from(text))
        + 0.03 * f64::from(u8::from(file_hint))
        + 0.05 * concentration;
    let score = evidence * (0.2 + 0.8 * timing) + recency;
    Candidate {
        commit: commit.clone(),
        score,
        through,
        reasons,
    }
}

/// Function names for a message: the first eight, and how many more (a release commit
/// touches hundreds).
fn listed(functions: &[(String, String)]) -> String {
    const SHOWN: usize = 8;
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in functions {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let mut text = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// Of the stacks through the regressed function in `frames`' profile, the share (by value) that
/// also pass through a function named in `changed`, and the share of the whole profile that
/// runs through those functions; `None` when the profile does not have the function.
fn share_through(
    frames: &Frames,
    target: &Target,
    changed: &[(String, String)],
) -> Option<(f64, f64)> {
    let profile = &frames.profile;
    let targets = frames.ids_of_target(target);
    if targets.is_empty() {
        return None;
    }
    let changed_ids: Vec<u32> = changed
        .iter()
        .flat_map(|(name, path)| frames.ids_of(name, path))
        .collect();
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
    if let Some(fingerprint) = regression_fingerprint(regression) {
        f = f.label("fingerprint", fingerprint);
    }
    if let Some(rc) = regression.impact.relative_change {
        f = f.relative_change(rc);
    }
    if let Some(loc) = regression.locations.first() {
        f = f.location(loc.clone());
    }
    f.build()
}

/// What tells this regression apart from others of the same series (a series can rise more than
/// once: a slowdown, then a later commit that moves the same function): its own `fingerprint`
/// label, or else its time. The root cause carries it, so the host keeps one root cause per
/// regression, not one per series (findings of one skill, rule and series are otherwise one).
fn regression_fingerprint(regression: &Finding) -> Option<String> {
    regression
        .labels
        .iter()
        .find(|(k, _)| k == "fingerprint")
        .map(|(_, v)| v.clone())
        .or_else(|| regression.at.clone())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_reaches_the_points_a_change_may_have_been_placed_early_by() {
        // Profiles four hours apart; the change placed at 23:00, the deploy at 06:00.
        let points: Vec<(i64, f64)> = (0..10).map(|i| (i * 14_400, 0.0)).collect();
        let at = 3 * 14_400;
        assert_eq!(window_end(Some(&points), at, 1_800, 2), 5 * 14_400);
        // Two rises within min-segment (here 5 points) are placed as one: five points on.
        assert_eq!(window_end(Some(&points), at, 1_800, 5), 8 * 14_400);
        // Points closer than the margin: the margin.
        let dense: Vec<(i64, f64)> = (0..10).map(|i| (i * 60, 0.0)).collect();
        assert_eq!(window_end(Some(&dense), 180, 1_800, 2), 1_980);
        // At the end of the series, or without it: as far as there are points, or the margin.
        assert_eq!(
            window_end(Some(&points), 9 * 14_400, 1_800, 2),
            9 * 14_400 + 1_800
        );
        assert_eq!(window_end(None, 100, 1_800, 2), 1_900);
    }

    #[test]
    fn the_detectors_min_segment_sets_how_far_past_the_time_a_commit_may_be() {
        let with = |v: &str| {
            Finding::regression("mean-shift")
                .label("min-segment", v)
                .build()
        };
        assert_eq!(points_after(&with("10")), 10);
        assert_eq!(points_after(&with("1")), POINTS_EARLY);
        assert_eq!(points_after(&with("99999999")), 1_000);
        assert_eq!(points_after(&with("ten")), POINTS_EARLY);
        assert_eq!(
            points_after(&Finding::regression("mean-shift").build()),
            POINTS_EARLY
        );
    }

    #[test]
    fn alike_series_name_their_functions() {
        let f = Finding::regression("mean-shift")
            .series("total:BlockParser.parseDocument{function=BlockParser.parseDocument}")
            .label(
                "alike",
                "total:BlockParser.parseChunk{function=BlockParser.parseChunk},\
                 total:<a::Compact<O,N,D> as a::Hook>::finish{function=<a::Compact<O,N,D> as a::Hook>::finish},\
                 self:main.run{host=a,function=main.run}",
            )
            .build();
        assert_eq!(
            alike_functions(&f),
            [
                "BlockParser.parseChunk",
                "<a::Compact<O,N,D> as a::Hook>::finish",
                "main.run",
            ]
        );
        assert!(alike_functions(&Finding::regression("mean-shift").build()).is_empty());
    }

    #[test]
    fn each_regression_of_a_series_keeps_its_own_root_cause() {
        let rise = |at: &str| {
            Finding::regression("mean-shift")
                .series("total:app::parse")
                .at(at)
                .label("fingerprint", at)
                .build()
        };
        let (early, late) = (rise("2025-01-07T19:00:00Z"), rise("2025-01-12T23:00:00Z"));
        assert_eq!(
            regression_fingerprint(&early).as_deref(),
            Some("2025-01-07T19:00:00Z")
        );
        assert_ne!(
            regression_fingerprint(&early),
            regression_fingerprint(&late)
        );
        // Without the label, its time tells them apart.
        let bare = Finding::regression("mean-shift")
            .series("total:app::parse")
            .at("1736229600")
            .build();
        assert_eq!(regression_fingerprint(&bare).as_deref(), Some("1736229600"));
    }
}

export_skill!(RegressionAttribute, id = "regression-attribute");
