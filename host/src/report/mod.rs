//! The report of one run, in Findings JSON version 1 (`docs/findings.md`) or Markdown, and the
//! combined patch of every finding's edits.

mod markdown;
mod patch;
mod run;

pub use markdown::markdown;
pub use patch::apply;
pub use run::{LogLine, RunRecord, RunStatus};

use std::collections::HashMap;
use std::sync::Arc;

use joule_policy::SkillGrants;
use serde::Serialize;

use crate::findings::{self, Edit, Finding, Fleet};
use crate::inputs::Inputs;
use crate::untrusted::Untrusted;

/// The Findings JSON format version this host writes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub tool: Tool,
    pub inputs: InputsRecord,
    pub runs: Vec<RunRecord>,
    pub findings: Vec<Finding>,
    /// The fleet the opportunities' savings are estimated for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<Fleet>,
    #[serde(skip)]
    combined_patch: String,
}

/// All findings' edits applied together, in rank order. A finding whose edits conflict with
/// those of a higher-ranked one is left out of the combined patch (its own patch still stands).
fn combined(findings: &[Finding], inputs: &Inputs) -> String {
    let mut accepted: Vec<&Edit> = Vec::new();
    for f in findings.iter().filter(|f| f.patch.is_some()) {
        let mut candidate = accepted.clone();
        candidate.extend(f.edits.iter());
        if patch::patch(&candidate, inputs, None).is_ok() {
            accepted = candidate;
        }
    }
    patch::patch(&accepted, inputs, None)
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Default, Serialize)]
pub struct InputsRecord {
    pub profiles: Vec<ProfileRecord>,
    pub sources: Vec<SourceRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricsRecord>,
}

/// A profile the operator gave, read or not.
#[derive(Debug, Serialize)]
pub struct ProfileRecord {
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A metric file the operator gave, read or not.
#[derive(Debug, Serialize)]
pub struct MetricsRecord {
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SourceRecord {
    pub name: String,
    pub path: String,
}

impl Report {
    /// Estimates each opportunity's saving for `fleet`, and records the fleet.
    pub fn with_fleet(mut self, fleet: Fleet) -> Self {
        for f in &mut self.findings {
            f.saving = fleet.saving(f);
        }
        self.fleet = Some(fleet);
        self
    }

    /// Ranks the findings and turns their edits into patches against the granted trees.
    /// `inputs` are the run's; `access` the grants and inputs of each skill, so a finding's
    /// edits are applied only to trees and files its skill was allowed to read (a skill cannot
    /// get a secret into the report by proposing an edit to it).
    pub fn new(
        inputs_record: InputsRecord,
        runs: Vec<RunRecord>,
        findings: Vec<Finding>,
        inputs: &Inputs,
        access: &HashMap<String, (Arc<SkillGrants>, Arc<Inputs>)>,
    ) -> Self {
        let mut findings = findings::rank(findings);
        for f in &mut findings {
            let edits: Vec<&Edit> = f.edits.iter().collect();
            let result = match access.get(&f.skill) {
                Some((grants, granted)) => patch::patch(&edits, granted, Some(&grants.deny)),
                None => Err("the skill that proposed these edits has no grants".to_string()),
            };
            match result {
                Ok(p) => {
                    // Name the tree each edit went to, as checked against the skill's grants,
                    // so the combined patch (built over every tree of the run) cannot send an
                    // edit without a tree name to another skill's tree.
                    if let Some((_, granted)) = access.get(&f.skill) {
                        for e in &mut f.edits {
                            if let Some(tree) = granted.tree(e.tree.as_ref().map(Untrusted::raw)) {
                                e.tree = Some(tree.name().into());
                            }
                        }
                    }
                    f.patch = p.map(Untrusted::from);
                }
                Err(e) => f.patch_error = Some(e.into()),
            }
        }
        let combined_patch = combined(&findings, inputs);
        Report {
            version: FORMAT_VERSION,
            tool: Tool {
                name: "joule",
                version: env!("CARGO_PKG_VERSION"),
            },
            inputs: inputs_record,
            runs,
            findings,
            fleet: None,
            combined_patch,
        }
    }

    pub fn json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Every finding's edits as one patch that `git apply` takes.
    pub fn combined_patch(&self) -> &str {
        &self.combined_patch
    }

    pub fn failed_runs(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.status == RunStatus::Failed)
            .count()
    }

    /// Profiles and metric files that could not be read.
    pub fn unreadable_profiles(&self) -> usize {
        self.inputs
            .profiles
            .iter()
            .filter(|p| p.error.is_some())
            .count()
            + self
                .inputs
                .metrics
                .iter()
                .filter(|m| m.error.is_some())
                .count()
    }
}
