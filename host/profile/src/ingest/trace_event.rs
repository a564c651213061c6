//! Chrome's trace-event JSON
//! (<https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU>):
//! `{"traceEvents": [...]}` or a bare array of events, as the DevTools performance panel,
//! `chrome://tracing` and Perfetto's JSON export write them. Joule reads the CPU profile samples
//! V8 records into it, as speedscope's importer does (`src/import/chrome.ts`):
//!
//! - a `Profile` event starts a profile (`args.data.startTime`), keyed by its `id` (else by
//!   `pid:tid`); its thread is the event's `pid`/`tid`;
//! - `ProfileChunk` events with that `id` add `args.data.cpuProfile.nodes` (linked by `parent`),
//!   `cpuProfile.samples` and `timeDeltas`; the profiler thread writes them, so their own `tid`
//!   is not the profiled thread's. Newer Chrome versions add `lines` (and `columns`), the
//!   script position of each sample. They are not read: for code V8 inlined, that position is
//!   in the inlined callee, not in the node's function (in speedscope's Chrome 116 sample,
//!   `beta`'s samples sit at line 23, in the body of `gamma`), and the model's frame lines are
//!   lines of the frame's own function;
//! - a `CpuProfile` event holds a whole profile (`args.data.cpuProfile`, older Chrome).
//!
//! Events are taken in order of `ts` (stable), as speedscope sorts them. Each profile's samples
//! carry the labels `pid`, `tid` and, when a `thread_name` metadata event names the thread,
//! `thread`. Time is attributed as for a `.cpuprofile` (see [`super::chrome`]); duration events
//! (`B`/`E`/`X`) are not read.
//!
//! The events are streamed: only the arguments of the four event names above are parsed, the
//! rest is skipped without being kept. An array that ends after a whole event without its `]`
//! (which the format allows, for a trace whose writer was killed) is read with a warning.

use std::borrow::Cow;
use std::fmt;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::chrome::{CpuSamples, Node, SAMPLE_TYPES, add_samples};
use super::speedscope::{contains, json_first_byte, json_problem, strip_bom};
use super::{Problem, ReadOptions, Reader};
use crate::model::{Format, Label, LabelValue, Profile, ProfileBuilder};

pub struct TraceEvent;

impl Reader for TraceEvent {
    fn format(&self) -> Format {
        Format::TraceEvent
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let head = strip_bom(head);
        match json_first_byte(head) {
            Some(b'{') => contains(head, b"\"traceEvents\""),
            Some(b'[') => {
                // An array of objects with trace-event members.
                let start = head.iter().position(|&b| b == b'[').map_or(0, |i| i + 1);
                json_first_byte(&head[start..]) == Some(b'{')
                    && contains(head, b"\"ph\"")
                    && (contains(head, b"\"ts\"") || contains(head, b"\"pid\""))
            }
            _ => false,
        }
    }

    fn read(&self, data: &[u8], _options: &ReadOptions) -> Result<Profile, Problem> {
        let data = strip_bom(data);
        let collected = match collect(data) {
            Ok(c) => c,
            Err(e) if e.classify() == serde_json::error::Category::Eof => {
                // The array form may end without `]`: close it after the last whole event.
                let trimmed = data.trim_ascii_end();
                let trimmed = trimmed
                    .strip_suffix(b",")
                    .unwrap_or(trimmed)
                    .trim_ascii_end();
                if json_first_byte(data) == Some(b'[') && trimmed.ends_with(b"}") {
                    let mut closed = Vec::with_capacity(trimmed.len() + 1);
                    closed.extend_from_slice(trimmed);
                    closed.push(b']');
                    let mut c = collect(&closed).map_err(|_| json_problem(&e))?;
                    c.warnings.insert(
                        0,
                        "the trace ends without `]`; read up to its last event".into(),
                    );
                    c
                } else {
                    return Err(json_problem(&e));
                }
            }
            Err(e) => return Err(json_problem(&e)),
        };
        build(collected)
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming the events.

/// A `pid`, `tid`, `id` or `ts`: a number or a string, depending on the writer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Scalar {
    Int(i64),
    Text(String),
}

impl Scalar {
    fn as_f64(&self) -> f64 {
        match self {
            Scalar::Int(i) => *i as f64,
            Scalar::Text(t) => t.parse().unwrap_or(0.0),
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Text(t) => f.write_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(i64::try_from(v).map_or_else(|_| Scalar::Text(v.to_string()), Scalar::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(Scalar::Int(v as i64))
                } else {
                    Ok(Scalar::Text(v.to_string()))
                }
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One event, with its arguments left unparsed until its name says they are needed.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    pid: Option<Scalar>,
    tid: Option<Scalar>,
    ts: Option<Scalar>,
    id: Option<Scalar>,
    #[serde(borrow)]
    args: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Args<T> {
    data: Option<T>,
}

#[derive(Deserialize)]
struct NameArgs {
    name: Option<String>,
}

/// The `args.data` of `Profile`, `ProfileChunk` and `CpuProfile` events: the profile's members
/// at this level or in `cpuProfile`, as different Chrome versions put them.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    cpu_profile: Option<Box<Part>>,
    nodes: Option<Vec<Node>>,
    samples: Option<Vec<u32>>,
    time_deltas: Option<Vec<f64>>,
    start_time: Option<f64>,
    end_time: Option<f64>,
}

enum ItemKind {
    /// `Profile`: a profile starts.
    Start(Part),
    /// `ProfileChunk`: more of a started profile.
    Chunk(Part),
    /// `CpuProfile`: a whole profile.
    Whole(Part),
}

struct Item {
    ts: f64,
    /// The event's index in the trace.
    index: usize,
    pid: Scalar,
    tid: Scalar,
    id: Option<Scalar>,
    kind: ItemKind,
}

#[derive(Default)]
struct Collected {
    items: Vec<Item>,
    thread_names: FxHashMap<(Scalar, Scalar), String>,
    events: usize,
    warnings: Vec<String>,
    bad_args: usize,
    found_events: bool,
}

impl Collected {
    fn take(&mut self, index: usize, event: Event<'_>) {
        self.events += 1;
        let Some(name) = event.name.as_deref() else {
            return;
        };
        let unknown = || Scalar::Text(String::new());
        let pid = event.pid.unwrap_or_else(unknown);
        let tid = event.tid.unwrap_or_else(unknown);
        if name == "thread_name" {
            if let Some(args) = event.args
                && let Ok(NameArgs { name: Some(n) }) = serde_json::from_str(args.get())
            {
                self.thread_names.insert((pid, tid), n);
            }
            return;
        }
        let make: fn(Part) -> ItemKind = match name {
            "Profile" => ItemKind::Start,
            "ProfileChunk" => ItemKind::Chunk,
            "CpuProfile" => ItemKind::Whole,
            _ => return,
        };
        let part = match event.args {
            None => None,
            Some(args) => match serde_json::from_str::<Args<Part>>(args.get()) {
                Ok(args) => args.data,
                Err(e) => {
                    self.bad_args += 1;
                    if self.bad_args <= 5 {
                        self.warnings.push(format!(
                            "traceEvents[{index}] ({name}): args do not have the shape of a V8 \
                             profile ({e}); skipped"
                        ));
                    }
                    return;
                }
            },
        };
        // Some Chrome versions write chunks without data; speedscope skips them. A `Profile`
        // without data still starts a profile.
        let part = match part {
            Some(part) => part,
            None if name == "Profile" => Part::default(),
            None => return,
        };
        self.items.push(Item {
            ts: event.ts.map_or(0.0, |t| t.as_f64()),
            index,
            pid,
            tid,
            id: event.id,
            kind: make(part),
        });
    }
}

struct EventsSeed<'c>(&'c mut Collected);

impl<'de> DeserializeSeed<'de> for EventsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EventsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of trace events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.found_events = true;
        let mut index = 0usize;
        while let Some(event) = seq.next_element::<Event<'de>>()? {
            self.0.take(index, event);
            index += 1;
        }
        Ok(())
    }
}

/// The top level: the events, or an object with them in `traceEvents`.
struct Top<'c>(&'c mut Collected);

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of trace events or an object with `traceEvents`")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        EventsSeed(self.0).visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "traceEvents" {
                if self.0.found_events {
                    return Err(de::Error::custom("`traceEvents` appears twice"));
                }
                map.next_value_seed(EventsSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

fn collect(data: &[u8]) -> Result<Collected, serde_json::Error> {
    let mut collected = Collected::default();
    let mut de = serde_json::Deserializer::from_slice(data);
    de.deserialize_any(Top(&mut collected))?;
    de.end()?;
    Ok(collected)
}

// ---------------------------------------------------------------------------------------------
// Assembling the profiles.

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Id(Scalar),
    Thread(Scalar, Scalar),
}

struct Assembly {
    key: Key,
    pid: Scalar,
    tid: Scalar,
    samples: CpuSamples,
}

impl Assembly {
    fn new(key: Key, pid: Scalar, tid: Scalar) -> Self {
        Assembly {
            key,
            pid,
            tid,
            samples: CpuSamples::default(),
        }
    }

    /// Appends a part: its members at both levels.
    fn add(&mut self, part: Part) {
        let s = &mut self.samples;
        let mut next = Some(part);
        while let Some(part) = next {
            s.nodes.extend(part.nodes.into_iter().flatten());
            s.samples.extend(part.samples.into_iter().flatten());
            s.time_deltas.extend(part.time_deltas.into_iter().flatten());
            if part.start_time.is_some() {
                s.start_time = part.start_time;
            }
            if part.end_time.is_some() {
                s.end_time = part.end_time;
            }
            next = part.cpu_profile.map(|inner| *inner);
        }
    }
}

fn build(mut collected: Collected) -> Result<Profile, Problem> {
    if !collected.found_events {
        return Err(Problem::whole(
            "no `traceEvents` array: not a trace-event file",
        ));
    }
    collected
        .items
        .sort_by(|a, b| a.ts.total_cmp(&b.ts).then(a.index.cmp(&b.index)));
    let mut profiles: Vec<Assembly> = Vec::new();
    let mut by_key: FxHashMap<Key, usize> = FxHashMap::default();
    let (mut orphan_chunks, mut restarted) = (0usize, 0usize);
    for item in collected.items {
        let key = match &item.id {
            Some(id) => Key::Id(id.clone()),
            None => Key::Thread(item.pid.clone(), item.tid.clone()),
        };
        match item.kind {
            ItemKind::Start(part) | ItemKind::Whole(part) => {
                let mut assembly = Assembly::new(key.clone(), item.pid, item.tid);
                assembly.add(part);
                match by_key.get(&key) {
                    Some(&i) => {
                        restarted += 1;
                        profiles[i] = assembly;
                    }
                    None => {
                        by_key.insert(key, profiles.len());
                        profiles.push(assembly);
                    }
                }
            }
            ItemKind::Chunk(part) => match by_key.get(&key) {
                Some(&i) => profiles[i].add(part),
                None => orphan_chunks += 1,
            },
        }
    }

    let mut builder = ProfileBuilder::new(Format::TraceEvent);
    builder.set_sample_types(&SAMPLE_TYPES, 1);
    for w in collected.warnings {
        builder.warn(w);
    }
    if collected.bad_args > 5 {
        builder.warn(format!(
            "{} more events with args of the wrong shape skipped",
            collected.bad_args - 5
        ));
    }
    if orphan_chunks > 0 {
        builder.warn(format!(
            "{orphan_chunks} ProfileChunk events belong to no Profile event; skipped"
        ));
    }
    if restarted > 0 {
        builder.warn(format!(
            "{restarted} Profile events reuse the id of an earlier profile, which they replace"
        ));
    }
    let mut duration = 0u64;
    for assembly in &profiles {
        let mut labels = vec![
            label(&mut builder, "pid", &assembly.pid),
            label(&mut builder, "tid", &assembly.tid),
        ];
        if let Some(name) = collected
            .thread_names
            .get(&(assembly.pid.clone(), assembly.tid.clone()))
        {
            labels.push(builder.str_label("thread", name));
        }
        let labels = builder.label_set(&labels);
        let place = match &assembly.key {
            Key::Id(id) => format!(
                "profile {id} (pid {}, tid {}): ",
                assembly.pid, assembly.tid
            ),
            Key::Thread(pid, tid) => format!("profile of pid {pid}, tid {tid}: "),
        };
        let span = add_samples(&mut builder, &assembly.samples, labels, &place);
        if let Some(d) = assembly.samples.duration_nanos(span) {
            duration = duration.max(d);
        }
    }
    if !builder.has_samples() {
        return Err(Problem::whole(format!(
            "no CPU profile samples in the trace ({} events, {} profiles): Joule reads the \
             samples of `Profile`/`ProfileChunk` and `CpuProfile` events (record with the \
             JavaScript samples option on), not duration events",
            collected.events,
            profiles.len()
        )));
    }
    if duration > 0 {
        builder.set_duration_nanos(duration);
    }
    Ok(builder.finish())
}

/// `pid` or `tid` as a label: a number when it is one.
fn label(builder: &mut ProfileBuilder, key: &str, value: &Scalar) -> Label {
    match value {
        Scalar::Int(v) => Label {
            key: builder.intern(key),
            value: LabelValue::Num {
                value: *v,
                unit: builder.intern(""),
            },
        },
        Scalar::Text(t) => builder.str_label(key, t),
    }
}
