//! Compiled tree-sitter queries kept between calls, so that a skill sending the same query for
//! every hot function (or every skill of a run sending it once) pays tree-sitter's compilation
//! once per process rather than once per call.
//!
//! Compiling is most of what a syntax query costs on small files: tree-sitter analyses every
//! pattern against the grammar (1.3 ms for an empty Rust query, about 11 ms for
//! `regex-in-hot-path`'s call query), while matching a few source files takes well under a
//! millisecond. A compiled [`Query`] depends on nothing but the grammar and the query's text,
//! and tree-sitter's matching only reads it (`ts_query_cursor_exec` takes a `const TSQuery *`;
//! the Rust binding declares `Query` `Send` and `Sync`), so one compiled query serves every
//! caller, on any thread, through an [`Arc`].
//!
//! Bounded two ways, least recently used out first: by entries, and by the bytes of query text
//! held (a compiled query's size grows with its text; each text is at most
//! [`MAX_QUERY_BYTES`](super::MAX_QUERY_BYTES); each `#match?` regex counts as 4 KiB more, see
//! [`REGEX_WEIGHT`]). Compilation runs outside the lock, so a slow
//! compile never holds up a call whose query is already compiled; two callers missing on the
//! same text at once may both compile it, and the second to finish keeps the first one's.
//!
//! A query that fails to compile is not kept: a skill learns from the first refusal, so a
//! cached error would save a well-behaved skill nothing, and failures are cheap (tree-sitter
//! stops at the first error, before the analysis that makes compiling slow); keeping them
//! would only let bad queries push out good ones.
//!
//! Skills share the cache, so one skill could time a call to learn whether another recently
//! sent the same query text; a query says what a skill looks for, which its component already
//! says to anyone who can read it, and nothing about the files it ran on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tree_sitter::Query;

use super::Language;
use crate::source::TreeError;

/// What a `#match?` regex kept with a compiled query counts as, in bytes of query text: 64 of
/// them fill a cache of 256 KiB, so the regexes kept stay under 64 programs of at most
/// [`MAX_QUERY_REGEX_BYTES`](super::predicates::MAX_QUERY_REGEX_BYTES), forward and reverse.
const REGEX_WEIGHT: usize = 4 << 10;

/// What a kept query counts against the cache's bytes: its text, and its regexes.
fn weight(text: &str) -> usize {
    text.len() + super::predicates::regex_arguments(text).len() * REGEX_WEIGHT
}

/// Compiled queries by language and text, bounded, least recently used out first.
pub struct QueryCache {
    max_entries: usize,
    max_text_bytes: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Per language, by query text: a lookup borrows the caller's text.
    compiled: HashMap<Language, HashMap<Box<str>, Entry>>,
    entries: usize,
    text_bytes: usize,
    /// Counts uses; an entry's last use orders the eviction.
    clock: u64,
}

struct Entry {
    query: Arc<Query>,
    last_used: u64,
}

impl QueryCache {
    /// A cache holding at most `max_entries` queries and `max_text_bytes` bytes of their text.
    /// A text longer than `max_text_bytes` is compiled but not kept.
    pub fn new(max_entries: usize, max_text_bytes: usize) -> Self {
        QueryCache {
            max_entries,
            max_text_bytes,
            state: Mutex::new(State::default()),
        }
    }

    /// The compiled query for `text` in `language`, when one is kept.
    pub fn get(&self, language: Language, text: &str) -> Option<Arc<Query>> {
        self.lock().get(language, text)
    }

    /// The compiled query for `text` in `language`: the one kept from an earlier call, else
    /// what `compile` returns (kept when it is a query, not when it is an error).
    pub fn get_or_compile(
        &self,
        language: Language,
        text: &str,
        compile: impl FnOnce() -> Result<Query, TreeError>,
    ) -> Result<Arc<Query>, TreeError> {
        if let Some(query) = self.lock().get(language, text) {
            return Ok(query);
        }
        let query = Arc::new(compile()?);
        let weight = weight(text);
        if weight > self.max_text_bytes || self.max_entries == 0 {
            return Ok(query);
        }
        let mut state = self.lock();
        // Another caller may have compiled the same text meanwhile: keep one.
        if let Some(kept) = state.get(language, text) {
            return Ok(kept);
        }
        while state.entries >= self.max_entries || state.text_bytes + weight > self.max_text_bytes {
            if !state.evict_least_recently_used() {
                break;
            }
        }
        state.insert(language, text, Arc::clone(&query));
        Ok(query)
    }

    /// How many queries are kept, and the bytes of their text.
    #[cfg(test)]
    pub fn len_and_text_bytes(&self) -> (usize, usize) {
        let state = self.lock();
        (state.entries, state.text_bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the map consistent (every update is
        // a single insert or remove with its counters), so the cache stays usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn get(&mut self, language: Language, text: &str) -> Option<Arc<Query>> {
        self.clock += 1;
        let entry = self.compiled.get_mut(&language)?.get_mut(text)?;
        entry.last_used = self.clock;
        Some(Arc::clone(&entry.query))
    }

    fn insert(&mut self, language: Language, text: &str, query: Arc<Query>) {
        self.clock += 1;
        let entry = Entry {
            query,
            last_used: self.clock,
        };
        self.compiled
            .entry(language)
            .or_default()
            .insert(text.into(), entry);
        self.entries += 1;
        self.text_bytes += weight(text);
    }

    /// Drops the entry used longest ago; `false` when there is none. A scan: the cache holds a
    /// few dozen entries, and an eviction follows a compile that took milliseconds.
    fn evict_least_recently_used(&mut self) -> bool {
        let oldest = self
            .compiled
            .iter()
            .flat_map(|(language, texts)| {
                texts
                    .iter()
                    .map(move |(text, entry)| (entry.last_used, *language, text))
            })
            .min_by_key(|(last_used, _, _)| *last_used)
            .map(|(_, language, text)| (language, text.clone()));
        let Some((language, text)) = oldest else {
            return false;
        };
        if let Some(texts) = self.compiled.get_mut(&language) {
            texts.remove(&text);
            if texts.is_empty() {
                self.compiled.remove(&language);
            }
        }
        self.entries -= 1;
        self.text_bytes -= weight(&text);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn compiled(language: Language, text: &str) -> impl FnOnce() -> Result<Query, TreeError> {
        move || {
            Query::new(&language.grammar(), text).map_err(|e| TreeError::InvalidArgument(e.message))
        }
    }

    #[test]
    fn a_query_sent_again_is_the_one_compiled_before() {
        let cache = QueryCache::new(8, 1 << 20);
        let text = "(call_expression) @call";
        let first = cache
            .get_or_compile(Language::Rust, text, compiled(Language::Rust, text))
            .unwrap();
        let again = cache
            .get_or_compile(Language::Rust, text, || panic!("compiled again"))
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(cache.len_and_text_bytes(), (1, text.len()));
    }

    #[test]
    fn a_kept_regex_counts_against_the_cache_bytes() {
        let cache = QueryCache::new(8, 1 << 20);
        let text = r#"((identifier) @i (#match? @i "^a") (#not-match? @i "b$"))"#;
        cache
            .get_or_compile(Language::Rust, text, compiled(Language::Rust, text))
            .unwrap();
        assert_eq!(
            cache.len_and_text_bytes(),
            (1, text.len() + 2 * REGEX_WEIGHT)
        );
    }

    #[test]
    fn the_same_text_in_two_languages_is_two_queries() {
        let cache = QueryCache::new(8, 1 << 20);
        let text = "(identifier) @name";
        let rust = cache
            .get_or_compile(Language::Rust, text, compiled(Language::Rust, text))
            .unwrap();
        let python = cache
            .get_or_compile(Language::Python, text, compiled(Language::Python, text))
            .unwrap();
        assert!(!Arc::ptr_eq(&rust, &python));
        // Valid in Rust's grammar only: Python's call is `call`. Rust's compiled query is not
        // handed out for Python.
        let rust_only = "(call_expression) @call";
        cache
            .get_or_compile(
                Language::Rust,
                rust_only,
                compiled(Language::Rust, rust_only),
            )
            .unwrap();
        assert!(
            cache
                .get_or_compile(
                    Language::Python,
                    rust_only,
                    compiled(Language::Python, rust_only)
                )
                .is_err()
        );
        assert_eq!(cache.len_and_text_bytes().0, 3);
    }

    #[test]
    fn the_least_recently_used_query_goes_first_when_entries_run_out() {
        let cache = QueryCache::new(2, 1 << 20);
        let [a, b, c] = ["(identifier) @a", "(identifier) @b", "(identifier) @c"];
        let get = |text: &'static str| {
            cache
                .get_or_compile(Language::Rust, text, compiled(Language::Rust, text))
                .unwrap()
        };
        let kept_a = get(a);
        get(b);
        // `a` is used again, so `b` is the one used longest ago when `c` needs room.
        assert!(Arc::ptr_eq(&kept_a, &get(a)));
        get(c);
        assert_eq!(cache.len_and_text_bytes().0, 2);
        let compiles = Cell::new(0);
        let counted = |text: &'static str| {
            compiles.set(compiles.get() + 1);
            compiled(Language::Rust, text)()
        };
        cache
            .get_or_compile(Language::Rust, a, || counted(a))
            .unwrap();
        cache
            .get_or_compile(Language::Rust, c, || counted(c))
            .unwrap();
        assert_eq!(compiles.get(), 0, "a and c are kept");
        cache
            .get_or_compile(Language::Rust, b, || counted(b))
            .unwrap();
        assert_eq!(compiles.get(), 1, "b was evicted");
    }

    #[test]
    fn the_text_held_stays_under_its_bound() {
        let (a, b) = ("(identifier) @a", "(identifier) @b");
        let both = "(identifier) @a (identifier) @b";
        let bound = 40;
        let cache = QueryCache::new(100, bound);
        for text in [a, b] {
            cache
                .get_or_compile(Language::Rust, text, compiled(Language::Rust, text))
                .unwrap();
        }
        assert_eq!(cache.len_and_text_bytes(), (2, a.len() + b.len()));
        // Room for the longer text takes both out.
        assert!(a.len() + both.len() > bound && both.len() <= bound);
        cache
            .get_or_compile(Language::Rust, both, compiled(Language::Rust, both))
            .unwrap();
        assert_eq!(cache.len_and_text_bytes(), (1, both.len()));
        // A text over the whole bound is compiled, not kept.
        let huge = format!("{both} (identifier) @c");
        assert!(huge.len() > bound);
        cache
            .get_or_compile(Language::Rust, &huge, compiled(Language::Rust, &huge))
            .unwrap();
        assert_eq!(cache.len_and_text_bytes(), (1, both.len()));
    }

    #[test]
    fn a_query_that_fails_to_compile_is_not_kept() {
        let cache = QueryCache::new(8, 1 << 20);
        let bad = "(no_such_node) @x";
        for _ in 0..2 {
            let compiles = Cell::new(0);
            let result = cache.get_or_compile(Language::Rust, bad, || {
                compiles.set(compiles.get() + 1);
                compiled(Language::Rust, bad)()
            });
            assert!(result.is_err());
            assert_eq!(compiles.get(), 1, "compiled on every call");
        }
        assert_eq!(cache.len_and_text_bytes(), (0, 0));
    }

    #[test]
    fn compiling_holds_no_lock() {
        // A compile that itself uses the cache would deadlock if the lock were held.
        let cache = QueryCache::new(8, 1 << 20);
        let (outer, inner) = ("(identifier) @outer", "(identifier) @inner");
        cache
            .get_or_compile(Language::Rust, outer, || {
                cache
                    .get_or_compile(Language::Rust, inner, compiled(Language::Rust, inner))
                    .unwrap();
                compiled(Language::Rust, outer)()
            })
            .unwrap();
        assert_eq!(cache.len_and_text_bytes().0, 2);
    }

    #[test]
    fn threads_share_one_compiled_query() {
        let cache = QueryCache::new(8, 1 << 20);
        let text = "(function_item name: (identifier) @name)";
        let first = cache
            .get_or_compile(Language::Rust, text, compiled(Language::Rust, text))
            .unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let got = cache
                        .get_or_compile(Language::Rust, text, || panic!("compiled again"))
                        .unwrap();
                    assert!(Arc::ptr_eq(&first, &got));
                });
            }
        });
    }
}
