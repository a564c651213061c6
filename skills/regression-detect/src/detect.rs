//! The detector, on plain values: every lasting change in a series, found by binary
//! segmentation (the split that maximises the likelihood of a mean shift, judged by the maximally
//! selected two-sample statistic with Siegmund's tail approximation, then the same in each part),
//! each change judged again against its neighbouring segments, kept only if it lasts, is not
//! the season, and is large enough to matter. Pure functions, so the evaluation harness and the
//! tests run them natively.

use joule_sdk::stats;

/// What counts as a change, and where a scan looks for one.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Largest p-value reported (after the corrections for the splits searched).
    pub alpha: f64,
    /// Smallest relative change reported (0.001 = 0.1%).
    pub min_change: f64,
    /// Points each side of a change must have: transients shorter than this cannot make one.
    /// Series shorter than `5 min_segment` points use a fifth of their length (at least
    /// [`MIN_SEGMENT`]); see [`segment_length`].
    pub min_segment: usize,
    /// Where changes are searched: everywhere (a one-off scan) or from a point on (a periodic
    /// scan, which searched the older part before).
    pub since: Since,
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
            since: Since::Start,
            period: 0,
            direction: Direction::Up,
            calendar: Vec::new(),
        }
    }
}

/// Where a scan looks for changes.
///
/// A one-off scan looks everywhere. A scan that runs again and again only needs what is new
/// since the last run: every split left out makes the test more sensitive at the same
/// false-alarm rate, and the older points still serve as the baseline (from the last change
/// before the searched part, see [`segment`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Since {
    /// Every split with `min_segment` points each side.
    Start,
    /// Splits at or after this share of each series (0.7: the most recent 30%).
    Share(f64),
    /// Splits at or after this point.
    Index(usize),
}

impl Since {
    /// The first split searched in a series of `n` points.
    pub fn index(self, n: usize) -> usize {
        match self {
            Since::Start => 0,
            Since::Share(share) => share_points(n, share),
            Since::Index(i) => i.min(n),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Both,
}

impl Direction {
    /// Whether a relative change of this sign is worse.
    pub fn worse(self, relative_change: f64) -> bool {
        match self {
            Direction::Up => relative_change > 0.0,
            Direction::Down => relative_change < 0.0,
            Direction::Both => true,
        }
    }
}

/// A lasting shift in one series.
#[derive(Clone, Debug, PartialEq)]
pub struct Shift {
    /// First index after the change.
    pub index: usize,
    /// Mean of the segment before the change (from the change before it, or the start).
    pub before: f64,
    /// Mean of the segment after it (up to the next change, or the end).
    pub after: f64,
    /// `(after - before) / |before|`.
    pub relative_change: f64,
    /// The p-value of the change judged against its neighbouring segments, corrected for the
    /// splits searched there and for the share of `alpha` that stretch and part get.
    pub p_value: f64,
    /// Likelihood-ratio statistic of the shift within its neighbouring segments.
    pub llr: f64,
    /// The seasonal period removed first, if one was.
    pub period: Option<usize>,
    /// The next change takes the level back to within half this change of where it was:
    /// together they are an excursion that went away.
    pub undone: bool,
    /// Of an undone excursion, what lasted: the change from the level before it to the level
    /// after the change that ended it, when that is itself a significant, lasting change
    /// (a release that cost 30% and a later one that won half of it back leave 15%).
    pub lasting: Option<Box<Shift>>,
}

/// What a change is to the reader: worse (a regression) or better (an improvement).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Regression,
    Improvement,
}

/// Series shorter than this are not searched (the skill counts them in a warning).
pub const MIN_POINTS: usize = 10;

/// The shortest segment a short series is searched with: spikes of up to this many points
/// are clipped anyway (see [`SPIKE_WINDOW`]).
pub const MIN_SEGMENT: usize = 5;

/// Points each side of a change in a series of `n` points: `min_segment`, or a fifth of the
/// series when that is less (at least [`MIN_SEGMENT`], at most `n / 2`), so that a short
/// series still leaves three fifths of its splits to search.
pub fn segment_length(n: usize, min_segment: usize) -> usize {
    min_segment
        .max(2)
        .min((n / 5).max(MIN_SEGMENT))
        .min(n / 2)
        .max(1)
}

/// Whether a series of `n` points is long enough to search ([`MIN_POINTS`]).
pub fn searchable(n: usize) -> bool {
    n >= MIN_POINTS
}

/// Every lasting change of `values` under `settings`, oldest first, in both directions
/// (see [`classify`] for which are regressions).
///
/// Steps: remove a daily (or any) season when one is found ([`season`], then
/// [`remove_season`]); clip transient spikes ([`clip_spikes`]); find the changes by binary
/// segmentation and judge each against its neighbouring segments ([`segment`]). Levels and the
/// relative change are those of the series tested (season removed, spikes clipped): on a
/// seasonal series the means of the raw values either side of a split mostly say where the
/// split falls in the cycle, and a spike after it can outweigh a small drop; either once made
/// a drop look like a rise.
pub fn changes(values: &[f64], settings: &Settings) -> Vec<Shift> {
    let n = values.len();
    if !searchable(n) || values.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let m = segment_length(n, settings.min_segment);
    let since = settings.since.index(n);
    if since + m > n {
        return Vec::new();
    }
    let period = match settings.period {
        // Looking for a season costs O(n^2); only a series whose neighbouring points are
        // correlated (a season, a step or a drift; not white noise) pays it.
        0 if lag_one(values) > 0.1 => {
            if settings.calendar.is_empty() {
                season(values, n / 2)
            } else {
                calendar_season(values, &settings.calendar)
            }
        }
        0 | 1 => None,
        p if p <= n / 2 => Some(p),
        _ => None,
    };
    let deseasoned = period.map(|p| remove_season(values, p));
    // Short excursions (a few points far from their neighbours) are clipped to the local
    // median first, so a transient spike can neither make a change nor hide one: first over
    // a few points each side, then over half a segment each side, which clips runs of spikes
    // too dense for the first (more than half of its window) and still keeps any step that
    // has a segment each side.
    let series = deseasoned.as_deref().unwrap_or(values);
    // One estimate of the noise for both passes and the tests after them (a median of
    // differences: the clipping changes it too little to matter).
    let sigma = difference_sigma(series);
    let narrow = SPIKE_WINDOW.min((m / 2).max(2));
    let mut clipped = clip_spikes_with(series, narrow, sigma);
    if m / 2 > narrow {
        clipped = clip_spikes_with(&clipped, m / 2, sigma);
    }
    let mut shifts = segment(&clipped, m, since, sigma, settings);
    for s in &mut shifts {
        s.period = period;
    }
    shifts
}

/// Which of `shifts` (oldest first, as [`changes`] gives them) to report, and as what.
///
/// A worse change that the next one undoes (an excursion that went away) is neither a
/// regression nor is its undoing an improvement, but what lasted of it is reported as what it
/// is (`Shift::lasting`); a better change that the next one undoes is
/// not an improvement (the change that undid it is still a regression: the level rose from
/// where it was).
pub fn classify(shifts: &[Shift], direction: Direction) -> Vec<(Role, &Shift)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < shifts.len() {
        let s = &shifts[i];
        let worse = direction.worse(s.relative_change);
        match (worse, s.undone) {
            // What lasted of it is a change in its own right, in whichever direction.
            (true, true) => {
                if let Some(net) = s.lasting.as_deref() {
                    let role = if direction.worse(net.relative_change) {
                        Role::Regression
                    } else {
                        Role::Improvement
                    };
                    out.push((role, net));
                }
                i += 1;
            }
            (true, false) => out.push((Role::Regression, s)),
            (false, true) => {}
            (false, false) => out.push((Role::Improvement, s)),
        }
        i += 1;
    }
    out
}

/// The lasting changes of `values` that are worse under `settings.direction`.
pub fn regressions(values: &[f64], settings: &Settings) -> Vec<Shift> {
    let shifts = changes(values, settings);
    classify(&shifts, settings.direction)
        .into_iter()
        .filter(|(role, _)| *role == Role::Regression)
        .map(|(_, s)| s.clone())
        .collect()
}

/// The most significant regression of `values`, if any (the strongest of [`regressions`]).
pub fn detect(values: &[f64], settings: &Settings) -> Option<Shift> {
    regressions(values, settings).into_iter().min_by(|a, b| {
        a.p_value
            .total_cmp(&b.p_value)
            .then(b.llr.total_cmp(&a.llr))
    })
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

/// A candidate change: the likeliest split of a stretch, and its p-value corrected for every
/// split searched there and divided by the share of `alpha` its part gets.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    split: usize,
    p_value: f64,
}

/// The changes of `x` (season removed, spikes clipped, `noise` its standard deviation from
/// neighbouring differences) with at least `m` points each side, at or after `since`: binary
/// segmentation, then each change judged against its neighbouring segments.
///
/// The likeliest split of the whole stretch is tested; when it passes, each side is searched
/// the same way, and so on. A stretch gets the share of `alpha` its length is of the series
/// (so the stretches of one level of the search spend at most `alpha` together, and the extra
/// splits a true change opens up raise few false alarms). The changes found are then judged
/// again, each over the stretch between its neighbours: placed at the likeliest split there,
/// dropped (the weakest first) when it no longer passes, since a split that looked strong next
/// to a larger change can be noise once the larger change is its own segment's edge.
///
/// In a periodic scan (`since > 0`), the recent part is judged against the points since the
/// last change at least `m` points before `since` (found by the same search over the whole
/// series): otherwise an older change raises the "after" side of every recent split, so it is
/// reported at the start of the searched part, at the wrong time, or hides a new change behind
/// it.
pub fn segment(x: &[f64], m: usize, since: usize, noise: f64, settings: &Settings) -> Vec<Shift> {
    let n = x.len();
    if n < 2 * m || since + m > n {
        return Vec::new();
    }
    // A periodic scan judges the recent part against the points since the last older change,
    // found by a search of the whole series.
    let base = if since > m {
        binary_segmentation(&mut Search::new(x, 0, m, settings.alpha), 0)
            .into_iter()
            .filter(|&c| c + m <= since)
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let total = (n - base) as f64;
    // The share of alpha the stretch lo..hi gets.
    let weight = |lo: usize, hi: usize| (hi - lo) as f64 / total;
    let mut search = Search::new(x, since, m, settings.alpha);
    let mut splits = binary_segmentation(&mut search, base);
    splits.sort_unstable();

    // Judge each against its neighbours; drop the weakest that fails, until all pass.
    let bounds = |splits: &[usize], i: usize| {
        let lo = if i == 0 { base } else { splits[i - 1] };
        let hi = splits.get(i + 1).copied().unwrap_or(n);
        (lo, hi)
    };
    loop {
        let worst = (0..splits.len())
            .map(|i| {
                let (lo, hi) = bounds(&splits, i);
                let ratio = search.best(lo, hi).map_or(f64::INFINITY, |c| {
                    c.p_value / (settings.alpha * weight(lo, hi))
                });
                (i, ratio)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match worst {
            Some((i, ratio)) if ratio > 1.0 => {
                splits.remove(i);
            }
            _ => break,
        }
    }
    // Place each at the likeliest split between its (already placed) neighbours, left to
    // right, so changes keep their order and `m` points apart.
    let mut judged: Vec<(usize, f64)> = Vec::with_capacity(splits.len());
    for i in 0..splits.len() {
        let (lo, hi) = bounds(&splits, i);
        let c = search.best(lo, hi).unwrap_or(Candidate {
            split: splits[i],
            p_value: settings.alpha * weight(lo, hi),
        });
        splits[i] = c.split;
        judged.push((c.split, c.p_value / weight(lo, hi)));
    }

    let mut shifts: Vec<Shift> = Vec::with_capacity(judged.len());
    for (i, &(split, p)) in judged.iter().enumerate() {
        let (lo, hi) = bounds(&splits, i);
        let significant = |p: f64| p <= settings.alpha * weight(lo, hi);
        let stretch = &x[lo..hi];
        if let Some(s) = measured(
            stretch,
            split - lo,
            p.min(1.0),
            noise,
            m,
            settings,
            Some(&significant),
        ) {
            shifts.push(Shift { index: split, ..s });
        }
    }
    // An excursion that went away: the next change takes the level back to within half this
    // change of where it was.
    for i in 1..shifts.len() {
        let (this, next) = (&shifts[i - 1], &shifts[i]);
        let back = (next.after - this.before).abs() < (this.after - this.before).abs() / 2.0;
        if back && next.index == splits_after(&splits, this.index) {
            let (start, end) = (this.index, next.index);
            let a = splits.partition_point(|&s| s < start);
            let (lo, hi) = (bounds(&splits, a).0, bounds(&splits, a + 1).1);
            let significant = |p: f64| p <= settings.alpha * weight(lo, hi);
            let lasting = net_change(x, (lo, start), (end, hi), noise, m, settings, &significant);
            shifts[i - 1].undone = true;
            shifts[i - 1].lasting = lasting.map(Box::new);
        }
    }
    shifts
}

/// The change from the level of `x[before.0..before.1]` to that of `x[after.0..after.1]`, the
/// points between them (an excursion) left out, when it is significant (`significant` of its
/// p-value, searched over the splits of the two joined as any stretch is) and lasting; placed
/// at `before.1`.
fn net_change(
    x: &[f64],
    before: (usize, usize),
    after: (usize, usize),
    noise: f64,
    m: usize,
    settings: &Settings,
    significant: &dyn Fn(f64) -> bool,
) -> Option<Shift> {
    let mut joined = x[before.0..before.1].to_vec();
    let split = joined.len();
    joined.extend_from_slice(&x[after.0..after.1]);
    let (z, _) = standardised_shift(&joined, split)?;
    let p = p_value(z, joined.len(), m.min(split), m.min(joined.len() - split));
    if !significant(p) {
        return None;
    }
    let shift = measured(&joined, split, p, noise, m, settings, None)?;
    Some(Shift {
        index: before.1,
        ..shift
    })
}

/// The likeliest split of stretches of one series ([`best_change`]), remembered: binary
/// segmentation and the judging after it ask for the same stretches again.
struct Search<'a> {
    x: &'a [f64],
    since: usize,
    m: usize,
    alpha: f64,
    seen: Vec<((usize, usize), Option<Candidate>)>,
}

impl<'a> Search<'a> {
    fn new(x: &'a [f64], since: usize, m: usize, alpha: f64) -> Self {
        Search {
            x,
            since,
            m,
            alpha,
            seen: Vec::new(),
        }
    }

    fn best(&mut self, lo: usize, hi: usize) -> Option<Candidate> {
        if let Some((_, c)) = self.seen.iter().find(|(k, _)| *k == (lo, hi)) {
            return *c;
        }
        let c = best_change(self.x, lo, hi, self.since, self.m, self.alpha);
        self.seen.push(((lo, hi), c));
        c
    }
}

/// The changes of `x[base..]` at or after the search's `since` by binary segmentation: the
/// likeliest split
/// of a stretch is kept when it passes the stretch's share of `alpha` (its share of the
/// length), and each side is searched the same way; unordered.
fn binary_segmentation(search: &mut Search, base: usize) -> Vec<usize> {
    let (n, alpha) = (search.x.len(), search.alpha);
    let total = (n - base) as f64;
    let mut splits = Vec::new();
    let mut stack = vec![(base, n)];
    while let Some((lo, hi)) = stack.pop() {
        let Some(c) = search.best(lo, hi) else {
            continue;
        };
        if c.p_value > alpha * (hi - lo) as f64 / total {
            continue;
        }
        splits.push(c.split);
        stack.push((lo, c.split));
        stack.push((c.split, hi));
    }
    splits
}

/// The change placed right after `index` among `splits` (sorted), or `usize::MAX`.
fn splits_after(splits: &[usize], index: usize) -> usize {
    splits
        .iter()
        .copied()
        .find(|&s| s > index)
        .unwrap_or(usize::MAX)
}

/// The likeliest split of `x[lo..hi]` with at least `m` points each side and at or after
/// `since`, with its weighted p-value (see [`search_parts`]); `None` when there is no split to
/// search or none can pass (`|z| < 3` with `alpha <= 0.01`: no need to integrate).
fn best_change(
    x: &[f64],
    lo: usize,
    hi: usize,
    since: usize,
    m: usize,
    alpha: f64,
) -> Option<Candidate> {
    let stretch = &x[lo..hi];
    let len = stretch.len();
    let parts = search_parts(len, since.saturating_sub(lo), m)?;
    let ranges = parts.map(|(first, last, _)| (first, len.saturating_sub(last)));
    let found = best_splits(stretch, ranges);
    let mut best: Option<Candidate> = None;
    for ((first, last, share), split) in parts.into_iter().zip(found) {
        let Some((k, z)) = split.filter(|_| share > 0.0) else {
            continue;
        };
        if alpha <= 0.01 && z.abs() < 3.0 {
            continue;
        }
        let p = (p_value(z, len, first, len - last) / share).min(1.0);
        if best.is_none_or(|b| p < b.p_value) {
            best = Some(Candidate {
                split: lo + k,
                p_value: p,
            });
        }
    }
    best
}

/// The parts of a stretch of `len` points searched for a change from `from` on (relative to
/// the stretch), as `(first split, last split, share of alpha)`, or `None` when there is
/// no split to search.
///
/// Splits with fewer than `2 m` points on one side are searched apart, at a tenth of `alpha`
/// each end ([`EDGE_SHARE`]), the others at the rest (a weighted Bonferroni split): near an
/// edge only large changes can be told from noise, and a large change passes the stricter
/// level, while those splits, searched with the rest, cost small changes much of the test's
/// sensitivity. A stretch too short for that is one part (the others get no share).
fn search_parts(len: usize, from: usize, m: usize) -> Option<[(usize, usize, f64); 3]> {
    let first = from.max(m);
    let last = len.checked_sub(m)?;
    if first > last {
        return None;
    }
    let none = (first, last, 0.0);
    let settled = 2 * m;
    let main_last = len.saturating_sub(settled);
    Some(if first < settled && settled <= main_last {
        [
            (first, settled - 1, EDGE_SHARE),
            (settled, main_last, 1.0 - 2.0 * EDGE_SHARE),
            (main_last + 1, last, EDGE_SHARE),
        ]
    } else if first >= settled && first <= main_last {
        [
            (first, main_last, 1.0 - EDGE_SHARE),
            (main_last + 1, last, EDGE_SHARE),
            none,
        ]
    } else {
        [(first, last, 1.0), none, none]
    })
}

/// The shift at `split` of the stretch `x` (between its neighbouring changes), if it is
/// large enough and lasting; `p` is its weighted p-value, `noise` the series' standard
/// deviation from neighbouring differences. When it went away only in part (the stretch's
/// tail is back towards the old level but still clearly off it), what lasted: the change from
/// the old level to the tail's, if `significant` says so of its p-value.
fn measured(
    x: &[f64],
    split: usize,
    p: f64,
    noise: f64,
    m: usize,
    settings: &Settings,
    significant: Option<&dyn Fn(f64) -> bool>,
) -> Option<Shift> {
    let n = x.len();
    if split == 0 || split >= n {
        return None;
    }
    let before = stats::mean(&x[..split]);
    let after = stats::mean(&x[split..]);
    if before == 0.0 || !before.is_finite() || !after.is_finite() {
        return None;
    }
    let relative_change = (after - before) / before.abs();
    if relative_change.abs() < settings.min_change {
        return None;
    }
    let (_, llr) = standardised_shift(x, split)?;
    // The change must last: the tail of the new regime sits on its side of the midpoint.
    let tail = ((n - split) / 4).max(m).min(n - split);
    let tail_median = stats::median(&x[n - tail..]);
    let midpoint = (before + after) / 2.0;
    // It went away when the tail is back on the old side of the midpoint by more than the
    // tail's own noise (two standard errors of a median), so noise in a short tail does not
    // discard small lasting shifts. The noise comes from neighbouring differences, which
    // structure (a bump that came and went) does not inflate.
    let margin = 2.0 * 1.2533 * noise / (tail as f64).sqrt();
    // Or when it sits on the old side and the new regime is not one level: its first stretch
    // is clearly further from the old level than its last (a bump that came and went).
    let head = stats::median(&x[split..split + tail]);
    let went_away = if after > before {
        tail_median < midpoint - margin
            || (tail_median < midpoint && head - tail_median > 2.0 * margin)
    } else {
        tail_median > midpoint + margin
            || (tail_median > midpoint && tail_median - head > 2.0 * margin)
    };
    if went_away {
        // A tail that has settled well short of the old level is a smaller lasting change
        // (a later release won back part of the cost); one within noise of it, none.
        return significant.and_then(|significant| {
            net_change(
                x,
                (0, split),
                (n - tail, n),
                noise,
                m,
                settings,
                significant,
            )
        });
    }
    Some(Shift {
        index: split,
        before,
        after,
        relative_change,
        p_value: p,
        llr,
        period: None,
        undone: false,
        lasting: None,
    })
}

/// The p-value of a maximal standardised shift `z` over the splits of a stretch of `n` points
/// with `min_before` and `min_after` each side ([`max_shift_p_value`]), with `z` first taken to
/// the normal quantile of its Student t tail (`n - 2` degrees of freedom: the standard
/// deviation is estimated), which matters for short series: at 20 points a `z` of 4 is a
/// normal tail of 3e-5 but a t tail of 4e-4.
pub fn p_value(z: f64, n: usize, min_before: usize, min_after: usize) -> f64 {
    let b = z.abs();
    let b = if b.is_finite() && n > 2 {
        normal_equivalent(b, (n - 2) as f64)
    } else {
        b
    };
    max_shift_p_value(b, n, min_before, min_after)
}

/// The `z` whose normal upper tail equals the Student t upper tail of `t` with `df` degrees of
/// freedom: from the approximation `sqrt(df ln(1 + t^2 / df))`, a few Newton steps on the log
/// of the tail; `t` itself when the tail underflows.
fn normal_equivalent(t: f64, df: f64) -> f64 {
    let target = stats::dist::student_t_sf(t, df);
    if !(target > 0.0 && target < 0.5) {
        return t;
    }
    let log_target = target.ln();
    let mut z = (df * (t * t / df).ln_1p()).sqrt().min(t);
    for _ in 0..8 {
        let tail = stats::dist::normal_sf(z);
        let density = stats::dist::normal_pdf(z);
        if !(tail > 0.0 && density > 0.0) {
            break;
        }
        let step = (tail.ln() - log_target) * tail / density;
        z += step;
        if step.abs() < 1e-9 {
            break;
        }
    }
    if z.is_finite() && z > 0.0 { z } else { t }
}

/// Share of `alpha` spent on the splits with fewer than `2 min_segment` points on one side,
/// at each end.
pub const EDGE_SHARE: f64 = 0.1;

/// Half-width of the window a point is compared with when clipping spikes: excursions up to
/// this many points long are transients.
pub const SPIKE_WINDOW: usize = 7;

/// The series with every point further than 4.5 robust standard deviations from the median of
/// its neighbourhood (`window` points each side) replaced by that median (a Hampel filter). The
/// standard deviation comes from the median absolute first difference, which neither a step
/// nor a few spikes move.
pub fn clip_spikes(x: &[f64], window: usize) -> Vec<f64> {
    clip_spikes_with(x, window, difference_sigma(x))
}

/// [`clip_spikes`] with the noise's standard deviation already estimated.
fn clip_spikes_with(x: &[f64], window: usize, sigma: f64) -> Vec<f64> {
    let n = x.len();
    let mut out = x.to_vec();
    if n < 3 || sigma.is_nan() || sigma <= 0.0 {
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
        // The median is further than the limit from x[i] only if half the neighbourhood is:
        // counting first spares most suspects (noise next to a large jump) the selection.
        let len = to - from;
        let below = x[from..to].iter().filter(|&&v| v < x[i] - limit).count();
        let above = x[from..to].iter().filter(|&&v| v > x[i] + limit).count();
        if 2 * below < len && 2 * above < len {
            continue;
        }
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
pub fn share_points(n: usize, share: f64) -> usize {
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
    fn steps_of_four_tenths_of_a_percent_are_found_mostly_and_more_often_by_a_periodic_scan() {
        // At 800 of 1,000 points, a 0.4% step in 1% noise has an expected z of 5.1; a search of
        // every split needs about 4.3 at alpha 0.001 (84% found in the calibration), one of the
        // recent 30% about 3.9 (91%).
        let mut noise = Noise(Gaussian(29));
        let periodic = Settings {
            since: Since::Share(0.7),
            ..Settings::default()
        };
        let (mut everywhere, mut recent) = (0, 0);
        for _ in 0..200 {
            let x = noise.series(0.004);
            let near = |s: Option<Shift>| s.is_some_and(|s| s.index.abs_diff(800) <= 100);
            everywhere += usize::from(near(detect(&x, &Settings::default())));
            recent += usize::from(near(detect(&x, &periodic)));
        }
        assert!(
            everywhere >= 150,
            "{everywhere} of 200 found by a one-off scan"
        );
        assert!(recent >= 170, "{recent} of 200 found in the recent 30%");
        assert!(recent > everywhere, "{recent} vs {everywhere}");
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
        let recent = Settings {
            period: 1,
            since: Since::Share(0.7),
            ..Settings::default()
        };
        let mut reported = 0;
        let mut found = 0;
        for _ in 0..100 {
            // An old step alone: not new, so not reported (at the start of the searched part,
            // as it was before).
            let old = stepped(&mut noise, &[(400, 2.0)]);
            reported += usize::from(detect(&old, &recent).is_some());
            // An old step and a new one: the new one is judged against the points since the
            // old, found and placed.
            let both = stepped(&mut noise, &[(300, 3.0), (850, 1.0)]);
            found +=
                usize::from(detect(&both, &recent).is_some_and(|s| s.index.abs_diff(850) <= 10));
        }
        assert!(reported <= 1, "{reported} old steps reported as new");
        assert!(
            found >= 95,
            "{found} of 100 new steps behind an old one found"
        );
        // A one-off scan finds both where they are.
        let everywhere = Settings {
            since: Since::Start,
            ..recent
        };
        let x = stepped(&mut noise, &[(300, 3.0), (850, 1.0)]);
        let found: Vec<usize> = regressions(&x, &everywhere)
            .iter()
            .map(|s| s.index)
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].abs_diff(300) <= 5 && found[1].abs_diff(850) <= 10,
            "{found:?}"
        );
    }

    #[test]
    fn several_changes_in_one_series_are_each_found_placed_and_sized() {
        let mut noise = Noise(Gaussian(41));
        let none = Settings {
            period: 1,
            ..Settings::default()
        };
        let mut placed = 0;
        for _ in 0..100 {
            // +1.5% at 250, -0.6% at 500 (an improvement that leaves most of the rise), +2%
            // at 760.
            let x = stepped(&mut noise, &[(250, 1.5), (500, -0.6), (760, 2.0)]);
            let shifts = changes(&x, &none);
            let roles: Vec<(Role, usize)> = classify(&shifts, Direction::Up)
                .into_iter()
                .map(|(role, s)| (role, s.index))
                .collect();
            // The 0.6-sigma fall between segments of 250 points is placed less sharply.
            let expected = [
                (Role::Regression, 250, 10),
                (Role::Improvement, 500, 30),
                (Role::Regression, 760, 10),
            ];
            if roles.len() == 3
                && roles
                    .iter()
                    .zip(expected)
                    .all(|(&(r, i), (er, ei, within))| r == er && i.abs_diff(ei) <= within)
            {
                placed += 1;
                // Each sized against its neighbouring segments.
                let sizes: Vec<f64> = shifts.iter().map(|s| s.after - s.before).collect();
                for (got, want) in sizes.iter().zip([1.5, -0.6, 2.0]) {
                    assert!((got - want).abs() < 0.35, "{sizes:?}");
                }
            }
        }
        assert!(placed >= 90, "{placed} of 100 found all three in place");
    }

    #[test]
    fn what_lasts_of_an_excursion_partly_won_back_is_a_regression() {
        let none = Settings {
            period: 1,
            ..Settings::default()
        };
        // Up 4% for 200 points, then 2.4% of it won back: 1.6% lasts (a release that cost
        // more and a later one that won part of it back).
        let mut found = 0;
        for seed in 0..20 {
            let mut noise = Noise(Gaussian(700 + seed));
            let x = stepped(&mut noise, &[(400, 4.0), (600, -2.4)]);
            let shifts = changes(&x, &none);
            let reported = classify(&shifts, Direction::Up);
            if let [(Role::Regression, s)] = reported.as_slice() {
                assert!(s.index.abs_diff(400) <= 10, "{s:?}");
                assert!((s.relative_change - 0.016).abs() < 0.004, "{s:?}");
                found += 1;
            } else {
                assert!(reported.is_empty(), "{reported:?}");
            }
        }
        assert!(found >= 19, "{found} of 20");
    }

    #[test]
    fn an_excursion_that_went_away_is_neither_a_regression_nor_its_end_an_improvement() {
        let mut noise = Noise(Gaussian(43));
        let none = Settings {
            period: 1,
            ..Settings::default()
        };
        // Up 2% for 200 points, then back.
        let x = stepped(&mut noise, &[(400, 2.0), (600, -2.0)]);
        let shifts = changes(&x, &none);
        assert_eq!(shifts.len(), 2, "{shifts:?}");
        assert!(shifts[0].undone, "{shifts:?}");
        assert!(classify(&shifts, Direction::Up).is_empty());
        // Down for 200 points, then back up: the rise back is a regression; the improvement
        // went away.
        let x = stepped(&mut noise, &[(400, -2.0), (600, 2.0)]);
        let shifts = changes(&x, &none);
        let roles: Vec<Role> = classify(&shifts, Direction::Up)
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        assert_eq!(roles, [Role::Regression], "{shifts:?}");
    }

    #[test]
    fn short_series_are_searched_with_a_shorter_segment() {
        assert_eq!(segment_length(1000, 50), 50);
        assert_eq!(segment_length(250, 50), 50);
        assert_eq!(segment_length(100, 50), 20);
        assert_eq!(segment_length(30, 50), 6);
        assert_eq!(segment_length(10, 50), 5);
        assert!(!searchable(9) && searchable(10));
        let settings = Settings {
            period: 1,
            ..Settings::default()
        };
        let mut noise = Noise(Gaussian(47));
        // 40 points with a 3% step at 25: found, near its place.
        let mut found = 0;
        let mut alarms = 0;
        for _ in 0..200 {
            let x: Vec<f64> = (0..40)
                .map(|i| if i >= 25 { 103.0 } else { 100.0 } + noise.0.normal())
                .collect();
            found += usize::from(detect(&x, &settings).is_some_and(|s| s.index.abs_diff(25) <= 2));
            let clean: Vec<f64> = (0..40).map(|_| 100.0 + noise.0.normal()).collect();
            alarms += usize::from(detect(&clean, &settings).is_some());
        }
        assert!(found >= 190, "{found} of 200 steps in 40 points");
        assert!(
            alarms <= 1,
            "{alarms} alarms in 200 clean series of 40 points"
        );
        // Under ten points: nothing searched.
        let x = [
            100.0, 100.0, 100.0, 100.0, 200.0, 200.0, 200.0, 200.0, 200.0,
        ];
        assert!(changes(&x, &settings).is_empty());
    }

    #[test]
    fn the_student_t_correction_keeps_short_series_from_false_alarms() {
        // At 20 points the estimated standard deviation makes z heavier-tailed than normal: the
        // p-value must follow the t tail.
        let p_short = p_value(4.0, 20, 4, 4);
        let p_long = p_value(4.0, 100_000, 20_000, 20_000);
        assert!(
            p_short > 5.0 * max_shift_p_value(4.0, 20, 4, 4),
            "{p_short}"
        );
        assert!(p_long < 1.01 * max_shift_p_value(4.0, 100_000, 20_000, 20_000));
        let z = normal_equivalent(3.0, 10.0);
        let t_tail = stats::dist::student_t_sf(3.0, 10.0);
        assert!((stats::dist::normal_sf(z) - t_tail).abs() < 1e-12, "{z}");
    }

    #[test]
    fn a_periodic_scan_searches_from_its_index() {
        let mut noise = Noise(Gaussian(53));
        let x = stepped(&mut noise, &[(300, 2.0), (900, 2.0)]);
        let since = |i| Settings {
            period: 1,
            since: Since::Index(i),
            ..Settings::default()
        };
        let at =
            |s: &Settings| -> Vec<usize> { regressions(&x, s).iter().map(|s| s.index).collect() };
        assert_eq!(at(&since(0)).len(), 2);
        let late = at(&since(600));
        assert_eq!(late.len(), 1, "{late:?}");
        assert!(late[0].abs_diff(900) <= 5, "{late:?}");
        // Nothing new enough to have a segment after it.
        assert!(at(&since(960)).is_empty());
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
