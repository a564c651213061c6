//! Version history of a granted git repository, read-only, through libgit2: commits in a
//! deploy window, what each changed (files, hunks, the functions the hunks touch), diffs, blame,
//! and the patch that reverts a commit on top of HEAD. Skills see it through `history`.
//!
//! Read-only means nothing is written to the repository, not even by the answers libgit2
//! computes by writing: reverts are merged in a scratch repository held in memory
//! (`revert.rs`). The tests snapshot a repository (every file's contents, size, mode and
//! modification time, `.git` included) before and after asking it everything.

mod functions;
mod revert;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use git2::{DiffFormat, DiffOptions, Oid, Repository, Sort};

pub use functions::enclosing_functions;
use revert::Reverted;

/// Commits one `commits` call returns at most.
pub const MAX_COMMITS: usize = 10_000;

/// Why a history query has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryError {
    NotFound(String),
    InvalidArgument(String),
    /// The commit does not revert cleanly on HEAD.
    Conflict(String),
    /// The skill's deny rules cover the path.
    Denied(String),
    Io(String),
}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryError::NotFound(m)
            | HistoryError::InvalidArgument(m)
            | HistoryError::Conflict(m)
            | HistoryError::Denied(m)
            | HistoryError::Io(m) => f.write_str(m),
        }
    }
}

fn io(e: git2::Error) -> HistoryError {
    HistoryError::Io(e.message().to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub parent: Option<String>,
    pub author: String,
    pub time: i64,
    pub deployed: i64,
    pub summary: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: u32,
    pub old_count: u32,
    pub new_start: u32,
    pub new_count: u32,
    pub functions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Deleted,
    Modified,
    Renamed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub old_path: Option<String>,
    pub kind: ChangeKind,
    pub added: u32,
    pub deleted: u32,
    pub hunks: Vec<Hunk>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlameLine {
    pub line: u32,
    pub commit: String,
    pub author: String,
    pub time: i64,
}

/// One granted repository. A libgit2 handle serves one call at a time, so calls borrow one from
/// a pool (opening another when all are busy): a slow call of one skill holds up no other's.
pub struct History {
    name: String,
    dir: PathBuf,
    repos: Mutex<Vec<Repository>>,
    /// Full commit id -> when it reached production, from the deploy log.
    deploys: HashMap<Oid, i64>,
}

/// Idle handles kept per repository; more are opened when calls overlap, and closed after.
const POOLED_HANDLES: usize = 4;

/// A repository handle borrowed from a [`History`]'s pool; back to the pool when dropped.
struct Pooled<'h> {
    history: &'h History,
    repo: Option<Repository>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Repository;

    fn deref(&self) -> &Repository {
        // Taken only in `drop`.
        self.repo.as_ref().expect("a pooled repository handle")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut idle = self.history.repos.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(repo) = self.repo.take()
            && idle.len() < POOLED_HANDLES
        {
            idle.push(repo);
        }
    }
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("deploys", &self.deploys.len())
            .finish()
    }
}

impl History {
    /// Opens the repository at `dir` (its work tree or its `.git`), with an optional deploy
    /// log: CSV lines `timestamp,commit` (a header line is allowed; timestamps are Unix seconds
    /// or RFC 3339; commits full or abbreviated ids).
    pub fn open(name: String, dir: &Path, deploy_log: Option<&Path>) -> anyhow::Result<Self> {
        let repo = Repository::open(dir)
            .with_context(|| format!("{}: not a git repository", dir.display()))?;
        let mut deploys = HashMap::new();
        if let Some(log) = deploy_log {
            let text = std::fs::read_to_string(log)
                .with_context(|| format!("{}: cannot read the deploy log", log.display()))?;
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let place = || format!("{}:{}", log.display(), i + 1);
                let Some((time, commit)) = line.split_once(',') else {
                    anyhow::bail!("{}: expected `timestamp,commit`", place());
                };
                let Some((_, t)) = crate::metrics::parse_timestamp(time) else {
                    if i == 0 {
                        continue; // a header
                    }
                    anyhow::bail!("{}: {time:?} is not a timestamp", place());
                };
                let oid = repo
                    .revparse_single(commit.trim())
                    .and_then(|o| o.peel_to_commit())
                    .map(|c| c.id())
                    .with_context(|| {
                        format!(
                            "{}: commit {:?} is not in the repository",
                            place(),
                            commit.trim()
                        )
                    })?;
                deploys.insert(oid, t);
            }
        }
        Ok(History {
            name,
            dir: dir.to_path_buf(),
            repos: Mutex::new(vec![repo]),
            deploys,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every commit in the deploy log with when it was deployed, in time order.
    pub fn deploys(&self) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = self
            .deploys
            .iter()
            .map(|(oid, &t)| (oid.to_string(), t))
            .collect();
        out.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        out
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A handle on the repository for one call: an idle one from the pool, else a new one.
    fn repo(&self) -> Result<Pooled<'_>, HistoryError> {
        let idle = self.repos.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let repo = match idle {
            Some(repo) => repo,
            None => Repository::open(&self.dir).map_err(io)?,
        };
        Ok(Pooled {
            history: self,
            repo: Some(repo),
        })
    }

    fn info(&self, c: &git2::Commit<'_>) -> CommitInfo {
        let time = c.time().seconds();
        CommitInfo {
            id: c.id().to_string(),
            parent: c.parent_ids().next().map(|p| p.to_string()),
            author: c.author().name().unwrap_or_default().to_string(),
            time,
            deployed: self.deploys.get(&c.id()).copied().unwrap_or(time),
            summary: c.summary().unwrap_or_default().to_string(),
            message: c.message().unwrap_or_default().to_string(),
        }
    }

    fn find<'r>(repo: &'r Repository, id: &str) -> Result<git2::Commit<'r>, HistoryError> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(HistoryError::InvalidArgument(format!(
                "{id:?} is not a commit id (hex, 4 to 40 digits)"
            )));
        }
        repo.revparse_single(id)
            .and_then(|o| o.peel_to_commit())
            .map_err(|_| HistoryError::NotFound(format!("commit {id} is not in the repository")))
    }

    pub fn head(&self) -> Result<String, HistoryError> {
        let repo = self.repo()?;
        let head = repo.head().and_then(|h| h.peel_to_commit()).map_err(io)?;
        Ok(head.id().to_string())
    }

    pub fn commit(&self, id: &str) -> Result<CommitInfo, HistoryError> {
        let repo = self.repo()?;
        let c = Self::find(&repo, id)?;
        Ok(self.info(&c))
    }

    /// Commits reachable from HEAD whose deploy time is in `since..=until`, newest first.
    pub fn commits(
        &self,
        since: i64,
        until: i64,
        limit: usize,
    ) -> Result<Vec<CommitInfo>, HistoryError> {
        let repo = self.repo()?;
        let mut walk = repo.revwalk().map_err(io)?;
        walk.set_sorting(Sort::TIME).map_err(io)?;
        walk.push_head().map_err(io)?;
        let mut out = Vec::new();
        let limit = limit.min(MAX_COMMITS);
        for oid in walk {
            if out.len() >= limit {
                break;
            }
            let oid = oid.map_err(io)?;
            let c = repo.find_commit(oid).map_err(io)?;
            let info = self.info(&c);
            if (since..=until).contains(&info.deployed) {
                out.push(info);
            }
        }
        out.sort_by(|a, b| b.deployed.cmp(&a.deployed).then(b.time.cmp(&a.time)));
        Ok(out)
    }

    fn commit_diff<'r>(
        repo: &'r Repository,
        c: &git2::Commit<'r>,
        context: u32,
    ) -> Result<git2::Diff<'r>, HistoryError> {
        let new = c.tree().map_err(io)?;
        let old = match c.parents().next() {
            Some(p) => Some(p.tree().map_err(io)?),
            None => None,
        };
        let mut options = DiffOptions::new();
        options.context_lines(context);
        let mut diff = repo
            .diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut options))
            .map_err(io)?;
        diff.find_similar(None).map_err(io)?;
        Ok(diff)
    }

    /// What a commit changed against its first parent, hunk by hunk, with the functions each
    /// hunk overlaps (qualified names, from the new file's syntax tree; the old one's for lines
    /// only deleted).
    pub fn changes(&self, id: &str) -> Result<Vec<FileChange>, HistoryError> {
        let repo = self.repo()?;
        let c = Self::find(&repo, id)?;
        let diff = Self::commit_diff(&repo, &c, 0)?;
        let mut out = Vec::new();
        for (i, delta) in diff.deltas().enumerate() {
            let path = |f: git2::DiffFile<'_>| {
                f.path()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default()
            };
            let (old_path, new_path) = (path(delta.old_file()), path(delta.new_file()));
            let kind = match delta.status() {
                git2::Delta::Added => ChangeKind::Added,
                git2::Delta::Deleted => ChangeKind::Deleted,
                git2::Delta::Renamed => ChangeKind::Renamed,
                _ => ChangeKind::Modified,
            };
            let text = |oid: Oid| -> String {
                repo.find_blob(oid)
                    .ok()
                    .filter(|b| !b.is_binary())
                    .map(|b| String::from_utf8_lossy(b.content()).into_owned())
                    .unwrap_or_default()
            };
            let new_text = text(delta.new_file().id());
            let old_text = text(delta.old_file().id());
            let mut change = FileChange {
                path: if kind == ChangeKind::Deleted {
                    old_path.clone()
                } else {
                    new_path.clone()
                },
                old_path: (kind == ChangeKind::Renamed).then_some(old_path.clone()),
                kind,
                added: 0,
                deleted: 0,
                hunks: Vec::new(),
            };
            if let Ok(Some(patch)) = git2::Patch::from_diff(&diff, i) {
                if let Ok((_, added, deleted)) = patch.line_stats() {
                    change.added = added as u32;
                    change.deleted = deleted as u32;
                }
                for h in 0..patch.num_hunks() {
                    let Ok((hunk, _)) = patch.hunk(h) else {
                        continue;
                    };
                    let (old_start, old_count) = (hunk.old_start(), hunk.old_lines());
                    let (new_start, new_count) = (hunk.new_start(), hunk.new_lines());
                    let functions = if new_count > 0 {
                        enclosing_functions(&change.path, &new_text, new_start, new_count)
                    } else {
                        enclosing_functions(&old_path, &old_text, old_start, old_count.max(1))
                    };
                    change.hunks.push(Hunk {
                        old_start,
                        old_count,
                        new_start,
                        new_count,
                        functions,
                    });
                }
            }
            out.push(change);
        }
        Ok(out)
    }

    /// The commit's change as a unified diff (three lines of context), with only the files
    /// `visible` accepts.
    pub fn diff(&self, id: &str, visible: &dyn Fn(&str) -> bool) -> Result<String, HistoryError> {
        let repo = self.repo()?;
        let c = Self::find(&repo, id)?;
        let diff = Self::commit_diff(&repo, &c, 3)?;
        patch_text(&diff, visible).map_err(io)
    }

    /// Who last changed lines `start..=end` of `path` at HEAD; lines past the end of the file
    /// are left out (libgit2 would report a hunk reaching `end` however far that is, and a
    /// skill asking for lines up to `u32::MAX` would have the host build four billion answers).
    pub fn blame(&self, path: &str, start: u32, end: u32) -> Result<Vec<BlameLine>, HistoryError> {
        crate::source::checked_path(path)
            .map_err(|e| HistoryError::InvalidArgument(e.to_string()))?;
        if start == 0 || end < start {
            return Err(HistoryError::InvalidArgument(format!(
                "lines {start}..={end} are not a range (lines count from 1)"
            )));
        }
        let repo = self.repo()?;
        let not_found = |e: git2::Error| HistoryError::NotFound(format!("{path}: {}", e.message()));
        let lines = repo
            .head()
            .and_then(|h| h.peel_to_tree())
            .and_then(|t| t.get_path(Path::new(path)))
            .and_then(|e| e.to_object(&repo))
            .and_then(|o| o.peel_to_blob())
            .map(|b| line_count(b.content()))
            .map_err(not_found)?;
        let end = end.min(lines);
        if start > end {
            return Ok(Vec::new());
        }
        let mut options = git2::BlameOptions::new();
        options.min_line(start as usize).max_line(end as usize);
        let blame = repo
            .blame_file(Path::new(path), Some(&mut options))
            .map_err(not_found)?;
        let mut out = Vec::new();
        for hunk in blame.iter() {
            let first = hunk.final_start_line() as u64;
            let last = (first + hunk.lines_in_hunk() as u64).saturating_sub(1);
            let sig = hunk.final_signature();
            for line in first.max(start.into())..=last.min(end.into()) {
                out.push(BlameLine {
                    line: line as u32,
                    commit: hunk.final_commit_id().to_string(),
                    author: sig.name().unwrap_or_default().to_string(),
                    time: sig.when().seconds(),
                });
            }
        }
        Ok(out)
    }

    /// A unified diff that undoes commit `id` on top of HEAD, computed by libgit2's revert (a
    /// three-way merge) in memory: nothing is written to the repository (see `revert.rs`). A
    /// file libgit2 leaves in conflict only because the two sides' changes touch (no line
    /// changed by both) is merged with them side by side; an error names the files where a
    /// later commit changed the same lines.
    pub fn revert(&self, id: &str, visible: &dyn Fn(&str) -> bool) -> Result<String, HistoryError> {
        let repo = self.repo()?;
        let c = Self::find(&repo, id)?;
        let head = repo.head().and_then(|h| h.peel_to_commit()).map_err(io)?;
        if c.parent_count() == 0 {
            return Err(HistoryError::Conflict(format!(
                "commit {id} is the root commit; reverting it would empty the repository"
            )));
        }
        let reverted =
            revert::revert(&repo, &c, &head, |diff| patch_text(diff, visible)).map_err(io)?;
        let files = match reverted {
            Reverted::Patch(text) if text.is_empty() => {
                return Err(HistoryError::Conflict(format!(
                    "reverting commit {id} changes nothing on HEAD: it was undone already"
                )));
            }
            Reverted::Patch(text) => return Ok(text),
            Reverted::Conflicts(files) => files,
        };
        Err(HistoryError::Conflict(format!(
            "commit {} does not revert cleanly on HEAD {}: later commits changed the same \
             lines of {}",
            &c.id().to_string()[..12],
            &head.id().to_string()[..12],
            files.join(", ")
        )))
    }
}

/// Lines in a file as git counts them: a last line without a newline counts.
fn line_count(text: &[u8]) -> u32 {
    let newlines = memchr::memchr_iter(b'\n', text).count();
    let unterminated = text.last().is_some_and(|&b| b != b'\n');
    u32::try_from(newlines + usize::from(unterminated)).unwrap_or(u32::MAX)
}

/// A diff as the text `git diff` prints (and `git apply` takes), leaving out the files
/// `visible` refuses (by either of their paths).
fn patch_text(
    diff: &git2::Diff<'_>,
    visible: &dyn Fn(&str) -> bool,
) -> Result<String, git2::Error> {
    let mut out = Vec::new();
    diff.print(DiffFormat::Patch, |delta, _, line| {
        let shown = [delta.old_file().path(), delta.new_file().path()]
            .into_iter()
            .flatten()
            .all(|p| visible(&p.to_string_lossy()));
        if !shown {
            return true;
        }
        if matches!(line.origin(), '+' | '-' | ' ') {
            out.push(line.origin() as u8);
        }
        out.extend_from_slice(line.content());
        true
    })?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests;
