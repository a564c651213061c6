//! The canonical profile: every input format is read into this one shape, and every skill query is
//! answered from it.
//!
//! Strings, functions and frames are interned. Each distinct stack is stored once, as a run of
//! frame ids (leaf first) in one flat array, with its summed values: samples with the same stack
//! are merged as they arrive, so memory grows with the distinct stacks, not with the raw sample
//! count. (A prefix tree was tried first: on Go's `large.cpu`, where nearly every stack is
//! distinct, it cost 425k hashed nodes against 500k plain frame ids, and walking it was slower.)
//! Per-function totals are computed once on first use and shared by all queries and skills.

mod builder;
pub mod diff;
mod query;
pub mod units;
mod view;

pub use builder::{MAX_FRAMES, ProfileBuilder, StackTable};
pub use query::{EdgeStat, FunctionStat, LineStat, Order, Subtree};

use std::collections::HashMap;
use std::sync::OnceLock;

/// Index into the profile's [`Strings`].
pub type StrId = u32;
/// Index into [`Profile::functions`].
pub type FunctionId = u32;
/// Index into [`Profile::frames`].
pub type FrameId = u32;
/// Index of a distinct stack (and of its summed values).
pub type StackId = u32;
/// Index into [`Profile::label_sets`]; `0` is the empty set.
pub type LabelSetId = u32;

/// A sample label's value: text, or a number with its unit (pprof's `Label`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LabelValue {
    Str(StrId),
    Num { value: i64, unit: StrId },
}

/// One label of a sample, such as `thread=worker-1`, `pid=4152` or `bytes=4096 (bytes)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub key: StrId,
    pub value: LabelValue,
}

/// Interned strings, stored in one buffer: one allocation for all of them, and `&str` views
/// by id.
#[derive(Clone, Debug, Default)]
pub struct Strings {
    text: String,
    /// String `i` is `text[spans[i].0..spans[i].1]`.
    spans: Vec<(u32, u32)>,
}

impl Strings {
    pub fn with_capacity(strings: usize, bytes: usize) -> Self {
        Strings {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(strings),
        }
    }

    /// Strings that are ranges of one text, taken over without copying each (a file format's
    /// string table read in one piece, the bytes between its strings included). `None` unless
    /// every range lies in the text on character boundaries.
    pub fn from_ranges(text: String, spans: Vec<(u32, u32)>) -> Option<Self> {
        let fits = |&(start, end): &(u32, u32)| {
            start <= end
                && (end as usize) <= text.len()
                && text.is_char_boundary(start as usize)
                && text.is_char_boundary(end as usize)
        };
        spans.iter().all(fits).then_some(Strings { text, spans })
    }

    pub fn get(&self, id: StrId) -> &str {
        match self.spans.get(id as usize) {
            Some(&(start, end)) => self.text.get(start as usize..end as usize).unwrap_or(""),
            None => "",
        }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Appends a string without looking for an equal one; its id is its position.
    pub fn push(&mut self, s: &str) -> StrId {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        self.spans.push((start, self.text.len() as u32));
        (self.spans.len() - 1) as StrId
    }

    /// Bytes on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.spans.capacity() * 8
    }
}

/// The input format a profile was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pprof,
    Folded,
    /// `perf script` text.
    Perf,
    /// `perf.data`, read and symbolized directly.
    PerfData,
    /// speedscope's JSON file format.
    Speedscope,
    /// Chrome DevTools / V8 `.cpuprofile`.
    ChromeCpuProfile,
    /// Chrome trace-event JSON with CPU profile samples.
    TraceEvent,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Pprof => "pprof",
            Format::Folded => "folded",
            Format::Perf => "perf-script",
            Format::PerfData => "perf-data",
            Format::Speedscope => "speedscope",
            Format::ChromeCpuProfile => "chrome-cpuprofile",
            Format::TraceEvent => "trace-event",
        }
    }
}

/// What a sample value counts, and in which unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueType {
    pub name: StrId,
    pub unit: StrId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Function {
    pub name: StrId,
    pub system_name: StrId,
    /// `0` (the empty string) when unknown.
    pub file: StrId,
    /// `0` when unknown.
    pub start_line: u32,
    /// The binary or module the code lives in (a pprof mapping's file, perf's `(module)`);
    /// `0` when unknown.
    pub module: StrId,
}

/// One frame of a stack: a function at a line. Inlined calls are separate frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    pub function: FunctionId,
    /// `0` when unknown.
    pub line: u32,
}

/// A profile in canonical form. Build one with [`ProfileBuilder`].
#[derive(Debug)]
pub struct Profile {
    /// Interned strings; id 0 is always the empty string.
    pub strings: Strings,
    pub functions: Vec<Function>,
    pub frames: Vec<Frame>,
    /// The frames of every distinct stack, leaf first, one stack after another.
    pub stack_frames: Vec<FrameId>,
    /// Stack `i` is `stack_frames[stack_starts[i]..stack_starts[i + 1]]`.
    pub stack_starts: Vec<u32>,
    /// The label set of stack `i` (samples with the same frames but different labels are
    /// different stacks here, so they can be filtered apart).
    pub stack_labels: Vec<LabelSetId>,
    /// Distinct label sets, each sorted by key; set 0 is empty.
    pub label_sets: Vec<Vec<Label>>,
    /// `stack_count() * sample_types.len()` summed values, stack-major: stack `i` has
    /// `values[i * n..(i + 1) * n]`, `n` being the number of sample types.
    pub values: Vec<i64>,
    pub sample_types: Vec<ValueType>,
    pub default_sample_type: usize,
    /// Samples as recorded, before identical stacks were merged.
    pub raw_sample_count: u64,
    /// Samples left out because the stacks would have exceeded [`builder::MAX_FRAMES`];
    /// loading reports such a profile as an error.
    pub refused_samples: u64,
    pub duration_nanos: Option<u64>,
    pub time_nanos: Option<i64>,
    pub period: Option<i64>,
    pub period_type: Option<ValueType>,
    pub comments: Vec<StrId>,
    pub format: Format,
    /// Problems the reader skipped over (bad lines), each naming its place in the input.
    pub warnings: Vec<String>,
    totals_cache: Vec<OnceLock<query::FunctionTotals>>,
    name_index: OnceLock<HashMap<Box<str>, Vec<FunctionId>>>,
}

impl Profile {
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    pub fn function_name(&self, id: FunctionId) -> &str {
        self.functions
            .get(id as usize)
            .map(|f| self.str(f.name))
            .unwrap_or("")
    }

    pub fn sample_type_count(&self) -> usize {
        self.sample_types.len()
    }

    /// The number of distinct stacks.
    pub fn stack_count(&self) -> usize {
        self.stack_starts.len().saturating_sub(1)
    }

    /// The summed values of stack `i`, one per sample type.
    pub fn stack_values(&self, i: usize) -> &[i64] {
        let n = self.sample_types.len();
        &self.values[i * n..(i + 1) * n]
    }

    /// The labels of stack `i`.
    pub fn labels_of(&self, i: usize) -> &[Label] {
        let set = self.stack_labels.get(i).copied().unwrap_or(0) as usize;
        self.label_sets.get(set).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The frame ids of stack `i`, leaf first.
    pub fn stack(&self, i: usize) -> &[FrameId] {
        &self.stack_frames[self.stack_starts[i] as usize..self.stack_starts[i + 1] as usize]
    }

    /// The profile's total per sample type, as pprof reckons it (shares are of this): the sum
    /// of every sample's magnitude, so a difference profile's falls count as much as its rises;
    /// when some samples are the base of a difference (label `pprof::base`, as `pprof
    /// -diff_base` writes them), the sum of those alone.
    pub fn totals(&self) -> Vec<i64> {
        let n = self.sample_types.len();
        let mut totals = vec![0i64; n];
        let mut base = vec![0i64; n];
        // The label sets that mark a base sample (a few sets, however many samples).
        let base_sets: Vec<bool> = self
            .label_sets
            .iter()
            .map(|set| set.iter().any(|l| self.str(l.key) == "pprof::base"))
            .collect();
        let mut has_base = false;
        for (i, chunk) in self.values.chunks_exact(n.max(1)).enumerate() {
            let set = self.stack_labels.get(i).copied().unwrap_or(0) as usize;
            let is_base = base_sets.get(set).copied().unwrap_or(false);
            has_base |= is_base;
            for t in 0..n.min(chunk.len()) {
                let v = chunk[t].saturating_abs();
                totals[t] = totals[t].saturating_add(v);
                if is_base {
                    base[t] = base[t].saturating_add(v);
                }
            }
        }
        if has_base { base } else { totals }
    }

    /// The frames of stack `i`, leaf first.
    pub fn frames_of(&self, i: usize) -> impl Iterator<Item = Frame> + '_ {
        self.stack(i).iter().map(|&f| self.frames[f as usize])
    }

    /// `name: unit` of a sample type, as pprof prints it (`cpu/nanoseconds`).
    pub fn sample_type_label(&self, index: usize) -> String {
        match self.sample_types.get(index) {
            Some(t) => format!("{}/{}", self.str(t.name), self.str(t.unit)),
            None => String::new(),
        }
    }

    /// Functions with exactly this name.
    pub fn functions_named(&self, name: &str) -> &[FunctionId] {
        let index = self.name_index.get_or_init(|| {
            let mut index: HashMap<Box<str>, Vec<FunctionId>> = HashMap::new();
            for (id, f) in self.functions.iter().enumerate() {
                index
                    .entry(self.str(f.name).into())
                    .or_default()
                    .push(id as FunctionId);
            }
            index
        });
        index.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// One empty cache cell per sample type.
fn totals_cells(n: usize) -> Vec<OnceLock<query::FunctionTotals>> {
    (0..n).map(|_| OnceLock::new()).collect()
}
