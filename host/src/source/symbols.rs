//! The functions a source tree defines, by name: where a profile's function is in the tree,
//! answered in microseconds instead of a syntax query over every file.
//!
//! A tree is indexed once per process, on the first lookup: every file of a language the host
//! has a grammar for, read by the tree's walk (hidden and ignored files skipped, the walk's byte
//! limit), parsed with tree-sitter on every core, and each named function or method kept with
//! its name as profiles name it (`Parser::parse_line`, `Parser.parse`, `T.Run`) and its lines.
//! The skills of a run share it; each lookup keeps only the files the caller may see. Indexing
//! has a budget of its own ([`INDEX_BUDGET`]); an index cut short by it, or by the walk's byte
//! limit, answers with what it holds and says it is partial.
//!
//! Each file's definitions are kept on disk by the SHA-256 of its bytes and its language
//! ([`SymbolCache`], beside the compiled components), so indexing a tree again parses only
//! the files that changed since: hashing every file instead of parsing it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tree_sitter::{Parser, TreeCursor};

use super::SourceTree;
use super::syntax::{Language, definition, parse};
use super::walk::{Flow, Walk, glob_set};

/// The longest indexing may take, whoever asked first: later lookups use what it built.
pub const INDEX_BUDGET: Duration = Duration::from_secs(120);

/// The most definitions one lookup returns, whatever the caller asks for.
pub const MAX_DEFINITIONS: usize = 1000;

/// Definitions of files already parsed, by language and SHA-256 of their bytes: one JSON file
/// per tree root. A file that does not read as such is ignored (and replaced on the next
/// write); it only ever saves parsing.
#[derive(Debug)]
pub struct SymbolCache {
    path: PathBuf,
}

/// A file's definitions as the cache keeps them: name, first and last line.
type Cached = Vec<(String, u32, u32)>;

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct CacheFile {
    version: u32,
    files: HashMap<String, Cached>,
}

/// 2: Go bodies blanked before parsing (files with syntax errors may differ from version 1).
/// 3: Go braces outside functions left out of the parse too (the same, from version 2).
const CACHE_VERSION: u32 = 3;

impl SymbolCache {
    /// The cache for the tree at `root` in directory `dir`.
    pub fn new(dir: &Path, root: &Path) -> SymbolCache {
        let digest = Sha256::digest(root.as_os_str().as_encoded_bytes());
        let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        SymbolCache {
            path: dir.join(format!("{name}.json")),
        }
    }

    fn load(&self) -> HashMap<String, Cached> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|c| c.version == CACHE_VERSION)
            .map(|c| c.files)
            .unwrap_or_default()
    }

    /// Writes `files` (beside, then renamed over the old file: a reader never sees half).
    fn store(&self, files: HashMap<String, Cached>) {
        let Some(dir) = self.path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let Ok(text) = serde_json::to_vec(&CacheFile {
            version: CACHE_VERSION,
            files,
        }) else {
            return;
        };
        let partial = self
            .path
            .with_extension(format!("{}.tmp", std::process::id()));
        if std::fs::write(&partial, text).is_ok() && std::fs::rename(&partial, &self.path).is_err()
        {
            let _ = std::fs::remove_file(&partial);
        }
    }
}

/// The cache key of a file: its language and the SHA-256 of its bytes.
fn cache_key(language: Language, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}:{hex}", language.name())
}

/// A named function or method and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// Relative to the tree's root, `/`-separated.
    pub path: String,
    /// As profiles name it in that language, with its type or class.
    pub name: String,
    /// First and last line, from 1.
    pub lines: (u32, u32),
    pub language: Language,
}

/// The definitions of a tree, by the last part of their names.
#[derive(Debug, Default)]
pub struct SymbolIndex {
    definitions: Vec<Definition>,
    by_name: HashMap<String, Vec<u32>>,
    /// Files indexed, and their bytes; of those, the files whose definitions came from the
    /// cache.
    pub files: usize,
    pub bytes: u64,
    pub cached: usize,
    /// Why the index holds less than the tree, when it does (budget, byte limit).
    pub partial: Option<String>,
    pub took: Duration,
}

impl SymbolIndex {
    /// The definitions whose name's last part is `name`'s (`parse_line` and
    /// `app::Parser::parse_line` both find `Parser::parse_line`), in path order, at most
    /// `limit`, among the files `visible` lets through.
    pub fn lookup(
        &self,
        name: &str,
        limit: usize,
        visible: &dyn Fn(&str) -> bool,
    ) -> Vec<Definition> {
        let Some(ids) = self.by_name.get(last_part(name)) else {
            return Vec::new();
        };
        ids.iter()
            .map(|&i| &self.definitions[i as usize])
            .filter(|d| seen_by(&d.path, visible))
            .take(limit.min(MAX_DEFINITIONS))
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.definitions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty()
    }

    fn add(&mut self, found: Vec<Definition>) {
        for d in found {
            let id = self.definitions.len() as u32;
            self.by_name
                .entry(last_part(&d.name).to_string())
                .or_default()
                .push(id);
            self.definitions.push(d);
        }
    }
}

/// Whether a caller whose walk sees `visible` would see the file at `path`: the file and every
/// directory above it (a walk skips a hidden directory whole).
fn seen_by(path: &str, visible: &dyn Fn(&str) -> bool) -> bool {
    let mut end = 0;
    while let Some(i) = path[end..].find('/') {
        if !visible(&path[..end + i]) {
            return false;
        }
        end += i + 1;
    }
    visible(path)
}

/// The last part of a function's name in any language's spelling: `a::B::f`, `B.f`, `(*T).f`,
/// `f` all end in `f`. Generic arguments and closure suffixes are the SDK's to strip.
fn last_part(name: &str) -> &str {
    let name = name.trim();
    let cut = name
        .rfind("::")
        .map(|i| i + 2)
        .into_iter()
        .chain(name.rfind('.').map(|i| i + 1))
        .max()
        .unwrap_or(0);
    &name[cut..]
}

impl SourceTree {
    /// Indexes the tree's function definitions (see the module's documentation), reusing and
    /// then updating `cache` when there is one.
    pub fn index_symbols(&self, cache: Option<&SymbolCache>) -> SymbolIndex {
        let started = Instant::now();
        let deadline = started + INDEX_BUDGET;
        let globs: Vec<String> = Language::ALL
            .iter()
            .flat_map(|l| l.extensions())
            .map(|e| format!("**/*.{e}"))
            .collect();
        let mut index = SymbolIndex::default();
        let globs = match glob_set(&globs) {
            Ok(g) => g,
            Err(e) => {
                index.partial = Some(e.to_string());
                return index;
            }
        };
        let walk = Walk {
            globs,
            visible: &|_| true,
            deadline,
            what: "indexing the tree's functions",
        };
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(8);
        let (files_to, files) = mpsc::sync_channel::<(String, Vec<u8>)>(workers * 4);
        let files = std::sync::Mutex::new(files);
        let known = cache.map(SymbolCache::load).unwrap_or_default();
        // Per file of a language: its definitions, its cache key, and whether they came from
        // the cache.
        let (found_to, found) = mpsc::channel::<(Vec<Definition>, String, bool)>();
        let walked = std::thread::scope(|scope| {
            for _ in 0..workers {
                let found_to = found_to.clone();
                let (files, known) = (&files, &known);
                scope.spawn(move || {
                    let mut parsers: HashMap<Language, Parser> = HashMap::new();
                    loop {
                        let next = files.lock().ok().and_then(|f| f.recv().ok());
                        let Some((path, bytes)) = next else { break };
                        // The walk's globs let through only files of a language.
                        let Some(language) = Language::of_file(&path, &bytes) else {
                            continue;
                        };
                        let key = cache_key(language, &bytes);
                        let (defs, from_cache) = match known.get(&key) {
                            Some(cached) => (
                                cached
                                    .iter()
                                    .map(|(name, first, last)| Definition {
                                        path: path.clone(),
                                        name: name.clone(),
                                        lines: (*first, *last),
                                        language,
                                    })
                                    .collect(),
                                true,
                            ),
                            None => (
                                definitions_in(&mut parsers, language, &path, &bytes, deadline),
                                false,
                            ),
                        };
                        if found_to.send((defs, key, from_cache)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(found_to);
            let mut bytes_read = 0u64;
            let mut count = 0usize;
            let walked = self.walk_files(None, &walk, &mut |path, bytes| {
                bytes_read += bytes.len() as u64;
                count += 1;
                Ok(if files_to.send((path, bytes.to_vec())).is_err() {
                    Flow::Stop
                } else {
                    Flow::Continue
                })
            });
            drop(files_to);
            (walked, count, bytes_read)
        });
        let (walked, count, bytes_read) = walked;
        let mut keep: HashMap<String, Cached> = HashMap::new();
        for (defs, key, from_cache) in found.try_iter() {
            index.cached += usize::from(from_cache);
            keep.insert(
                key,
                defs.iter()
                    .map(|d| (d.name.clone(), d.lines.0, d.lines.1))
                    .collect(),
            );
            index.add(defs);
        }
        // Each name's definitions in path order, whatever order the workers finished in.
        let definitions = &index.definitions;
        for ids in index.by_name.values_mut() {
            ids.sort_by(|&a, &b| {
                let (a, b) = (&definitions[a as usize], &definitions[b as usize]);
                a.path.cmp(&b.path).then(a.lines.cmp(&b.lines))
            });
        }
        index.files = count;
        index.bytes = bytes_read;
        if let Err(e) = walked {
            index.partial = Some(e.to_string());
        } else if Instant::now() >= deadline {
            index.partial = Some(format!(
                "indexing stopped after {} s, {count} files in",
                INDEX_BUDGET.as_secs()
            ));
        }
        // Only what this tree holds now is kept, so the file does not grow with its history;
        // an index cut short keeps what the old file had besides.
        if let Some(cache) = cache
            && index.cached < count
        {
            if index.partial.is_some() {
                for (k, v) in known {
                    keep.entry(k).or_insert(v);
                }
            }
            cache.store(keep);
        }
        index.took = started.elapsed();
        index
    }
}

/// The named functions defined in one file of `language` (none when the parser gives up at
/// the deadline).
fn definitions_in(
    parsers: &mut HashMap<Language, Parser>,
    language: Language,
    path: &str,
    bytes: &[u8],
    deadline: Instant,
) -> Vec<Definition> {
    let parser = match parsers.entry(language) {
        std::collections::hash_map::Entry::Occupied(p) => p.into_mut(),
        std::collections::hash_map::Entry::Vacant(slot) => {
            let mut parser = Parser::new();
            if parser.set_language(&language.grammar()).is_err() {
                return Vec::new();
            }
            slot.insert(parser)
        }
    };
    // Go is parsed without its bodies (the index needs signatures and lines; see `bodies`):
    // the parser reads only the code around them.
    let ranges = match language {
        Language::Go => super::bodies::go_code_ranges(bytes),
        _ => None,
    };
    let Some(ranges) = ranges else {
        return parsed_definitions(parser, language, path, bytes, deadline);
    };
    if parser.set_included_ranges(&ranges).is_err() {
        return parsed_definitions(parser, language, path, bytes, deadline);
    }
    let found = parsed_definitions(parser, language, path, bytes, deadline);
    // The parser is kept for the next file, which it reads whole unless told otherwise.
    let _ = parser.set_included_ranges(&[]);
    found
}

/// The named functions of one file as the index finds them (`blank_bodies`), or from a parse
/// of the whole file, which is `None` when that parse has syntax errors (what a parser makes
/// of invalid code is its error recovery's guess): `make bench-symbols` checks the two agree
/// on every valid file of a real tree.
pub fn file_definitions(path: &str, bytes: &[u8], blank_bodies: bool) -> Option<Vec<Definition>> {
    let Some(language) = Language::of_file(path, bytes) else {
        return Some(Vec::new());
    };
    let far = Instant::now() + INDEX_BUDGET;
    if blank_bodies {
        return Some(definitions_in(
            &mut HashMap::new(),
            language,
            path,
            bytes,
            far,
        ));
    }
    let mut parser = Parser::new();
    parser.set_language(&language.grammar()).ok()?;
    if parse(&mut parser, bytes, far)?.root_node().has_error() {
        return None;
    }
    Some(parsed_definitions(&mut parser, language, path, bytes, far))
}

/// The named functions in `bytes`, parsed as they are.
fn parsed_definitions(
    parser: &mut Parser,
    language: Language,
    path: &str,
    bytes: &[u8],
    deadline: Instant,
) -> Vec<Definition> {
    let Some(tree) = parse(parser, bytes, deadline) else {
        return Vec::new();
    };
    // Go and C cannot define a named function inside another (C++'s lambdas and local classes'
    // methods are not what profiles name either): their function bodies, most of the code,
    // are not walked.
    let flat = matches!(language, Language::Go | Language::C | Language::Cpp);
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    visit(&mut cursor, &mut |node| {
        let Some((name, lines)) = definition(language, node, bytes) else {
            return true;
        };
        out.push(Definition {
            path: path.to_string(),
            name,
            lines,
            language,
        });
        !flat
    });
    out
}

/// Every node of the tree under the cursor, in document order, without recursion (a deeply
/// nested file must not exhaust the stack); below a node only when `each` says so.
fn visit(cursor: &mut TreeCursor<'_>, each: &mut dyn FnMut(tree_sitter::Node<'_>) -> bool) {
    loop {
        if each(cursor.node()) && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::source::tree_with;

    #[test]
    fn functions_are_found_by_their_last_name_in_every_language() {
        let (_dir, tree) = tree_with(&[
            (
                "src/parse.rs",
                "struct Parser;\nimpl Parser {\n    fn parse_line(&self) {}\n}\nfn main() {}\n",
            ),
            (
                "lib/util.py",
                "class Registry:\n    def _sort(self):\n        return sorted(self.x, key=lambda v: v)\n\ndef parse_line(s):\n    return s\n",
            ),
            (
                "cmd/run.go",
                "package main\ntype T struct{}\nfunc (t *T) Run() {}\n",
            ),
            (
                "c/x.c",
                "static int parse_line(const char *s) { return 0; }\n",
            ),
            (".hidden/skip.py", "def parse_line(): pass\n"),
            ("secret/keys.py", "def parse_line(): pass\n"),
            ("README.md", "fn parse_line() {}\n"),
        ]);
        let index = tree.index_symbols(None);
        assert!(index.partial.is_none(), "{:?}", index.partial);
        assert_eq!(index.files, 5);
        let all = |_: &str| true;
        let found: Vec<(String, String, (u32, u32))> = index
            .lookup("app::Parser<R>::parse_line", 10, &all)
            .into_iter()
            .map(|d| (d.path, d.name, d.lines))
            .collect();
        assert_eq!(
            found,
            [
                ("c/x.c".into(), "parse_line".into(), (1, 1)),
                ("lib/util.py".into(), "parse_line".into(), (5, 6)),
                ("secret/keys.py".into(), "parse_line".into(), (1, 1)),
                ("src/parse.rs".into(), "Parser::parse_line".into(), (3, 3)),
            ]
        );
        assert_eq!(
            index.lookup("Registry._sort", 10, &all)[0].name,
            "Registry._sort"
        );
        assert_eq!(
            index.lookup("main.(*T).Run", 10, &all)[0].path,
            "cmd/run.go"
        );
        assert!(index.lookup("nothing", 10, &all).is_empty());
        // A caller denied `secret/` does not see what is in it; the limit holds.
        let denied = |p: &str| p != "secret";
        let paths: Vec<String> = index
            .lookup("parse_line", 10, &denied)
            .into_iter()
            .map(|d| d.path)
            .collect();
        assert!(!paths.contains(&"secret/keys.py".to_string()), "{paths:?}");
        assert_eq!(index.lookup("parse_line", 2, &all).len(), 2);
    }

    #[test]
    fn a_cpp_header_is_indexed_as_cpp_and_a_c_header_as_c() {
        // The same extension; a class with inline methods (Linguist's `private:`, `std::`) is
        // C++, a header of prototypes and a static inline function is C.
        let (_dir, tree) = tree_with(&[
            (
                "include/cache.h",
                "#pragma once\n#include <string>\nclass Cache {\npublic:\n    std::string get(int k) {\n        return \"\";\n    }\nprivate:\n    int n_;\n};\n",
            ),
            (
                "include/words.h",
                "#ifndef WORDS_H\n#define WORDS_H\nstruct device { int class; };\nstatic inline int get(int k) { return k; }\n#endif\n",
            ),
        ]);
        let index = tree.index_symbols(None);
        let all = |_: &str| true;
        let mut found: Vec<(String, String)> = index
            .lookup("get", 10, &all)
            .into_iter()
            .map(|d| (d.path, d.name))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("include/cache.h".into(), "Cache::get".into()),
                ("include/words.h".into(), "get".into()),
            ]
        );
        assert_eq!(
            Language::of_file("a.h", b"int f(void);\n"),
            Some(Language::C)
        );
        assert_eq!(
            Language::of_file("a.h", b"template <typename T> T id(T x);\n"),
            Some(Language::Cpp)
        );
        // `std::` in a comment of a C header is still a mention (Linguist's rule, too), but a
        // bare `std::` is not a name.
        assert_eq!(
            Language::of_file("a.h", b"int std;\n/* std:: */\n"),
            Some(Language::C)
        );
        assert_eq!(
            Language::of_file("a.c", b"std::vector<int> v;\n"),
            Some(Language::C)
        );
    }

    /// Blanking Go bodies changes no definition: every Go file of the repository (the corpus
    /// programs, the example's services) indexed both ways. `make bench-symbols` checks the
    /// same on Go's own sources.
    #[test]
    fn go_files_give_the_same_definitions_with_their_bodies_blanked() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        let mut dirs = vec![root.join("tests"), root.join("example")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "go") {
                    files.push(path);
                }
            }
        }
        assert!(files.len() >= 10, "{files:?}");
        let mut parsers = HashMap::new();
        let mut parser = Parser::new();
        parser.set_language(&Language::Go.grammar()).unwrap();
        let far = Instant::now() + Duration::from_secs(3600);
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let name = file.to_string_lossy();
            assert!(
                super::super::bodies::blank_go_bodies(&bytes).is_some(),
                "{name} does not lex"
            );
            let blanked = definitions_in(&mut parsers, Language::Go, &name, &bytes, far);
            let whole = parsed_definitions(&mut parser, Language::Go, &name, &bytes, far);
            assert!(!whole.is_empty(), "{name}");
            assert_eq!(blanked, whole, "{name}");
        }
    }

    #[test]
    fn last_parts_of_every_spelling() {
        assert_eq!(last_part("a::B::f"), "f");
        assert_eq!(last_part("B.f"), "f");
        assert_eq!(last_part("(*T).Run"), "Run");
        assert_eq!(last_part("f"), "f");
        assert_eq!(last_part("outer.<locals>.inner"), "inner");
    }
}

#[cfg(test)]
mod glob_tests {
    /// The SDK's `glob_literal` puts a path's glob characters in brackets
    /// (`x/[[]id[]]/[*].py`): the walk's globs read them as those characters.
    #[test]
    fn bracketed_glob_characters_match_themselves() {
        let set = super::glob_set(&["x/[[]id[]]/[*][?][{][}].py".to_string()])
            .unwrap()
            .unwrap();
        assert!(set.is_match("x/[id]/*?{}.py"));
        assert!(!set.is_match("x/i/a.py"));
        assert!(!set.is_match("x/[id]/ab{}.py"));
    }
}
