//! What an invocation may read: the profiles, source trees and metric sets the operator gave.

use std::path::PathBuf;
use std::sync::Arc;

use crate::model::Profile;
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
    #[cfg(feature = "runtime")]
    pub histories: Vec<Arc<crate::history::History>>,
    /// Names of the run's repositories this skill may not read.
    #[cfg(feature = "runtime")]
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
