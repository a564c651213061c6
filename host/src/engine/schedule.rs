//! Running many skills: concurrently on tokio's blocking pool (at most `jobs` at once), first the
//! `scan` skills, then, round by round, the skills triggered by the findings of the round before,
//! up to a bounded depth. A failed invocation is recorded and never stops the others.
//!
//! Composition multiplies work, so the run as a whole is bounded too ([`RunLimits`]): a skill
//! runs at most once per upstream finding (however many of its triggers match it, and however
//! many invocations returned that finding), and invocations, findings and their bytes have run
//! totals. What would pass one is not run or not kept (findings: the lowest-ranked), and the
//! skills it belonged to get a record saying how much was left out, which limit, and the flag
//! that raises it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use joule_policy::{RunLimits, SkillGrants};
use tokio::sync::Semaphore;

use super::invoke::{Outcome, Until};
use super::{LoadedSkill, Runtime, Trigger};
use crate::audit::AuditLog;
use crate::caps::bindings::joule::skill::types as wit;
use crate::findings::Finding;
use crate::inputs::Inputs;
use crate::report::{RunRecord, RunStatus};

/// The parameter `--since` sets in every skill that declares it.
pub const SINCE: &str = "since";

/// What to run, on what, with which parameters.
pub struct Plan {
    pub skills: Vec<Arc<LoadedSkill>>,
    /// Scan with this skill alone (`joule mcp`'s skill tools); the skills its findings trigger
    /// still run. `None`: every skill that scans.
    pub entry: Option<String>,
    /// Per skill id: what its policy grants, and the inputs those grants let through.
    pub access: HashMap<String, (Arc<SkillGrants>, Arc<Inputs>)>,
    /// Where every host call is recorded, when the operator asked for it.
    pub audit: Option<Arc<AuditLog>>,
    /// Operator-given parameter values: skill id -> name -> value.
    pub parameters: HashMap<String, BTreeMap<String, String>>,
    /// What a scan covers (`--since`): the value of every skill's `since` parameter that the
    /// operator did not set for that skill alone.
    pub since: Option<String>,
    /// Invocations at once.
    pub jobs: usize,
    /// Rounds of finding-triggered skills after the scan round.
    pub max_depth: usize,
    /// What the whole run may do.
    pub budget: RunLimits,
    /// When the run must end (its start plus `budget.deadline`): no invocation starts after
    /// it, and those running are stopped at it.
    pub ends: Instant,
    /// Who is watching the run: its cancellation, and where its progress goes.
    pub watch: Watch,
}

/// What the caller of a run can do while it goes: cancel it (no invocation starts after, and
/// those running stop within an epoch check), and hear how far it got.
#[derive(Clone, Default)]
pub struct Watch {
    pub cancel: tokio_util::sync::CancellationToken,
    pub progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
}

/// How far a run got: invocations finished out of those admitted so far (later rounds add to
/// `total` as findings trigger skills), and which one just finished.
#[derive(Clone, Debug)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub message: String,
}

impl Plan {
    /// Checks that every operator-given parameter names a loaded skill and a parameter it
    /// declares.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (skill_id, values) in &self.parameters {
            let Some(skill) = self.skills.iter().find(|s| &s.descriptor.id == skill_id) else {
                let known: Vec<_> = self
                    .skills
                    .iter()
                    .map(|s| s.descriptor.id.as_str())
                    .collect();
                anyhow::bail!(
                    "--param {skill_id}.…: no loaded skill has id `{skill_id}` (loaded: {})",
                    known.join(", ")
                );
            };
            for name in values.keys() {
                if !skill.descriptor.parameters.iter().any(|p| p.name == *name) {
                    // The skill's names, into an error the terminal shows.
                    let declared: Vec<String> = skill
                        .descriptor
                        .parameters
                        .iter()
                        .map(|p| p.name.terminal())
                        .collect();
                    anyhow::bail!(
                        "--param {skill_id}.{name}: `{skill_id}` has no parameter `{name}` (it declares: {})",
                        if declared.is_empty() {
                            "none".to_string()
                        } else {
                            declared.join(", ")
                        }
                    );
                }
            }
        }
        Ok(())
    }

    /// Every declared parameter with the operator's value (for the skill, else `--since` for a
    /// `since` parameter) or its default.
    fn parameters_for(&self, skill: &LoadedSkill) -> Vec<(String, String)> {
        let given = self.parameters.get(&skill.descriptor.id);
        skill
            .descriptor
            .parameters
            .iter()
            .filter_map(|p| {
                let value = given
                    .and_then(|g| g.get(p.name.raw()).cloned())
                    .or_else(|| {
                        (p.name.raw() == SINCE)
                            .then(|| self.since.clone())
                            .flatten()
                    })
                    .or_else(|| p.default.as_ref().map(|d| d.raw().to_string()))?;
                Some((p.name.raw().to_string(), value))
            })
            .collect()
    }
}

struct Job {
    skill: Arc<LoadedSkill>,
    trigger: Trigger,
    input: Option<Finding>,
}

/// How much of the run's budget is spent, and what was left out past it, per skill.
#[derive(Default)]
struct Spent {
    invocations: usize,
    findings: usize,
    findings_bytes: usize,
    /// Skill id -> invocations not run.
    not_run: BTreeMap<String, usize>,
    /// Skill id -> findings not kept.
    not_kept: BTreeMap<String, usize>,
    /// Skill id -> invocations not started: the run's deadline had come.
    too_late: BTreeMap<String, usize>,
    /// Skill id -> invocations not started: the run was cancelled.
    cancelled: BTreeMap<String, usize>,
}

/// Why an admitted invocation did not start.
enum NotStarted {
    TooLate,
    Cancelled,
}

impl Spent {
    /// The jobs of a round the invocation budget still allows, shared fairly between skills
    /// when it cannot take them all (so one skill's flood does not crowd out another's few);
    /// the rest are counted as not run.
    fn admit(&mut self, jobs: Vec<Job>, budget: &RunLimits) -> Vec<Job> {
        let room = budget.invocations.saturating_sub(self.invocations);
        let admitted = if jobs.len() <= room {
            jobs
        } else {
            let (kept, left) = fair_share(jobs, room, |j: &Job| j.skill.descriptor.id.clone());
            for job in left {
                *self
                    .not_run
                    .entry(job.skill.descriptor.id.clone())
                    .or_default() += 1;
            }
            kept
        };
        self.invocations += admitted.len();
        admitted
    }

    /// The findings of a round the findings budget still allows, shared fairly between skills
    /// as invocations are, each skill keeping its highest-ranked; the rest are counted as not
    /// kept.
    fn keep_round(&mut self, mut found: Vec<Finding>, budget: &RunLimits) -> Vec<Finding> {
        let room = budget.findings.saturating_sub(self.findings);
        let bytes: usize = found.iter().map(Finding::text_bytes).sum();
        if found.len() > room || self.findings_bytes + bytes > budget.findings_bytes {
            // Past a limit, the best go first (a stable sort: a deterministic order).
            found.sort_by(crate::findings::rank_order);
        }
        let found = if found.len() <= room {
            found
        } else {
            let (kept, left) = fair_share(found, room, |f: &Finding| f.skill.clone());
            for f in left {
                *self.not_kept.entry(f.skill).or_default() += 1;
            }
            kept
        };
        found.into_iter().filter(|f| self.keep(f, budget)).collect()
    }

    /// Whether a finding still fits the run's findings budget (and takes its room if so).
    fn keep(&mut self, finding: &Finding, budget: &RunLimits) -> bool {
        let bytes = finding.text_bytes();
        if self.findings < budget.findings && self.findings_bytes + bytes <= budget.findings_bytes {
            self.findings += 1;
            self.findings_bytes += bytes;
            return true;
        }
        *self.not_kept.entry(finding.skill.clone()).or_default() += 1;
        false
    }

    /// A record for each skill that lost invocations (failed: they did not run) or findings
    /// (ok, with the count dropped) to the budget.
    fn records(self, plan: &Plan) -> Vec<RunRecord> {
        let budget = &plan.budget;
        // (skill, failed, what was left out, findings dropped)
        let mut records = Vec::new();
        for (skill, n) in self.not_run {
            records.push((
                skill,
                true,
                format!(
                    "{n} invocation(s) on upstream findings were not run: the run's budget of {} invocations was reached (raise it with --max-invocations)",
                    budget.invocations
                ),
                0,
            ));
        }
        for (skill, n) in self.too_late {
            records.push((
                skill,
                true,
                format!(
                    "{n} invocation(s) were not run: the run's deadline of {:.1} s had come (raise it with --run-timeout)",
                    budget.deadline.as_secs_f64()
                ),
                0,
            ));
        }
        for (skill, n) in self.cancelled {
            records.push((
                skill,
                true,
                format!("{n} invocation(s) were not run: the run was cancelled"),
                0,
            ));
        }
        for (skill, n) in self.not_kept {
            records.push((
                skill,
                false,
                format!(
                    "findings limit reached: {n} finding(s), the lowest-ranked, were not kept: the run's budget of {} findings or {} MiB of findings was reached (raise it with --max-findings or --max-findings-mib)",
                    budget.findings,
                    budget.findings_bytes >> 20
                ),
                n,
            ));
        }
        records
            .into_iter()
            .map(|(skill, failed, why, dropped)| {
                let loaded = plan.skills.iter().find(|s| s.descriptor.id == skill);
                RunRecord {
                    version: loaded
                        .map(|s| s.descriptor.version.clone())
                        .unwrap_or_default(),
                    digest: loaded.map(|s| s.digest.clone()).unwrap_or_default(),
                    findings_dropped: dropped,
                    warning: (!failed).then(|| why.clone()),
                    ..RunRecord::by_host(skill, "budget", failed.then(|| why.into()))
                }
            })
            .collect()
    }
}

/// Runs the plan and returns every run record and every finding (not yet ranked), in a
/// deterministic order: by round, then by skill order, then by input finding.
pub async fn run(runtime: Arc<Runtime>, plan: Plan) -> (Vec<RunRecord>, Vec<Finding>) {
    let plan = Arc::new(plan);
    let permits = Arc::new(Semaphore::new(plan.jobs.max(1)));
    let mut records = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut spent = Spent::default();
    // (skill id, upstream finding id) already invoked: one invocation per pair.
    let mut invoked: HashSet<(String, String)> = HashSet::new();

    let mut jobs: Vec<Job> = plan
        .skills
        .iter()
        .filter(|s| s.descriptor.triggers.contains(&Trigger::Scan))
        .filter(|s| plan.entry.as_ref().is_none_or(|e| *e == s.descriptor.id))
        .map(|s| Job {
            skill: s.clone(),
            trigger: Trigger::Scan,
            input: None,
        })
        .collect();

    let done = Arc::new(std::sync::Mutex::new(0usize));
    let mut total = 0;
    for round in 0..=plan.max_depth {
        let admitted = spent.admit(std::mem::take(&mut jobs), &plan.budget);
        if admitted.is_empty() {
            break;
        }
        total += admitted.len();
        if let Some(progress) = &plan.watch.progress {
            // A round's start is news too: a watcher hears of the run before anything ends.
            let done = done.lock().unwrap_or_else(|e| e.into_inner());
            progress(Progress {
                done: *done,
                total,
                message: format!("{} invocations started", admitted.len()),
            });
        }
        let mut handles = Vec::with_capacity(admitted.len());
        for job in admitted {
            let runtime = runtime.clone();
            let plan = plan.clone();
            let permits = permits.clone();
            let done = done.clone();
            handles.push(tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                if plan.watch.cancel.is_cancelled() {
                    return (job, Err(NotStarted::Cancelled));
                }
                if Instant::now() >= plan.ends {
                    return (job, Err(NotStarted::TooLate));
                }
                let invocation = wit::Invocation {
                    trigger: job.trigger.to_wit(),
                    parameters: plan.parameters_for(&job.skill),
                    input: job.input.as_ref().map(crate::caps::types::finding_to_wit),
                };
                let skill = job.skill.clone();
                let access = plan.access.get(&skill.descriptor.id).cloned();
                let audit = plan.audit.clone();
                let until = Until {
                    ends: Some(plan.ends),
                    cancel: Some(plan.watch.cancel.clone()),
                };
                let outcome = tokio::task::spawn_blocking(move || match access {
                    Some((grants, inputs)) => runtime.invoke(
                        &skill,
                        inputs,
                        grants,
                        &invocation,
                        audit.as_deref(),
                        &until,
                    ),
                    None => Outcome::failed(
                        "the skill has no grants in this run (a host bug)".to_string(),
                        Default::default(),
                    ),
                })
                .await;
                if let Some(progress) = &plan.watch.progress {
                    // Counted and told under one lock: what the watcher hears only goes up.
                    let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
                    *done += 1;
                    progress(Progress {
                        done: *done,
                        total,
                        message: format!("{} finished", job.skill.descriptor.id),
                    });
                }
                (job, Ok(outcome))
            }));
        }
        let mut new_findings = Vec::new();
        for handle in handles {
            let Ok((job, outcome)) = handle.await else {
                continue;
            };
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(why) => {
                    let counts = match why {
                        NotStarted::TooLate => &mut spent.too_late,
                        NotStarted::Cancelled => &mut spent.cancelled,
                    };
                    *counts.entry(job.skill.descriptor.id.clone()).or_default() += 1;
                    continue;
                }
            };
            let outcome = outcome.unwrap_or_else(|e| {
                Outcome::failed(
                    format!("the host thread running the skill failed: {e}"),
                    Default::default(),
                )
            });
            let (record, produced) = record(&job, outcome);
            records.push(record);
            new_findings.extend(produced);
        }
        let new_findings = spent.keep_round(new_findings, &plan.budget);
        if round < plan.max_depth {
            for finding in &new_findings {
                for skill in &plan.skills {
                    // The first of the skill's triggers that matches; a skill runs once per
                    // finding whatever else matches, and once per finding id however many
                    // invocations returned it.
                    let Some(trigger) = skill
                        .descriptor
                        .triggers
                        .iter()
                        .find(|t| matches(t, finding))
                    else {
                        continue;
                    };
                    if invoked.insert((skill.descriptor.id.clone(), finding.id.clone())) {
                        jobs.push(Job {
                            skill: skill.clone(),
                            trigger: trigger.clone(),
                            input: Some(finding.clone()),
                        });
                    }
                }
            }
        }
        findings.extend(new_findings);
    }
    records.extend(spent.records(&plan));
    (records, findings)
}

/// Splits `items` into at most `room` kept and the rest, sharing the room fairly between the
/// groups `group` names: every group gets as much as the smallest share it needs, the room left
/// is shared again among the others (water-filling), and each group keeps its first items. The
/// kept items stay in their order.
fn fair_share<T, K: Ord + Clone>(
    items: Vec<T>,
    room: usize,
    group: impl Fn(&T) -> K,
) -> (Vec<T>, Vec<T>) {
    let mut counts: BTreeMap<K, usize> = BTreeMap::new();
    for item in &items {
        *counts.entry(group(item)).or_default() += 1;
    }
    let mut by_need: Vec<(K, usize)> = counts.into_iter().collect();
    by_need.sort_by_key(|(_, n)| *n);
    let mut allowed: BTreeMap<K, usize> = BTreeMap::new();
    let mut left = room;
    let groups = by_need.len();
    for (i, (key, need)) in by_need.into_iter().enumerate() {
        let share = left / (groups - i);
        let take = need.min(share);
        left -= take;
        allowed.insert(key, take);
    }
    let (mut kept, mut rest) = (Vec::new(), Vec::new());
    for item in items {
        let slot = allowed.get_mut(&group(&item)).expect("counted above");
        if *slot > 0 {
            *slot -= 1;
            kept.push(item);
        } else {
            rest.push(item);
        }
    }
    (kept, rest)
}

fn matches(trigger: &Trigger, finding: &Finding) -> bool {
    match trigger {
        Trigger::Scan => false,
        Trigger::Finding { kind, rule } => {
            *kind == finding.kind && rule.as_ref().is_none_or(|r| *r == finding.rule)
        }
    }
}

fn record(job: &Job, outcome: Outcome) -> (RunRecord, Vec<Finding>) {
    let skill = &job.skill;
    let (status, error, produced) = match outcome.result {
        Ok(found) => (
            RunStatus::Ok,
            None,
            found
                .into_iter()
                .map(|f| crate::caps::types::finding_from_wit(&skill.descriptor.id, f))
                .collect::<Vec<_>>(),
        ),
        // A failed run keeps what it reported before it failed (`findings.report`).
        Err(failure) => (
            RunStatus::Failed,
            Some(failure.reason.into()),
            outcome
                .partial
                .into_iter()
                .map(|f| crate::caps::types::finding_from_wit(&skill.descriptor.id, f))
                .collect::<Vec<_>>(),
        ),
    };
    // A failed run's record says what it reported before it failed is kept.
    let warning = match (&error, produced.len()) {
        (Some(_), n) if n > 0 => Some(match outcome.warning {
            Some(limit) => {
                format!("the {n} finding(s) it reported before it failed are kept; {limit}")
            }
            None => format!("the {n} finding(s) it reported before it failed are kept"),
        }),
        _ => outcome.warning,
    };
    let record = RunRecord {
        skill: skill.descriptor.id.clone(),
        version: skill.descriptor.version.clone(),
        digest: skill.digest.clone(),
        trigger: job.trigger.describe(),
        input: job.input.as_ref().map(|f| f.id.clone()),
        status,
        duration_ms: outcome.duration.as_secs_f64() * 1e3,
        error,
        findings: produced.len(),
        findings_dropped: outcome.findings_dropped,
        warning,
        host_calls: outcome.host_calls,
        log: outcome.log,
        log_dropped: outcome.log_dropped,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
    };
    (record, produced)
}

#[cfg(test)]
mod tests {
    use super::fair_share;

    #[test]
    fn a_flood_does_not_crowd_out_the_few() {
        // 1,000 items of `a`, 3 of `b`, 10 of `c`, room for 20: `b` keeps all its 3, and `a` and
        // `c` share the other 17 (8 and 9: the flood gets no more than anyone else).
        let items: Vec<(char, usize)> = (0..1_000)
            .map(|i| ('a', i))
            .chain((0..3).map(|i| ('b', i)))
            .chain((0..10).map(|i| ('c', i)))
            .collect();
        let (kept, rest) = fair_share(items, 20, |&(g, _)| g);
        assert_eq!(kept.len(), 20);
        assert_eq!(rest.len(), 993);
        let of = |g: char| kept.iter().filter(|(k, _)| *k == g).count();
        assert_eq!((of('a'), of('b'), of('c')), (9, 3, 8));
        // Each group keeps its first items, in order.
        assert_eq!(
            kept.iter()
                .filter(|(k, _)| *k == 'a')
                .map(|(_, i)| *i)
                .collect::<Vec<_>>(),
            (0..9).collect::<Vec<_>>()
        );
    }

    #[test]
    fn room_for_everything_keeps_everything_and_no_room_keeps_nothing() {
        let items = vec![1, 2, 3];
        assert_eq!(fair_share(items.clone(), 5, |_| ()).0, items);
        assert_eq!(fair_share(items.clone(), 0, |_| ()).1, items);
    }
}
