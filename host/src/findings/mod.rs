//! Findings as the host keeps and reports them (Findings JSON version 1): fingerprinted,
//! de-duplicated and ranked. Plain Rust types: what skills return is converted into them at the
//! boundary (`caps::types`).
//!
//! The shape here is the documented one (`docs/findings.md`, `docs/findings-v1.schema.json`);
//! changing a field name is a format change. Every string a skill gave is [`Untrusted`]: the
//! same string in JSON, written anywhere else through the escaping of that output.

mod rank;
mod saving;

pub use rank::{key as rank_key, order as rank_order, rank};
pub use saving::{Fleet, SAVING_MEASURE, Saving};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::untrusted::Untrusted;

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
    pub tree: Option<Untrusted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Untrusted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<LineRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<Untrusted>,
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
    pub tree: Option<Untrusted>,
    pub file: Untrusted,
    pub span: Span,
    pub replacement: Untrusted,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub name: Untrusted,
    pub value: f64,
    pub unit: Untrusted,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Untrusted>,
    /// Reserved for regressions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_change: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable fingerprint: the same problem at the same place has the same id across runs,
    /// even when line numbers or measured values move.
    pub id: String,
    /// The id of the skill that made it (checked at load: `engine::valid_id`).
    pub skill: String,
    pub kind: Kind,
    pub rule: Untrusted,
    pub title: Untrusted,
    pub message: Untrusted,
    pub locations: Vec<Location>,
    pub impact: Impact,
    pub confidence: f64,
    pub evidence: Vec<Measure>,
    pub edits: Vec<Edit>,
    /// The unified diff the edits make, when they apply to a granted tree: the skill's
    /// replacement text and file names in it, so untrusted too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<Untrusted>,
    /// Why the edits could not be turned into a patch (it may name the skill's files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_error: Option<Untrusted>,
    /// Reserved for regressions: the series the change was found in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Untrusted>,
    /// Reserved for regressions: when the change happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Untrusted>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub labels: BTreeMap<Untrusted, Untrusted>,
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
        let fingerprint = self.labels.get(&Untrusted::from("fingerprint"));
        for part in [
            Some(self.skill.as_str()),
            Some(self.rule.raw()),
            self.series.as_ref().map(Untrusted::raw),
            primary.tree.as_ref().map(Untrusted::raw),
            primary.file.as_ref().map(Untrusted::raw),
            primary.function.as_ref().map(Untrusted::raw),
            fingerprint.map(Untrusted::raw),
        ] {
            h.update(part.unwrap_or("").as_bytes());
            h.update([0]);
        }
        let digest = h.finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The bytes of text the finding carries (what the run's findings budget counts).
    pub fn text_bytes(&self) -> usize {
        let opt = |s: &Option<Untrusted>| s.as_ref().map_or(0, Untrusted::len);
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
        rank::score(self.kind, self.impact.sample_share, self.confidence)
    }
}
