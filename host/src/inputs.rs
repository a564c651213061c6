//! What an invocation may read: the profiles and source trees the operator gave.

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
}

impl Inputs {
    pub fn tree(&self, name: Option<&str>) -> Option<&Arc<SourceTree>> {
        match name {
            Some(name) => self.trees.iter().find(|t| t.name() == name),
            None => self.trees.first(),
        }
    }
}
