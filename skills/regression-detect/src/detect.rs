//! The detector, on plain values: a change point found by CUSUM and judged by a likelihood-ratio
//! test, then kept only if it lasts, is not the season, and is large enough to matter. Pure
//! functions, so the evaluation harness and the tests run them natively.

use joule_sdk::stats;

/// What counts as a regression.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Largest p-value reported (after the correction for the searched split).
    pub alpha: f64,
    /// Smallest relative change reported (0.001 = 0.1%).
    pub min_change: f64,
    /// Points each side of a change must have: transients shorter than this cannot make one.
    pub min_segment: usize,
    /// Share of the window that must come before a change (0.7: only the recent 30% is
    /// searched, against at least the older 70%). A change needs history to be judged
    /// against, and a scan that moves on with time searched the older part before (a change
    /// is in the searched part for `(1 - min_baseline) n - min_segment` points of new data);
    /// each split not searched makes the test more sensitive at the same false-alarm rate and
    /// places the change better (the likeliest split of a small step in noise lands far off
    /// in a wide search now and then).
    pub min_baseline: f64,
    /// Seasonal period in points; 0 looks for one, 1 means none.
    pub period: usize,
    /// Which way is worse: `Up` for costs (CPU, latency), `Down` for throughput.
    pub direction: Direction,
    /// Periods the calendar suggests, in points (a day, a week at the series' spacing): a
    /// season found within 10% of one is taken to be exactly it.
    pub calendar: Vec<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            alpha: 1e-3,
            min_change: 0.001,
            min_segment: 50,
            min_baseline: 0.7,
            period: 0,
            direction: Direction::Up,
            calendar: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Both,
}

/// A lasting shift in one series.
#[derive(Clone, Debug, PartialEq)]
pub struct Shift {
    /// First index after the change.
    pub index: usize,
    pub before: f64,
    pub after: f64,
    /// `(after - before) / |before|`.
    pub relative_change: f64,
    pub p_value: f64,
    /// Likelihood-ratio statistic of the shift.
    pub llr: f64,
    /// The seasonal period removed first, if one was.
    pub period: Option<usize>,
}

/// The most significant lasting shift of `values`, if it passes `settings`.
///
/// Steps: remove a daily (or any) season when one is found ([`season`], then
/// [`remove_season`]); clip transient spikes ([`clip_spikes`]); place the shift at the split
/// that maximises the likelihood ([`best_splits`]) and test it with the maximally selected
/// statistic ([`max_shift_p_value`]); then drop it if it went away again (the tail of the new
/// regime back on the old side of the midpoint): a spike or a passing bump is not a
/// regression. Levels and the relative change are those of the series tested (season removed,
/// spikes clipped): on a seasonal series the means of the raw values either side of a split
/// mostly say where the split falls in the cycle, and a spike after it can outweigh a small
/// drop; either once made a drop look like a rise.
pub fn detect(values: &[f64], settings: &Settings) -> Option<Shift> {
    let n = values.len();
    if n < 2 * settings.min_segment.max(2) || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    match settings.period {
        // Looking for a season costs O(n^2); only a series whose neighbouring points are
        // correlated (a season, a step or a drift; not white noise) pays it.
        0 => match (lag_one(values) > 0.1)
            .then(|| {
                if settings.calendar.is_empty() {
                    season(values, n / 2)
                } else {
                    calendar_season(values, &settings.calendar)
                }
            })
            .flatten()
        {
            Some(p) => shift_in(&remove_season(values, p), Some(p), settings),
            None => shift_in(values, None, settings),
        },
        1 => shift_in(values, None, settings),
        p if p <= n / 2 => shift_in(&remove_season(values, p), Some(p), settings),
        _ => shift_in(values, None, settings),
    }
}

/// Whether a series of `n` points leaves any split to search under `settings`: at least
/// `min_baseline` of it (and `min_segment` points) before, `min_segment` after.
pub fn searchable(n: usize, settings: &Settings) -> bool {
    let min_segment = settings.min_segment.max(2);
    n >= 2 * min_segment
        && n >= baseline_points(n, settings.min_baseline).max(min_segment) + min_segment
}

/// Harmonics of the season fitted by [`remove_season`].
pub const SEASON_HARMONICS: usize = 3;

/// `x` without its season of `period` points: a least-squares fit of a level and
/// [`SEASON_HARMONICS`] sine/cosine pairs at the period's harmonics, minus all but the level.
/// Seven numbers describe the season however few cycles the series holds, so the estimate adds
/// far less noise than per-phase means (a classical decomposition with three cycles adds a
/// periodic error of 60% of the noise, which looks like shifts).
pub fn remove_season(x: &[f64], period: usize) -> Vec<f64> {
    const K: usize = 1 + 2 * SEASON_HARMONICS;
    if period == 0 {
        return x.to_vec();
    }
    // One cycle of the cosine and sine, looked up by phase: harmonic h at point i is the
    // period's (h * i mod period)-th entry (a trigonometric call per basis value made the
    // seasonal series the slowest part of a fleet scan).
    let cycle: Vec<(f64, f64)> = (0..period)
        .map(|p| {
            let angle = 2.0 * std::f64::consts::PI * p as f64 / period as f64;
            (angle.cos(), angle.sin())
        })
        .collect();
    let basis = |i: usize| -> [f64; K] {
        let mut row = [1.0; K];
        for h in 1..=SEASON_HARMONICS {
            let (cos, sin) = cycle[(h * i) % period];
            row[2 * h - 1] = cos;
            row[2 * h] = sin;
        }
        row
    };
    // Normal equations A^T A c = A^T x, solved by Gaussian elimination with partial pivoting.
    let mut m = [[0.0; K + 1]; K];
    for (i, &v) in x.iter().enumerate() {
        let row = basis(i);
        for (sums, ra) in m.iter_mut().zip(&row) {
            for (sum, rb) in sums[..K].iter_mut().zip(&row) {
                *sum += ra * rb;
            }
            sums[K] += ra * v;
        }
    }
    for col in 0..K {
        let pivot = (col..K)
            .max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
            .unwrap_or(col);
        m.swap(col, pivot);
        if m[col][col].abs() < 1e-12 {
            return x.to_vec();
        }
        let pivot_row = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (cell, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *cell -= f * p;
                }
            }
        }
    }
    let coef: [f64; K] = std::array::from_fn(|j| m[j][K] / m[j][j]);
    x.iter()
        .enumerate()
        .map(|(i, v)| {
            let row = basis(i);
            v - (1..K).map(|j| coef[j] * row[j]).sum::<f64>()
        })
        .collect()
}

/// The autocorrelation of `x` at lag one: near 0 for white noise.
pub fn lag_one(x: &[f64]) -> f64 {
    let m = stats::mean(x);
    let (mut num, mut den) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        den += (v - m) * (v - m);
        if let Some(next) = x.get(i + 1) {
            num += (v - m) * (next - m);
        }
    }
    if den > 0.0 { num / den } else { 0.0 }
}

/// Which of the calendar's periods (`candidates`, in points) `x` follows, if one: the
/// autocorrelation of the detrended series must be negative at half the period (a season, not
/// a step or a drift, which keep it positive) and reach 0.2 within 10% of the period. Costs a
/// fifth of a period of lags, where [`season`] searches them all.
pub fn calendar_season(x: &[f64], candidates: &[usize]) -> Option<usize> {
    let n = x.len();
    let e = detrended(x)?;
    let denominator: f64 = e.iter().map(|v| v * v).sum();
    let r = |k: usize| dot(&e, &e[k..]) / denominator;
    candidates.iter().copied().find(|&c| {
        if c < 4 || 2 * c > n || r(c / 2) >= 0.0 {
            return false;
        }
        let high = (c + c / 10).min(n / 2);
        (c - c / 10..=high).any(|k| r(k) >= 0.2)
    })
}

/// The sum of `a[i] * b[i]` over the shorter length, in four running sums so that each
/// addition need not wait for the one before (autocorrelations over dozens of lags are the
/// detector's inner loop).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut sums = [0.0; 4];
    let (chunks_a, chunks_b) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for lane in 0..4 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

/// `x` minus its least-squares line; `None` when nothing is left (a constant or a line).
fn detrended(x: &[f64]) -> Option<Vec<f64>> {
    let n = x.len();
    if n < 8 {
        return None;
    }
    let mean_t = (n as f64 - 1.0) / 2.0;
    let mean_x = stats::mean(x);
    let (mut sxt, mut stt) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let dt = i as f64 - mean_t;
        sxt += dt * (v - mean_x);
        stt += dt * dt;
    }
    let slope = if stt > 0.0 { sxt / stt } else { 0.0 };
    let e: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| v - mean_x - slope * (i as f64 - mean_t))
        .collect();
    let denominator: f64 = e.iter().map(|v| v * v).sum();
    (denominator > 0.0 && denominator.is_finite()).then_some(e)
}

/// The season of `x`, if it has a strong one: the lag of the highest autocorrelation (at least
/// 0.2) after the autocorrelation of the detrended series first turns negative, so the slow
/// decay at small lags of a smooth season or a drift is not mistaken for a short period.
pub fn season(x: &[f64], max_period: usize) -> Option<usize> {
    let n = x.len();
    let max_lag = max_period.min(n / 2);
    if max_lag < 4 {
        return None;
    }
    let e = detrended(x)?;
    let denominator: f64 = e.iter().map(|v| v * v).sum();
    let r = |k: usize| dot(&e, &e[k..]) / denominator;
    let first_negative = (1..=max_lag).find(|&k| r(k) < 0.0)?;
    let (lag, best) = (first_negative..=max_lag)
        .map(|k| (k, r(k)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if best < 0.2 {
        return None;
    }
    // The autocorrelation's peak is broad and noise moves it; the period whose per-phase means
    // leave the least residual variance (per degree of freedom) is the sharper estimate.
    let residual = |p: usize| -> f64 {
        let (mut sums, mut counts) = (vec![0.0; p], vec![0usize; p]);
        for (i, v) in e.iter().enumerate() {
            sums[i % p] += v;
            counts[i % p] += 1;
        }
        let ss: f64 = e
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let m = sums[i % p] / counts[i % p] as f64;
                (v - m) * (v - m)
            })
            .sum();
        ss / (n - p) as f64
    };
    let (low, high) = ((lag * 9 / 10).max(2), (lag * 11 / 10).min(max_lag));
    (low..=high).min_by(|&a, &b| residual(a).total_cmp(&residual(b)))
}

/// The shift of `series` (the values, or the values with their season removed), judged,
/// placed and measured on `series` with its spikes clipped.
fn shift_in(series: &[f64], period: Option<usize>, settings: &Settings) -> Option<Shift> {
    let n = series.len();
    let min_segment = settings.min_segment.max(2);
    // Short excursions (a few points far from their neighbours) are clipped to the local
    // median first, so a transient spike can neither make a change nor hide one.
    let clipped = clip_spikes(series, SPIKE_WINDOW);
    let series = &clipped[..];
    let min_before = baseline_points(n, settings.min_baseline).max(min_segment);
    // A clear change older than the searched part would pull the searched part's likeliest
    // split to its start (its points raise the "after" side of every later split) and be
    // reported there, at the wrong time, or hide a new change behind it. The recent part is
    // then judged against the points since that change.
    // One pass finds the likeliest split over the whole series and in each searched part.
    let (parts, shares) = search_parts(n, min_before, min_segment);
    let [whole, main, end] = best_splits(series, [(min_segment, min_segment), parts[0], parts[1]]);
    if let Some((old, _)) = whole.filter(|&(k, z)| {
        k + min_segment < min_before
            && max_shift_p_value(z.abs(), n, min_segment, min_segment) <= OLD_CHANGE_P
    }) {
        let since = &series[old..];
        let (parts, shares) = search_parts(since.len(), min_before - old, min_segment);
        let found = best_splits(since, parts);
        let mut shift = recent_shift(since, parts, shares, found, settings)?;
        shift.index += old;
        shift.period = period;
        return Some(shift);
    }
    let mut shift = recent_shift(series, parts, shares, [main, end], settings)?;
    shift.period = period;
    Some(shift)
}

/// p-value (over every split) at which an older change is taken to be one: the recent part is
/// then judged against the points since it.
pub const OLD_CHANGE_P: f64 = 1e-6;

/// The parts of a series of `n` points searched for a change from `min_before` on, as
/// `(min_before, min_after)` of their splits, and the share of `alpha` each gets.
///
/// Splits with fewer than `2 min_segment` points after them are searched apart, at a tenth of
/// `alpha`, the others at nine tenths (a weighted Bonferroni split): there only large changes
/// can be told from noise, and a large change passes the stricter level, while those splits,
/// searched with the rest, cost small changes much of the test's sensitivity. A series too
/// short for both is one part (the second then gets no share).
fn search_parts(
    n: usize,
    min_before: usize,
    min_segment: usize,
) -> ([(usize, usize); 2], [f64; 2]) {
    let settled = 2 * min_segment;
    if n >= min_before + settled + min_segment {
        (
            [(min_before, settled), (n + 1 - settled, min_segment)],
            [1.0 - END_SHARE, END_SHARE],
        )
    } else {
        ([(min_before, min_segment), (n, min_segment)], [1.0, 0.0])
    }
}

/// The shift of `series` at the likeliest split `found` in one of `parts` (see
/// [`search_parts`]), if one passes `settings`. Each part's split is tried in order of its
/// weighted p-value, so one rejected by the later checks does not hide the other.
fn recent_shift(
    series: &[f64],
    parts: [(usize, usize); 2],
    shares: [f64; 2],
    found: [Option<(usize, f64)>; 2],
    settings: &Settings,
) -> Option<Shift> {
    let n = series.len();
    let mut candidates: Vec<(usize, f64, f64)> = Vec::with_capacity(2);
    for ((&(from, min_after), share), best) in parts.iter().zip(shares).zip(found) {
        let Some((split, z)) = best.filter(|_| share > 0.0) else {
            continue;
        };
        // Below |z| = 3 the p-value is above 0.05 for any length worth testing: no need to
        // integrate (most series stop here).
        if settings.alpha <= 0.01 && z.abs() < 3.0 {
            continue;
        }
        let Some((z, llr)) = standardised_shift(series, split) else {
            continue;
        };
        let weighted = (max_shift_p_value(z.abs(), n, from, min_after) / share).min(1.0);
        if weighted <= settings.alpha {
            candidates.push((split, llr, weighted));
        }
    }
    candidates.sort_by(|a, b| a.2.total_cmp(&b.2));
    candidates
        .into_iter()
        .find_map(|(split, llr, p_value)| judged(series, split, llr, p_value, settings))
}

/// The shift at `split` of `series` if it is worse, large enough and lasting.
fn judged(
    series: &[f64],
    split: usize,
    llr: f64,
    p_value: f64,
    settings: &Settings,
) -> Option<Shift> {
    let n = series.len();
    let min_segment = settings.min_segment.max(2);
    // Levels, and so the direction, of the series tested: a spike clipped away or a season
    // removed must not turn a drop into a rise (both happened before this was so).
    let before = stats::mean(&series[..split]);
    let after = stats::mean(&series[split..]);
    if before == 0.0 || !before.is_finite() {
        return None;
    }
    let relative_change = (after - before) / before.abs();
    let worse = match settings.direction {
        Direction::Up => relative_change > 0.0,
        Direction::Down => relative_change < 0.0,
        Direction::Both => true,
    };
    if !worse || relative_change.abs() < settings.min_change {
        return None;
    }
    // The change must last: the tail of the new regime sits on its side of the midpoint.
    let tail = ((n - split) / 4).max(min_segment).min(n - split);
    let tail_mean = stats::median(&series[n - tail..]);
    let midpoint = (before + after) / 2.0;
    // It went away when the tail is back on the old side of the midpoint by more than the
    // tail's own noise (two standard errors of a median), so noise in a short tail does not
    // discard small lasting shifts. The noise comes from neighbouring differences, which
    // structure (a bump that came and went) does not inflate.
    let noise = 2.0 * 1.2533 * difference_sigma(series) / (tail as f64).sqrt();
    // Or when it sits on the old side and the new regime is not one level: its first stretch
    // is clearly further from the old level than its last (a bump that came and went).
    let head = stats::median(&series[split..split + tail]);
    let went_away = if after > before {
        tail_mean < midpoint - noise || (tail_mean < midpoint && head - tail_mean > 2.0 * noise)
    } else {
        tail_mean > midpoint + noise || (tail_mean > midpoint && tail_mean - head > 2.0 * noise)
    };
    if went_away {
        return None;
    }
    Some(Shift {
        index: split,
        before,
        after,
        relative_change,
        p_value,
        llr,
        period: None,
    })
}

/// Share of `alpha` spent on the splits with fewer than `2 min_segment` points after them.
pub const END_SHARE: f64 = 0.1;

/// Half-width of the window a point is compared with when clipping spikes: excursions up to
/// this many points long are transients.
pub const SPIKE_WINDOW: usize = 7;

/// The series with every point further than 4.5 robust standard deviations from the median of
/// its neighbourhood (`window` points each side) replaced by that median (a Hampel filter). The
/// standard deviation comes from the median absolute first difference, which neither a step
/// nor a few spikes move.
pub fn clip_spikes(x: &[f64], window: usize) -> Vec<f64> {
    let n = x.len();
    let mut out = x.to_vec();
    if n < 3 {
        return out;
    }
    let sigma = difference_sigma(x);
    if sigma.is_nan() || sigma <= 0.0 {
        return out;
    }
    let limit = 4.5 * sigma;
    // A point can only be an outlier near a jump bigger than the limit (an excursion starts
    // and ends with one), so only points within `window` of a jump are judged: white noise
    // costs one pass.
    let mut suspect = vec![false; n];
    for i in 1..n {
        if (x[i] - x[i - 1]).abs() > limit {
            let (from, to) = (i.saturating_sub(window + 1), (i + window + 1).min(n));
            suspect[from..to].fill(true);
        }
    }
    let mut neighbourhood = Vec::with_capacity(2 * window + 1);
    for i in (0..n).filter(|&i| suspect[i]) {
        let (from, to) = (i.saturating_sub(window), (i + window + 1).min(n));
        neighbourhood.clear();
        neighbourhood.extend_from_slice(&x[from..to]);
        let local = stats::median_in_place(&mut neighbourhood);
        if (x[i] - local).abs() > limit {
            out[i] = local;
        }
    }
    out
}

/// The noise's standard deviation from neighbouring differences: for Gaussian noise,
/// median |x[i+1] - x[i]| = 0.6745 * sqrt(2) * sigma, and neither a step nor a few spikes move
/// that median.
fn difference_sigma(x: &[f64]) -> f64 {
    let mut diffs: Vec<f64> = x.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    stats::median_in_place(&mut diffs) / (0.674_489_75 * std::f64::consts::SQRT_2)
}

/// Points of `n` that `share` of them makes, rounded up (a share outside 0..1 is clamped).
pub fn baseline_points(n: usize, share: f64) -> usize {
    let share = if share.is_nan() {
        0.0
    } else {
        share.clamp(0.0, 1.0)
    };
    (share * n as f64).ceil() as usize
}

/// For each of `ranges` (`(min_before, min_after)`), the split `k` with at least `min_before`
/// points before it and `min_after` from it on that maximises the likelihood of one mean
/// shift, `k (n - k) (mean(x[..k]) - mean(x[k..]))^2`, all in one pass over `x`; each
/// with its standardised statistic `z` as [`standardised_shift`] gives it (from running sums,
/// so to within rounding; infinite for a step between constant levels, 0 for a constant
/// series).
pub fn best_splits<const R: usize>(
    x: &[f64],
    ranges: [(usize, usize); R],
) -> [Option<(usize, f64)>; R] {
    let n = x.len();
    let mut out = [None; R];
    if n < 2 {
        return out;
    }
    // Sums of the values less the first, so the sum of squares keeps its precision.
    let x0 = x[0];
    let (mut total, mut squares) = (0.0, 0.0);
    for &v in x {
        let d = v - x0;
        total += d;
        squares += d * d;
    }
    let nf = n as f64;
    let ss_total = squares - total * total / nf;
    let ranges = ranges.map(|(before, after)| (before.max(1), n.saturating_sub(after.max(1))));
    let mut best = [(0usize, f64::NEG_INFINITY, 0.0f64); R];
    let mut prefix = 0.0;
    for (i, &v) in x[..n - 1].iter().enumerate() {
        prefix += v - x0;
        let k = i + 1;
        let (a, b) = (k as f64, (n - k) as f64);
        let diff = (total - prefix) / b - prefix / a;
        let score = a * b * diff * diff;
        for (r, &(first, last)) in ranges.iter().enumerate() {
            if k >= first && k <= last && score > best[r].1 {
                best[r] = (k, score, diff);
            }
        }
    }
    for (r, &(k, score, diff)) in best.iter().enumerate() {
        if score == f64::NEG_INFINITY {
            continue;
        }
        let within = ss_total - score / nf;
        let (a, b) = (k as f64, (n - k) as f64);
        let z = if within <= ss_total * 1e-12 {
            if diff == 0.0 {
                0.0
            } else {
                diff.signum() * f64::INFINITY
            }
        } else {
            diff / ((within / (nf - 2.0)).sqrt() * (1.0 / a + 1.0 / b).sqrt())
        };
        out[r] = Some((k, z));
    }
    out
}

/// The two-sample statistic of a shift at `split`, `z = (mean after - mean before) /
/// (sigma * sqrt(1/k + 1/(n - k)))` with the pooled within-segment standard deviation, and the
/// Gaussian log-likelihood ratio `n ln(1 + SS_between / SS_within)`. Both are infinite (`z`
/// with the step's sign) for a step between two constant levels; `None` for a constant series.
pub fn standardised_shift(x: &[f64], split: usize) -> Option<(f64, f64)> {
    let n = x.len();
    if split < 2 || n - split < 2 {
        return None;
    }
    let (a, b) = x.split_at(split);
    let (ma, mb) = (stats::mean(a), stats::mean(b));
    let ss = |v: &[f64], m: f64| v.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    let within = ss(a, ma) + ss(b, mb);
    let (k, r, nf) = (a.len() as f64, b.len() as f64, n as f64);
    let sigma = (within / (nf - 2.0)).sqrt();
    let diff = mb - ma;
    if sigma == 0.0 && diff != 0.0 && diff.is_finite() {
        // Two constant levels: a step no noise can explain.
        return Some((diff.signum() * f64::INFINITY, f64::INFINITY));
    }
    if sigma.is_nan() || sigma <= 0.0 {
        return None;
    }
    let z = diff / (sigma * (1.0 / k + 1.0 / r).sqrt());
    let between = k * r / nf * diff * diff;
    Some((z, nf * (between / within).ln_1p()))
}

/// The chance that white noise of `n` points gives a maximal standardised shift statistic
/// `max |z_k|` over the splits `min_before <= k <= n - min_after` of at least `b`: Siegmund's
/// approximation for
/// the maximally selected two-sample statistic (James, James and Siegmund 1987),
/// `P = b phi(b) * integral over t of nu(b / sqrt(n t (1 - t))) / (t (1 - t)) dt` for `t` from
/// `min_before / n` to `1 - min_after / n`, where `nu` corrects for the statistic moving in
/// discrete steps. The tests check the false-alarm rate it gives on simulated noise.
pub fn max_shift_p_value(b: f64, n: usize, min_before: usize, min_after: usize) -> f64 {
    let (min_before, min_after) = (min_before.max(1), min_after.max(1));
    if n < min_before + min_after || b.is_nan() {
        return 1.0;
    }
    if b == f64::INFINITY {
        // A step between two constant levels (see [`standardised_shift`]).
        return 0.0;
    }
    let nf = n as f64;
    let (t0, t1) = (min_before as f64 / nf, 1.0 - min_after as f64 / nf);
    if t0 >= t1 {
        return 1.0;
    }
    let nu = |x: f64| -> f64 {
        if x <= 0.0 {
            return 1.0;
        }
        let h = x / 2.0;
        (2.0 / x) * (stats::normal_cdf(h) - 0.5)
            / (h * stats::normal_cdf(h) + stats::dist::normal_pdf(h))
    };
    // Midpoint rule in log-odds, where the integrand is smooth: with u = ln(t / (1 - t)),
    // dt / (t (1 - t)) = du.
    let (u0, u1) = ((t0 / (1.0 - t0)).ln(), (t1 / (1.0 - t1)).ln());
    let steps = 64;
    let du = (u1 - u0) / steps as f64;
    let integral: f64 = (0..steps)
        .map(|i| {
            let u = u0 + (i as f64 + 0.5) * du;
            let t = 1.0 / (1.0 + (-u).exp());
            nu(b / (nf * t * (1.0 - t)).sqrt()) * du
        })
        .sum();
    (b * stats::dist::normal_pdf(b) * integral).min(1.0)
}

/// A series prepared for many correlations over stretches of it: its values less the first
/// (so sums of squares keep their precision) and running sums of those and of their squares,
/// so a correlation costs one pass over the stretch instead of three.
pub struct Windowed {
    shifted: Vec<f64>,
    /// `sums[i]` and `squares[i]`: of the first `i` shifted values.
    sums: Vec<f64>,
    squares: Vec<f64>,
}

impl Windowed {
    pub fn new(values: &[f64]) -> Self {
        let reference = values.first().copied().unwrap_or(0.0);
        let shifted: Vec<f64> = values.iter().map(|v| v - reference).collect();
        let (mut sums, mut squares) = (vec![0.0], vec![0.0]);
        let (mut sum, mut square) = (0.0, 0.0);
        for v in &shifted {
            sum += v;
            square += v * v;
            sums.push(sum);
            squares.push(square);
        }
        Windowed {
            shifted,
            sums,
            squares,
        }
    }

    pub fn len(&self) -> usize {
        self.shifted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shifted.is_empty()
    }

    /// Pearson correlation of this series and `other` over points `from..to` (`NaN` when one
    /// is constant there or the stretch is not in both).
    pub fn correlation(&self, other: &Windowed, from: usize, to: usize) -> f64 {
        if to > self.len() || to > other.len() || to < from + 2 {
            return f64::NAN;
        }
        let n = (to - from) as f64;
        let (sa, sb) = (
            self.sums[to] - self.sums[from],
            other.sums[to] - other.sums[from],
        );
        let (saa, sbb) = (
            self.squares[to] - self.squares[from] - sa * sa / n,
            other.squares[to] - other.squares[from] - sb * sb / n,
        );
        let sab = dot(&self.shifted[from..to], &other.shifted[from..to]) - sa * sb / n;
        sab / (saa * sbb).sqrt()
    }
}

/// Pearson correlation of two equally long series (`NaN` when one is constant).
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return f64::NAN;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let (ma, mb) = (stats::mean(a), stats::mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use joule_sdk::stats::noise::Gaussian;

    /// Series of deterministic Gaussian noise.
    struct Noise(Gaussian);

    impl Noise {
        /// 1,000 points around 100 with 1% noise, stepped by `step` (relative) at 800.
        fn series(&mut self, step: f64) -> Vec<f64> {
            (0..1000)
                .map(|i| {
                    let level = if i >= 800 {
                        100.0 * (1.0 + step)
                    } else {
                        100.0
                    };
                    level + self.0.normal()
                })
                .collect()
        }
    }

    #[test]
    fn windowed_correlation_is_pearson_over_the_stretch() {
        let mut noise = Noise(Gaussian(5));
        let (a, b) = (noise.series(0.02), noise.series(0.02));
        // b partly a's noise: a correlation well inside (0, 1).
        let mixed: Vec<f64> = a.iter().zip(&b).map(|(x, y)| 0.6 * x + 0.4 * y).collect();
        let (wa, wm) = (Windowed::new(&a), Windowed::new(&mixed));
        for (from, to) in [(700, 900), (0, 1000), (798, 802), (0, 2)] {
            let expected = correlation(&a[from..to], &mixed[from..to]);
            let got = wa.correlation(&wm, from, to);
            assert!(
                (got - expected).abs() < 1e-9,
                "{from}..{to}: {got} vs {expected}"
            );
        }
        assert!(wa.correlation(&wm, 900, 1001).is_nan(), "past the end");
        assert!(wa.correlation(&wm, 10, 11).is_nan(), "one point");
        let constant = Windowed::new(&[3.0; 10]);
        assert!(constant.correlation(&constant, 0, 10).is_nan());
    }

    #[test]
    fn finds_a_half_percent_step_where_it_is() {
        let mut noise = Noise(Gaussian(7));
        let mut errors = Vec::new();
        for _ in 0..50 {
            if let Some(s) = detect(&noise.series(0.005), &Settings::default()) {
                assert!((s.relative_change - 0.005).abs() < 0.0025, "{s:?}");
                errors.push(s.index.abs_diff(800));
            }
        }
        assert!(
            errors.len() >= 45,
            "found {} of 50 steps of 0.5%",
            errors.len()
        );
        // A step of half a standard deviation leaves the likelihood flat over a few points,
        // with long tails: most are placed closely, nearly all within 50 points.
        errors.sort_unstable();
        assert!(errors[errors.len() / 2] <= 10, "median error {errors:?}");
        let far = errors.iter().filter(|&&e| e > 50).count();
        assert!(
            far * 10 <= errors.len(),
            "{far} placed more than 50 points off: {errors:?}"
        );
    }

    #[test]
    fn clean_series_raise_no_alarm() {
        let mut noise = Noise(Gaussian(11));
        let alarms = (0..500)
            .filter(|_| detect(&noise.series(0.0), &Settings::default()).is_some())
            .count();
        assert!(alarms <= 1, "{alarms} false alarms in 500 clean series");
    }

    #[test]
    fn the_p_value_of_the_maximal_shift_holds_on_noise() {
        // Under white noise, the share of series whose p-value is below alpha stays near
        // alpha (at most twice it, allowing for 2,000 draws).
        let mut noise = Noise(Gaussian(23));
        let mut below = [0usize; 3];
        for _ in 0..2000 {
            let x = noise.series(0.0);
            let [Some((split, _))] = best_splits(&x, [(20, 20)]) else {
                panic!("a split of 1,000 points");
            };
            let (z, _) = standardised_shift(&x, split).unwrap();
            let p = max_shift_p_value(z.abs(), x.len(), 20, 20);
            for (i, alpha) in [0.1, 0.05, 0.01].iter().enumerate() {
                below[i] += usize::from(p <= *alpha);
            }
        }
        assert!(
            below[0] <= 2 * 200 && below[0] >= 200 / 3,
            "alpha 0.1: {}",
            below[0]
        );
        assert!(below[1] <= 2 * 100, "alpha 0.05: {}", below[1]);
        assert!(below[2] <= 2 * 20, "alpha 0.01: {}", below[2]);
    }

    #[test]
    fn steps_of_four_tenths_of_a_percent_are_found_nine_times_in_ten() {
        let mut noise = Noise(Gaussian(29));
        let found = (0..200)
            .filter(|_| detect(&noise.series(0.004), &Settings::default()).is_some())
            .count();
        assert!(found >= 180, "{found} of 200 steps of 0.4% found");
    }

    #[test]
    fn spikes_that_go_away_are_not_regressions() {
        let mut noise = Noise(Gaussian(13));
        for at in [100, 500, 900, 990] {
            let mut x = noise.series(0.0);
            for v in &mut x[at..(at + 5).min(1000)] {
                *v += 20.0;
            }
            assert_eq!(detect(&x, &Settings::default()), None, "spike at {at}");
        }
        // A step that reverts after 100 points went away.
        let mut x = noise.series(0.0);
        for v in &mut x[600..700] {
            *v += 3.0;
        }
        assert_eq!(detect(&x, &Settings::default()), None);
    }

    #[test]
    fn daily_seasonality_is_not_a_regression_but_a_step_on_top_is() {
        let mut noise = Noise(Gaussian(17));
        let season = |i: usize| 5.0 * (2.0 * std::f64::consts::PI * i as f64 / 48.0).sin();
        let mut alarms = 0;
        for _ in 0..100 {
            let x: Vec<f64> = noise
                .series(0.0)
                .iter()
                .enumerate()
                .map(|(i, v)| v + season(i))
                .collect();
            alarms += usize::from(detect(&x, &Settings::default()).is_some());
        }
        assert!(alarms <= 1, "{alarms} alarms from seasonality alone");
        let x: Vec<f64> = noise
            .series(0.01)
            .iter()
            .enumerate()
            .map(|(i, v)| v + season(i))
            .collect();
        let s = detect(&x, &Settings::default()).expect("the step");
        assert_eq!(s.period, Some(48));
        assert!((790..=810).contains(&s.index), "{s:?}");
    }

    #[test]
    fn improvements_are_not_regressions_of_costs() {
        let mut noise = Noise(Gaussian(19));
        assert_eq!(detect(&noise.series(-0.02), &Settings::default()), None);
        let down = Settings {
            direction: Direction::Down,
            ..Settings::default()
        };
        assert!(detect(&noise.series(-0.02), &down).is_some());
    }

    #[test]
    fn a_drop_stays_a_drop_under_a_season_or_a_spike() {
        let mut noise = Noise(Gaussian(23));
        let up = Settings {
            period: 288,
            ..Settings::default()
        };
        let down = Settings {
            direction: Direction::Down,
            ..up.clone()
        };
        // A 1% drop at 800 on a daily season whose crest falls in the last 200 points: the raw
        // means either side of the split say "rise".
        let season =
            |i: usize| 5.0 * (2.0 * std::f64::consts::PI * (i as f64 - 828.0) / 288.0).sin();
        let x: Vec<f64> = noise
            .series(-0.01)
            .iter()
            .enumerate()
            .map(|(i, v)| v + season(i))
            .collect();
        assert!(stats::mean(&x[800..]) > stats::mean(&x[..800]));
        assert_eq!(detect(&x, &up), None);
        let s = detect(&x, &down).expect("the drop");
        assert!((s.relative_change + 0.01).abs() < 0.004, "{s:?}");
        // A 0.6% drop with a 4-point spike after it that outweighs the drop in the raw means.
        let mut x = noise.series(-0.006);
        for v in &mut x[850..854] {
            *v += 40.0;
        }
        assert!(stats::mean(&x[800..]) > stats::mean(&x[..800]));
        let (up, down) = (Settings { period: 1, ..up }, Settings { period: 1, ..down });
        assert_eq!(detect(&x, &up), None);
        let s = detect(&x, &down).expect("the drop");
        assert!(s.relative_change < 0.0, "{s:?}");
    }

    /// 1,000 points of 1% noise around 100, plus `steps` (index, rise in points of 1%).
    fn stepped(noise: &mut Noise, steps: &[(usize, f64)]) -> Vec<f64> {
        (0..1000)
            .map(|i| {
                let level: f64 = steps.iter().filter(|s| i >= s.0).map(|s| s.1).sum();
                100.0 + level + noise.0.normal()
            })
            .collect()
    }

    #[test]
    fn a_change_older_than_the_searched_part_is_neither_reported_nor_a_cover() {
        let mut noise = Noise(Gaussian(29));
        let none = Settings {
            period: 1,
            ..Settings::default()
        };
        let mut reported = 0;
        let mut found = 0;
        for _ in 0..100 {
            // An old step alone: not new, so not reported (at the start of the searched part,
            // as it was before).
            let old = stepped(&mut noise, &[(400, 2.0)]);
            reported += usize::from(detect(&old, &none).is_some());
            // An old step and a new one: the new one is judged against the points since the
            // old, found and placed.
            let both = stepped(&mut noise, &[(300, 3.0), (850, 1.0)]);
            found += usize::from(detect(&both, &none).is_some_and(|s| s.index.abs_diff(850) <= 10));
        }
        assert!(reported <= 1, "{reported} old steps reported as new");
        assert!(
            found >= 95,
            "{found} of 100 new steps behind an old one found"
        );
        // With the older part searched, the old step is found where it is.
        let wide = Settings {
            min_baseline: 0.3,
            ..none
        };
        let s = detect(&stepped(&mut noise, &[(400, 2.0)]), &wide).expect("the step");
        assert!((395..=405).contains(&s.index), "{s:?}");
    }

    #[test]
    fn short_series_leave_nothing_to_search() {
        let settings = Settings::default();
        // 0.7 of the series, and 50 points, before; 50 after: 167 points at least.
        assert!(!searchable(166, &settings));
        assert!(searchable(167, &settings));
        let x: Vec<f64> = (0..166)
            .map(|i| if i >= 150 { 200.0 } else { 100.0 })
            .collect();
        assert_eq!(detect(&x, &settings), None);
    }

    #[test]
    fn a_step_without_noise_is_certain_and_in_its_place() {
        let x: Vec<f64> = (0..1000)
            .map(|i| if i >= 800 { 110.0 } else { 100.0 })
            .collect();
        let s = detect(&x, &Settings::default()).expect("the step");
        assert_eq!(s.index, 800);
        assert_eq!(s.p_value, 0.0);
        assert!((s.relative_change - 0.1).abs() < 1e-12, "{s:?}");
        assert_eq!(detect(&vec![100.0; 1000], &Settings::default()), None);
    }

    #[test]
    fn a_large_change_is_found_soon_after_it() {
        let mut noise = Noise(Gaussian(31));
        // 1.5% up with 60 points after it: among the splits searched at a tenth of alpha.
        let x: Vec<f64> = (0..1000)
            .map(|i| if i >= 940 { 101.5 } else { 100.0 } + noise.0.normal())
            .collect();
        let s = detect(&x, &Settings::default()).expect("the late step");
        assert!((935..=945).contains(&s.index), "{s:?}");
        assert!(s.p_value <= Settings::default().alpha);
    }

    #[test]
    fn best_splits_agree_with_a_search_split_by_split() {
        let mut noise = Noise(Gaussian(37));
        let x = noise.series(0.006);
        let n = x.len();
        let ranges = [(50, 50), (700, 100), (901, 50), (990, 50)];
        for (&(before, after), got) in ranges.iter().zip(best_splits(&x, ranges)) {
            // |z| grows with the likelihood of the split: the largest |z| is the best split.
            let expected = (before..=n.saturating_sub(after))
                .filter_map(|k| standardised_shift(&x, k).map(|(z, _)| (k, z)))
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
            match (got, expected) {
                (Some((k, z)), Some((k2, z2))) => {
                    assert_eq!(k, k2);
                    assert!((z - z2).abs() < 1e-9 * z2.abs().max(1.0), "{z} {z2}");
                }
                (None, None) => {}
                other => panic!("{other:?}"),
            }
        }
    }
}
