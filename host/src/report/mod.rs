//! The report of one run, in Findings JSON version 1 (`docs/findings.md`), Markdown, SARIF or
//! HTML, and the combined patch of every finding's edits.

mod baseline;
mod correlated;
mod html;
mod markdown;
mod merge;
mod patch;
mod run;
mod sarif;
#[cfg(test)]
mod tests;

pub use baseline::{Baseline, Earlier, FailOn, Gate, State};
pub use html::{Detail as FlameDetail, Views, html};
pub(crate) use markdown::{finding as finding_markdown, place, significant, trim_number as number};
pub use markdown::{markdown, markdown_summary};
pub use merge::{Part, merge};
pub use patch::apply;
pub use run::{LogLine, RunRecord, RunStatus};
pub use sarif::sarif;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use joule_policy::SkillGrants;
use serde::{Deserialize, Serialize};

use crate::findings::{self, Edit, Finding, Fleet};
use crate::inputs::Inputs;
use crate::shard::Shard;
use crate::untrusted::Untrusted;

/// The Findings JSON format version this host writes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub tool: Tool,
    pub inputs: InputsRecord,
    pub runs: Vec<RunRecord>,
    pub findings: Vec<Finding>,
    /// The fleet the opportunities' savings are estimated for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<Fleet>,
    /// The shard of the metric series this run scanned (`--shard K/N`); absent when it scanned
    /// them all, or for a merged report.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<Shard>,
    /// How the findings compare with an earlier report's (`--baseline`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub baseline: Option<Baseline>,
    #[serde(skip)]
    combined_patch: String,
}

/// All findings' edits applied together, in rank order. A finding whose edits overlap those of
/// a higher-ranked one is left out of the combined patch (its own patch still stands), and both
/// findings name each other in `overlaps`. Each edit's byte range is checked against the ranges
/// already taken in its file, so this is linear in the edits (bar a log factor), not quadratic.
fn combined(findings: &mut [Finding], inputs: &Inputs, deadline: Instant) -> String {
    /// One file's text and the byte ranges taken in it, by finding index.
    struct Taken<'a> {
        text: String,
        /// (start, end, finding index): the index keeps two insertions at one place apart.
        ranges: BTreeSet<(usize, usize, usize)>,
        edits: Vec<&'a Edit>,
    }
    let mut files: BTreeMap<patch::FileKey, Taken> = BTreeMap::new();
    let mut overlaps: Vec<(usize, usize)> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        if f.patch.is_none() {
            continue;
        }
        let mut wanted = Vec::new();
        let mut clash = None;
        for e in &f.edits {
            let Ok((tree, file)) = patch::resolve(e, inputs, None) else {
                clash = Some(None);
                break;
            };
            let key = (tree.name().to_string(), file);
            if !files.contains_key(&key) {
                let Ok(text) = tree.read(&key.1) else {
                    clash = Some(None);
                    break;
                };
                let taken = Taken {
                    text,
                    ranges: BTreeSet::new(),
                    edits: Vec::new(),
                };
                files.insert(key.clone(), taken);
            }
            let taken = &files[&key];
            let Ok((start, end)) = patch::byte_range(&taken.text, &e.span) else {
                clash = Some(None);
                break;
            };
            // Taken ranges never overlap one another, so their ends rise with their starts: the
            // last one before this range and the first one from it are the only candidates (the
            // same test `apply` makes on sorted neighbours).
            let before = taken
                .ranges
                .range(..(start, end, 0))
                .next_back()
                .filter(|&&(_, t, _)| start < t);
            let after = taken
                .ranges
                .range((start, end, 0)..)
                .next()
                .filter(|&&(s, _, _)| s < end);
            if let Some(&(_, _, j)) = before.or(after) {
                clash = Some(Some(j));
                break;
            }
            wanted.push((key, (start, end), e));
        }
        match clash {
            Some(Some(j)) => overlaps.push((i, j)),
            Some(None) => {}
            None => {
                for (key, range, e) in wanted {
                    let taken = files.get_mut(&key).expect("inserted above");
                    taken.ranges.insert((range.0, range.1, i));
                    taken.edits.push(e);
                }
            }
        }
    }
    let accepted: Vec<&Edit> = files
        .values()
        .flat_map(|t| t.edits.iter().copied())
        .collect();
    let deadline = deadline.min(Instant::now() + patch::DIFF_BUDGET);
    let out = patch::patch(&accepted, inputs, None, deadline)
        .ok()
        .flatten()
        .unwrap_or_default();
    for (i, j) in overlaps {
        let (a, b) = (findings[i].id.clone(), findings[j].id.clone());
        findings[i].overlaps.push(b);
        findings[j].overlaps.push(a);
    }
    out
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This program.
    pub fn this() -> Tool {
        Tool {
            name: "joule".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InputsRecord {
    pub profiles: Vec<ProfileRecord>,
    pub sources: Vec<SourceRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub metrics: Vec<MetricsRecord>,
}

/// A profile the operator gave, read or not.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
}

/// A metric file the operator gave, read or not.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MetricsRecord {
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceRecord {
    pub name: String,
    pub path: String,
}

impl Report {
    /// A report of findings already made and ranked (no runs, no combined patch): what
    /// `joule mcp` hands `joule pr`'s preparation.
    pub fn of_findings(inputs: InputsRecord, findings: Vec<Finding>, fleet: Option<Fleet>) -> Self {
        Report {
            version: FORMAT_VERSION,
            tool: Tool::this(),
            inputs,
            runs: Vec::new(),
            findings,
            fleet,
            shard: None,
            baseline: None,
            combined_patch: String::new(),
        }
    }

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
    /// get a secret into the report by proposing an edit to it). Diffs search for the smallest
    /// patch for a bounded time ([`patch::DIFF_BUDGET`] per skill and for the combined patch,
    /// and never past `deadline`, the run's); after it, patches are still made, by a linear-time
    /// diff ([`patch::unified`]).
    pub fn new(
        inputs_record: InputsRecord,
        runs: Vec<RunRecord>,
        findings: Vec<Finding>,
        inputs: &Inputs,
        access: &HashMap<String, (Arc<SkillGrants>, Arc<Inputs>)>,
        deadline: Instant,
    ) -> Self {
        let mut findings = findings::rank(findings);
        // What each skill's patches have cost so far, in rank order: their bytes, against its
        // findings budget (a skill's edits may not make the report larger than its findings
        // may), and the time their diffs took, against [`patch::DIFF_BUDGET`].
        let mut spent: HashMap<&str, (usize, std::time::Duration)> = HashMap::new();
        for f in &mut findings {
            let Some((grants, granted)) = access.get(&f.skill) else {
                f.patch_error = Some("the skill that proposed these edits has no grants".into());
                continue;
            };
            if f.edits.is_empty() {
                continue;
            }
            // Past the run's deadline no more files are read and diffed: the finding stands.
            if Instant::now() >= deadline {
                f.patch_error = Some(
                    "patch not made: the run's deadline came before it (raise it with \
                     --run-timeout); the finding stands"
                        .into(),
                );
                continue;
            }
            let edits: Vec<&Edit> = f.edits.iter().collect();
            // The skill's diffs share its budget, and end at the run's deadline.
            let (cost, diffing) = spent.entry(grants.skill.as_str()).or_default();
            let until = deadline.min(Instant::now() + patch::DIFF_BUDGET.saturating_sub(*diffing));
            let started = Instant::now();
            let made = patch::patch(&edits, granted, Some(&grants.deny), until);
            *diffing += started.elapsed();
            match made {
                Ok(p) => {
                    let budget = grants.limits.findings_bytes;
                    let bytes = p.as_ref().map_or(0, String::len);
                    if *cost + bytes > budget {
                        f.patch_error = Some(
                            format!(
                                "patch left out: {bytes} bytes would take skill `{}`'s patches \
                                 past its findings budget of {} KiB ({}); the finding stands",
                                f.skill,
                                budget >> 10,
                                grants.how_to_grant("limits.findings_kib = N")
                            )
                            .into(),
                        );
                        continue;
                    }
                    *cost += bytes;
                    // Name the tree and the canonical file each edit went to, as checked against
                    // the skill's grants, so the combined patch (built over every tree of the
                    // run) cannot send an edit without a tree name to another skill's tree, and
                    // two spellings of one file are one file there.
                    for e in &mut f.edits {
                        if let Ok((tree, file)) = patch::resolve(e, granted, None) {
                            e.tree = Some(tree.name().into());
                            e.file = file.into();
                        }
                    }
                    f.patch = p.map(Untrusted::from);
                }
                Err(e) => f.patch_error = Some(e.into()),
            }
        }
        let combined_patch = combined(&mut findings, inputs, deadline);
        Report {
            version: FORMAT_VERSION,
            tool: Tool::this(),
            inputs: inputs_record,
            runs,
            findings,
            fleet: None,
            shard: None,
            baseline: None,
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

    /// Findings left out at a limit, over every run.
    pub fn dropped_findings(&self) -> usize {
        self.runs.iter().map(|r| r.findings_dropped).sum()
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
