//! A granted profile: metadata fetched once, and the host's queries with natural defaults.

use crate::bindings::joule::skill::profiles::{self as wit, granted};
use crate::{
    CallError, CursorOptions, DiffQuery, EdgeStat, Function, FunctionDelta, FunctionStat,
    LabelMatch, LabelSummary, LineStat, MatchMode, Metadata, Order, SampleFilter, StackSample,
    Subtree, TopQuery,
};

/// One granted profile. Queries use the profile's default sample type unless they take one.
pub struct Profile {
    raw: wit::Profile,
    meta: Metadata,
}

impl Profile {
    /// The profiles this invocation may read, in the order the operator gave them.
    pub fn granted() -> Vec<Profile> {
        granted()
            .into_iter()
            .map(|raw| {
                let meta = raw.metadata();
                Profile { raw, meta }
            })
            .collect()
    }

    /// The generated resource, for queries this wrapper does not cover.
    pub fn raw(&self) -> &wit::Profile {
        &self.raw
    }

    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// Total of the default sample type over all samples.
    pub fn total(&self) -> i64 {
        self.meta
            .totals
            .get(self.meta.default_sample_type as usize)
            .copied()
            .unwrap_or(0)
    }

    /// `value` as a fraction of [`Profile::total`] (0 when the profile is empty).
    /// `value` as a reader weighs it: "12.5% of `cpu` (1.20 s)".
    pub fn cost(&self, value: i64) -> String {
        format!(
            "{} of `{}` ({})",
            crate::units::percent(self.share(value)),
            self.sample_type(),
            crate::units::format_value(value as f64, self.unit())
        )
    }

    pub fn share(&self, value: i64) -> f64 {
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            value as f64 / total as f64
        }
    }

    /// The default sample type as `name/unit`, e.g. `cpu/nanoseconds`.
    pub fn sample_type(&self) -> String {
        match self
            .meta
            .sample_types
            .get(self.meta.default_sample_type as usize)
        {
            Some(t) => format!("{}/{}", t.name, t.unit),
            None => String::new(),
        }
    }

    /// The unit of the default sample type (`nanoseconds`, `count`...).
    pub fn unit(&self) -> &str {
        self.meta
            .sample_types
            .get(self.meta.default_sample_type as usize)
            .map(|t| t.unit.as_str())
            .unwrap_or("")
    }

    /// The `n` functions with the most self (flat) time.
    pub fn top(&self, n: u32) -> Result<Vec<FunctionStat>, CallError> {
        self.top_by(Order::BySelf, n, None)
    }

    /// The `n` functions with the most total (cumulative) time.
    pub fn top_by_total(&self, n: u32) -> Result<Vec<FunctionStat>, CallError> {
        self.top_by(Order::ByTotal, n, None)
    }

    /// Of the `n` first functions by `order`, those whose file may be in `language` (a `.h`
    /// may be C or C++: [`crate::Language::may_be`]) and whose
    /// value in that order (self or total) is at least `min_share` of the profile: the
    /// candidates a skill for one language reads the source of.
    pub fn hot_in(
        &self,
        language: crate::Language,
        order: Order,
        n: u32,
        min_share: f64,
    ) -> Result<Vec<FunctionStat>, CallError> {
        let value = |s: &FunctionStat| match order {
            Order::ByTotal => s.total_value,
            _ => s.self_value,
        };
        Ok(self
            .top_by(order, n, None)?
            .into_iter()
            .filter(|s| {
                let file = s.function.file.as_deref().unwrap_or_default();
                language.may_be(file) && self.share(value(s)) >= min_share
            })
            .collect())
    }

    /// Top functions in any order, optionally only those whose name matches a regex.
    pub fn top_by(
        &self,
        order: Order,
        n: u32,
        name_filter: Option<&str>,
    ) -> Result<Vec<FunctionStat>, CallError> {
        self.raw.top(&TopQuery {
            order,
            limit: n,
            sample_type: None,
            name_filter: name_filter.map(str::to_string),
        })
    }

    /// Functions whose name matches the regex.
    pub fn find(&self, name_regex: &str) -> Result<Vec<Function>, CallError> {
        self.raw
            .find_functions(name_regex, MatchMode::Regex, u32::MAX)
    }

    pub fn function(&self, id: u32) -> Result<Function, CallError> {
        self.raw.function(id)
    }

    pub fn stat(&self, id: u32) -> Result<FunctionStat, CallError> {
        self.raw.stat(id, None)
    }

    /// The value of the stacks containing any of `ids`, each stack counted once.
    pub fn total_of(&self, ids: &[u32]) -> Result<i64, CallError> {
        self.raw.total_of(ids, None)
    }

    pub fn callers(&self, id: u32, n: u32) -> Result<Vec<EdgeStat>, CallError> {
        self.raw.callers(id, None, n)
    }

    pub fn callees(&self, id: u32, n: u32) -> Result<Vec<EdgeStat>, CallError> {
        self.raw.callees(id, None, n)
    }

    /// Where inside function `id` the time goes, by source line.
    pub fn lines(&self, id: u32, n: u32) -> Result<Vec<LineStat>, CallError> {
        self.raw.lines(id, None, n)
    }

    /// Only the samples carrying every given label (`("thread", Some("main"))`, or a key with
    /// any value), as a profile of its own; `exclude` keeps the others instead.
    pub fn filter(
        &self,
        labels: &[(&str, Option<&str>)],
        exclude: bool,
    ) -> Result<Profile, CallError> {
        let raw = self.raw.filter(&SampleFilter {
            labels: labels
                .iter()
                .map(|(key, value)| LabelMatch {
                    key: key.to_string(),
                    value: value.map(str::to_string),
                })
                .collect(),
            exclude,
        })?;
        let meta = raw.metadata();
        Ok(Profile { raw, meta })
    }

    /// The label values present (threads, pids, custom pprof labels), largest first.
    pub fn labels(&self, n: u32) -> Result<Vec<LabelSummary>, CallError> {
        self.raw.labels(None, n)
    }

    /// Per-function changes from `base` to this profile, largest change of `order` first.
    pub fn diff(
        &self,
        base: &Profile,
        order: Order,
        n: u32,
        normalize: bool,
    ) -> Result<Vec<FunctionDelta>, CallError> {
        self.raw.diff(
            &base.raw,
            DiffQuery {
                order,
                limit: n,
                normalize,
                base_sample_type: None,
                sample_type: None,
            },
        )
    }

    /// The call-tree node at a call path (function ids, root first).
    pub fn subtree(&self, path: &[u32], n: u32) -> Result<Subtree, CallError> {
        self.raw.subtree(path, None, n)
    }

    /// Every distinct stack containing one of `containing` (every stack when empty), leaf
    /// first, fetched from the host in batches.
    pub fn stacks(&self, containing: &[u32]) -> Result<Stacks, CallError> {
        let cursor = self.raw.stacks(&CursorOptions {
            containing: containing.to_vec(),
            batch: 1024,
        })?;
        Ok(Stacks {
            cursor,
            batch: Vec::new().into_iter(),
            done: false,
        })
    }
}

/// Iterator over stacks, pulling batches from the host's cursor.
pub struct Stacks {
    cursor: wit::StackCursor,
    batch: std::vec::IntoIter<StackSample>,
    done: bool,
}

impl Iterator for Stacks {
    type Item = StackSample;

    fn next(&mut self) -> Option<StackSample> {
        loop {
            if let Some(s) = self.batch.next() {
                return Some(s);
            }
            if self.done {
                return None;
            }
            let batch = self.cursor.next();
            self.done = batch.is_empty();
            self.batch = batch.into_iter();
        }
    }
}

/// Whether a frame's name is no function's but a placeholder for code no symbol names, and if
/// so the binary it is in (empty when that is not known either): perf's and inferno's
/// `[unknown]`, pprof's `<unknown>`, a binary in brackets (`[libc.so.6]`, `[kernel.kallsyms]`:
/// perf's and pprof's name for code of a binary without symbols), or a bare address
/// (`0x7f3a12`). Skills never name such a frame as a function, never look it up in a source
/// tree, and say which binary needs symbols.
///
/// ```
/// use joule_sdk::unsymbolized;
/// assert_eq!(unsymbolized("[unknown]"), Some(""));
/// assert_eq!(unsymbolized("[libc.so.6]"), Some("libc.so.6"));
/// assert_eq!(unsymbolized("0x7f3a12"), Some(""));
/// assert_eq!(unsymbolized("main"), None);
/// assert_eq!(unsymbolized("<module>"), None); // Python's module body is code
/// assert_eq!(unsymbolized("[anonymous] (x.js)"), None);
/// ```
pub fn unsymbolized(name: &str) -> Option<&str> {
    let name = name.trim();
    if name == "[unknown]" || name == "<unknown>" {
        return Some("");
    }
    if let Some(hex) = name.strip_prefix("0x")
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Some("");
    }
    name.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .filter(|inner| {
            !inner.is_empty()
                && !inner.contains(|c: char| c.is_whitespace() || c == '[' || c == ']')
        })
}
