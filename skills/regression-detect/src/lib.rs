//! `regression-detect`: lasting step regressions in the granted metric sets. Each series is
//! tested for one change point (the split that maximises the likelihood, judged by the
//! maximally selected two-sample statistic with Siegmund's tail approximation, see
//! `detect::max_shift_p_value`); transients, seasonality and cost
//! that merely moved to a sibling series are filtered out, and correlated series that changed
//! together are reported once.

pub mod detect;

use std::collections::HashMap;

use joule_sdk::prelude::*;
use joule_sdk::{MetricSet, SeriesInfo};

use detect::{Direction, Settings, Shift};

struct RegressionDetect;

/// Points each side of a change over which correlated series are compared.
const DEDUP_WINDOW: usize = 100;

impl Skill for RegressionDetect {
    fn describe() -> Descriptor {
        Describe::new(
            "regression-detect",
            env!("CARGO_PKG_VERSION"),
            "Lasting step regressions in resource time series, each with when it happened, how \
             large it is and how sure; transients, seasonality and cost shifts left out.",
        )
        .on_scan()
        .uses("metrics")
        .uses("log")
        .parameter(
            "alpha",
            "Largest p-value reported (two-sided; corrected for the splits searched, and divided by \
             the share of alpha their part gets: 0.9, or 0.1 for the last 2 x min-segment).",
            Some("0.001"),
        )
        .parameter(
            "min-change",
            "Smallest relative change reported (0.001 is 0.1%).",
            Some("0.001"),
        )
        .parameter(
            "min-segment",
            "Points each side of a change must have; shorter excursions are transients.",
            Some("50"),
        )
        .parameter(
            "min-baseline",
            "Share of each series that must come before a change: 0.7 looks for changes in the \
             recent 30%, judged against at least the older 70% (or the points since a clear \
             older change). A scan that runs again before a change has aged out of the recent \
             part (every 250 points of a 1,000-point window with min-segment 50) tests every \
             change there at least once. Series shorter than min-segment / (1 - min-baseline) \
             points are not searched. Lower it for a one-off look at older changes; every \
             split searched costs sensitivity.",
            Some("0.7"),
        )
        .parameter(
            "period",
            "Seasonal period in points: 0 finds it, 1 means none.",
            Some("0"),
        )
        .parameter(
            "direction",
            "Which way is worse: up (costs), down (throughput) or both.",
            Some("up"),
        )
        .parameter(
            "group-by",
            "Label whose series are siblings: a rise offset by a fall in a sibling at the same \
             time is a cost shift, not a regression.",
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
            "Series that change together and correlate at least this much are reported once.",
            Some("0.9"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let settings = Settings {
            alpha: invocation.param_or("alpha", 1e-3)?,
            min_change: invocation.param_or("min-change", 0.001)?,
            min_segment: invocation.param_or("min-segment", 50)?,
            min_baseline: invocation.param_or("min-baseline", 0.7)?,
            period: invocation.param_or("period", 0)?,
            direction: match invocation.param("direction").unwrap_or("up") {
                "up" => Direction::Up,
                "down" => Direction::Down,
                "both" => Direction::Both,
                other => return Err(format!("direction = {other:?}: use up, down or both")),
            },
            calendar: Vec::new(),
        };
        let group_by = invocation.param("group-by").unwrap_or("group").to_string();
        let dedup: f64 = invocation.param_or("dedup-correlation", 0.9)?;
        let only = invocation.param("series").filter(|s| !s.is_empty());
        let mut findings = Vec::new();
        for set in MetricSet::granted() {
            findings.extend(scan(&set, only, &settings, &group_by, dedup)?);
        }
        Ok(findings)
    }
}

/// One series with its shift, in either direction.
struct Detected {
    info: SeriesInfo,
    values: Vec<f64>,
    times: Vec<i64>,
    shift: Shift,
}

impl Detected {
    fn delta(&self) -> f64 {
        self.shift.after - self.shift.before
    }

    fn group<'a>(&'a self, key: &str) -> Option<&'a str> {
        label(&self.info, key)
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

fn scan(
    set: &MetricSet,
    only: Option<&str>,
    settings: &Settings,
    group_by: &str,
    dedup: f64,
) -> Result<Vec<Finding>, String> {
    // Shifts both ways: falls are needed to recognise cost that moved between siblings.
    let both = Settings {
        direction: Direction::Both,
        ..settings.clone()
    };
    // The calendar's periods at the spacing of the set's first series (sets are usually on
    // one grid): a day and a week, in points.
    let mut both = both;
    let series_list = set.matching(only);
    if let Some(first) = series_list.first() {
        both.calendar = calendar_periods(&set.times(first.id)?, set.time_format());
    }
    let mut detected = Vec::new();
    let mut too_short = 0usize;
    for info in series_list {
        let values = set.values(info.id)?;
        if !detect::searchable(values.len(), &both) {
            too_short += 1;
            continue;
        }
        if let Some(shift) = detect::detect(&values, &both) {
            let times = set.times(info.id)?;
            detected.push(Detected {
                info,
                values,
                times,
                shift,
            });
        }
    }
    let near = (settings.min_segment / 2).max(5);
    let worse = |d: &Detected| match settings.direction {
        Direction::Up => d.shift.relative_change > 0.0,
        Direction::Down => d.shift.relative_change < 0.0,
        Direction::Both => true,
    };

    // The shifted series of each group, so siblings are found without a pass over all of them
    // per series (thousands shift in a fleet scan).
    let mut siblings: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, d) in detected.iter().enumerate() {
        if let Some(g) = d.group(group_by) {
            siblings.entry(g).or_default().push(i);
        }
    }
    let mut findings = Vec::new();
    let mut regressions: Vec<usize> = Vec::new();
    for (i, d) in detected.iter().enumerate().filter(|(_, d)| worse(d)) {
        // Cost shift: siblings moved the other way at the same time, by most of this amount.
        let offset: f64 = match d.group(group_by).and_then(|g| siblings.get(g)) {
            None => 0.0,
            Some(group) => group
                .iter()
                .map(|&j| (j, &detected[j]))
                .filter(|&(j, o)| {
                    j != i
                        && o.delta().signum() != d.delta().signum()
                        && o.shift.index.abs_diff(d.shift.index) <= near
                })
                .map(|(_, o)| o.delta().abs())
                .sum(),
        };
        if offset >= 0.5 * d.delta().abs() {
            findings.push(
                Finding::info("cost-shift")
                    .title(format!(
                        "{} moved {:+.2}% at {}, offset by its siblings in {group_by} {}",
                        display(&d.info),
                        d.shift.relative_change * 100.0,
                        set.show(time_of(d)),
                        d.group(group_by).unwrap_or_default()
                    ))
                    .message(format!(
                        "The rise of {:.4} is matched by falls of {offset:.4} in other series of \
                         the same {group_by} at the same time: the cost moved, the total did not \
                         grow.",
                        d.delta()
                    ))
                    .series(display(&d.info))
                    .at(set.show(time_of(d)))
                    .relative_change(d.shift.relative_change)
                    .build(),
            );
            continue;
        }
        regressions.push(i);
    }

    // Correlated series that changed together: keep the strongest, name the others.
    regressions.sort_by(|&a, &b| detected[b].shift.llr.total_cmp(&detected[a].shift.llr));
    // Every regression may be compared with every one kept before it (thousands when a deploy
    // moves many series), so each is prepared once for cheap correlations.
    let windowed: HashMap<usize, detect::Windowed> = regressions
        .iter()
        .map(|&i| (i, detect::Windowed::new(&detected[i].values)))
        .collect();
    let mut kept: Vec<(usize, Vec<String>)> = Vec::new();
    for i in regressions {
        let d = &detected[i];
        // Correlation over the stretch around the change (where a shared cause shows), which
        // also keeps the comparison cheap when many series changed at once.
        let (from, to) = (
            d.shift.index.saturating_sub(DEDUP_WINDOW),
            (d.shift.index + DEDUP_WINDOW).min(d.values.len()),
        );
        // Only series measured at the same times are compared (the same point index in series
        // of different times is not the same moment): the stretch must start and end at the
        // same times in both.
        let same_times = |o: &Detected| {
            to > from
                && o.times.get(from) == d.times.get(from)
                && o.times.get(to - 1) == d.times.get(to - 1)
        };
        let twin = kept.iter_mut().find(|(k, _)| {
            let o = &detected[*k];
            o.shift.index.abs_diff(d.shift.index) <= near
                && same_times(o)
                && windowed[k].correlation(&windowed[&i], from, to) >= dedup
        });
        match twin {
            Some((_, also)) => also.push(display(&d.info)),
            None => kept.push((i, Vec::new())),
        }
    }
    let shifted = detected.len();
    for (i, also) in kept {
        findings.push(regression(set, &detected[i], &also));
    }
    log::info(format!(
        "{}: {} series scanned, {shifted} with a significant shift, {} reported",
        set.name(),
        set.len(),
        findings.len()
    ));
    if too_short > 0 {
        log::warn(format!(
            "{}: {too_short} series too short to search (min-segment {} points after a change, \
             min-baseline {} of the series and min-segment before it); lower min-baseline or \
             min-segment to search them",
            set.name(),
            settings.min_segment,
            settings.min_baseline
        ));
    }
    Ok(findings)
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

fn time_of(d: &Detected) -> i64 {
    d.times.get(d.shift.index).copied().unwrap_or_default()
}

fn regression(set: &MetricSet, d: &Detected, also: &[String]) -> Finding {
    let name = display(&d.info);
    let s = &d.shift;
    let at = set.show(time_of(d));
    let mut message = format!(
        "`{name}` went from {:.6} to {:.6} ({:+.3}%) at {at}, point {} of {}: a lasting step \
         (p = {:.2e}, likelihood ratio {:.1}).",
        s.before,
        s.after,
        s.relative_change * 100.0,
        s.index,
        d.values.len(),
        s.p_value,
        s.llr
    );
    if let Some(p) = s.period {
        message.push_str(&format!(" A season of {p} points was removed first."));
    }
    if !also.is_empty() {
        message.push_str(&format!(
            " Correlated series that changed at the same time: {}.",
            also.join(", ")
        ));
    }
    let mut finding = Finding::regression("mean-shift")
        .title(format!(
            "{name} rose {:+.2}% at {at}",
            s.relative_change * 100.0
        ))
        .message(message)
        .series(name)
        .at(at)
        .relative_change(s.relative_change)
        .value(s.after - s.before, "")
        .confidence((1.0 - s.p_value).clamp(0.0, 1.0))
        .evidence("before", s.before, "")
        .evidence("after", s.after, "")
        .evidence("p-value", s.p_value, "")
        .evidence("likelihood-ratio", s.llr, "")
        .evidence("index", s.index as f64, "points")
        .label("metric-set", set.name());
    if let Some(function) = label(&d.info, "function") {
        finding = finding.location(Location::function(function));
    }
    for (k, v) in &d.info.labels {
        finding = finding.label(k, v.clone());
    }
    if !also.is_empty() {
        finding = finding.label("also", also.join(","));
    }
    finding.build()
}

export_skill!(RegressionDetect, id = "regression-detect");
