//! What an invocation may read: the profiles, source trees, metric sets and repositories the
//! operator gave, and the part of them one skill's grants let through.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use joule_policy::{Capability, ProfileGrant, SkillGrants};
use joule_profile::model::Profile;

use crate::history::History;
use crate::source::SourceTree;

/// A profile as granted: its model and the name skills see it under.
#[derive(Debug)]
pub struct NamedProfile {
    /// The file name, which is what skills and reports call it.
    pub name: String,
    pub path: PathBuf,
    pub profile: Profile,
}

/// A metric set as granted: its series and the name skills see it under.
#[derive(Debug)]
pub struct NamedMetrics {
    /// The file name.
    pub name: String,
    pub path: PathBuf,
    pub set: crate::metrics::MetricSet,
}

/// What one skill may read: the inputs of the run its grants let through. Read-only once
/// built, so one copy serves every invocation of the skill, concurrently.
#[derive(Debug, Default)]
pub struct Inputs {
    pub profiles: Vec<Arc<NamedProfile>>,
    pub trees: Vec<Arc<SourceTree>>,
    /// Names of the run's profiles this skill may not read (for denial messages).
    pub withheld_profiles: Vec<String>,
    /// Names of the run's trees this skill may not read.
    pub withheld_trees: Vec<String>,
    pub metrics: Vec<Arc<NamedMetrics>>,
    /// Names of the run's metric sets this skill may not read.
    pub withheld_metrics: Vec<String>,
    pub histories: Vec<Arc<History>>,
    /// Names of the run's repositories this skill may not read.
    pub withheld_histories: Vec<String>,
}

impl Inputs {
    pub fn tree(&self, name: Option<&str>) -> Option<&Arc<SourceTree>> {
        match name {
            Some(name) => self.trees.iter().find(|t| t.name() == name),
            None => self.trees.first(),
        }
    }
}

/// Profiles filtered to one label value, made once per profile and label and shared by every
/// skill granted that view.
#[derive(Default)]
pub struct ProfileViews {
    by_label: HashMap<(PathBuf, String, String), Arc<NamedProfile>>,
}

impl ProfileViews {
    /// The samples of `p` that carry label `key=value`.
    fn view(&mut self, p: &Arc<NamedProfile>, key: &str, value: &str) -> &Arc<NamedProfile> {
        self.by_label
            .entry((p.path.clone(), key.to_string(), value.to_string()))
            .or_insert_with(|| {
                let wanted = [(key.to_string(), Some(value.to_string()))];
                Arc::new(NamedProfile {
                    name: p.name.clone(),
                    path: p.path.clone(),
                    profile: p
                        .profile
                        .retain_stacks(|i| p.profile.stack_has_labels(i, &wanted)),
                })
            })
    }
}

/// The inputs of kind `capability` that `grants` let through, and the names of the others.
fn split<T>(
    all: &[Arc<T>],
    grants: &SkillGrants,
    capability: Capability,
    name: impl Fn(&T) -> &str,
) -> (Vec<Arc<T>>, Vec<String>) {
    let (granted, withheld): (Vec<_>, Vec<_>) = all
        .iter()
        .partition(|item| grants.allows(capability, name(item)));
    (
        granted.into_iter().cloned().collect(),
        withheld.into_iter().map(|i| name(i).to_string()).collect(),
    )
}

impl Inputs {
    /// The part of these (the run's) inputs that `grants` let through; label views of
    /// profiles come from (and go into) `views`.
    pub fn granted_to(&self, grants: &SkillGrants, views: &mut ProfileViews) -> Inputs {
        let mut profiles = Vec::new();
        let mut withheld_profiles = Vec::new();
        for p in &self.profiles {
            let grant = grants.profile(&p.name, |key, value| {
                views.view(p, key, value).profile.stack_count() > 0
            });
            match grant {
                Some(ProfileGrant::Whole) => profiles.push(p.clone()),
                Some(ProfileGrant::Label { key, value }) => {
                    profiles.push(views.view(p, key, value).clone())
                }
                None => withheld_profiles.push(p.name.clone()),
            }
        }
        let (trees, withheld_trees) = split(&self.trees, grants, Capability::Source, |t| t.name());
        let (metrics, withheld_metrics) =
            split(&self.metrics, grants, Capability::Metrics, |m| &m.name);
        let (histories, withheld_histories) =
            split(&self.histories, grants, Capability::History, |h| h.name());
        Inputs {
            profiles,
            trees,
            withheld_profiles,
            withheld_trees,
            metrics,
            withheld_metrics,
            histories,
            withheld_histories,
        }
    }
}
