//! Hypothesis tests: Welch's t and Mann–Whitney U (before/after), Mann–Kendall and Theil–Sen (trend).
//!
//! Every test returns a plain struct; a statistic that is undefined for the input (too few
//! values) is `f64::NAN` rather than a panic. p-values are two-sided.

use super::basic::{mean_and_sum_sq, median};
use super::dist::{normal_two_sided_p, student_t_two_sided_p};

/// The result of [`welch_t_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchTest {
    /// `t = (x̄_a − x̄_b) / √(s_a²/n_a + s_b²/n_b)`: positive when `a` has the larger mean.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom
    /// `ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1))`.
    pub df: f64,
    /// Two-sided p-value `P(|T_ν| ≥ |t|)`.
    pub p_value: f64,
}

/// Welch's unequal-variances t-test of equal means (Welch 1947), as
/// `scipy.stats.ttest_ind(a, b, equal_var=False)`: `t = (x̄_a − x̄_b)/√(s_a²/n_a + s_b²/n_b)`
/// with Welch–Satterthwaite degrees of freedom and a two-sided Student t p-value. Means and
/// variances use the stable two-pass algorithm, so timings with a large common offset are fine.
///
/// Each sample needs at least two values, else every field is `NaN`. When both samples have zero
/// variance the test degenerates: equal means give `NaN` everywhere, different means give
/// `t = ±∞`, `df = NaN` and `p_value = 0`.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> WelchTest {
    let undefined = WelchTest {
        t: f64::NAN,
        df: f64::NAN,
        p_value: f64::NAN,
    };
    if a.len() < 2 || b.len() < 2 {
        return undefined;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mean_a, ss_a) = mean_and_sum_sq(a);
    let (mean_b, ss_b) = mean_and_sum_sq(b);
    // Squared standard errors of the two means.
    let se2_a = ss_a / (na - 1.0) / na;
    let se2_b = ss_b / (nb - 1.0) / nb;
    let se2 = se2_a + se2_b;
    let diff = mean_a - mean_b;
    if se2 == 0.0 || !se2.is_finite() {
        if se2 == 0.0 && diff != 0.0 && diff.is_finite() {
            return WelchTest {
                t: diff.signum() * f64::INFINITY,
                df: f64::NAN,
                p_value: 0.0,
            };
        }
        return undefined;
    }
    let t = diff / se2.sqrt();
    // ν = 1 / (w_a²/(n_a − 1) + w_b²/(n_b − 1)) with w = se²/Σse²: no overflow or underflow.
    let (wa, wb) = (se2_a / se2, se2_b / se2);
    let df = 1.0 / (wa * wa / (na - 1.0) + wb * wb / (nb - 1.0));
    WelchTest {
        t,
        df,
        p_value: student_t_two_sided_p(t, df),
    }
}

/// The result of [`mann_whitney_u`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// `U` of the first sample, `U_a = R_a − n_a(n_a + 1)/2` (`R_a` its rank sum in the pooled
    /// sample, ties at average rank): the number of pairs `(aᵢ, bⱼ)` with `aᵢ > bⱼ`, ties
    /// counting ½ (scipy's `statistic`). `U_a/(n_a·n_b)` is the probability that a value from `a`
    /// exceeds one from `b`.
    pub u: f64,
    /// Continuity-corrected normal score `(|U_a − n_a n_b/2| − ½)/σ_U`, signed positive when `a`
    /// tends to be larger than `b`; `0` when the correction swallows the difference or every
    /// value is tied.
    pub z: f64,
    /// Two-sided p-value `min(1, 2·P(Z > (max(U_a, U_b) − n_a n_b/2 − ½)/σ_U))`.
    pub p_value: f64,
}

/// The Mann–Whitney U test (Wilcoxon rank-sum) of "neither sample tends to be larger", with the
/// tie-corrected normal approximation and continuity correction: exactly
/// `scipy.stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=True,
/// alternative="two-sided")`. Under the null `U` has mean `n_a n_b/2` and variance
/// `σ_U² = (n_a n_b/12)·((n + 1) − Σ(t³ − t)/(n(n − 1)))`, `n = n_a + n_b`, the sum over groups
/// of `t` tied values. Robust to outliers, so it suits noisy timings. O(n log n).
///
/// An empty sample gives `NaN` everywhere.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> MannWhitney {
    if a.is_empty() || b.is_empty() {
        return MannWhitney {
            u: f64::NAN,
            z: f64::NAN,
            p_value: f64::NAN,
        };
    }
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_unstable_by(|p, q| p.0.total_cmp(&q.0));
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut first_rank = 1.0;
    for group in pooled.chunk_by(|p, q| p.0 == q.0) {
        // A group of t equal values holds ranks first..first+t−1; each gets their average.
        let t = group.len() as f64;
        let average_rank = first_rank + (t - 1.0) / 2.0;
        let from_a = group.iter().filter(|p| p.1).count() as f64;
        rank_sum_a += average_rank * from_a;
        tie_term += t * t * t - t;
        first_rank += t;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let n = na + nb;
    let u = rank_sum_a - na * (na + 1.0) / 2.0;
    let mu = na * nb / 2.0;
    let sigma = (na * nb / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    let excess = (u - mu).abs() - 0.5;
    let (z, p_value) = if sigma > 0.0 && excess > 0.0 {
        let z = excess / sigma;
        ((u - mu).signum() * z, normal_two_sided_p(z).min(1.0))
    } else {
        (0.0, 1.0)
    };
    MannWhitney { u, z, p_value }
}

/// The result of [`mann_kendall`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// `S = Σ_{i<j} sign(x_j − x_i)`: concordant minus discordant pairs in time order.
    pub s: i64,
    /// Tie-corrected null variance `Var(S) = (n(n−1)(2n+5) − Σ t(t−1)(2t+5))/18`, the sum over
    /// groups of `t` equal values.
    pub var_s: f64,
    /// Continuity-corrected score `Z = (S − sign(S))/√Var(S)` (0 when `S = 0`).
    pub z: f64,
    /// Two-sided p-value `P(|N(0,1)| ≥ |Z|)`.
    pub p_value: f64,
    /// Kendall's tau-a between the values and time, `τ = S/(n(n−1)/2)` (the `Tau` of
    /// pymannkendall: not tie-adjusted).
    pub tau: f64,
}

/// The Mann–Kendall test for a monotonic trend in a series (Mann 1945, Kendall 1975), as
/// `pymannkendall.original_test`: `S` counts pairs that increase minus pairs that decrease,
/// its normal approximation uses the tie-corrected variance and a continuity correction. Makes
/// no assumption about the distribution of the values, only that they are independent under the
/// null (serial correlation inflates the false-positive rate).
///
/// O(n²) time and O(n) memory (fine for thousands of points; Knight's O(n log n) merge-sort
/// count would be the next step). Fewer than two values give `S = 0` and `NaN` elsewhere.
pub fn mann_kendall(x: &[f64]) -> MannKendall {
    let n = x.len();
    if n < 2 {
        return MannKendall {
            s: 0,
            var_s: f64::NAN,
            z: f64::NAN,
            p_value: f64::NAN,
            tau: f64::NAN,
        };
    }
    let mut s: i64 = 0;
    for (i, &xi) in x.iter().enumerate() {
        for &xj in &x[i + 1..] {
            if xj > xi {
                s += 1;
            } else if xj < xi {
                s -= 1;
            }
        }
    }
    let mut sorted = x.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let tie_term: f64 = sorted
        .chunk_by(|p, q| p == q)
        .map(|group| {
            let t = group.len() as f64;
            t * (t - 1.0) * (2.0 * t + 5.0)
        })
        .sum();
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - tie_term) / 18.0;
    let z = if s == 0 || var_s <= 0.0 {
        0.0
    } else {
        (s - s.signum()) as f64 / var_s.sqrt()
    };
    MannKendall {
        s,
        var_s,
        z,
        p_value: normal_two_sided_p(z),
        tau: s as f64 / (nf * (nf - 1.0) / 2.0),
    }
}

/// The result of [`theil_sen`] and [`sen_slope`]: the line `y = intercept + slope·x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TheilSen {
    /// The median of the pairwise slopes `(y_j − y_i)/(x_j − x_i)` over pairs with `x_i ≠ x_j`.
    pub slope: f64,
    /// `median(y_i − slope·x_i)` (scipy's `theilslopes(method="joint")`).
    pub intercept: f64,
}

/// The Theil–Sen estimator (Theil 1950, Sen 1968) of the line through `(x_i, y_i)`: slope is the
/// median of all pairwise slopes `(y_j − y_i)/(x_j − x_i)` (pairs with equal `x` are skipped, as
/// scipy does), intercept `median(y − slope·x)`. Robust: up to ~29% of the points can be outliers.
/// Matches `scipy.stats.theilslopes(y, x, method="joint")` for slope and intercept.
///
/// This is the exact O(n²) version: it materialises the `n(n−1)/2` slopes (8 bytes each) and
/// selects their median in linear expected time. That is fine for a few thousand points (2 000
/// points: 16 MB) but not for a long series inside a memory-capped sandbox (10 000 points:
/// 400 MB); thin or window long series first, or use an O(n log n) slope-selection algorithm
/// (e.g. Dillencourt, Mount & Netanyahu 1992), which this module does not provide.
///
/// `NaN` fields when the lengths differ or no pair has distinct `x`.
pub fn theil_sen(x: &[f64], y: &[f64]) -> TheilSen {
    let undefined = TheilSen {
        slope: f64::NAN,
        intercept: f64::NAN,
    };
    if x.len() != y.len() {
        return undefined;
    }
    let n = x.len();
    let mut slopes = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[j] - x[i];
            if dx != 0.0 {
                slopes.push((y[j] - y[i]) / dx);
            }
        }
    }
    if slopes.is_empty() {
        return undefined;
    }
    let slope = median(&slopes);
    drop(slopes);
    let offsets: Vec<f64> = x.iter().zip(y).map(|(&xi, &yi)| yi - slope * xi).collect();
    TheilSen {
        slope,
        intercept: median(&offsets),
    }
}

/// Sen's slope of a series sampled at equal steps: [`theil_sen`] with `x = 0, 1, …, n − 1`, so
/// the slope is per sample and the intercept the fitted value at the first sample. (pymannkendall's
/// `sens_slope` has the same slope; its intercept is `median(y) − slope·median(x)` instead.)
pub fn sen_slope(y: &[f64]) -> TheilSen {
    let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
    theil_sen(&x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_degenerate_inputs() {
        assert!(welch_t_test(&[], &[1.0, 2.0]).p_value.is_nan());
        assert!(welch_t_test(&[1.0], &[1.0, 2.0]).t.is_nan());
        let same = welch_t_test(&[3.0, 3.0, 3.0], &[3.0, 3.0]);
        assert!(same.t.is_nan() && same.p_value.is_nan());
        let apart = welch_t_test(&[3.0, 3.0, 3.0], &[4.0, 4.0]);
        assert_eq!(apart.t, f64::NEG_INFINITY);
        assert_eq!(apart.p_value, 0.0);
        // One constant sample: df falls back to the other's n − 1.
        let one = welch_t_test(&[3.0, 3.0, 3.0], &[4.0, 5.0, 6.0, 7.0]);
        assert!((one.df - 3.0).abs() < 1e-12);
    }

    #[test]
    fn mann_whitney_degenerate_inputs() {
        assert!(mann_whitney_u(&[], &[1.0]).p_value.is_nan());
        let tied = mann_whitney_u(&[2.0, 2.0], &[2.0, 2.0, 2.0]);
        assert_eq!((tied.u, tied.z, tied.p_value), (3.0, 0.0, 1.0));
        let apart = mann_whitney_u(&[1.0, 2.0, 3.0], &[10.0, 11.0, 12.0]);
        assert_eq!(apart.u, 0.0);
        assert!(apart.z < 0.0);
    }

    #[test]
    fn mann_whitney_u_counts_pairs() {
        // U_a = #{aᵢ > bⱼ} + ½·#{aᵢ = bⱼ}.
        let a = [1.0, 4.0, 4.0, 7.0];
        let b = [2.0, 4.0, 8.0];
        let mut pairs = 0.0;
        for &x in &a {
            for &y in &b {
                pairs += if x > y {
                    1.0
                } else if x == y {
                    0.5
                } else {
                    0.0
                };
            }
        }
        assert_eq!(mann_whitney_u(&a, &b).u, pairs);
    }

    #[test]
    fn mann_kendall_degenerate_inputs() {
        assert!(mann_kendall(&[]).p_value.is_nan());
        assert!(mann_kendall(&[1.0]).tau.is_nan());
        let flat = mann_kendall(&[5.0; 6]);
        assert_eq!(
            (flat.s, flat.var_s, flat.z, flat.p_value),
            (0, 0.0, 0.0, 1.0)
        );
        let up = mann_kendall(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((up.s, up.tau), (6, 1.0));
    }

    #[test]
    fn theil_sen_recovers_a_line_despite_outliers() {
        let mut y: Vec<f64> = (0..20).map(|i| 3.0 + 0.5 * i as f64).collect();
        y[4] = 100.0;
        y[15] = -50.0;
        let fit = sen_slope(&y);
        assert_eq!(fit.slope, 0.5);
        assert_eq!(fit.intercept, 3.0);
        assert!(theil_sen(&[1.0, 1.0], &[2.0, 3.0]).slope.is_nan());
        assert!(theil_sen(&[1.0, 2.0], &[2.0]).slope.is_nan());
        assert!(sen_slope(&[]).intercept.is_nan());
    }
}
