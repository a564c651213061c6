//! A builder for the [`Descriptor`] a skill returns from `describe`.

use crate::{Descriptor, FindingFilter, FindingKind, Parameter, Trigger};

/// Builds a [`Descriptor`]. A skill with no trigger given runs on `scan`.
pub struct Describe {
    descriptor: Descriptor,
}

impl Describe {
    pub fn new(id: &str, version: &str, summary: &str) -> Self {
        Describe {
            descriptor: Descriptor {
                id: id.to_string(),
                version: version.to_string(),
                summary: summary.to_string(),
                triggers: Vec::new(),
                capabilities: Vec::new(),
                parameters: Vec::new(),
            },
        }
    }

    /// An offense skill: runs on scan over profiles and source (and logs), and takes
    /// `min-share`, the smallest share of a profile a finding must account for (`default`, as
    /// the operator would write it).
    pub fn offense(id: &str, version: &str, summary: &str, min_share: &str) -> Self {
        Self::new(id, version, summary)
            .on_scan()
            .uses("profiles")
            .uses("source")
            .uses("log")
            .parameter(
                "min-share",
                "Report only what accounts for at least this fraction of the profile.",
                Some(min_share),
            )
    }

    /// Run once over the granted inputs.
    pub fn on_scan(mut self) -> Self {
        self.descriptor.triggers.push(Trigger::Scan);
        self
    }

    /// Run once per upstream finding of `kind` (from `rule`, when given).
    pub fn on_finding(mut self, kind: FindingKind, rule: Option<&str>) -> Self {
        self.descriptor
            .triggers
            .push(Trigger::Finding(FindingFilter {
                kind,
                rule: rule.map(str::to_string),
            }));
        self
    }

    /// Declares a capability the skill uses: `profiles`, `source`, `log`, `history`, `metrics`.
    pub fn uses(mut self, capability: &str) -> Self {
        self.descriptor.capabilities.push(capability.to_string());
        self
    }

    pub fn parameter(mut self, name: &str, description: &str, default: Option<&str>) -> Self {
        self.descriptor.parameters.push(Parameter {
            name: name.to_string(),
            description: description.to_string(),
            default_value: default.map(str::to_string),
        });
        self
    }

    pub fn build(mut self) -> Descriptor {
        if self.descriptor.triggers.is_empty() {
            self.descriptor.triggers.push(Trigger::Scan);
        }
        self.descriptor
    }
}
