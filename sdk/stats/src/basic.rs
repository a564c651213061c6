//! Descriptive statistics: mean, sample variance, median, type-7 quantiles and the MAD.
//!
//! Every function takes a slice, never reorders it (order statistics work on a copy), and never
//! panics: too few values give `f64::NAN`. Inputs are assumed NaN-free; a NaN does not panic but
//! makes the answer meaningless (order statistics sort with [`f64::total_cmp`]).

/// `1 / Φ⁻¹(3/4)` ≈ 1.4826: the factor that turns the MAD into a consistent estimator of the
/// standard deviation of normally distributed data (the constant `scipy.stats.median_abs_deviation`
/// uses for `scale="normal"`).
pub const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;

/// Sum with Neumaier's compensation (an improved Kahan summation): the error is bounded by about
/// one rounding of the result, independent of `n`, even when terms cancel.
pub(crate) fn compensated_sum(x: impl IntoIterator<Item = f64>) -> f64 {
    let mut sum = 0.0_f64;
    let mut compensation = 0.0_f64;
    for v in x {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            compensation += (sum - t) + v;
        } else {
            compensation += (v - t) + sum;
        }
        sum = t;
    }
    sum + compensation
}

/// Arithmetic mean `Σxᵢ / n`, summed with compensation (Neumaier); `NaN` for an empty slice.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    compensated_sum(x.iter().copied()) / x.len() as f64
}

/// Mean and sum of squared deviations `Σ(xᵢ − x̄)²`, by the corrected two-pass algorithm
/// (Chan, Golub & LeVeque 1983): `Σ(xᵢ − x̄)² − (Σ(xᵢ − x̄))² / n`, where the second term removes
/// the rounding error left in `x̄`. Stable even when the mean is large relative to the spread
/// (where the one-pass `Σx² − n·x̄²` formula loses every digit).
pub(crate) fn mean_and_sum_sq(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = mean(x);
    let mut ss = 0.0;
    let mut s = 0.0;
    for &v in x {
        let d = v - m;
        s += d;
        ss += d * d;
    }
    (m, (ss - s * s / n).max(0.0))
}

/// Unbiased sample variance `s² = Σ(xᵢ − x̄)² / (n − 1)` (numpy's `var(ddof=1)`), by the corrected
/// two-pass algorithm; `NaN` for fewer than two values.
pub fn variance(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let (_, ss) = mean_and_sum_sq(x);
    ss / (x.len() - 1) as f64
}

/// Sample standard deviation `s = √s²` (numpy's `std(ddof=1)`); `NaN` for fewer than two values.
pub fn std_dev(x: &[f64]) -> f64 {
    variance(x).sqrt()
}

/// The midpoint of two order statistics: `(a + b) / 2`, rounded once (so subnormal values keep
/// their last bit), or `a / 2 + b / 2` when the sum overflows (both beyond half of `f64::MAX`).
fn midpoint(a: f64, b: f64) -> f64 {
    let sum = a + b;
    if sum.is_finite() {
        sum / 2.0
    } else {
        a / 2.0 + b / 2.0
    }
}

/// Median of a buffer the caller owns, reordering it instead of copying it
/// (`select_nth_unstable`, O(n) expected time): for a scratch buffer filled anew for each
/// median (a sliding window, a vector of differences), where [`median`]'s copy would be a
/// second allocation. Same value as [`median`]; `NaN` for an empty slice.
pub fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (lower, upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        // The largest of the lower half is the other middle value.
        let lower_max = lower
            .iter()
            .copied()
            .max_by(f64::total_cmp)
            .unwrap_or(upper);
        midpoint(lower_max, upper)
    }
}

/// Median: the middle order statistic, or the mean of the two middle ones for even `n` (numpy's
/// `median`). Works on a copy in O(n) expected time; `NaN` for an empty slice.
pub fn median(x: &[f64]) -> f64 {
    median_in_place(&mut x.to_vec())
}

/// Type-7 quantile of already sorted data (Hyndman & Fan 1996; numpy's default `linear`):
/// `h = (n − 1)·q`, `Q(q) = x₍⌊h⌋₎ + (h − ⌊h⌋)·(x₍⌊h⌋+1₎ − x₍⌊h⌋₎)`.
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    let t = h - lo as f64;
    // Interpolate from the nearer end, as numpy does: exact at both ends and monotone in `q`.
    if t < 0.5 {
        a + (b - a) * t
    } else {
        b - (b - a) * (1.0 - t)
    }
}

/// Quantile `q ∈ [0, 1]` by linear interpolation between order statistics: Hyndman & Fan's type 7,
/// the default of numpy (`method="linear"`) and R. With `h = (n − 1)·q`,
/// `Q(q) = x₍⌊h⌋₎ + (h − ⌊h⌋)·(x₍⌊h⌋+1₎ − x₍⌊h⌋₎)` over the sorted values (0-based).
/// `NaN` for an empty slice or `q` outside `[0, 1]`. Sorts a copy: for several quantiles of the
/// same data use [`quantiles`].
pub fn quantile(x: &[f64], q: f64) -> f64 {
    quantiles(x, &[q])[0]
}

/// Several type-7 quantiles (see [`quantile`]) of the same data, sorting it once.
pub fn quantiles(x: &[f64], qs: &[f64]) -> Vec<f64> {
    let mut sorted = x.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    qs.iter().map(|&q| quantile_sorted(&sorted, q)).collect()
}

/// Median absolute deviation, raw: `MAD = median(|xᵢ − median(x)|)` (scipy's
/// `median_abs_deviation` with its default `scale=1.0`). A robust spread: up to half the values can
/// be outliers. `NaN` for an empty slice.
pub fn mad(x: &[f64]) -> f64 {
    let center = median(x);
    let mut deviations: Vec<f64> = x.iter().map(|v| (v - center).abs()).collect();
    median_in_place(&mut deviations)
}

/// The MAD scaled to estimate the standard deviation of normal data: `MAD · 1.4826`
/// ([`MAD_TO_SIGMA`] `= 1/Φ⁻¹(3/4)`, scipy's `scale="normal"`). `NaN` for an empty slice.
pub fn mad_sigma(x: &[f64]) -> f64 {
    mad(x) * MAD_TO_SIGMA
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_short_inputs_give_nan() {
        assert!(mean(&[]).is_nan());
        assert!(variance(&[]).is_nan());
        assert!(variance(&[1.0]).is_nan());
        assert!(std_dev(&[1.0]).is_nan());
        assert!(median(&[]).is_nan());
        assert!(quantile(&[], 0.5).is_nan());
        assert!(mad(&[]).is_nan());
        assert!(mad_sigma(&[]).is_nan());
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(quantile(&[3.0], 0.9), 3.0);
        assert_eq!(mad(&[3.0]), 0.0);
    }

    #[test]
    fn quantile_outside_unit_interval_is_nan() {
        assert!(quantile(&[1.0, 2.0], -0.1).is_nan());
        assert!(quantile(&[1.0, 2.0], 1.5).is_nan());
        assert!(quantile(&[1.0, 2.0], f64::NAN).is_nan());
    }

    #[test]
    fn median_handles_even_length_and_leaves_input_alone() {
        let x = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(median(&x), 2.5);
        assert_eq!(x, [4.0, 1.0, 3.0, 2.0]);
        assert_eq!(median(&[f64::MAX, f64::MAX]), f64::MAX);
        // The smallest subnormal and its double: halving each first would round both.
        let tiny = f64::from_bits(1);
        assert_eq!(median(&[tiny, 3.0 * tiny]), 2.0 * tiny);
    }

    #[test]
    fn variance_survives_a_large_offset() {
        // The naive Σx² − n·x̄² formula returns garbage (even negative) here.
        let x: Vec<f64> = [4.0, 7.0, 13.0, 16.0].iter().map(|v| v + 1e9).collect();
        assert_eq!(variance(&x), 30.0);
        assert_eq!(mean(&x), 1e9 + 10.0);
    }

    #[test]
    fn compensated_sum_keeps_small_terms() {
        assert_eq!(compensated_sum([1.0, 1e100, 1.0, -1e100]), 2.0);
    }
}
