//! The git side of a pull request, through libgit2: a branch and a worktree of its own for each
//! finding (the user's checkout, branch and index are never touched), the patch applied there,
//! the commit, its `format-patch` mail, the push.

use std::path::{Path, PathBuf};

use anyhow::Context;
use git2::{
    ApplyLocation, BranchType, Diff, EmailCreateOptions, PushOptions, Repository, Signature,
    WorktreeAddOptions, WorktreePruneOptions,
};

/// A branch name git accepts, from a finding's rule (skill text: anything) and id:
/// `joule/<rule>/<first 8 of the id>`.
pub fn branch_name(rule: &str, id: &str) -> String {
    let mut rule: String = rule
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    rule = rule.trim_matches(|c| c == '-' || c == '_').to_string();
    if rule.is_empty() {
        rule = "finding".to_string();
    }
    let id: String = id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    format!("joule/{rule}/{id}")
}

/// A worktree on a new branch at `base`, and the branch, removed again unless kept.
pub struct Workspace {
    pub path: PathBuf,
    pub branch: String,
    name: String,
    repo_dir: PathBuf,
    keep_branch: bool,
}

impl Workspace {
    /// Branch `branch` at `base` in `repo`, checked out in a new worktree at `path`.
    pub fn create(
        repo: &Repository,
        base: git2::Oid,
        branch: &str,
        path: &Path,
    ) -> anyhow::Result<Self> {
        // A worktree's name is a directory under .git/worktrees: the branch with `/` replaced.
        let name = branch.replace('/', "-");
        // What a run that was killed left: its worktree's files and git's record of it (git
        // will not delete a branch a worktree still names).
        if path.exists() {
            std::fs::remove_dir_all(path)
                .with_context(|| format!("{}: cannot remove a stale worktree", path.display()))?;
        }
        if let Ok(stale) = repo.find_worktree(&name) {
            let _ = stale.prune(Some(
                WorktreePruneOptions::new().valid(true).working_tree(true),
            ));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create", parent.display()))?;
        }
        if repo.find_branch(branch, BranchType::Local).is_ok() {
            anyhow::bail!(
                "branch `{branch}` already exists (from an earlier `joule pr`?): delete it with `git branch -D {branch}` to prepare it again"
            );
        }
        let commit = repo.find_commit(base)?;
        let reference = repo
            .branch(branch, &commit, false)
            .with_context(|| format!("cannot create branch `{branch}`"))?
            .into_reference();
        // From here on, dropping the workspace deletes the branch again.
        let space = Workspace {
            path: path.to_path_buf(),
            branch: branch.to_string(),
            name: name.clone(),
            repo_dir: repo.path().to_path_buf(),
            keep_branch: false,
        };
        let mut options = WorktreeAddOptions::new();
        options.reference(Some(&reference));
        repo.worktree(&name, path, Some(&options))
            .with_context(|| format!("cannot add a worktree at {}", path.display()))?;
        Ok(space)
    }

    /// Applies `patch` (a unified diff, paths from the repository's root) to the worktree's
    /// files and index.
    pub fn apply(&self, patch: &str) -> anyhow::Result<Vec<String>> {
        let repo = Repository::open(&self.path)?;
        let diff =
            Diff::from_buffer(patch.as_bytes()).context("the patch is not a unified diff")?;
        let files: Vec<String> = diff
            .deltas()
            .filter_map(|d| d.new_file().path().or(d.old_file().path()))
            .map(|p| p.display().to_string())
            .collect();
        repo.apply(&diff, ApplyLocation::Both, None)
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        Ok(files)
    }

    /// Keeps the branch when the worktree goes: the change is proposed.
    pub fn keep(&mut self) {
        self.keep_branch = true;
    }

    /// Commits the index with `message` on the branch.
    pub fn commit(&self, message: &str) -> anyhow::Result<git2::Oid> {
        let repo = Repository::open(&self.path)?;
        let signature = repo
            .signature()
            .or_else(|_| Signature::now("Joule", "joule@localhost"))?;
        let mut index = repo.index()?;
        let tree = repo.find_tree(index.write_tree()?)?;
        let parent = repo.head()?.peel_to_commit()?;
        let oid = repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &[&parent],
        )?;
        Ok(oid)
    }

    /// The commit as `git format-patch` writes it (an mbox message).
    pub fn format_patch(&self, commit: git2::Oid) -> anyhow::Result<Vec<u8>> {
        let repo = Repository::open(&self.path)?;
        let commit = repo.find_commit(commit)?;
        let email = git2::Email::from_commit(&commit, &mut EmailCreateOptions::new())?;
        Ok(email.as_slice().to_vec())
    }
}

impl Drop for Workspace {
    /// The worktree goes (its files and git's record of it); the branch stays only when it
    /// holds a commit to propose.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        if let Ok(repo) = Repository::open(&self.repo_dir) {
            if let Ok(worktree) = repo.find_worktree(&self.name) {
                let _ = worktree.prune(Some(
                    WorktreePruneOptions::new().valid(true).working_tree(true),
                ));
            }
            if !self.keep_branch {
                let _ = repo
                    .find_branch(&self.branch, BranchType::Local)
                    .and_then(|mut b| b.delete());
            }
        }
    }
}

/// Deletes branch `name` of `repo` if it exists (a baseline a killed run left).
pub fn delete_branch(repo: &Repository, name: &str) {
    if let Ok(mut b) = repo.find_branch(name, BranchType::Local) {
        let _ = b.delete();
    }
}

/// Pushes `branch` of `repo` to `remote` (a configured remote's name, or a path or URL). Joule's
/// libgit2 is built without network transports: local paths and `file://` remotes only.
pub fn push(repo: &Repository, remote: &str, branch: &str) -> anyhow::Result<()> {
    let mut target = match repo.find_remote(remote) {
        Ok(r) => r,
        Err(_) => repo.remote_anonymous(remote).with_context(|| {
            format!("`{remote}` is neither a remote of the repository nor a URL")
        })?,
    };
    let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
    let mut options = PushOptions::new();
    target
        .push(&[refspec.as_str()], Some(&mut options))
        .map_err(|e| anyhow::anyhow!("push of `{branch}` to `{remote}` failed: {}", e.message()))
}

/// Files of the user's working tree with changes not in HEAD, among `files`.
pub fn dirty(repo: &Repository, files: &[String]) -> Vec<String> {
    let Ok(statuses) = repo.statuses(None) else {
        return Vec::new();
    };
    statuses
        .iter()
        .filter(|s| !s.status().is_ignored() && !s.status().is_empty())
        .filter_map(|s| s.path().map(str::to_string))
        .filter(|p| files.iter().any(|f| f == p))
        .collect()
}
