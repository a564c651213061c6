//! pprof: the `profile.proto` format written by Go's `runtime/pprof`, `pprof-rs`, gperftools,
//! async-profiler and most continuous profilers (<https://github.com/google/pprof/blob/main/proto/profile.proto>).
//!
//! Two passes over the message: the first reads the string table, functions, mappings and
//! locations (which the format allows in any order); the second threads each sample's locations
//! into the stack tree. A location with several lines is an inlined call chain: `line[0]` is the
//! innermost function, the last line the function it was inlined into.

use rustc_hash::FxHashMap;

use super::wire::{LEN, Message, VARINT};
use super::{Problem, ReadOptions, Reader};
use crate::model::{
    Format, FrameId, Function, Label, LabelSetId, LabelValue, MAX_FRAMES, Profile, ProfileBuilder,
    StackTable, StrId, Strings,
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

struct RawFunction<'a> {
    id: u64,
    message: Message<'a>,
}

fn decode(data: &[u8]) -> Result<Profile, Problem> {
    let mut string_spans: Vec<(usize, usize)> = Vec::new();
    let mut string_bytes = 0usize;
    let mut sample_types: Vec<(StrRef, StrRef)> = Vec::new();
    let mut functions: Vec<RawFunction<'_>> = Vec::new();
    let mut locations: Vec<Message<'_>> = Vec::new();
    let mut mappings: Vec<(u64, StrRef)> = Vec::new();
    let mut comments: Vec<StrRef> = Vec::new();
    let mut default_sample_type = StrRef::default();
    let mut period_type: Option<(StrRef, StrRef)> = None;
    let (mut period, mut time_nanos, mut duration_nanos) = (0i64, 0i64, 0i64);
    let mut samples: Vec<(usize, Message<'_>)> = Vec::new();

    // Pass 1: everything but the samples, which need the tables first.
    let mut top = Message::new(data);
    while let Some(f) = top.next_field()? {
        match f.number {
            1 => sample_types.push(value_type(f.message("sample_type")?)?),
            2 => {
                samples.push((f.offset, f.message("sample")?));
            }
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
                mappings.push((id, file));
            }
            4 => locations.push(f.message("location")?),
            5 => {
                let message = f.message("function")?;
                let mut m = message;
                let mut id = 0;
                while let Some(g) = m.next_field()? {
                    if g.number == 1 {
                        id = g.uint("Function.id")?;
                        break;
                    }
                }
                functions.push(RawFunction { id, message });
            }
            6 => {
                let s = f.message("string_table")?;
                let start = s.offset();
                string_spans.push((start, start + s.as_slice().len()));
                string_bytes += s.as_slice().len();
            }
            9 => time_nanos = f.int("time_nanos")?,
            10 => duration_nanos = f.int("duration_nanos")?,
            11 => period_type = Some(value_type(f.message("period_type")?)?),
            12 => period = f.int("period")?,
            13 => f.repeated_varint("comment", |v| {
                comments.push(StrRef {
                    index: v as i64,
                    offset: f.offset,
                })
            })?,
            14 => default_sample_type = str_ref(&f, "default_sample_type")?,
            _ => {}
        }
    }
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
    let mut strings = Strings::with_capacity(string_spans.len().max(1), string_bytes);
    if string_spans.is_empty() {
        strings.push("");
    }
    for &(start, end) in &string_spans {
        match std::str::from_utf8(&data[start..end]) {
            Ok(s) => strings.push(s),
            Err(_) => strings.push(&String::from_utf8_lossy(&data[start..end])),
        };
    }
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

    // Functions, in table order; pprof writers keep them distinct, so no deduplication.
    let function_index = IdIndex::new(functions.iter().map(|f| f.id), functions.len());
    for raw in &functions {
        let mut m = raw.message;
        let mut function = Function {
            name: 0,
            system_name: 0,
            file: 0,
            start_line: 0,
            module: 0,
        };
        loop {
            let at = m.offset();
            let Some(key) = m.key()? else { break };
            let string = |index: u64, what: &str| {
                table.id(
                    StrRef {
                        index: index as i64,
                        offset: at,
                    },
                    what,
                )
            };
            match key {
                KEY_VARINT_2 => function.name = string(m.value_varint()?, "Function.name")?,
                KEY_VARINT_3 => {
                    function.system_name = string(m.value_varint()?, "Function.system_name")?
                }
                KEY_VARINT_4 => function.file = string(m.value_varint()?, "Function.filename")?,
                KEY_VARINT_5 => {
                    function.start_line = u32::try_from(m.value_varint()? as i64).unwrap_or(0)
                }
                _ => m.skip_value(key)?,
            }
        }
        builder.push_function(function);
    }
    let mapping_index = IdIndex::new(mappings.iter().map(|m| m.0), mappings.len());
    let mut mapping_files: Vec<StrId> = Vec::with_capacity(mappings.len());
    for &(_, file) in &mappings {
        mapping_files.push(table.id(file, "Mapping.filename")?);
    }

    // Location id -> its frames (leaf first) as a range of `location_frames`.
    let mut location_frames: Vec<FrameId> = Vec::new();
    let mut ranges: Vec<(u64, u32, u32)> = Vec::with_capacity(locations.len());
    let ctx = LocationContext {
        function_index: &function_index,
        mapping_index: &mapping_index,
        mapping_files: &mapping_files,
    };
    for m in &locations {
        let start = location_frames.len() as u32;
        let id = decode_location(*m, &ctx, &mut builder, &mut location_frames)?;
        ranges.push((id, start, location_frames.len() as u32));
    }
    let location_index = LocationIndex::new(&ranges);

    let tables = SampleTables {
        location_frames: &location_frames,
        location_index: &location_index,
        table: &table,
        n: builder.sample_type_count(),
    };
    // (Decoding the samples in two halves on two threads was measured slower on large.cpu:
    // the merge and the second thread's fresh memory cost more than the half it saved.)
    let chunks = [decode_samples(&samples, &tables)];
    let mut empty_stacks = 0usize;
    for chunk in chunks {
        let chunk = chunk?;
        empty_stacks += chunk.empty;
        builder.absorb(chunk.stacks, &chunk.label_sets);
    }
    if empty_stacks > 0 {
        builder.warn(format!(
            "{empty_stacks} samples have no locations and were left out"
        ));
    }
    Ok(builder.finish())
}

/// What decoding samples needs from the rest of the profile.
struct SampleTables<'a> {
    location_frames: &'a [FrameId],
    location_index: &'a LocationIndex,
    table: &'a Table,
    n: usize,
}

/// Decoded samples: a table of distinct stacks with the label sets its ids refer to, merged
/// into the builder's afterwards (a move when, as here, it is the only one).
struct SampleChunk {
    stacks: StackTable,
    label_sets: Vec<Vec<Label>>,
    empty: usize,
}

fn decode_samples(
    samples: &[(usize, Message<'_>)],
    t: &SampleTables<'_>,
) -> Result<SampleChunk, Problem> {
    let bytes: usize = samples.iter().map(|(_, m)| m.as_slice().len()).sum();
    let mut chunk = SampleChunk {
        stacks: StackTable::new(t.n),
        label_sets: vec![Vec::new()],
        empty: 0,
    };
    // Room for the common case (writers merge identical stacks, so records are mostly
    // distinct), capped so a file of repeated records does not reserve what it will not use.
    chunk
        .stacks
        .reserve(samples.len().min(1 << 16), bytes.min(1 << 20));
    let mut set_ids: FxHashMap<Vec<Label>, LabelSetId> = FxHashMap::default();
    let mut frames: Vec<FrameId> = Vec::new();
    let mut values: Vec<i64> = Vec::with_capacity(t.n);
    let mut labels: Vec<Label> = Vec::new();
    for &(offset, message) in samples {
        let mut m = message;
        frames.clear();
        values.clear();
        labels.clear();
        let mut missing = None;
        let mut too_deep = false;
        let mut push_location = |id: u64| match t.location_index.get(id) {
            // Inline chains times repeated locations can multiply a small record into a huge
            // stack; stop at the model's budget.
            Some((start, end)) if frames.len() + (end - start) as usize > MAX_FRAMES => {
                too_deep = true;
            }
            // Most locations have one line: a push beats a memmove call.
            Some((start, end)) => {
                for &frame in &t.location_frames[start as usize..end as usize] {
                    frames.push(frame);
                }
            }
            None => missing = missing.or(Some(id)),
        };
        while let Some(key) = m.key()? {
            match key {
                KEY_LEN_1 => m.value_message(1)?.packed_varints(&mut push_location)?,
                KEY_VARINT_1 => push_location(m.value_varint()?),
                KEY_LEN_2 => m
                    .value_message(2)?
                    .packed_varints(|v| values.push(v as i64))?,
                KEY_VARINT_2 => values.push(m.value_varint()? as i64),
                KEY_LEN_3 => labels.push(decode_label(m.value_message(3)?, t.table)?),
                _ => m.skip_value(key)?,
            }
        }
        if let Some(id) = missing {
            return Err(Problem::at_byte(
                offset,
                format!("sample refers to location {id}, which the profile does not define"),
            ));
        }
        if too_deep {
            return Err(Problem::at_byte(
                offset,
                format!(
                    "sample's locations expand to more than {MAX_FRAMES} frames; refusing it as hostile"
                ),
            ));
        }
        if values.len() != t.n {
            return Err(Problem::at_byte(
                offset,
                format!(
                    "sample has {} values but the profile declares {} sample types",
                    values.len(),
                    t.n
                ),
            ));
        }
        if frames.is_empty() {
            chunk.empty += 1;
            continue;
        }
        let set = if labels.is_empty() {
            0
        } else {
            labels.sort();
            *set_ids.entry(labels.clone()).or_insert_with(|| {
                chunk.label_sets.push(labels.clone());
                (chunk.label_sets.len() - 1) as LabelSetId
            })
        };
        chunk.stacks.add(&frames, set, &values);
    }
    Ok(chunk)
}

fn decode_label(mut m: Message<'_>, table: &Table) -> Result<Label, Problem> {
    let (mut key, mut text, mut num, mut unit) = (0, None, 0i64, 0);
    while let Some(g) = m.next_field()? {
        match g.number {
            1 => key = table.id(str_ref(&g, "Label.key")?, "Label.key")?,
            2 => text = Some(table.id(str_ref(&g, "Label.str")?, "Label.str")?),
            3 => num = g.int("Label.num")?,
            4 => unit = table.id(str_ref(&g, "Label.num_unit")?, "Label.num_unit")?,
            _ => {}
        }
    }
    // pprof: a label has either a string or a number; an empty string means a number.
    let value = match text {
        Some(s) if s != 0 => LabelValue::Str(s),
        _ => LabelValue::Num { value: num, unit },
    };
    Ok(Label { key, value })
}

struct LocationContext<'a> {
    function_index: &'a IdIndex,
    mapping_index: &'a IdIndex,
    mapping_files: &'a [StrId],
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

fn decode_location(
    m: Message<'_>,
    ctx: &LocationContext<'_>,
    builder: &mut ProfileBuilder,
    out: &mut Vec<FrameId>,
) -> Result<u64, Problem> {
    // Two walks over the (small) message: the mapping is needed before the lines, and writers
    // need not put it first. Keys are dispatched directly (this runs once per location).
    let (mut id, mut mapping, mut address) = (0u64, 0u64, 0u64);
    let mut fields = m;
    while let Some(key) = fields.key()? {
        match key {
            KEY_VARINT_1 => id = fields.value_varint()?,
            KEY_VARINT_2 => mapping = fields.value_varint()?,
            KEY_VARINT_3 => address = fields.value_varint()?,
            _ => fields.skip_value(key)?,
        }
    }
    let module = ctx
        .mapping_index
        .get(mapping)
        .map(|i| ctx.mapping_files[i as usize])
        .unwrap_or(0);
    let start = out.len();
    let mut fields = m;
    loop {
        let at = fields.offset();
        let Some(key) = fields.key()? else { break };
        if key != KEY_LEN_4 {
            fields.skip_value(key)?;
            continue;
        }
        let mut line = fields.value_message(4)?;
        let (mut function, mut number) = (0u64, 0i64);
        while let Some(key) = line.key()? {
            match key {
                KEY_VARINT_1 => function = line.value_varint()?,
                KEY_VARINT_2 => number = line.value_varint()? as i64,
                _ => line.skip_value(key)?,
            }
        }
        let function = ctx.function_index.get(function).ok_or_else(|| {
            Problem::at_byte(
                at,
                format!(
                    "location line refers to function {function}, which the profile does not define"
                ),
            )
        })?;
        if module != 0 {
            builder.set_function_module(function, module);
        }
        out.push(builder.push_frame(function, u32::try_from(number).unwrap_or(0)));
    }
    if out.len() == start {
        // Unsymbolized: name the frame by its address, as pprof does, with the binary it is in.
        let object = builder.string(module).to_string();
        let base = object.rsplit('/').next().unwrap_or("");
        let name = if base.is_empty() {
            format!("0x{address:x}")
        } else {
            format!("{base} 0x{address:x}")
        };
        let function = builder.function_in(&name, &name, "", 0, &object);
        out.push(builder.frame(function, 0));
    }
    Ok(id)
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
