//! pprof: the `profile.proto` format written by Go's `runtime/pprof`, `pprof-rs`, gperftools,
//! async-profiler and most continuous profilers (<https://github.com/google/pprof/blob/main/proto/profile.proto>).
//!
//! The tables (strings, functions, mappings, locations, in any order the format allows) and
//! the samples (their location ids kept as written) are read in two walks over the message,
//! on two threads for a large input; then each sample's location ids are decoded into frames.
//! A location with several lines is an inlined call chain: `line[0]` is the innermost
//! function, the last line the function it was inlined into.

use std::hash::BuildHasher;
use std::sync::OnceLock;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::parallel::{self, Budget, End, Ends, Handoff, Jobs, Panicked, Refused};
use super::wire::{LEN, Message, VARINT, short_varint};
use super::{Problem, ReadOptions, Reader};
use crate::model::{
    Format, FrameId, Function, FunctionId, Label, LabelSetId, LabelValue, MAX_FRAMES, Profile,
    ProfileBuilder, StackTable, StrId, Strings,
};

pub struct Pprof;

impl Reader for Pprof {
    fn format(&self) -> Format {
        Format::Pprof
    }

    fn sniff(&self, head: &[u8]) -> bool {
        // Text is never pprof: a protobuf message has tags and lengths below 0x20 early on.
        let start = &head[..head.len().min(256)];
        if std::str::from_utf8(start).is_ok_and(|t| {
            t.chars()
                .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        }) {
            return false;
        }
        // The head must parse as Profile fields with the wire types the schema gives them.
        let mut m = Message::new(head);
        for seen in 0..16 {
            match m.next_field() {
                Ok(Some(f)) if schema_wire_type(f.number, f.wire_type) => {}
                Ok(Some(_)) => return false,
                Ok(None) => return seen > 0,
                // The head, or a truncated file, may cut the message short: two valid fields
                // before that say this is pprof, and reading it will say where it breaks.
                Err(_) => return seen >= 2,
            }
        }
        true
    }

    fn read(&self, data: &[u8], _options: &ReadOptions) -> Result<Profile, Problem> {
        decode(data)
    }
}

impl Pprof {
    /// Reads `data` on two threads or on one, whatever its size. The two must agree; the fuzz
    /// target compares them on inputs far smaller than those read on two threads.
    #[doc(hidden)]
    pub fn read_on(&self, data: &[u8], two_threads: bool) -> Result<Profile, Problem> {
        decode_on(data, two_threads)
    }
}

/// True when `Profile` field `number` may have this wire type.
fn schema_wire_type(number: u32, wire_type: u8) -> bool {
    match number {
        1..=6 | 11 => wire_type == LEN,
        7..=10 | 12 | 14 | 15 => wire_type == VARINT,
        13 => wire_type == VARINT || wire_type == LEN,
        _ => false,
    }
}

/// A reference from one message to the string table, kept with its place for error messages.
#[derive(Clone, Copy, Default)]
struct StrRef {
    index: i64,
    offset: usize,
}

/// The profile's string table: ids are pprof's indices, checked once here.
struct Table {
    len: usize,
}

impl Table {
    fn id(&self, r: StrRef, what: &str) -> Result<StrId, Problem> {
        usize::try_from(r.index)
            .ok()
            .filter(|&i| i < self.len)
            .map(|i| i as StrId)
            .ok_or_else(|| {
                Problem::at_byte(
                    r.offset,
                    format!(
                        "{what} refers to string {} but the string table has {} entries",
                        r.index, self.len
                    ),
                )
            })
    }
}

fn str_ref(field: &super::wire::Field<'_>, what: &str) -> Result<StrRef, Problem> {
    Ok(StrRef {
        index: field.int(what)?,
        offset: field.offset,
    })
}

fn value_type(mut m: Message<'_>) -> Result<(StrRef, StrRef), Problem> {
    let (mut name, mut unit) = (StrRef::default(), StrRef::default());
    while let Some(f) = m.next_field()? {
        match f.number {
            1 => name = str_ref(&f, "ValueType.type")?,
            2 => unit = str_ref(&f, "ValueType.unit")?,
            _ => {}
        }
    }
    Ok((name, unit))
}

/// A dense id -> index table for pprof's 1-based ids, with a hash map for sparse ones.
enum IdIndex {
    Dense(Vec<u32>),
    Sparse(FxHashMap<u64, u32>),
}

impl IdIndex {
    const MISSING: u32 = u32::MAX;

    fn new(ids: impl Iterator<Item = u64> + Clone, count: usize) -> Self {
        let max = ids.clone().max().unwrap_or(0);
        if max <= 2 * count as u64 + 1024 {
            let mut dense = vec![Self::MISSING; max as usize + 1];
            for (i, id) in ids.enumerate() {
                dense[id as usize] = i as u32;
            }
            IdIndex::Dense(dense)
        } else {
            IdIndex::Sparse(ids.enumerate().map(|(i, id)| (id, i as u32)).collect())
        }
    }

    fn get(&self, id: u64) -> Option<u32> {
        match self {
            IdIndex::Dense(d) => d.get(id as usize).copied().filter(|&i| i != Self::MISSING),
            IdIndex::Sparse(m) => m.get(&id).copied(),
        }
    }
}

/// Inputs this large are read on two threads; below it a second thread costs more than it
/// saves.
const PARALLEL_BYTES: usize = 512 * 1024;

fn decode(data: &[u8]) -> Result<Profile, Problem> {
    decode_on(data, data.len() >= PARALLEL_BYTES)
}

/// [`decode`], on two threads or one.
pub(super) fn decode_on(data: &[u8], two_threads: bool) -> Result<Profile, Problem> {
    // Samples are read with their location ids left as written (identical stacks merged by
    // their bytes), so reading them needs none of the other tables; the stacks are decoded into
    // frames once the locations are known. A large input has its tables (strings, functions,
    // locations) and its samples read on two threads at once, and then both threads decode
    // the stacks (see `read_in_parallel`).
    let (tables, samples, frames) = if two_threads {
        read_in_parallel(data)
    } else {
        let walked = walk_tables(data);
        let locations = walked
            .as_ref()
            .ok()
            .map(|w| Locations::number(&w.locations));
        let tables = walked.and_then(|walked| build_tables(data, walked));
        let samples = read_samples(RawSamples::new(data));
        let frames = match (&locations, &tables, &samples) {
            (Some(locations), Ok(_), Ok(samples)) => samples
                .decode_stacks(
                    0..samples.len(),
                    locations,
                    StackFrames::with_capacity(samples.frame_room(), samples.len()),
                    &Budget::new(MAX_FRAMES),
                )
                .map_err(|e| e.problem),
            _ => Ok(StackFrames::default()),
        };
        (tables, samples, frames)
    };
    let Tables { mut builder, table } = tables?;
    let samples = samples?;
    let frames = frames?;

    let mut sets = Vec::with_capacity(samples.label_sets.len());
    for raw in &samples.label_sets {
        let mut set = Vec::with_capacity(raw.len());
        for &(label, offset) in raw {
            set.push(label.resolve(offset, &table)?);
        }
        sets.push(set);
    }
    if samples.empty > 0 {
        builder.warn(format!(
            "{} samples have no locations and were left out",
            samples.empty
        ));
    }
    let stacks = StackTable::from_parts(
        samples.n,
        frames.frames,
        frames.starts,
        samples.labels,
        samples.values,
        samples.raw_samples,
    );
    builder.absorb(stacks, &sets);
    Ok(builder.finish())
}

type Read<'a> = (
    Result<Tables, Problem>,
    Result<RawSamples<'a>, Problem>,
    Result<StackFrames, Problem>,
);

/// [`decode`] on two threads (see [`parallel`]). The two reading jobs, the tables (the longer,
/// so first: usually taken by this thread, which starts first) and the samples, go to whichever
/// thread is free. Once the samples are read and the locations numbered, the stacks are
/// decoded in blocks claimed from either end until they meet: by one thread while the other
/// builds the rest of the tables, then by both.
fn read_in_parallel(data: &[u8]) -> Read<'_> {
    let tables: OnceLock<Result<Tables, Problem>> = OnceLock::new();
    // `None` when the walk failed (the tables' error says why).
    let located: Handoff<Option<Locations>> = Handoff::new();
    let sampled: Handoff<Result<RawSamples<'_>, Problem>> = Handoff::new();
    let stacks: OnceLock<Ends> = OnceLock::new();
    let budget = Budget::new(MAX_FRAMES);
    // Made on this thread (a short-lived thread's memory goes back to the system when freed,
    // and fresh pages cost more than the reading that fills them).
    let empty = RawSamples::new(data);
    let (locations_given, samples_given) = (located.promise(), sampled.promise());
    let jobs = Jobs::new(vec![
        // The tables: walked, the locations numbered for the decoders, then built.
        Box::new(|| {
            let walked = walk_tables(data);
            locations_given.give(
                walked
                    .as_ref()
                    .ok()
                    .map(|w| Locations::number(&w.locations)),
            );
            let built = walked.and_then(|walked| build_tables(data, walked));
            if built.is_err() {
                // Its error is the one to give: decoding more is wasted.
                budget.stop();
            }
            let _ = tables.set(built);
        }),
        Box::new(|| samples_given.give(read_samples(empty))),
    ]);
    // Decodes blocks from `end` until none are left; gives the blocks in the order decoded.
    let decode = |end: End| -> Decoded {
        let Some(Ok(samples)) = sampled.wait() else {
            return Ok((StackFrames::default(), Vec::new()));
        };
        let locations = match located.wait() {
            Some(Some(locations)) => locations,
            Some(None) => return Ok((StackFrames::default(), Vec::new())),
            None => return Err(failed().into()),
        };
        // This thread's frames have room for every stack's: the other's are appended.
        let mut out = match end {
            End::Front => StackFrames::with_capacity(samples.frame_room(), samples.len()),
            End::Back => StackFrames::with_capacity(samples.frame_room() / 2, samples.len() / 2),
        };
        let stacks = stacks.get_or_init(|| Ends::new(samples.len(), BLOCK));
        let mut blocks = Vec::new();
        while !budget.stopped()
            && let Some(block) = stacks.claim(end)
        {
            out = samples.decode_stacks(block.clone(), locations, out, &budget)?;
            blocks.push(block);
        }
        Ok((out, blocks))
    };
    let frames = parallel::on_two_threads(
        "pprof",
        |end| {
            jobs.run();
            decode(end)
        },
        |front, back| {
            let front = front.unwrap_or_else(|Panicked| Err(failed().into()));
            let back = match back {
                Some(back) => back.unwrap_or_else(|Panicked| Err(failed().into())),
                // No second thread: this one decoded every stack.
                None => Ok((StackFrames::default(), Vec::new())),
            };
            match (front, back) {
                (Ok((mut front, _)), Ok((back, blocks))) => {
                    front.append_blocks(&back, &blocks);
                    Ok(front)
                }
                // The error of the earliest stack, as one thread reading them in order would
                // give; the frame budget, passed by both threads' frames together, only
                // without one.
                (Err(a), Err(b)) => Err(if b.stack < a.stack {
                    b.problem
                } else {
                    a.problem
                }),
                (Err(e), _) | (_, Err(e)) => Err(e.problem),
            }
        },
    );
    // The jobs (all run by now) borrow what is taken here.
    drop(jobs);
    (
        tables.into_inner().unwrap_or_else(|| Err(failed())),
        sampled.into_inner().unwrap_or_else(|| Err(failed())),
        frames,
    )
}

/// The most frames a stack taking the long path is decoded into apart and copied in (past it,
/// it is decoded in place).
const LONG_STACK: usize = 1 << 16;

/// One thread's decoded stacks and the blocks they are, in the order decoded.
type Decoded = Result<(StackFrames, Vec<std::ops::Range<usize>>), StackError>;

/// Stacks are decoded in blocks of this many (a claim costs a lock; a block, tens of
/// microseconds of decoding).
const BLOCK: usize = 256;

/// A decoding error and the stack it was found in (`usize::MAX` for the file as a whole).
struct StackError {
    stack: usize,
    problem: Problem,
}

/// An error of the file as a whole.
impl From<Problem> for StackError {
    fn from(problem: Problem) -> Self {
        StackError {
            stack: usize::MAX,
            problem,
        }
    }
}

/// The error for reading that panicked or was left unfinished (a bug, not an input).
fn failed() -> Problem {
    Problem::whole("reading the profile failed unexpectedly (an internal error)")
}

/// Everything in a profile but its samples.
struct Tables {
    builder: ProfileBuilder,
    table: Table,
}

/// Everything in a profile but its samples, as walked: string indices and ids not yet
/// checked.
#[derive(Default)]
struct Walked {
    string_spans: Vec<(usize, usize)>,
    sample_types: Vec<(StrRef, StrRef)>,
    functions: RawFunctions,
    locations: RawLocations,
    mappings: Vec<(u64, StrRef)>,
    comments: Vec<StrRef>,
    default_sample_type: StrRef,
    period_type: Option<(StrRef, StrRef)>,
    period: i64,
    time_nanos: i64,
    duration_nanos: i64,
}

/// Everything in `data` but its samples, read in one walk over the message.
fn walk_tables(data: &[u8]) -> Result<Walked, Problem> {
    let mut w = Walked::default();

    // One walk over the message: strings, functions and locations are read as they come, with
    // the ids they refer to checked afterwards (the format allows any order).
    let mut top = Message::new(data);
    loop {
        let before = top;
        let Some(key) = top.key()? else { break };
        match key {
            // Samples are read by `read_samples`.
            KEY_LEN_2 => drop(top.value_message(2)?),
            KEY_LEN_4 => w.locations.read(top.value_message(4)?)?,
            KEY_LEN_5 => w.functions.read(top.value_message(5)?)?,
            KEY_LEN_6 => {
                let s = top.value_message(6)?;
                let start = s.offset();
                w.string_spans.push((start, start + s.as_slice().len()));
            }
            _ => {
                // The rest, one of each or a few: read as fields, their wire types checked.
                top = before;
                let Some(f) = top.next_field()? else { break };
                match f.number {
                    1 => w.sample_types.push(value_type(f.message("sample_type")?)?),
                    2 => drop(f.message("sample")?),
                    3 => {
                        let mut m = f.message("mapping")?;
                        let (mut id, mut file) = (0, StrRef::default());
                        while let Some(g) = m.next_field()? {
                            match g.number {
                                1 => id = g.uint("Mapping.id")?,
                                5 => file = str_ref(&g, "Mapping.filename")?,
                                _ => {}
                            }
                        }
                        w.mappings.push((id, file));
                    }
                    4 => drop(f.message("location")?),
                    5 => drop(f.message("function")?),
                    6 => drop(f.message("string_table")?),
                    9 => w.time_nanos = f.int("time_nanos")?,
                    10 => w.duration_nanos = f.int("duration_nanos")?,
                    11 => w.period_type = Some(value_type(f.message("period_type")?)?),
                    12 => w.period = f.int("period")?,
                    13 => f.repeated_varint("comment", |v| {
                        w.comments.push(StrRef {
                            index: v as i64,
                            offset: f.offset,
                        })
                    })?,
                    14 => w.default_sample_type = str_ref(&f, "default_sample_type")?,
                    _ => {}
                }
            }
        }
    }
    Ok(w)
}

/// The tables of a walked profile, its strings and ids checked. The frames are pushed in the
/// order [`Locations::number`] gives them.
fn build_tables(data: &[u8], walked: Walked) -> Result<Tables, Problem> {
    let Walked {
        string_spans,
        sample_types,
        functions,
        locations,
        mappings,
        comments,
        default_sample_type,
        period_type,
        period,
        time_nanos,
        duration_nanos,
    } = walked;
    if string_spans.first().is_some_and(|&(a, b)| a != b) {
        return Err(Problem::at_byte(
            string_spans[0].0,
            "string_table[0] must be the empty string (this is not a pprof profile)",
        ));
    }
    if sample_types.is_empty() {
        return Err(Problem::whole(
            "the profile declares no sample types (not a pprof profile, or an empty one)",
        ));
    }

    // The string table becomes the model's, ids unchanged: no hashing of every string.
    let strings = string_table(data, &string_spans);
    let table = Table { len: strings.len() };
    let mut builder = ProfileBuilder::with_strings(Format::Pprof, strings);

    let mut types = Vec::with_capacity(sample_types.len());
    for &(name, unit) in &sample_types {
        types.push((
            table.id(name, "sample_type.type")?,
            table.id(unit, "sample_type.unit")?,
        ));
    }
    // pprof's rule: the named default type, else the last one.
    let default_id = table.id(default_sample_type, "default_sample_type")?;
    let default = types
        .iter()
        .position(|&(name, _)| {
            default_id != 0 && builder.string(name) == builder.string(default_id)
        })
        .unwrap_or(types.len() - 1);
    builder.set_sample_type_ids(&types, default);
    if let Some((name, unit)) = period_type {
        let (name, unit) = (
            table.id(name, "period_type.type")?,
            table.id(unit, "period_type.unit")?,
        );
        builder.set_period_ids(period, name, unit);
    }
    if duration_nanos > 0 {
        builder.set_duration_nanos(duration_nanos as u64);
    }
    if time_nanos != 0 {
        builder.set_time_nanos(time_nanos);
    }
    for c in &comments {
        let id = table.id(*c, "comment")?;
        builder.add_comment_id(id);
    }

    // Functions, in table order, each record with the same name, system name, file and start
    // line as an earlier one (by text: a writer may repeat strings too) made that one. Writers
    // do repeat them (@datadog/pprof writes a record per `(anonymous)` frame), and two records
    // of one function would count a stack through both twice in the function's cumulative
    // value, where pprof counts it once.
    builder.reserve_tables(
        functions.functions.len(),
        locations.lines.len() + locations.locations.len() / 8,
    );
    let function_index = IdIndex::new(functions.ids.iter().copied(), functions.ids.len());
    let mut model_function: Vec<FunctionId> = Vec::with_capacity(functions.functions.len());
    // Each distinct function once: its id and the record (an index into the table) it was
    // made from, hashed by text.
    let mut seen: HashTable<(FunctionId, usize)> =
        HashTable::with_capacity(functions.functions.len());
    fn key<'a>(b: &'a ProfileBuilder, f: &Function) -> (&'a str, &'a str, &'a str, u32) {
        (
            b.string(f.name),
            b.string(f.system_name),
            b.string(f.file),
            f.start_line,
        )
    }
    for (i, function) in functions.functions.iter().enumerate() {
        let strings = [function.name, function.system_name, function.file];
        if strings.iter().any(|&s| s as usize >= table.len) {
            return Err(functions.string_error(data, i, &table));
        }
        let hash = FxBuildHasher.hash_one(key(&builder, function));
        let known = seen
            .find(hash, |&(_, j)| {
                key(&builder, &functions.functions[j]) == key(&builder, function)
            })
            .map(|&(id, _)| id);
        let id = match known {
            Some(id) => id,
            None => {
                let id = builder.push_function(function.clone());
                seen.insert_unique(hash, (id, i), |&(_, j)| {
                    FxBuildHasher.hash_one(key(&builder, &functions.functions[j]))
                });
                id
            }
        };
        model_function.push(id);
    }
    let mapping_index = IdIndex::new(mappings.iter().map(|m| m.0), mappings.len());
    let mut mapping_files: Vec<StrId> = Vec::with_capacity(mappings.len());
    for &(_, file) in &mappings {
        mapping_files.push(table.id(file, "Mapping.filename")?);
    }

    // Each location's frames, leaf first, in the order `Locations::number` numbers them.
    let mut numbered: FrameId = 0;
    let mut push_frame = |builder: &mut ProfileBuilder, function, line| {
        let frame = builder.push_frame(function, line);
        debug_assert_eq!(frame, numbered, "frames pushed out of their numbering");
        numbered += 1;
    };
    for location in &locations.locations {
        let module = mapping_index
            .get(location.mapping)
            .map(|i| mapping_files[i as usize])
            .unwrap_or(0);
        for line in &locations.lines[location.lines.0 as usize..location.lines.1 as usize] {
            let function = function_index
                .get(line.function)
                .map(|i| model_function[i as usize])
                .ok_or_else(|| {
                Problem::at_byte(
                    line.offset,
                    format!(
                        "location line refers to function {}, which the profile does not define",
                        line.function
                    ),
                )
            })?;
            if module != 0 {
                builder.set_function_module(function, module);
            }
            push_frame(&mut builder, function, line.line);
        }
        if location.lines.0 == location.lines.1 {
            // Unsymbolized: one function per binary, `[libc.so.6]`, or `<unknown>` when the
            // location names no binary, as `pprof -top` groups them: an address is not a
            // function, and a thousand addresses in one library are one cost to look into.
            let object = builder.string(module).to_string();
            let base = object.rsplit('/').next().unwrap_or("");
            let name = if base.is_empty() {
                UNSYMBOLIZED.to_string()
            } else {
                format!("[{base}]")
            };
            let function = builder.function_in(&name, &name, "", 0, &object);
            push_frame(&mut builder, function, 0);
        }
    }
    Ok(Tables { builder, table })
}

/// The name of an unsymbolized frame whose binary is not known either (pprof's).
pub const UNSYMBOLIZED: &str = "<unknown>";

/// The string table: read in one piece when its strings sit together and are valid UTF-8 (as
/// writers make them), else string by string, invalid bytes replaced.
fn string_table(data: &[u8], spans: &[(usize, usize)]) -> Strings {
    if let (Some(&(first, _)), Some(&(_, last))) = (spans.first(), spans.last())
        && first <= last
        && last - first <= u32::MAX as usize
        && let Ok(text) = std::str::from_utf8(&data[first..last])
    {
        let relative = spans
            .iter()
            .map(|&(start, end)| {
                (
                    start.wrapping_sub(first) as u32,
                    end.wrapping_sub(first) as u32,
                )
            })
            .collect();
        if let Some(strings) = Strings::from_ranges(text.to_string(), relative) {
            return strings;
        }
    }
    let bytes = spans.iter().map(|&(start, end)| end - start).sum();
    let mut strings = Strings::with_capacity(spans.len().max(1), bytes);
    if spans.is_empty() {
        strings.push("");
    }
    for &(start, end) in spans {
        strings.push(&String::from_utf8_lossy(&data[start..end]));
    }
    strings
}

/// Functions as read: string indices not yet checked against the table (an index that cannot
/// be one is `StrId::MAX`).
#[derive(Default)]
struct RawFunctions {
    ids: Vec<u64>,
    functions: Vec<Function>,
    /// Where each function's message is, to name the place of a bad index.
    spans: Vec<(usize, usize)>,
}

impl RawFunctions {
    fn read(&mut self, message: Message<'_>) -> Result<(), Problem> {
        let mut m = message;
        let mut id = 0;
        let mut function = Function {
            name: 0,
            system_name: 0,
            file: 0,
            start_line: 0,
            module: 0,
        };
        let index = |v: u64| StrId::try_from(v).unwrap_or(StrId::MAX);
        loop {
            let at = m.offset();
            let Some(key) = m.key()? else { break };
            match key {
                KEY_VARINT_1 => id = m.value_varint()?,
                k if k >> 3 == 1 => {
                    return Err(Problem::at_byte(
                        at,
                        format!("field 1 (Function.id) has wire type {}, expected 0", k & 7),
                    ));
                }
                KEY_VARINT_2 => function.name = index(m.value_varint()?),
                KEY_VARINT_3 => function.system_name = index(m.value_varint()?),
                KEY_VARINT_4 => function.file = index(m.value_varint()?),
                KEY_VARINT_5 => {
                    function.start_line = u32::try_from(m.value_varint()? as i64).unwrap_or(0)
                }
                _ => m.skip_value(key)?,
            }
        }
        self.ids.push(id);
        self.functions.push(function);
        let start = message.offset();
        self.spans.push((start, start + message.as_slice().len()));
        Ok(())
    }

    /// The error for function `i`, one of whose string indices is not in the table.
    #[cold]
    fn string_error(&self, data: &[u8], i: usize, table: &Table) -> Problem {
        let (start, end) = self.spans[i];
        let mut m = Message::within(data, start, end);
        loop {
            let at = m.offset();
            let Ok(Some(key)) = m.key() else { break };
            let what = match key {
                KEY_VARINT_2 => "Function.name",
                KEY_VARINT_3 => "Function.system_name",
                KEY_VARINT_4 => "Function.filename",
                _ => {
                    if m.skip_value(key).is_err() {
                        break;
                    }
                    continue;
                }
            };
            let Ok(index) = m.value_varint() else { break };
            if let Err(problem) = table.id(
                StrRef {
                    index: index as i64,
                    offset: at,
                },
                what,
            ) {
                return problem;
            }
        }
        Problem::at_byte(start, "function refers to a string the table does not have")
    }
}

/// Locations as read, with their lines; function and mapping ids not yet resolved.
#[derive(Default)]
struct RawLocations {
    locations: Vec<RawLocation>,
    lines: Vec<RawLine>,
}

struct RawLocation {
    id: u64,
    mapping: u64,
    address: u64,
    /// `lines[0]..lines[1]` of [`RawLocations::lines`].
    lines: (u32, u32),
}

struct RawLine {
    function: u64,
    line: u32,
    /// Where the line is, for the error when its function is not defined.
    offset: usize,
}

impl RawLocations {
    fn read(&mut self, mut m: Message<'_>) -> Result<(), Problem> {
        let mut location = RawLocation {
            id: 0,
            mapping: 0,
            address: 0,
            lines: (self.lines.len() as u32, 0),
        };
        loop {
            let at = m.offset();
            let Some(key) = m.key()? else { break };
            match key {
                KEY_VARINT_1 => location.id = m.value_varint()?,
                KEY_VARINT_2 => location.mapping = m.value_varint()?,
                KEY_VARINT_3 => location.address = m.value_varint()?,
                KEY_LEN_4 => {
                    let mut line = m.value_message(4)?;
                    let (mut function, mut number) = (0u64, 0i64);
                    while let Some(key) = line.key()? {
                        match key {
                            KEY_VARINT_1 => function = line.value_varint()?,
                            KEY_VARINT_2 => number = line.value_varint()? as i64,
                            _ => line.skip_value(key)?,
                        }
                    }
                    self.lines.push(RawLine {
                        function,
                        line: u32::try_from(number).unwrap_or(0),
                        offset: at,
                    });
                }
                _ => m.skip_value(key)?,
            }
        }
        location.lines.1 = self.lines.len() as u32;
        self.locations.push(location);
        Ok(())
    }
}

/// Samples as read: each distinct stack's packed location ids as written (decoded into frames
/// by [`RawSamples::decode_stacks`]), its label set with strings not yet checked, and its
/// summed values.
struct RawSamples<'a> {
    data: &'a [u8],
    /// Values per sample.
    n: usize,
    /// Stack `i`'s location ids, packed varints, are `data[spans[i].0..spans[i].1]`, or, when
    /// the start has [`JOINED`] set, that range of `joined` (ids written in several fields).
    spans: Vec<(usize, usize)>,
    joined: Vec<u8>,
    /// The ids in all stacks.
    id_count: usize,
    /// Where stack `i` was first read, for errors found when it is decoded.
    offsets: Vec<usize>,
    labels: Vec<LabelSetId>,
    values: Vec<i64>,
    /// Stack indices by the hash of their ids and label set.
    index: HashTable<u32>,
    raw_samples: u64,
    /// Each set sorted, with the offset of each label for errors; set 0 is empty.
    label_sets: Vec<Vec<(RawLabel, usize)>>,
    /// Samples without locations.
    empty: usize,
}

/// Marks a span of [`RawSamples::joined`].
const JOINED: usize = 1 << (usize::BITS - 1);

/// A stack's ids: a range of the input, or (the start marked [`JOINED`]) of `joined`.
fn span_ids<'b>(data: &'b [u8], joined: &'b [u8], (start, end): (usize, usize)) -> &'b [u8] {
    if start & JOINED == 0 {
        &data[start..end]
    } else {
        &joined[start & !JOINED..end]
    }
}

impl<'a> RawSamples<'a> {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn stack_ids(&self, i: usize) -> &[u8] {
        span_ids(self.data, &self.joined, self.spans[i])
    }

    /// Adds a sample whose ids are `span` (see [`RawSamples::spans`]): a new stack, or its
    /// values added to the identical one's.
    /// Returns whether the stack is new.
    fn add(
        &mut self,
        span: (usize, usize),
        labels: LabelSetId,
        values: &[i64],
        offset: usize,
    ) -> bool {
        self.raw_samples += 1;
        let (data, joined) = (self.data, &self.joined);
        let ids = span_ids(data, joined, span);
        let hash = FxBuildHasher.hash_one((ids, labels));
        let (spans, sets) = (&self.spans, &self.labels);
        let same = |&i: &u32| {
            let i = i as usize;
            sets[i] == labels && span_ids(data, joined, spans[i]) == ids
        };
        let hasher = |&j: &u32| {
            let j = j as usize;
            FxBuildHasher.hash_one((span_ids(data, joined, spans[j]), sets[j]))
        };
        let (i, new) = match self.index.entry(hash, same, hasher) {
            hashbrown::hash_table::Entry::Occupied(stack) => (*stack.get() as usize, false),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let i = self.labels.len();
                slot.insert(i as u32);
                // Bytes with the top bit clear end an id.
                self.id_count +=
                    ids.len() - ids.iter().map(|&b| usize::from(b >> 7)).sum::<usize>();
                self.spans.push(span);
                self.offsets.push(offset);
                self.labels.push(labels);
                self.values.extend(std::iter::repeat_n(0, self.n));
                (i, true)
            }
        };
        for (slot, v) in self.values[i * self.n..(i + 1) * self.n]
            .iter_mut()
            .zip(values)
        {
            *slot = slot.saturating_add(*v);
        }
        new
    }

    /// Room for the decoded frames: one per id, and a little for inlined calls (past it the
    /// frames grow as they must).
    fn frame_room(&self) -> usize {
        self.id_count + self.id_count / 64 + 64
    }

    /// Decodes stacks `range` into frames, leaf first, appended to `out`, within `budget`
    /// (the frames decoded so far by every thread may not pass [`MAX_FRAMES`] together).
    fn decode_stacks(
        &self,
        range: std::ops::Range<usize>,
        locations: &Locations,
        mut out: StackFrames,
        budget: &Budget,
    ) -> Result<StackFrames, StackError> {
        if out.starts.is_empty() {
            out.starts.push(0);
        }
        // Frames are counted here and added to `used` in batches (a shared counter updated per
        // stack costs more than decoding it); the other thread's unflushed batch is the most
        // either can overshoot by before one of them sees the total pass the budget.
        const BATCH: usize = 1 << 16;
        let mut pending = 0usize;
        let flush = |pending: &mut usize| {
            let left = budget.spend(std::mem::take(pending));
            left.map_err(|refused| {
                StackError::from(match refused {
                    Refused::Over => too_many_frames(),
                    Refused::Stopped => failed(),
                })
            })
        };
        let mut room = budget.left();
        // Frames are written into space made once for the whole range, a frame for each byte
        // of ids (there are no more ids than bytes, and the short path writes one frame an id)
        // and never past the budget (`out.frames.len() - at <= room` throughout); a stack that
        // takes the long path is decoded apart and copied in, the space grown if it has more
        // frames than bytes.
        let mut long = Vec::new();
        let mut left: usize = range.clone().map(|i| self.stack_ids(i).len()).sum();
        let mut at = out.frames.len();
        out.frames.resize(at + left.min(room), 0);
        for i in range {
            let ids = self.stack_ids(i);
            left -= ids.len();
            let short = out
                .frames
                .get_mut(at..at + ids.len())
                .and_then(|space| locations.decode_short(ids, space));
            let added = match short {
                Some(added) => added,
                None => {
                    // Passing the frame budget is the whole file's error, not this stack's.
                    let bad = |bad: BadStack| StackError {
                        stack: if matches!(bad, BadStack::TooMany) {
                            usize::MAX
                        } else {
                            i
                        },
                        problem: sample_error(self.data, self.offsets[i], bad),
                    };
                    if budget.stopped() {
                        return Err(failed().into());
                    }
                    long.clear();
                    // Decoded apart up to LONG_STACK frames; a longer stack is decoded again,
                    // in place.
                    match locations.decode(ids, &mut long, room.min(LONG_STACK)) {
                        Ok(()) => {
                            let need = at + long.len() + left.min(room - long.len());
                            if out.frames.len() < need {
                                out.frames.resize(need, 0);
                            }
                            out.frames[at..at + long.len()].copy_from_slice(&long);
                            long.len()
                        }
                        Err(BadStack::TooMany) if room > LONG_STACK => {
                            // More frames than are worth copying (a hostile stack, most
                            // likely): decoded in place, and the space for the rest of the
                            // range made again after it.
                            out.frames.truncate(at);
                            locations
                                .decode(ids, &mut out.frames, at + room)
                                .map_err(bad)?;
                            let added = out.frames.len() - at;
                            out.frames.resize(at + added + left.min(room - added), 0);
                            added
                        }
                        Err(e) => return Err(bad(e)),
                    }
                }
            };
            at += added;
            pending += added;
            room = room.saturating_sub(added);
            if pending >= BATCH {
                room = flush(&mut pending)?;
                // The other thread's frames count too: no space past what is left.
                out.frames.truncate(at + left.min(room));
            }
            out.starts.push(at as u32);
        }
        out.frames.truncate(at);
        flush(&mut pending)?;
        Ok(out)
    }
}

/// Decoded stacks: stack `i` is `frames[starts[i]..starts[i + 1]]`.
#[derive(Default)]
struct StackFrames {
    frames: Vec<FrameId>,
    starts: Vec<u32>,
}

impl StackFrames {
    fn with_capacity(frames: usize, stacks: usize) -> Self {
        StackFrames {
            frames: Vec::with_capacity(frames),
            starts: Vec::with_capacity(stacks + 1),
        }
    }

    /// The stacks of `back` after these, in stack order: `back` holds `blocks` one after the
    /// other, in the order they were claimed from the end (the last stacks first).
    fn append_blocks(&mut self, back: &StackFrames, blocks: &[std::ops::Range<usize>]) {
        if self.starts.is_empty() {
            self.starts.push(0);
        }
        let mut end = blocks.iter().map(|b| b.len()).sum::<usize>();
        for block in blocks.iter().rev() {
            let first = end - block.len();
            let (from, to) = (back.starts[first], back.starts[end]);
            let base = self.frames.len() as u32;
            self.frames
                .extend_from_slice(&back.frames[from as usize..to as usize]);
            self.starts.extend(
                back.starts[first + 1..=end]
                    .iter()
                    .map(|&start| start - from + base),
            );
            end = first;
        }
    }
}

/// The error for a profile whose stacks would pass [`MAX_FRAMES`] (for the file as a whole:
/// which sample crosses the line depends on how the stacks were shared between threads).
fn too_many_frames() -> Problem {
    Problem::whole(format!(
        "the samples' locations expand to more than {MAX_FRAMES} frames; refusing the profile as hostile"
    ))
}

impl<'a> RawSamples<'a> {
    /// Empty, with room for the common case (writers merge identical stacks, so records are
    /// mostly distinct), capped so a file of repeated records does not take what it will not
    /// use.
    fn new(data: &'a [u8]) -> Self {
        let stacks = (data.len() / 64).min(1 << 16);
        let mut index = HashTable::new();
        index.reserve(stacks, |_| 0);
        RawSamples {
            data,
            n: 0,
            spans: Vec::with_capacity(stacks),
            joined: Vec::new(),
            id_count: 0,
            offsets: Vec::with_capacity(stacks),
            labels: Vec::with_capacity(stacks),
            values: Vec::with_capacity(2 * stacks),
            index,
            raw_samples: 0,
            label_sets: vec![Vec::new()],
            empty: 0,
        }
    }
}

/// Reads the samples of `out`'s input into it.
fn read_samples(mut out: RawSamples<'_>) -> Result<RawSamples<'_>, Problem> {
    let data = out.data;
    let mut set_ids: FxHashMap<Vec<RawLabel>, LabelSetId> = FxHashMap::default();
    // A sample's ids when they come in more than one field, packed together here.
    let mut joined: Vec<u8> = Vec::new();
    let mut values: Vec<i64> = Vec::with_capacity(4);
    let mut labels: Vec<(RawLabel, usize)> = Vec::new();
    let mut set_key: Vec<RawLabel> = Vec::new();
    // Sample types declared, and the value counts of the first sample and the first that
    // differs from it, checked against the declaration at the end (it may come later).
    let mut declared = 0usize;
    let mut first: Option<(usize, usize)> = None;
    let mut differing: Option<(usize, usize)> = None;
    let mut top = Message::new(data);
    loop {
        let offset = top.offset();
        let Some(key) = top.key()? else { break };
        if key != KEY_LEN_2 {
            declared += usize::from(key == KEY_LEN_1);
            if key & 7 == u64::from(super::wire::LEN) {
                // Locations, functions and strings, mostly: skipped on the short path.
                top.value_message(key >> 3)?;
            } else {
                top.skip_value(key)?;
            }
            continue;
        }
        let mut m = top.value_message(2)?;
        let mut ids: &[u8] = &[];
        let mut ids_at = 0;
        let mut runs = 0;
        joined.clear();
        values.clear();
        labels.clear();
        loop {
            let at = m.offset();
            let Some(key) = m.key()? else { break };
            match key {
                KEY_LEN_1 => {
                    let run = m.value_message(1)?;
                    let run_at = run.offset();
                    let run = run.as_slice();
                    // The last byte must end a varint (the rest is checked when decoded):
                    // else reading the run strictly names where the cut-off number starts.
                    if run.last().is_some_and(|&b| b >= 0x80) {
                        let strict = Message::within(data, run_at, run_at + run.len());
                        strict.packed_varints(drop)?;
                    }
                    if runs > 0 {
                        joined.extend_from_slice(ids);
                        joined.extend_from_slice(run);
                        ids = &[];
                    } else {
                        ids = run;
                        ids_at = run_at;
                    }
                    runs += 1;
                }
                KEY_VARINT_1 => {
                    let id = m.value_varint()?;
                    joined.extend_from_slice(ids);
                    ids = &[];
                    push_varint(&mut joined, id);
                    runs += 1;
                }
                KEY_LEN_2 => m
                    .value_message(2)?
                    .packed_varints(|v| values.push(v as i64))?,
                KEY_VARINT_2 => values.push(m.value_varint()? as i64),
                KEY_LEN_3 => labels.push((RawLabel::read(m.value_message(3)?)?, at)),
                _ => m.skip_value(key)?,
            }
        }
        // The ids as a span of the input, or of the joined ids kept for the stack if it is new.
        let span = if joined.is_empty() {
            (ids_at, ids_at + ids.len())
        } else {
            let start = out.joined.len();
            out.joined.extend_from_slice(&joined);
            (start | JOINED, out.joined.len())
        };
        let ids_len = span.1 - (span.0 & !JOINED);
        let n = match first {
            Some((_, n)) => n,
            None => {
                first = Some((offset, values.len()));
                out.n = values.len();
                values.len()
            }
        };
        if values.len() != n {
            differing = differing.or(Some((offset, values.len())));
            continue;
        }
        let set = if labels.is_empty() {
            0
        } else {
            labels.sort_unstable();
            set_key.clear();
            set_key.extend(labels.iter().map(|&(label, _)| label));
            match set_ids.get(&set_key) {
                Some(&id) => id,
                None => {
                    let id = out.label_sets.len() as LabelSetId;
                    out.label_sets.push(labels.clone());
                    set_ids.insert(set_key.clone(), id);
                    id
                }
            }
        };
        // (Its labels were still read, so their strings are checked like every other's.)
        if ids_len == 0 {
            out.empty += 1;
            continue;
        }
        if !out.add(span, set, &values, offset) && span.0 & JOINED != 0 {
            // Joined ids are kept only for a new stack.
            out.joined.truncate(span.0 & !JOINED);
        }
    }
    let wrong_count = |(offset, n): (usize, usize)| {
        Problem::at_byte(
            offset,
            format!("sample has {n} values but the profile declares {declared} sample types"),
        )
    };
    if let Some(first) = first.filter(|&(_, n)| n != declared) {
        return Err(wrong_count(first));
    }
    if let Some(differing) = differing {
        return Err(wrong_count(differing));
    }
    Ok(out)
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A sample label as written: string indices not yet checked against the table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct RawLabel {
    key: i64,
    text: i64,
    num: i64,
    unit: i64,
}

impl RawLabel {
    fn read(mut m: Message<'_>) -> Result<RawLabel, Problem> {
        let mut label = RawLabel {
            key: 0,
            text: 0,
            num: 0,
            unit: 0,
        };
        while let Some(g) = m.next_field()? {
            match g.number {
                1 => label.key = g.int("Label.key")?,
                2 => label.text = g.int("Label.str")?,
                3 => label.num = g.int("Label.num")?,
                4 => label.unit = g.int("Label.num_unit")?,
                _ => {}
            }
        }
        Ok(label)
    }

    /// The label, its strings checked; `offset` is where it was read.
    fn resolve(self, offset: usize, table: &Table) -> Result<Label, Problem> {
        let string = |index: i64, what: &str| table.id(StrRef { index, offset }, what);
        let key = string(self.key, "Label.key")?;
        let text = string(self.text, "Label.str")?;
        let unit = string(self.unit, "Label.num_unit")?;
        // pprof: a label has either a string or a number; an empty string means a number.
        let value = if text != 0 {
            LabelValue::Str(text)
        } else {
            LabelValue::Num {
                value: self.num,
                unit,
            }
        };
        Ok(Label { key, value })
    }
}

/// Every location's frames (leaf first): location id -> a range of frame ids.
struct Locations {
    index: LocationIndex,
    /// For ids numbered densely (the common case), per id: its frame when it has exactly
    /// one, else [`SEVERAL`] or [`UNDEFINED`]. Empty for sparse ids.
    direct: Vec<FrameId>,
}

const SEVERAL: FrameId = FrameId::MAX - 1;
const UNDEFINED: FrameId = FrameId::MAX;

impl Locations {
    /// Numbers the frames of `raw` as [`build_tables`] pushes them: in table order, each
    /// location's lines, or one frame for a location without any. Needs nothing else, so
    /// the stacks can be decoded while the rest of the tables is built.
    fn number(raw: &RawLocations) -> Self {
        let mut ranges = Vec::with_capacity(raw.locations.len());
        let mut next: u32 = 0;
        for location in &raw.locations {
            let frames = (location.lines.1 - location.lines.0).max(1);
            let end = next.saturating_add(frames);
            ranges.push((location.id, next, end));
            next = end;
        }
        let index = LocationIndex::new(&ranges);
        let direct = match &index {
            LocationIndex::Dense(ranges) => ranges
                .iter()
                .map(|&(start, end)| {
                    if (start, end) == LocationIndex::MISSING {
                        UNDEFINED
                    } else if end == start + 1 && start < SEVERAL {
                        start
                    } else {
                        SEVERAL
                    }
                })
                .collect(),
            LocationIndex::Sparse(_) => Vec::new(),
        };
        Locations { index, direct }
    }

    /// The frames of packed location ids `ids`, written at the start of `space` (as long as
    /// `ids`), when every id is short and has one frame (the common case); gives how many.
    #[inline]
    fn decode_short(&self, ids: &[u8], space: &mut [FrameId]) -> Option<usize> {
        let (mut i, mut n) = (0, 0);
        while i < ids.len() {
            let (id, len) = short_varint(&ids[i..])?;
            let frame = *self.direct.get(id as usize)?;
            if frame >= SEVERAL {
                return None;
            }
            *space.get_mut(n)? = frame;
            n += 1;
            i += len;
        }
        Some(n)
    }

    /// Appends the frames of packed location ids `ids` to `out`, which may hold no more than
    /// `limit` frames (inlined chains can make a small record a huge stack).
    fn decode(&self, ids: &[u8], out: &mut Vec<FrameId>, limit: usize) -> Result<(), BadStack> {
        let mut i = 0;
        while i < ids.len() {
            let (id, len) = match short_varint(&ids[i..]) {
                Some(short) => short,
                None => long_varint(&ids[i..]).ok_or(BadStack::Malformed)?,
            };
            i += len;
            match self.direct.get(id as usize) {
                Some(&frame) if frame < SEVERAL && out.len() < limit => out.push(frame),
                _ => match self.index.get(id) {
                    Some((start, end)) if out.len() + (end - start) as usize <= limit => {
                        out.extend(start..end)
                    }
                    Some(_) => return Err(BadStack::TooMany),
                    None => return Err(BadStack::Undefined(id)),
                },
            }
        }
        Ok(())
    }
}

/// Why a stack's location ids could not be decoded.
enum BadStack {
    /// A location the profile does not define.
    Undefined(u64),
    /// An id that is not a varint.
    Malformed,
    /// The frames would pass [`MAX_FRAMES`].
    TooMany,
}

/// A varint at the start of `bytes` and its length, or `None` if it is malformed.
#[cold]
fn long_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The error for the sample at `offset`, whose location ids could not be decoded.
#[cold]
fn sample_error(data: &[u8], offset: usize, bad: BadStack) -> Problem {
    match bad {
        BadStack::Undefined(id) => {
            return Problem::at_byte(
                offset,
                format!("sample refers to location {id}, which the profile does not define"),
            );
        }
        BadStack::TooMany => return too_many_frames(),
        BadStack::Malformed => {}
    }
    // Read the sample again, strictly, to name the place of the malformed id.
    let mut top = Message::within(data, offset, data.len());
    let mut strict = || -> Result<(), Problem> {
        let Some(key) = top.key()? else { return Ok(()) };
        let mut m = top.value_message(key >> 3)?;
        while let Some(key) = m.key()? {
            match key {
                KEY_LEN_1 => m.value_message(1)?.packed_varints(drop)?,
                _ => m.skip_value(key)?,
            }
        }
        Ok(())
    };
    match strict() {
        Err(problem) => problem,
        Ok(()) => Problem::at_byte(offset, "sample holds a malformed location id"),
    }
}

/// Location id -> range of frames. Writers number locations 1..n, so a dense table is the
/// common case; sparse ids fall back to a hash map.
enum LocationIndex {
    Dense(Vec<(u32, u32)>),
    Sparse(FxHashMap<u64, (u32, u32)>),
}

impl LocationIndex {
    const MISSING: (u32, u32) = (u32::MAX, u32::MAX);

    fn new(ranges: &[(u64, u32, u32)]) -> Self {
        let max = ranges.iter().map(|r| r.0).max().unwrap_or(0);
        if max <= 2 * ranges.len() as u64 + 1024 {
            let mut dense = vec![Self::MISSING; max as usize + 1];
            for &(id, start, end) in ranges {
                dense[id as usize] = (start, end);
            }
            LocationIndex::Dense(dense)
        } else {
            LocationIndex::Sparse(ranges.iter().map(|&(id, s, e)| (id, (s, e))).collect())
        }
    }

    fn get(&self, id: u64) -> Option<(u32, u32)> {
        match self {
            LocationIndex::Dense(d) => d.get(id as usize).copied().filter(|&r| r != Self::MISSING),
            LocationIndex::Sparse(m) => m.get(&id).copied(),
        }
    }
}

/// Keys (`field << 3 | wire type`) the hot decoders dispatch on.
const KEY_VARINT_1: u64 = 1 << 3;
const KEY_VARINT_2: u64 = 2 << 3;
const KEY_VARINT_3: u64 = 3 << 3;
const KEY_VARINT_4: u64 = 4 << 3;
const KEY_VARINT_5: u64 = 5 << 3;
const KEY_LEN_1: u64 = (1 << 3) | 2;
const KEY_LEN_2: u64 = (2 << 3) | 2;
const KEY_LEN_3: u64 = (3 << 3) | 2;
const KEY_LEN_4: u64 = (4 << 3) | 2;
const KEY_LEN_5: u64 = (5 << 3) | 2;
const KEY_LEN_6: u64 = (6 << 3) | 2;
