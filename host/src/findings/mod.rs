//! Findings as the host keeps and reports them (Findings JSON version 1): converted from what
//! skills return, fingerprinted, de-duplicated and ranked.
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

use crate::caps::bindings::joule::skill::types as wit;

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

    pub fn from_wit(kind: wit::FindingKind) -> Self {
        match kind {
            wit::FindingKind::Opportunity => Kind::Opportunity,
            wit::FindingKind::Regression => Kind::Regression,
            wit::FindingKind::RootCause => Kind::RootCause,
            wit::FindingKind::Mitigation => Kind::Mitigation,
            wit::FindingKind::Info => Kind::Info,
        }
    }

    pub fn to_wit(self) -> wit::FindingKind {
        match self {
            Kind::Opportunity => wit::FindingKind::Opportunity,
            Kind::Regression => wit::FindingKind::Regression,
            Kind::RootCause => wit::FindingKind::RootCause,
            Kind::Mitigation => wit::FindingKind::Mitigation,
            Kind::Info => wit::FindingKind::Info,
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
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

impl Finding {
    /// Converts what a skill returned, clamping numbers into range and fingerprinting it.
    pub fn from_wit(skill: &str, f: wit::Finding) -> Self {
        let mut finding = Finding {
            id: String::new(),
            skill: skill.to_string(),
            kind: Kind::from_wit(f.kind),
            rule: f.rule,
            title: f.title,
            message: f.message,
            locations: f.locations.into_iter().map(location_from_wit).collect(),
            impact: Impact {
                sample_share: f.impact.sample_share.map(|s| finite(s).clamp(0.0, 1.0)),
                value: f.impact.value.map(finite),
                unit: f.impact.unit,
                relative_change: f.impact.relative_change.map(finite),
            },
            confidence: finite(f.confidence).clamp(0.0, 1.0),
            evidence: f
                .evidence
                .into_iter()
                .map(|m| Measure {
                    name: m.name,
                    value: finite(m.value),
                    unit: m.unit,
                })
                .collect(),
            edits: f
                .edits
                .into_iter()
                .map(|e| Edit {
                    tree: e.tree,
                    file: e.file,
                    span: match e.span {
                        wit::Span::Lines(r) => Span::Lines {
                            start: r.start,
                            end: r.end,
                        },
                        wit::Span::Bytes(r) => Span::Bytes {
                            start: r.start,
                            end: r.end,
                        },
                    },
                    replacement: e.replacement,
                })
                .collect(),
            patch: None,
            patch_error: None,
            series: f.series,
            at: f.at,
            labels: f.labels.into_iter().collect(),
            saving: None,
        };
        finding.id = finding.fingerprint();
        finding
    }

    /// The same finding in WIT form, to hand to a downstream skill.
    pub fn to_wit(&self) -> wit::Finding {
        wit::Finding {
            kind: self.kind.to_wit(),
            rule: self.rule.clone(),
            title: self.title.clone(),
            message: self.message.clone(),
            locations: self
                .locations
                .iter()
                .map(|l| wit::Location {
                    tree: l.tree.clone(),
                    file: l.file.clone(),
                    lines: l.lines.as_ref().map(|r| wit::LineRange {
                        start: r.start,
                        end: r.end,
                    }),
                    function: l.function.clone(),
                })
                .collect(),
            impact: wit::Impact {
                sample_share: self.impact.sample_share,
                value: self.impact.value,
                unit: self.impact.unit.clone(),
                relative_change: self.impact.relative_change,
            },
            confidence: self.confidence,
            evidence: self
                .evidence
                .iter()
                .map(|m| wit::Measure {
                    name: m.name.clone(),
                    value: m.value,
                    unit: m.unit.clone(),
                })
                .collect(),
            edits: self
                .edits
                .iter()
                .map(|e| wit::Edit {
                    tree: e.tree.clone(),
                    file: e.file.clone(),
                    span: match e.span {
                        Span::Lines { start, end } => {
                            wit::Span::Lines(wit::LineRange { start, end })
                        }
                        Span::Bytes { start, end } => {
                            wit::Span::Bytes(wit::ByteRange { start, end })
                        }
                    },
                    replacement: e.replacement.clone(),
                })
                .collect(),
            series: self.series.clone(),
            at: self.at.clone(),
            labels: self
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
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

    /// The ranking score: the share of the profile the finding is worth, times confidence.
    /// Information (a hot function is a fact, not a fix) counts half, so actionable findings
    /// of similar weight come first.
    pub fn score(&self) -> f64 {
        let weight = if self.kind == Kind::Info { 0.5 } else { 1.0 };
        self.impact.sample_share.unwrap_or(0.0) * self.confidence * weight
    }
}

fn location_from_wit(l: wit::Location) -> Location {
    Location {
        tree: l.tree,
        file: l.file,
        lines: l.lines.map(|r| LineRange {
            start: r.start,
            end: r.end,
        }),
        function: l.function,
    }
}
