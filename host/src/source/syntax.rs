//! Syntax-aware queries over a source tree, answered in the host: files parsed with tree-sitter
//! grammars, matched against a tree-sitter query a skill sends as text, each match returned
//! with its captures' byte and line ranges and the function and loops around it.
//!
//! Skills need no parser of their own, and nothing but the matches crosses into the guest.
//! Every call is bounded: the query's size, the bytes parsed (the walk's limit), the matches
//! returned, the matches in progress inside tree-sitter, and a deadline checked while parsing
//! and matching. Compiled queries are kept for the process's later calls ([`cache`]).

mod cache;
pub mod predicates;

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use tree_sitter::{Node, Parser, Query, QueryCursor, QueryCursorOptions, StreamingIterator};

use super::walk::{Flow, Walk, glob_set};
use super::{SourceTree, TreeError};
use cache::QueryCache;

use crate::deadline::Late;

/// The most matches one query returns, whatever the caller asks for.
pub const MAX_MATCHES: usize = 10_000;
/// The longest query text.
pub const MAX_QUERY_BYTES: usize = 64 << 10;
/// A capture's text is cut to this many bytes (its ranges still say where all of it is).
pub const MAX_CAPTURE_TEXT: usize = 4096;
/// Matches tree-sitter may hold in progress at once (it drops the oldest past this).
const MATCHES_IN_PROGRESS: u32 = 1024;
/// The deepest nesting of parentheses and brackets a query may have: tree-sitter compiles
/// nested patterns recursively, and no useful query comes near this.
pub const MAX_QUERY_NESTING: usize = 64;
/// Compiled queries kept for later calls, and the bytes of their text. A compiled query is
/// far larger than its text: about 100 KiB for the shipped skills' queries (1-2 KiB of text),
/// and 10.7 MiB for the worst text measured, 60 KiB of 1,100 patterns with a `#match?` regex
/// each (tree-sitter 0.25, Rust grammar). 64 entries hold every shipped skill's queries many
/// times over; 256 KiB of text (four of the longest queries) keeps the worst case near 45 MiB.
pub const CACHED_QUERIES: usize = 64;
pub const CACHED_QUERY_BYTES: usize = 4 * MAX_QUERY_BYTES;

/// The compiled queries every call of the process shares. Process-wide rather than built per
/// run like the limits: what it holds depends only on the grammars (in the binary) and the
/// query texts, so sharing it changes how long a call takes, never what it returns.
static COMPILED: LazyLock<QueryCache> =
    LazyLock::new(|| QueryCache::new(CACHED_QUERIES, CACHED_QUERY_BYTES));

/// A language the host has a grammar for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Rust,
    C,
    Cpp,
    Go,
    Python,
    Java,
    JavaScript,
    TypeScript,
    Tsx,
}

impl Language {
    pub const ALL: [Language; 9] = [
        Language::Rust,
        Language::C,
        Language::Cpp,
        Language::Go,
        Language::Python,
        Language::Java,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::Go => "go",
            Language::Python => "python",
            Language::Java => "java",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
        }
    }

    /// File name endings a file of this language has (`.h` counts for C and C++ alike).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Language::Rust => &["rs"],
            Language::C => &["c", "h"],
            Language::Cpp => &["cc", "cpp", "cxx", "c++", "hh", "hpp", "hxx", "h", "ipp"],
            Language::Go => &["go"],
            Language::Python => &["py", "pyi"],
            Language::Java => &["java"],
            Language::JavaScript => &["js", "mjs", "cjs", "jsx"],
            Language::TypeScript => &["ts", "mts", "cts"],
            Language::Tsx => &["tsx"],
        }
    }

    /// The language of a path, by its extension (`.h` is taken as C; [`Language::of_file`]
    /// reads a header's text to tell C++).
    pub fn of_path(path: &str) -> Option<Language> {
        let extension = path.rsplit_once('.')?.1;
        Language::ALL
            .into_iter()
            .find(|l| l.extensions().contains(&extension))
    }

    /// The language of a file, by its extension and, for a `.h` header (C and C++ share the
    /// extension), by its text: C++ when it has what GitHub's Linguist takes for C++ in a
    /// `.h` (an `#include` of a C++ standard header, `template <`, an access specifier on a line
    /// of its own, `std::NAME`), else C.
    pub fn of_file(path: &str, bytes: &[u8]) -> Option<Language> {
        match Language::of_path(path)? {
            Language::C if path.ends_with(".h") && looks_like_cpp(bytes) => Some(Language::Cpp),
            language => Some(language),
        }
    }

    pub(crate) fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::C => tree_sitter_c::LANGUAGE.into(),
            Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        }
    }

    /// Node kinds that are loops (comprehensions included: they run their body per item).
    fn is_loop(self, kind: &str) -> bool {
        match self {
            Language::Rust => matches!(
                kind,
                "for_expression" | "while_expression" | "loop_expression"
            ),
            Language::C | Language::Cpp | Language::Java => matches!(
                kind,
                "for_statement"
                    | "for_range_loop"
                    | "enhanced_for_statement"
                    | "while_statement"
                    | "do_statement"
            ),
            Language::Go => kind == "for_statement",
            Language::Python => matches!(
                kind,
                "for_statement"
                    | "while_statement"
                    | "list_comprehension"
                    | "set_comprehension"
                    | "dictionary_comprehension"
                    | "generator_expression"
            ),
            Language::JavaScript | Language::TypeScript | Language::Tsx => matches!(
                kind,
                "for_statement" | "for_in_statement" | "while_statement" | "do_statement"
            ),
        }
    }

    /// The name of a named function or method node (closures and lambdas have none).
    fn function_name(self, node: Node<'_>, text: &[u8]) -> Option<String> {
        let named = match self {
            Language::Rust => node.kind() == "function_item",
            Language::C | Language::Cpp => node.kind() == "function_definition",
            Language::Go => matches!(node.kind(), "function_declaration" | "method_declaration"),
            Language::Python => node.kind() == "function_definition",
            Language::Java => matches!(
                node.kind(),
                "method_declaration" | "constructor_declaration"
            ),
            Language::JavaScript | Language::TypeScript | Language::Tsx => matches!(
                node.kind(),
                "function_declaration" | "generator_function_declaration" | "method_definition"
            ),
        };
        if !named {
            return None;
        }
        if matches!(self, Language::C | Language::Cpp) {
            // The name sits under the declarator chain: `*f(int)`, `Class::f() const`.
            let mut declarator = node.child_by_field_name("declarator")?;
            for _ in 0..16 {
                if matches!(
                    declarator.kind(),
                    "identifier"
                        | "field_identifier"
                        | "qualified_identifier"
                        | "destructor_name"
                        | "operator_name"
                ) {
                    return declarator.utf8_text(text).ok().map(str::to_string);
                }
                declarator = declarator.child_by_field_name("declarator")?;
            }
            return None;
        }
        let name = node.child_by_field_name("name")?.utf8_text(text).ok()?;
        if node.kind() == "method_declaration"
            && self == Language::Go
            && let Some(receiver) = node
                .child_by_field_name("receiver")
                .and_then(|r| first_of_kind(r, "type_identifier", 8))
                .and_then(|t| t.utf8_text(text).ok())
        {
            return Some(format!("{receiver}.{name}"));
        }
        Some(name.to_string())
    }

    /// The type a function is defined in, when `node` is that type's definition: an `impl`, a
    /// class, a struct; for a Go method, its receiver's type.
    fn container<'t>(self, node: Node<'t>, text: &'t [u8]) -> Option<&'t str> {
        let field = match (self, node.kind()) {
            (Language::Rust, "impl_item") => "type",
            (Language::Cpp, "class_specifier" | "struct_specifier") => "name",
            (Language::Python, "class_definition") => "name",
            (Language::Java, "class_declaration" | "enum_declaration" | "record_declaration") => {
                "name"
            }
            (Language::JavaScript | Language::TypeScript | Language::Tsx, "class_declaration") => {
                "name"
            }
            _ => return None,
        };
        node.child_by_field_name(field)?.utf8_text(text).ok()
    }

    /// How the language joins a type and a method in the names profiles show.
    fn separator(self) -> &'static str {
        match self {
            Language::Rust | Language::C | Language::Cpp => "::",
            _ => ".",
        }
    }
}

/// A query over the files of one language.
#[derive(Clone, Debug)]
pub struct SyntaxQuery {
    pub language: Language,
    /// A tree-sitter query: S-expression patterns with `@captures` and `#eq?`, `#match?`,
    /// `#any-of?` predicates.
    pub query: String,
    /// Only files matching these globs; all files of the language when empty.
    pub globs: Vec<String>,
    pub under: Option<String>,
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxCapture {
    pub name: String,
    /// The node's kind (`call_expression`).
    pub kind: String,
    pub start_byte: u64,
    pub end_byte: u64,
    /// Counted from 1, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// The node's text, cut at [`MAX_CAPTURE_TEXT`] bytes.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxMatch {
    pub path: String,
    /// Which pattern of the query matched, counted from 0.
    pub pattern: u32,
    pub captures: Vec<SyntaxCapture>,
    /// The named function the match is in (`Type::method` where it is a method), and its
    /// lines.
    pub function: Option<String>,
    pub function_lines: Option<(u32, u32)>,
    /// Loops around the match inside that function (0: not in a loop).
    pub loop_depth: u32,
}

impl SyntaxQuery {
    /// The query compiled for its language (kept from an earlier call with the same language
    /// and text when there was one), or where and why it does not compile.
    ///
    /// tree-sitter's compiler cannot be interrupted and takes up to seconds on a hostile text
    /// within the size and nesting caps (alternations over 64 KiB: about 2 s), so a query not
    /// yet compiled is compiled on a worker and waited for until `deadline` ([`deadline`]).
    ///
    /// [`deadline`]: crate::deadline
    fn compile(&self, deadline: Instant) -> Result<Arc<Query>, TreeError> {
        if let Some(query) = COMPILED.get(self.language, &self.query) {
            return Ok(query);
        }
        let (language, text) = (self.language, self.query.clone());
        // Compiled inside a walk, which runs on a worker of its skill's already: inline there.
        crate::deadline::until("a query compile", deadline, move || {
            COMPILED.get_or_compile(language, &text, || {
                SyntaxQuery::compile_now(language, &text)
            })
        })
        .map_err(|late| match late {
            Late::Deadline => TreeError::LimitExceeded(
                "deadline exceeded while the query was being compiled".to_string(),
            ),
            Late::Lost(why) => TreeError::Io(why),
            Late::Cancelled => TreeError::LimitExceeded(
                "the run was cancelled while the query was being compiled".to_string(),
            ),
        })?
    }

    fn compile_now(language: Language, text: &str) -> Result<Query, TreeError> {
        if text.trim().is_empty() {
            return Err(TreeError::InvalidArgument("the query is empty".to_string()));
        }
        if text.len() > MAX_QUERY_BYTES {
            return Err(TreeError::InvalidArgument(format!(
                "queries are at most {MAX_QUERY_BYTES} bytes (got {})",
                text.len()
            )));
        }
        let mut depth = 0usize;
        for (i, c) in text.char_indices() {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > MAX_QUERY_NESTING {
                let line = text[..i].matches('\n').count() + 1;
                return Err(TreeError::InvalidArgument(format!(
                    "{} query, line {line}: patterns nest more than {MAX_QUERY_NESTING} deep",
                    language.name()
                )));
            }
        }
        predicates::check(language.name(), text)?;
        let compiled = Query::new(&language.grammar(), text).map_err(|e| {
            TreeError::InvalidArgument(format!(
                "{} query, line {} column {} (byte {}): {:?} error{}",
                language.name(),
                e.row + 1,
                e.column + 1,
                e.offset,
                e.kind,
                if e.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", e.message.trim())
                }
            ))
        })?;
        // tree-sitter takes a predicate written after a pattern, outside its parentheses, as a
        // pattern of its own that filters nothing: the query would match more than it says.
        for i in 0..compiled.pattern_count() {
            let start = compiled.start_byte_for_pattern(i);
            let pattern = &text[start..compiled.end_byte_for_pattern(i).min(text.len())];
            if pattern.trim_start().starts_with("(#") {
                let line = text[..start].matches('\n').count() + 1;
                return Err(TreeError::InvalidArgument(format!(
                    "{} query, line {line}: the predicate `{}` stands outside any pattern, so it \
                     would filter nothing; put it inside the pattern's parentheses: \
                     `((pattern) @capture {})`",
                    language.name(),
                    pattern.trim(),
                    pattern.trim()
                )));
            }
        }
        Ok(compiled)
    }
}

impl SourceTree {
    /// Runs `query` over the tree's files of its language (or those its globs name), skipping
    /// the paths `visible` rejects, stopping at `deadline` with what it found so far.
    pub fn query_syntax(
        &self,
        query: &SyntaxQuery,
        visible: &dyn Fn(&str) -> bool,
        deadline: Instant,
    ) -> Result<Vec<SyntaxMatch>, TreeError> {
        let compiled = query.compile(deadline)?;
        let globs = if query.globs.is_empty() {
            query
                .language
                .extensions()
                .iter()
                .map(|e| format!("**/*.{e}"))
                .collect()
        } else {
            query.globs.clone()
        };
        let walk = Walk {
            globs: glob_set(&globs)?,
            visible,
            deadline,
            what: "query",
        };
        let limit = query.limit.clamp(1, MAX_MATCHES);
        let mut parser = Parser::new();
        parser
            .set_language(&query.language.grammar())
            .map_err(|e| TreeError::Unsupported(format!("grammar: {e}")))?;
        let mut cursor = QueryCursor::new();
        cursor.set_match_limit(MATCHES_IN_PROGRESS);
        let mut out = Vec::new();
        self.walk_files(query.under.as_deref(), &walk, &mut |path, bytes| {
            // A file parsed lately, unchanged since, is not parsed again.
            let known = self
                .parsed
                .lock()
                .ok()
                .and_then(|p| p.get(&path, query.language, bytes));
            let tree = match known {
                Some(tree) => Some(tree),
                None => parse(&mut parser, bytes, deadline).inspect(|tree| {
                    if let Ok(mut p) = self.parsed.lock() {
                        p.put(&path, query.language, bytes, tree.clone());
                    }
                }),
            };
            if let Some(tree) = tree {
                query_file(
                    query.language,
                    &compiled,
                    &mut cursor,
                    (&path, bytes, &tree),
                    (limit, deadline),
                    &mut out,
                );
            }
            Ok(if out.len() >= limit || Instant::now() >= deadline {
                Flow::Stop
            } else {
                Flow::Continue
            })
        })?;
        Ok(out)
    }
}

/// Syntax trees of the files a tree's queries parsed last, each with the bytes it was parsed
/// from (a file changed since is parsed again), at most [`Parsed::FILES`] files and
/// [`Parsed::BYTES`] of their text, the oldest dropped first.
#[derive(Default)]
pub struct Parsed {
    files: std::collections::VecDeque<(String, Language, Vec<u8>, tree_sitter::Tree)>,
    bytes: usize,
}

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Parsed({} files, {} bytes)",
            self.files.len(),
            self.bytes
        )
    }
}

impl Parsed {
    const FILES: usize = 64;
    const BYTES: usize = 8 << 20;

    /// The tree of `path` in `language` parsed from exactly `bytes`, if it is kept.
    fn get(&self, path: &str, language: Language, bytes: &[u8]) -> Option<tree_sitter::Tree> {
        self.files
            .iter()
            .find(|(p, l, b, _)| p == path && *l == language && b == bytes)
            .map(|(_, _, _, tree)| tree.clone())
    }

    fn put(&mut self, path: &str, language: Language, bytes: &[u8], tree: tree_sitter::Tree) {
        if bytes.len() > Self::BYTES / 4 {
            return;
        }
        if let Some(i) = self
            .files
            .iter()
            .position(|(p, l, _, _)| p == path && *l == language)
            && let Some((_, _, old, _)) = self.files.remove(i)
        {
            self.bytes -= old.len();
        }
        self.bytes += bytes.len();
        self.files
            .push_back((path.to_string(), language, bytes.to_vec(), tree));
        while self.files.len() > Self::FILES || self.bytes > Self::BYTES {
            let Some((_, _, old, _)) = self.files.pop_front() else {
                break;
            };
            self.bytes -= old.len();
        }
    }
}

/// The matches of `query` in one file (its syntax tree parsed from `bytes`), appended to
/// `out` up to `limit`; syntax errors do not stop it (tree-sitter parses around them).
fn query_file(
    language: Language,
    query: &Query,
    cursor: &mut QueryCursor,
    (path, bytes, tree): (&str, &[u8], &tree_sitter::Tree),
    (limit, deadline): (usize, Instant),
    out: &mut Vec<SyntaxMatch>,
) {
    let names = query.capture_names();
    let mut stop = |_: &tree_sitter::QueryCursorState| Instant::now() >= deadline;
    let mut matches = cursor.matches_with_options(
        query,
        tree.root_node(),
        bytes,
        QueryCursorOptions::new().progress_callback(&mut stop),
    );
    while let Some(m) = matches.next() {
        // Finding a match's surroundings is host work the guest's deadline does not
        // interrupt: checked per match.
        if out.len() >= limit || Instant::now() >= deadline {
            break;
        }
        let captures: Vec<SyntaxCapture> = m
            .captures
            .iter()
            .map(|c| capture(names[c.index as usize], c.node, bytes))
            .collect();
        let Some(first) = m
            .captures
            .iter()
            .map(|c| c.node)
            .min_by_key(|n| n.start_byte())
        else {
            continue;
        };
        let (function, function_lines, loop_depth) = surroundings(language, first, bytes);
        out.push(SyntaxMatch {
            path: path.to_string(),
            pattern: m.pattern_index as u32,
            captures,
            function,
            function_lines,
            loop_depth,
        });
    }
}

/// The first node of `kind` at or under `node`, looking at most `depth` levels down.
fn first_of_kind<'t>(node: Node<'t>, kind: &str, depth: usize) -> Option<Node<'t>> {
    if node.kind() == kind {
        return Some(node);
    }
    if depth == 0 {
        return None;
    }
    let mut walker = node.walk();
    let children: Vec<Node<'t>> = node.named_children(&mut walker).collect();
    children
        .into_iter()
        .find_map(|child| first_of_kind(child, kind, depth - 1))
}

fn capture(name: &str, node: Node<'_>, bytes: &[u8]) -> SyntaxCapture {
    let (start, end) = (node.start_byte(), node.end_byte());
    let mut cut = end.min(start + MAX_CAPTURE_TEXT);
    let text = loop {
        match std::str::from_utf8(&bytes[start..cut]) {
            Ok(text) => break text.to_string(),
            // Cut inside a character: back to its start (at most three bytes).
            Err(e) if e.error_len().is_none() && cut > start => cut = start + e.valid_up_to(),
            Err(_) => break String::from_utf8_lossy(&bytes[start..cut]).into_owned(),
        }
    };
    SyntaxCapture {
        name: name.to_string(),
        kind: node.kind().to_string(),
        start_byte: start as u64,
        end_byte: end as u64,
        start_line: node.start_position().row as u32 + 1,
        end_line: node.end_position().row as u32 + 1,
        text,
    }
}

/// The named function around `node` (with the type it is a method of), its lines, and the
/// loops between the two.
fn surroundings(
    language: Language,
    node: Node<'_>,
    bytes: &[u8],
) -> (Option<String>, Option<(u32, u32)>, u32) {
    let mut loops = 0;
    let mut at = node.parent();
    while let Some(n) = at {
        if language.is_loop(n.kind()) && n.id() != node.id() {
            loops += 1;
        }
        if let Some((name, lines)) = definition(language, n, bytes) {
            return (Some(name), Some(lines), loops);
        }
        at = n.parent();
    }
    (None, None, loops)
}

/// `bytes` parsed by `parser`, or `None` when the parser gives up at `deadline`.
pub(crate) fn parse(
    parser: &mut Parser,
    bytes: &[u8],
    deadline: Instant,
) -> Option<tree_sitter::Tree> {
    let len = bytes.len();
    let mut past_deadline = |_: &tree_sitter::ParseState| Instant::now() >= deadline;
    parser.parse_with_options(
        &mut |i, _| if i < len { &bytes[i..] } else { &[] },
        None,
        Some(tree_sitter::ParseOptions::new().progress_callback(&mut past_deadline)),
    )
}

/// When `node` defines a named function or method: its name as profiles name it in that
/// language, with the type or class it is in (`Parser::parse_line`, `Parser.parse`), and its
/// first and last lines (from 1).
pub(crate) fn definition(
    language: Language,
    node: Node<'_>,
    bytes: &[u8],
) -> Option<(String, (u32, u32))> {
    let name = language.function_name(node, bytes)?;
    let lines = (
        node.start_position().row as u32 + 1,
        node.end_position().row as u32 + 1,
    );
    let mut outer = node.parent();
    let mut container = None;
    while let Some(o) = outer {
        if let Some(c) = language.container(o, bytes) {
            container = Some(c);
            break;
        }
        if language.function_name(o, bytes).is_some() {
            break;
        }
        outer = o.parent();
    }
    let name = match container {
        Some(c) if !name.contains("::") && !name.contains('.') => {
            format!("{c}{}{name}", language.separator())
        }
        _ => name,
    };
    Some((name, lines))
}

/// Whether a header's text is C++ by Linguist's heuristic for `.h` files
/// (`lib/linguist/heuristics.yml`): a line including a C++ standard header, a template, an
/// access specifier alone on a line, or a name qualified by `std::`.
fn looks_like_cpp(bytes: &[u8]) -> bool {
    const HEADERS: [&str; 16] = [
        "cstdint",
        "string",
        "vector",
        "map",
        "list",
        "array",
        "bitset",
        "queue",
        "stack",
        "forward_list",
        "unordered_map",
        "unordered_set",
        "iostream",
        "istream",
        "ostream",
        "memory",
    ];
    let text = String::from_utf8_lossy(bytes);
    text.lines().any(|line| {
        let t = line.trim();
        let include = t
            .strip_prefix('#')
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix("include"))
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('<'))
            .and_then(|r| r.split_once('>'))
            .is_some_and(|(header, _)| HEADERS.contains(&header));
        let template = t
            .strip_prefix("template")
            .is_some_and(|r| r.trim_start().starts_with('<'));
        let access = matches!(t, "public:" | "private:" | "protected:")
            && line.starts_with([' ', '\t', 'p']);
        let std = line.match_indices("std::").any(|(i, _)| {
            line[i + 5..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        });
        include || template || access || std
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + std::time::Duration::from_secs(3600)
    }

    use crate::source::tree_with;

    fn run(tree: &SourceTree, language: Language, query: &str) -> Vec<SyntaxMatch> {
        tree.query_syntax(
            &SyntaxQuery {
                language,
                query: query.to_string(),
                globs: Vec::new(),
                under: None,
                limit: 100,
            },
            &|_| true,
            far(),
        )
        .unwrap()
    }

    #[test]
    fn a_file_parsed_lately_is_not_parsed_again_unless_it_changed() {
        let (dir, tree) = tree_with(&[("lib/a.py", "def f():\n    return g()\n")]);
        let calls = "(call function: (identifier) @callee)";
        let names = |tree: &SourceTree| -> Vec<String> {
            run(tree, Language::Python, calls)
                .iter()
                .map(|m| m.captures[0].text.clone())
                .collect()
        };
        assert_eq!(names(&tree), ["g"]);
        assert_eq!(tree.parsed.lock().unwrap().files.len(), 1);
        assert_eq!(names(&tree), ["g"]);
        // Changed on disk: parsed again, the new tree kept in the old one's place.
        std::fs::write(dir.path().join("lib/a.py"), "def f():\n    return h(k())\n").unwrap();
        assert_eq!(names(&tree), ["h", "k"]);
        assert_eq!(tree.parsed.lock().unwrap().files.len(), 1);
        // A caller the deny rules keep from the file sees nothing, kept tree or not.
        let hidden = tree
            .query_syntax(
                &SyntaxQuery {
                    language: Language::Python,
                    query: calls.to_string(),
                    globs: Vec::new(),
                    under: None,
                    limit: 100,
                },
                &|p| !p.starts_with("lib"),
                far(),
            )
            .unwrap();
        assert!(hidden.is_empty());
        // Bounded: the oldest files go first.
        let mut kept = Parsed::default();
        let parsed = tree.parsed.lock().unwrap().files[0].3.clone();
        for i in 0..Parsed::FILES + 5 {
            kept.put(
                &format!("f{i}.py"),
                Language::Python,
                b"x = 1\n",
                parsed.clone(),
            );
        }
        assert_eq!(kept.files.len(), Parsed::FILES);
        assert!(kept.get("f0.py", Language::Python, b"x = 1\n").is_none());
        assert!(kept.get("f6.py", Language::Python, b"x = 1\n").is_some());
        assert!(kept.get("f6.py", Language::Python, b"x = 2\n").is_none());
        assert!(kept.get("f6.py", Language::Rust, b"x = 1\n").is_none());
    }

    #[test]
    fn rust_calls_in_loops_with_their_function() {
        let (_dir, tree) = tree_with(&[(
            "src/parse.rs",
            "struct P;\nimpl P {\n    fn parse_line(&self, lines: &[&str]) {\n        for l in lines {\n            let re = Regex::new(\"a+\").unwrap();\n        }\n    }\n}\nfn top() { Regex::new(\"b\"); }\n",
        )]);
        let found = run(
            &tree,
            Language::Rust,
            r#"(call_expression function: (scoped_identifier path: (identifier) @type name: (identifier) @fn) (#eq? @type "Regex") (#eq? @fn "new")) @call"#,
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        let first = &found[0];
        assert_eq!(first.path, "src/parse.rs");
        assert_eq!(first.function.as_deref(), Some("P::parse_line"));
        assert_eq!(first.function_lines, Some((3, 7)));
        assert_eq!(first.loop_depth, 1);
        let call = first.captures.iter().find(|c| c.name == "call").unwrap();
        assert_eq!(call.text, "Regex::new(\"a+\")");
        assert_eq!((call.start_line, call.end_line), (5, 5));
        assert_eq!(call.kind, "call_expression");
        let text = std::fs::read_to_string(tree.root().join("src/parse.rs")).unwrap();
        assert_eq!(
            &text[call.start_byte as usize..call.end_byte as usize],
            call.text
        );
        assert_eq!(found[1].function.as_deref(), Some("top"));
        assert_eq!(found[1].loop_depth, 0);
    }

    #[test]
    fn every_grammar_parses_and_names_functions() {
        let (_dir, tree) = tree_with(&[
            (
                "a.c",
                "int sum(int *v, int n) { int s = 0; for (int i = 0; i < n; i++) { s += strlen(\"x\"); } return s; }\n",
            ),
            (
                "b.cc",
                "class K { public: int f() { while (true) { g(); } } };\nint K2::h() { return g(); }\n",
            ),
            (
                "c.go",
                "package p\ntype T struct{}\nfunc (t *T) Run(xs []int) { for _, x := range xs { g(x) } }\n",
            ),
            (
                "d.py",
                "class C:\n    def m(self, xs):\n        return [g(x) for x in xs]\n",
            ),
            (
                "E.java",
                "class E { void m(int[] xs) { for (int x : xs) { g(x); } } }\n",
            ),
            (
                "f.js",
                "function run(xs) { for (const x of xs) { g(x); } }\n",
            ),
            (
                "g.ts",
                "class S { m(xs: number[]) { do { g(1); } while (false); } }\n",
            ),
            (
                "h.tsx",
                "function View() { while (true) { g(); } return <div/>; }\n",
            ),
        ]);
        let cases = [
            (Language::C, "(call_expression) @c", "sum", 1),
            (Language::Cpp, "(call_expression) @c", "K::f", 1),
            (Language::Go, "(call_expression) @c", "T.Run", 1),
            (Language::Python, "(call) @c", "C.m", 1),
            (Language::Java, "(method_invocation) @c", "E.m", 1),
            (Language::JavaScript, "(call_expression) @c", "run", 1),
            (Language::TypeScript, "(call_expression) @c", "S.m", 1),
            (Language::Tsx, "(call_expression) @c", "View", 1),
        ];
        for (language, query, function, loops) in cases {
            let found = run(&tree, language, query);
            assert!(!found.is_empty(), "{language:?}: nothing found");
            assert_eq!(found[0].function.as_deref(), Some(function), "{language:?}");
            assert_eq!(found[0].loop_depth, loops, "{language:?}");
        }
        // An out-of-line C++ definition keeps its qualified name.
        let cpp = run(&tree, Language::Cpp, "(call_expression) @c");
        assert_eq!(cpp.last().unwrap().function.as_deref(), Some("K2::h"));
    }

    #[test]
    fn a_bad_query_is_refused_with_its_place() {
        let (_dir, tree) = tree_with(&[("a.rs", "fn f() {}\n")]);
        let q = |query: &str| SyntaxQuery {
            language: Language::Rust,
            query: query.to_string(),
            globs: Vec::new(),
            under: None,
            limit: 10,
        };
        let err = tree
            .query_syntax(&q("(call_expression\n  (no_such_node))"), &|_| true, far())
            .unwrap_err();
        let TreeError::InvalidArgument(message) = err else {
            panic!("{err:?}")
        };
        assert!(message.contains("line 2 column 4"), "{message}");
        assert!(message.contains("NodeType"), "{message}");
        assert!(matches!(
            tree.query_syntax(&q("  "), &|_| true, far()),
            Err(TreeError::InvalidArgument(_))
        ));
        let loose = tree
            .query_syntax(
                &q("(call_expression function: (identifier) @f) @c\n(#eq? @f \"g\")"),
                &|_| true,
                far(),
            )
            .unwrap_err();
        let TreeError::InvalidArgument(message) = loose else {
            panic!("{loose:?}")
        };
        assert!(
            message.contains("line 2") && message.contains("outside any pattern"),
            "{message}"
        );
        let deep = format!("{}(identifier){}", "(a ".repeat(1000), ")".repeat(1000));
        let TreeError::InvalidArgument(message) =
            tree.query_syntax(&q(&deep), &|_| true, far()).unwrap_err()
        else {
            panic!("not refused")
        };
        assert!(message.contains("nest more than"), "{message}");
        let huge = "(identifier) ".repeat(MAX_QUERY_BYTES / 10);
        assert!(matches!(
            tree.query_syntax(&q(&huge), &|_| true, far()),
            Err(TreeError::InvalidArgument(_))
        ));
    }

    #[test]
    fn compiling_a_slow_query_stops_at_the_deadline() {
        // Alternations across 64 KiB: tree-sitter's analysis takes about 2 s on this text
        // (release build), far past a 50 ms deadline.
        let alt = "[(identifier) (integer_literal) (string_literal) (call_expression) (field_expression)]";
        let mut text = String::from("; slow, unique to this test\n");
        while text.len() + 2 * alt.len() + 24 < MAX_QUERY_BYTES {
            text.push_str(&format!("(binary_expression {alt} {alt}) "));
        }
        let query = SyntaxQuery {
            language: Language::Rust,
            query: text,
            globs: Vec::new(),
            under: None,
            limit: 10,
        };
        let started = Instant::now();
        let late = query.compile(started + std::time::Duration::from_millis(50));
        let waited = started.elapsed();
        assert!(
            matches!(&late, Err(TreeError::LimitExceeded(m)) if m.contains("deadline")),
            "{:?}",
            late.map(|_| ())
        );
        assert!(waited.as_millis() < 500, "waited {waited:?}");
    }

    #[test]
    fn a_query_is_compiled_once_for_every_call_that_sends_it() {
        let query = |language| SyntaxQuery {
            language,
            // Text no other test sends, so no other test's calls evict it meanwhile.
            query: "(identifier) @compiled_once".to_string(),
            globs: Vec::new(),
            under: None,
            limit: 10,
        };
        let rust = query(Language::Rust);
        assert!(Arc::ptr_eq(
            &rust.compile(far()).unwrap(),
            &rust.compile(far()).unwrap()
        ));
        let c = query(Language::C);
        assert!(!Arc::ptr_eq(
            &rust.compile(far()).unwrap(),
            &c.compile(far()).unwrap()
        ));
        // The cached query answers as a fresh one does.
        let (_dir, tree) = tree_with(&[("a.rs", "fn f(x: u8) {}\n")]);
        for _ in 0..2 {
            let found = tree.query_syntax(&rust, &|_| true, far()).unwrap();
            assert_eq!(found.len(), 2, "{found:#?}");
        }
    }

    #[test]
    fn bounded_by_limit_visibility_and_deadline() {
        let many: String = (0..50).map(|i| format!("fn f{i}() {{ g(); }}\n")).collect();
        let (_dir, tree) = tree_with(&[("a.rs", &many), ("secret/b.rs", "fn s() { g(); }\n")]);
        let mut query = SyntaxQuery {
            language: Language::Rust,
            query: "(call_expression) @c".to_string(),
            globs: Vec::new(),
            under: None,
            limit: 7,
        };
        assert_eq!(
            tree.query_syntax(&query, &|_| true, far()).unwrap().len(),
            7
        );
        query.limit = 1000;
        let visible = tree
            .query_syntax(&query, &|p| !p.starts_with("secret"), far())
            .unwrap();
        assert_eq!(visible.len(), 50);
        assert!(visible.iter().all(|m| m.path == "a.rs"));
        let past = tree
            .query_syntax(&query, &|_| true, Instant::now())
            .unwrap();
        assert!(past.is_empty());
    }

    #[test]
    fn long_captures_are_cut_on_a_character_boundary() {
        let body = format!("fn f() {{ let s = \"{}\"; }}\n", "é".repeat(3000));
        let (_dir, tree) = tree_with(&[("a.rs", &body)]);
        let found = run(&tree, Language::Rust, "(string_literal) @s");
        let s = &found[0].captures[0];
        assert!(s.text.len() <= MAX_CAPTURE_TEXT && s.text.len() > MAX_CAPTURE_TEXT - 4);
        assert_eq!(s.end_byte - s.start_byte, 6002);
    }
}
