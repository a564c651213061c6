//! Queries over the canonical profile: flat and cumulative per function (like `pprof -top`),
//! callers and callees, per-line cost, and the value of the stacks touching a set of functions.
//!
//! Cumulative values count a function once per stack even when it recurses, so a recursive
//! function never exceeds 100% of the profile.

use std::cmp::Reverse;

use rustc_hash::FxHashMap;

use super::{FunctionId, Profile};

/// Per-function self and total values in one sample type, computed when first asked for:
/// memory is functions x the sample types actually queried, not x every declared type.
#[derive(Debug)]
pub(crate) struct FunctionTotals {
    self_values: Vec<i64>,
    total_values: Vec<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    BySelf,
    ByTotal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionStat {
    pub function: FunctionId,
    pub self_value: i64,
    pub total_value: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeStat {
    pub function: FunctionId,
    pub value: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineStat {
    pub line: u32,
    pub self_value: i64,
    pub total_value: i64,
}

/// Sums saturate: sample values come from files, and a file may hold values whose sum does not
/// fit in 64 bits.
fn add(sum: &mut i64, value: i64) {
    *sum = sum.saturating_add(value);
}

/// Marks which functions a walk has already counted for the current stack, without clearing
/// a set per stack.
struct Seen {
    stamp: Vec<u32>,
    generation: u32,
}

impl Seen {
    fn new(functions: usize) -> Self {
        Seen {
            stamp: vec![0; functions],
            generation: 0,
        }
    }

    fn next_stack(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.fill(0);
            self.generation = 1;
        }
    }

    /// True the first time `f` is seen on the current stack.
    fn first(&mut self, f: FunctionId) -> bool {
        let slot = &mut self.stamp[f as usize];
        if *slot == self.generation {
            false
        } else {
            *slot = self.generation;
            true
        }
    }
}

impl Profile {
    /// Resolves an optional sample-type index to a valid one.
    pub fn sample_type_or_default(&self, sample_type: Option<u32>) -> Option<usize> {
        match sample_type {
            None => (!self.sample_types.is_empty()).then_some(self.default_sample_type),
            Some(i) => ((i as usize) < self.sample_types.len()).then_some(i as usize),
        }
    }

    fn function_totals(&self, t: usize) -> &FunctionTotals {
        static EMPTY: FunctionTotals = FunctionTotals {
            self_values: Vec::new(),
            total_values: Vec::new(),
        };
        let Some(cell) = self.totals_cache.get(t) else {
            return &EMPTY;
        };
        cell.get_or_init(|| {
            let f = self.functions.len();
            let mut self_values = vec![0i64; f];
            let mut total_values = vec![0i64; f];
            let mut seen = Seen::new(f);
            for i in 0..self.stack_count() {
                let value = self.stack_values(i)[t];
                seen.next_stack();
                let mut leaf = true;
                for frame in self.frames_of(i) {
                    let func = frame.function as usize;
                    if leaf {
                        add(&mut self_values[func], value);
                        leaf = false;
                    }
                    if seen.first(frame.function) {
                        add(&mut total_values[func], value);
                    }
                }
            }
            FunctionTotals {
                self_values,
                total_values,
            }
        })
    }

    /// Self and total of one function in sample type `t` (an index already validated).
    pub fn function_stat(&self, function: FunctionId, t: usize) -> FunctionStat {
        let totals = self.function_totals(t);
        let f = function as usize;
        FunctionStat {
            function,
            self_value: totals.self_values.get(f).copied().unwrap_or(0),
            total_value: totals.total_values.get(f).copied().unwrap_or(0),
        }
    }

    /// The functions with the largest self (or total) value in sample type `t`, ties broken by
    /// name so the order is stable. Functions with a zero value are left out. `keep` filters
    /// functions (by id) before ranking.
    pub fn top(
        &self,
        t: usize,
        order: Order,
        limit: usize,
        keep: impl Fn(FunctionId) -> bool,
    ) -> Vec<FunctionStat> {
        let totals = self.function_totals(t);
        if totals.self_values.len() != self.functions.len() {
            return Vec::new();
        }
        let (primary, secondary) = match order {
            Order::BySelf => (&totals.self_values, &totals.total_values),
            Order::ByTotal => (&totals.total_values, &totals.self_values),
        };
        // Every function on a stack, as `pprof -top` lists them (a caller with no flat time of
        // its own too), by magnitude: a difference profile's values may be negative.
        let mut ids: Vec<FunctionId> = (0..self.functions.len() as FunctionId)
            .filter(|&f| (primary[f as usize] != 0 || secondary[f as usize] != 0) && keep(f))
            .collect();
        ids.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            Reverse(primary[a].unsigned_abs())
                .cmp(&Reverse(primary[b].unsigned_abs()))
                .then(
                    Reverse(secondary[a].unsigned_abs()).cmp(&Reverse(secondary[b].unsigned_abs())),
                )
                .then_with(|| {
                    self.function_name(a as u32)
                        .cmp(self.function_name(b as u32))
                })
        });
        ids.truncate(limit);
        ids.into_iter().map(|f| self.function_stat(f, t)).collect()
    }

    /// True when stack `i` contains one of `functions` (a membership mask over function ids).
    fn stack_touches(&self, i: usize, mask: &[bool]) -> bool {
        self.frames_of(i)
            .any(|frame| mask.get(frame.function as usize).copied().unwrap_or(false))
    }

    /// A membership mask over function ids.
    pub fn function_mask(&self, functions: &[FunctionId]) -> Vec<bool> {
        let mut mask = vec![false; self.functions.len()];
        for &f in functions {
            if let Some(slot) = mask.get_mut(f as usize) {
                *slot = true;
            }
        }
        mask
    }

    /// The summed value, in sample type `t`, of the stacks containing any of `functions`.
    pub fn total_of(&self, functions: &[FunctionId], t: usize) -> i64 {
        let mask = self.function_mask(functions);
        (0..self.stack_count())
            .filter(|&i| self.stack_touches(i, &mask))
            .map(|i| self.stack_values(i)[t])
            .fold(0, i64::saturating_add)
    }

    /// Indices of the stacks containing any of `functions` (all when empty).
    pub fn stacks_containing(&self, functions: &[FunctionId]) -> Vec<u32> {
        if functions.is_empty() {
            return (0..self.stack_count() as u32).collect();
        }
        let mask = self.function_mask(functions);
        (0..self.stack_count())
            .filter(|&i| self.stack_touches(i, &mask))
            .map(|i| i as u32)
            .collect()
    }

    /// Direct callers (`callers = true`) or callees of `function`, largest first.
    pub fn neighbours(
        &self,
        function: FunctionId,
        t: usize,
        callers: bool,
        limit: usize,
    ) -> Vec<EdgeStat> {
        let mut sums: FxHashMap<FunctionId, i64> = FxHashMap::default();
        let mut seen = Seen::new(self.functions.len());
        let mut frames: Vec<FunctionId> = Vec::new();
        for i in 0..self.stack_count() {
            frames.clear();
            frames.extend(self.frames_of(i).map(|f| f.function));
            if !frames.contains(&function) {
                continue;
            }
            seen.next_stack();
            let value = self.stack_values(i)[t];
            // `frames` is leaf first: the caller of frames[k] is frames[k + 1].
            for k in 0..frames.len() {
                if frames[k] != function {
                    continue;
                }
                let neighbour = if callers {
                    frames.get(k + 1)
                } else {
                    k.checked_sub(1).map(|j| &frames[j])
                };
                if let Some(&n) = neighbour
                    && seen.first(n)
                {
                    add(sums.entry(n).or_default(), value);
                }
            }
        }
        let mut edges: Vec<EdgeStat> = sums
            .into_iter()
            .filter(|&(_, value)| value != 0)
            .map(|(function, value)| EdgeStat { function, value })
            .collect();
        edges.sort_by(|a, b| {
            Reverse(a.value).cmp(&Reverse(b.value)).then_with(|| {
                self.function_name(a.function)
                    .cmp(self.function_name(b.function))
            })
        });
        edges.truncate(limit);
        edges
    }

    /// Per-line self and total of `function`: self from stacks whose leaf frame is in it, total
    /// from its leaf-most frame in every stack that contains it. Largest total first.
    pub fn lines(&self, function: FunctionId, t: usize, limit: usize) -> Vec<LineStat> {
        let mut per_line: FxHashMap<u32, (i64, i64)> = FxHashMap::default();
        for i in 0..self.stack_count() {
            let value = self.stack_values(i)[t];
            for (depth, frame) in self.frames_of(i).enumerate() {
                if frame.function == function {
                    let slot = per_line.entry(frame.line).or_default();
                    if depth == 0 {
                        add(&mut slot.0, value);
                    }
                    add(&mut slot.1, value);
                    break;
                }
            }
        }
        let mut lines: Vec<LineStat> = per_line
            .into_iter()
            .filter(|&(_, (_, total))| total != 0)
            .map(|(line, (self_value, total_value))| LineStat {
                line,
                self_value,
                total_value,
            })
            .collect();
        lines.sort_by_key(|l| (Reverse(l.total_value), l.line));
        lines.truncate(limit);
        lines
    }
}

/// A call-tree node (see [`Profile::subtree`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subtree {
    pub total_value: i64,
    pub self_value: i64,
    pub children: Vec<EdgeStat>,
}

impl Profile {
    /// The node at call path `path` (function ids, root first) in sample type `t`: the samples
    /// whose stack starts with the path, those that end there, and the next frames below.
    pub fn subtree(&self, path: &[FunctionId], t: usize, limit: usize) -> Subtree {
        let mut node = Subtree {
            total_value: 0,
            self_value: 0,
            children: Vec::new(),
        };
        let mut children: FxHashMap<FunctionId, i64> = FxHashMap::default();
        for i in 0..self.stack_count() {
            let stack = self.stack(i);
            if stack.len() < path.len() {
                continue;
            }
            // Root first: the stack is stored leaf first.
            let matches = stack
                .iter()
                .rev()
                .zip(path)
                .all(|(&frame, &f)| self.frames[frame as usize].function == f);
            if !matches {
                continue;
            }
            let value = self.stack_values(i)[t];
            add(&mut node.total_value, value);
            match stack.len().checked_sub(path.len() + 1) {
                Some(k) => add(
                    children
                        .entry(self.frames[stack[k] as usize].function)
                        .or_default(),
                    value,
                ),
                None => add(&mut node.self_value, value),
            }
        }
        node.children = children
            .into_iter()
            .filter(|&(_, v)| v != 0)
            .map(|(function, value)| EdgeStat { function, value })
            .collect();
        node.children.sort_by(|a, b| {
            Reverse(a.value).cmp(&Reverse(b.value)).then_with(|| {
                self.function_name(a.function)
                    .cmp(self.function_name(b.function))
            })
        });
        node.children.truncate(limit);
        node
    }

    /// The text of a label's value (numbers in decimal).
    pub fn label_value_text(&self, value: super::LabelValue) -> String {
        match value {
            super::LabelValue::Str(s) => self.str(s).to_string(),
            super::LabelValue::Num { value, .. } => value.to_string(),
        }
    }

    /// Every (key, value) label pair with the total of its stacks in sample type `t`, largest
    /// first.
    pub fn label_totals(&self, t: usize) -> Vec<(String, String, i64)> {
        let mut totals: FxHashMap<(u32, super::LabelValue), i64> = FxHashMap::default();
        for i in 0..self.stack_count() {
            let value = self.stack_values(i)[t];
            for label in self.labels_of(i) {
                add(totals.entry((label.key, label.value)).or_default(), value);
            }
        }
        let mut out: Vec<(String, String, i64)> = totals
            .into_iter()
            .map(|((key, value), total)| {
                (
                    self.str(key).to_string(),
                    self.label_value_text(value),
                    total,
                )
            })
            .collect();
        out.sort_by(|a, b| {
            Reverse(a.2)
                .cmp(&Reverse(b.2))
                .then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1)))
        });
        out
    }

    /// True when stack `i` has every (key, optional value) label given.
    pub fn stack_has_labels(&self, i: usize, wanted: &[(String, Option<String>)]) -> bool {
        let labels = self.labels_of(i);
        wanted.iter().all(|(key, value)| {
            labels.iter().any(|l| {
                self.str(l.key) == key
                    && value
                        .as_deref()
                        .is_none_or(|v| self.label_value_text(l.value) == v)
            })
        })
    }
}
