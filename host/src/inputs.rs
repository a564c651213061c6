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

/// The inputs shared by all invocations of one run. Read-only once built, so one copy serves
/// every skill running concurrently.
#[derive(Debug, Default)]
pub struct Inputs {
    pub profiles: Vec<Arc<NamedProfile>>,
    pub trees: Vec<Arc<SourceTree>>,
}

impl Inputs {
    pub fn tree(&self, name: Option<&str>) -> Option<&Arc<SourceTree>> {
        match name {
            Some(name) => self.trees.iter().find(|t| t.name() == name),
            None => self.trees.first(),
        }
    }
}
