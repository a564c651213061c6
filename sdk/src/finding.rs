//! A builder for findings: `Finding::opportunity("rule").title(..).share(..).build()`.

use crate::{Edit, Finding, FindingKind, Impact, LineRange, Location, Measure, Span};

/// Builds a [`Finding`]; start from [`Finding::opportunity`], [`Finding::info`] or
/// [`Finding::of_kind`].
pub struct FindingBuilder {
    finding: Finding,
}

impl Finding {
    /// Hands `findings` to the host now, before `run` returns: a long scan that reports as it
    /// goes keeps what it found if a limit (its deadline, its memory) then stops it. The host
    /// ranks them with what `run` returns, within the same findings limits; return only the
    /// findings not reported yet.
    pub fn report(findings: &[Finding]) {
        if !findings.is_empty() {
            crate::bindings::joule::skill::findings::report(findings);
        }
    }

    pub fn of_kind(kind: FindingKind, rule: &str) -> FindingBuilder {
        FindingBuilder {
            finding: Finding {
                kind,
                rule: rule.to_string(),
                title: String::new(),
                message: String::new(),
                locations: Vec::new(),
                impact: Impact {
                    sample_share: None,
                    value: None,
                    unit: None,
                    relative_change: None,
                },
                confidence: 1.0,
                evidence: Vec::new(),
                edits: Vec::new(),
                series: None,
                at: None,
                labels: Vec::new(),
            },
        }
    }

    pub fn opportunity(rule: &str) -> FindingBuilder {
        Self::of_kind(FindingKind::Opportunity, rule)
    }

    pub fn info(rule: &str) -> FindingBuilder {
        Self::of_kind(FindingKind::Info, rule)
    }

    /// A resource use that got worse: give it `series`, `at` and `relative_change`.
    pub fn regression(rule: &str) -> FindingBuilder {
        Self::of_kind(FindingKind::Regression, rule)
    }
}

impl Location {
    /// A location naming only a function.
    pub fn function(name: &str) -> Location {
        Location {
            tree: None,
            file: None,
            lines: None,
            function: Some(name.to_string()),
        }
    }

    /// A location in a file of a tree, at lines `start..=end`.
    pub fn lines(tree: &str, file: &str, start: u32, end: u32) -> Location {
        Location {
            tree: Some(tree.to_string()),
            file: Some(file.to_string()),
            lines: Some(LineRange { start, end }),
            function: None,
        }
    }

    /// The lines of what a syntax query captured in `file` of `tree`.
    pub fn capture(tree: &str, file: &str, capture: &crate::SyntaxCapture) -> Location {
        Self::lines(tree, file, capture.lines.start, capture.lines.end)
    }

    pub fn in_function(mut self, name: &str) -> Location {
        self.function = Some(name.to_string());
        self
    }
}

impl Edit {
    /// Replace bytes `start..end` of `file` in `tree`.
    pub fn bytes(tree: &str, file: &str, start: usize, end: usize, replacement: &str) -> Edit {
        Edit {
            tree: Some(tree.to_string()),
            file: file.to_string(),
            span: Span::Bytes(crate::ByteRange {
                start: start as u64,
                end: end as u64,
            }),
            replacement: replacement.to_string(),
        }
    }

    /// Replace what a syntax query captured in `file` of `tree`.
    pub fn capture(
        tree: &str,
        file: &str,
        capture: &crate::SyntaxCapture,
        replacement: &str,
    ) -> Edit {
        Self::bytes(
            tree,
            file,
            capture.bytes.start as usize,
            capture.bytes.end as usize,
            replacement,
        )
    }

    /// Replace lines `start..=end` of `file` in `tree` (`end = start - 1` inserts).
    pub fn lines(tree: &str, file: &str, start: u32, end: u32, replacement: &str) -> Edit {
        Edit {
            tree: Some(tree.to_string()),
            file: file.to_string(),
            span: Span::Lines(LineRange { start, end }),
            replacement: replacement.to_string(),
        }
    }
}

impl FindingBuilder {
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.finding.title = title.into();
        self
    }

    /// Markdown.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.finding.message = message.into();
        self
    }

    /// Adds a location; the first one added is the primary one.
    pub fn location(mut self, location: Location) -> Self {
        self.finding.locations.push(location);
        self
    }

    /// The fraction (0..1) of the profile this finding accounts for.
    pub fn share(mut self, share: f64) -> Self {
        self.finding.impact.sample_share = Some(share);
        self
    }

    /// What `value` (in the profile's default sample type) amounts to in `profile`: the
    /// finding's share and value, the share as evidence, and the profile's name as a label.
    pub fn measured(self, profile: &crate::Profile, value: i64) -> Self {
        let share = profile.share(value);
        self.share(share)
            .value(value as f64, profile.unit())
            .evidence("share of profile", share * 100.0, "%")
            .label("profile", profile.name())
    }

    /// The fraction (0..1) of the profile the fix is expected to remove, when it is less than
    /// [`FindingBuilder::share`] (a fix that keeps part of the cost). The host turns it into
    /// cores and watts for the operator's fleet; without it, the share is used.
    pub fn saving(self, share: f64) -> Self {
        self.evidence("saving", share, "share")
    }

    /// The absolute amount, in `unit` (e.g. nanoseconds of CPU).
    pub fn value(mut self, value: f64, unit: &str) -> Self {
        self.finding.impact.value = Some(value);
        self.finding.impact.unit = Some(unit.to_string());
        self
    }

    pub fn confidence(mut self, confidence: f64) -> Self {
        self.finding.confidence = confidence;
        self
    }

    pub fn evidence(mut self, name: &str, value: f64, unit: &str) -> Self {
        self.finding.evidence.push(Measure {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
        });
        self
    }

    pub fn edit(mut self, edit: Edit) -> Self {
        self.finding.edits.push(edit);
        self
    }

    /// For regressions: the series the change was found in.
    pub fn series(mut self, series: impl Into<String>) -> Self {
        self.finding.series = Some(series.into());
        self
    }

    /// For regressions: when the change happened, in the input's own form.
    pub fn at(mut self, at: impl Into<String>) -> Self {
        self.finding.at = Some(at.into());
        self
    }

    /// For regressions: the relative change of the series (`0.012` for +1.2%).
    pub fn relative_change(mut self, change: f64) -> Self {
        self.finding.impact.relative_change = Some(change);
        self
    }

    pub fn label(mut self, key: &str, value: impl Into<String>) -> Self {
        self.finding.labels.push((key.to_string(), value.into()));
        self
    }

    pub fn build(self) -> Finding {
        self.finding
    }
}
