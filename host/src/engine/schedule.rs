//! Running many skills: concurrently on tokio's blocking pool (at most `jobs` at once), first the
//! `scan` skills, then, round by round, the skills triggered by the findings of the round before,
//! up to a bounded depth. A failed invocation is recorded and never stops the others.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use joule_policy::SkillGrants;
use tokio::sync::Semaphore;

use super::invoke::Outcome;
use super::{LoadedSkill, Runtime, Trigger};
use crate::audit::AuditLog;
use crate::caps::bindings::joule::skill::types as wit;
use crate::findings::Finding;
use crate::inputs::Inputs;
use crate::report::{RunRecord, RunStatus};

/// What to run, on what, with which parameters.
pub struct Plan {
    pub skills: Vec<Arc<LoadedSkill>>,
    /// Per skill id: what its policy grants, and the inputs those grants let through.
    pub access: HashMap<String, (Arc<SkillGrants>, Arc<Inputs>)>,
    /// Where every host call is recorded, when the operator asked for it.
    pub audit: Option<Arc<AuditLog>>,
    /// Operator-given parameter values: skill id -> name -> value.
    pub parameters: HashMap<String, BTreeMap<String, String>>,
    /// Invocations at once.
    pub jobs: usize,
    /// Rounds of finding-triggered skills after the scan round.
    pub max_depth: usize,
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

    /// Every declared parameter with the operator's value or its default.
    fn parameters_for(&self, skill: &LoadedSkill) -> Vec<(String, String)> {
        let given = self.parameters.get(&skill.descriptor.id);
        skill
            .descriptor
            .parameters
            .iter()
            .filter_map(|p| {
                let value = given
                    .and_then(|g| g.get(p.name.raw()).cloned())
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

/// Runs the plan and returns every run record and every finding (not yet ranked), in a
/// deterministic order: by round, then by skill order, then by input finding.
pub async fn run(runtime: Arc<Runtime>, plan: Plan) -> (Vec<RunRecord>, Vec<Finding>) {
    let plan = Arc::new(plan);
    let permits = Arc::new(Semaphore::new(plan.jobs.max(1)));
    let mut records = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();

    let mut jobs: Vec<Job> = plan
        .skills
        .iter()
        .filter(|s| s.descriptor.triggers.contains(&Trigger::Scan))
        .map(|s| Job {
            skill: s.clone(),
            trigger: Trigger::Scan,
            input: None,
        })
        .collect();

    for round in 0..=plan.max_depth {
        if jobs.is_empty() {
            break;
        }
        let mut handles = Vec::with_capacity(jobs.len());
        for job in jobs.drain(..) {
            let runtime = runtime.clone();
            let plan = plan.clone();
            let permits = permits.clone();
            handles.push(tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                let invocation = wit::Invocation {
                    trigger: job.trigger.to_wit(),
                    parameters: plan.parameters_for(&job.skill),
                    input: job.input.as_ref().map(crate::caps::types::finding_to_wit),
                };
                let skill = job.skill.clone();
                let access = plan.access.get(&skill.descriptor.id).cloned();
                let audit = plan.audit.clone();
                let outcome = tokio::task::spawn_blocking(move || match access {
                    Some((grants, inputs)) => {
                        runtime.invoke(&skill, inputs, grants, &invocation, audit.as_deref())
                    }
                    None => Outcome::failed(
                        "the skill has no grants in this run (a host bug)".to_string(),
                        Default::default(),
                    ),
                })
                .await;
                (job, outcome)
            }));
        }
        let mut new_findings = Vec::new();
        for handle in handles {
            let Ok((job, outcome)) = handle.await else {
                continue;
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
        if round < plan.max_depth {
            for finding in &new_findings {
                for skill in &plan.skills {
                    for trigger in &skill.descriptor.triggers {
                        if matches(trigger, finding) {
                            jobs.push(Job {
                                skill: skill.clone(),
                                trigger: trigger.clone(),
                                input: Some(finding.clone()),
                            });
                        }
                    }
                }
            }
        }
        findings.extend(new_findings);
    }
    (records, findings)
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
        Err(failure) => (RunStatus::Failed, Some(failure.reason.into()), Vec::new()),
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
        host_calls: outcome.host_calls,
        log: outcome.log,
        log_dropped: outcome.log_dropped,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
    };
    (record, produced)
}
