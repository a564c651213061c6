//! Host-side search over a source tree: literal or regex, filtered by globs, one match per line.
//!
//! The walk goes through the tree's capability handle and never follows symlinks; hidden entries
//! (`.git`, `.cache`...) and the paths the root `.gitignore` names are skipped, as `rg` does.
//! Binary files (a NUL in the first 8 KiB) and files over the size limit are skipped.

use std::path::Path;
use std::time::Instant;

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use regex::bytes::{Regex, RegexBuilder};

use super::{MAX_FILE_BYTES, SourceTree, TreeError, checked_path, display_path};

/// The most matches one search returns, whatever the caller asks for.
pub const MAX_MATCHES: usize = 10_000;
/// The most bytes one search reads.
pub const MAX_SCAN_BYTES: u64 = 512 * 1024 * 1024;
/// Directories deeper than this are not searched (and the walk's recursion stays bounded).
pub const MAX_DEPTH: usize = 64;
/// The longest search pattern and the most globs one search may give; larger ones are refused
/// before anything is compiled.
pub const MAX_PATTERN_BYTES: usize = 64 << 10;
pub const MAX_GLOBS: usize = 256;

#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    pub pattern: String,
    pub regex: bool,
    pub case_insensitive: bool,
    pub globs: Vec<String>,
    pub under: Option<String>,
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchMatch {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub line_offset: u64,
    pub text: String,
}

struct Walk<'a> {
    matcher: Regex,
    globs: Option<GlobSet>,
    ignore: Gitignore,
    limit: usize,
    scanned: u64,
    out: &'a mut Vec<SearchMatch>,
    visible: &'a dyn Fn(&str) -> bool,
    deadline: Instant,
}

impl SourceTree {
    pub fn search(&self, query: &SearchQuery) -> Result<Vec<SearchMatch>, TreeError> {
        let far = Instant::now() + std::time::Duration::from_secs(86_400 * 365);
        self.search_filtered(query, &|_| true, far)
    }

    /// A search that skips the paths `visible` rejects (files and whole directories) and stops
    /// at `deadline`, returning what it found so far.
    pub fn search_filtered(
        &self,
        query: &SearchQuery,
        visible: &dyn Fn(&str) -> bool,
        deadline: Instant,
    ) -> Result<Vec<SearchMatch>, TreeError> {
        if query.pattern.is_empty() {
            return Err(TreeError::InvalidArgument(
                "search pattern is empty".to_string(),
            ));
        }
        if query.pattern.len() > MAX_PATTERN_BYTES || query.globs.len() > MAX_GLOBS {
            return Err(TreeError::InvalidArgument(format!(
                "search patterns are at most {MAX_PATTERN_BYTES} bytes with at most {MAX_GLOBS} \
                 globs (got {} bytes, {} globs)",
                query.pattern.len(),
                query.globs.len()
            )));
        }
        let pattern = if query.regex {
            query.pattern.clone()
        } else {
            regex::escape(&query.pattern)
        };
        let matcher = RegexBuilder::new(&pattern)
            .case_insensitive(query.case_insensitive)
            .multi_line(true)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| TreeError::InvalidArgument(format!("bad search regex: {e}")))?;
        let globs = if query.globs.is_empty() {
            None
        } else {
            let mut builder = GlobSetBuilder::new();
            for g in &query.globs {
                builder.add(
                    Glob::new(g)
                        .map_err(|e| TreeError::InvalidArgument(format!("bad glob {g:?}: {e}")))?,
                );
            }
            Some(
                builder
                    .build()
                    .map_err(|e| TreeError::InvalidArgument(format!("bad glob set: {e}")))?,
            )
        };
        let mut out = Vec::new();
        let mut walk = Walk {
            matcher,
            globs,
            ignore: self.root_gitignore(),
            limit: query.limit.clamp(1, MAX_MATCHES),
            scanned: 0,
            out: &mut out,
            visible,
            deadline,
        };
        let start = checked_path(query.under.as_deref().unwrap_or(""))?;
        self.walk_dir(start, &mut walk)?;
        Ok(out)
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

    fn walk_dir(&self, rel: &Path, walk: &mut Walk<'_>) -> Result<(), TreeError> {
        if rel.components().count() > MAX_DEPTH {
            return Ok(());
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
            if walk.out.len() >= walk.limit || Instant::now() >= walk.deadline {
                return Ok(());
            }
            let child = rel.join(&name);
            let path = display_path(&child);
            if !(walk.visible)(&path) {
                continue;
            }
            if walk
                .ignore
                .matched_path_or_any_parents(&path, file_type.is_dir())
                .is_ignore()
            {
                continue;
            }
            if file_type.is_dir() {
                self.walk_dir(&child, walk)?;
            } else if file_type.is_file() {
                if let Some(globs) = &walk.globs
                    && !globs.is_match(&path)
                {
                    continue;
                }
                self.search_file(&child, path, walk)?;
            }
        }
        Ok(())
    }

    fn search_file(&self, rel: &Path, path: String, walk: &mut Walk<'_>) -> Result<(), TreeError> {
        let Ok(meta) = self.dir().metadata(rel) else {
            return Ok(());
        };
        if meta.len() > MAX_FILE_BYTES {
            return Ok(());
        }
        walk.scanned += meta.len();
        if walk.scanned > MAX_SCAN_BYTES {
            return Err(TreeError::LimitExceeded(format!(
                "search read more than {} MiB; narrow it with globs or `under`",
                MAX_SCAN_BYTES >> 20
            )));
        }
        let Ok(bytes) = self.dir().read(rel) else {
            return Ok(());
        };
        if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
            return Ok(());
        }
        let mut line = 1u32;
        let mut line_start = 0usize;
        let mut counted_to = 0usize;
        let mut last_line = 0u32;
        for m in walk.matcher.find_iter(&bytes) {
            line += memchr::memchr_iter(b'\n', &bytes[counted_to..m.start()]).count() as u32;
            if let Some(nl) = memchr::memrchr(b'\n', &bytes[counted_to..m.start()]) {
                line_start = counted_to + nl + 1;
            }
            counted_to = m.start();
            if line == last_line {
                continue;
            }
            last_line = line;
            let line_end = memchr::memchr(b'\n', &bytes[line_start..])
                .map(|n| line_start + n)
                .unwrap_or(bytes.len());
            let text = String::from_utf8_lossy(&bytes[line_start..line_end]);
            walk.out.push(SearchMatch {
                path: path.clone(),
                line,
                column: (m.start() - line_start) as u32,
                line_offset: line_start as u64,
                text: text.trim_end_matches('\r').to_string(),
            });
            if walk.out.len() >= walk.limit {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_matching_line_once_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/config"), "Regex::new").unwrap();
        std::fs::write(
            dir.path().join("src/lib.rs"),
            "use regex::Regex;\nfn f() {\n    let a = Regex::new(\"x\"); let b = Regex::new(\"y\");\n}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "Regex::new in prose\n").unwrap();
        let tree = SourceTree::open("t", dir.path()).unwrap();
        let found = tree
            .search(&SearchQuery {
                pattern: "Regex::new(".into(),
                globs: vec!["*.rs".into()],
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            found,
            [SearchMatch {
                path: "src/lib.rs".into(),
                line: 3,
                column: 12,
                line_offset: 27,
                text: "    let a = Regex::new(\"x\"); let b = Regex::new(\"y\");".into(),
            }]
        );
        let all = tree
            .search(&SearchQuery {
                pattern: r"regex::\w+".into(),
                regex: true,
                case_insensitive: true,
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        let places: Vec<_> = all.iter().map(|m| (m.path.as_str(), m.line)).collect();
        assert_eq!(
            places,
            [("notes.txt", 1), ("src/lib.rs", 1), ("src/lib.rs", 3)]
        );
    }
}
