//! Change points in the mean: CUSUM to locate, a likelihood-ratio test, binary segmentation.
//!
//! The model is a series of independent values with a constant variance whose mean may jump
//! once (or, for [`binary_segmentation`], a few times). Serial correlation (common in benchmark
//! runs on a warming machine) makes the p-values too small; compare them with a strict `alpha`.

use super::basic::mean_and_sum_sq;
use super::dist::{kolmogorov_sf, student_t_two_sided_p};
use super::hypothesis::welch_t_test;

/// A detected shift in the mean of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// The first index of the new regime: the series splits into `x[..index]` and `x[index..]`
    /// (from [`binary_segmentation`], an index into the whole series, not into a sub-segment).
    pub index: usize,
    /// Mean of the segment before the split.
    pub before_mean: f64,
    /// Mean of the segment after the split.
    pub after_mean: f64,
    /// `(after_mean − before_mean)/|before_mean|`: `0.02` is 2% slower for a timing. Infinite or
    /// `NaN` when `before_mean` is zero.
    pub relative_change: f64,
    /// Gaussian log-likelihood-ratio statistic of "one mean shift here" against "no shift",
    /// `2(ℓ₁ − ℓ₀) = n·ln(σ̂₀²/σ̂₁²)`, with `σ̂₀²` the variance about the overall mean and `σ̂₁²`
    /// the pooled within-segment variance (both maximum-likelihood, divisor `n`).
    pub llr: f64,
    /// Welch's t of the after segment against the before segment at this split: positive when
    /// the mean went up. Not a test by itself (the split was chosen to make it large).
    pub t: f64,
    /// p-value of "no change anywhere", accounting for the search over every admissible split;
    /// see [`detect_mean_shift`] for how it is computed.
    pub p_value: f64,
}

/// Finds the single most likely shift in the mean of `x` and tests it.
///
/// **Location.** The CUSUM of deviations from the overall mean, `S_k = Σ_{i<k}(xᵢ − x̄)`, is
/// piecewise linear in expectation with its extreme at the true change, so the candidate is
/// `argmax |S_k|` over `min_segment ≤ k ≤ n − min_segment` (no segment shorter than
/// `min_segment`, which is raised to 2 so each side has a variance). For a change away from the
/// middle the raw CUSUM maximum is imprecise (800 + 200 points with a 2σ step: more than five
/// points off in about one series in five), so the split is then refined to the
/// maximum-likelihood one within the CUSUM peak (the `k` maximising `S_k²/(k(n − k))` among the
/// neighbours where `S_k` stays above half the peak; one series in a hundred is then more than
/// five points off).
///
/// **Statistic.** At `k̂`, the Gaussian likelihood ratio of a mean shift,
/// `llr = n·ln(σ̂₀²/σ̂₁²) = n·ln(1 + SS_between/SS_within)`, is a monotone function of the
/// pooled two-sample t statistic, `t_p² = (n − 2)·SS_between/SS_within`; for a split fixed in
/// advance, `t_p` has an exact Student t law with `n − 2` degrees of freedom under Gaussian noise.
///
/// **p-value.** The split was searched for, so the fixed-split p-value would be far too small.
/// Two valid corrections are combined, each good where the other is weak:
///
/// 1. *Maximally selected CUSUM*: under the null of iid noise, `max_k |S_k|/(σ̂√n)` converges to
///    the supremum of a Brownian bridge, whose law is Kolmogorov's (the OLS-CUSUM test of
///    Ploberger & Krämer 1992), so `p_K = P(K > max|S_k|/(σ̂₀√n))` with `σ̂₀` the sample standard
///    deviation of the whole series. This is the asymptotic distribution of exactly the
///    statistic that chose the split; it is conservative with `min_segment > 0` (a supremum over
///    fewer positions) and for small `n` (the discrete maximum lies below the continuous one),
///    and accurate for a few hundred points.
/// 2. *Bonferroni*: `p_B = min(1, m·p_t)`, `p_t` the exact two-sided t p-value of `t_p` and `m`
///    the number of admissible splits. Valid for every `n` under Gaussian noise whatever rule
///    picked the split, and sharp for short series and for shifts near an end, where the CUSUM
///    is weak; conservative for long series.
///
/// `p_value = min(1, 2·min(p_K, p_B))` (a Bonferroni combination of the two, hence still valid).
/// It is conservative: on iid Gaussian noise, `p_value ≤ 0.05` in about 1.5–2.5% of series of
/// 6 to 1 000 points (a Monte Carlo check in the tests guards that it stays at most nominal).
///
/// `None` when no split is admissible (`x.len() < 2·max(min_segment, 2)`) or the series is
/// constant. `NaN` or infinite values do not panic, but make the result meaningless.
pub fn detect_mean_shift(x: &[f64], min_segment: usize) -> Option<ChangePoint> {
    let n = x.len();
    let min_segment = min_segment.max(2);
    if n < 2 * min_segment {
        return None;
    }
    let (overall_mean, ss_total) = mean_and_sum_sq(x);
    if ss_total.is_nan() || ss_total <= 0.0 {
        return None;
    }

    // CUSUM S_k = Σ_{i<k}(xᵢ − x̄) for k = 0..=n − min_segment (Neumaier-compensated).
    let mut cusum = Vec::with_capacity(n - min_segment + 1);
    let (mut sum, mut compensation) = (0.0_f64, 0.0_f64);
    cusum.push(0.0);
    for &v in &x[..n - min_segment] {
        let d = v - overall_mean;
        let next = sum + d;
        compensation += if sum.abs() >= d.abs() {
            (sum - next) + d
        } else {
            (d - next) + sum
        };
        sum = next;
        cusum.push(sum + compensation);
    }
    // The CUSUM peak: argmax |S_k| over the admissible splits (the first, on a tie).
    let admissible = min_segment..=n - min_segment;
    let (mut peak, mut extreme) = (min_segment, -1.0_f64);
    for k in admissible.clone() {
        if cusum[k].abs() > extreme {
            extreme = cusum[k].abs();
            peak = k;
        }
    }
    let split = refine_split(&cusum, peak, admissible, n);
    let (before, after) = x.split_at(split);
    let (before_mean, ss_before) = mean_and_sum_sq(before);
    let (after_mean, ss_after) = mean_and_sum_sq(after);
    let (n1, n2, nf) = (before.len() as f64, after.len() as f64, n as f64);
    let ss_within = ss_before + ss_after;
    let diff = after_mean - before_mean;
    let ss_between = n1 * n2 / nf * diff * diff;
    let ratio = ss_between / ss_within; // +∞ for a noiseless step
    let llr = nf * ratio.ln_1p();

    let candidates = (n - 2 * min_segment + 1) as f64;
    let pooled_t = ((nf - 2.0) * ratio).sqrt();
    let p_bonferroni = (candidates * student_t_two_sided_p(pooled_t, nf - 2.0)).min(1.0);
    let sigma = (ss_total / (nf - 1.0)).sqrt();
    let p_cusum = kolmogorov_sf(extreme / (sigma * nf.sqrt()));
    let p_value = (2.0 * p_cusum.min(p_bonferroni)).min(1.0);

    Some(ChangePoint {
        index: split,
        before_mean,
        after_mean,
        relative_change: diff / before_mean.abs(),
        llr,
        t: welch_t_test(after, before).t,
        p_value,
    })
}

/// The maximum-likelihood split within the CUSUM peak around `peak`: over the contiguous
/// admissible `k` where `S_k` keeps the sign of `S_peak` and `|S_k| ≥ ½|S_peak|`, the `k` that
/// maximises the between-segment sum of squares `SS_between(k) = S_k²·n/(k(n − k))` (the
/// likelihood ratio's numerator). The raw CUSUM maximum is pulled toward the middle of the series
/// when the change is off-centre (its slope on the short side is `δ·n₂/n`, so noise moves the
/// maximum by `O((σ/δ)²·(n/n₂)²)` points); the likelihood places the change as well as the data
/// allow, while the restriction to the peak keeps it from chasing noise at the series ends.
fn refine_split(
    cusum: &[f64],
    peak: usize,
    admissible: std::ops::RangeInclusive<usize>,
    n: usize,
) -> usize {
    let level = cusum[peak];
    let in_peak = |k: usize| cusum[k] * level > 0.0 && cusum[k].abs() >= 0.5 * level.abs();
    let mut start = peak;
    while start > *admissible.start() && in_peak(start - 1) {
        start -= 1;
    }
    let mut end = peak;
    while end < *admissible.end() && in_peak(end + 1) {
        end += 1;
    }
    let between = |k: usize| cusum[k] * cusum[k] / (k as f64 * (n - k) as f64);
    let mut best = peak;
    for k in start..=end {
        if between(k) > between(best) {
            best = k;
        }
    }
    best
}

/// Several mean shifts by binary segmentation (Scott & Knott 1974; Vostrikova 1981): test the
/// whole series with [`detect_mean_shift`], and while some segment's best split has
/// `p_value ≤ alpha`, accept the most significant one and test the two halves it leaves, up to
/// `max_points` change points. Sorted by index.
///
/// Each returned [`ChangePoint`] describes the test in the segment where it was found (its means
/// are those of the two sides within that segment), with `index` in the coordinates of `x`.
/// Every segment between change points (and the series ends) is at least `max(min_segment, 2)`
/// long. `alpha` applies to each test separately: with several points, use a small one.
pub fn binary_segmentation(
    x: &[f64],
    min_segment: usize,
    alpha: f64,
    max_points: usize,
) -> Vec<ChangePoint> {
    let mut found = Vec::new();
    // Segments [start, end) still open, each with its best split (in x's coordinates).
    let mut open: Vec<(usize, usize, ChangePoint)> = Vec::new();
    let consider = |open: &mut Vec<(usize, usize, ChangePoint)>, start: usize, end: usize| {
        if let Some(mut cp) = detect_mean_shift(&x[start..end], min_segment) {
            cp.index += start;
            open.push((start, end, cp));
        }
    };
    consider(&mut open, 0, x.len());
    while found.len() < max_points {
        let best = open
            .iter()
            .enumerate()
            .filter(|(_, (_, _, cp))| cp.p_value <= alpha)
            .min_by(|(_, (_, _, p)), (_, (_, _, q))| p.p_value.total_cmp(&q.p_value))
            .map(|(i, _)| i);
        let Some(best) = best else { break };
        let (start, end, cp) = open.swap_remove(best);
        found.push(cp);
        consider(&mut open, start, cp.index);
        consider(&mut open, cp.index, end);
    }
    found.sort_by_key(|cp| cp.index);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::noise::Gaussian;

    /// Series of deterministic Gaussian noise.
    struct Noise(Gaussian);

    impl Noise {
        /// `n` values around `level` with standard deviation `sd`.
        fn series(&mut self, n: usize, level: f64, sd: f64) -> Vec<f64> {
            (0..n).map(|_| level + sd * self.0.normal()).collect()
        }
    }

    #[test]
    fn finds_a_two_percent_step_in_one_percent_noise() {
        let mut noise = Noise(Gaussian(0x9e37_79b9_7f4a_7c15));
        let mut x = noise.series(800, 100.0, 1.0);
        x.extend(noise.series(200, 102.0, 1.0));
        let cp = detect_mean_shift(&x, 10).expect("a change point");
        assert!(cp.index.abs_diff(800) <= 5, "{cp:?}");
        assert!(cp.p_value < 1e-6, "{cp:?}");
        assert!((cp.relative_change - 0.02).abs() < 0.003, "{cp:?}");
        assert!(cp.t > 10.0 && cp.llr > 100.0, "{cp:?}");
    }

    #[test]
    fn flat_noise_is_not_a_change() {
        let mut noise = Noise(Gaussian(0x9e37_79b9_7f4a_7c15));
        let x = noise.series(1000, 100.0, 1.0);
        let cp = detect_mean_shift(&x, 10).expect("a candidate split");
        assert!(cp.p_value > 0.01, "{cp:?}");
        assert!(binary_segmentation(&x, 10, 0.01, 5).is_empty());
    }

    #[test]
    fn false_positive_rate_is_at_most_nominal() {
        // 400 null series per length; the p-value must not reject more often than alpha
        // (up to Monte Carlo error: 3 standard errors of a binomial at 5% is about 3.3%).
        let mut noise = Noise(Gaussian(12345));
        for n in [8, 20, 60, 300] {
            let runs = 400;
            let rejections = (0..runs)
                .filter(|_| {
                    let x = noise.series(n, 10.0, 1.0);
                    detect_mean_shift(&x, 2).is_some_and(|cp| cp.p_value <= 0.05)
                })
                .count();
            let rate = rejections as f64 / runs as f64;
            assert!(rate <= 0.05 + 0.033, "n = {n}: rejection rate {rate}");
        }
    }

    #[test]
    fn short_series_with_a_clear_step() {
        let x = [10.0, 10.1, 9.9, 10.0, 10.05, 12.0, 12.1, 11.9, 12.0, 12.05];
        let cp = detect_mean_shift(&x, 3).expect("a change point");
        assert_eq!(cp.index, 5);
        assert!(cp.p_value < 1e-4, "{cp:?}");
        let step = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        let cp = detect_mean_shift(&step, 2).expect("a change point");
        assert_eq!((cp.index, cp.p_value, cp.llr), (3, 0.0, f64::INFINITY));
        assert_eq!(cp.relative_change, 1.0);
    }

    #[test]
    fn min_segment_is_respected() {
        let mut noise = Noise(Gaussian(7));
        let mut x = noise.series(995, 100.0, 1.0);
        x.extend([200.0; 5]);
        for min_segment in [0, 1, 10, 50, 400] {
            let cp = detect_mean_shift(&x, min_segment).expect("a candidate");
            let bound = min_segment.max(2);
            assert!(cp.index >= bound && cp.index <= x.len() - bound, "{cp:?}");
            let points = binary_segmentation(&x, min_segment, 0.05, 10);
            let mut edges = vec![0];
            edges.extend(points.iter().map(|cp| cp.index));
            edges.push(x.len());
            assert!(edges.windows(2).all(|w| w[1] - w[0] >= bound), "{edges:?}");
        }
        // With a small minimum the step at 995 is found exactly.
        assert_eq!(detect_mean_shift(&x, 5).map(|cp| cp.index), Some(995));
        assert!(detect_mean_shift(&x, 501).is_none());
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        assert!(detect_mean_shift(&[], 0).is_none());
        assert!(detect_mean_shift(&[1.0], 0).is_none());
        assert!(detect_mean_shift(&[1.0, 2.0, 3.0], 0).is_none());
        assert!(detect_mean_shift(&[4.2; 100], 3).is_none());
        assert!(binary_segmentation(&[], 0, 0.05, 3).is_empty());
        assert!(binary_segmentation(&[4.2; 100], 3, 0.05, 3).is_empty());
        assert!(binary_segmentation(&[1.0, 5.0], 1, 1.0, 3).is_empty());
        let _ = detect_mean_shift(&[1.0, f64::NAN, 3.0, 4.0, 5.0], 2);
        let _ = detect_mean_shift(&[1.0, f64::INFINITY, 3.0, 4.0, 5.0], 2);
        let _ = binary_segmentation(&[f64::NAN; 10], 2, 0.05, 3);
        let zero_before = detect_mean_shift(&[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], 2).unwrap();
        assert_eq!(zero_before.relative_change, f64::INFINITY);
    }

    #[test]
    fn binary_segmentation_finds_two_steps_in_order() {
        let mut noise = Noise(Gaussian(42));
        let mut x = noise.series(300, 100.0, 1.0);
        x.extend(noise.series(400, 103.0, 1.0));
        x.extend(noise.series(300, 101.0, 1.0));
        let points = binary_segmentation(&x, 10, 1e-6, 10);
        assert_eq!(points.len(), 2, "{points:?}");
        assert!(points[0].index.abs_diff(300) <= 5, "{points:?}");
        assert!(points[1].index.abs_diff(700) <= 5, "{points:?}");
        assert!(points[0].relative_change > 0.0 && points[1].relative_change < 0.0);
        assert_eq!(binary_segmentation(&x, 10, 1e-6, 1).len(), 1);
        assert!(binary_segmentation(&x, 10, 1e-6, 0).is_empty());
    }
}
