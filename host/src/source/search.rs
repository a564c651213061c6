//! Host-side search over a source tree: literal or regex, filtered by globs, one match per line,
//! over the files [`SourceTree::walk_files`] lets through.

use std::time::Instant;

use regex::bytes::{Regex, RegexBuilder};

use super::walk::{Flow, MAX_GLOBS, Walk, glob_set};
use super::{SourceTree, TreeError};

/// The most matches one search returns, whatever the caller asks for.
pub const MAX_MATCHES: usize = 10_000;
/// The longest search pattern; a larger one is refused before anything is compiled.
pub const MAX_PATTERN_BYTES: usize = 64 << 10;
/// The most a search regex's compiled program may take (each of its forward and reverse ones).
pub const REGEX_NFA_BYTES: usize = 1 << 20;
/// The most a search regex's lazy DFA cache may take (each of its forward and reverse ones).
pub const REGEX_DFA_BYTES: usize = 2 << 20;

#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    pub pattern: String,
    pub regex: bool,
    pub case_insensitive: bool,
    pub globs: Vec<String>,
    pub under: Option<String>,
    pub limit: usize,
    /// Size limits for the regex (compiled program, lazy DFA cache) when the caller's memory
    /// account allows less than [`REGEX_NFA_BYTES`] and [`REGEX_DFA_BYTES`].
    pub regex_sizes: Option<(usize, usize)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchMatch {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub line_offset: u64,
    pub text: String,
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
        let (nfa, dfa) = query
            .regex_sizes
            .unwrap_or((REGEX_NFA_BYTES, REGEX_DFA_BYTES));
        let matcher = RegexBuilder::new(&pattern)
            .case_insensitive(query.case_insensitive)
            .multi_line(true)
            .size_limit(nfa.min(REGEX_NFA_BYTES))
            .dfa_size_limit(dfa.min(REGEX_DFA_BYTES))
            .build()
            .map_err(|e| TreeError::InvalidArgument(format!("bad search regex: {e}")))?;
        let limit = query.limit.clamp(1, MAX_MATCHES);
        let walk = Walk {
            globs: glob_set(&query.globs)?,
            visible,
            deadline,
            what: "search",
        };
        let mut out = Vec::new();
        self.walk_files(query.under.as_deref(), &walk, &mut |path, bytes| {
            search_file(&matcher, path, bytes, limit, &mut out);
            Ok(if out.len() >= limit {
                Flow::Stop
            } else {
                Flow::Continue
            })
        })?;
        Ok(out)
    }
}

/// The lines of `bytes` that `matcher` matches, one match each, appended to `out` up to `limit`.
fn search_file(
    matcher: &Regex,
    path: String,
    bytes: &[u8],
    limit: usize,
    out: &mut Vec<SearchMatch>,
) {
    let mut line = 1u32;
    let mut line_start = 0usize;
    let mut counted_to = 0usize;
    let mut last_line = 0u32;
    for m in matcher.find_iter(bytes) {
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
        out.push(SearchMatch {
            path: path.clone(),
            line,
            column: (m.start() - line_start) as u32,
            line_offset: line_start as u64,
            text: text.trim_end_matches('\r').to_string(),
        });
        if out.len() >= limit {
            break;
        }
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
