//! The machinery the metric readers share: a file read as a stream of blocks (never whole),
//! each block parsed on a worker thread into a [`Block`] of rows, and the blocks merged in file
//! order into the columnar store ([`super::store::Columns`]) by one [`Merge`].
//!
//! Why blocks and threads here and not in the formats: parsing text (splitting fields, reading
//! floats, looking up the series key) is most of the cost, about a microsecond a point on one
//! thread, and it is independent from row to row; appending a parsed row to its series is a few
//! nanoseconds and must happen in file order (the last of two values at one time wins). So the
//! formats (`csv.rs`, `jsonl.rs`, `parquet.rs`) only say how one block becomes rows, and
//! [`ordered`] runs them on `std::thread::scope` workers (no thread-pool crate: the pipeline is
//! a bounded channel and a reorder buffer, and scoped threads borrow the header and options
//! without `Arc`s) while the calling thread reads ahead and merges. A block's rows name their
//! line relative to the block; the merge adds the lines of the blocks before it, so messages
//! name the same line a one-thread read would.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::sync::{Arc, Mutex, mpsc};

use rustc_hash::FxHashMap;

use super::shard::Shard;
use super::store::{Appended, Columns, Finished};
use super::{MAX_WARNINGS, MetricSet, MetricsError, TimeFormat};

/// How a block's places read: lines of a text file, or rows of a Parquet row group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    Lines,
    RowGroup(usize),
}

/// A row's place: `line 12`, or `row 12 (row group 0)`, then the `detail` if any (`field
/// value`, `column 42`).
pub(super) fn place(origin: Origin, at: u64, detail: Option<&str>) -> String {
    let row = match origin {
        Origin::Lines => format!("line {at}"),
        Origin::RowGroup(g) => format!("row {at} (row group {g})"),
    };
    match detail {
        Some(detail) => format!("{row}, {detail}"),
        None => row,
    }
}

/// How a place names a field: `field value` in text, `column value` in Parquet.
pub(super) fn field(origin: Origin, name: &str) -> String {
    match origin {
        Origin::Lines => format!("field {name}"),
        Origin::RowGroup(_) => format!("column {name}"),
    }
}

/// A row a worker skipped, and why. `at` counts from 0 at the block's first line
/// (or row).
pub(super) struct Problem {
    at: u64,
    field: Option<String>,
    message: String,
}

/// What a field's value was, for warnings when a label column changes type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Number,
    Boolean,
}

impl Kind {
    fn a(self) -> &'static str {
        match self {
            Kind::Text => "a string",
            Kind::Number => "a number",
            Kind::Boolean => "a boolean",
        }
    }
}

/// One series key first seen in a block: its bytes (how the format spells it) and what it
/// means.
struct BlockKey {
    bytes: Box<[u8]>,
    name: String,
    labels: Vec<(String, String)>,
}

/// The rows one worker parsed from one block, in file order, as columns.
pub(super) struct Block {
    origin: Origin,
    /// Lines (or rows) the block spans, so the next block knows where it starts.
    pub(super) span: u64,
    ids: Vec<u32>,
    times: Vec<i64>,
    values: Vec<f64>,
    at: Vec<u32>,
    formats: Vec<TimeFormat>,
    keys: Vec<BlockKey>,
    problems: Vec<Problem>,
    /// Problems past [`MAX_WARNINGS`] in this block, counted only.
    more_problems: usize,
    skipped: usize,
    /// The first skipped row, kept past the cap, for the error when no row is usable.
    first_skip: Option<Problem>,
    /// Rows left to other shards.
    other_shard: usize,
    /// The first row (`at`) where each field had each kind (JSON lines' labels).
    kinds: Vec<(String, Kind, u64)>,
}

/// Appends one part of a series key as the format spells it (length first, so no two keys run
/// together).
pub(super) fn key_part(key: &mut Vec<u8>, part: &[u8]) {
    key.extend_from_slice(&(part.len() as u32).to_le_bytes());
    key.extend_from_slice(part);
}

/// A row's series id with this bit set is the merged set's own id (the key was in the
/// [`Known`] snapshot); without it, an index into the block's new keys.
const MERGED: u32 = 1 << 31;

/// The series keys merged so far, as a snapshot the workers look keys up in first: after the
/// first blocks, most rows' keys are there, and a block then makes no key of its own (making
/// a fleet's 100,000 keys again in every block was a third of the time).
///
/// With them, by series, the series the row after it was of when first seen (the merge learns
/// it in file order). Files written time-major (every series at one time, then the next time,
/// as scrapes are exported) repeat one order, so a worker's guess of a row's series from the
/// row before is nearly always right and costs one comparison with bytes read in order, where
/// a lookup in a map of the fleet's keys was a quarter of a shard's reading time. A wrong
/// guess costs one comparison more.
#[derive(Default)]
pub(super) struct Known {
    keys: Mutex<Arc<KnownKeys>>,
    next: Mutex<Arc<Vec<u32>>>,
}

impl Known {
    fn snapshot(&self) -> (Arc<KnownKeys>, Arc<Vec<u32>>) {
        (
            self.keys.lock().map(|k| k.clone()).unwrap_or_default(),
            self.next.lock().map(|n| n.clone()).unwrap_or_default(),
        )
    }

    fn publish(&self, keys: &KnownKeys) {
        if let Ok(mut known) = self.keys.lock() {
            *known = Arc::new(keys.clone());
        }
    }

    fn publish_next(&self, next: &[u32]) {
        if let Ok(mut known) = self.next.lock() {
            *known = Arc::new(next.to_vec());
        }
    }
}

/// Series keys and their ids in the set: by bytes, and the bytes by id (in one buffer, in id
/// order), so a worker can check a guess of a row's series with one comparison.
#[derive(Clone, Default)]
pub(super) struct KnownKeys {
    ids: FxHashMap<Box<[u8]>, u32>,
    arena: Vec<u8>,
    /// Where each id's bytes end in `arena`.
    ends: Vec<usize>,
}

impl KnownKeys {
    fn get(&self, key: &[u8]) -> Option<u32> {
        self.ids.get(key).copied()
    }

    /// The bytes of id `id`'s key.
    fn key(&self, id: u32) -> Option<&[u8]> {
        let i = id as usize;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.arena.get(start..end)
    }

    fn insert(&mut self, key: Box<[u8]>, id: u32) {
        // Ids are given in order (the store's series index); the bytes by id only hold
        // while they are, and a guess is only a guess, checked against the map otherwise.
        if id as usize == self.ends.len() {
            self.arena.extend_from_slice(&key);
            self.ends.push(self.arena.len());
        }
        self.ids.insert(key, id);
    }
}

/// No series (in [`BlockBuilder`]'s guesses).
const NONE: u32 = u32::MAX;

/// Builds a [`Block`]: the format parsers' one sink.
pub(super) struct BlockBuilder {
    block: Block,
    /// Keys already merged, and their ids in the set.
    known: Arc<KnownKeys>,
    /// Local ids of the other keys seen in the block; `None` for another shard's.
    local: FxHashMap<Box<[u8]>, Option<u32>>,
    shard: Option<Shard>,
    /// The merged series of the row before, and [`Known`]'s guess of the next by series.
    last: u32,
    next: Arc<Vec<u32>>,
}

impl BlockBuilder {
    pub fn new(origin: Origin, shard: Option<Shard>, known: &Known) -> Self {
        let (keys, next) = known.snapshot();
        BlockBuilder {
            known: keys,
            next,
            block: Block {
                origin,
                span: 0,
                ids: Vec::new(),
                times: Vec::new(),
                values: Vec::new(),
                at: Vec::new(),
                formats: Vec::new(),
                keys: Vec::new(),
                problems: Vec::new(),
                more_problems: 0,
                skipped: 0,
                first_skip: None,
                other_shard: 0,
                kinds: Vec::new(),
            },
            local: FxHashMap::default(),
            shard,
            last: NONE,
        }
    }

    /// Room for about `rows` rows.
    pub fn reserve(&mut self, rows: usize) {
        let b = &mut self.block;
        b.ids.reserve(rows);
        b.times.reserve(rows);
        b.values.reserve(rows);
        b.at.reserve(rows);
        b.formats.reserve(rows);
    }

    /// The series a key's bytes stand for, if seen in this block: `Some(None)` when it belongs
    /// to another shard.
    pub fn lookup(&mut self, key: &[u8]) -> Option<Option<u32>> {
        if let Some(&guess) = self.next.get(self.last as usize)
            && guess != NONE
            && self.known.key(guess) == Some(key)
        {
            self.last = guess;
            return Some(Some(guess | MERGED));
        }
        match self.known.get(key) {
            Some(id) => {
                self.last = id;
                Some(Some(id | MERGED))
            }
            None => self.local.get(key).copied(),
        }
    }

    /// A key new to the block, with what it means (labels in any order); `None` when the
    /// series belongs to another shard, which is then counted and remembered.
    pub fn add(
        &mut self,
        key: &[u8],
        name: String,
        mut labels: Vec<(String, String)>,
    ) -> Option<u32> {
        labels.sort();
        let kept = self
            .shard
            .is_none_or(|s| s.keeps(&super::store::title(&name, &labels)));
        let id = kept.then(|| {
            self.block.keys.push(BlockKey {
                bytes: key.into(),
                name,
                labels,
            });
            (self.block.keys.len() - 1) as u32
        });
        self.local.insert(key.into(), id);
        id
    }

    /// Whether a row whose key hashes to `hash` ([`super::shard::key_hash`]) belongs to
    /// another shard. Readers ask this before anything else about a row: the shard's own
    /// rows are a tenth of a ten-shard fleet, and another shard's row then costs one pass
    /// over its key's bytes, with no lookup and no allocation (remembering every other
    /// shard's key per block cost 0.7 us a row, five minutes for a million-series shard).
    pub fn foreign(&self, hash: impl FnOnce() -> u64) -> bool {
        self.shard.is_some_and(|s| s.count > 1 && !s.owns(hash()))
    }

    /// A row of another shard, dropped.
    pub fn other_shard(&mut self) {
        self.block.other_shard += 1;
    }

    pub fn push(&mut self, id: u32, t: i64, v: f64, at: u64, format: TimeFormat) {
        let b = &mut self.block;
        b.ids.push(id);
        b.times.push(t);
        b.values.push(v);
        b.at.push(at as u32);
        b.formats.push(format);
    }

    fn problem(&mut self, problem: Problem) {
        if self.block.problems.len() < MAX_WARNINGS {
            self.block.problems.push(problem);
        } else {
            self.block.more_problems += 1;
        }
    }

    /// A row skipped for `message`, at `field` when one is to blame.
    pub fn skip(&mut self, at: u64, field: Option<&str>, message: String) {
        let detail = field.map(|f| self::field(self.block.origin, f));
        self.skip_at(at, detail, message);
    }

    /// A row skipped for `message`; `detail` says where in the row (`column 42`).
    pub fn skip_at(&mut self, at: u64, detail: Option<String>, message: String) {
        self.block.skipped += 1;
        let problem = Problem {
            at,
            field: detail,
            message,
        };
        if self.block.first_skip.is_none() {
            self.block.first_skip = Some(Problem {
                at,
                field: problem.field.clone(),
                message: problem.message.clone(),
            });
        }
        self.problem(problem);
    }

    /// `count` rows from `at` skipped for one reason, with one warning.
    pub fn skip_rows(&mut self, at: u64, count: usize, message: String) {
        if count == 0 {
            return;
        }
        self.skip(at, None, message);
        self.block.skipped += count - 1;
    }

    /// Field `field` had kind `kind` at row `at` (only the first of each is kept).
    pub fn kind(&mut self, field: &str, kind: Kind, at: u64) {
        if !self
            .block
            .kinds
            .iter()
            .any(|(f, k, _)| *k == kind && f == field)
        {
            self.block.kinds.push((field.to_string(), kind, at));
        }
    }

    pub fn finish(mut self, span: u64) -> Block {
        self.block.span = span;
        self.block
    }
}

/// Runs `work` on every item on `threads` workers and hands the results to `merge` in the
/// items' order, on the calling thread, which also draws the items. At most `2 * threads + 1`
/// items are in flight, so memory stays a few blocks whatever the file's size.
pub(super) fn ordered<T: Send, R: Send>(
    threads: usize,
    items: impl Iterator<Item = T>,
    work: impl Fn(T) -> R + Sync,
    mut merge: impl FnMut(R),
) {
    if threads <= 1 {
        for item in items {
            merge(work(item));
        }
        return;
    }
    let cap = 2 * threads + 1;
    let (to_workers, inbox) = mpsc::sync_channel::<(usize, T)>(cap);
    let inbox = Mutex::new(inbox);
    let (to_merge, results) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (inbox, to_merge, work) = (&inbox, to_merge.clone(), &work);
            scope.spawn(move || {
                loop {
                    // A poisoned lock means another worker panicked; the scope re-raises it.
                    let next = match inbox.lock() {
                        Ok(inbox) => inbox.recv(),
                        Err(_) => return,
                    };
                    let Ok((i, item)) = next else { return };
                    if to_merge.send((i, work(item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(to_merge);
        let mut waiting: BTreeMap<usize, R> = BTreeMap::new();
        let (mut sent, mut merged) = (0usize, 0usize);
        let mut take = |waiting: &mut BTreeMap<usize, R>, merged: &mut usize| {
            while let Some(r) = waiting.remove(merged) {
                merge(r);
                *merged += 1;
            }
        };
        for item in items {
            if to_workers.send((sent, item)).is_err() {
                break;
            }
            sent += 1;
            while let Ok((i, r)) = results.try_recv() {
                waiting.insert(i, r);
            }
            take(&mut waiting, &mut merged);
            while sent - merged >= cap {
                let Ok((i, r)) = results.recv() else { break };
                waiting.insert(i, r);
                take(&mut waiting, &mut merged);
            }
        }
        drop(to_workers);
        while merged < sent {
            let Ok((i, r)) = results.recv() else { break };
            waiting.insert(i, r);
            take(&mut waiting, &mut merged);
        }
    });
}

/// Worker threads for parsing: the machine's parallelism.
pub(super) fn threads(asked: usize) -> usize {
    if asked > 0 {
        return asked;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A text input cut into blocks of about `size` bytes, each ending at the end of a line (for
/// CSV, a line end outside quotes), read ahead on the calling thread. A read error ends the
/// blocks and is kept in `failed`.
pub(super) struct TextBlocks<R> {
    reader: R,
    size: usize,
    carry: Vec<u8>,
    /// CSV: a newline inside a quoted field does not end a record.
    pub quoted: bool,
    pub failed: Option<io::Error>,
    done: bool,
}

impl<R: BufRead> TextBlocks<R> {
    pub fn new(reader: R, size: usize) -> Self {
        TextBlocks {
            reader,
            size: size.max(1),
            carry: Vec::new(),
            quoted: false,
            failed: None,
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for TextBlocks<R> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let mut block = std::mem::take(&mut self.carry);
        block.reserve(self.size.saturating_sub(block.len()));
        loop {
            // Read until the block is full, then until it holds a whole line.
            while block.len() < self.size {
                let available = match self.reader.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.failed = Some(e);
                        self.done = true;
                        return (!block.is_empty()).then_some(block);
                    }
                };
                if available.is_empty() {
                    self.done = true;
                    return (!block.is_empty()).then_some(block);
                }
                let n = available.len().min(self.size - block.len()).max(1);
                block.extend_from_slice(&available[..n]);
                self.reader.consume(n);
            }
            if let Some(end) = record_end(&block, self.quoted) {
                self.carry = block[end..].to_vec();
                block.truncate(end);
                return Some(block);
            }
            // One line longer than a block: take more.
            self.size = self.size.saturating_mul(2);
        }
    }
}

impl<R: BufRead> TextBlocks<R> {
    /// Parses `first` (a block already drawn, if any) and every block after it with `parse` on
    /// `threads` workers, merged in order from line `first_line`. A read error after some rows
    /// is a warning (the rows before it are kept); before any, the file is unreadable.
    pub fn parse_all<'n>(
        &mut self,
        file: &'n str,
        first_line: u64,
        first: Option<Vec<u8>>,
        threads: usize,
        parse: impl Fn(&[u8], &Known) -> Block + Sync,
    ) -> Result<Merge<'n>, MetricsError> {
        let mut merge = Merge::new(file, first_line);
        let known = Known::default();
        ordered(
            threads,
            first.into_iter().chain(self.by_ref()),
            |block| parse(&block, &known),
            |block| merge.block(block, &known),
        );
        if let Some(e) = self.failed.take() {
            if merge.rows() == 0 {
                return Err(super::unreadable(file, &e));
            }
            merge.note(super::cut_short(&e));
        }
        Ok(merge)
    }
}

/// Just past the last line end in `data` that ends a record (outside quotes, when `quoted`).
fn record_end(data: &[u8], quoted: bool) -> Option<usize> {
    if !quoted || memchr::memchr(b'"', data).is_none() {
        return memchr::memrchr(b'\n', data).map(|i| i + 1);
    }
    let mut inside = false;
    let mut last = None;
    for i in memchr::memchr2_iter(b'"', b'\n', data) {
        if data[i] == b'"' {
            inside = !inside;
        } else if !inside {
            last = Some(i + 1);
        }
    }
    last
}

/// Folds blocks, in file order, into the store; keeps the file's warnings.
pub(super) struct Merge<'a> {
    file: &'a str,
    /// Lines or rows (the row group of the last block).
    origin: Origin,
    columns: Columns,
    global: KnownKeys,
    /// By series, the series of the row after its first row ([`Known`]).
    successors: Vec<u32>,
    /// The series of the last row merged.
    last: u32,
    /// Line (or row) where the next block starts.
    next: u64,
    /// The format of the first timestamp kept, and its place.
    time_format: Option<(TimeFormat, String)>,
    warnings: Vec<String>,
    dropped_warnings: usize,
    first_skip: Option<(String, String)>,
    skipped: usize,
    other_shard: usize,
    rows: usize,
    /// Points stored (a repeated time included).
    kept: usize,
    /// The first kind each field was seen with, and where; fields already warned about.
    kinds: FxHashMap<String, (Kind, String)>,
    kinds_warned: Vec<String>,
}

impl<'a> Merge<'a> {
    /// A merge whose first block starts at line (or row) `first`.
    pub fn new(file: &'a str, first: u64) -> Self {
        Merge {
            file,
            origin: Origin::Lines,
            columns: Columns::default(),
            global: KnownKeys::default(),
            successors: Vec::new(),
            last: NONE,
            next: first,
            time_format: None,
            warnings: Vec::new(),
            dropped_warnings: 0,
            first_skip: None,
            skipped: 0,
            other_shard: 0,
            rows: 0,
            kept: 0,
            kinds: FxHashMap::default(),
            kinds_warned: Vec::new(),
        }
    }

    fn warn(&mut self, place: String, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            let w = MetricsError {
                file: self.file.to_string(),
                place: Some(place),
                message,
            };
            self.warnings.push(w.to_string());
        } else {
            self.dropped_warnings += 1;
        }
    }

    /// A warning about the file as a whole, kept whatever the cap.
    pub fn note(&mut self, message: String) {
        self.warnings.push(format!("{}: {message}", self.file));
    }

    /// Rows read so far (kept, skipped or left to other shards).
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn problem(&mut self, origin: Origin, base: u64, p: Problem) {
        let place = place(origin, base + p.at, p.field.as_deref());
        self.warn(place, format!("{}; row skipped", p.message));
    }

    /// Folds the next block in file order; publishes the keys it added to `known`.
    pub fn block(&mut self, block: Block, known: &Known) {
        let base = self.next;
        self.next += block.span;
        let origin = block.origin;
        self.origin = origin;
        let new_keys = !block.keys.is_empty();
        let mut learned = false;
        let ids: Vec<u32> = block
            .keys
            .into_iter()
            .map(|k| match self.global.get(&k.bytes) {
                Some(id) => id,
                None => {
                    let id = self.columns.add_series(k.name, k.labels);
                    self.global.insert(k.bytes, id);
                    if id as usize == self.successors.len() {
                        self.successors.push(NONE);
                    }
                    id
                }
            })
            .collect();
        self.skipped += block.skipped;
        self.other_shard += block.other_shard;
        self.rows += block.ids.len() + block.skipped + block.other_shard;
        if self.first_skip.is_none()
            && let Some(p) = block.first_skip
        {
            let place = place(origin, base + p.at, p.field.as_deref());
            self.first_skip = Some((place, p.message));
        }
        // Warnings in file order: the workers' (skipped rows, kinds) between the rows'.
        let mut problems = block.problems.into_iter().peekable();
        let mut kinds = block.kinds.into_iter().peekable();
        for i in 0..block.ids.len() {
            let at = u64::from(block.at[i]);
            while let Some((field, kind, k)) = kinds.next_if(|k| k.2 <= at) {
                self.kind(origin, field, kind, base + k);
            }
            while let Some(p) = problems.next_if(|p| p.at <= at) {
                self.problem(origin, base, p);
            }
            let id = block.ids[i];
            let id = if id & MERGED != 0 {
                id & !MERGED
            } else {
                ids[id as usize]
            };
            if let Some(slot) = self.successors.get_mut(self.last as usize)
                && *slot == NONE
            {
                *slot = id;
                learned = true;
            }
            self.last = id;
            self.row(
                origin,
                id,
                block.times[i],
                block.values[i],
                base + at,
                block.formats[i],
            );
        }
        for (field, kind, k) in kinds {
            self.kind(origin, field, kind, base + k);
        }
        for p in problems {
            self.problem(origin, base, p);
        }
        self.dropped_warnings += block.more_problems;
        if new_keys {
            known.publish(&self.global);
        }
        if learned {
            known.publish_next(&self.successors);
        }
    }

    fn row(&mut self, origin: Origin, id: u32, t: i64, v: f64, at: u64, format: TimeFormat) {
        match &self.time_format {
            None => self.time_format = Some((format, place(origin, at, None))),
            Some((first, _)) if *first == format => {}
            Some((first, first_place)) => {
                let message = format!(
                    "timestamp is {} but the file's timestamps are {} (from {first_place}); row skipped",
                    format.one(),
                    first.many()
                );
                self.skipped += 1;
                self.warn(
                    place(origin, at, Some(&field(origin, "timestamp"))),
                    message,
                );
                return;
            }
        }
        let shown = |t: i64| format.show(t);
        match self.columns.append(id, t, v, at) {
            Appended::Stored => {}
            Appended::Replaced { line } => {
                let message = format!(
                    "series {} has a second value at time {} (the one before on {}); keeping this one",
                    self.columns.title(id),
                    shown(t),
                    place(origin, line, None)
                );
                self.warn(place(origin, at, None), message);
            }
            Appended::WentBack { t: before, line } => {
                let message = format!(
                    "series {}: time {} comes after {} ({}); the clock went back, so its points are sorted by time",
                    self.columns.title(id),
                    shown(t),
                    shown(before),
                    place(origin, line, None)
                );
                self.warn(
                    place(origin, at, Some(&field(origin, "timestamp"))),
                    message,
                );
            }
        }
        self.kept += 1;
    }

    fn kind(&mut self, origin: Origin, field: String, kind: Kind, at: u64) {
        let here = place(origin, at, None);
        let Some((first, first_place)) = self.kinds.get(&field) else {
            self.kinds.insert(field, (kind, here));
            return;
        };
        if *first == kind || self.kinds_warned.contains(&field) {
            return;
        }
        let message = match field.strip_prefix("labels.") {
            Some(label) => format!(
                "label `{label}` is {} here and {} on {first_place}; label values are kept as text",
                kind.a(),
                first.a()
            ),
            None => format!(
                "field `{field}` is {} here and {} on {first_place}; only string fields are labels, so rows where it is not a string are read without it (give labels in `labels` to keep them whatever their type)",
                kind.a(),
                first.a()
            ),
        };
        let field_place = place(origin, at, Some(&self::field(origin, &field)));
        self.kinds_warned.push(field);
        self.warn(field_place, message);
    }

    /// The set: an error only when no row was usable (rows of other shards count as usable).
    pub fn finish(mut self) -> Result<MetricSet, MetricsError> {
        if self.kept == 0 && self.other_shard == 0 {
            let (place, message) = match self.first_skip.take() {
                Some((place, first)) => (
                    Some(place),
                    format!(
                        "no usable row ({} skipped); the first: {first}",
                        self.skipped
                    ),
                ),
                None => (None, "no rows".to_string()),
            };
            return Err(MetricsError {
                file: self.file.to_string(),
                place,
                message,
            });
        }
        let time_format = self
            .time_format
            .as_ref()
            .map_or(TimeFormat::Integer, |f| f.0);
        let columns = std::mem::take(&mut self.columns);
        let Finished { series, repeated } = columns.finish();
        for (title, dropped, at) in repeated {
            let place = match self.origin {
                Origin::Lines => format!("line {at}"),
                Origin::RowGroup(_) => format!("row {at}"),
            };
            self.warn(
                place,
                format!(
                    "series {title} has {dropped} repeated times once sorted (its clock went back here); the last value in the file is kept for each"
                ),
            );
        }
        let mut warnings = self.warnings;
        if self.dropped_warnings > 0 {
            warnings.push(format!(
                "{}: {} more warnings not shown",
                self.file, self.dropped_warnings
            ));
        }
        Ok(MetricSet {
            source: self.file.to_string(),
            time_format,
            series,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_end_at_line_ends_outside_quotes() {
        assert_eq!(record_end(b"a\nb\nc", false), Some(4));
        assert_eq!(record_end(b"a,\"x\ny\"\nb,\"p\nq", true), Some(8));
        assert_eq!(record_end(b"no line end", true), None);
        let text = b"h\n1,\"a\nb\"\n2,c\n3,d\n".to_vec();
        let mut blocks = TextBlocks::new(&text[..], 3);
        blocks.quoted = true;
        let got: Vec<Vec<u8>> = blocks.by_ref().collect();
        assert_eq!(got.concat(), text);
        assert!(got.iter().all(|b| b.ends_with(b"\n")), "{got:?}");
        assert!(
            got.iter().any(|b| b.starts_with(b"1,\"a\nb\"\n")),
            "{got:?}"
        );
    }

    #[test]
    fn ordered_merges_in_item_order_whatever_the_threads() {
        for threads in [1, 2, 4] {
            let mut seen = Vec::new();
            ordered(
                threads,
                0..100u64,
                |i| {
                    // Later items finish first.
                    std::thread::sleep(std::time::Duration::from_micros(100 - i));
                    i * 2
                },
                |r| seen.push(r),
            );
            assert_eq!(seen, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
