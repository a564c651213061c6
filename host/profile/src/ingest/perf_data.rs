//! `perf.data`, read directly (linux-perf-data) and symbolized from the binaries' own debug
//! information ([`crate::symbolize`]): each sample's callchain becomes a stack whose frames
//! include the calls inlined at each address, with their source files and lines.
//!
//! The stacks are shaped as the `perf script` reader shapes them, so one capture read either
//! way names the same functions: leaf first, the thread's command name (`comm`, spaces as `_`)
//! as the root frame, the labels `comm`, `pid` and `tid`, the sample types `samples/count` and
//! the event's (`cpu-clock/nanoseconds`, `cycles/events`, ...), one sample per record with
//! values `[1, period]`, only the first event's samples unless [`ReadOptions::event`] names
//! one. Beyond `perf script`, a frame-pointer capture of a release build gets back the
//! functions inlined into their callers, and every frame its file and line; `profile.lines`
//! works as for pprof.
//!
//! Addresses the binaries do not cover stay frames of their own, named by module as `perf
//! script` names them (`[libc.so.6]`, `[vdso]`, `[kernel.kallsyms]`, `[unknown]`), so no
//! sample is lost. Binaries that cannot be found, and compressed records (`perf record -z`),
//! are warnings on the profile that say what to do.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::PathBuf;

use linux_perf_data::linux_perf_event_reader::{
    CommonData, CpuMode, EventRecord, Mmap2FileId, RawData,
};
use linux_perf_data::{DsoKey, PerfFileReader, PerfFileRecord, UserRecordType};

use super::{Problem, ReadOptions, Reader};
use crate::model::{Format, FrameId, LabelSetId, Profile, ProfileBuilder};
use crate::symbolize::{Kallsyms, Locator, Symbolizer};

pub struct PerfData;

/// The two magic values: little- and big-endian.
const MAGIC: [&[u8; 8]; 2] = [b"PERFILE2", b"2ELIFREP"];

impl Reader for PerfData {
    fn format(&self) -> Format {
        Format::PerfData
    }

    fn sniff(&self, head: &[u8]) -> bool {
        MAGIC.iter().any(|m| head.starts_with(*m))
    }

    fn read(&self, data: &[u8], options: &ReadOptions) -> Result<Profile, Problem> {
        read_with(data, options, Locator::new(&options.symbol_paths))
    }
}

/// A mapping of a file (or anonymous memory) into a process.
#[derive(Clone, Copy, Debug)]
struct Map {
    start: u64,
    end: u64,
    page_offset: u64,
    dso: u32,
}

/// A mapped file: where it was and its build id (when perf recorded one).
struct Dso {
    path: String,
    build_id: Vec<u8>,
    /// `[libc.so.6]`: what its unsymbolized frames are called.
    unknown_name: String,
}

#[derive(Default, Clone)]
struct Process {
    maps: Vec<Map>,
}

impl Process {
    /// Adds a mapping, replacing whatever it overlaps (a new mapping of the same range).
    fn map(&mut self, map: Map) {
        self.maps
            .retain(|m| m.end <= map.start || m.start >= map.end);
        let at = self.maps.partition_point(|m| m.start < map.start);
        self.maps.insert(at, map);
    }

    fn find(&self, address: u64) -> Option<&Map> {
        let i = self.maps.partition_point(|m| m.start <= address);
        self.maps[..i].last().filter(|m| address < m.end)
    }
}

/// Frames shown per stack at most: a callchain from a hostile file can be any length.
const MAX_STACK: usize = 4096;

/// perf's callchain context markers: values at or above this are not addresses.
const PERF_CONTEXT_MAX: u64 = -4095i64 as u64;
const PERF_CONTEXT_KERNEL: u64 = -128i64 as u64;
const PERF_CONTEXT_USER: u64 = -512i64 as u64;
const PERF_CONTEXT_GUEST_KERNEL: u64 = -2176i64 as u64;
const PERF_CONTEXT_GUEST_USER: u64 = -2560i64 as u64;

/// Functions (with the leaf they called) read for the inlined functions around the leaf's
/// calls, at most, in one profile: a program's hot leaves and their callers are a few hundred.
const MAX_LEAF_SCANS: usize = 4096;

/// A function given back between a frameless leaf and the first return address: its symbol,
/// its start address in its binary, and its frame.
type Callee = (String, u64, FrameId);

struct State<'o> {
    options: &'o ReadOptions,
    builder: ProfileBuilder,
    symbolizer: Symbolizer,
    dsos: Vec<Dso>,
    dso_index: HashMap<String, u32>,
    build_ids: HashMap<String, Vec<u8>>,
    processes: HashMap<i32, Process>,
    kernel: Process,
    comms: HashMap<i32, String>,
    /// (comm, pid, tid) -> (root frame, labels).
    threads: HashMap<(String, i32, i32), (FrameId, LabelSetId)>,
    /// (dso, address looked up, pid for anonymous memory) -> frames, innermost first.
    frames: HashMap<(u32, u64, i32), Vec<FrameId>>,
    /// Per process, the JIT symbol map it wrote (`/tmp/perf-PID.map`), read on first use.
    jit_maps: HashMap<i32, Option<JitMap>>,
    unknown_frame: Option<FrameId>,
    /// The running kernel's symbols, read on the first kernel frame (when it is the kernel
    /// recorded).
    kallsyms: Option<Option<&'static Kallsyms>>,
    stack: Vec<FrameId>,
    /// (dso, return address) -> the function a direct call just before it called, and its
    /// frame: for the caller a frame-pointer unwind lost ([`State::lost_caller`]).
    callees: HashMap<(u32, u64), Option<Callee>>,
    /// The frames of the calls of a leaf (by name) in a function (by binary and start),
    /// inlined ones first, when they are known ([`crate::symbolize::Binary::calls_of`]).
    leaf_calls: HashMap<(u32, u64, String), Option<Vec<FrameId>>>,
    /// The function (by its binary's symbols, a PLT stub by what it is bound to) at each
    /// sampled address a lost caller was looked for under, by binary and file offset: most
    /// samples repeat an address, and naming one demangles.
    leaf_names: HashMap<(u32, u64), Option<String>>,
    /// Stacks given back the frame of a leaf's caller.
    restored: u64,
    first_time: Option<u64>,
    last_time: Option<u64>,
    lost: u64,
}

/// Checks the parts of a perf.data file whose sizes and counts the reader allocates by before
/// reading (sections, feature sections, event descriptions, AUX trace records), so that a
/// hostile count is an error naming its byte offset, not an allocation that aborts the host.
fn check_layout(data: &[u8]) -> Result<(), Problem> {
    let big = data.starts_with(MAGIC[1]);
    // The unsigned integer of `N` bytes at `at`, in the file's byte order.
    let int = |at: usize, n: usize| -> Option<u64> {
        let bytes = data.get(at..at.checked_add(n)?)?;
        let fold = |v: u64, &b: &u8| (v << 8) | u64::from(b);
        Some(if big {
            bytes.iter().fold(0, fold)
        } else {
            bytes.iter().rev().fold(0, fold)
        })
    };
    let u64_at = |at: usize| int(at, 8);
    let u32_at = |at: usize| int(at, 4).map(|v| v as u32);
    let u16_at = |at: usize| int(at, 2).map(|v| v as u16);
    let len = data.len() as u64;
    let short =
        |at: usize, what: &str| Problem::at_byte(at, format!("the file ends inside {what}"));
    // A section: (offset, size) at `at`, which must lie within the file.
    let section = |at: usize, what: &str| -> Result<(u64, u64), Problem> {
        let offset = u64_at(at).ok_or_else(|| short(at, what))?;
        let size = u64_at(at + 8).ok_or_else(|| short(at + 8, what))?;
        match offset.checked_add(size) {
            Some(end) if end <= len => Ok((offset, size)),
            _ => Err(Problem::at_byte(
                at,
                format!(
                    "{what} (offset {offset}, {size} bytes) lies outside the file ({len} bytes)"
                ),
            )),
        }
    };
    let header = u64_at(8).ok_or_else(|| short(8, "the header"))?;
    if !(104..=4096).contains(&header) || header > len {
        return Err(Problem::at_byte(
            8,
            format!("a header of {header} bytes (perf writes 104)"),
        ));
    }
    let attr_size = u64_at(16).ok_or_else(|| short(16, "the header"))?;
    if !(64..=4096).contains(&attr_size) {
        return Err(Problem::at_byte(
            16,
            format!("event attributes of {attr_size} bytes (perf writes 64 to a few hundred)"),
        ));
    }
    section(24, "the attribute section")?;
    let (data_offset, data_len) = section(40, "the data section")?;
    let (types_offset, types_len) = section(56, "the event types section")?;
    // Each event type entry: an attribute, then the section of its ids.
    let entry = attr_size + 16;
    for i in 0..types_len / entry {
        let at = (types_offset + i * entry + attr_size) as usize;
        section(at, "an event type's ids")?;
    }
    // The feature sections: one (offset, size) per feature bit, after the data section.
    let mut features = Vec::new();
    for word in 0..4 {
        let bits = u64_at(72 + word * 8).ok_or_else(|| short(72 + word * 8, "the header"))?;
        for bit in 0..64 {
            if bits & (1 << bit) != 0 {
                features.push(word as u32 * 64 + bit);
            }
        }
    }
    let table = (data_offset + data_len) as usize;
    for (i, &feature) in features.iter().enumerate() {
        let at = table + i * 16;
        let (offset, size) = section(at, "a feature section")?;
        const EVENT_DESC: u32 = 12;
        if feature == EVENT_DESC {
            // nr, attr size, then per event: attr, nr_ids, string (len, bytes), ids.
            let (start, end) = (offset as usize, (offset + size) as usize);
            let bad = |at: usize, what: &str| {
                Problem::at_byte(
                    at,
                    format!("the event descriptions: {what} run past their section"),
                )
            };
            let nr = u32_at(start).ok_or_else(|| bad(start, "the count"))? as usize;
            let attr =
                u32_at(start + 4).ok_or_else(|| bad(start + 4, "the attribute size"))? as usize;
            if !(64..=4096).contains(&attr) {
                return Err(Problem::at_byte(
                    start + 4,
                    format!("event descriptions with attributes of {attr} bytes"),
                ));
            }
            let mut at = start + 8;
            for _ in 0..nr {
                at = at
                    .checked_add(attr)
                    .filter(|&a| a <= end)
                    .ok_or_else(|| bad(at, "the attributes"))?;
                let ids = u32_at(at)
                    .filter(|_| at + 4 <= end)
                    .ok_or_else(|| bad(at, "the id counts"))? as usize;
                at += 4;
                let text = u32_at(at)
                    .filter(|_| at + 4 <= end)
                    .ok_or_else(|| bad(at, "the names"))? as usize;
                at = (at + 4)
                    .checked_add(text)
                    .and_then(|a| a.checked_add(ids.checked_mul(8)?))
                    .filter(|&a| a <= end)
                    .ok_or_else(|| bad(at, "the names and ids"))?;
            }
        }
    }
    // The records: each header's size must advance, an AUX trace record's data (a 64-bit
    // size of its own) must lie within the data section, and compressed records must not
    // expand past the budget.
    const PERF_RECORD_AUXTRACE: u32 = 71;
    const PERF_RECORD_COMPRESSED: u32 = 81;
    const PERF_RECORD_COMPRESSED2: u32 = 83;
    let mut inflate = Inflate::new(len);
    let (mut at, end) = (data_offset as usize, (data_offset + data_len) as usize);
    while at + 8 <= end {
        let kind = u32_at(at).ok_or_else(|| short(at, "a record"))?;
        let size = u16_at(at + 6).ok_or_else(|| short(at + 6, "a record"))? as usize;
        if size < 8 {
            break;
        }
        let mut next = at + size;
        if kind == PERF_RECORD_COMPRESSED || kind == PERF_RECORD_COMPRESSED2 {
            let body = data.get(at + 8..next.min(end)).unwrap_or_default();
            let compressed = if kind == PERF_RECORD_COMPRESSED {
                body
            } else {
                let size = int(at + 8, 8).unwrap_or(u64::MAX);
                usize::try_from(size)
                    .ok()
                    .and_then(|s| body.get(8..8usize.checked_add(s)?))
                    .unwrap_or_default()
            };
            inflate
                .feed(compressed)
                .map_err(|why| Problem::at_byte(at, why))?;
        }
        if kind == PERF_RECORD_AUXTRACE {
            let aux = u64_at(at + 8).ok_or_else(|| short(at + 8, "an AUX trace record"))?;
            next = usize::try_from(aux)
                .ok()
                .and_then(|a| next.checked_add(a))
                .filter(|&n| n <= end)
                .ok_or_else(|| {
                    Problem::at_byte(
                        at + 8,
                        format!("an AUX trace record of {aux} bytes runs past the data section"),
                    )
                })?;
        }
        at = next;
    }
    Ok(())
}

/// Reads a perf.data file, its binaries looked for by `locator`.
pub(super) fn read_with(
    data: &[u8],
    options: &ReadOptions,
    locator: Locator,
) -> Result<Profile, Problem> {
    // A hostile file must not take the host down: the record parser is a dependency, so a
    // panic in it (an overflow its author did not expect) is caught and reported as the
    // file's problem.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read(data, options, locator)
    }))
    .unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Problem::whole(format!(
            "perf.data could not be read (the record parser failed: {why})"
        )))
    })
}

/// What the compressed records of a file expand to, counted as they are decompressed and
/// refused past a budget: 64 times the file, and at least 256 MiB (perf's own compression of
/// its records is a few times; a bomb is thousands).
pub(super) struct Inflate {
    context: Option<zstd_safe::DCtx<'static>>,
    buffer: Vec<u8>,
    total: u64,
    budget: u64,
}

impl Inflate {
    pub(super) fn new(file_len: u64) -> Self {
        Inflate {
            context: None,
            buffer: Vec::new(),
            total: 0,
            budget: file_len.saturating_mul(64).max(256 << 20),
        }
    }

    pub(super) fn feed(&mut self, compressed: &[u8]) -> Result<(), String> {
        let context = self.context.get_or_insert_with(zstd_safe::DCtx::create);
        if self.buffer.is_empty() {
            self.buffer = vec![0; 1 << 20];
        }
        let mut input = zstd_safe::InBuffer::around(compressed);
        loop {
            let mut output = zstd_safe::OutBuffer::around(&mut self.buffer[..]);
            context
                .decompress_stream(&mut output, &mut input)
                .map_err(|code| {
                    format!(
                        "a compressed record does not decompress ({})",
                        zstd_safe::get_error_name(code)
                    )
                })?;
            let produced = output.pos();
            self.total += produced as u64;
            if self.total > self.budget {
                return Err(format!(
                    "the compressed records expand past {} MiB, 64 times the file: refused as a decompression bomb",
                    self.budget >> 20
                ));
            }
            if produced < self.buffer.len() && input.pos() == compressed.len() {
                return Ok(());
            }
        }
    }
}

fn read(data: &[u8], options: &ReadOptions, locator: Locator) -> Result<Profile, Problem> {
    if data.len() < 104 {
        return Err(Problem::at_byte(
            data.len(),
            "the file ends inside the perf.data header (104 bytes)",
        ));
    }
    check_layout(data)?;
    let PerfFileReader {
        mut perf_file,
        mut record_iter,
    } = PerfFileReader::parse_file(Cursor::new(data))
        .map_err(|e| Problem::whole(format!("not a readable perf.data file: {e}")))?;
    // The event whose samples are read: the one named, else the first.
    let names: Vec<String> = perf_file
        .event_attributes()
        .iter()
        .enumerate()
        .map(|(i, a)| a.name().map_or_else(|| format!("event{i}"), str::to_string))
        .collect();
    let wanted = options
        .event
        .as_deref()
        .map(|e| e.split(':').next().unwrap_or(e).to_string());
    let chosen = match &wanted {
        Some(name) => match names
            .iter()
            .position(|n| n.split(':').next().unwrap_or(n) == name)
        {
            Some(i) => i,
            None => {
                return Err(Problem::whole(format!(
                    "no perf.data samples of event `{name}` (the file has {})",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        },
        None => 0,
    };
    let event = names
        .get(chosen)
        .map(|n| n.split(':').next().unwrap_or(n).to_string())
        .unwrap_or_else(|| "events".to_string());
    let unit = match event.as_str() {
        "cpu-clock" | "task-clock" => "nanoseconds",
        _ => "events",
    };
    let mut builder = ProfileBuilder::new(Format::PerfData);
    builder.set_sample_types(&[("samples", "count"), (&event, unit)], 1);
    let mut build_ids: HashMap<String, Vec<u8>> = HashMap::new();
    if let Ok(ids) = perf_file.build_ids() {
        for (key, info) in ids {
            let path = match key {
                DsoKey::Kernel => "[kernel.kallsyms]".to_string(),
                _ => String::from_utf8_lossy(&info.path).into_owned(),
            };
            build_ids.insert(path, info.build_id);
        }
    }
    let mut state = State {
        options,
        builder,
        symbolizer: Symbolizer::new(locator),
        dsos: Vec::new(),
        dso_index: HashMap::new(),
        build_ids,
        processes: HashMap::new(),
        kernel: Process::default(),
        comms: HashMap::new(),
        threads: HashMap::new(),
        frames: HashMap::new(),
        jit_maps: HashMap::new(),
        unknown_frame: None,
        kallsyms: None,
        stack: Vec::with_capacity(128),
        callees: HashMap::new(),
        leaf_calls: HashMap::new(),
        leaf_names: HashMap::new(),
        restored: 0,
        first_time: None,
        last_time: None,
        lost: 0,
    };
    let mut compressed = 0u64;
    let mut bad = 0u64;
    let mut other_events = 0u64;
    loop {
        let record = match record_iter.next_record(&mut perf_file) {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(e) => {
                let text = e.to_string();
                if text.contains("ompression") {
                    compressed += 1;
                } else {
                    state
                        .builder
                        .warn(format!("the rest of the file could not be read: {text}"));
                }
                break;
            }
        };
        match record {
            PerfFileRecord::EventRecord { attr_index, record } => {
                let parsed = match record.parse() {
                    Ok(parsed) => parsed,
                    Err(_) => {
                        bad += 1;
                        continue;
                    }
                };
                match parsed {
                    EventRecord::Sample(sample) => {
                        if attr_index != chosen {
                            other_events += 1;
                            continue;
                        }
                        let common = record.common_data().unwrap_or_default();
                        state.sample(&sample, &common);
                    }
                    EventRecord::Mmap(m) => {
                        let range = (m.address, m.length, m.page_offset);
                        state.map(m.pid, m.cpu_mode, range, &raw_string(&m.path), None);
                    }
                    EventRecord::Mmap2(m) => {
                        let id = match &m.file_id {
                            Mmap2FileId::BuildId(id) => Some(id.clone()),
                            Mmap2FileId::InodeAndVersion(_) => None,
                        };
                        let range = (m.address, m.length, m.page_offset);
                        state.map(m.pid, m.cpu_mode, range, &raw_string(&m.path), id);
                    }
                    EventRecord::Comm(c) => {
                        state.comms.insert(c.tid, raw_string(&c.name));
                    }
                    EventRecord::Fork(f) => {
                        if f.pid != f.ppid
                            && let Some(parent) = state.processes.get(&f.ppid).cloned()
                        {
                            state.processes.insert(f.pid, parent);
                        }
                        if let Some(comm) = state.comms.get(&f.ptid).cloned() {
                            state.comms.entry(f.tid).or_insert(comm);
                        }
                    }
                    EventRecord::Lost(l) => state.lost += l.count,
                    _ => {}
                }
            }
            PerfFileRecord::UserRecord(record) => {
                if record.record_type == UserRecordType::PERF_COMPRESSED
                    || record.record_type == UserRecordType::PERF_COMPRESSED2
                {
                    compressed += 1;
                }
            }
        }
    }
    let restored = state.restored;
    let mut builder = state.finish_warnings(compressed, bad);
    if !builder.has_samples() {
        let why = if compressed > 0 {
            "its compressed records (perf record -z) could not be decompressed".to_string()
        } else if other_events > 0 {
            format!(
                "the file has samples of other events only; choose one with --event (it has {})",
                names.join(", ")
            )
        } else {
            "the file has no samples".to_string()
        };
        return Err(Problem::whole(format!(
            "no perf.data samples of `{event}`: {why}"
        )));
    }
    builder.add_comment("read from perf.data and symbolized by Joule");
    if restored > 0 {
        builder.add_comment(&format!(
            "{restored} stacks given back the caller of a function sampled before it set up its frame (the direct call before the first return address)"
        ));
    }
    Ok(builder.finish())
}

/// Memory no file backs: where JIT compilers put their code.
/// A symbol without the suffix GCC gives the parts it splits out of a function or the copies
/// it specialises: `work.cold` and `work.part.0` are `work`.
pub(super) fn clone_base(symbol: &str) -> &str {
    [
        ".cold",
        ".part.",
        ".isra.",
        ".constprop.",
        ".lto_priv.",
        ".localalias",
    ]
    .iter()
    .filter_map(|s| symbol.find(s))
    .min()
    .map_or(symbol, |i| &symbol[..i])
}

fn is_anonymous(path: &str) -> bool {
    path == "//anon" || path.starts_with("/memfd:") || path.starts_with("[anon")
}

/// A JIT's symbol map for perf: lines `START SIZE name`, hexadecimal, sorted here by start.
struct JitMap {
    symbols: Vec<(u64, u64, String)>,
}

impl JitMap {
    /// Symbol maps hold one line per compiled function; past this size the file is not one.
    const MAX_BYTES: u64 = 1 << 30;

    fn read(path: &std::path::Path) -> Option<JitMap> {
        let file = std::fs::File::open(path).ok()?;
        if file.metadata().ok()?.len() > Self::MAX_BYTES {
            return None;
        }
        let text = std::io::read_to_string(file).ok()?;
        let mut symbols: Vec<(u64, u64, String)> = text
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ' ');
                let start = u64::from_str_radix(parts.next()?.trim_start_matches("0x"), 16).ok()?;
                let size = u64::from_str_radix(parts.next()?.trim_start_matches("0x"), 16).ok()?;
                let name = parts.next()?.trim();
                (!name.is_empty()).then(|| (start, start.saturating_add(size), name.to_string()))
            })
            .collect();
        symbols.sort_unstable_by_key(|s| s.0);
        Some(JitMap { symbols })
    }

    /// The function `address` is in, if a line of the map covers it.
    fn function(&self, address: u64) -> Option<&str> {
        let i = self.symbols.partition_point(|s| s.0 <= address);
        self.symbols[..i]
            .last()
            .filter(|s| address < s.1)
            .map(|s| s.2.as_str())
    }
}

fn raw_string(raw: &RawData) -> String {
    let bytes = raw.as_slice();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl State<'_> {
    /// A mapping into process `pid` (or the kernel): `(start, length, page offset)` of `path`.
    fn map(
        &mut self,
        pid: i32,
        mode: CpuMode,
        (start, length, page_offset): (u64, u64, u64),
        path: &str,
        build_id: Option<Vec<u8>>,
    ) {
        let Some(end) = start.checked_add(length) else {
            return;
        };
        let key = if matches!(mode, CpuMode::Kernel) && path.starts_with("[kernel.kallsyms]") {
            "[kernel.kallsyms]".to_string()
        } else {
            path.to_string()
        };
        let dso = match self.dso_index.get(&key) {
            Some(&d) => d,
            None => {
                let build_id = build_id
                    .or_else(|| self.build_ids.get(&key).cloned())
                    .unwrap_or_default();
                let base = key.rsplit('/').next().unwrap_or(&key);
                let unknown_name = if base.starts_with('[') {
                    base.to_string()
                } else {
                    format!("[{base}]")
                };
                self.dsos.push(Dso {
                    path: key.clone(),
                    build_id,
                    unknown_name,
                });
                let d = (self.dsos.len() - 1) as u32;
                self.dso_index.insert(key, d);
                d
            }
        };
        let map = Map {
            start,
            end,
            page_offset,
            dso,
        };
        if matches!(mode, CpuMode::Kernel | CpuMode::GuestKernel) || pid == -1 {
            self.kernel.map(map);
        } else {
            self.processes.entry(pid).or_default().map(map);
        }
    }

    fn sample(
        &mut self,
        sample: &linux_perf_data::linux_perf_event_reader::SampleRecord,
        common: &CommonData,
    ) {
        let pid = sample.pid.or(common.pid).unwrap_or(-1);
        let tid = sample.tid.or(common.tid).unwrap_or(pid);
        if let Some(t) = sample.timestamp.or(common.timestamp) {
            self.first_time = Some(self.first_time.map_or(t, |f| f.min(t)));
            self.last_time = Some(self.last_time.map_or(t, |l| l.max(t)));
        }
        let mut addresses: Vec<u64> = Vec::new();
        match &sample.callchain {
            Some(chain) if !chain.is_empty() => {
                for i in 0..chain.len().min(MAX_STACK * 2) {
                    if let Some(a) = chain.get(i) {
                        addresses.push(a);
                    }
                }
            }
            _ => addresses.extend(sample.ip),
        }
        self.stack.clear();
        let mut kernel = matches!(sample.cpu_mode, CpuMode::Kernel | CpuMode::GuestKernel);
        // The first address after a context marker is where the code was; the rest are
        // return addresses, looked up one byte back (in the call instruction), so a call at
        // the end of an inlined block is not taken for the code after it.
        let mut exact = true;
        // The user-space address sampled, until its first return address is read.
        let mut sampled: Option<u64> = None;
        for &address in &addresses {
            if address >= PERF_CONTEXT_MAX {
                match address {
                    PERF_CONTEXT_KERNEL | PERF_CONTEXT_GUEST_KERNEL => kernel = true,
                    PERF_CONTEXT_USER | PERF_CONTEXT_GUEST_USER => kernel = false,
                    _ => {}
                }
                exact = true;
                sampled = None;
                continue;
            }
            if self.stack.len() >= MAX_STACK {
                break;
            }
            let lookup = if exact {
                address
            } else {
                address.saturating_sub(1)
            };
            if !exact
                && !kernel
                && let Some(ip) = sampled.take()
                && let Some(frames) = self.lost_caller(pid, ip, address)
            {
                self.stack.extend_from_slice(&frames);
                self.stack.truncate(MAX_STACK);
                self.restored += 1;
            }
            if exact && !kernel {
                sampled = Some(address);
            }
            exact = false;
            self.push_frames(pid, kernel, lookup);
        }
        let comm = self
            .comms
            .get(&tid)
            .or_else(|| self.comms.get(&pid))
            .cloned()
            .unwrap_or_else(|| format!(":{tid}"));
        let (root, labels) = self.thread(&comm, pid, tid);
        self.stack.push(root);
        let period = sample.period.unwrap_or(1).min(i64::MAX as u64) as i64;
        let stack = std::mem::take(&mut self.stack);
        self.builder
            .add_labeled_sample(&stack, labels, &[1, period]);
        self.stack = stack;
    }

    /// The frame a frame-pointer unwind lost between the sampled address `ip` and the first
    /// return address `ret`, if it lost one: a function sampled before it pushed its frame
    /// pointer (a libc leaf such as `strlen` or `memcpy` never pushes one; any function in
    /// its first instructions) is missing its caller, because the unwind starts from the
    /// caller's frame. The call instruction just before `ret` says whom that frame called:
    /// when it is a direct call to a function that does not hold `ip`, that function is the
    /// frame lost. An indirect call, a call through the PLT, or a target that holds `ip`
    /// restores nothing. A tail call in between (the function called jumped to another,
    /// which called the leaf) gives back the function called, not the one that jumped: the
    /// call path's first function, where a DWARF unwind shows its last. Where that function
    /// calls the leaf only from code inlined into it (the same inlined functions around every
    /// call), those come back too, innermost first, with the call's line when the calls
    /// share it.
    fn lost_caller(&mut self, pid: i32, ip: u64, ret: u64) -> Option<Vec<FrameId>> {
        let process = self.processes.get(&pid)?;
        let map = *process.find(ret.saturating_sub(1))?;
        let ip_map = process.find(ip).copied();
        let dso = &self.dsos[map.dso as usize];
        if is_anonymous(&dso.path) || !dso.path.starts_with('/') || dso.path.starts_with("//") {
            return None;
        }
        let offset = |m: &Map, a: u64| a.wrapping_sub(m.start).wrapping_add(m.page_offset);
        // By the return address's place in the file: the same library loaded at different
        // addresses in different processes is one key.
        let key = (map.dso, offset(&map, ret));
        if !self.callees.contains_key(&key) {
            let callee = match self.symbolizer.binary(&dso.path, &dso.build_id) {
                Ok(binary) => binary
                    .address_of_offset(offset(&map, ret))
                    .and_then(|r| binary.call_target(r))
                    .and_then(|target| {
                        let symbol = binary.symbol(target)?;
                        let outer = binary.frames(target).pop()?;
                        Some((symbol, target, outer))
                    }),
                Err(_) => None,
            };
            let callee = callee.map(|(symbol, target, outer)| {
                let module = dso.path.clone();
                let function = self.builder.function_in(
                    &outer.function,
                    &outer.function,
                    &outer.file,
                    0,
                    &module,
                );
                (symbol, target, self.builder.frame(function, 0))
            });
            self.callees.insert(key, callee);
        }
        let (symbol, target, frame) = self.callees.get(&key)?.clone()?;
        // The function sampled, by its own binary's symbols (a PLT stub by what it is bound to).
        let leaf = ip_map.and_then(|ip_map| {
            let key = (ip_map.dso, offset(&ip_map, ip));
            if let Some(name) = self.leaf_names.get(&key) {
                return name.clone();
            }
            let dso = &self.dsos[ip_map.dso as usize];
            let name = if is_anonymous(&dso.path)
                || !dso.path.starts_with('/')
                || dso.path.starts_with("//")
            {
                None
            } else {
                self.symbolizer
                    .binary(&dso.path, &dso.build_id)
                    .ok()
                    .and_then(|binary| {
                        let at = binary.address_of_offset(key.1)?;
                        binary.symbol(at).or_else(|| binary.stub_name(at))
                    })
            };
            self.leaf_names.insert(key, name.clone());
            name
        });
        // The sampled code in the same binary, in the function called: nothing was lost.
        // GCC's split and cloned parts (`work.cold`, `work.part.0`, `f.isra.0`) are the
        // function they were split from.
        if ip_map.is_some_and(|m| m.dso == map.dso)
            && leaf.as_deref().map(clone_base) == Some(clone_base(&symbol))
        {
            return None;
        }
        let Some(leaf) = leaf else {
            return Some(vec![frame]);
        };
        let calls = (map.dso, target, leaf);
        // Each function read for its calls once; a hostile file naming more pairs than any
        // program has gets the function alone for the rest.
        let known = self.leaf_calls.contains_key(&calls);
        if !known && self.leaf_calls.len() >= MAX_LEAF_SCANS {
            return Some(vec![frame]);
        }
        if !known {
            let dso = &self.dsos[map.dso as usize];
            let module = dso.path.clone();
            let frames = self
                .symbolizer
                .binary(&dso.path, &dso.build_id)
                .ok()
                .and_then(|binary| binary.calls_of(target, &calls.2));
            let frames = frames.map(|frames| {
                frames
                    .iter()
                    .map(|f| {
                        let function =
                            self.builder
                                .function_in(&f.function, &f.function, &f.file, 0, &module);
                        self.builder.frame(function, f.line)
                    })
                    .collect::<Vec<_>>()
            });
            self.leaf_calls.insert(calls.clone(), frames);
        }
        match self.leaf_calls.get(&calls) {
            Some(Some(frames)) if !frames.is_empty() => Some(frames.clone()),
            _ => Some(vec![frame]),
        }
    }

    /// The frames at `address` (already a lookup address) appended to the stack, innermost
    /// first.
    fn push_frames(&mut self, pid: i32, kernel: bool, address: u64) {
        let map = if kernel {
            self.kernel.find(address).copied()
        } else {
            self.processes
                .get(&pid)
                .and_then(|p| p.find(address))
                .copied()
        };
        let Some(map) = map else {
            let frame = self.unknown();
            self.stack.push(frame);
            return;
        };
        let anonymous = is_anonymous(&self.dsos[map.dso as usize].path);
        let key = (map.dso, address, if anonymous { pid } else { 0 });
        if let Some(frames) = self.frames.get(&key) {
            self.stack.extend_from_slice(frames);
            return;
        }
        let frames = if anonymous {
            self.jit_frames(pid, address)
        } else {
            self.symbolize(&map, address, kernel)
        };
        self.stack.extend_from_slice(&frames);
        self.frames.insert(key, frames);
    }

    /// The frame at `address` in anonymous memory of process `pid`: code a JIT compiled
    /// (Java, Node, Wasm runtimes), named by the symbol map the process wrote for perf
    /// (`/tmp/perf-PID.map`, or a copy in a `--symbol-path` directory), else `[perf-PID.map]`
    /// as perf names it.
    fn jit_frames(&mut self, pid: i32, address: u64) -> Vec<FrameId> {
        let file = format!("perf-{pid}.map");
        let dirs = &self.options.symbol_paths;
        let jit = self.jit_maps.entry(pid).or_insert_with(|| {
            std::iter::once(PathBuf::from("/tmp"))
                .chain(dirs.iter().cloned())
                .find_map(|dir| JitMap::read(&dir.join(&file)))
        });
        let module = format!("/tmp/{file}");
        let name = match jit.as_ref().and_then(|j| j.function(address)) {
            Some(name) if self.options.annotate_jit => format!("{name}_[j]"),
            Some(name) => name.to_string(),
            None => format!("[{file}]"),
        };
        let function = self.builder.function_in(&name, &name, "", 0, &module);
        vec![self.builder.frame(function, 0)]
    }

    /// The frames at `address` in `map`; kernel addresses (the kernel's own and its modules')
    /// by the running kernel's symbols when it is the one recorded.
    fn symbolize(&mut self, map: &Map, address: u64, kernel: bool) -> Vec<FrameId> {
        let dso = &self.dsos[map.dso as usize];
        let module = dso.path.clone();
        let symbolizable = dso.path.starts_with('/') && !dso.path.starts_with("//");
        let mut frames = Vec::new();
        if kernel {
            let build_ids = &self.build_ids;
            let kallsyms = self.kallsyms.get_or_insert_with(|| {
                Kallsyms::running(
                    build_ids
                        .get("[kernel.kallsyms]")
                        .map_or(&[], Vec::as_slice),
                )
            });
            if let Some(name) = kallsyms.and_then(|k| k.function(address)) {
                let name = if self.options.annotate_kernel {
                    format!("{name}_[k]")
                } else {
                    name.to_string()
                };
                let function = self.builder.function_in(&name, &name, "", 0, &module);
                frames.push(self.builder.frame(function, 0));
            }
        } else if symbolizable && let Ok(binary) = self.symbolizer.binary(&dso.path, &dso.build_id)
        {
            let offset = address
                .wrapping_sub(map.start)
                .wrapping_add(map.page_offset);
            if let Some(svma) = binary.address_of_offset(offset) {
                for f in binary.frames(svma) {
                    let function =
                        self.builder
                            .function_in(&f.function, &f.function, &f.file, 0, &module);
                    frames.push(self.builder.frame(function, f.line));
                }
            }
        }
        if frames.is_empty() {
            let name = self.dsos[map.dso as usize].unknown_name.clone();
            let name = if self.options.include_addrs {
                format!(
                    "{name}+0x{:x}",
                    address
                        .wrapping_sub(map.start)
                        .wrapping_add(map.page_offset)
                )
            } else {
                name
            };
            let function = self.builder.function_in(&name, &name, "", 0, &module);
            frames.push(self.builder.frame(function, 0));
        }
        frames
    }

    fn unknown(&mut self) -> FrameId {
        if let Some(f) = self.unknown_frame {
            return f;
        }
        let function = self
            .builder
            .function_in("[unknown]", "[unknown]", "", 0, "");
        let frame = self.builder.frame(function, 0);
        self.unknown_frame = Some(frame);
        frame
    }

    /// The root frame and labels of a thread, named as the `perf script` reader names them.
    fn thread(&mut self, comm: &str, pid: i32, tid: i32) -> (FrameId, LabelSetId) {
        let key = (comm.to_string(), pid, tid);
        if let Some(&t) = self.threads.get(&key) {
            return t;
        }
        let (pid, tid) = (pid.to_string(), tid.to_string());
        let name = super::perf::root_name(comm, &pid, &tid, self.options);
        let function = self.builder.function_in(&name, &name, "", 0, "");
        let root = self.builder.frame(function, 0);
        let labels = [
            self.builder.str_label("comm", comm),
            self.builder.str_label("pid", &pid),
            self.builder.str_label("tid", &tid),
        ];
        let labels = self.builder.label_set(&labels);
        self.threads.insert(key, (root, labels));
        (root, labels)
    }

    fn finish_warnings(mut self, compressed: u64, bad: u64) -> ProfileBuilder {
        let mut missing: Vec<String> = self.symbolizer.missing().map(str::to_string).collect();
        missing.sort();
        for m in missing {
            self.builder.warn(format!("unsymbolized: {m}"));
        }
        // One warning for them all: most systems' libraries have no debug information, and
        // a line per library would bury the warnings that matter.
        let mut bare: Vec<&str> = self
            .symbolizer
            .without_lines()
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .collect();
        bare.sort_unstable();
        bare.dedup();
        if !bare.is_empty() {
            const SHOWN: usize = 6;
            let more = bare.len().saturating_sub(SHOWN);
            bare.truncate(SHOWN);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            let warning = format!(
                "no line tables in {}{more}: their frames have no lines and no inlined calls (build with debug info, or install their debug files)",
                bare.join(", ")
            );
            self.builder.warn(warning);
        }
        if self.lost > 0 {
            self.builder.warn(format!(
                "perf lost {} samples while recording (a lower frequency, -F, or a larger buffer, -m, keeps them)",
                self.lost
            ));
        }
        if compressed > 0 {
            self.builder.warn(
                "the file's compressed records (perf record -z) could not be decompressed from here on; the samples before are kept"
                    .to_string(),
            );
        }
        if bad > 0 {
            self.builder.warn(format!(
                "{bad} records could not be parsed and were skipped"
            ));
        }
        if let (Some(first), Some(last)) = (self.first_time, self.last_time) {
            self.builder.set_duration_nanos(last - first);
        }
        self.builder
    }
}
