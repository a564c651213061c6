//! Reverts computed in memory, so a read-only history grant stays read-only.
//!
//! libgit2's revert is a three-way merge that writes what it makes into the repository's object
//! database: every blob it merges, and the trees of the result when they are written out. Even
//! writing an object the repository already has is not harmless: libgit2 "freshens" it, touching
//! its loose file or its pack. So here the merge runs in a scratch repository whose only object
//! database is libgit2's in-memory one (mempack), holding copies of the objects the merge and the
//! patch read: every tree of the three commits, and the blobs of the paths that differ between
//! them. The granted repository is only read; the scratch is dropped with the answer.
//!
//! A file libgit2's merge leaves in conflict only because the revert and a later commit changed
//! neighbouring lines (a later commit rewrote a function's signature, the reverted commit added
//! the lines right below it) is merged again here with the changes allowed to touch, as long as
//! no line is changed by both ([`merge_touching`]); changes to the same lines still conflict.

use std::collections::HashSet;
use std::path::Path;

use git2::{
    Commit, DiffOptions, Index, IndexEntry, MergeOptions, ObjectType, Odb, Oid, Repository,
};

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
        let mut index = index;
        let unresolved = resolve_touching(&scratch.repo, &mut index)?;
        if !unresolved.is_empty() {
            return Ok(Reverted::Conflicts(unresolved));
        }
        let diff = scratch
            .repo
            .diff_tree_to_index(Some(&find(&ours)?), Some(&index), None)?;
        return Ok(Reverted::Patch(patch(&diff)?));
    }
    // HEAD against the merged index, without writing the result's trees: writing a tree checks
    // that every blob in it exists, and the scratch holds only the ones that differ.
    let diff = scratch
        .repo
        .diff_tree_to_index(Some(&find(&ours)?), Some(&index), None)?;
    Ok(Reverted::Patch(patch(&diff)?))
}

/// Hunks a side of a three-way merge may have, at most, before [`merge_touching`] gives up (a
/// rewritten file has few hunks; a hostile one must not make the merge quadratic).
const MAX_HUNKS: usize = 10_000;

/// Resolves, in `index` (libgit2's merge with conflicts), every conflicted text file whose two
/// sides change no line in common ([`merge_touching`]), writing the merged blob to `repo` (the
/// scratch). Returns the paths still in conflict (empty when all were resolved).
fn resolve_touching(repo: &Repository, index: &mut Index) -> Result<Vec<String>, git2::Error> {
    let conflicts: Vec<git2::IndexConflict> = index.conflicts()?.collect::<Result<_, _>>()?;
    let mut unresolved = Vec::new();
    for conflict in conflicts {
        let name = conflict
            .our
            .as_ref()
            .or(conflict.their.as_ref())
            .or(conflict.ancestor.as_ref())
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .unwrap_or_default();
        let merged = match (&conflict.ancestor, &conflict.our, &conflict.their) {
            (Some(a), Some(o), Some(t))
                if a.path == o.path && o.path == t.path && a.mode == o.mode && o.mode == t.mode =>
            {
                let blob = |e: &IndexEntry| repo.find_blob(e.id);
                let (a, o_blob, t) = (blob(a)?, blob(o)?, blob(t)?);
                if a.is_binary() || o_blob.is_binary() || t.is_binary() {
                    None
                } else {
                    merge_touching(a.content(), o_blob.content(), t.content())?
                        .map(|text| (o, text))
                }
            }
            _ => None,
        };
        let Some((ours, text)) = merged else {
            unresolved.push(name);
            continue;
        };
        let entry = IndexEntry {
            id: repo.blob(&text)?,
            file_size: u32::try_from(text.len()).unwrap_or(u32::MAX),
            // Stage 0: a resolved entry (the conflict's are 1-3).
            flags: ours.flags & !0x3000,
            path: ours.path.clone(),
            ..*ours
        };
        index.conflict_remove(Path::new(&name))?;
        index.add(&entry)?;
    }
    Ok(unresolved)
}

/// One side's change to the ancestor: its lines `start..end` (from 0) replaced by `lines`.
#[derive(Debug, PartialEq)]
struct Edit<'a> {
    start: usize,
    end: usize,
    lines: Vec<&'a [u8]>,
    side: u8,
}

/// The text's lines, each with its line ending.
fn lines_of(text: &[u8]) -> Vec<&[u8]> {
    text.split_inclusive(|&b| b == b'\n').collect()
}

/// What changed from `ancestor` to `side`, hunk by hunk without context; `None` past
/// [`MAX_HUNKS`].
fn edits<'a>(
    ancestor: &[u8],
    side: &'a [u8],
    tag: u8,
) -> Result<Option<Vec<Edit<'a>>>, git2::Error> {
    let mut options = DiffOptions::new();
    options.context_lines(0).interhunk_lines(0);
    let patch = git2::Patch::from_buffers(ancestor, None, side, None, Some(&mut options))?;
    if patch.num_hunks() > MAX_HUNKS {
        return Ok(None);
    }
    let new_lines = lines_of(side);
    let mut out = Vec::with_capacity(patch.num_hunks());
    for i in 0..patch.num_hunks() {
        let (hunk, _) = patch.hunk(i)?;
        let (old_start, old_count) = (hunk.old_start() as usize, hunk.old_lines() as usize);
        // Lines are counted from 1; an insertion's start is the line it goes after.
        let start = if old_count == 0 {
            old_start
        } else {
            old_start.saturating_sub(1)
        };
        let from = (hunk.new_start() as usize).saturating_sub(1);
        let to = from + hunk.new_lines() as usize;
        let Some(lines) = new_lines.get(from..to) else {
            return Ok(None);
        };
        out.push(Edit {
            start,
            end: start + old_count,
            lines: if hunk.new_lines() == 0 {
                Vec::new()
            } else {
                lines.to_vec()
            },
            side: tag,
        });
    }
    Ok(Some(out))
}

/// Whether two changes, one from each side, change a line in common: their ranges overlap,
/// both insert at the same place, or one inserts inside the other's range. Changes that only
/// touch (one ends where the other starts) do not: which comes first is clear.
fn clash(e: &Edit<'_>, f: &Edit<'_>) -> bool {
    match (e.start == e.end, f.start == f.end) {
        (true, true) => e.start == f.start,
        (true, false) => f.start < e.start && e.start < f.end,
        (false, true) => e.start < f.start && f.start < e.end,
        (false, false) => e.start.max(f.start) < e.end.min(f.end),
    }
}

/// A three-way merge of text, line by line, in which the two sides' changes may touch but not
/// share a line: `None` when they do (a real conflict), else the merged text. A change both
/// sides made the same way is made once.
fn merge_touching(
    ancestor: &[u8],
    ours: &[u8],
    theirs: &[u8],
) -> Result<Option<Vec<u8>>, git2::Error> {
    let (Some(mut all), Some(theirs)) = (edits(ancestor, ours, 0)?, edits(ancestor, theirs, 1)?)
    else {
        return Ok(None);
    };
    for t in theirs {
        if !all
            .iter()
            .any(|o| o.start == t.start && o.end == t.end && o.lines == t.lines)
        {
            all.push(t);
        }
    }
    all.sort_by_key(|e| (e.start, e.end, e.side));
    for (i, e) in all.iter().enumerate() {
        // Sorted by start, so only the changes starting before this one ends can clash with it.
        let later = all[i + 1..].iter().take_while(|f| f.start <= e.end);
        if later.filter(|f| f.side != e.side).any(|f| clash(e, f)) {
            return Ok(None);
        }
    }
    let base = lines_of(ancestor);
    let mut out = Vec::with_capacity(ours.len().max(ancestor.len()));
    let mut at = 0;
    for e in &all {
        let Some(kept) = base.get(at..e.start) else {
            return Ok(None);
        };
        kept.iter().for_each(|l| out.extend_from_slice(l));
        e.lines.iter().for_each(|l| out.extend_from_slice(l));
        at = e.end;
    }
    let Some(rest) = base.get(at..) else {
        return Ok(None);
    };
    rest.iter().for_each(|l| out.extend_from_slice(l));
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::merge_touching;

    fn merge(a: &str, o: &str, t: &str) -> Option<String> {
        merge_touching(a.as_bytes(), o.as_bytes(), t.as_bytes())
            .unwrap()
            .map(|m| String::from_utf8(m).unwrap())
    }

    #[test]
    fn changes_that_touch_merge_and_changes_to_one_line_conflict() {
        // The reverted commit added the sort under the signature; a later one rewrote the
        // signature. Undoing the sort on HEAD keeps the new signature.
        let planted = "impl A {\n    fn f(x: u8) -> u8 {\n        sort();\n        x\n    }\n}\n";
        let head = "impl A {\n    pub fn f(\n        x: u8,\n    ) -> u8 {\n        sort();\n        x\n    }\n}\n";
        let parent = "impl A {\n    fn f(x: u8) -> u8 {\n        x\n    }\n}\n";
        assert_eq!(
            merge(planted, head, parent).as_deref(),
            Some("impl A {\n    pub fn f(\n        x: u8,\n    ) -> u8 {\n        x\n    }\n}\n")
        );
        // The later commit changed the line the revert changes back: a conflict.
        let rewritten = planted.replace("sort();", "sort_unstable();");
        assert_eq!(merge(planted, &rewritten, parent), None);
        // Both insert at the same place: which goes first is unknown.
        assert_eq!(merge("a\nb\n", "a\nx\nb\n", "a\ny\nb\n"), None);
        // An insertion inside the other side's rewritten lines.
        assert_eq!(merge("a\nb\nc\n", "a\nB\nC\n", "a\nb\ny\nc\n"), None);
        // The same change on both sides is made once; changes apart merge as usual.
        assert_eq!(
            merge("a\nb\nc\nd\n", "a\nB\nc\nD\n", "a\nB\nc\nd\n").as_deref(),
            Some("a\nB\nc\nD\n")
        );
        // A last line without a newline, and insertions at either end.
        assert_eq!(
            merge("a\nb", "0\na\nb", "a\nb\nc").as_deref(),
            Some("0\na\nb\nc")
        );
    }
}
