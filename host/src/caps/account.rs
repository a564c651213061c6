//! One memory account per invocation: the skill's linear memory and every host structure made
//! on its behalf, charged against the one `memory_mib` limit.
//!
//! [`MemoryCap`] holds the account: `linear`, what the store's memories take (kept by the
//! resource limiter as they grow), and `host`, what the host holds or builds for the skill.
//! Each host structure is charged before it is built, from a bound known before building, and
//! released when it goes:
//!
//! - a resource handle, for as long as the skill holds it ([`HostCost`]): its table entry, and
//!   what it keeps alive (a stack cursor's copy of the stack index, a filtered profile view);
//! - a regular expression, a glob set or a syntax query, for the call that builds it: the
//!   regex engine's size limits are set from what is left in the account ([`RegexBudget`]),
//!   so building is bounded by the charge, not only checked after;
//! - an audit record, for the rest of the invocation (the buffer is written out at its end).
//!
//! A charge that would take `linear + host` past the limit stops the skill with the memory
//! reason, naming the structure and the policy line that raises the cap. The charges are
//! integer adds on the host call's path.

use super::{MemoryCap, SkillState};
use crate::source::syntax::predicates::{MAX_QUERY_REGEX_BYTES, MAX_QUERY_REGEXES};
use crate::source::walk::{MAX_GLOB_BYTES, MAX_GLOBS};

/// A resource table entry and its bookkeeping, beyond the value itself.
pub const HANDLE_BYTES: usize = 64;

/// What a resource handle costs the host while the skill holds it.
pub trait HostCost {
    /// What it is, for the refusal: "a stack cursor".
    const WHAT: &'static str;

    /// Heap bytes it keeps alive beyond its own size.
    fn host_bytes(&self) -> usize {
        0
    }
}

/// What a handle holding `value` is charged: its table entry, its size and what it keeps alive.
pub fn handle_cost<T: HostCost>(value: &T) -> usize {
    HANDLE_BYTES + std::mem::size_of::<T>() + value.host_bytes()
}

/// Size limits for a regular expression the host builds for a skill, and its charge.
///
/// `regex` bounds each compiled program by `nfa` (a forward and a reverse one) and each lazy DFA
/// cache by `dfa` (forward and reverse); besides those it keeps a one-pass DFA and the bounded
/// backtracker's visited set, and while parsing, the pattern's syntax tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegexBudget {
    pub nfa: usize,
    pub dfa: usize,
}

/// The one-pass DFA's and the backtracker's memory in `regex` (their default limits).
const REGEX_FIXED_BYTES: usize = (1 << 20) + (256 << 10);
/// Syntax tree bytes (the parser's and the translator's, alive together) per pattern byte.
const REGEX_BYTES_PER_PATTERN_BYTE: usize = 256;
/// What one Unicode class escape (`\w`, `\pL`, `\D`...) takes once translated: its ranges,
/// up to about a thousand of 8 bytes, in a vector that may have doubled. `\w` repeated 4,000
/// times in a 60 KiB pattern is 24 MiB before the size limits are ever consulted.
const REGEX_BYTES_PER_CLASS: usize = 16 << 10;
/// The smallest limits a regex is built with; an account with less room refuses it.
const REGEX_MIN_LIMIT: usize = 64 << 10;

/// The memory parsing and translating `pattern` may take before the compiled size limits apply
/// (the syntax trees), a bound from its text: bytes, and Unicode class escapes.
pub fn parse_bytes(pattern: &str) -> usize {
    let classes = pattern
        .as_bytes()
        .windows(2)
        .filter(|w| {
            w[0] == b'\\' && matches!(w[1], b'w' | b'W' | b'd' | b'D' | b's' | b'S' | b'p' | b'P')
        })
        .count();
    pattern
        .len()
        .saturating_mul(REGEX_BYTES_PER_PATTERN_BYTE)
        .saturating_add(classes.saturating_mul(REGEX_BYTES_PER_CLASS))
}

impl RegexBudget {
    /// At most `nfa` and `dfa`, and together with the rest of a regex's charge no more than
    /// `room`, or `None` when `room` cannot hold even the smallest. `parse` is the pattern's
    /// [`parse_bytes`].
    pub fn within(room: usize, nfa: usize, dfa: usize, parse: usize) -> Option<Self> {
        let fixed = REGEX_FIXED_BYTES.saturating_add(parse);
        // Each limit counts twice (forward and reverse): a quarter of what is left each.
        let share = room.checked_sub(fixed)? / 4;
        if share < REGEX_MIN_LIMIT {
            return None;
        }
        Some(RegexBudget {
            nfa: nfa.min(share),
            dfa: dfa.min(share),
        })
    }

    /// What a regex built within these limits is charged; `parse` is its pattern's
    /// [`parse_bytes`].
    pub fn cost(&self, parse: usize) -> usize {
        REGEX_FIXED_BYTES
            .saturating_add(parse)
            .saturating_add(self.nfa.saturating_mul(2))
            .saturating_add(self.dfa.saturating_mul(2))
    }
}

/// Compiled program bytes per glob byte: a glob has no counted repetition, so its regex grows
/// with its text; `globset` adds its own limits (10 MiB per program).
const GLOB_BYTES_PER_GLOB_BYTE: usize = 256;
/// A glob set's matchers and lazy DFA cache, beyond the globs' programs.
const GLOB_SET_FIXED_BYTES: usize = 256 << 10;

/// What compiling `globs` into one set is charged.
pub fn glob_cost(globs: &[String]) -> usize {
    if globs.is_empty() {
        return 0;
    }
    // Past these counts the call is refused before anything is compiled.
    let text: usize = globs
        .iter()
        .take(MAX_GLOBS + 1)
        .map(|g| g.len().min(MAX_GLOB_BYTES + 1) + 16)
        .sum();
    GLOB_SET_FIXED_BYTES.saturating_add(text.saturating_mul(GLOB_BYTES_PER_GLOB_BYTE))
}

/// Compiled query bytes per byte of query text: 10.7 MiB was measured for the worst 60 KiB
/// text (see `source::syntax::CACHED_QUERIES`), about 180 bytes a byte.
const QUERY_BYTES_PER_TEXT_BYTE: usize = 192;
/// A parser, a query cursor and one file's syntax tree, beyond the compiled query.
const QUERY_FIXED_BYTES: usize = 1 << 20;

/// What one `#match?` regex of a syntax query may take: its forward and reverse programs
/// within their checked limit, and its other parts.
const QUERY_REGEX_BYTES: usize = 3 * MAX_QUERY_REGEX_BYTES;

/// What a syntax query is charged while it runs: its compiled form, and its `#match?` regexes
/// (counted from the text, at least as many as there are) with their syntax trees.
pub fn query_cost(text: &str) -> usize {
    let regexes = text.matches("match?").count().min(MAX_QUERY_REGEXES + 1);
    QUERY_FIXED_BYTES
        .saturating_add(text.len().saturating_mul(QUERY_BYTES_PER_TEXT_BYTE))
        .saturating_add(parse_bytes(text))
        .saturating_add(regexes.saturating_mul(QUERY_REGEX_BYTES))
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

impl MemoryCap {
    /// Bytes the account can still take.
    pub fn room(&self) -> usize {
        self.limit
            .saturating_sub(self.linear.saturating_add(self.host))
    }

    /// Charges `bytes` of host memory, or says why not: the reason names `what`.
    pub fn charge(&mut self, bytes: usize, what: &str) -> Result<(), String> {
        self.fits(bytes, what)?;
        self.host = self.host.saturating_add(bytes);
        self.peak = self.peak.max(self.linear.saturating_add(self.host));
        Ok(())
    }

    /// Whether `bytes` more fit in the account, or why not: the reason names `what`.
    pub fn fits(&self, bytes: usize, what: &str) -> Result<(), String> {
        let total = self.linear.saturating_add(self.host).saturating_add(bytes);
        if total > self.limit {
            return Err(format!(
                "memory cap exceeded: {what} would take the skill to {:.1} MiB ({:.1} MiB of \
                 linear memory, {:.1} MiB of host memory held for it, {:.1} MiB more asked); \
                 the cap is {:.1} MiB (the policy's `memory_mib` raises it)",
                mib(total),
                mib(self.linear),
                mib(self.host),
                mib(bytes),
                mib(self.limit)
            ));
        }
        Ok(())
    }

    /// Gives back `bytes` charged earlier.
    pub fn release(&mut self, bytes: usize) {
        self.host = self.host.saturating_sub(bytes);
    }

    /// Why the cap stopped the skill's memory from growing, when it did.
    pub fn explain(&self) -> Option<String> {
        let asked = self.exceeded?;
        let held = if self.host > 0 {
            format!(" with {:.1} MiB of host memory held for it", mib(self.host))
        } else {
            String::new()
        };
        Some(format!(
            "memory cap exceeded: the skill asked to grow its memory to {:.1} MiB{held}; the cap \
             is {:.1} MiB",
            mib(asked),
            mib(self.limit)
        ))
    }
}

impl SkillState {
    /// Charges `bytes` of host memory made for `what` to the skill, or stops it.
    pub(crate) fn charge(&mut self, bytes: usize, what: &str) -> wasmtime::Result<()> {
        match self.memory.charge(bytes, what) {
            Ok(()) => Ok(()),
            Err(reason) => Err(self.stop(reason)),
        }
    }

    /// Gives back `bytes` charged earlier.
    pub(crate) fn release(&mut self, bytes: usize) {
        self.memory.release(bytes);
    }

    /// Runs `work` with `bytes` charged for `what` (host memory it builds and frees before it
    /// returns), or stops the skill when they do not fit.
    pub(crate) fn charged<R>(
        &mut self,
        bytes: usize,
        what: &str,
        work: impl FnOnce(&mut Self) -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        self.charge(bytes, what)?;
        let result = work(self);
        self.release(bytes);
        result
    }

    /// Size limits for a regex whose pattern's [`parse_bytes`] are `parse`, at most `nfa` and
    /// `dfa`, within what is left in the account; stops the skill when even the smallest does
    /// not fit.
    pub(crate) fn regex_budget(
        &mut self,
        nfa: usize,
        dfa: usize,
        parse: usize,
    ) -> wasmtime::Result<RegexBudget> {
        match RegexBudget::within(self.memory.room(), nfa, dfa, parse) {
            Some(budget) => Ok(budget),
            None => {
                let smallest = RegexBudget {
                    nfa: REGEX_MIN_LIMIT,
                    dfa: REGEX_MIN_LIMIT,
                };
                let reason = self
                    .memory
                    .charge(smallest.cost(parse), "a regular expression")
                    .err()
                    .unwrap_or_else(|| "memory cap exceeded: no room for a regex".to_string());
                Err(self.stop(reason))
            }
        }
    }

    /// After an audit record was kept: stops the skill when the records pushed the account
    /// past its limit.
    #[inline]
    pub(crate) fn audit_charged(&mut self, kept: usize) -> wasmtime::Result<()> {
        self.memory.host = self.memory.host.saturating_add(kept);
        if self.memory.linear.saturating_add(self.memory.host) > self.memory.limit {
            let reason = self
                .memory
                .charge(0, "the audit records of its host calls")
                .err()
                .unwrap_or_default();
            return Err(self.stop(reason));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn linear_memory_and_host_charges_share_one_limit() {
        let mut cap = MemoryCap::new(100 << 20);
        assert!(cap.memory_growing(0, 60 << 20, None).unwrap());
        assert_eq!(cap.room(), 40 << 20);
        cap.charge(30 << 20, "a stack cursor").unwrap();
        // 60 + 30 + 20 > 100: the host's charge counts against the guest's growth...
        assert!(!cap.memory_growing(60 << 20, 80 << 20, None).unwrap());
        assert_eq!(cap.exceeded, Some(80 << 20));
        let why = cap.explain().unwrap();
        assert!(
            why.contains("grow its memory to 80.0 MiB with 30.0 MiB of host memory"),
            "{why}"
        );
        // ...and the guest's memory against the host's charges.
        let refused = cap.charge(11 << 20, "a filtered profile view").unwrap_err();
        assert!(
            refused.starts_with(
                "memory cap exceeded: a filtered profile view would take the skill to 101.0 MiB"
            ),
            "{refused}"
        );
        assert!(refused.contains("the cap is 100.0 MiB"), "{refused}");
        assert!(refused.contains("`memory_mib`"), "{refused}");
        assert_eq!(cap.host, 30 << 20, "a refused charge is not taken");
        assert!(cap.fits(10 << 20, "its findings").is_ok());
        let findings = cap.fits(10 << 20 | 1, "its findings").unwrap_err();
        assert!(findings.starts_with("memory cap exceeded: its findings would take"));
        assert_eq!(cap.host, 30 << 20, "fitting takes nothing");
        cap.release(30 << 20);
        assert_eq!(cap.host, 0);
        assert!(cap.memory_growing(60 << 20, 100 << 20, None).unwrap());
        assert_eq!(cap.linear, 100 << 20);
        assert_eq!(cap.peak, 100 << 20);
        // Releasing more than was charged never wraps.
        cap.release(1);
        assert_eq!(cap.host, 0);
    }

    #[test]
    fn memories_are_summed() {
        let mut cap = MemoryCap::new(10 << 20);
        assert!(cap.memory_growing(0, 4 << 20, None).unwrap());
        assert!(cap.memory_growing(0, 4 << 20, None).unwrap());
        assert_eq!(cap.linear, 8 << 20);
        assert!(!cap.memory_growing(4 << 20, 7 << 20, None).unwrap());
        assert!(cap.memory_growing(4 << 20, 6 << 20, None).unwrap());
        assert_eq!(cap.linear, 10 << 20);
    }

    #[test]
    fn regex_limits_come_from_the_room_left_and_their_charge_fits_it() {
        let budget = RegexBudget::within(256 << 20, 1 << 20, 2 << 20, parse_bytes("a+b")).unwrap();
        assert_eq!(
            budget,
            RegexBudget {
                nfa: 1 << 20,
                dfa: 2 << 20
            }
        );
        for room in [2 << 20, 3 << 20, 5 << 20, 9 << 20, 64 << 20] {
            for parse in [1, 1000, 64 << 10, 16 << 20] {
                if let Some(b) = RegexBudget::within(room, 1 << 20, 2 << 20, parse) {
                    assert!(b.cost(parse) <= room, "{b:?} costs more than {room}");
                    assert!(b.nfa >= REGEX_MIN_LIMIT && b.dfa >= REGEX_MIN_LIMIT);
                }
            }
        }
        assert_eq!(RegexBudget::within(1 << 20, 1 << 20, 2 << 20, 10), None);
        assert_eq!(RegexBudget::within(0, 1 << 20, 2 << 20, usize::MAX), None);
    }

    #[test]
    fn structures_cost_more_with_bigger_inputs() {
        assert_eq!(glob_cost(&[]), 0);
        let small = glob_cost(&["**/*.rs".to_string()]);
        let big = glob_cost(&["*".repeat(1024)]);
        assert!(small < big && big >= 256 << 10, "{small} {big}");
        assert!(query_cost(&"a".repeat(60 << 10)) >= 10 << 20);
        // Unicode classes cost their ranges, whatever the pattern's length.
        assert_eq!(parse_bytes("ab"), 2 * REGEX_BYTES_PER_PATTERN_BYTE);
        assert!(parse_bytes(&"\\w".repeat(4000)) >= 60 << 20);
        assert!(parse_bytes(r"\pL\d\S") >= 3 * REGEX_BYTES_PER_CLASS);
        struct Cursor(Vec<u32>);
        impl HostCost for Cursor {
            const WHAT: &'static str = "a cursor";
            fn host_bytes(&self) -> usize {
                self.0.capacity() * 4
            }
        }
        let c = Cursor(vec![0; 1000]);
        assert!(handle_cost(&c) >= 4000 + HANDLE_BYTES);
    }
}
