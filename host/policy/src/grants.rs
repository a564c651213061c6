//! What one skill may do: which inputs of the run it may read (and which it may not, for the
//! denials), which risky WASI interfaces it may import, its deny rules and its limits.
//!
//! The host hands a skill only what [`SkillGrants`] selects here; a skill that asks for what was
//! withheld gets a [`Denial`] naming the grant that would allow it.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::capability::{Capability, risky};
use crate::denial::Denial;
use crate::deny::DenyRules;
use crate::file::PolicyPlace;
use crate::limits::Limits;

/// Which profiles a skill may read.
#[derive(Clone, Debug)]
pub enum ProfileSelector {
    /// Profiles whose name matches the glob.
    Name(globset::GlobMatcher, String),
    /// The samples of every profile that carry this label (a filtered view).
    Label { key: String, value: String },
}

impl ProfileSelector {
    pub(crate) fn parse(s: &str) -> anyhow::Result<Self> {
        use anyhow::Context;
        if let Some(label) = s.strip_prefix("label:") {
            let (key, value) = label
                .split_once('=')
                .with_context(|| format!("profile selector {s:?}: expected label:KEY=VALUE"))?;
            return Ok(ProfileSelector::Label {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        let glob = globset::Glob::new(s).with_context(|| format!("profile selector {s:?}"))?;
        Ok(ProfileSelector::Name(glob.compile_matcher(), s.to_string()))
    }

    /// As written in the policy.
    pub fn text(&self) -> String {
        match self {
            ProfileSelector::Name(_, text) => text.clone(),
            ProfileSelector::Label { key, value } => format!("label:{key}={value}"),
        }
    }
}

/// How a skill may read one profile of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileGrant<'a> {
    /// All of it.
    Whole,
    /// Only the samples carrying this label.
    Label { key: &'a str, value: &'a str },
}

/// What one skill may do.
#[derive(Clone, Debug)]
pub struct SkillGrants {
    pub skill: String,
    /// `None` grants every profile (open mode).
    pub profiles: Option<Vec<ProfileSelector>>,
    /// `None` grants every tree (open mode).
    pub sources: Option<BTreeSet<String>>,
    /// Metric sets by name glob; `None` grants every one given (open mode).
    pub metrics: Option<Vec<globset::GlobMatcher>>,
    /// Repositories by the name given with `--history NAME=DIR`; `None` grants every one.
    pub history: Option<BTreeSet<String>>,
    pub deny: Arc<DenyRules>,
    pub wasi: BTreeSet<String>,
    pub limits: Limits,
    /// The skill's `[[skill]]` entry, where grants are added (for denial messages).
    pub place: Option<PolicyPlace>,
}

impl SkillGrants {
    /// What a skill may do without a policy: every input given, built-in secrets denied, no
    /// risky WASI, the given limits.
    pub fn open(skill: &str, limits: Limits) -> Self {
        SkillGrants {
            skill: skill.to_string(),
            profiles: None,
            sources: None,
            metrics: None,
            history: None,
            deny: Arc::new(DenyRules::builtin(skill)),
            wasi: BTreeSet::new(),
            limits,
            place: None,
        }
    }

    /// Whether a risky WASI interface import (`wasi:sockets/tcp@0.2.6`) is granted; `None`
    /// when the import is not a risky one.
    pub fn risky_import(&self, import: &str) -> Option<(&'static str, bool)> {
        risky(import).map(|name| (name, self.wasi.contains(name)))
    }

    /// A sentence saying where to grant something to this skill.
    pub fn how_to_grant(&self, what: &str) -> String {
        match &self.place {
            Some(place) => format!("add {what} to [[skill]] \"{}\" ({place})", self.skill),
            None => format!("run with a policy that grants {what} (see docs/security.md)"),
        }
    }

    /// Whether the grants let through any input of this kind at all (open mode lets through
    /// everything; the log needs no grant).
    pub fn grants_any(&self, capability: Capability) -> bool {
        match capability {
            Capability::Profiles => self.profiles.as_ref().is_none_or(|p| !p.is_empty()),
            Capability::Source => self.sources.as_ref().is_none_or(|s| !s.is_empty()),
            Capability::Metrics => self.metrics.as_ref().is_none_or(|m| !m.is_empty()),
            Capability::History => self.history.as_ref().is_none_or(|h| !h.is_empty()),
            Capability::Log => true,
        }
    }

    /// Whether the input of this kind named `name` may be read: a source tree or repository by
    /// its name, a metric set by name glob. Profiles are judged by [`SkillGrants::profile`].
    pub fn allows(&self, capability: Capability, name: &str) -> bool {
        match capability {
            Capability::Source => self.sources.as_ref().is_none_or(|s| s.contains(name)),
            Capability::History => self.history.as_ref().is_none_or(|h| h.contains(name)),
            Capability::Metrics => self
                .metrics
                .as_ref()
                .is_none_or(|globs| globs.iter().any(|g| g.is_match(name))),
            Capability::Profiles => self.profiles.as_ref().is_none_or(|selectors| {
                selectors
                    .iter()
                    .any(|s| matches!(s, ProfileSelector::Name(g, _) if g.is_match(name)))
            }),
            Capability::Log => true,
        }
    }

    /// How the profile named `name` may be read, or `None` when it is withheld. Selectors are
    /// tried in the policy's order: a name glob grants the whole profile; a label grants the
    /// samples carrying it, when `has_samples(key, value)` says the profile has any.
    pub fn profile(
        &self,
        name: &str,
        mut has_samples: impl FnMut(&str, &str) -> bool,
    ) -> Option<ProfileGrant<'_>> {
        let Some(selectors) = &self.profiles else {
            return Some(ProfileGrant::Whole);
        };
        for selector in selectors {
            match selector {
                ProfileSelector::Name(glob, _) if glob.is_match(name) => {
                    return Some(ProfileGrant::Whole);
                }
                ProfileSelector::Label { key, value } if has_samples(key, value) => {
                    return Some(ProfileGrant::Label { key, value });
                }
                _ => {}
            }
        }
        None
    }

    /// The denial a skill gets when it asks for its inputs of this kind and the run had some
    /// (`withheld`, by name) but none is granted to it.
    pub fn withheld(&self, capability: Capability, withheld: &[String]) -> Denial {
        let reason = match capability {
            Capability::Source => {
                format!("source trees {withheld:?} are not granted to this skill")
            }
            Capability::Profiles => format!(
                "{} profile(s) given to the run are not granted to this skill",
                withheld.len()
            ),
            Capability::Metrics => format!(
                "{} metric set(s) given to the run are not granted to this skill",
                withheld.len()
            ),
            Capability::History | Capability::Log => format!(
                "{} {} given to the run are not granted to this skill",
                withheld.len(),
                capability.many()
            ),
        };
        let key = capability.policy_key().unwrap_or("log");
        Denial::new(reason, self.how_to_grant(&format!("{key} = [\"NAME\"]")))
    }

    /// The grants in words, for `joule audit`.
    pub fn describe(&self) -> GrantsView {
        fn listed<T>(
            list: &Option<impl AsRef<[T]>>,
            every: &str,
            text: impl Fn(&T) -> String,
        ) -> String {
            match list {
                None => every.to_string(),
                Some(l) if l.as_ref().is_empty() => "none".to_string(),
                Some(l) => l.as_ref().iter().map(text).collect::<Vec<_>>().join(", "),
            }
        }
        let names = |set: &Option<BTreeSet<String>>, every: &str| {
            listed(
                &set.as_ref().map(|s| s.iter().cloned().collect::<Vec<_>>()),
                every,
                String::clone,
            )
        };
        GrantsView {
            profiles: listed(&self.profiles, "every profile given", ProfileSelector::text),
            sources: names(&self.sources, "every tree given"),
            metrics: listed(&self.metrics, "every metric set given", |m| {
                m.glob().glob().to_string()
            }),
            history: names(&self.history, "every repository given"),
            deny: self.deny.describe(),
            wasi: self.wasi.iter().cloned().collect(),
            limits: self.limits.describe(),
        }
    }
}

/// A skill's grants in words (`joule audit`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct GrantsView {
    pub profiles: String,
    pub sources: String,
    pub metrics: String,
    pub history: String,
    pub deny: String,
    pub wasi: Vec<String>,
    pub limits: String,
}
