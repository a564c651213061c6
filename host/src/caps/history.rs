//! `history`: granted git repositories as resources: commits in a window, changes with the
//! functions they touch, diffs, blame and reverts, answered by libgit2 in the host. Every call
//! is counted, charged by the size of its answer, and recorded for the audit log.

use std::sync::Arc;

use joule_policy::{Capability, DenyRules};
use wasmtime::component::Resource;

use super::bindings::joule::skill::history::{
    BlameLine, ChangeKind, Commit, FileChange, Host, HostRepo, Hunk,
};
use super::{CallError, ErrorCode, HostCost, SkillState, call_error};
use crate::audit::{Op, Target};
use crate::deadline::Late;
use crate::history::{self, History, HistoryError};

/// A guest's handle on one granted repository.
pub struct RepoHandle {
    history: Arc<History>,
    name: u32,
}

impl HostCost for RepoHandle {
    const WHAT: &'static str = "a repository handle";
}

fn error(e: HistoryError) -> CallError {
    let code = match &e {
        HistoryError::NotFound(_) => ErrorCode::NotFound,
        HistoryError::InvalidArgument(_) => ErrorCode::InvalidArgument,
        HistoryError::Conflict(_) => ErrorCode::Unsupported,
        HistoryError::Io(_) => ErrorCode::Io,
        HistoryError::Denied(_) => ErrorCode::Denied,
    };
    call_error(code, e.to_string())
}

fn commit_record(c: history::CommitInfo) -> Commit {
    Commit {
        id: c.id,
        parent: c.parent,
        author: c.author,
        time: c.time,
        deployed: c.deployed,
        summary: c.summary,
        message: c.message,
    }
}

fn commit_size(c: &Commit) -> u64 {
    (c.id.len() + 48 + c.author.len() + c.summary.len() + c.message.len()) as u64
}

fn change_record(f: history::FileChange) -> FileChange {
    FileChange {
        path: f.path,
        old_path: f.old_path,
        kind: match f.kind {
            history::ChangeKind::Added => ChangeKind::Added,
            history::ChangeKind::Deleted => ChangeKind::Deleted,
            history::ChangeKind::Modified => ChangeKind::Modified,
            history::ChangeKind::Renamed => ChangeKind::Renamed,
        },
        added_lines: f.added,
        deleted_lines: f.deleted,
        hunks: f
            .hunks
            .into_iter()
            .map(|h| Hunk {
                old_start: h.old_start,
                old_count: h.old_count,
                new_start: h.new_start,
                new_count: h.new_count,
                functions: h.functions,
            })
            .collect(),
    }
}

fn change_size(f: &FileChange) -> u64 {
    let hunks: usize = f
        .hunks
        .iter()
        .map(|h| 16 + h.functions.iter().map(|n| n.len() + 8).sum::<usize>())
        .sum();
    (f.path.len() + f.old_path.as_ref().map_or(0, String::len) + 16 + hunks) as u64
}

impl SkillState {
    /// One call on a repository handle: counted, answered (with the skill's deny rules),
    /// charged by `size`, recorded with `what` (a commit id or a path) as its resource.
    ///
    /// libgit2 cannot be interrupted (a walk, a diff or a blame over a large history takes as
    /// long as it takes), so the answer is computed on a worker and waited for only until the
    /// invocation's deadline ([`crate::deadline`]); past it the skill is stopped.
    fn on_repo<T: Send + 'static>(
        &mut self,
        handle: &Resource<RepoHandle>,
        op: Op,
        what: &str,
        answer: impl FnOnce(&History, &DenyRules) -> Result<T, HistoryError> + Send + 'static,
        size: impl FnOnce(&T) -> u64,
    ) -> wasmtime::Result<Result<T, CallError>> {
        let started = self.begin(op)?;
        let h = self.table.get(handle)?;
        let history = h.history.clone();
        // Secrets committed to the repository are as secret as in a tree: the skill's deny
        // rules go with every answer that can carry file contents or paths.
        let grants = self.grants.clone();
        let worker = history.clone();
        let deadline = self.deadline;
        let cancel = self.cancel.clone();
        let worked = crate::deadline::until_or_cancelled(
            &self.skill_id,
            deadline,
            cancel.as_ref(),
            move || answer(&worker, &grants.deny),
        );
        let result = match worked {
            Ok(answer) => answer.map_err(error),
            Err(Late::Deadline) => {
                let reason = self.overdue(Some("in a history call"));
                return Err(self.stop(reason));
            }
            Err(Late::Cancelled) => return Err(self.stop(super::CANCELLED.to_string())),
            Err(Late::Lost(why)) => Err(call_error(ErrorCode::Io, why)),
        };
        let (bytes, denied) = match &result {
            Ok(v) => (size(v), None),
            Err(e) => (
                e.message.len() as u64 + 8,
                (e.code == ErrorCode::Denied).then_some(e.message.as_str()),
            ),
        };
        let resource = || Target::text(format!("{}:{what}", history.name()));
        self.end(started, op, resource, bytes, denied)?;
        Ok(result)
    }
}

impl Host for SkillState {
    fn granted(&mut self) -> wasmtime::Result<Vec<Resource<RepoHandle>>> {
        let started = self.begin(Op::HistoryGranted)?;
        let repos = self.inputs.histories.clone();
        let denied = (repos.is_empty() && !self.inputs.withheld_histories.is_empty()).then(|| {
            self.grants
                .withheld(Capability::History, &self.inputs.withheld_histories)
                .to_string()
        });
        let mut handles = Vec::with_capacity(repos.len());
        for history in repos {
            let name = self.audit.as_mut().map_or(0, |a| a.intern(history.name()));
            handles.push(self.push_handle(RepoHandle { history, name })?);
        }
        let bytes = handles.len() as u64 * 4;
        self.end(
            started,
            Op::HistoryGranted,
            || Target::None,
            bytes,
            denied.as_deref(),
        )?;
        Ok(handles)
    }
}

impl HostRepo for SkillState {
    fn name(&mut self, handle: Resource<RepoHandle>) -> wasmtime::Result<String> {
        let started = self.begin(Op::RepoName)?;
        let h = self.table.get(&handle)?;
        let (name, audit_name) = (h.history.name().to_string(), h.name);
        self.end(
            started,
            Op::RepoName,
            || Target::Name(audit_name),
            name.len() as u64,
            None,
        )?;
        Ok(name)
    }

    fn head(
        &mut self,
        handle: Resource<RepoHandle>,
    ) -> wasmtime::Result<Result<String, CallError>> {
        self.on_repo(
            &handle,
            Op::Head,
            "HEAD",
            |h, _| h.head(),
            |s| s.len() as u64,
        )
    }

    fn commits(
        &mut self,
        handle: Resource<RepoHandle>,
        since: i64,
        until: i64,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<Commit>, CallError>> {
        self.on_repo(
            &handle,
            Op::Commits,
            &format!("{since}..={until}"),
            move |h, _| {
                h.commits(since, until, limit as usize)
                    .map(|list| list.into_iter().map(commit_record).collect())
            },
            |list: &Vec<Commit>| list.iter().map(commit_size).sum(),
        )
    }

    fn commit(
        &mut self,
        handle: Resource<RepoHandle>,
        id: String,
    ) -> wasmtime::Result<Result<Commit, CallError>> {
        self.on_repo(
            &handle,
            Op::Commit,
            &id,
            {
                let id = id.clone();
                move |h, _| h.commit(&id).map(commit_record)
            },
            commit_size,
        )
    }

    fn changes(
        &mut self,
        handle: Resource<RepoHandle>,
        id: String,
    ) -> wasmtime::Result<Result<Vec<FileChange>, CallError>> {
        self.on_repo(
            &handle,
            Op::Changes,
            &id,
            {
                let id = id.clone();
                move |h, deny| {
                    h.changes(&id).map(|list| {
                        list.into_iter()
                            .filter(|c| {
                                deny.visible(&c.path)
                                    && c.old_path.as_deref().is_none_or(|p| deny.visible(p))
                            })
                            .map(change_record)
                            .collect()
                    })
                }
            },
            |list: &Vec<FileChange>| list.iter().map(change_size).sum(),
        )
    }

    fn diff(
        &mut self,
        handle: Resource<RepoHandle>,
        id: String,
    ) -> wasmtime::Result<Result<String, CallError>> {
        self.on_repo(
            &handle,
            Op::CommitDiff,
            &id,
            {
                let id = id.clone();
                move |h, deny| h.diff(&id, &|p| deny.visible(p))
            },
            |s| s.len() as u64,
        )
    }

    fn blame(
        &mut self,
        handle: Resource<RepoHandle>,
        path: String,
        start: u32,
        end: u32,
    ) -> wasmtime::Result<Result<Vec<BlameLine>, CallError>> {
        self.on_repo(
            &handle,
            Op::Blame,
            &path,
            {
                let path = path.clone();
                move |h, deny| {
                    if let Err(denial) = deny.check(&path, None) {
                        return Err(HistoryError::Denied(denial.to_string()));
                    }
                    h.blame(&path, start, end).map(|lines| {
                        lines
                            .into_iter()
                            .map(|l| BlameLine {
                                line: l.line,
                                commit: l.commit,
                                author: l.author,
                                time: l.time,
                            })
                            .collect()
                    })
                }
            },
            |lines: &Vec<BlameLine>| {
                lines
                    .iter()
                    .map(|l| (l.commit.len() + l.author.len() + 16) as u64)
                    .sum()
            },
        )
    }

    fn revert(
        &mut self,
        handle: Resource<RepoHandle>,
        id: String,
    ) -> wasmtime::Result<Result<String, CallError>> {
        self.on_repo(
            &handle,
            Op::Revert,
            &id,
            {
                let id = id.clone();
                move |h, deny| h.revert(&id, &|p| deny.visible(p))
            },
            |s| s.len() as u64,
        )
    }

    fn drop(&mut self, handle: Resource<RepoHandle>) -> wasmtime::Result<()> {
        let started = self.begin(Op::DropRepo)?;
        let h = self.drop_handle(handle)?;
        self.end(started, Op::DropRepo, || Target::Name(h.name), 0, None)
    }
}
