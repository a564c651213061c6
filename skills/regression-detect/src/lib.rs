//! `regression-detect`: lasting changes in the granted metric sets. Each series is segmented
//! into its lasting changes (binary segmentation, each change judged against its neighbouring
//! segments with the maximally selected two-sample statistic and Siegmund's tail approximation,
//! see `detect::segment`); transients, seasonality and cost that merely moved to a sibling
//! series are filtered out, rises are regressions (for costs; `direction` says which way is
//! worse), falls improvements, and correlated series that changed together are reported once.
//!
//! Memory and time a series do not grow with the fleet: series are listed a page at a time,
//! and of each change only a window of points around it is kept, for the correlation with
//! changes at the same time, which are found through an index by time.

pub mod detect;

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use joule_sdk::prelude::*;
use joule_sdk::stats;
use joule_sdk::{MetricSet, SeriesInfo};

use detect::{Direction, Role, Settings, Shift, Since};

struct RegressionDetect;

/// Points each side of a change over which correlated series are compared.
const DEDUP_WINDOW: usize = 100;

/// Kept regressions a regression is compared with, at most, for the correlation dedup.
const MAX_COMPARED: usize = 256;

/// Series listed per host call.
const LIST_PAGE: u32 = 10_000;

impl Skill for RegressionDetect {
    fn describe() -> Descriptor {
        Describe::new(
            "regression-detect",
            env!("CARGO_PKG_VERSION"),
            "Lasting changes in resource time series: each step regression with when it \
             happened, how large it is and how sure; improvements as information; transients, \
             seasonality and cost shifts left out.",
        )
        .on_scan()
        .uses("metrics")
        .uses("log")
        .parameter(
            "since",
            "What the scan covers. Empty (a one-off scan): every change with min-segment points \
             each side, anywhere in the series. A time, in the set's own form (an integer \
             compared with the series' times as written, or an RFC 3339 date-time, compared as \
             Unix seconds): only changes at or after it, judged against the points before (a \
             periodic scan, which searched the older part before; every split left out makes \
             the test more sensitive). A share of each series, `70%`: only changes in its \
             most recent 30%; a scan at least every 250 points of a 1,000-point window with \
             min-segment 50 then tests every change at least once.",
            Some(""),
        )
        .parameter(
            "min-baseline",
            "The share form of since, as a fraction (0.7 is since=70%); kept for older command \
             lines. Ignored when since is given; 0 or empty searches everywhere.",
            Some(""),
        )
        .parameter(
            "alpha",
            "Largest p-value reported (two-sided; corrected for the splits searched, and divided \
             by the share of alpha the change's stretch and part get: a stretch between two \
             changes its share of the series' length, and within it 0.1 for the splits within \
             2 x min-segment of either end, the rest for the others).",
            Some("0.001"),
        )
        .parameter(
            "min-change",
            "Smallest relative change reported (0.001 is 0.1%).",
            Some("0.001"),
        )
        .parameter(
            "min-segment",
            "Points each side of a change must have; shorter excursions are transients. A \
             series shorter than 5 x min-segment uses a fifth of its length (at least 5 \
             points); series under 10 points are not searched (a warning counts them).",
            Some("50"),
        )
        .parameter(
            "period",
            "Seasonal period in points: 0 finds it, 1 means none.",
            Some("0"),
        )
        .parameter(
            "direction",
            "Which way is worse: up (costs), down (throughput) or both. Changes the other way \
             are reported as information (improvement).",
            Some("up"),
        )
        .parameter(
            "group-by",
            "Label whose series are siblings: a rise offset by a fall in a sibling at the same \
             time is a cost shift, not a regression (and the fall not an improvement).",
            Some("group"),
        )
        .parameter(
            "series",
            "Only series whose name contains this text (e.g. `total:myservice::` for a service's \
             own functions in a profile series); empty for all.",
            Some(""),
        )
        .parameter(
            "dedup-correlation",
            "Series that change together and correlate at least this much are reported once: \
             as the one the change concentrates in (the largest relative change among those \
             that carry at least half of the largest absolute one), the others in `also`, and \
             those as concentrated in `alike`.",
            Some("0.9"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let settings = Settings {
            alpha: invocation.param_or("alpha", 1e-3)?,
            min_change: invocation.param_or("min-change", 0.001)?,
            min_segment: invocation.param_or("min-segment", 50)?,
            since: Since::Start,
            period: invocation.param_or("period", 0)?,
            direction: match invocation.param("direction").unwrap_or("up") {
                "up" => Direction::Up,
                "down" => Direction::Down,
                "both" => Direction::Both,
                other => return Err(format!("direction = {other:?}: use up, down or both")),
            },
            calendar: Vec::new(),
        };
        let since = match invocation.param("since").map(str::trim) {
            Some(text) if !text.is_empty() => Scope::parse(text)?,
            _ => match invocation.param("min-baseline").map(str::trim) {
                Some(text) if !text.is_empty() => Scope::share(text, 1.0)?,
                _ => Scope::Everywhere,
            },
        };
        let group_by = invocation.param("group-by").unwrap_or("group").to_string();
        let dedup: f64 = invocation.param_or("dedup-correlation", 0.9)?;
        let only = invocation.param("series").filter(|s| !s.is_empty());
        // Each set's findings go to the host as soon as the set is scanned: a deadline or a
        // memory cap reached in a later set keeps them.
        for set in MetricSet::granted() {
            Finding::report(&scan(&set, only, &settings, since, &group_by, dedup)?);
        }
        Ok(Vec::new())
    }
}

/// What a scan covers (the `since` parameter).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scope {
    /// A one-off scan: every split.
    Everywhere,
    /// Changes in the most recent part of each series: at or after this share of it.
    Share(f64),
    /// Changes at or after this time (in the series' own units).
    Time(i64),
}

impl Scope {
    /// `70%`, a time (`1764547200`, `2026-11-01T00:00:00Z`).
    fn parse(text: &str) -> Result<Scope, String> {
        if let Some(percent) = text.strip_suffix('%') {
            return Scope::share(percent, 100.0);
        }
        joule_sdk::units::parse_time(text)
            .map(Scope::Time)
            .ok_or_else(|| {
                format!(
                    "since = {text:?}: use a time as the metric set writes it (an integer or an \
                 RFC 3339 date-time) or a share of the window such as 70%"
                )
            })
    }

    /// A share written as a number out of `whole` (`70` of 100, `0.7` of 1).
    fn share(text: &str, whole: f64) -> Result<Scope, String> {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=whole).contains(&v) => Ok(if v == 0.0 {
                Scope::Everywhere
            } else {
                Scope::Share(v / whole)
            }),
            _ => Err(format!(
                "{text:?} is not a share of the window (0 to {whole})"
            )),
        }
    }
}

/// One change of one series, as kept until the findings are written: for a regression, the
/// points around it too (for the correlation with other regressions at the same time).
struct Change {
    info: Rc<SeriesInfo>,
    shift: Shift,
    role: Role,
    /// Time of the first point after the change.
    at: i64,
    /// Points of the series.
    len: usize,
    /// Points each side of a change the search required in this series: changes closer
    /// together than this are placed as one.
    segment: usize,
    window: Option<Window>,
}

impl Change {
    fn delta(&self) -> f64 {
        self.shift.after - self.shift.before
    }

    fn group<'a>(&'a self, key: &str) -> Option<&'a str> {
        label(&self.info, key)
    }
}

/// Values and times of a series around a change: points `from..from + values.len()`, held
/// compactly (a fleet scan may keep tens of thousands): values as `f32` less the first (the
/// correlation needs neither more precision nor the level), times as a start and a step when
/// they are evenly spaced.
struct Window {
    from: usize,
    values: Vec<f32>,
    times: Times,
}

/// The times of a window.
enum Times {
    Even { start: i64, step: i64, len: usize },
    Listed(Vec<i64>),
}

impl Window {
    fn new(values: &[f64], times: &[i64], index: usize, reach: usize) -> Window {
        let to = index
            .saturating_add(reach)
            .min(values.len())
            .min(times.len());
        let from = index.saturating_sub(reach).min(to);
        let (values, times) = (&values[from..to], &times[from..to]);
        let first = values.first().copied().unwrap_or(0.0);
        let step = match times {
            [a, b, ..] => b.wrapping_sub(*a),
            _ => 0,
        };
        let even = times
            .windows(2)
            .all(|w| w[1].checked_sub(w[0]) == Some(step));
        Window {
            from,
            values: values.iter().map(|v| (v - first) as f32).collect(),
            times: match times.first() {
                Some(&start) if even => Times::Even {
                    start,
                    step,
                    len: times.len(),
                },
                _ => Times::Listed(times.to_vec()),
            },
        }
    }

    fn time(&self, i: usize) -> Option<i64> {
        let j = i.checked_sub(self.from)?;
        match &self.times {
            Times::Even { start, step, len } => (j < *len)
                .then(|| i64::try_from(j).ok())
                .flatten()
                .and_then(|j| start.checked_add(step.checked_mul(j)?)),
            Times::Listed(times) => times.get(j).copied(),
        }
    }

    fn values(&self, from: usize, to: usize) -> Option<&[f32]> {
        self.values
            .get(from.checked_sub(self.from)?..to.checked_sub(self.from)?)
    }
}

fn label<'a>(info: &'a SeriesInfo, key: &str) -> Option<&'a str> {
    info.labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `cpu{host=a,region=eu}`.
fn display(info: &SeriesInfo) -> String {
    if info.labels.is_empty() {
        return info.name.clone();
    }
    let labels: Vec<String> = info
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{}{{{}}}", info.name, labels.join(","))
}

/// Counts for the scan's closing log lines.
#[derive(Default)]
struct Tally {
    scanned: usize,
    too_short: usize,
    nothing_since: usize,
    shifted: usize,
}

fn scan(
    set: &MetricSet,
    only: Option<&str>,
    settings: &Settings,
    scope: Scope,
    group_by: &str,
    dedup: f64,
) -> Result<Vec<Finding>, String> {
    // Changes both ways: falls are improvements, and they tell cost that moved between
    // siblings from cost that grew.
    let mut both = Settings {
        direction: Direction::Both,
        ..settings.clone()
    };
    let near = (settings.min_segment / 2).max(5);
    let reach = DEDUP_WINDOW + near;
    let mut changes: Vec<Change> = Vec::new();
    let mut tally = Tally::default();
    let mut start = 0u32;
    let mut first_page = true;
    loop {
        let page = set.raw().list_series(start, LIST_PAGE, only);
        let Some(last) = page.last() else { break };
        start = last.id.saturating_add(1);
        if first_page {
            // The calendar's periods at the spacing of the set's first series (sets are usually
            // on one grid): a day and a week, in points.
            first_page = false;
            if let Some(first) = page.first() {
                both.calendar = calendar_periods(&set.times(first.id)?, set.time_format());
            }
        }
        for info in page {
            tally.scanned += 1;
            let n = info.len as usize;
            if !detect::searchable(n) {
                tally.too_short += 1;
                continue;
            }
            let mut times: Option<Vec<i64>> = None;
            both.since = match scope {
                Scope::Everywhere => Since::Start,
                Scope::Share(share) => Since::Share(share),
                Scope::Time(t) if t <= info.first => Since::Start,
                Scope::Time(t) if t > info.last => {
                    tally.nothing_since += 1;
                    continue;
                }
                Scope::Time(t) => {
                    let ts = set.times(info.id)?;
                    let i = ts.partition_point(|&x| x < t);
                    times = Some(ts);
                    Since::Index(i)
                }
            };
            let values = set.values(info.id)?;
            let shifts = detect::changes(&values, &both);
            if shifts.is_empty() {
                continue;
            }
            tally.shifted += 1;
            let times = match times {
                Some(t) => t,
                None => set.times(info.id)?,
            };
            let info = Rc::new(info);
            for (role, shift) in detect::classify(&shifts, settings.direction) {
                let window = (role == Role::Regression)
                    .then(|| Window::new(&values, &times, shift.index, reach));
                changes.push(Change {
                    info: Rc::clone(&info),
                    shift: shift.clone(),
                    role,
                    at: times.get(shift.index).copied().unwrap_or_default(),
                    len: values.len(),
                    segment: detect::segment_length(values.len(), settings.min_segment),
                    window,
                });
            }
        }
    }

    let mut findings = Vec::new();
    let shifted_by_sibling = cost_shifts(&changes, group_by, near);
    let mut regressions: Vec<usize> = Vec::new();
    let mut improvements = 0usize;
    for (i, c) in changes.iter().enumerate() {
        match (c.role, shifted_by_sibling[i]) {
            (Role::Regression, Some(offset)) => findings.push(cost_shift(set, c, offset, group_by)),
            (Role::Regression, None) => regressions.push(i),
            // A fall that offsets a sibling's rise is the other half of a cost shift.
            (Role::Improvement, Some(_)) => {}
            (Role::Improvement, None) => {
                improvements += 1;
                findings.push(improvement(set, c));
            }
        }
    }

    // Correlated series that changed together: keep the strongest, name the others.
    regressions.sort_by(|&a, &b| changes[b].shift.llr.total_cmp(&changes[a].shift.llr));
    let (kept, capped) = correlated(&changes, regressions, near, dedup);
    if capped {
        log::info(format!(
            "{}: so many regressions changed at about the same time that each was compared with \
             only the {MAX_COMPARED} nearest in time for the correlation dedup",
            set.name()
        ));
    }
    let reported = kept.len();
    for group in kept {
        let also = group.names(&changes, |_| true);
        let alike = group.names(&changes, |k| group.alike.contains(&k));
        let mut finding = regression(set, &changes[group.members[group.lead]], &also, &alike);
        if let Some(label) = group.label(&changes, near, dedup) {
            finding
                .labels
                .push(("correlation-group".to_string(), label));
        }
        findings.push(finding);
    }
    log::info(format!(
        "{}: {} series scanned, {} with a lasting change, {reported} regressions and \
         {improvements} improvements reported",
        set.name(),
        tally.scanned,
        tally.shifted,
    ));
    if tally.too_short > 0 {
        log::warn(format!(
            "{}: {} series shorter than {} points not searched",
            set.name(),
            tally.too_short,
            detect::MIN_POINTS
        ));
    }
    if tally.nothing_since > 0 {
        log::info(format!(
            "{}: {} series end before `since`: nothing new to search",
            set.name(),
            tally.nothing_since
        ));
    }
    Ok(findings)
}

/// For each change, the sum of the opposite changes of its siblings (same `group_by` label)
/// within `near` points, when it offsets at least half of it: the change is then one side of
/// cost that moved, not cost that grew or shrank.
fn cost_shifts(changes: &[Change], group_by: &str, near: usize) -> Vec<Option<f64>> {
    // The changes of each group by index, so siblings are found without a pass over the
    // group per change (thousands change in a fleet scan).
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in changes.iter().enumerate() {
        if let Some(g) = c.group(group_by) {
            groups.entry(g).or_default().push(i);
        }
    }
    for members in groups.values_mut() {
        members.sort_by_key(|&i| changes[i].shift.index);
    }
    changes
        .iter()
        .map(|c| {
            let members = groups.get(c.group(group_by)?)?;
            let from = members.partition_point(|&j| changes[j].shift.index + near < c.shift.index);
            let offset: f64 = members[from..]
                .iter()
                .take_while(|&&j| changes[j].shift.index <= c.shift.index + near)
                .filter(|&&j| {
                    !Rc::ptr_eq(&changes[j].info, &c.info)
                        && changes[j].delta().signum() != c.delta().signum()
                })
                .map(|&j| changes[j].delta().abs())
                .sum();
            (offset >= 0.5 * c.delta().abs() && offset > 0.0).then_some(offset)
        })
        .collect()
}

/// The regressions to report (groups strongest first), each as the member of its group of
/// correlated changes the change concentrates in ([`lead`]), with the other members and those
/// of them as concentrated ([`alike`]). See [`correlated_groups`].
fn correlated(
    changes: &[Change],
    strongest_first: Vec<usize>,
    near: usize,
    dedup: f64,
) -> (Vec<Reported>, bool) {
    let (groups, capped) = correlated_groups(changes, strongest_first, near, dedup);
    let reported = groups
        .into_iter()
        .map(|members| {
            let sizes: Vec<(f64, f64)> = members
                .iter()
                .map(|&i| (changes[i].delta(), changes[i].shift.relative_change))
                .collect();
            let first = stats::lead(&sizes, |_| true).unwrap_or(0);
            let alike = stats::alike(&sizes, first);
            Reported {
                lead: first,
                alike,
                members,
            }
        })
        .collect();
    (reported, capped)
}

/// A regression to report: a group of correlated changes (indices into `changes`, the
/// strongest first), the member it is reported as, and the other members whose change is as
/// concentrated as that one's ([`alike`]), as positions in `members`.
struct Reported {
    members: Vec<usize>,
    lead: usize,
    alike: Vec<usize>,
}

impl Reported {
    /// The names of the members other than the lead that `pick` (a position) keeps.
    fn names(&self, changes: &[Change], pick: impl Fn(usize) -> bool) -> Vec<String> {
        (0..self.members.len())
            .filter(|&k| k != self.lead && pick(k))
            .map(|k| display(&changes[self.members[k]].info))
            .collect()
    }

    /// The `correlation-group` label: what `joule merge` needs to join this group with the
    /// groups other shards found for the same change, as JSON (docs/findings.md): the
    /// threshold and reach of the comparison, the window of the strongest member (the one
    /// later changes are compared with) and every member's size, strongest first.
    fn label(&self, changes: &[Change], near: usize, dedup: f64) -> Option<String> {
        let strongest = &changes[*self.members.first()?];
        let w = strongest.window.as_ref()?;
        let change = strongest.shift.index.checked_sub(w.from)?;
        let mut out = format!(
            "{{\"threshold\":{},\"near\":{near},\"stretch\":{DEDUP_WINDOW},\"signature\":{{\"series\":{},\"change\":{change},",
            json_number(dedup),
            json_string(&display(&strongest.info)),
        );
        match &w.times {
            Times::Even { start, step, .. } => {
                out.push_str(&format!("\"start\":{start},\"step\":{step},"));
            }
            Times::Listed(times) => {
                let times: Vec<String> = times.iter().map(i64::to_string).collect();
                out.push_str(&format!("\"times\":[{}],", times.join(",")));
            }
        }
        // f32 as f32 writes them: the shortest text that reads back as the same f32.
        let values: Vec<String> = w
            .values
            .iter()
            .map(|v| {
                if v.is_finite() {
                    format!("{v:?}")
                } else {
                    "null".to_string()
                }
            })
            .collect();
        out.push_str(&format!(
            "\"values\":[{}]}},\"members\":[",
            values.join(",")
        ));
        for (k, &i) in self.members.iter().enumerate() {
            let c = &changes[i];
            if k > 0 {
                out.push(',');
            }
            out.push_str(&format!(
                "{{\"series\":{},\"llr\":{},\"change\":{},\"relative\":{}}}",
                json_string(&display(&c.info)),
                json_number(c.shift.llr),
                json_number(c.delta()),
                json_number(c.shift.relative_change)
            ));
        }
        out.push_str("]}");
        Some(out)
    }
}

/// A JSON number (`null` for what JSON cannot write): the shortest text that reads back as
/// the same value.
fn json_number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:?}")
    } else {
        "null".to_string()
    }
}

/// A JSON string.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The groups of correlated regressions (indices into `changes`), each its strongest first, then
/// the series that changed with it: a later one that changed within `near` points of a kept
/// one, measured at the same times and correlating at least `dedup` around the change. Kept
/// regressions are indexed by the time of their change, so each is compared only with those
/// near it in time, nearest first and at most [`MAX_COMPARED`] (the second value says whether
/// any regression reached that many).
fn correlated_groups(
    changes: &[Change],
    strongest_first: Vec<usize>,
    near: usize,
    dedup: f64,
) -> (Vec<Vec<usize>>, bool) {
    let mut kept: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut by_time: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    let mut capped = false;
    for i in strongest_first {
        let d = &changes[i];
        let Some(w) = &d.window else {
            kept.push((i, Vec::new()));
            continue;
        };
        let index = d.shift.index;
        // Correlation over the stretch around the change (where a shared cause shows), which
        // also keeps the comparison cheap when many series changed at once.
        let (from, to) = (
            index.saturating_sub(DEDUP_WINDOW),
            (index + DEDUP_WINDOW).min(d.len),
        );
        let (Some(earliest), Some(latest)) = (
            w.time(index.saturating_sub(near)),
            w.time((index + near).min(d.len.saturating_sub(1))),
        ) else {
            kept.push((i, Vec::new()));
            continue;
        };
        let mine = w.values(from, to);
        // The kept regressions nearest in time first, at most MAX_COMPARED of them: when a
        // large share of a fleet changes at once, the correlations would otherwise grow with
        // the fleet (a twin changes within a few points, so it is among the nearest).
        let low = earliest.min(latest);
        let high = latest.max(earliest);
        let mut after = by_time.range(d.at..=high).peekable();
        let mut before = by_time.range(low..d.at).rev().peekable();
        let mut compared = 0usize;
        let mut twin = None;
        while compared < MAX_COMPARED && twin.is_none() {
            let next = match (after.peek(), before.peek()) {
                (Some(a), Some(b)) if a.0.abs_diff(d.at) <= b.0.abs_diff(d.at) => after.next(),
                (Some(_), None) => after.next(),
                (_, Some(_)) => before.next(),
                (None, None) => break,
            };
            let Some((_, ks)) = next else { break };
            for &k in ks.iter().take(MAX_COMPARED - compared) {
                compared += 1;
                let o = &changes[kept[k].0];
                let Some(ow) = &o.window else { continue };
                // Only series measured at the same times are compared (the same point index
                // in series of different times is not the same moment): the stretch must
                // start and end at the same times in both.
                let same = o.shift.index.abs_diff(index) <= near
                    && to > from
                    && ow.time(from) == w.time(from)
                    && ow.time(to - 1) == w.time(to - 1)
                    && match (mine, ow.values(from, to)) {
                        (Some(a), Some(b)) => stats::correlation(a, b) >= dedup,
                        _ => false,
                    };
                if same {
                    twin = Some(k);
                    break;
                }
            }
            capped |= compared >= MAX_COMPARED;
        }
        match twin {
            Some(k) => kept[k].1.push(i),
            None => {
                by_time.entry(d.at).or_default().push(kept.len());
                kept.push((i, Vec::new()));
            }
        }
    }
    let groups = kept
        .into_iter()
        .map(|(i, twins)| std::iter::once(i).chain(twins).collect())
        .collect();
    (groups, capped)
}

/// A day and a week in points, when the times are Unix seconds on a regular grid that divides
/// them.
fn calendar_periods(times: &[i64], format: joule_sdk::TimeFormat) -> Vec<usize> {
    let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return Vec::new();
    }
    gaps.sort_unstable();
    let spacing = gaps[gaps.len() / 2];
    // Integer times could be an index rather than seconds; only a plausible spacing counts.
    let seconds = matches!(format, joule_sdk::TimeFormat::Rfc3339) || times[0] > 1_000_000_000;
    if spacing <= 0 || !seconds {
        return Vec::new();
    }
    [86_400, 7 * 86_400]
        .into_iter()
        .filter(|period| period % spacing == 0)
        .map(|period| (period / spacing) as usize)
        .filter(|&p| p >= 2)
        .collect()
}

fn cost_shift(set: &MetricSet, c: &Change, offset: f64, group_by: &str) -> Finding {
    Finding::info("cost-shift")
        .title(format!(
            "{} moved {:+.2}% at {}, offset by its siblings in {group_by} {}",
            display(&c.info),
            c.shift.relative_change * 100.0,
            set.show(c.at),
            c.group(group_by).unwrap_or_default()
        ))
        .message(format!(
            "The change of {:.4} is matched by changes of {offset:.4} the other way in other \
             series of the same {group_by} at the same time: the cost moved, the total did not \
             grow.",
            c.delta()
        ))
        .series(display(&c.info))
        .at(set.show(c.at))
        .relative_change(c.shift.relative_change)
        .label("fingerprint", set.show(c.at))
        .build()
}

/// The message both kinds of change share: levels, size, place and significance.
fn describe_change(set: &MetricSet, c: &Change, what: &str) -> String {
    let s = &c.shift;
    let mut message = format!(
        "`{}` went from {:.6} to {:.6} ({:+.3}%) at {}, point {} of {}: {what} (p = {:.2e}, \
         likelihood ratio {:.1}).",
        display(&c.info),
        s.before,
        s.after,
        s.relative_change * 100.0,
        set.show(c.at),
        s.index,
        c.len,
        s.p_value,
        s.llr
    );
    if let Some(p) = s.period {
        message.push_str(&format!(" A season of {p} points was removed first."));
    }
    message
}

fn improvement(set: &MetricSet, c: &Change) -> Finding {
    let s = &c.shift;
    let name = display(&c.info);
    let mut finding = Finding::info("improvement")
        .title(format!(
            "{name} improved {:+.2}% at {}",
            s.relative_change * 100.0,
            set.show(c.at)
        ))
        .message(describe_change(set, c, "a lasting improvement"))
        .series(name)
        .at(set.show(c.at))
        .relative_change(s.relative_change)
        .confidence((1.0 - s.p_value).clamp(0.0, 1.0));
    finding = with_evidence(finding, set, c);
    finding.build()
}

fn regression(set: &MetricSet, c: &Change, also: &[String], alike: &[String]) -> Finding {
    let s = &c.shift;
    let name = display(&c.info);
    // The correlated series that changed with it go in the `also` label, not here: a merge of
    // shards' reports may add some (the report shows the label).
    let message = describe_change(set, c, "a lasting step");
    let verb = if s.relative_change >= 0.0 {
        "rose"
    } else {
        "fell"
    };
    let mut finding = Finding::regression("mean-shift")
        .title(format!(
            "{name} {verb} {:+.2}% at {}",
            s.relative_change * 100.0,
            set.show(c.at)
        ))
        .message(message)
        .series(name)
        .at(set.show(c.at))
        .relative_change(s.relative_change)
        .value(s.after - s.before, "")
        .confidence((1.0 - s.p_value).clamp(0.0, 1.0));
    finding = with_evidence(finding, set, c);
    if !also.is_empty() {
        finding = finding.label("also", also.join(","));
    }
    // Of those, the ones whose change is as concentrated as this one's: where the cost may have
    // been added as well (for attribution).
    if !alike.is_empty() {
        finding = finding.label("alike", alike.join(","));
    }
    finding.build()
}

/// Levels, significance, place and the series' labels, as every change finding carries them.
fn with_evidence(
    finding: joule_sdk::FindingBuilder,
    set: &MetricSet,
    c: &Change,
) -> joule_sdk::FindingBuilder {
    let s = &c.shift;
    let mut finding = finding
        .evidence("before", s.before, "")
        .evidence("after", s.after, "")
        .evidence("p-value", s.p_value, "")
        .evidence("likelihood-ratio", s.llr, "")
        .evidence("index", s.index as f64, "points")
        .label("metric-set", set.name())
        // Changes closer together than this many points are placed as one, where the first
        // is: attribution looks that far past the time for the commit.
        .label("min-segment", c.segment.to_string())
        // A series may change several times: the host tells findings of one series and rule
        // apart by this label.
        .label("fingerprint", set.show(c.at));
    if let Some(function) = label(&c.info, "function") {
        finding = finding.location(Location::function(function));
    }
    for (k, v) in &c.info.labels {
        finding = finding.label(k, v.clone());
    }
    finding
}

export_skill!(RegressionDetect, id = "regression-detect");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_the_points_around_a_change_compactly() {
        let values: Vec<f64> = (0..1000).map(|i| 100.0 + f64::from(i % 7)).collect();
        let even: Vec<i64> = (0..1000).map(|i| 1_764_547_200 + 300 * i).collect();
        let w = Window::new(&values, &even, 800, 125);
        assert!(matches!(w.times, Times::Even { .. }));
        assert_eq!(w.time(675), Some(even[675]));
        assert_eq!(w.time(924), Some(even[924]));
        assert_eq!((w.time(674), w.time(925)), (None, None));
        let got = w.values(700, 900).expect("inside the window");
        let expected: Vec<f32> = values[700..900].iter().map(|v| *v as f32).collect();
        assert!((stats::correlation(got, &expected) - 1.0).abs() < 1e-6);
        assert!(w.values(600, 700).is_none());
        // Uneven times are kept as they are; a window never reaches past the times read.
        let mut uneven = even.clone();
        uneven[10] += 1;
        let w = Window::new(&values, &uneven, 5, 125);
        assert!(matches!(w.times, Times::Listed(_)));
        assert_eq!(w.time(10), Some(uneven[10]));
        let w = Window::new(&values, &even[..3], 800, 125);
        assert!(w.values.is_empty() && w.time(800).is_none());
    }

    #[test]
    fn since_takes_a_time_or_a_share() {
        assert_eq!(Scope::parse("70%"), Ok(Scope::Share(0.7)));
        assert_eq!(Scope::parse("0%"), Ok(Scope::Everywhere));
        assert_eq!(Scope::parse("1764547200"), Ok(Scope::Time(1_764_547_200)));
        assert_eq!(
            Scope::parse("2025-12-01T00:00:00Z"),
            Ok(Scope::Time(1_764_547_200))
        );
        assert!(Scope::parse("170%").is_err());
        assert!(Scope::parse("yesterday").is_err());
        assert_eq!(Scope::share("0.7", 1.0), Ok(Scope::Share(0.7)));
    }
}
