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
    /// Seasonal period in points; 0 looks for one, 1 means none.
    pub period: usize,
    /// Which way is worse: `Up` for costs (CPU, latency), `Down` for throughput.
    pub direction: Direction,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            alpha: 1e-4,
            min_change: 0.001,
            min_segment: 20,
            period: 0,
            direction: Direction::Up,
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
/// `stats::deseasonalize`); clip transient spikes ([`clip_spikes`]); locate and test the shift (`stats::detect_mean_shift`); then keep it
/// only if the new level holds over the last stretch of the series (its final quarter, at least
/// `min_segment` points, must be beyond the midpoint between the two levels): a spike or a
/// change that went away again is not a regression. Levels are reported on the original
/// (seasonal) values.
pub fn detect(values: &[f64], settings: &Settings) -> Option<Shift> {
    let n = values.len();
    if n < 2 * settings.min_segment.max(2) || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    match settings.period {
        // Looking for a season costs O(n^2); only a series whose neighbouring points are
        // correlated (a season, a step or a drift; not white noise) pays it.
        0 => match (lag_one(values) > 0.2)
            .then(|| season(values, n / 2))
            .flatten()
        {
            Some(p) => shift_in(values, &stats::deseasonalize(values, p), Some(p), settings),
            None => shift_in(values, values, None, settings),
        },
        1 => shift_in(values, values, None, settings),
        p if p <= n / 2 => shift_in(values, &stats::deseasonalize(values, p), Some(p), settings),
        _ => shift_in(values, values, None, settings),
    }
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

/// The season of `x`, if it has a strong one: the lag of the highest autocorrelation (at least
/// 0.3) after the autocorrelation of the detrended series first turns negative, so the slow
/// decay at small lags of a smooth season or a drift is not mistaken for a short period.
pub fn season(x: &[f64], max_period: usize) -> Option<usize> {
    let n = x.len();
    let max_lag = max_period.min(n / 2);
    if max_lag < 4 {
        return None;
    }
    let (tn, mean_t) = (n as f64, (n as f64 - 1.0) / 2.0);
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
    if denominator.is_nan() || denominator <= 0.0 || tn < 8.0 {
        return None;
    }
    let r = |k: usize| e.iter().zip(&e[k..]).map(|(a, b)| a * b).sum::<f64>() / denominator;
    let first_negative = (1..=max_lag).find(|&k| r(k) < 0.0)?;
    let (lag, best) = (first_negative..=max_lag)
        .map(|k| (k, r(k)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    (best >= 0.3).then_some(lag)
}

/// The shift of `series` (the values, or the values with their season removed), judged and
/// placed on `series`, its levels reported on `values`.
fn shift_in(
    values: &[f64],
    series: &[f64],
    period: Option<usize>,
    settings: &Settings,
) -> Option<Shift> {
    let n = values.len();
    let min_segment = settings.min_segment.max(2);
    // Short excursions (a few points far from their neighbours) are clipped to the local
    // median first, so a transient spike can neither make a change nor hide one.
    let clipped = clip_spikes(series, SPIKE_WINDOW);
    let series = &clipped[..];
    let mut cp = stats::detect_mean_shift(series, min_segment)?;
    if cp.p_value > settings.alpha {
        return None;
    }
    // The CUSUM's extreme is pulled towards the middle of the series; the likelihood's own
    // maximum places the change where it is.
    cp.index = best_split(series, min_segment).unwrap_or(cp.index);
    let before = stats::mean(&values[..cp.index]);
    let after = stats::mean(&values[cp.index..]);
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
    let tail = ((n - cp.index) / 4).max(min_segment).min(n - cp.index);
    let tail_mean = stats::median(&series[n - tail..]);
    let series_before = stats::mean(&series[..cp.index]);
    let series_after = stats::mean(&series[cp.index..]);
    let midpoint = (series_before + series_after) / 2.0;
    let holds = if series_after > series_before {
        tail_mean > midpoint
    } else {
        tail_mean < midpoint
    };
    if !holds {
        return None;
    }
    Some(Shift {
        index: cp.index,
        before,
        after,
        relative_change,
        p_value: cp.p_value,
        llr: cp.llr,
        period,
    })
}

/// Half-width of the window a point is compared with when clipping spikes: excursions up to
/// this many points long are transients.
pub const SPIKE_WINDOW: usize = 7;

/// The series with every point further than 4.5 robust standard deviations from the median of
/// its neighbourhood (`window` points each side) replaced by that median (a Hampel filter). The
/// standard deviation comes from the median absolute first difference, which neither a step
/// nor a few spikes move.
pub fn clip_spikes(x: &[f64], window: usize) -> Vec<f64> {
    let n = x.len();
    if n < 3 {
        return x.to_vec();
    }
    let diffs: Vec<f64> = x.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    // For Gaussian noise, median |x[i+1] - x[i]| = 0.6745 * sqrt(2) * sigma.
    let sigma = stats::median(&diffs) / (0.674_489_75 * std::f64::consts::SQRT_2);
    if sigma.is_nan() || sigma <= 0.0 {
        return x.to_vec();
    }
    let limit = 4.5 * sigma;
    let mut out = x.to_vec();
    let mut neighbourhood = Vec::with_capacity(2 * window + 1);
    for i in 0..n {
        let (from, to) = (i.saturating_sub(window), (i + window + 1).min(n));
        neighbourhood.clear();
        neighbourhood.extend_from_slice(&x[from..to]);
        let local = stats::median(&neighbourhood);
        if (x[i] - local).abs() > limit {
            out[i] = local;
        }
    }
    out
}

/// The split `k` (each side at least `min_segment` long) that maximises the likelihood of one
/// mean shift: `k (n - k) (mean(x[..k]) - mean(x[k..]))^2`.
pub fn best_split(x: &[f64], min_segment: usize) -> Option<usize> {
    let n = x.len();
    let min_segment = min_segment.max(1);
    if n < 2 * min_segment {
        return None;
    }
    let total: f64 = x.iter().sum();
    let mut prefix = 0.0;
    let mut best: Option<(usize, f64)> = None;
    for (i, v) in x[..n - min_segment].iter().enumerate() {
        prefix += v;
        let k = i + 1;
        if k < min_segment {
            continue;
        }
        let (a, b) = (k as f64, (n - k) as f64);
        let diff = prefix / a - (total - prefix) / b;
        let score = a * b * diff * diff;
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((k, score));
        }
    }
    best.map(|(k, _)| k)
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

    /// xorshift64* with Box-Muller: deterministic Gaussian noise.
    struct Noise(u64);

    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }

        /// 1,000 points around 100 with 1% noise, stepped by `step` (relative) at 800.
        fn series(&mut self, step: f64) -> Vec<f64> {
            (0..1000)
                .map(|i| {
                    let level = if i >= 800 {
                        100.0 * (1.0 + step)
                    } else {
                        100.0
                    };
                    level + self.normal()
                })
                .collect()
        }
    }

    #[test]
    fn finds_a_half_percent_step_where_it_is() {
        let mut noise = Noise(7);
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
        let mut noise = Noise(11);
        let alarms = (0..500)
            .filter(|_| detect(&noise.series(0.0), &Settings::default()).is_some())
            .count();
        assert!(alarms <= 1, "{alarms} false alarms in 500 clean series");
    }

    #[test]
    fn spikes_that_go_away_are_not_regressions() {
        let mut noise = Noise(13);
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
        let mut noise = Noise(17);
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
        let mut noise = Noise(19);
        assert_eq!(detect(&noise.series(-0.02), &Settings::default()), None);
        let down = Settings {
            direction: Direction::Down,
            ..Settings::default()
        };
        assert!(detect(&noise.series(-0.02), &down).is_some());
    }
}
