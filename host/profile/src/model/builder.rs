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
    stacks: StackTable,
    label_sets: Vec<Vec<Label>>,
    label_set_index: FxHashMap<Vec<Label>, LabelSetId>,
    sample_types: Vec<ValueType>,
    default_sample_type: usize,
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
            stacks: StackTable::new(0),
            label_sets: vec![Vec::new()],
            label_set_index: FxHashMap::default(),
            sample_types: Vec::new(),
            default_sample_type: 0,
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

    /// Expects about `functions` more functions and `frames` more frames.
    pub fn reserve_tables(&mut self, functions: usize, frames: usize) {
        self.functions.reserve(functions);
        self.frames.reserve(frames);
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
        self.stacks.n = self.sample_types.len();
    }

    /// Sets the sample types from interned string ids.
    pub fn set_sample_type_ids(&mut self, types: &[(StrId, StrId)], default: usize) {
        self.sample_types = types
            .iter()
            .map(|&(name, unit)| ValueType { name, unit })
            .collect();
        self.default_sample_type = default.min(self.sample_types.len().saturating_sub(1));
        self.stacks.n = self.sample_types.len();
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

    /// Adds a frame without looking for an identical one (pprof locations are distinct by
    /// address already; two frames with the same function and line answer queries the same).
    pub fn push_frame(&mut self, function: FunctionId, line: u32) -> FrameId {
        self.frames.push(Frame { function, line });
        (self.frames.len() - 1) as FrameId
    }

    /// Merges a table filled elsewhere (on another thread, say) into this profile's. Its label
    /// set ids are resolved through `label_sets`, the sets it was built with.
    pub fn absorb(&mut self, other: StackTable, label_sets: &[Vec<Label>]) {
        let mut mapped: Vec<LabelSetId> = Vec::with_capacity(label_sets.len());
        for set in label_sets {
            mapped.push(self.label_set(set));
        }
        // Into an empty table with the same label ids, the other table can simply move in.
        if self.stacks.is_empty()
            && self.stacks.n == other.n
            && mapped.iter().enumerate().all(|(i, &id)| id as usize == i)
        {
            self.stacks = other;
            return;
        }
        self.stacks.raw_samples += other.raw_samples;
        self.stacks.refused += other.refused;
        for i in 0..other.len() {
            let labels = mapped.get(other.labels[i] as usize).copied().unwrap_or(0);
            self.stacks
                .merge(other.frames_of(i), labels, other.values_of(i), 0);
        }
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
        self.stacks.add(frames, 0, values);
    }

    /// Adds one recorded sample with labels (from [`ProfileBuilder::label_set`]).
    pub fn add_labeled_sample(&mut self, frames: &[FrameId], labels: LabelSetId, values: &[i64]) {
        self.stacks.add(frames, labels, values);
    }

    /// Expects about `stacks` distinct stacks of about `frames` frames in all.
    pub fn reserve_stacks(&mut self, stacks: usize, frames: usize) {
        self.stacks.reserve(stacks, frames);
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
        !self.stacks.is_empty()
    }

    pub fn finish(mut self) -> Profile {
        let totals_cache = super::totals_cells(self.sample_types.len());
        self.stacks.shrink();
        Profile {
            strings: self.strings,
            functions: self.functions,
            frames: self.frames,
            stack_frames: self.stacks.frames,
            stack_starts: self.stacks.starts,
            stack_labels: self.stacks.labels,
            label_sets: self.label_sets,
            values: self.stacks.values,
            sample_types: self.sample_types,
            default_sample_type: self.default_sample_type,
            raw_sample_count: self.stacks.raw_samples,
            refused_samples: self.stacks.refused,
            duration_nanos: self.duration_nanos,
            time_nanos: self.time_nanos,
            period: self.period,
            period_type: self.period_type,
            comments: self.comments,
            format: self.format,
            warnings: self.warnings,
            totals_cache,
            name_index: OnceLock::new(),
        }
    }
}

fn stack_hash(frames: &[FrameId], labels: LabelSetId) -> u64 {
    FxBuildHasher.hash_one((frames, labels))
}

/// The most frames the distinct stacks of one profile may hold in all (256 MiB of frame ids).
/// Real profiles stay far below; a hostile one (inline chains multiplied by repeated
/// locations, deep call trees sampled at every depth) is refused past it instead of exhausting
/// memory.
pub const MAX_FRAMES: usize = 1 << 26;

/// Distinct stacks (frames leaf first, a label set) with their summed values: the part of a
/// profile that grows with the input. Kept apart from the builder so readers can fill one per
/// thread and merge them.
#[derive(Debug)]
pub struct StackTable {
    frames: Vec<FrameId>,
    /// Stack `i` is `frames[starts[i]..starts[i + 1]]`.
    starts: Vec<u32>,
    labels: Vec<LabelSetId>,
    /// `n` values per stack.
    values: Vec<i64>,
    n: usize,
    /// Stack indices by the hash of their frames and label set.
    index: HashTable<u32>,
    /// Samples added, before merging.
    raw_samples: u64,
    /// Samples refused because their stack would have taken the table past [`MAX_FRAMES`].
    refused: u64,
}

impl StackTable {
    /// A table for samples with `n` values each.
    pub fn new(n: usize) -> Self {
        StackTable {
            frames: Vec::new(),
            starts: vec![0],
            labels: Vec::new(),
            values: Vec::new(),
            n,
            index: HashTable::new(),
            raw_samples: 0,
            refused: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn frames_of(&self, i: usize) -> &[FrameId] {
        &self.frames[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    fn values_of(&self, i: usize) -> &[i64] {
        &self.values[i * self.n..(i + 1) * self.n]
    }

    /// Gives back room reserved for records that merged into earlier stacks, when it is more
    /// than an eighth (a little is kept rather than copied: an allocation that keeps its size
    /// is reused by the next profile without fresh pages).
    fn shrink(&mut self) {
        fn shrink<T>(v: &mut Vec<T>) {
            if v.capacity() - v.len() > v.len() / 8 {
                v.shrink_to_fit();
            }
        }
        shrink(&mut self.frames);
        shrink(&mut self.starts);
        shrink(&mut self.labels);
        shrink(&mut self.values);
        self.index = HashTable::new();
    }

    pub fn reserve(&mut self, stacks: usize, frames: usize) {
        self.index.reserve(stacks, |_| 0);
        self.starts.reserve(stacks);
        self.labels.reserve(stacks);
        self.frames.reserve(frames);
        self.values.reserve(stacks * self.n);
    }

    /// Adds one recorded sample (`values` has `n` entries): a new stack, or its values added to
    /// the identical one already here.
    pub fn add(&mut self, frames: &[FrameId], labels: LabelSetId, values: &[i64]) {
        self.merge(frames, labels, values, 1);
    }

    /// A table from stacks decoded elsewhere: stack `i` is `frames[starts[i]..starts[i + 1]]`
    /// (`starts[0]` is 0) with label set `labels[i]` and values `values[i * n..(i + 1) * n]`.
    /// Stacks that look alike stay apart (queries sum them the same); the index is built if
    /// more samples are added.
    pub fn from_parts(
        n: usize,
        frames: Vec<FrameId>,
        mut starts: Vec<u32>,
        labels: Vec<LabelSetId>,
        values: Vec<i64>,
        raw_samples: u64,
    ) -> Self {
        let mut table = StackTable::new(n);
        if starts.is_empty() {
            starts.push(0);
        }
        let stacks = (starts.len() - 1)
            .min(labels.len())
            .min(values.len() / n.max(1));
        starts.truncate(stacks + 1);
        table.frames = frames;
        table.frames.truncate(starts[stacks] as usize);
        table.starts = starts;
        table.labels = labels;
        table.labels.truncate(stacks);
        table.values = values;
        table.values.truncate(stacks * n);
        table.raw_samples = raw_samples;
        table
    }

    /// The index by stack, built when a table made by [`StackTable::from_parts`] gets more
    /// samples.
    fn reindex(&mut self) {
        let (starts, all, set) = (&self.starts, &self.frames, &self.labels);
        let hash_of =
            |j: usize| stack_hash(&all[starts[j] as usize..starts[j + 1] as usize], set[j]);
        let mut index = HashTable::with_capacity(self.len());
        for i in 0..self.len() {
            index.insert_unique(hash_of(i), i as u32, |&j| hash_of(j as usize));
        }
        self.index = index;
    }

    fn merge(&mut self, frames: &[FrameId], labels: LabelSetId, values: &[i64], samples: u64) {
        debug_assert_eq!(values.len(), self.n);
        if self.index.len() != self.len() {
            self.reindex();
        }
        self.raw_samples += samples;
        let hash = stack_hash(frames, labels);
        let (starts, all, set) = (&self.starts, &self.frames, &self.labels);
        let same = |&i: &u32| {
            let i = i as usize;
            set[i] == labels && &all[starts[i] as usize..starts[i + 1] as usize] == frames
        };
        let index = match self.index.find(hash, same) {
            Some(&i) => i as usize,
            None if self.frames.len() + frames.len() > MAX_FRAMES => {
                self.refused += samples.max(1);
                return;
            }
            None => {
                let i = self.labels.len();
                self.frames.extend_from_slice(frames);
                self.starts.push(self.frames.len() as u32);
                self.labels.push(labels);
                self.values.extend(std::iter::repeat_n(0, self.n));
                let (starts, all, set) = (&self.starts, &self.frames, &self.labels);
                self.index.insert_unique(hash, i as u32, |&j| {
                    let j = j as usize;
                    stack_hash(&all[starts[j] as usize..starts[j + 1] as usize], set[j])
                });
                i
            }
        };
        for (slot, v) in self.values[index * self.n..(index + 1) * self.n]
            .iter_mut()
            .zip(values)
        {
            *slot = slot.saturating_add(*v);
        }
    }
}
