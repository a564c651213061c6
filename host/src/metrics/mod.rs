//! Resource time series (CPU, memory, latency over time) for regression detection.
//!
//! Three file formats, told apart by content: Parquet (`parquet.rs`, by its `PAR1` magic), and,
//! after gzip has been undone as a stream, CSV with a header (`csv.rs`) and JSON lines
//! (`jsonl.rs`). A file is read in blocks parsed on worker threads and merged in file order
//! (`stream.rs`) into a columnar store (`store.rs`: values as `f64`, timestamps on grids shared
//! by every series with the same times), so a fleet costs about 8 bytes a point and is never
//! held as text. A shard ([`Shard`], `shard.rs`) keeps only its own series. A third source is a
//! run of profiles taken over time, turned into per-function share series by
//! [`from_profiles`]; a fourth a Prometheus server's range queries (`prometheus.rs`). Like the
//! profile readers, errors and warnings name the file and the place in it (a line, and the
//! field when there is one); a bad row is a warning and is skipped, and only a file with no
//! usable row at all is an error.

mod csv;
mod jsonl;
mod parquet;
mod profiles;
pub mod prometheus;
mod shard;
mod store;
mod stream;

#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use joule_profile::{gzip, ingest};

pub use profiles::{from_profiles, profile_time};
pub use shard::{Shard, fnv1a64};
pub use store::{Footprint, Grid, Grids, Point, Series, title};

/// How the input wrote its timestamps, so findings can report them in the input's own units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// Integers kept as given: Unix seconds, milliseconds, or just an index.
    Integer,
    /// RFC 3339 / ISO 8601 date-times, stored as Unix seconds (UTC; fractions of a second are
    /// dropped).
    Rfc3339,
}

impl TimeFormat {
    /// A stored time as the input wrote it: the integer, or a UTC date-time such as
    /// `2026-11-01T12:00:00Z`.
    pub fn show(&self, t: i64) -> String {
        match self {
            TimeFormat::Integer => t.to_string(),
            TimeFormat::Rfc3339 => format_datetime(t),
        }
    }

    /// One timestamp of this format, in messages.
    fn one(self) -> &'static str {
        match self {
            TimeFormat::Integer => "an integer",
            TimeFormat::Rfc3339 => "an RFC 3339 date-time",
        }
    }

    /// Timestamps of this format, in messages.
    fn many(self) -> &'static str {
        match self {
            TimeFormat::Integer => "integers",
            TimeFormat::Rfc3339 => "RFC 3339 date-times",
        }
    }
}

/// The series read from one input.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSet {
    /// The file name, as given to [`load`] or [`load_bytes`].
    pub source: String,
    pub time_format: TimeFormat,
    /// Sorted by (name, labels).
    pub series: Vec<Series>,
    /// Rows that were skipped or replaced, each naming the file and its line.
    pub warnings: Vec<String>,
}

impl MetricSet {
    /// The first series with this name: with the smallest labels, as series are sorted. Series
    /// that differ only in labels are all in [`MetricSet::series`], next to each other.
    pub fn find(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.name == name)
    }

    /// Points in all series.
    pub fn point_count(&self) -> usize {
        self.series.iter().map(Series::len).sum()
    }

    /// What the set's store holds, in bytes.
    pub fn footprint(&self) -> Footprint {
        Footprint::of(&self.series)
    }

    /// Keeps only the series of `shard` (see [`crate::shard`]).
    pub fn keep_shard(&mut self, shard: Shard) {
        self.series.retain(|s| shard.keeps(&s.title()));
    }
}

/// A metric file that could not be read. Displays as `FILE:line 12: message`, or
/// `FILE: message` when the problem is the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsError {
    pub file: String,
    /// Where in the file: `line 12`, `line 3, field value`, `byte 40` (compressed input).
    pub place: Option<String>,
    pub message: String,
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{}:{place}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for MetricsError {}

/// Warnings kept per file; past this, one line says how many more there were.
const MAX_WARNINGS: usize = 100;

/// Bytes a block of a text file holds: big enough that a fleet's 100,000 series mostly appear
/// once a block (the merge looks each block's keys up once), small enough that the blocks in
/// flight stay around a hundred MiB.
pub const BLOCK_BYTES: usize = 16 << 20;

/// Gzipped metric files inflate up to this. The stream is never held whole (only the store
/// grows, by at most 16 bytes a point), so the cap only stops a bomb of endless rows; a fleet
/// of 1,000,000 series x 1,000 points in CSV is about 50 GB.
pub const MAX_INFLATED: u64 = 256 << 30;

/// How to read a metric file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Keep only the series of this shard; rows of the others are dropped as they are read.
    pub shard: Option<Shard>,
    /// Threads parsing blocks; 0 for the machine's parallelism.
    pub threads: usize,
    /// Bytes a block of a text file holds ([`BLOCK_BYTES`]; the tests make it tiny).
    pub block_bytes: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            shard: None,
            threads: 0,
            block_bytes: BLOCK_BYTES,
        }
    }
}

/// Reads a metric file (CSV, JSON lines or Parquet; CSV and JSON lines gzipped or not),
/// detecting the format by content.
pub fn load(path: &Path) -> Result<MetricSet, MetricsError> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with options: a shard, threads, block size. The file is streamed in blocks (never
/// held whole) and parsed in parallel; the result is the same whatever the threads.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<MetricSet, MetricsError> {
    let name = path.display().to_string();
    let mut file = File::open(path).map_err(|e| unreadable(&name, &e))?;
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut file, &mut magic).map_err(|e| unreadable(&name, &e))?;
    if magic[..got] == parquet::MAGIC {
        return parquet::read(&name, parquet::PositionalFile::new(file), options);
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| unreadable(&name, &e))?;
    read_text(&name, BufReader::with_capacity(1 << 20, file), options)
}

/// Reads metrics from memory (CSV, JSON lines or Parquet; gzipped or not); `name` is used in
/// errors and warnings, and becomes [`MetricSet::source`].
pub fn load_bytes(name: &str, bytes: &[u8]) -> Result<MetricSet, MetricsError> {
    load_bytes_with(name, bytes, &LoadOptions::default())
}

/// [`load_bytes`] with options.
pub fn load_bytes_with(
    name: &str,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<MetricSet, MetricsError> {
    if bytes.starts_with(&parquet::MAGIC) {
        return parquet::read(name, ::bytes::Bytes::copy_from_slice(bytes), options);
    }
    read_text(name, bytes, options)
}

/// Fills `buf` as far as the input goes; how much it got.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// CSV or JSON lines, inflated as a stream when gzipped, told apart by the first character.
fn read_text(
    name: &str,
    mut input: impl BufRead,
    options: &LoadOptions,
) -> Result<MetricSet, MetricsError> {
    let head = input.fill_buf().map_err(|e| unreadable(name, &e))?;
    if head.starts_with(&gzip::MAGIC) {
        let inflated =
            BufReader::with_capacity(1 << 20, gzip::Inflate::within(input, MAX_INFLATED));
        return read_plain(name, inflated, options);
    }
    read_plain(name, input, options)
}

fn read_plain(
    name: &str,
    mut input: impl BufRead,
    options: &LoadOptions,
) -> Result<MetricSet, MetricsError> {
    // The byte-order mark, then the first character that is not white space (the white space
    // before it is kept, for line numbers).
    let head = input.fill_buf().map_err(|e| unreadable(name, &e))?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    let mut blank = Vec::new();
    let first = loop {
        let head = input.fill_buf().map_err(|e| unreadable(name, &e))?;
        if head.is_empty() {
            return Err(whole(name, "the file is empty"));
        }
        if let Some(i) = head.iter().position(|b| !b.is_ascii_whitespace()) {
            break head[i];
        }
        if blank.len() > BLOCK_BYTES {
            return Err(whole(
                name,
                "the file starts with more than a block of white space",
            ));
        }
        let n = head.len();
        blank.extend_from_slice(head);
        input.consume(n);
    };
    dispatch(name, first, (&blank[..]).chain(input), options)
}

fn dispatch(
    name: &str,
    first: u8,
    input: impl BufRead,
    options: &LoadOptions,
) -> Result<MetricSet, MetricsError> {
    match first {
        b'{' => jsonl::read(name, input, options),
        b'[' => Err(whole(
            name,
            "a JSON array; metrics in JSON are read as JSON lines, one object per line",
        )),
        _ => self::csv::read(name, input, options),
    }
}

fn whole(file: &str, message: impl Into<String>) -> MetricsError {
    MetricsError {
        file: file.to_string(),
        place: None,
        message: message.into(),
    }
}

/// The error for a file that could not be read: an I/O reason, or where its gzip stream broke.
fn unreadable(file: &str, e: &io::Error) -> MetricsError {
    match gzip::InflateError::of(e) {
        Some(inflate) => MetricsError {
            file: file.to_string(),
            place: Some(format!("byte {}", inflate.compressed_offset)),
            message: inflate.message.clone(),
        },
        None => whole(
            file,
            format!("cannot read metrics: {}", ingest::io_reason(e)),
        ),
    }
}

/// The warning for a file that broke off after some rows: those are kept.
fn cut_short(e: &io::Error) -> String {
    match gzip::InflateError::of(e) {
        Some(inflate) => format!(
            "byte {}: {}; the rows before it are kept",
            inflate.compressed_offset, inflate.message
        ),
        None => format!(
            "reading stopped early ({}); the rows before it are kept",
            ingest::io_reason(e)
        ),
    }
}

/// A timestamp as text: an integer (kept as given) or an RFC 3339 date-time (as Unix seconds).
pub fn parse_timestamp(text: &str) -> Option<(TimeFormat, i64)> {
    let text = text.trim();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(|t| (TimeFormat::Integer, t));
    }
    parse_datetime(text).map(|t| (TimeFormat::Rfc3339, t))
}

/// Why a timestamp could not be read.
fn timestamp_problem(text: &str) -> String {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("timestamp `{trimmed}` does not fit in 64 bits")
    } else {
        format!(
            "`{trimmed}` is neither an integer nor an RFC 3339 date-time (like 2026-11-01T12:00:00Z)"
        )
    }
}

/// Reads a value: a finite number, or why not.
fn parse_value(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty value".to_string());
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("`{text}` is not a finite number")),
        Err(_) => Err(format!("`{text}` is not a number")),
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Unix seconds of a UTC date and time, if the fields make one.
fn unix_seconds(
    (year, month, day): (i64, u32, u32),
    (hour, minute, second): (u32, u32, u32),
    offset_seconds: i64,
) -> Option<i64> {
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 60;
    valid.then(|| {
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second)
            - offset_seconds
    })
}

/// A run of exactly `n` ASCII digits at the start of `b`.
fn digits(b: &[u8], n: usize) -> Option<u32> {
    let run = b.get(..n)?;
    run.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// A time-zone designator: `Z`, `+HH:MM`, `+HHMM` or `+HH`, as seconds east of UTC, and the
/// bytes it took.
fn parse_offset(b: &[u8]) -> Option<(i64, usize)> {
    match b.first()? {
        b'Z' | b'z' => Some((0, 1)),
        sign @ (b'+' | b'-') => {
            let hours = digits(&b[1..], 2)?;
            let (minutes, len) = match b.get(3) {
                Some(b':') => (digits(&b[4..], 2)?, 6),
                Some(c) if c.is_ascii_digit() => (digits(&b[3..], 2)?, 5),
                _ => (0, 3),
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            Some((if *sign == b'-' { -seconds } else { seconds }, len))
        }
        _ => None,
    }
}

/// An RFC 3339 / ISO 8601 date-time as Unix seconds: `2026-11-01T12:00:00Z`, with an offset
/// (`+01:00`, `+0100`, `+01`), with a space for the `T`, without seconds, with a fraction
/// (dropped), without a zone (taken as UTC), or a date alone (its midnight, UTC).
fn parse_datetime(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let (len, offset) = datetime_prefix(b)?;
    (len == b.len()).then_some(offset)
}

/// The date-time at the start of `b` in extended form (`2026-11-01T12:00:00Z`), as Unix
/// seconds, and the bytes it took. A date alone counts when nothing date-like follows.
fn datetime_prefix(b: &[u8]) -> Option<(usize, i64)> {
    let year = digits(b, 4)?;
    let month = (b.get(4) == Some(&b'-')).then(|| digits(&b[5..], 2))??;
    let day = (b.get(7) == Some(&b'-')).then(|| digits(&b[8..], 2))??;
    let date = (i64::from(year), month, day);
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || !b.get(11).is_some_and(u8::is_ascii_digit)
    {
        return Some((10, unix_seconds(date, (0, 0, 0), 0)?));
    }
    let hour = digits(&b[11..], 2)?;
    let minute = (b.get(13) == Some(&b':')).then(|| digits(&b[14..], 2))??;
    let mut at = 16;
    let mut second = 0;
    if b.get(at) == Some(&b':') {
        second = digits(&b[at + 1..], 2)?;
        at += 3;
        if matches!(b.get(at), Some(b'.' | b',')) {
            let fraction = b[at + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if fraction == 0 {
                return None;
            }
            at += 1 + fraction;
        }
    }
    let mut offset = 0;
    if at < b.len()
        && let Some((seconds, len)) = parse_offset(&b[at..])
    {
        offset = seconds;
        at += len;
    }
    Some((at, unix_seconds(date, (hour, minute, second), offset)?))
}

/// Unix seconds as `2026-11-01T12:00:00Z`.
fn format_datetime(t: i64) -> String {
    let (year, month, day) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}
