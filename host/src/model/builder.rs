//! Builds a [`Profile`] incrementally: interning strings, functions and frames, and merging
//! samples with identical stacks as they arrive.

use std::hash::BuildHasher;
use std::sync::OnceLock;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::{
    Format, Frame, FrameId, Function, FunctionId, Label, LabelSetId, LabelValue, Profile, StrId,
    Strings, ValueType,
};

/// Accumulates one profile. Readers in [`crate::ingest`] drive it; [`ProfileBuilder::finish`]
/// hands over the finished model.
pub struct ProfileBuilder {
    strings: Strings,
    /// String ids by the hash of their text.
    string_index: HashTable<StrId>,
    functions: Vec<Function>,
    function_index: FxHashMap<Function, FunctionId>,
    frames: Vec<Frame>,
    frame_index: FxHashMap<Frame, FrameId>,
    stack_frames: Vec<FrameId>,
    stack_starts: Vec<u32>,
    stack_labels: Vec<LabelSetId>,
    /// Distinct stacks by the hash of their frames and label set; entries are stack indices.
    stack_index: HashTable<u32>,
    label_sets: Vec<Vec<Label>>,
    label_set_index: FxHashMap<Vec<Label>, LabelSetId>,
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
            strings: Strings::default(),
            string_index: HashTable::new(),
            functions: Vec::new(),
            function_index: FxHashMap::default(),
            frames: Vec::new(),
            frame_index: FxHashMap::default(),
            stack_frames: Vec::new(),
            stack_starts: vec![0],
            stack_labels: Vec::new(),
            stack_index: HashTable::new(),
            label_sets: vec![Vec::new()],
            label_set_index: FxHashMap::default(),
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

    /// A builder whose string table is `strings`, taken over as is: string ids are positions
    /// in it (string 0 must be empty). Readers of formats that carry their own string table
    /// (pprof) use this to skip hashing every string; strings interned later may repeat some.
    pub fn with_strings(format: Format, strings: Strings) -> Self {
        let mut builder = Self::new(format);
        if strings.get(0).is_empty() && !strings.is_empty() {
            builder.strings = strings;
            builder.string_index = HashTable::new();
        }
        builder
    }

    /// Adds a function without looking for an identical one (for formats whose function table
    /// is already deduplicated); strings must be ids of this builder.
    pub fn push_function(&mut self, function: Function) -> FunctionId {
        self.functions.push(function);
        (self.functions.len() - 1) as FunctionId
    }

    /// Sets the module of a function added with [`ProfileBuilder::push_function`].
    pub fn set_function_module(&mut self, function: FunctionId, module: StrId) {
        if let Some(f) = self.functions.get_mut(function as usize) {
            f.module = module;
        }
    }

    pub fn string(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    pub fn string_count(&self) -> usize {
        self.strings.len()
    }

    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    pub fn intern(&mut self, s: &str) -> StrId {
        let hash = FxBuildHasher.hash_one(s);
        let strings = &self.strings;
        if let Some(&id) = self.string_index.find(hash, |&id| strings.get(id) == s) {
            return id;
        }
        let id = self.strings.push(s);
        let strings = &self.strings;
        self.string_index
            .insert_unique(hash, id, |&id| FxBuildHasher.hash_one(strings.get(id)));
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

    /// Sets the sample types from interned string ids.
    pub fn set_sample_type_ids(&mut self, types: &[(StrId, StrId)], default: usize) {
        self.sample_types = types
            .iter()
            .map(|&(name, unit)| ValueType { name, unit })
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
        self.function_in(name, system_name, file, start_line, "")
    }

    /// A function with the binary or module it lives in.
    pub fn function_in(
        &mut self,
        name: &str,
        system_name: &str,
        file: &str,
        start_line: u32,
        module: &str,
    ) -> FunctionId {
        let function = Function {
            name: self.intern(name),
            system_name: self.intern(system_name),
            file: self.intern(file),
            start_line,
            module: self.intern(module),
        };
        self.function_of(function)
    }

    /// Interns a label set (order does not matter; it is sorted by key here).
    pub fn label_set(&mut self, labels: &[Label]) -> LabelSetId {
        if labels.is_empty() {
            return 0;
        }
        let mut sorted = labels.to_vec();
        sorted.sort();
        if let Some(&id) = self.label_set_index.get(&sorted) {
            return id;
        }
        let id = self.label_sets.len() as LabelSetId;
        self.label_sets.push(sorted.clone());
        self.label_set_index.insert(sorted, id);
        id
    }

    /// A text label, interned.
    pub fn str_label(&mut self, key: &str, value: &str) -> Label {
        Label {
            key: self.intern(key),
            value: LabelValue::Str(self.intern(value)),
        }
    }

    /// Interns a function whose strings are already interned.
    pub fn function_of(&mut self, function: Function) -> FunctionId {
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

    /// Adds one recorded sample: its stack, leaf first, and one value per sample type. A sample
    /// whose stack was seen before adds its values to that stack's.
    pub fn add_sample(&mut self, frames: &[FrameId], values: &[i64]) {
        self.add_labeled_sample(frames, 0, values);
    }

    /// Adds one recorded sample with labels (from [`ProfileBuilder::label_set`]).
    pub fn add_labeled_sample(&mut self, frames: &[FrameId], labels: LabelSetId, values: &[i64]) {
        let n = self.sample_types.len();
        debug_assert_eq!(values.len(), n);
        self.raw_sample_count += 1;
        let hash = stack_hash(frames, labels);
        let (starts, all, set) = (&self.stack_starts, &self.stack_frames, &self.stack_labels);
        let same = |&i: &u32| {
            let i = i as usize;
            set[i] == labels && &all[starts[i] as usize..starts[i + 1] as usize] == frames
        };
        let index = match self.stack_index.find(hash, same) {
            Some(&i) => i as usize,
            None => {
                let i = self.stack_starts.len() - 1;
                self.stack_frames.extend_from_slice(frames);
                self.stack_starts.push(self.stack_frames.len() as u32);
                self.stack_labels.push(labels);
                self.values.extend(std::iter::repeat_n(0, n));
                let (starts, all, set) =
                    (&self.stack_starts, &self.stack_frames, &self.stack_labels);
                self.stack_index.insert_unique(hash, i as u32, |&j| {
                    let j = j as usize;
                    stack_hash(&all[starts[j] as usize..starts[j + 1] as usize], set[j])
                });
                i
            }
        };
        for (slot, v) in self.values[index * n..(index + 1) * n]
            .iter_mut()
            .zip(values)
        {
            *slot = slot.saturating_add(*v);
        }
    }

    /// Expects about `stacks` distinct stacks of about `frames` frames in all.
    pub fn reserve_stacks(&mut self, stacks: usize, frames: usize) {
        self.stack_index.reserve(stacks, |_| 0);
        self.stack_starts.reserve(stacks);
        self.stack_labels.reserve(stacks);
        self.stack_frames.reserve(frames);
        self.values.reserve(stacks * self.sample_types.len());
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

    pub fn set_period_ids(&mut self, period: i64, name: StrId, unit: StrId) {
        self.period = Some(period);
        self.period_type = Some(ValueType { name, unit });
    }

    pub fn add_comment_id(&mut self, comment: StrId) {
        self.comments.push(comment);
    }

    pub fn add_comment(&mut self, comment: &str) {
        let id = self.intern(comment);
        self.comments.push(id);
    }

    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    pub fn has_samples(&self) -> bool {
        self.stack_starts.len() > 1
    }

    pub fn finish(self) -> Profile {
        Profile {
            strings: self.strings,
            functions: self.functions,
            frames: self.frames,
            stack_frames: self.stack_frames,
            stack_starts: self.stack_starts,
            stack_labels: self.stack_labels,
            label_sets: self.label_sets,
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

fn stack_hash(frames: &[FrameId], labels: LabelSetId) -> u64 {
    FxBuildHasher.hash_one((frames, labels))
}
