//! `lock-contention`: a function that holds a contended lock while it does slow work makes
//! every other thread (or goroutine) that wants the lock wait for that work: a cache that
//! renders a missing entry under its lock serialises its hits behind its misses.
//!
//! Two kinds of profile evidence. Go: a contention profile (its mutex profile, `delay` in
//! nanoseconds, and its block profile): the delay others waited, charged to the function that
//! held the lock (the mutex profile records the stack that unlocked) or that waited for it
//! (the block profile). C, C++ and Rust: a CPU profile (`perf record -g`, cpu-clock): the time
//! under lock-wait frames (glibc's `__lll_lock_wait`/`__lll_lock_wake` and the kernel's futex
//! calls under them, Rust's `Mutex::lock_contended`; [`native::LOCK_WAIT`]) reached through a
//! lock operation, charged to the program's function that took or released the lock.
//!
//! Source evidence (syntax queries in that function): its critical sections and the calls
//! made inside them. Go: each `X.Lock()` / `X.RLock()` to the matching `X.Unlock()` (or to the
//! function's end for a deferred unlock). C++: a `std::lock_guard` / `std::unique_lock` /
//! `std::scoped_lock` to the end of its block (or its `unlock()`), `m.lock()` to
//! `m.unlock()`; C: `pthread_mutex_lock(&m)` to `pthread_mutex_unlock(&m)`; Rust: a
//! `let guard = m.lock().unwrap()` to the end of its block or `drop(guard)`. The fix (do the
//! slow work outside the lock and publish the result under it, let readers share a
//! reader-writer lock, split the lock) is a design change, so the finding has no patch.
//!
//! No CPU saving is stated for either (a saving of 0, which the report shows as none). Go's
//! delay is time goroutines waited, not CPU time. In a CPU profile the lock-wait frames are
//! CPU burned handing the lock over (a thread that finds the lock held makes a futex system
//! call and is switched out, the holder makes another to wake it, the woken thread is switched
//! in); waiting itself is off-CPU and never sampled. That CPU is evidence of contention but not
//! what the fix saves: it grows with how often threads running at once collide on the lock,
//! which depends on scheduling as much as on the code, and moving the slow work out of the
//! lock lets more of them run at once. Measured on `tests/offense/corpus/cpp-cache` (2 cores
//! busy with other work, this attribution on two perf captures of each build): with a worker a
//! core, 13.6% and 0.1% of the CPU before the hand fix (render outside the lock), 0.5% and 0.0%
//! after; with four workers, 4.5% and 2.6% before, 1.8% and 7.2% after. What the fix gains is
//! wall time (the threads' waiting, their parallelism), which a CPU profile does not show as a
//! share; the message says so instead of stating a number.

use joule_sdk::SyntaxMatch;
use joule_sdk::code::without_strings;
use joule_sdk::hotspot::{Attribution, CallerCost, may_be_in, plain_name, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

pub mod native;

/// Waiting for and handing over Go locks.
const COST: &str = r"^sync\.\(\*(RW)?Mutex\)\.(Lock|RLock|Unlock|RUnlock|lockSlow|unlockSlow|rUnlockSlow)$|^runtime\.(semacquire|semrelease)\w*$|^sync\.runtime_Sem\w+$";

/// Lock and unlock calls, and deferred unlocks.
const LOCKS: &str = r#"((call_expression
   function: (selector_expression operand: (_) @lock field: (field_identifier) @method)
   arguments: (argument_list)) @call
 (#any-of? @method "Lock" "RLock" "Unlock" "RUnlock"))
((defer_statement (call_expression
   function: (selector_expression operand: (_) @lock field: (field_identifier) @method))) @defer
 (#any-of? @method "Unlock" "RUnlock"))"#;

/// Calls that are not work done under a lock: the language's builtins and conversions.
const NOT_WORK: &[&str] = &[
    "len", "cap", "append", "make", "new", "delete", "copy", "panic", "recover", "string", "int",
    "int64", "uint64", "float64", "byte", "rune", "Lock", "Unlock", "RLock", "RUnlock", "if",
    "for", "switch", "func", "return",
];

struct LockContention;

impl Skill for LockContention {
    fn describe() -> Descriptor {
        Describe::offense(
            "lock-contention",
            env!("CARGO_PKG_VERSION"),
            "Functions that hold a contended lock across slow work: Go from mutex and block \
             profiles, C, C++ and Rust from the futex and lock-wait frames of CPU profiles; \
             shows the critical section and the calls in it.",
            "0.05",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let min_share: f64 = invocation.param_or("min-share", 0.05)?;
        let trees = Tree::granted();
        let contention = Attribution::new(COST, COST);
        let lock_wait = Attribution::new(native::LOCK_WAIT, native::LOCK_ENTRY);
        let mut findings = Vec::new();
        for profile in Profile::granted() {
            let meta = profile.metadata();
            let default = meta
                .sample_types
                .get(meta.default_sample_type as usize)
                .map(|t| t.name.as_str())
                .unwrap_or("");
            if default == "delay" || default == "contentions" {
                // Contention profiles: their values are time spent waiting.
                let costs = contention.run(&profile)?;
                for caller in costs
                    .callers
                    .iter()
                    .filter(|c| profile.share(c.value) >= min_share)
                {
                    findings.extend(caller_findings(&profile, &trees, caller)?);
                }
            } else if is_cpu(default) {
                let costs = lock_wait.run(&profile)?;
                joule_sdk::log::info(format!(
                    "{}: lock-wait frames under lock operations: {} of the profile",
                    profile.name(),
                    percent(profile.share(costs.charged))
                ));
                for caller in costs
                    .callers
                    .iter()
                    .filter(|c| profile.share(c.value) >= min_share)
                {
                    findings.extend(native_findings(&profile, &trees, caller)?);
                }
            }
        }
        Ok(findings)
    }
}

/// Whether a profile's sample type counts CPU time (`cpu`, perf's `cpu-clock`, `task-clock`,
/// `cycles`, or the `samples` of a CPU sampler): wall-clock profiles sample threads asleep on
/// a lock too, and their lock-wait frames are not CPU burned.
fn is_cpu(sample_type: &str) -> bool {
    sample_type.contains("cpu")
        || matches!(
            sample_type,
            "samples" | "sample" | "task-clock" | "cycles" | "instructions"
        )
}

/// The languages a CPU profile's function may be in, to query in order: its file's language,
/// or (a profile that names no file) C++, then Rust, then C. A `.h` file is read as C++, whose
/// grammar takes C too.
fn native_languages(function: &Function) -> Vec<Language> {
    match function.file.as_deref().map(|f| (f, Language::of_path(f))) {
        Some((file, Some(Language::C))) if !file.ends_with(".c") => vec![Language::Cpp],
        Some((_, Some(Language::C))) => vec![Language::C],
        Some((_, Some(Language::Cpp))) => vec![Language::Cpp],
        Some((_, Some(Language::Rust))) => vec![Language::Rust],
        Some((_, Some(_))) => Vec::new(),
        _ => vec![Language::Cpp, Language::Rust, Language::C],
    }
}

/// The finding for a C, C++ or Rust function charged with lock-wait CPU: its critical section
/// that does the most of the program's own work (the section's calls), with the calls in it.
fn native_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    // The function as its source names it: C++'s ABI tags and parameters out.
    let source_function = Function {
        name: native::source_name(&function.name),
        ..function.clone()
    };
    let mut sites = Vec::new();
    for language in native_languages(function) {
        let text = match language {
            Language::C => native::C_LOCKS,
            Language::Rust => native::RUST_LOCKS,
            _ => native::CPP_LOCKS,
        };
        sites = sites_in(trees, &source_function, &Query::new(language, text))?;
        if !sites.is_empty() {
            break;
        }
    }
    let Some((tree_name, first)) = sites.first() else {
        joule_sdk::log::info(format!(
            "`{}`: lock-wait time, but no lock taken in its source",
            function.name
        ));
        return Ok(Vec::new());
    };
    let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
        return Ok(Vec::new());
    };
    let path = first.path.clone();
    let sites: Vec<&SyntaxMatch> = sites.iter().map(|(_, m)| m).collect();
    let language = Language::of_path(&path);
    // Each section with its calls; the one doing the most of the program's own work (then the
    // longest) is where the slow work under the lock is.
    let mut best: Option<(Section, Vec<String>)> = None;
    for section in native::sections(&sites) {
        let text = tree.read_lines(&path, section.start, section.end)?;
        let calls = native::calls_in(&text);
        if calls.is_empty() {
            continue;
        }
        let rank = |s: &Section, c: &[String]| (native::work(c), s.end - s.start);
        if best
            .as_ref()
            .is_none_or(|(s, c)| rank(&section, &calls) > rank(s, c))
        {
            best = Some((section, calls));
        }
    }
    let Some((section, calls)) = best else {
        return Ok(Vec::new());
    };
    let share = profile.share(caller.value);
    let name = plain_name(&source_function.name);
    let held = if section.deferred {
        " (a guard: to the end of its block)"
    } else {
        ""
    };
    let listed = |calls: &[String]| {
        calls
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let split = if language == Some(Language::Rust) {
        "a `std::sync::RwLock`"
    } else {
        "a `std::shared_mutex` (C: a `pthread_rwlock_t`)"
    };
    Ok(vec![
        Finding::opportunity("lock-contention")
            .title(format!(
                "`{name}` holds `{}` across {}: {} of {} in lock handover",
                section.lock,
                listed(&calls[..calls.len().min(2)]),
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} of CPU is spent in lock-wait frames (futex system calls, waking and \
                 switching threads) under the locks `{name}` takes. It holds `{}` from line {} \
                 to {}{held}, and calls {} while it does: every other thread that wants the \
                 lock waits for that work, and each handover costs system calls and context \
                 switches. Do the slow work outside the lock and take it only to read or \
                 publish the result (a cache: look up under the lock, build outside it, store \
                 under it); let readers share {split} when writes are rare; or split the lock \
                 by key. No CPU saving is stated: the handovers' CPU shows the contention but \
                 is not what the fix removes (with the slow work outside the lock, more threads \
                 run at once and may collide as often); the gain is the time threads wait \
                 asleep behind the lock, which a CPU profile does not sample. No patch is \
                 proposed: the fix is a design change.",
                profile.cost(caller.value),
                section.lock,
                section.start,
                section.end,
                listed(&calls),
            ))
            .location(
                Location::lines(tree.name(), &path, section.start, section.end)
                    .in_function(&function.name),
            )
            .measured(profile, caller.value)
            .saving(0.0)
            .confidence(0.7)
            .evidence(
                "lock-wait CPU charged to the function",
                caller.value as f64,
                profile.unit(),
            )
            .label(
                "fingerprint",
                format!("{} held across {}", section.lock, calls.join(",")),
            )
            .build(),
    ])
}

/// A critical section: the lock's expression, the lines from where it is taken to where it
/// is released, and whether it is held to the end of a scope (Go: a deferred unlock, to the
/// function's end; C++ and Rust: a guard, to its block's end).
#[derive(Debug, PartialEq)]
pub struct Section {
    pub lock: String,
    pub start: u32,
    pub end: u32,
    pub deferred: bool,
}

/// The finding for each critical section of a Go function charged with lock delay.
fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    if !may_be_in(function, Language::Go) {
        return Ok(Vec::new());
    }
    let share = profile.share(caller.value);
    let sites = sites_in(trees, function, &Query::new(Language::Go, LOCKS))?;
    let Some((tree_name, first)) = sites.first() else {
        return Ok(Vec::new());
    };
    let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
        return Ok(Vec::new());
    };
    let Some(lines) = first.function_lines else {
        return Ok(Vec::new());
    };
    let path = first.path.clone();
    let sites: Vec<&SyntaxMatch> = sites.iter().map(|(_, m)| m).collect();
    let mut findings = Vec::new();
    for section in sections(&sites, lines.end) {
        let text = tree.read_lines(&path, section.start, section.end)?;
        let calls = calls_in(&text);
        if calls.is_empty() {
            continue;
        }
        let what = if profile.metadata().sample_types
            [profile.metadata().default_sample_type as usize]
            .name
            == "delay"
        {
            "time other goroutines waited for locks"
        } else {
            "lock contentions"
        };
        let name = plain_name(&function.name);
        findings.push(
            Finding::opportunity("lock-contention")
                .title(format!(
                    "`{name}` holds `{}` across {}: {} of {}",
                    section.lock,
                    calls
                        .iter()
                        .take(2)
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    percent(share),
                    profile.sample_type()
                ))
                .message(format!(
                    "{} ({}) is charged to `{name}`, which holds `{}` from line {} to {}{}, and \
                     calls {} while it does. Every goroutine that wants the lock waits for that \
                     work. Do the slow work outside the lock and take it only to read or \
                     publish the result (a cache: look up under the lock, build outside it, \
                     store under it); let readers share a `sync.RWMutex` when writes are rare; \
                     or split the lock by key. The delay is time goroutines waited, not CPU \
                     time, so no CPU saving is stated; no patch is proposed, the fix is a \
                     design change.",
                    profile.cost(caller.value),
                    what,
                    section.lock,
                    section.start,
                    section.end,
                    if section.deferred {
                        " (a deferred unlock: the rest of the function)"
                    } else {
                        ""
                    },
                    calls
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ))
                .location(
                    Location::lines(tree.name(), &path, section.start, section.end)
                        .in_function(&function.name),
                )
                .measured(profile, caller.value)
                .saving(0.0)
                .confidence(0.7)
                .evidence(
                    "lock delay charged to the function",
                    caller.value as f64,
                    profile.unit(),
                )
                .label(
                    "fingerprint",
                    format!("{} held across {}", section.lock, calls.join(",")),
                )
                .build(),
        );
    }
    Ok(findings)
}

/// The critical sections of a function from its lock sites (matches of [`LOCKS`]): each
/// `Lock`/`RLock` to the next `Unlock`/`RUnlock` of the same lock, or to `end` (the
/// function's last line) when that lock's unlock is deferred.
pub fn sections(sites: &[&SyntaxMatch], end: u32) -> Vec<Section> {
    struct Op {
        lock: String,
        line: u32,
        lock_op: bool,
        deferred: bool,
    }
    let mut ops: Vec<Op> = sites
        .iter()
        .filter_map(|m| {
            let lock = m.capture("lock")?.text.clone();
            let method = m.capture("method")?.text.as_str();
            let deferred = m.capture("defer").is_some();
            let at = m
                .capture("defer")
                .or_else(|| m.capture("call"))?
                .lines
                .start;
            Some(Op {
                lock,
                line: at,
                lock_op: method == "Lock" || method == "RLock",
                deferred,
            })
        })
        .collect();
    ops.sort_by_key(|o| (o.line, o.deferred));
    // A deferred unlock's call is matched twice (as a call and as the deferred statement):
    // the deferred one stands for both.
    let deferred_lines: Vec<u32> = ops.iter().filter(|o| o.deferred).map(|o| o.line).collect();
    ops.retain(|o| o.deferred || o.lock_op || !deferred_lines.contains(&o.line));
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if !op.lock_op {
            continue;
        }
        let later = &ops[i + 1..];
        if let Some(unlock) = later.iter().find(|o| !o.lock_op && o.lock == op.lock) {
            if unlock.deferred {
                out.push(Section {
                    lock: op.lock.clone(),
                    start: op.line,
                    end,
                    deferred: true,
                });
            } else {
                out.push(Section {
                    lock: op.lock.clone(),
                    start: op.line,
                    end: unlock.line,
                    deferred: false,
                });
            }
        }
    }
    out
}

/// The calls made in `lines` of code (`render(key)`, `fmt.Fprintf(..)`), by name, each once,
/// in order: builtins, conversions and the lock's own operations left out.
pub fn calls_in(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        let code = line.split("//").next().unwrap_or("");
        let code = without_strings(code);
        let bytes = code.as_bytes();
        for (i, _) in code.match_indices('(') {
            let name: String = code[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let last = name.rsplit('.').next().unwrap_or("");
            if name.is_empty()
                || last.is_empty()
                || NOT_WORK.contains(&last)
                || name.starts_with('.')
                || (i > name.len() && bytes[i - name.len() - 1] == b']')
            {
                continue;
            }
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

export_skill!(LockContention, id = "lock-contention");

#[cfg(test)]
mod tests {
    use super::*;
    use joule_sdk::{ByteRange, LineRange, SyntaxCapture};

    fn cap(name: &str, text: &str, line: u32) -> SyntaxCapture {
        SyntaxCapture {
            name: name.into(),
            kind: String::new(),
            bytes: ByteRange { start: 0, end: 0 },
            lines: LineRange {
                start: line,
                end: line,
            },
            text: text.into(),
        }
    }

    fn op(lock: &str, method: &str, line: u32, deferred: bool) -> SyntaxMatch {
        let mut captures = vec![cap("lock", lock, line), cap("method", method, line)];
        captures.push(cap(if deferred { "defer" } else { "call" }, "", line));
        SyntaxMatch {
            path: "p.go".into(),
            pattern: u32::from(deferred),
            captures,
            function: Some("F".into()),
            function_lines: Some(LineRange { start: 1, end: 40 }),
            loop_depth: 0,
        }
    }

    #[test]
    fn sections_run_from_lock_to_unlock_or_to_the_end() {
        let sites = [
            op("r.mu", "Lock", 3, false),
            op("r.mu", "Unlock", 4, false),
            op("r.mu", "Unlock", 4, true),
            op("c.mu", "RLock", 10, false),
            op("c.mu", "RUnlock", 12, false),
            op("r.mu", "Lock", 20, false),
            op("r.mu", "Unlock", 22, false),
        ];
        let refs: Vec<&SyntaxMatch> = sites.iter().collect();
        assert_eq!(
            sections(&refs, 40),
            vec![
                Section {
                    lock: "r.mu".into(),
                    start: 3,
                    end: 40,
                    deferred: true
                },
                Section {
                    lock: "c.mu".into(),
                    start: 10,
                    end: 12,
                    deferred: false
                },
                Section {
                    lock: "r.mu".into(),
                    start: 20,
                    end: 22,
                    deferred: false
                },
            ]
        );
    }

    #[test]
    fn calls_are_work_builtins_are_not() {
        let lines: Vec<String> = [
            "\tif p, ok := r.pages[key]; ok {",
            "\t\treturn p",
            "\t}",
            "\tp := render(key) // renders(x) in a comment",
            "\tr.pages[key] = p",
            "\tlog.Printf(\"done(%s)\", key)",
            "\tn := len(r.pages) + int(x)",
            "\tdefer r.mu.Unlock()",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(calls_in(&lines), vec!["render", "log.Printf"]);
    }
}
