//! Reverts computed in memory, so a read-only history grant stays read-only.
//!
//! libgit2's revert is a three-way merge that writes what it makes into the repository's object
//! database: every blob it merges, and the trees of the result when they are written out. Even
//! writing an object the repository already has is not harmless: libgit2 "freshens" it, touching
//! its loose file or its pack. So here the merge runs in a scratch repository whose only object
//! database is libgit2's in-memory one (mempack), holding copies of the objects the merge and the
//! patch read: every tree of the three commits, and the blobs of the paths that differ between
//! them. The granted repository is only read; the scratch is dropped with the answer.

use std::collections::HashSet;
use std::path::Path;

use git2::{Commit, MergeOptions, ObjectType, Odb, Oid, Repository};

/// Changed paths above which libgit2's merge leaves out inexact rename detection, and so reads
/// no blob for it (libgit2's default, `merge.renameLimit`). Set on the merge, so that no
/// configuration file can change which objects the scratch repository must hold.
const RENAME_LIMIT: usize = 1_000;

/// What reverting a commit on top of HEAD gives.
pub(super) enum Reverted {
    /// The patch that undoes the commit, as `git diff` prints it.
    Patch(String),
    /// The commit does not revert cleanly: the paths in conflict.
    Conflicts(Vec<String>),
}

/// A repository with no directory and no object database but one in memory.
struct Scratch {
    repo: Repository,
}

impl Scratch {
    fn new() -> Result<Self, git2::Error> {
        let odb = Odb::new()?;
        // The mempack handle is only for dumping or resetting it; the odb owns the backend.
        odb.add_new_mempack_backend(1)?;
        Ok(Scratch {
            repo: Repository::from_odb(odb)?,
        })
    }

    /// Copies one object from `from`'s object database (a read) into the scratch.
    fn copy(&self, from: &Odb<'_>, oid: Oid) -> Result<(), git2::Error> {
        let object = from.read(oid)?;
        self.repo.odb()?.write(object.kind(), object.data())?;
        Ok(())
    }

    /// Copies a tree and every tree under it, once each.
    fn copy_trees(
        &self,
        from: &Odb<'_>,
        root: Oid,
        seen: &mut HashSet<Oid>,
    ) -> Result<(), git2::Error> {
        let mut todo = vec![root];
        while let Some(oid) = todo.pop() {
            if !seen.insert(oid) {
                continue;
            }
            self.copy(from, oid)?;
            let tree = self.repo.find_tree(oid)?;
            todo.extend(
                tree.iter()
                    .filter(|e| e.kind() == Some(ObjectType::Tree))
                    .map(|e| e.id()),
            );
        }
        Ok(())
    }
}

/// Reverts `commit` (against its first parent, which is the mainline of a merge) on top of
/// `head`, as `git revert` would, without writing to `repo`. `patch` turns the diff from HEAD to
/// the result into text.
pub(super) fn revert(
    repo: &Repository,
    commit: &Commit<'_>,
    head: &Commit<'_>,
    patch: impl FnOnce(&git2::Diff<'_>) -> Result<String, git2::Error>,
) -> Result<Reverted, git2::Error> {
    // The merge is libgit2's revert: the commit's tree is the ancestor, HEAD's is ours, and its
    // parent's is theirs.
    let ancestor = commit.tree()?;
    let ours = head.tree()?;
    let theirs = commit.parent(0)?.tree()?;

    let odb = repo.odb()?;
    let scratch = Scratch::new()?;
    let mut seen = HashSet::new();
    for tree in [&ancestor, &ours, &theirs] {
        scratch.copy_trees(&odb, tree.id(), &mut seen)?;
    }
    // The blobs the merge reads: those of the paths the commit changed (what the revert undoes,
    // merged with HEAD's version), and, while the merge still looks for renames by content, those
    // of every path HEAD changed since. Diffs of trees compare ids only: no blob is read here.
    let undone = repo.diff_tree_to_tree(Some(&ancestor), Some(&theirs), None)?;
    let since = repo.diff_tree_to_tree(Some(&ancestor), Some(&ours), None)?;
    let paths = |d: &git2::DiffDelta<'_>| -> Vec<std::path::PathBuf> {
        [d.old_file().path(), d.new_file().path()]
            .into_iter()
            .flatten()
            .map(Path::to_path_buf)
            .collect()
    };
    let undone_paths: HashSet<_> = undone.deltas().flat_map(|d| paths(&d)).collect();
    let changed: HashSet<_> = since
        .deltas()
        .flat_map(|d| paths(&d))
        .chain(undone_paths.iter().cloned())
        .collect();
    let renames_by_content = changed.len() <= RENAME_LIMIT;
    let mut blobs = HashSet::new();
    let deltas = undone.deltas().chain(
        since
            .deltas()
            .filter(|d| renames_by_content || paths(d).iter().any(|p| undone_paths.contains(p))),
    );
    for delta in deltas {
        for file in [delta.old_file(), delta.new_file()] {
            let submodule = file.mode() == git2::FileMode::Commit;
            if !file.id().is_zero() && !submodule && blobs.insert(file.id()) {
                scratch.copy(&odb, file.id())?;
            }
        }
    }

    let find = |t: &git2::Tree<'_>| scratch.repo.find_tree(t.id());
    let mut options = MergeOptions::new();
    options.find_renames(true).target_limit(RENAME_LIMIT as u32);
    let index = scratch.repo.merge_trees(
        &find(&ancestor)?,
        &find(&ours)?,
        &find(&theirs)?,
        Some(&options),
    )?;
    if index.has_conflicts() {
        let files = index
            .conflicts()?
            .filter_map(Result::ok)
            .filter_map(|conflict| conflict.our.or(conflict.their).or(conflict.ancestor))
            .map(|entry| String::from_utf8_lossy(&entry.path).into_owned())
            .collect();
        return Ok(Reverted::Conflicts(files));
    }
    // HEAD against the merged index, without writing the result's trees: writing a tree checks
    // that every blob in it exists, and the scratch holds only the ones that differ.
    let diff = scratch
        .repo
        .diff_tree_to_index(Some(&find(&ours)?), Some(&index), None)?;
    Ok(Reverted::Patch(patch(&diff)?))
}
