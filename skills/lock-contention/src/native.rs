//! Lock contention in C, C++ and Rust from CPU profiles: the lock-wait frames (glibc's futex
//! slow paths, the kernel's futex calls, Rust's contended `Mutex`) charged to the function that
//! takes the lock, and that function's critical sections, found with syntax queries.

use joule_sdk::SyntaxMatch;
use joule_sdk::code::without_strings;

use crate::Section;

/// CPU time spent because a lock was contended: the slow paths that run only when the lock
/// was held by someone else (or someone waits for it), and the system calls under them.
///
/// Seen in `tests/offense/corpus/cpp-cache` (perf, cpu-clock, frame pointers, glibc 2.36):
/// glibc's `__lll_lock_wait` and `__lll_lock_wake` (named `__GI___lll_lock_wait` with its full
/// symbol table), over the kernel's `__x64_sys_futex`, `do_futex`, `futex_wait`,
/// `__futex_wait`, `futex_do_wait`, `futex_wake` (and the scheduler's frames under them).
/// Rust's, seen in `tests/offense/corpus/page-cache` (the same cache in Rust 1.95, built with
/// frame pointers and debug info, read as perf.data, which gives the inlined frames back):
/// `<std::sys::sync::mutex::futex::Mutex>::lock_contended` (its `spin` under it),
/// `std::sys::pal::unix::futex::futex_wait` and `syscall` over the same kernel frames, under
/// `std::sync::poison::mutex::Mutex<T>::lock`; `<std::sys::sync::mutex::futex::Mutex>::wake`
/// under `<std::sys::sync::mutex::futex::Mutex>::unlock` and
/// `<std::sync::poison::mutex::MutexGuard<T> as core::ops::drop::Drop>::drop`. The other names
/// are the documented ones: glibc's `__lll_lock_wait_private`,
/// `__futex_abstimed_wait_common(64)` (timed and reader-writer locks) and its inline
/// `futex_wait`/`futex_wake`; libc's `syscall()`, through which Rust's standard library makes
/// its futex calls; Rust's `std::sys::sync::mutex::futex::Mutex::lock_contended` (spinning,
/// then waiting) and `::wake`, `std::sys::pal::unix::futex::futex_wait` (older toolchains:
/// `std::sys::unix::locks::futex_mutex::..`, `std::sys::unix::futex::..`); `parking_lot`'s
/// `RawMutex::lock_slow`/`unlock_slow`. None of them counts unless it is under a lock
/// operation ([`LOCK_ENTRY`]): a condition variable or a thread pool's idle workers wait on
/// futexes too, and that is not contention.
pub const LOCK_WAIT: &str = concat!(
    r"^(__GI_)?_*lll_lock_(wait|wake)(_private)?(@\S*)?$",
    r"|(^|::)_*futex_\w+(@\S*)?$",
    r"|^(do|__x64_sys|__arm64_sys|__ia32_sys|__se_sys|__do_sys|sys)_futex$",
    r"|^syscall(@\S*)?$",
    r"|^<?std::sys::\S*[mM]utex\S*::(lock_contended|wake)$",
    r"|^parking_lot::raw_mutex::RawMutex::(lock_slow|unlock_slow)$",
);

/// Where a program enters a lock: the outermost of these on a stack is the lock operation, and
/// the first program frame above it took the lock. glibc's `pthread_mutex_lock`/`unlock`
/// (`___pthread_mutex_lock`, `__pthread_mutex_unlock_usercnt`...), reader-writer locks and C11
/// `mtx_lock`; its `__lll_lock_wait`/`wake` too, for a frame-pointer unwind that loses the
/// `pthread_*` frame above them (glibc keeps no frame pointer), but not their `_private`
/// variants, glibc's own locks (malloc's arenas, stdio's files), which the program does not
/// take; libstdc++'s inlined `std::mutex::lock`,
/// the guards' constructors and destructors, `__gthread_mutex_lock`; Rust's
/// `std::sync::..::Mutex::lock` (and `RwLock` `read`/`write`), its guards' `Drop`, the
/// `std::sys` mutex underneath; `parking_lot`'s and `lock_api`'s.
pub const LOCK_ENTRY: &str = concat!(
    r"^(__GI_)?_*pthread_(mutex|rwlock)_\w+(@\S*)?$",
    r"|^(__GI_)?_*lll_lock_(wait|wake)(@\S*)?$",
    r"|^(__GI_)?_*mtx_(lock|timedlock|unlock)(@\S*)?$",
    r"|^std::(__\w+::)?(\w+_)?mutex::(lock|unlock|lock_shared|unlock_shared)\b",
    r"|^std::(__\w+::)?(lock_guard|unique_lock|scoped_lock|shared_lock)\b",
    r"|^__gthread_\w*(mutex|rwlock)\w*$|^__glibcxx_rwlock_\w+$",
    r"|^<?std::sync::.*(Mutex|RwLock)\b.*::(lock|read|write)$",
    r"|^<std::sync::.*(Mutex|RwLock\w*)Guard\b.* as core::ops::drop::Drop>::drop$",
    r"|^<?std::sys::\S*([mM]utex|[rR]w[lL]ock)\S*::\w+$",
    r"|^parking_lot::raw_mutex::RawMutex::(lock_slow|unlock_slow)$",
    r"|^lock_api::(mutex|rwlock)::.*::(lock|read|write)$",
);

/// C and C++: `pthread_mutex_lock(&m)` ... `pthread_mutex_unlock(&m)` (and reader-writer
/// locks, C11 `mtx_lock`).
pub const C_LOCKS: &str = r#"((call_expression function: (identifier) @method
   arguments: (argument_list . (_) @lock)) @call
 (#any-of? @method "pthread_mutex_lock" "pthread_mutex_unlock" "pthread_rwlock_rdlock"
   "pthread_rwlock_wrlock" "pthread_rwlock_unlock" "mtx_lock" "mtx_unlock"))"#;

/// C++: a guard declared in a block (`std::lock_guard<std::mutex> lock(mu_);`,
/// `std::unique_lock`, `std::scoped_lock`, `std::shared_lock`), held to the block's end; and
/// `m.lock()` / `m.unlock()` (`lock_shared`, a `unique_lock`'s own `lk.unlock()`). Tree-sitter
/// reads `T lock(mu_);` as a function's declaration (C++'s most vexing parse), so the guard's
/// declarator is either shape.
pub const CPP_LOCKS: &str = r#"((compound_statement
   (declaration
     type: (_) @type
     declarator: [
       (init_declarator declarator: (identifier) @guard value: (_) @args)
       (function_declarator declarator: (identifier) @guard parameters: (_) @args)
     ]) @guard_decl) @block
 (#match? @type "(^|::)(lock_guard|unique_lock|scoped_lock|shared_lock)($|[^A-Za-z0-9_])"))
((call_expression
   function: (field_expression argument: (_) @lock field: (field_identifier) @method)
   arguments: (argument_list)) @call
 (#any-of? @method "lock" "unlock" "lock_shared" "unlock_shared"))
((call_expression function: (identifier) @method
   arguments: (argument_list . (_) @lock)) @call
 (#any-of? @method "pthread_mutex_lock" "pthread_mutex_unlock" "pthread_rwlock_rdlock"
   "pthread_rwlock_wrlock" "pthread_rwlock_unlock" "mtx_lock" "mtx_unlock"))"#;

/// Rust: a guard bound in a block (`let pages = self.pages.lock().unwrap();`, `RwLock`'s
/// `read()`/`write()`), held to the block's end or to `drop(pages)`. A guard used as a
/// temporary (`m.lock().unwrap().insert(..)`) lives for its statement only and is not a
/// section.
pub const RUST_LOCKS: &str = r#"((block
   (let_declaration pattern: (identifier) @guard value: (_) @args) @guard_decl) @block
 (#match? @args "\\.(lock|read|write)\\(\\)(\\s*\\.\\s*(unwrap|expect)\\([^()]*\\)|\\?)?$"))
((call_expression function: (identifier) @method arguments: (arguments . (identifier) @lock .)) @call
 (#eq? @method "drop"))"#;

/// A C++ function's name as its source spells it: `PageCache::page[abi:cxx11]` (GCC's ABI
/// tag on functions returning `std::string`) and `f(int) const` are `PageCache::page` and `f`.
/// Other names are kept as they are.
pub fn source_name(profile_name: &str) -> String {
    let mut name = profile_name.trim().to_string();
    while let Some(at) = name.find("[abi:") {
        match name[at..].find(']') {
            Some(end) => name.replace_range(at..at + end + 1, ""),
            None => break,
        }
    }
    let bare = name.trim_end_matches(" const").trim_end();
    if bare.ends_with(')')
        && let Some(open) = bare.find('(')
        && !bare[..open].ends_with("operator")
    {
        return bare[..open].to_string();
    }
    name
}

/// Arguments of a C++ guard that say it does not hold the lock when made.
const NOT_HELD: [&str; 2] = ["defer_lock", "try_to_lock"];

/// Calls of these names take a lock; of the rest the query matches, release one.
const LOCKING: [&str; 7] = [
    "lock",
    "lock_shared",
    "pthread_mutex_lock",
    "pthread_rwlock_rdlock",
    "pthread_rwlock_wrlock",
    "mtx_lock",
    "mtx_timedlock",
];

/// What one match of [`C_LOCKS`], [`CPP_LOCKS`] or [`RUST_LOCKS`] does to a lock.
#[derive(Debug)]
enum Op {
    /// A guard named `guard` holding `lock` from `line` (unless `held` is false: made
    /// deferred) to `block_end` at most.
    Guard {
        lock: String,
        guard: String,
        line: u32,
        block_end: u32,
        held: bool,
    },
    Lock {
        lock: String,
        line: u32,
    },
    Unlock {
        lock: String,
        line: u32,
    },
}

/// The mutex a guard's arguments or a Rust guard's expression name: `(mu_)` -> `mu_`,
/// `{a, b}` -> `a, b`, `(m, std::defer_lock)` -> `m`, `self.pages.lock().unwrap()` ->
/// `self.pages`.
pub fn guarded(args: &str) -> String {
    let args = args.trim();
    for method in [".lock()", ".read()", ".write()"] {
        if let Some(at) = args.rfind(method) {
            return squeeze(&args[..at]);
        }
    }
    let inner = args
        .strip_prefix(['(', '{'])
        .and_then(|a| a.strip_suffix([')', '}']))
        .unwrap_or(args);
    inner
        .split(',')
        .map(str::trim)
        .filter(|a| {
            let tag = a.trim_start_matches("std::");
            !a.is_empty() && !matches!(tag, "defer_lock" | "try_to_lock" | "adopt_lock")
        })
        .map(squeeze)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An expression as one comparable string: whitespace out, `&m` is `m`.
fn squeeze(expr: &str) -> String {
    let out: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    out.trim_start_matches('&').to_string()
}

/// A lock's name for comparing: `this->mu_` and `mu_` are one lock, `(*m)` and `m` too.
fn same_lock(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = squeeze(s);
        let s = s
            .trim_start_matches("this->")
            .trim_start_matches("(*this).");
        s.trim_start_matches("(*")
            .trim_end_matches(')')
            .trim_start_matches('*')
            .to_string()
    };
    norm(a) == norm(b)
}

fn op(m: &SyntaxMatch) -> Option<Op> {
    if let Some(decl) = m.capture("guard_decl") {
        let args = m.text("args");
        return Some(Op::Guard {
            lock: guarded(args),
            guard: m.text("guard").to_string(),
            line: decl.lines.start,
            block_end: m.capture("block")?.lines.end,
            held: !NOT_HELD.iter().any(|n| args.contains(n)),
        });
    }
    let call = m.capture("call")?;
    let lock = squeeze(m.text("lock"));
    let line = call.lines.start;
    Some(if LOCKING.contains(&m.text("method")) {
        Op::Lock { lock, line }
    } else {
        Op::Unlock { lock, line }
    })
}

/// The critical sections of a function from its lock sites (matches of the queries above):
/// a guard from its declaration to the end of its block, or to its earlier `unlock()` /
/// `drop(guard)`; `m.lock()` (or `pthread_mutex_lock(&m)`) to the next unlock of `m`; a
/// deferred `unique_lock`'s `lk.lock()` to its `lk.unlock()` or its block's end. A lock with
/// no unlock the function's text shows is no section.
pub fn sections(sites: &[&SyntaxMatch]) -> Vec<Section> {
    let mut ops: Vec<Op> = sites.iter().filter_map(|m| op(m)).collect();
    ops.sort_by_key(|o| match o {
        Op::Guard { line, .. } | Op::Lock { line, .. } | Op::Unlock { line, .. } => *line,
    });
    let unlock_after = |name: &str, after: u32, until: u32| {
        ops.iter().find_map(|o| match o {
            Op::Unlock { lock, line }
                if *line > after && *line <= until && same_lock(lock, name) =>
            {
                Some(*line)
            }
            _ => None,
        })
    };
    let mut out = Vec::new();
    for (i, o) in ops.iter().enumerate() {
        match o {
            Op::Guard {
                lock,
                guard,
                line,
                block_end,
                held: true,
            } => {
                let end = unlock_after(guard, *line, *block_end);
                out.push(Section {
                    lock: lock.clone(),
                    start: *line,
                    end: end.unwrap_or(*block_end),
                    deferred: end.is_none(),
                });
            }
            Op::Lock { lock, line } => {
                // A guard's own `lk.lock()`: the lock is the guard's mutex, held at most to
                // the guard's block's end.
                let guard = ops[..i].iter().rev().find_map(|g| match g {
                    Op::Guard {
                        lock: mutex,
                        guard,
                        block_end,
                        ..
                    } if same_lock(guard, lock) && block_end >= line => {
                        Some((mutex.clone(), *block_end))
                    }
                    _ => None,
                });
                let until = guard.as_ref().map_or(u32::MAX, |g| g.1);
                match (unlock_after(lock, *line, until), guard) {
                    (Some(end), guard) => out.push(Section {
                        lock: guard.map_or_else(|| lock.clone(), |g| g.0),
                        start: *line,
                        end,
                        deferred: false,
                    }),
                    (None, Some((mutex, block_end))) => out.push(Section {
                        lock: mutex,
                        start: *line,
                        end: block_end,
                        deferred: true,
                    }),
                    (None, None) => {}
                }
            }
            _ => {}
        }
    }
    out
}

/// Calls that are not work done under a lock: the locks' own operations, C++ casts and
/// Rust's constructors and macros' plumbing.
const NOT_WORK: &[&str] = &[
    "lock",
    "unlock",
    "lock_shared",
    "unlock_shared",
    "pthread_mutex_lock",
    "pthread_mutex_unlock",
    "pthread_rwlock_rdlock",
    "pthread_rwlock_wrlock",
    "pthread_rwlock_unlock",
    "mtx_lock",
    "mtx_unlock",
    "drop",
    "lock_guard",
    "unique_lock",
    "scoped_lock",
    "shared_lock",
    "static_cast",
    "reinterpret_cast",
    "const_cast",
    "dynamic_cast",
    "sizeof",
    "Some",
    "Ok",
    "Err",
    "Box::new",
    "if",
    "for",
    "while",
    "switch",
    "return",
    "match",
];

/// Container and accessor methods: calls under a lock, but rarely the slow work; listed after
/// the others.
const CHEAP: &[&str] = &[
    "find",
    "end",
    "begin",
    "cbegin",
    "cend",
    "size",
    "len",
    "empty",
    "is_empty",
    "count",
    "contains",
    "contains_key",
    "get",
    "get_mut",
    "at",
    "insert",
    "emplace",
    "try_emplace",
    "erase",
    "remove",
    "push_back",
    "emplace_back",
    "push",
    "pop",
    "clear",
    "entry",
    "or_insert",
    "or_default",
    "unwrap",
    "expect",
    "clone",
    "cloned",
    "copied",
    "as_ref",
    "first",
    "second",
    "iter",
    "keys",
    "values",
    "next",
    "map",
    "move",
];

/// The calls made in the lines of a critical section after its first (the line that takes the
/// lock), by name, each once: `render`, `pages_.find`, `self.render`, `std::max`. The
/// program's own work comes first, containers' accessors after it.
pub fn calls_in(lines: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in lines.iter().skip(1) {
        let code = line.split("//").next().unwrap_or("");
        let code = without_strings(code);
        for (i, _) in code.match_indices('(') {
            let name: String = code[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '>' | '-'))
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            // `a->b`'s arrow is kept; a lone `>` (a template's end, a comparison) is not.
            let name = name.trim_start_matches(['>', '-', ':', '.']).to_string();
            let last = name.rsplit(['.', ':', '>']).next().unwrap_or("");
            if name.is_empty()
                || last.is_empty()
                || last.chars().next().is_some_and(|c| c.is_ascii_digit())
                || NOT_WORK.contains(&last)
                || NOT_WORK.contains(&name.as_str())
                || (name.contains('>') && !name.contains("->"))
            {
                continue;
            }
            if !found.contains(&name) {
                found.push(name);
            }
        }
    }
    let cheap = |name: &String| {
        let last = name.rsplit(['.', ':', '>']).next().unwrap_or("");
        CHEAP.contains(&last)
    };
    let mut out: Vec<String> = found.iter().filter(|n| !cheap(n)).cloned().collect();
    out.extend(found.iter().filter(|n| cheap(n)).cloned());
    out
}

/// How many of `calls` are the program's own work (not [`CHEAP`] accessors).
pub fn work(calls: &[String]) -> usize {
    calls
        .iter()
        .filter(|n| {
            let last = n.rsplit(['.', ':', '>']).next().unwrap_or("");
            !CHEAP.contains(&last)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use joule_sdk::{ByteRange, LineRange, SyntaxCapture};

    fn cap(name: &str, text: &str, start: u32, end: u32) -> SyntaxCapture {
        SyntaxCapture {
            name: name.into(),
            kind: String::new(),
            bytes: ByteRange { start: 0, end: 0 },
            lines: LineRange { start, end },
            text: text.into(),
        }
    }

    fn site(captures: Vec<SyntaxCapture>) -> SyntaxMatch {
        SyntaxMatch {
            path: "cache.cc".into(),
            pattern: 0,
            captures,
            function: Some("PageCache::page".into()),
            function_lines: Some(LineRange { start: 1, end: 60 }),
            loop_depth: 0,
        }
    }

    /// A guard `guard` of `args` declared on `line` in a block ending on `block_end`.
    fn guard(guard: &str, args: &str, line: u32, block_end: u32) -> SyntaxMatch {
        site(vec![
            cap("block", "{", line - 1, block_end),
            cap("guard_decl", "", line, line),
            cap("type", "std::lock_guard<std::mutex>", line, line),
            cap("guard", guard, line, line),
            cap("args", args, line, line),
        ])
    }

    fn call(method: &str, lock: &str, line: u32) -> SyntaxMatch {
        site(vec![
            cap("call", "", line, line),
            cap("lock", lock, line, line),
            cap("method", method, line, line),
        ])
    }

    fn section(lock: &str, start: u32, end: u32, deferred: bool) -> Section {
        Section {
            lock: lock.into(),
            start,
            end,
            deferred,
        }
    }

    fn sections_of(sites: &[SyntaxMatch]) -> Vec<Section> {
        sections(&sites.iter().collect::<Vec<_>>())
    }

    #[test]
    fn cpp_guards_hold_their_mutex_to_the_end_of_their_block() {
        let sites = [
            guard("lock", "(mu_)", 30, 37),
            guard("both", "{a_, b_}", 40, 44),
        ];
        assert_eq!(
            sections_of(&sites),
            vec![
                section("mu_", 30, 37, true),
                section("a_, b_", 40, 44, true)
            ]
        );
    }

    #[test]
    fn cpp_unique_locks_end_at_their_unlock_or_start_at_their_lock() {
        let sites = [
            guard("lk", "(mu_)", 10, 20),
            call("unlock", "lk", 14),
            guard("later", "(this->mu_, std::defer_lock)", 22, 30),
            call("lock", "later", 25),
            // Relocked after an unlock: held again to the block's end.
            call("lock", "lk", 17),
        ];
        assert_eq!(
            sections_of(&sites),
            vec![
                section("mu_", 10, 14, false),
                section("mu_", 17, 20, true),
                section("this->mu_", 25, 30, true),
            ]
        );
    }

    #[test]
    fn cpp_mutex_calls_pair_lock_with_unlock_of_the_same_mutex() {
        let sites = [
            call("lock", "this->mu_", 5),
            call("lock", "other", 6),
            call("unlock", "other", 7),
            call("unlock", "mu_", 9),
            // Never unlocked in this function: no section.
            call("lock", "leaked", 12),
        ];
        assert_eq!(
            sections_of(&sites),
            vec![
                section("this->mu_", 5, 9, false),
                section("other", 6, 7, false)
            ]
        );
    }

    #[test]
    fn c_pthread_sections_run_from_lock_to_unlock() {
        let sites = [
            call("pthread_mutex_lock", "&c->mu", 8),
            call("pthread_mutex_unlock", "&c->mu", 15),
            call("pthread_mutex_lock", "&c->mu", 18),
            call("pthread_mutex_unlock", "& c->mu", 19),
        ];
        assert_eq!(
            sections_of(&sites),
            vec![
                section("c->mu", 8, 15, false),
                section("c->mu", 18, 19, false)
            ]
        );
    }

    #[test]
    fn rust_guards_last_to_their_block_end_or_their_drop() {
        let sites = [
            guard("pages", "self.pages.lock().unwrap()", 12, 20),
            call("drop", "pages", 16),
            guard(
                "stats",
                "self.stats\n    .write()\n    .expect(\"poisoned\")",
                22,
                28,
            ),
        ];
        assert_eq!(
            sections_of(&sites),
            vec![
                section("self.pages", 12, 16, false),
                section("self.stats", 22, 28, true),
            ]
        );
        // A drop of another name ends nothing.
        let sites = [
            guard("pages", "self.pages.lock().unwrap()", 12, 20),
            call("drop", "page", 16),
        ];
        assert_eq!(
            sections_of(&sites),
            vec![section("self.pages", 12, 20, true)]
        );
    }

    #[test]
    fn cpp_names_lose_their_abi_tags_and_parameters() {
        assert_eq!(source_name("PageCache::page[abi:cxx11]"), "PageCache::page");
        assert_eq!(source_name("Store::get(int) const"), "Store::get");
        assert_eq!(source_name("ns::f[abi:cxx11](std::string const&)"), "ns::f");
        assert_eq!(source_name("corpus::Cache::page"), "corpus::Cache::page");
    }

    #[test]
    fn guards_name_their_mutex() {
        assert_eq!(guarded("(mu_)"), "mu_");
        assert_eq!(guarded("(m, std::defer_lock)"), "m");
        assert_eq!(guarded("{ a , b }"), "a, b");
        assert_eq!(guarded("(std::adopt_lock, m)"), "m");
        assert_eq!(guarded("(cache_lock)"), "cache_lock");
        assert_eq!(guarded("self.pages.lock()?"), "self.pages");
        assert_eq!(guarded("CACHE.read().unwrap()"), "CACHE");
    }

    #[test]
    fn the_programs_calls_come_before_the_containers() {
        let lines: Vec<String> = [
            "    std::lock_guard<std::mutex> lock(mu_);",
            "    auto it = pages_.find(id);",
            "    if (it != pages_.end()) return it->second;",
            "    std::string rendered = render(id); // render(x) in a comment",
            "    if (pages_.size() >= capacity_) pages_.erase(pages_.begin());",
            "    log_->write(\"miss(%d)\", id);",
            "    auto n = static_cast<int>(std::max(a, b));",
            "    pages_.emplace(id, rendered);",
            "}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let calls = calls_in(&lines);
        assert_eq!(
            calls,
            vec![
                "render",
                "log_->write",
                "std::max",
                "pages_.find",
                "pages_.end",
                "pages_.size",
                "pages_.erase",
                "pages_.begin",
                "pages_.emplace",
            ]
        );
        assert_eq!(work(&calls), 3);
        let rust: Vec<String> = [
            "        let mut pages = self.pages.lock().unwrap();",
            "        if let Some(p) = pages.get(&id) { return p.clone(); }",
            "        let page = self.render(id);",
            "        pages.insert(id, page.clone());",
            "        log::debug!(\"miss {}\", id);",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            calls_in(&rust),
            vec![
                "self.render",
                "pages.get",
                "p.clone",
                "pages.insert",
                "page.clone"
            ]
        );
    }
}
