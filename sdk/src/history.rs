//! Granted git repositories: commits in a deploy window, what each changed (with the functions
//! its hunks touch), diffs, blame and revert patches, all answered by the host.

use crate::CallError;
use crate::bindings::joule::skill::history::{self as wit, granted};

pub use wit::{BlameLine, ChangeKind, Commit, FileChange, Hunk};

/// One granted repository.
pub struct Repo {
    raw: wit::Repo,
    name: String,
}

impl Repo {
    /// Every repository granted to this invocation.
    pub fn granted() -> Vec<Repo> {
        granted()
            .into_iter()
            .map(|raw| {
                let name = raw.name();
                Repo { raw, name }
            })
            .collect()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn head(&self) -> Result<String, CallError> {
        self.raw.head()
    }

    /// Commits deployed in `since..=until` (Unix seconds), newest first.
    pub fn commits(&self, since: i64, until: i64, limit: u32) -> Result<Vec<Commit>, CallError> {
        self.raw.commits(since, until, limit)
    }

    pub fn commit(&self, id: &str) -> Result<Commit, CallError> {
        self.raw.commit(id)
    }

    pub fn changes(&self, id: &str) -> Result<Vec<FileChange>, CallError> {
        self.raw.changes(id)
    }

    /// The functions a commit's hunks touch, each once.
    pub fn functions_changed(&self, id: &str) -> Result<Vec<String>, CallError> {
        let mut out: Vec<String> = Vec::new();
        for change in self.changes(id)? {
            for hunk in change.hunks {
                for f in hunk.functions {
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn diff(&self, id: &str) -> Result<String, CallError> {
        self.raw.diff(id)
    }

    pub fn blame(&self, path: &str, start: u32, end: u32) -> Result<Vec<BlameLine>, CallError> {
        self.raw.blame(path, start, end)
    }

    /// A patch that undoes commit `id` on top of HEAD, or why it does not revert cleanly.
    pub fn revert(&self, id: &str) -> Result<String, CallError> {
        self.raw.revert(id)
    }
}
