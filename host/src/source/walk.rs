//! The walk over a source tree's files that host-side searches and syntax queries share.
//!
//! It goes through the tree's capability handle and never follows symlinks; hidden entries
//! (`.git`, `.cache`...) and the paths the root `.gitignore` names are skipped, as `rg` does.
//! Binary files (a NUL in the first 8 KiB) and files over the size limit are skipped; the
//! bytes read are counted against one limit per call, and the walk stops at a deadline.

use std::path::Path;
use std::time::Instant;

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::{MAX_FILE_BYTES, SourceTree, TreeError, checked_path, display_path};

/// The most bytes one search or query reads.
pub const MAX_SCAN_BYTES: u64 = 512 * 1024 * 1024;
/// Directories deeper than this are not walked (and the walk's recursion stays bounded).
pub const MAX_DEPTH: usize = 64;
/// The most globs one call may give; more are refused before anything is compiled.
pub const MAX_GLOBS: usize = 256;
/// The longest glob; a longer one is refused before anything is compiled.
pub const MAX_GLOB_BYTES: usize = 1024;

/// Whether the walk goes on after a file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// What to walk and what to leave out.
pub struct Walk<'a> {
    /// Only files whose path matches (all files when `None`).
    pub globs: Option<GlobSet>,
    /// Paths (files and whole directories) the caller may not see are skipped.
    pub visible: &'a dyn Fn(&str) -> bool,
    pub deadline: Instant,
    /// What the call is, for the limit's message ("search", "query").
    pub what: &'static str,
}

/// `globs` compiled into one set; `None` when there are none.
pub fn glob_set(globs: &[String]) -> Result<Option<GlobSet>, TreeError> {
    if globs.is_empty() {
        return Ok(None);
    }
    if globs.len() > MAX_GLOBS {
        return Err(TreeError::InvalidArgument(format!(
            "at most {MAX_GLOBS} globs (got {})",
            globs.len()
        )));
    }
    if let Some(long) = globs.iter().find(|g| g.len() > MAX_GLOB_BYTES) {
        return Err(TreeError::InvalidArgument(format!(
            "globs are at most {MAX_GLOB_BYTES} bytes (got one of {})",
            long.len()
        )));
    }
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        builder.add(
            Glob::new(g).map_err(|e| TreeError::InvalidArgument(format!("bad glob {g:?}: {e}")))?,
        );
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| TreeError::InvalidArgument(format!("bad glob set: {e}")))
}

/// What a walk calls with each file's path and bytes.
pub type Visit<'a> = dyn FnMut(String, &[u8]) -> Result<Flow, TreeError> + 'a;

struct State<'a, 'v> {
    walk: &'a Walk<'v>,
    ignore: Gitignore,
    scanned: u64,
    visit: &'a mut Visit<'v>,
}

impl SourceTree {
    /// Calls `visit` with the path and bytes of every text file under `under` (the whole tree
    /// when `None`) that `walk` lets through, in path order, until it says stop, the deadline
    /// passes, or the files read pass [`MAX_SCAN_BYTES`] (an error).
    pub fn walk_files(
        &self,
        under: Option<&str>,
        walk: &Walk<'_>,
        visit: &mut Visit<'_>,
    ) -> Result<(), TreeError> {
        let start = checked_path(under.unwrap_or(""))?;
        let mut state = State {
            walk,
            ignore: self.root_gitignore(),
            scanned: 0,
            visit,
        };
        self.walk_dir(start, &mut state).map(drop)
    }

    fn root_gitignore(&self) -> Gitignore {
        let mut builder = GitignoreBuilder::new("");
        if let Ok(text) = self.dir().read_to_string(".gitignore") {
            for line in text.lines() {
                let _ = builder.add_line(None, line);
            }
        }
        builder.build().unwrap_or_else(|_| Gitignore::empty())
    }

    fn walk_dir(&self, rel: &Path, state: &mut State<'_, '_>) -> Result<Flow, TreeError> {
        if rel.components().count() > MAX_DEPTH {
            return Ok(Flow::Continue);
        }
        let shown = display_path(rel);
        let entries = self
            .dir()
            .read_dir(rel)
            .map_err(|e| super::io_error(&shown, &e))?;
        let mut children: Vec<(String, cap_std::fs::FileType)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                Some((
                    e.file_name().to_string_lossy().into_owned(),
                    e.file_type().ok()?,
                ))
            })
            .filter(|(name, _)| !name.starts_with('.'))
            .collect();
        children.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, file_type) in children {
            if Instant::now() >= state.walk.deadline {
                return Ok(Flow::Stop);
            }
            let child = rel.join(&name);
            let path = display_path(&child);
            if !(state.walk.visible)(&path) {
                continue;
            }
            if state
                .ignore
                .matched_path_or_any_parents(&path, file_type.is_dir())
                .is_ignore()
            {
                continue;
            }
            let flow = if file_type.is_dir() {
                self.walk_dir(&child, state)?
            } else if file_type.is_file() {
                if let Some(globs) = &state.walk.globs
                    && !globs.is_match(&path)
                {
                    continue;
                }
                self.visit_file(&child, path, state)?
            } else {
                Flow::Continue
            };
            if flow == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }

    fn visit_file(
        &self,
        rel: &Path,
        path: String,
        state: &mut State<'_, '_>,
    ) -> Result<Flow, TreeError> {
        let Ok(meta) = self.dir().metadata(rel) else {
            return Ok(Flow::Continue);
        };
        if meta.len() > MAX_FILE_BYTES {
            return Ok(Flow::Continue);
        }
        state.scanned += meta.len();
        if state.scanned > MAX_SCAN_BYTES {
            return Err(TreeError::LimitExceeded(format!(
                "{} read more than {} MiB; narrow it with globs or `under`",
                state.walk.what,
                MAX_SCAN_BYTES >> 20
            )));
        }
        let Ok(bytes) = self.dir().read(rel) else {
            return Ok(Flow::Continue);
        };
        if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
            return Ok(Flow::Continue);
        }
        (state.visit)(path, &bytes)
    }
}
