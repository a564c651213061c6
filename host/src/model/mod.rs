//! The canonical profile: every input format is read into this one shape, and every skill query is
//! answered from it.
//!
//! Strings, functions and frames are interned; stacks live in a prefix tree (each node is a frame
//! and a parent), so memory grows with the number of distinct stacks, not with the raw sample
//! count. Samples with the same stack are merged as they arrive. Per-function totals are computed
//! once per sample type on first use and shared by all queries and all skills.

mod builder;
mod query;

pub use builder::ProfileBuilder;
pub use query::{EdgeStat, FunctionStat, LineStat, Order};

use std::collections::HashMap;
use std::sync::OnceLock;

/// Index into [`Profile::strings`].
pub type StrId = u32;
/// Index into [`Profile::functions`].
pub type FunctionId = u32;
/// Index into [`Profile::frames`].
pub type FrameId = u32;
/// Index into [`Profile::stack_nodes`]; a stack is named by its leaf node.
pub type StackId = u32;

/// Parent of a root stack node.
pub const NO_PARENT: StackId = u32::MAX;

/// The input format a profile was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pprof,
    Folded,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Pprof => "pprof",
            Format::Folded => "folded",
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
}

/// One frame of a stack: a function at a line. Inlined calls are separate frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    pub function: FunctionId,
    /// `0` when unknown.
    pub line: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackNode {
    pub parent: StackId,
    pub frame: FrameId,
    /// Number of frames from the root to this node, inclusive.
    pub depth: u32,
}

/// A profile in canonical form. Build one with [`ProfileBuilder`].
#[derive(Debug)]
pub struct Profile {
    /// Interned strings; index 0 is always the empty string.
    pub strings: Vec<Box<str>>,
    pub functions: Vec<Function>,
    pub frames: Vec<Frame>,
    pub stack_nodes: Vec<StackNode>,
    /// Distinct stacks (by leaf node), in first-seen order. Sample `i` has the summed values
    /// `values[i * n..(i + 1) * n]`, `n` being the number of sample types.
    pub samples: Vec<StackId>,
    /// `samples.len() * sample_types.len()` values, sample-major.
    pub values: Vec<i64>,
    pub sample_types: Vec<ValueType>,
    pub default_sample_type: usize,
    /// Samples as recorded, before identical stacks were merged.
    pub raw_sample_count: u64,
    pub duration_nanos: Option<u64>,
    pub time_nanos: Option<i64>,
    pub period: Option<i64>,
    pub period_type: Option<ValueType>,
    pub comments: Vec<StrId>,
    pub format: Format,
    /// Problems the reader skipped over (bad lines), each naming its place in the input.
    pub warnings: Vec<String>,
    totals_cache: OnceLock<query::FunctionTotals>,
    name_index: OnceLock<HashMap<Box<str>, Vec<FunctionId>>>,
}

impl Profile {
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id as usize).map(|s| &**s).unwrap_or("")
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

    /// Values of sample `i`, one per sample type.
    pub fn sample_values(&self, i: usize) -> &[i64] {
        let n = self.sample_types.len();
        &self.values[i * n..(i + 1) * n]
    }

    /// Sum of every sample, per sample type.
    pub fn totals(&self) -> Vec<i64> {
        let n = self.sample_types.len();
        let mut totals = vec![0i64; n];
        for chunk in self.values.chunks_exact(n.max(1)) {
            for (t, v) in totals.iter_mut().zip(chunk) {
                *t = t.saturating_add(*v);
            }
        }
        totals
    }

    /// The frames of a stack, leaf first.
    pub fn stack_frames(&self, stack: StackId) -> StackWalk<'_> {
        StackWalk {
            profile: self,
            node: stack,
        }
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

/// Iterator over a stack's frames from the leaf to the root.
pub struct StackWalk<'a> {
    profile: &'a Profile,
    node: StackId,
}

impl<'a> Iterator for StackWalk<'a> {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        let node = self.profile.stack_nodes.get(self.node as usize)?;
        self.node = node.parent;
        self.profile.frames.get(node.frame as usize).copied()
    }
}
