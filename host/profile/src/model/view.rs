//! Views of a profile narrowed to some of its stacks (a label filter, a label grant), holding
//! only the functions, frames, strings and label sets those stacks use: a view reveals nothing
//! of the samples it leaves out, and costs memory in proportion to what it keeps.

use super::{Frame, FrameId, Function, FunctionId, Label, LabelSetId, LabelValue, Profile};
use super::{StrId, Strings, ValueType};

/// Old id -> new id for one table, filled on first use.
struct Remap {
    new: Vec<u32>,
    count: u32,
}

impl Remap {
    const UNSEEN: u32 = u32::MAX;

    fn new(len: usize) -> Self {
        Remap {
            new: vec![Self::UNSEEN; len],
            count: 0,
        }
    }

    /// The new id of `old`, and whether it was seen for the first time.
    fn map(&mut self, old: u32) -> (u32, bool) {
        match self.new.get(old as usize).copied() {
            Some(Self::UNSEEN) => {
                let id = self.count;
                self.new[old as usize] = id;
                self.count += 1;
                (id, true)
            }
            Some(id) => (id, false),
            // Ids come from the profile's own tables; out of range cannot happen, but a view
            // must not panic over it.
            None => (0, false),
        }
    }
}

/// Strings of the view, copied on first use; id 0 stays the empty string.
struct StringCopier<'a> {
    from: &'a Strings,
    remap: Remap,
    to: Strings,
}

impl StringCopier<'_> {
    fn map(&mut self, old: StrId) -> StrId {
        let (id, first) = self.remap.map(old);
        if first {
            self.to.push(self.from.get(old));
        }
        id
    }
}

impl Profile {
    /// A profile of only the stacks `keep` accepts, with its own compact tables (ids differ
    /// from `self`'s). `raw_sample_count` becomes the number of stacks kept: the samples merged
    /// into them are not known one by one.
    pub fn retain_stacks(&self, keep: impl Fn(usize) -> bool) -> Profile {
        let n = self.sample_types.len();
        let mut strings = StringCopier {
            from: &self.strings,
            remap: Remap::new(self.strings.len()),
            to: Strings::with_capacity(64, 1024),
        };
        strings.map(0);
        let mut frame_ids = Remap::new(self.frames.len());
        let mut function_ids = Remap::new(self.functions.len());
        let mut set_ids = Remap::new(self.label_sets.len());
        let (mut frames, mut functions, mut label_sets) = (Vec::new(), Vec::new(), Vec::new());
        // Set 0 is the empty set in every profile.
        set_ids.map(0);
        label_sets.push(Vec::new());

        let mut stack_frames = Vec::new();
        let mut stack_starts = vec![0u32];
        let mut stack_labels = Vec::new();
        let mut values = Vec::new();
        for i in (0..self.stack_count()).filter(|&i| keep(i)) {
            for &old in self.stack(i) {
                let (frame_id, first) = frame_ids.map(old);
                if first {
                    let frame = self.frames.get(old as usize).copied().unwrap_or(Frame {
                        function: 0,
                        line: 0,
                    });
                    let (function, first_use) = function_ids.map(frame.function);
                    if first_use {
                        let f = self.functions.get(frame.function as usize).cloned();
                        let f = f.unwrap_or(Function {
                            name: 0,
                            system_name: 0,
                            file: 0,
                            start_line: 0,
                            module: 0,
                        });
                        functions.push(Function {
                            name: strings.map(f.name),
                            system_name: strings.map(f.system_name),
                            file: strings.map(f.file),
                            start_line: f.start_line,
                            module: strings.map(f.module),
                        });
                    }
                    frames.push(Frame {
                        function: function as FunctionId,
                        line: frame.line,
                    });
                }
                stack_frames.push(frame_id as FrameId);
            }
            stack_starts.push(stack_frames.len() as u32);
            let old_set = self.stack_labels.get(i).copied().unwrap_or(0);
            let (set, first) = set_ids.map(old_set);
            if first {
                let labels = self.label_sets.get(old_set as usize).map_or(&[][..], |l| l);
                label_sets.push(
                    labels
                        .iter()
                        .map(|l| Label {
                            key: strings.map(l.key),
                            value: match l.value {
                                LabelValue::Str(v) => LabelValue::Str(strings.map(v)),
                                LabelValue::Num { value, unit } => LabelValue::Num {
                                    value,
                                    unit: strings.map(unit),
                                },
                            },
                        })
                        .collect(),
                );
            }
            stack_labels.push(set as LabelSetId);
            values.extend_from_slice(&self.values[i * n..(i + 1) * n]);
        }
        let mut value_type = |t: &ValueType| ValueType {
            name: strings.map(t.name),
            unit: strings.map(t.unit),
        };
        let sample_types: Vec<ValueType> = self.sample_types.iter().map(&mut value_type).collect();
        let period_type = self.period_type.as_ref().map(&mut value_type);
        let comments = self.comments.iter().map(|&c| strings.map(c)).collect();
        let kept = stack_labels.len() as u64;
        Profile {
            strings: strings.to,
            functions,
            frames,
            stack_frames,
            stack_starts,
            stack_labels,
            label_sets,
            values,
            sample_types,
            default_sample_type: self.default_sample_type,
            raw_sample_count: kept,
            refused_samples: 0,
            duration_nanos: self.duration_nanos,
            time_nanos: self.time_nanos,
            period: self.period,
            period_type,
            comments,
            format: self.format,
            warnings: Vec::new(),
            totals_cache: super::totals_cells(n),
            name_index: Default::default(),
        }
    }

    /// Bytes the profile's tables take on the heap, roughly: what a view costs the host.
    pub fn heap_bytes(&self) -> u64 {
        use std::mem::size_of;
        let labels: usize = self.label_sets.iter().map(Vec::len).sum();
        (self.strings.heap_bytes()
            + self.functions.len() * size_of::<Function>()
            + self.frames.len() * size_of::<Frame>()
            + self.stack_frames.len() * size_of::<FrameId>()
            + self.stack_starts.len() * 4
            + self.stack_labels.len() * size_of::<LabelSetId>()
            + labels * size_of::<Label>()
            + self.label_sets.len() * size_of::<Vec<Label>>()
            + self.values.len() * 8) as u64
    }
}
