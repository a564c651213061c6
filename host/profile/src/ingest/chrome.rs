//! Chrome DevTools / V8 CPU profiles: the `.cpuprofile` files DevTools and Node
//! (`--cpu-prof`, `inspector`) save, as the DevTools protocol's `Profiler.Profile`
//! (<https://chromedevtools.github.io/devtools-protocol/tot/Profiler/#type-Profile>): `nodes`
//! (a call tree: `id`, `callFrame`, `children` or `parent`), `samples` (the node sampled, in
//! order), `timeDeltas` (microseconds before each sample; the first from `startTime`). Also the
//! older tree-shaped form of V8's C++ API (`head` with nested `children`, absolute `timestamps`,
//! `startTime` in seconds), still written by v8-profiler-node8.
//!
//! The stack of a sample is its node's path to the root, without the `(root)` node. `(program)`,
//! `(idle)` and `(garbage collector)` stay as the root-level stacks V8 records them as (DevTools
//! shows them so; speedscope leaves `(idle)` out and puts the other two on top of the previous
//! sample's stack).
//!
//! Time is attributed as speedscope's importer does (`src/import/chrome.ts`): a run of samples
//! on the same node lasts from its first sample's time to the next run's first sample's time,
//! times that go back (negative deltas) are held at the latest time seen at a run boundary, and
//! the last run ends at the last sample's time. So each sample weighs the delta that follows
//! it, and the last sample weighs nothing. Sample types: `samples/count` and
//! `wall/nanoseconds` (V8 samples on a wall-clock timer, idle or not), the default.
//!
//! A call frame becomes a function (`functionName`, or `(anonymous)` when empty, as DevTools
//! shows it; file = `url`; start line = `lineNumber + 1`, since V8 counts from 0). The columns
//! that tell apart several functions on one line of minified code have no place in the model.
//!
//! [`add_samples`] is shared with the trace-event reader, whose `ProfileChunk` events carry the
//! same nodes and samples in pieces.

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::speedscope::{SCHEMA, contains, json_first_byte, json_problem, strip_bom};
use super::{Problem, ReadOptions, Reader};
use crate::model::{Format, FrameId, LabelSetId, Profile, ProfileBuilder};

pub struct ChromeCpuProfile;

/// Sample types of the V8 readers; the second is the default.
pub(super) const SAMPLE_TYPES: [(&str, &str); 2] = [("samples", "count"), ("wall", "nanoseconds")];

impl Reader for ChromeCpuProfile {
    fn format(&self) -> Format {
        Format::ChromeCpuProfile
    }

    fn sniff(&self, head: &[u8]) -> bool {
        json_first_byte(head) == Some(b'{')
            && !contains(head, b"\"traceEvents\"")
            && !contains(head, SCHEMA.as_bytes())
            && ((contains(head, b"\"nodes\"") && contains(head, b"\"callFrame\""))
                || (contains(head, b"\"head\"") && contains(head, b"\"functionName\"")))
    }

    fn read(&self, data: &[u8], _options: &ReadOptions) -> Result<Profile, Problem> {
        let file: CpuProfileFile =
            serde_json::from_slice(strip_bom(data)).map_err(|e| cpuprofile_problem(&e))?;
        let samples = file.into_samples()?;
        let mut builder = ProfileBuilder::new(Format::ChromeCpuProfile);
        builder.set_sample_types(&SAMPLE_TYPES, 1);
        let span = add_samples(&mut builder, &samples, 0, "");
        if !builder.has_samples() {
            return Err(Problem::whole(format!(
                "the profile has no samples ({} nodes, {} samples)",
                samples.nodes.len(),
                samples.samples.len()
            )));
        }
        if let Some(d) = samples.duration_nanos(span) {
            builder.set_duration_nanos(d);
        }
        Ok(builder.finish())
    }
}

/// serde_json's error, with a hint when the old tree-shaped format nests deeper than serde_json
/// reads (each frame is two levels: a node and its `children`).
fn cpuprofile_problem(e: &serde_json::Error) -> Problem {
    if e.line() > 0 && e.to_string().contains("recursion limit exceeded") {
        return Problem::at_line(
            e.line(),
            format!(
                "column {}: the JSON nests too deeply (the old tree-shaped .cpuprofile nests two \
                 levels per frame; stacks deeper than about 60 frames cannot be read in it)",
                e.column()
            ),
        );
    }
    json_problem(e)
}

// ---------------------------------------------------------------------------------------------
// The JSON, as serde reads it.

/// One node of the call tree (`Profiler.ProfileNode`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Node {
    pub id: u32,
    #[serde(default)]
    pub call_frame: CallFrame,
    pub children: Option<Vec<u32>>,
    pub parent: Option<u32>,
}

/// `Runtime.CallFrame`. Lines and columns count from 0; -1 when unknown.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CallFrame {
    pub function_name: Option<String>,
    pub url: Option<String>,
    pub line_number: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CpuProfileFile {
    nodes: Option<Vec<Node>>,
    head: Option<OldNode>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    samples: Option<Vec<u32>>,
    time_deltas: Option<Vec<f64>>,
    timestamps: Option<Vec<f64>>,
}

/// A node of the old tree-shaped format: the call frame's members inline, children nested.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OldNode {
    id: u32,
    function_name: Option<String>,
    url: Option<String>,
    line_number: Option<f64>,
    #[serde(default)]
    children: Vec<OldNode>,
}

impl CpuProfileFile {
    fn into_samples(self) -> Result<CpuSamples, Problem> {
        let samples = self.samples.unwrap_or_default();
        if let Some(nodes) = self.nodes {
            let time_deltas = self.time_deltas.unwrap_or_default();
            return Ok(CpuSamples {
                nodes,
                samples,
                time_deltas,
                start_time: self.start_time,
                end_time: self.end_time,
            });
        }
        let Some(head) = self.head else {
            return Err(Problem::whole(
                "neither `nodes` nor `head`: not a V8 CPU profile",
            ));
        };
        // The old format: times in seconds, absolute sample timestamps in microseconds.
        let start = self.start_time.map(|s| s * 1e6);
        let timestamps = self.timestamps.unwrap_or_default();
        let mut time_deltas = Vec::with_capacity(timestamps.len());
        let mut previous = start.unwrap_or_else(|| timestamps.first().copied().unwrap_or(0.0));
        for &t in &timestamps {
            time_deltas.push(t - previous);
            previous = t;
        }
        let mut nodes = Vec::new();
        let mut pending = vec![(head, None)];
        while let Some((node, parent)) = pending.pop() {
            let id = node.id;
            nodes.push(Node {
                id,
                call_frame: CallFrame {
                    function_name: node.function_name,
                    url: node.url,
                    line_number: node.line_number,
                },
                children: None,
                parent,
            });
            pending.extend(node.children.into_iter().rev().map(|c| (c, Some(id))));
        }
        Ok(CpuSamples {
            nodes,
            samples,
            time_deltas,
            start_time: start,
            end_time: self.end_time.map(|e| e * 1e6),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Into the model.

/// One V8 CPU profile, whole: from a `.cpuprofile`, or assembled from a trace's chunks.
#[derive(Default)]
pub(super) struct CpuSamples {
    pub nodes: Vec<Node>,
    /// Node ids, one per sample.
    pub samples: Vec<u32>,
    /// Microseconds before each sample.
    pub time_deltas: Vec<f64>,
    /// Microseconds.
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
}

impl CpuSamples {
    /// `endTime - startTime`, else the time from the first sample to the last (`span`, from
    /// [`add_samples`]).
    pub fn duration_nanos(&self, span: i64) -> Option<u64> {
        if let (Some(start), Some(end)) = (self.start_time, self.end_time)
            && end > start
        {
            return Some(micros_to_nanos(end - start) as u64);
        }
        (span > 0).then_some(span as u64)
    }
}

fn micros_to_nanos(us: f64) -> i64 {
    // `as` saturates, and NaN (which JSON cannot spell) would become 0.
    (us * 1e3).round() as i64
}

const NO_NODE: u32 = u32::MAX;

enum Path {
    Unknown,
    /// Parent links that loop.
    Cyclic,
    /// `start..end` in the paths buffer, leaf first.
    At(usize, usize),
}

/// Adds every sample of `data` to `builder` (whose sample types are [`SAMPLE_TYPES`]) with
/// `labels`; problems become warnings prefixed with `place`. Returns the time from the first
/// sample to the last, in nanoseconds.
pub(super) fn add_samples(
    builder: &mut ProfileBuilder,
    data: &CpuSamples,
    labels: LabelSetId,
    place: &str,
) -> i64 {
    let nodes = &data.nodes;
    let n = nodes.len();
    let mut index: FxHashMap<u32, u32> = FxHashMap::default();
    index.reserve(n);
    let mut repeated_ids = 0usize;
    for (i, node) in nodes.iter().enumerate() {
        match index.entry(node.id) {
            Entry::Occupied(_) => repeated_ids += 1,
            Entry::Vacant(slot) => {
                slot.insert(i as u32);
            }
        }
    }
    // Parent links, from `parent` (trace chunks) and from `children` (.cpuprofile).
    let mut parent = vec![NO_NODE; n];
    let (mut dangling, mut two_parents) = (0usize, 0usize);
    for (i, node) in nodes.iter().enumerate() {
        if let Some(p) = node.parent {
            match index.get(&p) {
                Some(&p) => parent[i] = p,
                None => dangling += 1,
            }
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        for child in node.children.iter().flatten() {
            match index.get(child) {
                Some(&c) if parent[c as usize] == NO_NODE => parent[c as usize] = i as u32,
                Some(&c) if parent[c as usize] != i as u32 => two_parents += 1,
                Some(_) => {}
                None => dangling += 1,
            }
        }
    }

    let (weights, span) = sample_weights(data, place, builder);

    let mut node_frames: Vec<Option<FrameId>> = vec![None; n];
    let mut paths_of: Vec<Path> = (0..n).map(|_| Path::Unknown).collect();
    let mut paths: Vec<FrameId> = Vec::new();
    let (mut unknown_nodes, mut cyclic, mut root_only) = (0usize, 0usize, 0usize);
    let mut values = [1i64, 0];
    for (i, &id) in data.samples.iter().enumerate() {
        let Some(&node) = index.get(&id) else {
            unknown_nodes += 1;
            continue;
        };
        let node = node as usize;
        if let Path::Unknown = paths_of[node] {
            paths_of[node] = node_path(builder, nodes, &parent, node, &mut node_frames, &mut paths);
        }
        let Path::At(start, end) = paths_of[node] else {
            cyclic += 1;
            continue;
        };
        if start == end {
            root_only += 1;
            continue;
        }
        values[1] = weights[i];
        builder.add_labeled_sample(&paths[start..end], labels, &values);
    }

    let mut warn = |count: usize, what: &str| {
        if count > 0 {
            builder.warn(format!("{place}{count} {what}"));
        }
    };
    warn(
        repeated_ids,
        "nodes repeat the id of an earlier node; the first node with an id is kept",
    );
    warn(
        dangling,
        "parent or child links name nodes the profile does not define; ignored",
    );
    warn(
        two_parents,
        "nodes are the child of two nodes; the first parent is kept",
    );
    warn(
        unknown_nodes,
        "samples name nodes the profile does not define; left out",
    );
    warn(
        cyclic,
        "samples are of nodes whose parent links form a cycle; left out",
    );
    warn(root_only, "samples are of the (root) node itself; left out");
    span
}

/// The weight of each sample in nanoseconds, as speedscope attributes time (see the module
/// documentation), and the time from the first sample to the last. A run is a stretch of
/// samples of one node; its whole weight goes to its first sample, which changes nothing once
/// samples with equal stacks are merged.
fn sample_weights(data: &CpuSamples, place: &str, builder: &mut ProfileBuilder) -> (Vec<i64>, i64) {
    let count = data.samples.len();
    let mut weights = vec![0i64; count];
    if count == 0 {
        return (weights, 0);
    }
    if data.time_deltas.len() < count {
        builder.warn(format!(
            "{place}{count} samples but {} timeDeltas; the missing deltas count as 0",
            data.time_deltas.len()
        ));
    }
    let delta = |i: usize| data.time_deltas.get(i).map_or(0, |&d| micros_to_nanos(d));
    let mut elapsed = delta(0);
    let mut latest = elapsed;
    let mut held = |t: i64| {
        if t < latest {
            latest
        } else {
            latest = t;
            t
        }
    };
    let first = held(elapsed);
    let (mut run_start, mut run_time) = (0usize, first);
    for i in 1..count {
        elapsed = elapsed.saturating_add(delta(i));
        if data.samples[i] != data.samples[i - 1] {
            let t = held(elapsed);
            weights[run_start] = t.saturating_sub(run_time);
            (run_start, run_time) = (i, t);
        }
    }
    let end = held(elapsed);
    weights[run_start] = end.saturating_sub(run_time);
    (weights, end.saturating_sub(first))
}

/// The frames of `node`'s path to the root, leaf first, appended to `paths`.
fn node_path(
    builder: &mut ProfileBuilder,
    nodes: &[Node],
    parent: &[u32],
    node: usize,
    node_frames: &mut [Option<FrameId>],
    paths: &mut Vec<FrameId>,
) -> Path {
    let start = paths.len();
    let mut current = node as u32;
    let mut steps = 0usize;
    while current != NO_NODE {
        steps += 1;
        if steps > nodes.len() {
            paths.truncate(start);
            return Path::Cyclic;
        }
        let c = current as usize;
        let call_frame = &nodes[c].call_frame;
        let up = parent[c];
        let is_root = up == NO_NODE && call_frame.function_name.as_deref() == Some("(root)");
        if !is_root {
            let frame = *node_frames[c].get_or_insert_with(|| {
                let name = match call_frame.function_name.as_deref() {
                    None | Some("") => "(anonymous)",
                    Some(name) => name,
                };
                let url = call_frame.url.as_deref().unwrap_or("");
                let start_line = call_frame
                    .line_number
                    .filter(|l| l.is_finite() && *l >= 0.0 && *l < f64::from(u32::MAX))
                    .map_or(0, |l| l as u32 + 1);
                let function = builder.function_in(name, name, url, start_line, "");
                builder.frame(function, 0)
            });
            paths.push(frame);
        }
        current = up;
    }
    Path::At(start, paths.len())
}
