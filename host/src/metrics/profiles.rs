//! Per-function share series from profiles taken over time: how much of each profile a function
//! took, self and inclusive, so a function that grows from one profile to the next shows up as
//! a rising series. Also the time of a profile, from the profile or its file name.

use std::path::Path;

use joule_profile::model::{FunctionId, Profile};
use rustc_hash::FxHashMap;

use super::{Grids, MetricSet, Series, TimeFormat, datetime_prefix, digits, parse_offset};

/// Per-function series from a time-ordered set of profiles (`(time, profile)` pairs; the times
/// are kept as given, so the set's format is [`TimeFormat::Integer`]: set it to
/// [`TimeFormat::Rfc3339`] when they are Unix seconds, from [`profile_time`] say, to show them
/// as date-times).
///
/// For each profile, each function's share of the profile's total in `sample_type` (default:
/// each profile's default sample type) becomes a point of the series `self:<function>` (its
/// own samples) and `total:<function>` (inclusive, counted once per stack), both labelled
/// `function=<function>`. Functions with the same name (in different files or modules) are
/// one. Only functions whose largest share over all profiles reaches `min_share` get series,
/// and functions with no samples in any profile get none; a function absent from a profile has
/// the value 0 at that time.
///
/// A profile without that sample type, or whose total in it is not positive, is left out with
/// a warning; of two profiles with the same time the later in `profiles` is kept, with a
/// warning. Warnings name profiles by their position in `profiles`, counted from 1.
pub fn from_profiles(
    profiles: &[(i64, &Profile)],
    sample_type: Option<usize>,
    min_share: f64,
) -> MetricSet {
    let mut warnings = Vec::new();
    // Function names across all profiles, by key.
    let mut keys: FxHashMap<String, usize> = FxHashMap::default();
    let mut names: Vec<String> = Vec::new();
    let mut taken: Vec<Taken> = Vec::new();
    for (i, &(t, profile)) in profiles.iter().enumerate() {
        let number = i + 1;
        let st = sample_type.unwrap_or(profile.default_sample_type);
        if st >= profile.sample_type_count() {
            warnings.push(format!(
                "profile {number} (time {t}): no sample type {st} (it has {}); left out",
                profile.sample_type_count()
            ));
            continue;
        }
        let total = profile.totals()[st];
        if total <= 0 {
            warnings.push(format!(
                "profile {number} (time {t}): its total in {} is {total}; left out",
                profile.sample_type_label(st)
            ));
            continue;
        }
        let mut shares = FxHashMap::default();
        for (name, self_value, total_value) in function_values(profile, st) {
            let key = match keys.get(name) {
                Some(&key) => key,
                None => {
                    keys.insert(name.to_string(), names.len());
                    names.push(name.to_string());
                    names.len() - 1
                }
            };
            let self_share = self_value as f64 / total as f64;
            let total_share = total_value as f64 / total as f64;
            shares.insert(key, (self_share, total_share));
        }
        taken.push(Taken { t, number, shares });
    }
    // Stable: of equal times, the later profile comes last and replaces the earlier.
    taken.sort_by_key(|entry| entry.t);
    let mut times: Vec<Taken> = Vec::with_capacity(taken.len());
    for entry in taken {
        match times.last_mut() {
            Some(last) if last.t == entry.t => {
                warnings.push(format!(
                    "profile {} has the same time {} as profile {}; keeping profile {}",
                    entry.number, entry.t, last.number, entry.number
                ));
                *last = entry;
            }
            _ => times.push(entry),
        }
    }
    // The largest share each function reached in the profiles kept.
    let mut peak = vec![f64::NEG_INFINITY; names.len()];
    for entry in &times {
        for (&key, &(self_share, total_share)) in &entry.shares {
            peak[key] = peak[key].max(self_share).max(total_share);
        }
    }
    // Every series has a point at every profile's time: one grid for all.
    let grid = Grids::default().intern(&times.iter().map(|entry| entry.t).collect::<Vec<_>>());
    let mut series = Vec::new();
    for (key, name) in names.iter().enumerate() {
        // Functions only in profiles replaced by a later one of the same time have no peak.
        let kept = peak[key] >= min_share && peak[key] != f64::NEG_INFINITY;
        if !kept {
            continue;
        }
        for (prefix, pick) in [
            ("self:", (|s: (f64, f64)| s.0) as fn((f64, f64)) -> f64),
            ("total:", |s| s.1),
        ] {
            series.push(Series::new(
                format!("{prefix}{name}"),
                vec![("function".to_string(), name.clone())],
                grid.clone(),
                times
                    .iter()
                    .map(|entry| entry.shares.get(&key).copied().map_or(0.0, pick))
                    .collect(),
            ));
        }
    }
    series.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
    MetricSet {
        source: "profiles".to_string(),
        time_format: TimeFormat::Integer,
        series,
        warnings,
    }
}

/// One profile used: its time, its position in the input (from 1), and the (self, total)
/// share of each function name with samples, by name key.
struct Taken {
    t: i64,
    number: usize,
    shares: FxHashMap<usize, (f64, f64)>,
}

/// Self and total value, in sample type `st`, of every function name with samples. The
/// per-function values come from the profile's cached totals (one walk of the stacks, shared
/// with every other query); only names shared by several functions need a walk of their own,
/// so that a stack holding two of them counts once in their total.
fn function_values(profile: &Profile, st: usize) -> Vec<(&str, i64, i64)> {
    // name -> (self, total, functions with samples)
    let mut by_name: FxHashMap<&str, (i64, i64, u32)> = FxHashMap::default();
    for f in 0..profile.functions.len() as FunctionId {
        let stat = profile.function_stat(f, st);
        if stat.self_value == 0 && stat.total_value == 0 {
            continue;
        }
        let entry = by_name.entry(profile.function_name(f)).or_insert((0, 0, 0));
        entry.0 = entry.0.saturating_add(stat.self_value);
        entry.1 = entry.1.saturating_add(stat.total_value);
        entry.2 += 1;
    }
    let shared: Vec<&str> = by_name
        .iter()
        .filter(|(_, e)| e.2 > 1)
        .map(|(&name, _)| name)
        .collect();
    if !shared.is_empty() {
        for (name, total) in shared_totals(profile, st, &shared) {
            if let Some(entry) = by_name.get_mut(name) {
                entry.1 = total;
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, (self_value, total_value, _))| (name, self_value, total_value))
        .collect()
}

/// The inclusive value of each of `names`, counting a stack once however many functions of
/// that name it holds.
fn shared_totals<'a>(profile: &Profile, st: usize, names: &[&'a str]) -> Vec<(&'a str, i64)> {
    const NONE: usize = usize::MAX;
    let mut slot_of = vec![NONE; profile.functions.len()];
    for (slot, name) in names.iter().enumerate() {
        for &f in profile.functions_named(name) {
            slot_of[f as usize] = slot;
        }
    }
    let mut totals = vec![0i64; names.len()];
    let mut seen = vec![0usize; names.len()];
    for i in 0..profile.stack_count() {
        let generation = i + 1;
        let value = profile.stack_values(i)[st];
        for frame in profile.frames_of(i) {
            let slot = slot_of[frame.function as usize];
            if slot != NONE && seen[slot] != generation {
                seen[slot] = generation;
                totals[slot] = totals[slot].saturating_add(value);
            }
        }
    }
    names.iter().copied().zip(totals).collect()
}

/// When a profile was taken, as Unix seconds: the profile's own time if it records one, else a
/// date-time or a Unix timestamp in the file name: `cpu-2026-11-01T12:00:00Z.pb.gz` (offsets,
/// `-` or `.` between the time's fields, or a date alone work too), `cpu-20261101T120000.pb.gz`,
/// `cpu-1700000000.pb.gz` (10 digits; 13, 16 or 19 digits are taken as milli-, micro- or
/// nanoseconds). A date-time without a zone is taken as UTC.
pub fn profile_time(path: &Path, profile: &Profile) -> Option<i64> {
    if let Some(nanos) = profile.time_nanos {
        return Some(nanos.div_euclid(1_000_000_000));
    }
    time_in_name(&path.file_name()?.to_string_lossy())
}

/// The first date-time in a file name, else the first Unix timestamp.
fn time_in_name(name: &str) -> Option<i64> {
    let b = name.as_bytes();
    // Where runs of digits start.
    let starts: Vec<usize> = (0..b.len())
        .filter(|&i| b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()))
        .collect();
    let ends_run = |end: usize| !b.get(end).is_some_and(u8::is_ascii_digit);
    for &i in &starts {
        if let Some((len, t)) = name_datetime(&b[i..])
            && ends_run(i + len)
        {
            return Some(t);
        }
    }
    starts.iter().find_map(|&i| {
        let len = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let scale = match len {
            10 => 1,
            13 => 1_000,
            16 => 1_000_000,
            19 => 1_000_000_000,
            _ => return None,
        };
        name[i..i + len].parse::<i64>().ok().map(|n| n / scale)
    })
}

/// A date-time at the start of `b` as file names write them: RFC 3339 (`2026-11-01T12:00:00Z`),
/// with `-` or `.` for the time's colons, a date alone (`2026-11-01`), or the basic form
/// (`20261101T120000`, `20261101-120000Z`, `20261101120000`); the bytes it took and Unix seconds.
fn name_datetime(b: &[u8]) -> Option<(usize, i64)> {
    let dashed = b.get(4) == Some(&b'-');
    if dashed
        && let Some(found) = datetime_prefix(b)
        && found.0 > 10
    {
        return Some(found);
    }
    let year = i64::from(number(b, 0, 4)?);
    let (date, at) = if dashed {
        if b.get(7) != Some(&b'-') {
            return None;
        }
        ((year, number(b, 5, 2)?, number(b, 8, 2)?), 10)
    } else {
        ((year, number(b, 4, 2)?, number(b, 6, 2)?), 8)
    };
    match time_of_day(b, at, dashed) {
        Some((time, mut at)) => {
            let mut offset = 0;
            if let Some((seconds, len)) = b.get(at..).and_then(parse_offset) {
                offset = seconds;
                at += len;
            }
            Some((at, super::unix_seconds(date, time, offset)?))
        }
        None if dashed => Some((at, super::unix_seconds(date, (0, 0, 0), 0)?)),
        None => None,
    }
}

/// `n` digits at `at`.
fn number(b: &[u8], at: usize, n: usize) -> Option<u32> {
    digits(b.get(at..)?, n)
}

/// The time of day after a file name's date at `at`: `T120000`, `_12-00-00`, `-120000` (basic
/// form), `120000` (basic form); hours, minutes, seconds and where it ends.
fn time_of_day(b: &[u8], mut at: usize, dashed: bool) -> Option<((u32, u32, u32), usize)> {
    match b.get(at)? {
        b'T' | b't' | b'_' => at += 1,
        b' ' if dashed => at += 1,
        b'-' if !dashed => at += 1,
        c if c.is_ascii_digit() && !dashed => {}
        _ => return None,
    }
    let hour = number(b, at, 2)?;
    at += 2;
    let separator = match b.get(at) {
        Some(&c @ (b':' | b'-' | b'.')) if dashed => Some(c),
        _ => None,
    };
    let mut next = || -> Option<u32> {
        if let Some(s) = separator {
            if b.get(at) != Some(&s) {
                return None;
            }
            at += 1;
        }
        let value = number(b, at, 2)?;
        at += 2;
        Some(value)
    };
    let minute = next()?;
    let second = next()?;
    Some(((hour, minute, second), at))
}
