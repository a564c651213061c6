//! The boundary between the WIT `types` interface and the host's own finding types: what a
//! skill returns becomes a [`Finding`] here (numbers clamped into range, then fingerprinted),
//! and a finding handed to a downstream skill goes back into WIT form here. Nothing past this
//! module sees generated bindings for findings.

use super::bindings::joule::skill::types as wit;
use crate::findings::{Edit, Finding, Impact, Kind, LineRange, Location, Measure, Span};

impl From<wit::FindingKind> for Kind {
    fn from(kind: wit::FindingKind) -> Self {
        match kind {
            wit::FindingKind::Opportunity => Kind::Opportunity,
            wit::FindingKind::Regression => Kind::Regression,
            wit::FindingKind::RootCause => Kind::RootCause,
            wit::FindingKind::Mitigation => Kind::Mitigation,
            wit::FindingKind::Info => Kind::Info,
        }
    }
}

impl From<Kind> for wit::FindingKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Opportunity => wit::FindingKind::Opportunity,
            Kind::Regression => wit::FindingKind::Regression,
            Kind::RootCause => wit::FindingKind::RootCause,
            Kind::Mitigation => wit::FindingKind::Mitigation,
            Kind::Info => wit::FindingKind::Info,
        }
    }
}

/// A number a skill gave, or zero when it is not finite (NaN and infinities never reach a
/// report or a ranking).
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// Converts what skill `skill` returned, clamping numbers into range and fingerprinting it.
pub fn finding_from_wit(skill: &str, f: wit::Finding) -> Finding {
    Finding {
        id: String::new(),
        skill: skill.to_string(),
        kind: f.kind.into(),
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
        overlaps: Vec::new(),
    }
    .fingerprinted()
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

/// The same finding in WIT form, to hand to a downstream skill.
pub fn finding_to_wit(f: &Finding) -> wit::Finding {
    wit::Finding {
        kind: f.kind.into(),
        rule: f.rule.clone(),
        title: f.title.clone(),
        message: f.message.clone(),
        locations: f
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
            sample_share: f.impact.sample_share,
            value: f.impact.value,
            unit: f.impact.unit.clone(),
            relative_change: f.impact.relative_change,
        },
        confidence: f.confidence,
        evidence: f
            .evidence
            .iter()
            .map(|m| wit::Measure {
                name: m.name.clone(),
                value: m.value,
                unit: m.unit.clone(),
            })
            .collect(),
        edits: f
            .edits
            .iter()
            .map(|e| wit::Edit {
                tree: e.tree.clone(),
                file: e.file.clone(),
                span: match e.span {
                    Span::Lines { start, end } => wit::Span::Lines(wit::LineRange { start, end }),
                    Span::Bytes { start, end } => wit::Span::Bytes(wit::ByteRange { start, end }),
                },
                replacement: e.replacement.clone(),
            })
            .collect(),
        series: f.series.clone(),
        at: f.at.clone(),
        labels: f
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}
