//! The boundary between the WIT `types` interface and the host's own finding types: what a
//! skill returns becomes a [`Finding`] here (numbers clamped into range, then fingerprinted),
//! and a finding handed to a downstream skill goes back into WIT form here. Nothing past this
//! module sees generated bindings for findings.

use super::bindings::joule::skill::types as wit;
use crate::findings::{Edit, Finding, Impact, Kind, LineRange, Location, Measure, Span};
use crate::untrusted::Untrusted;

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

/// Converts what skill `skill` returned, clamping numbers into range and fingerprinting it. Its
/// text becomes [`Untrusted`] here, before anything else sees it.
pub fn finding_from_wit(skill: &str, f: wit::Finding) -> Finding {
    // A line span starting at line 0 is no range (lines count from 1) and no patch can be made
    // of it; kept, it would put a span into the JSON report that its schema does not allow.
    // The finding stands without its edits, and says why.
    let not_a_range = f.edits.iter().enumerate().find_map(|(i, e)| match e.span {
        wit::Span::Lines(r) if r.start == 0 => Some(format!(
            "edit {}: line span 0..={} is not a range (lines count from 1); the finding's \
             edits are left out",
            i + 1,
            r.end
        )),
        _ => None,
    });
    let edits = if not_a_range.is_some() {
        Vec::new()
    } else {
        f.edits
    };
    Finding {
        id: String::new(),
        skill: skill.to_string(),
        kind: f.kind.into(),
        rule: f.rule.into(),
        title: f.title.into(),
        message: f.message.into(),
        locations: f.locations.into_iter().map(location_from_wit).collect(),
        impact: Impact {
            sample_share: f.impact.sample_share.map(|s| finite(s).clamp(0.0, 1.0)),
            value: f.impact.value.map(finite),
            unit: f.impact.unit.map(Untrusted::from),
            relative_change: f.impact.relative_change.map(finite),
        },
        confidence: finite(f.confidence).clamp(0.0, 1.0),
        evidence: f
            .evidence
            .into_iter()
            .map(|m| Measure {
                name: m.name.into(),
                value: finite(m.value),
                unit: m.unit.into(),
            })
            .collect(),
        edits: edits
            .into_iter()
            .map(|e| Edit {
                tree: e.tree.map(Untrusted::from),
                file: e.file.into(),
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
                replacement: e.replacement.into(),
            })
            .collect(),
        patch: None,
        patch_error: not_a_range.map(Untrusted::from),
        series: f.series.map(Untrusted::from),
        at: f.at.map(Untrusted::from),
        labels: f
            .labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        saving: None,
        overlaps: Vec::new(),
    }
    .fingerprinted()
}

fn location_from_wit(l: wit::Location) -> Location {
    Location {
        tree: l.tree.map(Untrusted::from),
        file: l.file.map(Untrusted::from),
        lines: l.lines.map(|r| LineRange {
            start: r.start,
            end: r.end,
        }),
        function: l.function.map(Untrusted::from),
    }
}

/// The text as the skill wrote it, for another skill.
fn raw(text: &Untrusted) -> String {
    text.raw().to_string()
}

/// The same finding in WIT form, to hand to a downstream skill.
pub fn finding_to_wit(f: &Finding) -> wit::Finding {
    wit::Finding {
        kind: f.kind.into(),
        rule: raw(&f.rule),
        title: raw(&f.title),
        message: raw(&f.message),
        locations: f
            .locations
            .iter()
            .map(|l| wit::Location {
                tree: l.tree.as_ref().map(raw),
                file: l.file.as_ref().map(raw),
                lines: l.lines.as_ref().map(|r| wit::LineRange {
                    start: r.start,
                    end: r.end,
                }),
                function: l.function.as_ref().map(raw),
            })
            .collect(),
        impact: wit::Impact {
            sample_share: f.impact.sample_share,
            value: f.impact.value,
            unit: f.impact.unit.as_ref().map(raw),
            relative_change: f.impact.relative_change,
        },
        confidence: f.confidence,
        evidence: f
            .evidence
            .iter()
            .map(|m| wit::Measure {
                name: raw(&m.name),
                value: m.value,
                unit: raw(&m.unit),
            })
            .collect(),
        edits: f
            .edits
            .iter()
            .map(|e| wit::Edit {
                tree: e.tree.as_ref().map(raw),
                file: raw(&e.file),
                span: match e.span {
                    Span::Lines { start, end } => wit::Span::Lines(wit::LineRange { start, end }),
                    Span::Bytes { start, end } => wit::Span::Bytes(wit::ByteRange { start, end }),
                },
                replacement: raw(&e.replacement),
            })
            .collect(),
        series: f.series.as_ref().map(raw),
        at: f.at.as_ref().map(raw),
        labels: f.labels.iter().map(|(k, v)| (raw(k), raw(v))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_edits(spans: Vec<wit::Span>) -> wit::Finding {
        wit::Finding {
            kind: wit::FindingKind::Opportunity,
            rule: "r".into(),
            title: "t".into(),
            message: String::new(),
            locations: Vec::new(),
            impact: wit::Impact {
                sample_share: None,
                value: None,
                unit: None,
                relative_change: None,
            },
            confidence: 1.0,
            evidence: Vec::new(),
            edits: spans
                .into_iter()
                .map(|span| wit::Edit {
                    tree: None,
                    file: "src/lib.rs".into(),
                    span,
                    replacement: "x".into(),
                })
                .collect(),
            series: None,
            at: None,
            labels: Vec::new(),
        }
    }

    #[test]
    fn a_line_span_from_line_zero_leaves_the_edits_out_and_says_why() {
        let lines = |start, end| wit::Span::Lines(wit::LineRange { start, end });
        let kept = finding_from_wit("s", with_edits(vec![lines(1, 1), lines(3, 2)]));
        assert_eq!(kept.edits.len(), 2);
        assert!(kept.patch_error.is_none());
        let left = finding_from_wit("s", with_edits(vec![lines(1, 1), lines(0, 6)]));
        assert!(left.edits.is_empty());
        assert_eq!(
            left.patch_error.unwrap().raw(),
            "edit 2: line span 0..=6 is not a range (lines count from 1); the finding's edits \
             are left out"
        );
    }
}
