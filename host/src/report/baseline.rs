//! Baselines and gates for CI: a report compared with an earlier one (`--baseline`), each
//! finding new or unchanged by its id (a fingerprint stable across runs) and the earlier ones
//! gone; and the gate (`--fail-on`) that trips when findings of a kind, at or above a share and
//! a confidence, are present (or new).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::Report;
use crate::findings::{Finding, Kind};
use crate::untrusted::Untrusted;

/// How a report's findings compare with the baseline report's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The baseline report, as given.
    pub file: String,
    /// Ids of this report's findings the baseline did not have.
    pub new: Vec<String>,
    /// Ids of this report's findings the baseline had too.
    pub unchanged: Vec<String>,
    /// The baseline's findings this report no longer has.
    pub gone: Vec<Gone>,
}

/// A finding of the baseline that is gone: enough to say what it was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gone {
    pub id: String,
    pub skill: Untrusted,
    pub kind: Kind,
    pub rule: Untrusted,
    pub title: Untrusted,
}

/// The state of one finding against the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    New,
    Unchanged,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::New => "new",
            State::Unchanged => "unchanged",
        }
    }
}

impl Baseline {
    /// Compares `report`'s findings with those of the `earlier` report.
    pub fn compare(report: &Report, earlier: &Earlier) -> Baseline {
        let before: BTreeSet<&str> = earlier.findings.iter().map(|f| f.id.as_str()).collect();
        let now: BTreeSet<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
        let (unchanged, new): (Vec<&Finding>, Vec<&Finding>) = report
            .findings
            .iter()
            .partition(|f| before.contains(f.id.as_str()));
        let gone = earlier
            .findings
            .iter()
            .filter(|f| !now.contains(f.id.as_str()))
            .map(|f| Gone {
                id: f.id.clone(),
                skill: f.skill.clone(),
                kind: f.kind,
                rule: f.rule.clone(),
                title: f.title.clone(),
            })
            .collect();
        Baseline {
            file: earlier.file.clone(),
            new: new.iter().map(|f| f.id.clone()).collect(),
            unchanged: unchanged.iter().map(|f| f.id.clone()).collect(),
            gone,
        }
    }

    /// The state of the finding with id `id`.
    pub fn state(&self, id: &str) -> Option<State> {
        if self.new.iter().any(|n| n == id) {
            Some(State::New)
        } else if self.unchanged.iter().any(|u| u == id) {
            Some(State::Unchanged)
        } else {
            None
        }
    }
}

/// An earlier report, as a baseline: its findings' ids, and enough of each to say what a gone
/// one was.
#[derive(Deserialize)]
pub struct Earlier {
    #[serde(skip)]
    file: String,
    findings: Vec<EarlierFinding>,
}

impl Earlier {
    /// Reads the findings JSON report at `path` (before a run, so a bad one fails at once).
    pub fn read(path: &Path) -> anyhow::Result<Earlier> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--baseline {file}: cannot read it"))?;
        let mut earlier: Earlier = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "--baseline {file}: not a Joule findings report (line {}, column {}): {e}",
                e.line(),
                e.column()
            )
        })?;
        earlier.file = file;
        Ok(earlier)
    }
}

#[derive(Deserialize)]
struct EarlierFinding {
    id: String,
    skill: Untrusted,
    kind: Kind,
    rule: Untrusted,
    title: Untrusted,
}

/// Which findings trip the gate (`--fail-on`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any finding new against the baseline (every finding, without one).
    New,
    /// Any opportunity.
    Opportunity,
    /// Any regression.
    Regression,
    /// Any finding.
    Any,
}

/// The gate: which findings trip it, and the least share and confidence one must have.
#[derive(Clone, Debug)]
pub struct Gate {
    pub fail_on: FailOn,
    pub min_share: f64,
    pub min_confidence: f64,
}

impl Gate {
    /// The findings of `report` that trip the gate.
    pub fn tripped<'a>(&self, report: &'a Report) -> Vec<&'a Finding> {
        report
            .findings
            .iter()
            .filter(|f| match self.fail_on {
                FailOn::New => report
                    .baseline
                    .as_ref()
                    .is_none_or(|b| b.state(&f.id) == Some(State::New)),
                FailOn::Opportunity => f.kind == Kind::Opportunity,
                FailOn::Regression => f.kind == Kind::Regression,
                FailOn::Any => true,
            })
            .filter(|f| {
                self.min_share <= 0.0 || f.impact.sample_share.unwrap_or(0.0) >= self.min_share
            })
            .filter(|f| f.confidence >= self.min_confidence)
            .collect()
    }
}
