//! Changes that are one: several series that changed together (a function's inclusive share
//! and every caller's) are one regression, reported as the member the change concentrates in.
//! `regression-detect` groups the series of one process with these, and `joule merge` joins
//! the groups that shards found apart with the same ones, so a merge decides as one process
//! would.

/// Pearson's correlation of the first `min(len)` values of `a` and `b`, in one pass over the
/// values less the first of each (so the sums of squares keep their precision: a grouping
/// correlates each change with many others). `NaN` for fewer than two values or a constant.
pub fn correlation<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return f64::NAN;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let (a0, b0): (f64, f64) = (a[0].into(), b[0].into());
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x.into() - a0, y.into() - b0);
        sa += x;
        sb += y;
        saa += x * x;
        sbb += y * y;
        sab += x * y;
    }
    let nf = n as f64;
    let (saa, sbb, sab) = (saa - sa * sa / nf, sbb - sb * sb / nf, sab - sa * sb / nf);
    sab / (saa * sbb).sqrt()
}

/// Which member of a group of correlated changes (each its absolute and relative change, the
/// strongest first) the group is reported as: the one the change concentrates in. Of the
/// members that carry at least half of the largest absolute change, the one with the largest
/// relative change, the strongest of those on a tie; only members `allowed` are chosen, and
/// when none of those carries that much, the strongest allowed. A step in a function's
/// inclusive series is the same step in every caller's, up to `main`, whose share is near 1
/// and barely noisy, so it is often the strongest, and attributing `main` says nothing; the
/// function the cost was added in has the same absolute change and the largest relative one.
pub fn lead(sizes: &[(f64, f64)], allowed: impl Fn(usize) -> bool) -> Option<usize> {
    let largest = sizes.iter().map(|s| s.0.abs()).fold(0.0, f64::max);
    let mut best: Option<usize> = None;
    for (i, &(delta, relative)) in sizes.iter().enumerate() {
        if !allowed(i) || delta.abs() < 0.5 * largest {
            continue;
        }
        if best.is_none_or(|b| relative.abs() > sizes[b].1.abs()) {
            best = Some(i);
        }
    }
    best.or_else(|| (0..sizes.len()).find(|&i| allowed(i)))
}

/// The members other than `lead` as concentrated as it: at least half the largest absolute
/// change and 0.8 of the lead's relative change (a caller whose only work is the function is
/// the same series point for point: which of them is the lead is a tie, so both are named).
pub fn alike(sizes: &[(f64, f64)], lead: usize) -> Vec<usize> {
    let largest = sizes.iter().map(|s| s.0.abs()).fold(0.0, f64::max);
    let relative = sizes.get(lead).map_or(0.0, |s| s.1.abs());
    (0..sizes.len())
        .filter(|&k| {
            k != lead && sizes[k].0.abs() >= 0.5 * largest && sizes[k].1.abs() >= 0.8 * relative
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_is_pearsons() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [2.0, 4.1, 5.9, 8.2, 9.9];
        let (ma, mb) = (crate::mean(&a), crate::mean(&b));
        let sab: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let saa: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
        let sbb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
        let expected = sab / (saa * sbb).sqrt();
        assert!((correlation(&a, &b) - expected).abs() < 1e-12);
        assert!((correlation(&a, &a.map(|x| -x)) + 1.0).abs() < 1e-12);
        assert!(correlation(&[3.0; 4], &a).is_nan());
        assert!(correlation(&[1.0], &a).is_nan());
        // f32 windows (as findings carry them) agree with f64.
        let a32 = [1.0f32, 2.0, 3.0, 4.0, 5.0];
        let b32 = [2.0f32, 4.1, 5.9, 8.2, 9.9];
        assert!((correlation(&a32, &b32) - expected).abs() < 1e-6);
    }

    #[test]
    fn a_group_is_reported_as_the_member_the_change_concentrates_in() {
        let all = |_| true;
        // main: the whole change, barely relative; a caller: the same change, a larger
        // relative one; the function: the same change, the largest relative one.
        let (main, caller, function) = ((0.02, 0.02), (0.02, 0.1), (0.02, 0.5));
        assert_eq!(lead(&[main, caller, function], all), Some(2));
        // A helper whose small change is relatively large is not the lead.
        let helper = (0.001, 2.0);
        assert_eq!(lead(&[main, helper, function], all), Some(2));
        assert_eq!(lead(&[main, helper], all), Some(0));
        // Ties go to the strongest.
        assert_eq!(lead(&[(0.02, 0.3), (0.02, 0.3)], all), Some(0));
        assert_eq!(lead(&[(0.001, 0.01), (0.02, 0.005)], all), Some(1));
        assert_eq!(lead(&[(0.5, 0.1)], all), Some(0));
        assert_eq!(lead(&[], all), None);
        // Only the allowed: the function was not reported, the caller is the lead; none of
        // the allowed carries half the change, the strongest allowed.
        assert_eq!(lead(&[main, caller, function], |i| i != 2), Some(1));
        assert_eq!(lead(&[main, helper], |i| i == 1), Some(1));
        assert_eq!(lead(&[main], |_| false), None);
        // Alike: as concentrated as the lead.
        let twin = (0.02, 0.45);
        let sizes = [main, twin, function];
        let first = lead(&sizes, all).unwrap();
        assert_eq!(first, 2);
        assert_eq!(alike(&sizes, first), [1]);
        assert!(alike(&[function], 0).is_empty());
    }
}
