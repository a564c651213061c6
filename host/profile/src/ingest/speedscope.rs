//! speedscope's JSON file format, versions 0.0.1 to 0.6.0
//! (<https://github.com/jlfwong/speedscope/blob/main/src/lib/file-format-spec.ts>): frames
//! shared by every profile (`shared.frames`), then `profiles`, each `sampled` (stacks of frame
//! indices, root first, with one weight each) or `evented` (frames opened and closed `at` a
//! value; the span between two events goes to the stack open during it, as speedscope's own
//! importer attributes it).
//!
//! One Joule profile holds every speedscope profile of a file. The samples of each carry the
//! label `profile=<name>` (names made unique with ` #<index>`), so threads can be filtered
//! apart. Sample types: `samples/count` (a sampled profile's samples; an evented profile's spans
//! between events), then one per kind of unit in the file: `wall/nanoseconds` (every time unit,
//! converted), `space/bytes`, `weight/count` (unit `none`). The default is the type of the
//! profile `activeProfileIndex` names.
//!
//! A speedscope frame becomes a function (name, file) and a frame of it at `line`: writers use
//! `line` both for the first line of a function (speedscope's Chrome importer) and for the line
//! executing (py-spy, rbspy), so it is kept per frame, not as the function's start. `col` has
//! no place in the model and is dropped.
//!
//! Errors name their place: serde_json's line and column for JSON that does not parse or does
//! not have the format's shape, the JSON path (`profiles[0].events[6]`) for a file that breaks
//! the format's rules (a close event that does not match the open frame, time going back).

use std::fmt;

use rustc_hash::FxHashSet;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::{Problem, ReadOptions, Reader};
use crate::model::{Format, FrameId, LabelSetId, Profile, ProfileBuilder};

/// The `$schema` every speedscope file declares.
pub const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

pub struct Speedscope;

impl Reader for Speedscope {
    fn format(&self) -> Format {
        Format::Speedscope
    }

    fn sniff(&self, head: &[u8]) -> bool {
        // The `$schema` URL (written first by speedscope, py-spy, rbspy and most others), or
        // the two members every file has.
        json_first_byte(head) == Some(b'{')
            && (contains(head, b"speedscope.app/file-format-schema")
                || (contains(head, b"\"shared\"") && contains(head, b"\"profiles\"")))
    }

    fn read(&self, data: &[u8], _options: &ReadOptions) -> Result<Profile, Problem> {
        let file: File = serde_json::from_slice(strip_bom(data)).map_err(|e| json_problem(&e))?;
        convert(file)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the JSON readers.

/// A problem for a serde_json error: its line, with the column and the message.
pub(super) fn json_problem(e: &serde_json::Error) -> Problem {
    let text = e.to_string();
    if e.line() == 0 {
        return Problem::whole(text);
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    let what = match e.classify() {
        serde_json::error::Category::Syntax => "malformed JSON: ",
        serde_json::error::Category::Eof => "truncated JSON: ",
        _ => "",
    };
    Problem::at_line(e.line(), format!("column {}: {what}{message}", e.column()))
}

/// `data` without a UTF-8 byte-order mark (serde_json refuses one).
pub(super) fn strip_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data)
}

/// The first byte of a JSON text after a byte-order mark and whitespace.
pub(super) fn json_first_byte(head: &[u8]) -> Option<u8> {
    strip_bom(head)
        .iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

pub(super) fn contains(head: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(head, needle).is_some()
}

// ---------------------------------------------------------------------------------------------
// The file, as serde reads it. Members are optional where the readers can say better what is
// missing than serde would; unknown members are ignored.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    shared: Option<Shared>,
    profiles: Option<Vec<SpeedscopeProfile>>,
    name: Option<String>,
    active_profile_index: Option<f64>,
    exporter: Option<String>,
}

#[derive(Deserialize)]
struct Shared {
    #[serde(default)]
    frames: Vec<SpeedscopeFrame>,
}

#[derive(Deserialize)]
struct SpeedscopeFrame {
    name: Option<String>,
    file: Option<String>,
    line: Option<f64>,
}

/// Both profile types in one struct: serde's tagged enums buffer the whole profile before
/// choosing a variant, which doubles the memory of a large one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpeedscopeProfile {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    unit: Option<String>,
    start_value: Option<f64>,
    end_value: Option<f64>,
    events: Option<Vec<Event>>,
    samples: Option<Stacks>,
    weights: Option<Vec<f64>>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: EventKind,
    frame: u64,
    at: f64,
}

#[derive(Clone, Copy, Deserialize)]
enum EventKind {
    O,
    C,
}

/// A sampled profile's stacks, stored end to end (one allocation, 4 bytes a frame) instead of
/// one vector per sample.
#[derive(Default)]
struct Stacks {
    frames: Vec<u32>,
    /// Stack `i` is `frames[ends[i - 1]..ends[i]]`.
    ends: Vec<usize>,
}

impl Stacks {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.frames[start..self.ends[i]]
    }
}

impl<'de> Deserialize<'de> for Stacks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Outer;
        impl<'de> Visitor<'de> for Outer {
            type Value = Stacks;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of stacks (arrays of frame indices)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Stacks, A::Error> {
                let mut stacks = Stacks::default();
                while let Some(()) = seq.next_element_seed(Inner(&mut stacks.frames))? {
                    stacks.ends.push(stacks.frames.len());
                }
                Ok(stacks)
            }
        }
        struct Inner<'a>(&'a mut Vec<u32>);
        impl<'de> DeserializeSeed<'de> for Inner<'_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_seq(self)
            }
        }
        impl<'de> Visitor<'de> for Inner<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a stack (an array of frame indices)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                while let Some(frame) = seq.next_element::<u32>()? {
                    self.0.push(frame);
                }
                Ok(())
            }
        }
        d.deserialize_seq(Outer)
    }
}

// ---------------------------------------------------------------------------------------------
// Into the model.

/// What a profile's values measure, as Joule's sample types group them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Time,
    Bytes,
    Weight,
}

impl Kind {
    fn sample_type(self) -> (&'static str, &'static str) {
        match self {
            Kind::Time => ("wall", "nanoseconds"),
            Kind::Bytes => ("space", "bytes"),
            Kind::Weight => ("weight", "count"),
        }
    }
}

/// The kind of a speedscope unit and the factor into Joule's unit for it.
fn unit_kind(unit: &str) -> Option<(Kind, f64)> {
    Some(match unit {
        "nanoseconds" => (Kind::Time, 1.0),
        "microseconds" => (Kind::Time, 1e3),
        "milliseconds" => (Kind::Time, 1e6),
        "seconds" => (Kind::Time, 1e9),
        "bytes" => (Kind::Bytes, 1.0),
        "none" => (Kind::Weight, 1.0),
        _ => return None,
    })
}

/// A value in Joule's unit, or `None` when it does not fit in one.
fn scale(value: f64, factor: f64) -> Option<i64> {
    let v = (value * factor).round();
    (v.is_finite() && v.abs() < 9.0e18).then_some(v as i64)
}

/// Reports problems of one kind: the first few with their place, then how many more.
struct Skipped {
    what: &'static str,
    places: Vec<String>,
    count: usize,
}

impl Skipped {
    const SHOWN: usize = 5;

    fn new(what: &'static str) -> Self {
        Skipped {
            what,
            places: Vec::new(),
            count: 0,
        }
    }

    fn add(&mut self, place: impl FnOnce() -> String) {
        self.count += 1;
        if self.places.len() < Self::SHOWN {
            self.places.push(place());
        }
    }

    fn report(self, builder: &mut ProfileBuilder) {
        if self.count == 0 {
            return;
        }
        let more = self.count - self.places.len();
        let mut text = format!(
            "{} {}, left out: {}",
            self.count,
            self.what,
            self.places.join(", ")
        );
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        builder.warn(text);
    }
}

struct Frames<'a> {
    shared: &'a [SpeedscopeFrame],
    /// Model frame of each shared frame, made when first used.
    ids: Vec<Option<FrameId>>,
}

impl Frames<'_> {
    fn name(&self, index: u64) -> &str {
        self.shared
            .get(index as usize)
            .and_then(|f| f.name.as_deref())
            .unwrap_or("")
    }

    /// The model frame of shared frame `index`; `place` names where it was referred to.
    fn get(
        &mut self,
        builder: &mut ProfileBuilder,
        index: u64,
        place: impl FnOnce() -> String,
    ) -> Result<FrameId, Problem> {
        let Some(frame) = usize::try_from(index).ok().and_then(|i| self.shared.get(i)) else {
            return Err(Problem::whole(format!(
                "{}: frame {index} does not exist (shared.frames has {})",
                place(),
                self.shared.len()
            )));
        };
        let slot = &mut self.ids[index as usize];
        if let Some(id) = *slot {
            return Ok(id);
        }
        let name = match frame.name.as_deref() {
            None | Some("") => "(anonymous)",
            Some(name) => name,
        };
        let file = frame.file.as_deref().unwrap_or("");
        let line = frame
            .line
            .filter(|l| l.is_finite() && *l >= 1.0 && *l <= f64::from(u32::MAX))
            .map_or(0, |l| l as u32);
        let function = builder.function_in(name, name, file, 0, "");
        let id = builder.frame(function, line);
        *slot = Some(id);
        Ok(id)
    }
}

fn convert(file: File) -> Result<Profile, Problem> {
    let shared = file.shared.ok_or_else(|| {
        Problem::whole("`shared` is missing (a speedscope file has `shared.frames` and `profiles`)")
    })?;
    let profiles = file.profiles.ok_or_else(|| {
        Problem::whole(
            "`profiles` is missing (a speedscope file has `shared.frames` and `profiles`)",
        )
    })?;
    if profiles.is_empty() {
        return Err(Problem::whole("`profiles` is empty"));
    }

    let mut builder = ProfileBuilder::new(Format::Speedscope);
    let mut warnings = Vec::new();
    let units: Vec<(Kind, f64)> = profiles
        .iter()
        .enumerate()
        .map(|(p, profile)| {
            let unit = profile.unit.as_deref().unwrap_or("none");
            unit_kind(unit).unwrap_or_else(|| {
                warnings.push(format!(
                    "profiles[{p}].unit: {unit:?} is not a speedscope unit; read as `none`"
                ));
                (Kind::Weight, 1.0)
            })
        })
        .collect();
    let mut kinds: Vec<Kind> = units.iter().map(|u| u.0).collect();
    kinds.sort();
    kinds.dedup();
    let active = match file.active_profile_index {
        None => 0,
        Some(i) if i.fract() == 0.0 && i >= 0.0 && (i as usize) < profiles.len() => i as usize,
        Some(i) => {
            warnings.push(format!(
                "activeProfileIndex: {i} is not the index of a profile; the first is the default"
            ));
            0
        }
    };
    let mut types = vec![("samples", "count")];
    types.extend(kinds.iter().map(|k| k.sample_type()));
    let column_of = |kind: Kind| 1 + kinds.iter().position(|&k| k == kind).unwrap_or(0);
    builder.set_sample_types(&types, column_of(units[active].0));
    for w in warnings {
        builder.warn(w);
    }
    if let Some(name) = file.name.as_deref().filter(|n| !n.is_empty()) {
        builder.add_comment(&format!("speedscope file name: {name}"));
    }
    if let Some(exporter) = file.exporter.as_deref().filter(|e| !e.is_empty()) {
        builder.add_comment(&format!("exported by {exporter}"));
    }

    let mut reading = Reading {
        frames: Frames {
            ids: vec![None; shared.frames.len()],
            shared: &shared.frames,
        },
        values: vec![0; types.len()],
        bad_weights: Skipped::new("samples with a negative or unusable weight"),
        empty_stacks: Skipped::new("samples with an empty stack"),
        builder,
    };
    let mut used_names: FxHashSet<String> = FxHashSet::default();
    let mut duration: Option<i64> = None;
    for (p, profile) in profiles.iter().enumerate() {
        let mut name = profile
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("profile {p}"));
        while used_names.contains(&name) {
            name = format!("{name} #{p}");
        }
        let label = reading.builder.str_label("profile", &name);
        let labels = reading.builder.label_set(&[label]);
        used_names.insert(name);

        let (kind, factor) = units[p];
        let target = Target {
            p,
            labels,
            column: column_of(kind),
            factor,
        };
        match profile.kind.as_deref() {
            Some("sampled") => reading.sampled(profile, target)?,
            Some("evented") => reading.evented(profile, target)?,
            Some(other) => {
                return Err(Problem::whole(format!(
                    "profiles[{p}].type: {other:?} is neither \"sampled\" nor \"evented\""
                )));
            }
            None => {
                return Err(Problem::whole(format!(
                    "profiles[{p}].type is missing (\"sampled\" or \"evented\")"
                )));
            }
        }
        if kind == Kind::Time
            && let (Some(start), Some(end)) = (profile.start_value, profile.end_value)
            && let Some(span) = scale(end - start, factor).filter(|&s| s > 0)
        {
            duration = Some(duration.map_or(span, |d| d.max(span)));
        }
    }
    let mut builder = reading.builder;
    reading.bad_weights.report(&mut builder);
    reading.empty_stacks.report(&mut builder);
    if let Some(d) = duration {
        builder.set_duration_nanos(d as u64);
    }
    if !builder.has_samples() {
        return Err(Problem::whole(
            "no samples: every profile in the file is empty",
        ));
    }
    Ok(builder.finish())
}

/// One file's conversion under way.
struct Reading<'a> {
    builder: ProfileBuilder,
    frames: Frames<'a>,
    /// One value per sample type, for the sample being added.
    values: Vec<i64>,
    bad_weights: Skipped,
    empty_stacks: Skipped,
}

/// Where the samples of profile `p` go: its label set, its value column, the factor into it.
#[derive(Clone, Copy)]
struct Target {
    p: usize,
    labels: LabelSetId,
    column: usize,
    factor: f64,
}

impl Reading<'_> {
    /// Adds a sample (frames leaf first) of one count and `value` in the target's column.
    fn add(&mut self, frames: &[FrameId], target: Target, value: i64) {
        self.values.fill(0);
        self.values[0] = 1;
        self.values[target.column] = value;
        self.builder
            .add_labeled_sample(frames, target.labels, &self.values);
    }

    fn sampled(&mut self, profile: &SpeedscopeProfile, target: Target) -> Result<(), Problem> {
        let Target { p, factor, .. } = target;
        let empty = Stacks::default();
        let stacks = profile.samples.as_ref().unwrap_or(&empty);
        let weights = profile.weights.as_deref();
        match weights {
            Some(w) if w.len() != stacks.len() => {
                return Err(Problem::whole(format!(
                    "profiles[{p}]: {} samples but {} weights (there must be one weight per \
                     sample)",
                    stacks.len(),
                    w.len()
                )));
            }
            None if stacks.len() > 0 => self.builder.warn(format!(
                "profiles[{p}].weights is missing: each sample weighs 1"
            )),
            _ => {}
        }
        let mut leaf_first: Vec<FrameId> = Vec::new();
        for i in 0..stacks.len() {
            let stack = stacks.get(i);
            if stack.is_empty() {
                self.empty_stacks
                    .add(|| format!("profiles[{p}].samples[{i}]"));
                continue;
            }
            let weight = weights.map_or(1.0, |w| w[i]);
            let value = if weight >= 0.0 {
                scale(weight, factor)
            } else {
                None
            };
            let Some(value) = value else {
                self.bad_weights
                    .add(|| format!("profiles[{p}].weights[{i}] = {weight:?}"));
                continue;
            };
            leaf_first.clear();
            for (j, &f) in stack.iter().enumerate().rev() {
                leaf_first.push(self.frames.get(&mut self.builder, u64::from(f), || {
                    format!("profiles[{p}].samples[{i}][{j}]")
                })?);
            }
            self.add(&leaf_first, target, value);
        }
        Ok(())
    }

    fn evented(&mut self, profile: &SpeedscopeProfile, target: Target) -> Result<(), Problem> {
        let Target { p, factor, .. } = target;
        let events = profile.events.as_deref().unwrap_or(&[]);
        // The open frames, root first: shared-frame indices and model frames.
        let mut open: Vec<u64> = Vec::new();
        let mut open_frames: Vec<FrameId> = Vec::new();
        let mut leaf_first: Vec<FrameId> = Vec::new();
        let mut last: Option<(f64, i64)> = None;
        for (e, event) in events.iter().enumerate() {
            let at = scale(event.at, factor).ok_or_else(|| {
                Problem::whole(format!(
                    "profiles[{p}].events[{e}].at: {} is out of range",
                    event.at
                ))
            })?;
            if let Some((last_at, last_value)) = last {
                if at < last_value {
                    return Err(Problem::whole(format!(
                        "profiles[{p}].events[{e}]: at {} is before the previous event's {last_at} \
                     (events must be in order of `at`)",
                        event.at
                    )));
                }
                let span = at.saturating_sub(last_value);
                if span > 0 && !open_frames.is_empty() {
                    leaf_first.clear();
                    leaf_first.extend(open_frames.iter().rev());
                    self.add(&leaf_first, target, span);
                }
            }
            last = Some((event.at, at));
            let frame = self.frames.get(&mut self.builder, event.frame, || {
                format!("profiles[{p}].events[{e}].frame")
            })?;
            match event.kind {
                EventKind::O => {
                    open.push(event.frame);
                    open_frames.push(frame);
                }
                EventKind::C => match open.last() {
                    Some(&top) if top == event.frame => {
                        open.pop();
                        open_frames.pop();
                    }
                    Some(&top) => {
                        return Err(Problem::whole(format!(
                            "profiles[{p}].events[{e}]: close event for frame {} ({:?}) does not \
                         match the open frame {top} ({:?})",
                            event.frame,
                            self.frames.name(event.frame),
                            self.frames.name(top)
                        )));
                    }
                    None => {
                        return Err(Problem::whole(format!(
                            "profiles[{p}].events[{e}]: close event for frame {} ({:?}) when no \
                         frame is open",
                            event.frame,
                            self.frames.name(event.frame)
                        )));
                    }
                },
            }
        }
        if let Some(&top) = open.last() {
            return Err(Problem::whole(format!(
                "profiles[{p}].events: frame {top} ({:?}) is still open after the last event \
             ({} frames never closed)",
                self.frames.name(top),
                open.len()
            )));
        }
        Ok(())
    }
}
