//! A granted source tree: reads, host-side text searches and syntax queries, and mapping a
//! profile's file paths (usually absolute build paths) onto the tree.

use crate::bindings::joule::skill::source::{self as wit, granted};
use crate::{
    CallError, Definition, Entry, EntryKind, Language, LineRange, SearchMatch, SearchQuery,
    SyntaxCapture, SyntaxMatch, SyntaxQuery,
};

/// One granted source tree. Paths are relative to its root, `/`-separated.
pub struct Tree {
    raw: wit::Tree,
    name: String,
}

/// A search, built fluently: `Search::literal("Regex::new(").glob("**/*.rs")`.
#[derive(Clone, Debug)]
pub struct Search {
    query: SearchQuery,
}

impl Search {
    pub fn literal(text: &str) -> Self {
        Search {
            query: SearchQuery {
                pattern: text.to_string(),
                regex: false,
                case_insensitive: false,
                globs: Vec::new(),
                under: None,
                limit: 1000,
            },
        }
    }

    pub fn regex(pattern: &str) -> Self {
        let mut s = Self::literal(pattern);
        s.query.regex = true;
        s
    }

    pub fn glob(mut self, glob: &str) -> Self {
        self.query.globs.push(glob.to_string());
        self
    }

    pub fn under(mut self, dir: &str) -> Self {
        self.query.under = Some(dir.to_string());
        self
    }

    pub fn case_insensitive(mut self) -> Self {
        self.query.case_insensitive = true;
        self
    }

    pub fn limit(mut self, n: u32) -> Self {
        self.query.limit = n;
        self
    }
}

/// A syntax query, built fluently: `Query::new(Language::Rust, "(call_expression) @call")`.
/// The host parses the files with tree-sitter and sends back only the matches.
#[derive(Clone, Debug)]
pub struct Query {
    query: SyntaxQuery,
}

impl Query {
    pub fn new(language: Language, query: &str) -> Self {
        Query {
            query: SyntaxQuery {
                language,
                query: query.to_string(),
                globs: Vec::new(),
                under: None,
                limit: 1000,
            },
        }
    }

    /// Only files matching `glob` (by default, every file with the language's extensions).
    pub fn glob(mut self, glob: &str) -> Self {
        self.query.globs.push(glob.to_string());
        self
    }

    pub fn under(mut self, dir: &str) -> Self {
        self.query.under = Some(dir.to_string());
        self
    }

    pub fn limit(mut self, n: u32) -> Self {
        self.query.limit = n;
        self
    }
}

impl SyntaxMatch {
    /// The capture named `name` (without `@`), if the match has it.
    pub fn capture(&self, name: &str) -> Option<&SyntaxCapture> {
        self.captures.iter().find(|c| c.name == name)
    }

    /// The text of capture `name`, or `""`.
    pub fn text(&self, name: &str) -> &str {
        self.capture(name).map_or("", |c| c.text.as_str())
    }
}

impl SyntaxCapture {
    /// Whether `text` is all of the node (the host cuts long captures at 4 KiB): a patch that
    /// writes a capture's text back must only do it when it is.
    pub fn is_whole(&self) -> bool {
        self.text.len() as u64 == self.bytes.end.saturating_sub(self.bytes.start)
    }
}

impl Language {
    /// The language of a file, by its extension (`.h` counts as C).
    pub fn of_path(path: &str) -> Option<Language> {
        let extension = path.rsplit_once('.')?.1;
        Some(match extension {
            "rs" => Language::Rust,
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "ipp" => Language::Cpp,
            "go" => Language::Go,
            "py" | "pyi" => Language::Python,
            "java" => Language::Java,
            "js" | "mjs" | "cjs" | "jsx" => Language::Javascript,
            "ts" | "mts" | "cts" => Language::Typescript,
            "tsx" => Language::Tsx,
            _ => return None,
        })
    }

    /// Whether a file of `path` may be written in this language: by its extension, where a
    /// `.h` header may be C or C++ (the host tells them apart by the text; a skill that only
    /// has a profile's path takes either).
    pub fn may_be(self, path: &str) -> bool {
        match Language::of_path(path) {
            Some(Language::C) if path.ends_with(".h") => {
                matches!(self, Language::C | Language::Cpp)
            }
            Some(language) => language == self,
            None => false,
        }
    }
}

impl Tree {
    /// The trees this invocation may read.
    pub fn granted() -> Vec<Tree> {
        granted()
            .into_iter()
            .map(|raw| {
                let name = raw.name();
                Tree { raw, name }
            })
            .collect()
    }

    pub fn raw(&self) -> &wit::Tree {
        &self.raw
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn read(&self, path: &str) -> Result<String, CallError> {
        self.raw.read(path)
    }

    pub fn read_lines(&self, path: &str, start: u32, end: u32) -> Result<Vec<String>, CallError> {
        self.raw.read_lines(path, LineRange { start, end })
    }

    /// The leading whitespace of line `line` of `path`: where an inserted line must start to
    /// sit with it.
    pub fn indentation(&self, path: &str, line: u32) -> Result<String, CallError> {
        Ok(self
            .read_lines(path, line, line)?
            .first()
            .map(|l| l.chars().take_while(|c| c.is_whitespace()).collect())
            .unwrap_or_default())
    }

    pub fn list(&self, dir: &str) -> Result<Vec<Entry>, CallError> {
        self.raw.list_dir(dir)
    }

    pub fn is_file(&self, path: &str) -> bool {
        matches!(
            self.raw.stat(path),
            Ok(Entry {
                kind: EntryKind::File,
                ..
            })
        )
    }

    pub fn search(&self, search: &Search) -> Result<Vec<SearchMatch>, CallError> {
        self.raw.search(&search.query)
    }

    /// Runs a tree-sitter query over the tree's files of its language, in the host.
    pub fn query(&self, query: &Query) -> Result<Vec<SyntaxMatch>, CallError> {
        self.raw.query(&query.query)
    }

    /// Every identifier `name` in the file at `path` (a syntax query, so not in comments or
    /// strings), each match's capture named `use`: for the checks a skill makes of how a
    /// variable is used before it rewrites it.
    pub fn identifiers(
        &self,
        language: Language,
        path: &str,
        name: &str,
    ) -> Result<Vec<SyntaxMatch>, CallError> {
        let name = name.replace('\\', "\\\\").replace('"', "\\\"");
        self.query(
            &Query::new(
                language,
                &format!("((identifier) @use (#eq? @use \"{name}\"))"),
            )
            .glob(&crate::hotspot::glob_literal(path)),
        )
    }

    /// The outermost of the loops `loops` (a query capturing `@loop`) in `site`'s function
    /// that hold `inner`: where something built once for the whole loop nest goes.
    pub fn outermost_loop(
        &self,
        site: &SyntaxMatch,
        loops: &Query,
        inner: &SyntaxCapture,
    ) -> Result<Option<SyntaxCapture>, CallError> {
        let loops = self.query(
            &loops
                .clone()
                .glob(&crate::hotspot::glob_literal(&site.path)),
        )?;
        Ok(loops
            .iter()
            .filter(|m| m.function == site.function)
            .filter_map(|m| m.capture("loop"))
            .filter(|l| l.bytes.start <= inner.bytes.start && inner.bytes.end <= l.bytes.end)
            .min_by_key(|l| l.bytes.start)
            .cloned())
    }

    /// Where functions named `name` (matched by its last part: `parse_line`,
    /// `app::Parser<R>::parse_line`) are defined in this tree, at most `limit`, in path order:
    /// answered from the host's index of the tree in microseconds, where a syntax query over
    /// the whole tree takes seconds.
    pub fn definitions(&self, name: &str, limit: u32) -> Result<Vec<Definition>, CallError> {
        self.raw.definitions(name, limit)
    }

    /// The path inside this tree of a file a profile names, if the tree has it: under a build
    /// prefix the operator declared, else the longest suffix of it that exists in the tree
    /// (`/home/ci/build/app/src/main.rs` -> `src/main.rs`). Answered by the host in one call.
    pub fn locate(&self, profile_path: &str) -> Option<String> {
        self.raw.locate(profile_path)
    }

    /// The first of `trees` that has the file a profile names, with its path in that tree.
    pub fn locate_in<'a>(trees: &'a [Tree], profile_path: &str) -> Option<(&'a Tree, String)> {
        trees
            .iter()
            .find_map(|t| t.locate(profile_path).map(|p| (t, p)))
    }
}
