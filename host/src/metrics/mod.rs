//! Resource time series (CPU, memory, latency over time) for regression detection.
//!
//! Two file formats, told apart by content after gzip has been undone: CSV with a header
//! (`csv.rs`) and JSON lines (`jsonl.rs`). A third source is a run of profiles taken over time,
//! turned into per-function share series by [`from_profiles`]; a fourth a Prometheus server's
//! range queries (`prometheus.rs`). Like the profile readers, errors
//! and warnings name the file and the place in it (a line, and the field when there is one); a
//! bad row is a warning and is skipped, and only a file with no usable row at all is an error.

mod csv;
mod jsonl;
mod profiles;
pub mod prometheus;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use joule_profile::{gzip, ingest};

pub use profiles::{from_profiles, profile_time};

/// One time series: a name, labels, points sorted by time.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    /// Sorted by key; two series with the same name differ in their labels.
    pub labels: Vec<(String, String)>,
    /// Sorted by time, at most one point per time.
    pub points: Vec<Point>,
}

/// One value at one time. The time is in the units of [`MetricSet::time_format`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
}

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
        self.series.iter().map(|s| s.points.len()).sum()
    }

    /// Keeps only the series of `shard` (see [`crate::shard`]).
    pub fn keep_shard(&mut self, shard: crate::shard::Shard) {
        self.series.retain(|s| shard.keeps(&s.name, &s.labels));
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

/// Reads a metric file (CSV or JSON lines, gzipped or not), detecting the format by content.
pub fn load(path: &Path) -> Result<MetricSet, MetricsError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| MetricsError {
        file: name.clone(),
        place: None,
        message: format!("cannot read metrics: {}", ingest::io_reason(&e)),
    })?;
    load_bytes(&name, &bytes)
}

/// Reads metrics from memory (CSV or JSON lines, gzipped or not); `name` is used in errors
/// and warnings, and becomes [`MetricSet::source`].
pub fn load_bytes(name: &str, bytes: &[u8]) -> Result<MetricSet, MetricsError> {
    let data = inflate(name, bytes)?;
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&data);
    let Some(&first) = data.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(whole(name, "the file is empty"));
    };
    match first {
        b'{' => jsonl::read(name, data),
        b'[' => Err(whole(
            name,
            "a JSON array; metrics in JSON are read as JSON lines, one object per line",
        )),
        _ => self::csv::read(name, data),
    }
}

fn whole(file: &str, message: impl Into<String>) -> MetricsError {
    MetricsError {
        file: file.to_string(),
        place: None,
        message: message.into(),
    }
}

/// The inflated bytes of a gzipped input (the one gzip reader, with its one limit), or the input
/// itself.
fn inflate<'a>(name: &str, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, MetricsError> {
    gzip::maybe_inflate(bytes).map_err(|e| MetricsError {
        file: name.to_string(),
        place: Some(format!("byte {}", e.compressed_offset)),
        message: e.message,
    })
}

/// Where a point came from: its line, for duplicate warnings.
type Line = u64;

/// What tells series apart: the name and the labels, sorted by key.
type SeriesKey = (String, Vec<(String, String)>);

/// What the readers share: points grouped by series as they are read, the file's timestamp
/// format, and warnings naming the file. [`Collector::finish`] sorts and deduplicates.
struct Collector<'a> {
    file: &'a str,
    /// The format of the first timestamp read, and its line.
    time_format: Option<(TimeFormat, Line)>,
    series: BTreeMap<SeriesKey, Vec<(Point, Line)>>,
    warnings: Vec<String>,
    /// Warnings past [`MAX_WARNINGS`], counted only.
    dropped_warnings: usize,
    /// The first problem, for the error when no row is usable.
    first_problem: Option<(String, String)>,
    skipped: usize,
}

impl<'a> Collector<'a> {
    fn new(file: &'a str) -> Self {
        Collector {
            file,
            time_format: None,
            series: BTreeMap::new(),
            warnings: Vec::new(),
            dropped_warnings: 0,
            first_problem: None,
            skipped: 0,
        }
    }

    fn error(&self, place: impl Into<String>, message: impl Into<String>) -> MetricsError {
        MetricsError {
            file: self.file.to_string(),
            place: Some(place.into()),
            message: message.into(),
        }
    }

    /// A warning naming the file and `place`; past [`MAX_WARNINGS`], only counted.
    fn warn(&mut self, place: String, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            let warning = self.error(place, message).to_string();
            self.warnings.push(warning);
        } else {
            self.dropped_warnings += 1;
        }
    }

    /// A row skipped for a reason given in `message`.
    fn skip(&mut self, place: String, message: String) {
        self.skipped += 1;
        if self.first_problem.is_none() {
            self.first_problem = Some((place.clone(), message.clone()));
        }
        self.warn(place, format!("{message}; row skipped"));
    }

    /// Checks that a timestamp has the file's format (set by the first one). Mixing formats is
    /// an error: the times could not be compared.
    fn check_time_format(
        &mut self,
        format: TimeFormat,
        line: Line,
        place: String,
    ) -> Result<(), MetricsError> {
        match self.time_format {
            None => {
                self.time_format = Some((format, line));
                Ok(())
            }
            Some((first, _)) if first == format => Ok(()),
            Some((first, first_line)) => Err(self.error(
                place,
                format!(
                    "timestamp is {} but the file's timestamps are {} (from line {first_line}); a file must use one timestamp format",
                    format.one(),
                    first.many()
                ),
            )),
        }
    }

    fn push(&mut self, name: String, mut labels: Vec<(String, String)>, point: Point, line: Line) {
        labels.sort();
        self.series
            .entry((name, labels))
            .or_default()
            .push((point, line));
    }

    /// The set: series sorted by (name, labels), points by time, the last of equal times kept.
    fn finish(mut self) -> Result<MetricSet, MetricsError> {
        if self.series.is_empty() {
            let (place, message) = match self.first_problem.take() {
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
        let mut series = Vec::with_capacity(self.series.len());
        for ((name, labels), mut points) in std::mem::take(&mut self.series) {
            // Stable: equal times stay in file order, so the last of a run is the file's last.
            points.sort_by_key(|(p, _)| p.t);
            let mut kept: Vec<Point> = Vec::with_capacity(points.len());
            let mut kept_line = 0;
            for (point, line) in points {
                if kept.last().is_some_and(|last| last.t == point.t) {
                    let shown = self.time_format.map_or(TimeFormat::Integer, |f| f.0);
                    self.warn(
                        format!("line {line}"),
                        format!(
                            "series {} has a second value at time {} (the one before on line {kept_line}); keeping this one",
                            series_title(&name, &labels),
                            shown.show(point.t)
                        ),
                    );
                    *kept.last_mut().expect("checked") = point;
                } else {
                    kept.push(point);
                }
                kept_line = line;
            }
            series.push(Series {
                name,
                labels,
                points: kept,
            });
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
            time_format: self.time_format.map_or(TimeFormat::Integer, |f| f.0),
            series,
            warnings,
        })
    }
}

/// `cpu{host=a,region=eu}`, or `cpu` without labels.
fn series_title(name: &str, labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return name.to_string();
    }
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{name}{{{}}}", labels.join(","))
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
