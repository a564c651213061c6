//! Findings as the host keeps and reports them (Findings JSON version 1): fingerprinted,
//! de-duplicated and ranked. Plain Rust types: what skills return is converted into them at the
//! boundary (`caps::types`).
//!
//! The shape here is the documented one (`docs/findings.md`, `docs/findings-v1.schema.json`);
//! changing a field name is a format change.

mod rank;
mod saving;

pub use rank::rank;
pub use saving::{Fleet, SAVING_MEASURE, Saving};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Opportunity,
    Regression,
    RootCause,
    Mitigation,
    Info,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Opportunity => "opportunity",
            Kind::Regression => "regression",
            Kind::RootCause => "root-cause",
            Kind::Mitigation => "mitigation",
            Kind::Info => "info",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRange {
    pub start: u32,
    pub end: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<LineRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "unit", rename_all = "lowercase")]
pub enum Span {
    /// Lines `start..=end`, from 1; `end = start - 1` inserts before `start`.
    Lines { start: u32, end: u32 },
    /// Bytes `start..end`, from 0.
    Bytes { start: u64, end: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
    pub file: String,
    pub span: Span,
    pub replacement: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Reserved for regressions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_change: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable fingerprint: the same problem at the same place has the same id across runs,
    /// even when line numbers or measured values move.
    pub id: String,
    pub skill: String,
    pub kind: Kind,
    pub rule: String,
    pub title: String,
    pub message: String,
    pub locations: Vec<Location>,
    pub impact: Impact,
    pub confidence: f64,
    pub evidence: Vec<Measure>,
    pub edits: Vec<Edit>,
    /// The unified diff the edits make, when they apply to a granted tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Why the edits could not be turned into a patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_error: Option<String>,
    /// Reserved for regressions: the series the change was found in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Reserved for regressions: when the change happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub labels: BTreeMap<String, String>,
    /// For opportunities: what the fix saves across the operator's fleet.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub saving: Option<Saving>,
    /// Findings whose edits overlap this one's in a file: the combined patch carries only the
    /// first of them in rank order (each one's own `patch` still stands).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub overlaps: Vec<String>,
}

impl Finding {
    /// The finding with its fingerprint filled in, as every finding the host keeps has.
    pub fn fingerprinted(mut self) -> Self {
        self.id = self.fingerprint();
        self
    }

    /// Skill, rule, series and the primary location's tree, file and function (not its lines,
    /// which move with unrelated edits), plus the skill's own `fingerprint` label when it
    /// gives one to tell apart findings that share all of those.
    fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let primary = self.locations.first().cloned().unwrap_or_default();
        for part in [
            Some(self.skill.as_str()),
            Some(self.rule.as_str()),
            self.series.as_deref(),
            primary.tree.as_deref(),
            primary.file.as_deref(),
            primary.function.as_deref(),
            self.labels.get("fingerprint").map(String::as_str),
        ] {
            h.update(part.unwrap_or("").as_bytes());
            h.update([0]);
        }
        let digest = h.finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The bytes of text the finding carries (what the run's findings budget counts).
    pub fn text_bytes(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        self.rule.len()
            + self.title.len()
            + self.message.len()
            + self
                .locations
                .iter()
                .map(|l| opt(&l.tree) + opt(&l.file) + opt(&l.function) + 8)
                .sum::<usize>()
            + self
                .evidence
                .iter()
                .map(|m| m.name.len() + m.unit.len() + 8)
                .sum::<usize>()
            + self
                .edits
                .iter()
                .map(|e| opt(&e.tree) + e.file.len() + e.replacement.len() + 16)
                .sum::<usize>()
            + opt(&self.series)
            + opt(&self.at)
            + self
                .labels
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }

    /// The ranking score: the share of the profile the finding is worth, times confidence.
    /// Information (a hot function is a fact, not a fix) counts half, so actionable findings
    /// of similar weight come first.
    pub fn score(&self) -> f64 {
        let weight = if self.kind == Kind::Info { 0.5 } else { 1.0 };
        self.impact.sample_share.unwrap_or(0.0) * self.confidence * weight
    }
}
