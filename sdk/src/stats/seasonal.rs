//! Seasonality: classical additive decomposition, deseasonalizing, and the dominant period.
//!
//! Benchmarks run on a schedule (nightly jobs, weekly load patterns) often carry a periodic
//! component that hides or mimics a regression; remove it with [`deseasonalize`] before
//! [`detect_mean_shift`](super::change::detect_mean_shift).

use super::basic::{compensated_sum, mean};

/// A classical additive decomposition `x = trend + seasonal + resid` (see [`decompose`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    /// The period the decomposition used.
    pub period: usize,
    /// Centered moving average of length `period` (a 2×`period` average for an even period);
    /// `NaN` for the first and last `⌊period/2⌋` values, where the window does not fit.
    pub trend: Vec<f64>,
    /// The seasonal figure repeated over the series: `seasonal[i] = figure[i mod period]`, the
    /// figure summing to zero over one period.
    pub seasonal: Vec<f64>,
    /// `x − trend − seasonal`; `NaN` where the trend is.
    pub resid: Vec<f64>,
}

/// Classical additive seasonal decomposition with a known `period` (Kendall & Stuart; the
/// method of `statsmodels.tsa.seasonal.seasonal_decompose(x, model="additive", period=period)`):
///
/// 1. trend: centered moving average, weights `1/p` over `p` values for odd `p`, and the 2×p
///    average (weights `½, 1, …, 1, ½` over `p + 1` values, divided by `p`) for even `p`;
/// 2. seasonal figure: for each phase `j`, the mean of `x − trend` over the indices `≡ j (mod p)`
///    where the trend is defined, then centered so the `p` phase means sum to zero;
/// 3. residual: `x − trend − seasonal`.
///
/// `None` when `period < 2` or the series has fewer than two full periods (`x.len() < 2·period`),
/// as statsmodels requires.
pub fn decompose(x: &[f64], period: usize) -> Option<Decomposition> {
    let n = x.len();
    if period < 2 || n < 2 * period {
        return None;
    }
    let half = period / 2;
    let p = period as f64;
    let mut trend = vec![f64::NAN; n];
    for (i, value) in trend.iter_mut().enumerate().take(n - half).skip(half) {
        let window = &x[i - half..=i + half];
        *value = if period % 2 == 1 {
            compensated_sum(window.iter().copied()) / p
        } else {
            let inner = compensated_sum(window[1..period].iter().copied());
            (inner + 0.5 * (window[0] + window[period])) / p
        };
    }

    let mut figure: Vec<f64> = (0..period)
        .map(|phase| {
            let detrended: Vec<f64> = (phase..n)
                .step_by(period)
                .filter(|&i| !trend[i].is_nan())
                .map(|i| x[i] - trend[i])
                .collect();
            mean(&detrended)
        })
        .collect();
    let center = mean(&figure);
    for f in &mut figure {
        *f -= center;
    }

    let seasonal: Vec<f64> = (0..n).map(|i| figure[i % period]).collect();
    let resid = x
        .iter()
        .zip(&trend)
        .zip(&seasonal)
        .map(|((&v, &t), &s)| v - t - s)
        .collect();
    Some(Decomposition {
        period,
        trend,
        seasonal,
        resid,
    })
}

/// `x` minus its seasonal component from [`decompose`] (trend and residual kept, defined at
/// every index including the edges). `x` unchanged when it cannot be decomposed (period below 2
/// or fewer than two full periods).
pub fn deseasonalize(x: &[f64], period: usize) -> Vec<f64> {
    match decompose(x, period) {
        Some(d) => x.iter().zip(&d.seasonal).map(|(v, s)| v - s).collect(),
        None => x.to_vec(),
    }
}

/// The smallest autocorrelation [`dominant_period`] accepts: for a periodic signal in white
/// noise, the autocorrelation at the period is about the share of the variance the periodic part
/// explains, so this asks for a seasonal component carrying at least 30% of the variance.
pub const MIN_PERIOD_AUTOCORRELATION: f64 = 0.3;

/// The dominant period of `x` and its autocorrelation, by the sample autocorrelation function
/// `r(k) = Σ_{t<n−k} e_t·e_{t+k} / Σ e_t²` (the usual biased estimator, as statsmodels' `acf`)
/// of `e`, the series minus its least-squares line (so a drift does not masquerade as
/// periodicity).
///
/// Candidates are lags `2 ≤ k ≤ min(max_period, n/2)` where `r` has a local peak
/// (`r(k−1) < r(k) ≥ r(k+1)`, which rules out the slow monotone decay of a trend, a step or
/// an AR(1) process) and exceeds both [`MIN_PERIOD_AUTOCORRELATION`] and the approximate 95%
/// white-noise band `2/√n`. The answer is the candidate with the highest `r(k)` (the first on a
/// tie): with the biased estimator the fundamental period beats its multiples. `None` when no
/// lag qualifies, for constant or very short series.
pub fn dominant_period(x: &[f64], max_period: usize) -> Option<(usize, f64)> {
    let n = x.len();
    let max_lag = max_period.min(n / 2);
    if max_lag < 2 {
        return None;
    }
    let residuals = detrend_linear(x);
    let denominator: f64 = residuals.iter().map(|e| e * e).sum();
    let center = mean(x);
    let total: f64 = x.iter().map(|v| (v - center) * (v - center)).sum();
    // A constant or a straight line leaves only rounding noise: nothing periodic to find.
    if denominator.is_nan() || denominator <= 1e-20 * total || !denominator.is_finite() {
        return None;
    }
    let autocorrelation = |k: usize| -> f64 {
        residuals
            .iter()
            .zip(&residuals[k..])
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / denominator
    };
    let threshold = MIN_PERIOD_AUTOCORRELATION.max(2.0 / (n as f64).sqrt());
    let r: Vec<f64> = (0..=max_lag + 1).map(autocorrelation).collect();
    let mut best: Option<(usize, f64)> = None;
    for k in 2..=max_lag {
        let is_peak = r[k] > r[k - 1] && r[k] >= r[k + 1];
        if is_peak && r[k] > threshold && best.is_none_or(|(_, b)| r[k] > b) {
            best = Some((k, r[k]));
        }
    }
    best
}

/// `x` minus its ordinary least-squares line over the index `0..n`.
fn detrend_linear(x: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let center_t = (n - 1.0) / 2.0;
    let center_x = mean(x);
    let mut sxy = 0.0;
    let mut sxx = 0.0;
    for (i, &v) in x.iter().enumerate() {
        let dt = i as f64 - center_t;
        sxy += dt * (v - center_x);
        sxx += dt * dt;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    x.iter()
        .enumerate()
        .map(|(i, &v)| v - center_x - slope * (i as f64 - center_t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A weekly pattern on a slow drift, with a little jitter from a xorshift generator (not a
    /// function of `i` mod anything, which would be periodic itself).
    fn weekly(n: usize) -> Vec<f64> {
        let pattern = [0.0, 1.0, 1.5, 1.2, 0.8, -2.0, -2.5];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        (0..n)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let jitter = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                100.0 + 0.05 * i as f64 + pattern[i % 7] + 0.3 * jitter
            })
            .collect()
    }

    #[test]
    fn decomposition_adds_up() {
        let x = weekly(60);
        for period in [4, 7, 12] {
            let d = decompose(&x, period).expect("decomposable");
            assert_eq!(d.trend.len(), x.len());
            for i in 0..x.len() {
                let defined = i >= period / 2 && i < x.len() - period / 2;
                assert_eq!(d.trend[i].is_nan(), !defined, "period {period}, i {i}");
                if defined {
                    let sum = d.trend[i] + d.seasonal[i] + d.resid[i];
                    assert!((sum - x[i]).abs() < 1e-9);
                }
            }
            let figure_sum: f64 = d.seasonal[..period].iter().sum();
            assert!(figure_sum.abs() < 1e-9);
        }
    }

    #[test]
    fn decompose_rejects_what_statsmodels_rejects() {
        assert!(decompose(&[], 2).is_none());
        assert!(decompose(&[1.0; 13], 7).is_none());
        assert!(decompose(&[1.0; 14], 7).is_some());
        assert!(decompose(&[1.0; 14], 1).is_none());
        assert!(decompose(&[1.0; 14], 0).is_none());
        assert_eq!(deseasonalize(&[1.0, 2.0, 3.0], 7), vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn deseasonalize_removes_the_weekly_pattern() {
        let x = weekly(70);
        let y = deseasonalize(&x, 7);
        // What is left is the drift plus jitter: no weekly autocorrelation peak.
        assert!(
            dominant_period(&y, 20).is_none(),
            "{:?}",
            dominant_period(&y, 20)
        );
        assert_eq!(y.len(), x.len());
    }

    #[test]
    fn dominant_period_finds_the_week() {
        let (period, r) = dominant_period(&weekly(84), 30).expect("a period");
        assert_eq!(period, 7);
        assert!(r > 0.5, "{r}");
    }

    #[test]
    fn no_period_in_a_trend_a_step_or_a_constant() {
        let trend: Vec<f64> = (0..100).map(|i| i as f64 * 0.3).collect();
        assert!(dominant_period(&trend, 30).is_none());
        let step: Vec<f64> = (0..100).map(|i| if i < 60 { 1.0 } else { 2.0 }).collect();
        assert!(dominant_period(&step, 30).is_none());
        assert!(dominant_period(&[5.0; 50], 10).is_none());
        assert!(dominant_period(&[], 10).is_none());
        assert!(dominant_period(&[1.0, 2.0, 1.0], 10).is_none());
        assert!(dominant_period(&weekly(84), 1).is_none());
    }
}
