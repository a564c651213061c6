//! Builds a [`Profile`] incrementally: interning strings, functions and frames, threading stacks
//! into the prefix tree and merging samples with identical stacks as they arrive.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::{
    Format, Frame, FrameId, Function, FunctionId, NO_PARENT, Profile, StackId, StackNode, StrId,
    ValueType,
};

/// Accumulates one profile. Readers in [`crate::ingest`] drive it; [`ProfileBuilder::finish`]
/// hands over the finished model.
pub struct ProfileBuilder {
    strings: Vec<Box<str>>,
    string_index: FxHashMap<Box<str>, StrId>,
    functions: Vec<Function>,
    function_index: FxHashMap<Function, FunctionId>,
    frames: Vec<Frame>,
    frame_index: FxHashMap<Frame, FrameId>,
    stack_nodes: Vec<StackNode>,
    node_index: FxHashMap<(StackId, FrameId), StackId>,
    sample_index: FxHashMap<StackId, u32>,
    samples: Vec<StackId>,
    values: Vec<i64>,
    sample_types: Vec<ValueType>,
    default_sample_type: usize,
    raw_sample_count: u64,
    duration_nanos: Option<u64>,
    time_nanos: Option<i64>,
    period: Option<i64>,
    period_type: Option<ValueType>,
    comments: Vec<StrId>,
    format: Format,
    warnings: Vec<String>,
}

impl ProfileBuilder {
    pub fn new(format: Format) -> Self {
        let mut builder = ProfileBuilder {
            strings: Vec::new(),
            string_index: FxHashMap::default(),
            functions: Vec::new(),
            function_index: FxHashMap::default(),
            frames: Vec::new(),
            frame_index: FxHashMap::default(),
            stack_nodes: Vec::new(),
            node_index: FxHashMap::default(),
            sample_index: FxHashMap::default(),
            samples: Vec::new(),
            values: Vec::new(),
            sample_types: Vec::new(),
            default_sample_type: 0,
            raw_sample_count: 0,
            duration_nanos: None,
            time_nanos: None,
            period: None,
            period_type: None,
            comments: Vec::new(),
            format,
            warnings: Vec::new(),
        };
        builder.intern("");
        builder
    }

    pub fn intern(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.string_index.get(s) {
            return id;
        }
        let id = self.strings.len() as StrId;
        let boxed: Box<str> = s.into();
        self.strings.push(boxed.clone());
        self.string_index.insert(boxed, id);
        id
    }

    /// Sets the sample types; must be called before the first sample.
    pub fn set_sample_types(&mut self, types: &[(&str, &str)], default: usize) {
        self.sample_types = types
            .iter()
            .map(|(name, unit)| ValueType {
                name: self.intern(name),
                unit: self.intern(unit),
            })
            .collect();
        self.default_sample_type = default.min(self.sample_types.len().saturating_sub(1));
    }

    pub fn sample_type_count(&self) -> usize {
        self.sample_types.len()
    }

    pub fn function(
        &mut self,
        name: &str,
        system_name: &str,
        file: &str,
        start_line: u32,
    ) -> FunctionId {
        let function = Function {
            name: self.intern(name),
            system_name: self.intern(system_name),
            file: self.intern(file),
            start_line,
        };
        if let Some(&id) = self.function_index.get(&function) {
            return id;
        }
        let id = self.functions.len() as FunctionId;
        self.functions.push(function.clone());
        self.function_index.insert(function, id);
        id
    }

    pub fn frame(&mut self, function: FunctionId, line: u32) -> FrameId {
        let frame = Frame { function, line };
        *self.frame_index.entry(frame).or_insert_with(|| {
            self.frames.push(frame);
            (self.frames.len() - 1) as FrameId
        })
    }

    /// Threads a stack given leaf first into the prefix tree and returns its leaf node.
    /// An empty stack returns `None`.
    pub fn stack_leaf_first(&mut self, frames: &[FrameId]) -> Option<StackId> {
        let mut node = NO_PARENT;
        for &frame in frames.iter().rev() {
            node = self.child(node, frame);
        }
        (node != NO_PARENT).then_some(node)
    }

    fn child(&mut self, parent: StackId, frame: FrameId) -> StackId {
        if let Some(&id) = self.node_index.get(&(parent, frame)) {
            return id;
        }
        let depth = if parent == NO_PARENT {
            1
        } else {
            self.stack_nodes[parent as usize].depth + 1
        };
        let id = self.stack_nodes.len() as StackId;
        self.stack_nodes.push(StackNode {
            parent,
            frame,
            depth,
        });
        self.node_index.insert((parent, frame), id);
        id
    }

    /// Adds one recorded sample (`values` has one entry per sample type).
    pub fn add_sample(&mut self, stack: StackId, values: &[i64]) {
        let n = self.sample_types.len();
        debug_assert_eq!(values.len(), n);
        self.raw_sample_count += 1;
        let next = self.samples.len() as u32;
        let index = *self.sample_index.entry(stack).or_insert(next) as usize;
        if index == self.samples.len() {
            self.samples.push(stack);
            self.values.extend_from_slice(values);
        } else {
            for (slot, v) in self.values[index * n..(index + 1) * n]
                .iter_mut()
                .zip(values)
            {
                *slot = slot.saturating_add(*v);
            }
        }
    }

    pub fn set_duration_nanos(&mut self, nanos: u64) {
        self.duration_nanos = Some(nanos);
    }

    pub fn set_time_nanos(&mut self, nanos: i64) {
        self.time_nanos = Some(nanos);
    }

    pub fn set_period(&mut self, period: i64, name: &str, unit: &str) {
        self.period = Some(period);
        self.period_type = Some(ValueType {
            name: self.intern(name),
            unit: self.intern(unit),
        });
    }

    pub fn add_comment(&mut self, comment: &str) {
        let id = self.intern(comment);
        self.comments.push(id);
    }

    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    pub fn has_samples(&self) -> bool {
        !self.samples.is_empty()
    }

    pub fn finish(self) -> Profile {
        Profile {
            strings: self.strings,
            functions: self.functions,
            frames: self.frames,
            stack_nodes: self.stack_nodes,
            samples: self.samples,
            values: self.values,
            sample_types: self.sample_types,
            default_sample_type: self.default_sample_type,
            raw_sample_count: self.raw_sample_count,
            duration_nanos: self.duration_nanos,
            time_nanos: self.time_nanos,
            period: self.period,
            period_type: self.period_type,
            comments: self.comments,
            format: self.format,
            warnings: self.warnings,
            totals_cache: OnceLock::new(),
            name_index: OnceLock::new(),
        }
    }
}
