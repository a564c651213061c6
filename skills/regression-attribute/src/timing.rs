//! When the step happened, as evidence for each deploy in the window: whether the series rose
//! at that deploy's time. A change point can be placed a deploy or two late when the step is
//! small in a noisy series, and a real history moves the same function more than once; the
//! series itself still says which deploys it rose at, so commits are weighed by it rather
//! than by how close they are to the point placed.

/// For each time in `deploys`, how well the series in `points` (`(time, value)`, oldest first)
/// says it rose at that time: 1 where the best account of the series has a rise there, near 0
/// for deploys the series rules out, 0 where it falls or does not change there. `None` when
/// the series is too short to say.
///
/// The account is the segmentation of the series into levels, with changes only at deploys,
/// that fits it best under a BIC-like penalty per change ([`segment_weights`]). A real
/// history has more than one change in reach of a regression (a release before or after the
/// culprit moves the same function): a single rise fitted to the window would credit the
/// largest of them alone, and rule out the culprit's smaller one beside it.
pub fn deploy_weights(points: &[(i64, f64)], deploys: &[i64]) -> Option<Vec<f64>> {
    let n = points.len();
    if n < 6 || deploys.is_empty() {
        return None;
    }
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    let splits: Vec<usize> = deploys
        .iter()
        .map(|&d| points.partition_point(|p| p.0 < d))
        .collect();
    let by_split = segment_weights(&values, &splits);
    Some(
        splits
            .iter()
            .map(|s| by_split.get(s).copied().unwrap_or(0.0))
            .collect(),
    )
}

/// Fewest points on each side of a change: one high point is noise, not a level.
const MIN_RUN: usize = 2;

/// For each candidate split of `values` (a change between `values[s - 1]` and `values[s]`),
/// `exp(-(cost of the best segmentation with a change there - cost of the best one))` when
/// that change is a rise, else 0. Cost: squared residuals over twice the noise variance
/// (estimated from successive differences, which steps barely move) plus `ln n` per change.
/// Optimal partitioning forwards and backwards over the candidates: O(candidates²).
fn segment_weights(values: &[f64], splits: &[usize]) -> std::collections::BTreeMap<usize, f64> {
    let n = values.len();
    let mut sum = vec![0.0; n + 1];
    let mut squares = vec![0.0; n + 1];
    for (i, v) in values.iter().enumerate() {
        sum[i + 1] = sum[i] + v;
        squares[i + 1] = squares[i] + v * v;
    }
    let rss = |a: usize, b: usize| -> f64 {
        let s = sum[b] - sum[a];
        (squares[b] - squares[a] - s * s / (b - a) as f64).max(0.0)
    };
    let mean = |a: usize, b: usize| (sum[b] - sum[a]) / (b - a) as f64;
    let variance = noise_variance(values).max(rss(0, n) / n as f64 * 1e-6) + f64::MIN_POSITIVE;
    let cost = |a: usize, b: usize| rss(a, b) / (2.0 * variance);
    let penalty = (n as f64).ln();
    // Boundaries: the start, every usable split once, the end.
    let mut at: Vec<usize> = splits
        .iter()
        .copied()
        .filter(|&s| s >= MIN_RUN && n - s >= MIN_RUN)
        .collect();
    at.sort_unstable();
    at.dedup();
    at.insert(0, 0);
    at.push(n);
    let m = at.len();
    let apart = |i: usize, j: usize| at[j] - at[i] >= MIN_RUN || (i == 0 && j == m - 1);
    // forward[j]: best cost of values[..at[j]] with changes only at candidates, and where its
    // last segment starts; backward[j]: the same for values[at[j]..] and where its first ends.
    let mut forward = vec![(f64::INFINITY, 0); m];
    forward[0] = (0.0, 0);
    for j in 1..m {
        for i in 0..j {
            if !apart(i, j) || !forward[i].0.is_finite() {
                continue;
            }
            let c = forward[i].0 + cost(at[i], at[j]) + if i > 0 { penalty } else { 0.0 };
            if c < forward[j].0 {
                forward[j] = (c, i);
            }
        }
    }
    let mut backward = vec![(f64::INFINITY, m - 1); m];
    backward[m - 1] = (0.0, m - 1);
    for i in (0..m - 1).rev() {
        for j in i + 1..m {
            if !apart(i, j) || !backward[j].0.is_finite() {
                continue;
            }
            let c = backward[j].0 + cost(at[i], at[j]) + if j < m - 1 { penalty } else { 0.0 };
            if c < backward[i].0 {
                backward[i] = (c, j);
            }
        }
    }
    let best = forward[m - 1].0;
    (1..m - 1)
        .filter(|&j| forward[j].0.is_finite() && backward[j].0.is_finite())
        .map(|j| {
            let (before, after) = (at[forward[j].1], at[backward[j].1]);
            let with = forward[j].0 + backward[j].0 + penalty;
            let rise = mean(at[j], after) > mean(before, at[j]);
            (
                at[j],
                if rise {
                    (best - with).exp().min(1.0)
                } else {
                    0.0
                },
            )
        })
        .collect()
}

/// The variance of the noise in `values`, from the median absolute difference of successive
/// values (robust to the few steps a series has, unlike the variance of the values).
fn noise_variance(values: &[f64]) -> f64 {
    let mut differences: Vec<f64> = values.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    if differences.is_empty() {
        return 0.0;
    }
    differences.sort_unstable_by(f64::total_cmp);
    let median = differences[differences.len() / 2];
    // For Gaussian noise, successive differences have standard deviation sigma * sqrt 2 and
    // median absolute value 0.6745 times that.
    let sigma = if median > 0.0 {
        median / (0.6745 * std::f64::consts::SQRT_2)
    } else {
        // Most points repeat their neighbour (counts, a share that is often 0): the mean
        // difference, whose Gaussian value is sigma * 2 / sqrt(pi), still sees the noise the
        // others have, where the median would call the series noiseless.
        let mean = differences.iter().sum::<f64>() / differences.len() as f64;
        mean * std::f64::consts::PI.sqrt() / 2.0
    };
    sigma * sigma
}

/// The points of a series (oldest first) around a regression at `at` whose window of commits
/// runs from `since` to `until`: from `since` to as far after `at` as the window reaches on
/// either side. Changes further away are other changes, which a single rise fitted to the
/// whole series would weigh.
pub fn around(points: &[(i64, f64)], since: i64, at: i64, until: i64) -> Vec<(i64, f64)> {
    let reach = at.saturating_sub(since).max(until.saturating_sub(at));
    let end = at.saturating_add(reach);
    points
        .iter()
        .copied()
        .filter(|&(t, _)| t >= since && t <= end)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(step_at: usize, size: f64, noise: &[f64]) -> Vec<(i64, f64)> {
        noise
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let level = if i >= step_at { 1.0 + size } else { 1.0 };
                (i as i64 * 10, level + e)
            })
            .collect()
    }

    #[test]
    fn the_deploy_the_step_is_at_weighs_most_and_a_clear_step_rules_out_the_others() {
        let noise: Vec<f64> = (0..60)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.002)
            .collect();
        let points = series(30, 0.2, &noise);
        // Deploys at points 20, 30 and 40.
        let w = deploy_weights(&points, &[200, 300, 400]).unwrap();
        assert_eq!(w[1], 1.0);
        assert!(w[0] < 0.05 && w[2] < 0.05, "{w:?}");
    }

    #[test]
    fn a_small_step_in_noise_leaves_neighbouring_deploys_in_the_running() {
        let noise: Vec<f64> = (0..60)
            .map(|i| ((i * 7919 % 23) as f64 - 11.0) * 0.01)
            .collect();
        let points = series(30, 0.03, &noise);
        let w = deploy_weights(&points, &[250, 300, 350]).unwrap();
        assert!(w.iter().all(|&x| x > 0.01), "{w:?}");
    }

    #[test]
    fn every_rise_of_the_series_is_credited_not_only_the_largest() {
        // A rise at point 20 (the culprit), a larger one at 25 (a release that moved the same
        // function), and a large one at 65, long after; a deploy at 45 changed nothing.
        let noise: Vec<f64> = (0..75)
            .map(|i| ((i * 7919 % 23) as f64 - 11.0) * 0.002)
            .collect();
        let points: Vec<(i64, f64)> = noise
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let level = match i {
                    0..20 => 0.0,
                    20..25 => 0.03,
                    25..65 => 0.08,
                    _ => 0.15,
                };
                (i as i64 * 10, level + e)
            })
            .collect();
        let weights = deploy_weights(&points, &[200, 250, 450, 650]).unwrap();
        assert!(weights[0] > 0.5 && weights[1] > 0.5, "{weights:?}");
        assert!(weights[2] < 0.05 && weights[3] > 0.5, "{weights:?}");
        // Trimmed to the reach of a regression placed at 240 with its window from 50.
        let local = around(&points, 50, 240, 260);
        assert_eq!((local[0].0, local.last().unwrap().0), (50, 430));
        let weights = deploy_weights(&local, &[200, 250]).unwrap();
        assert!(weights[0] > 0.5 && weights[1] > 0.5, "{weights:?}");
    }

    #[test]
    fn a_series_that_mostly_repeats_itself_still_has_noise() {
        // A share that is 0 in most profiles, with occasional samples, then a rise.
        let values: Vec<f64> = (0..60)
            .map(|i| match (i >= 30, i % 7) {
                (false, 3) => 0.002,
                (false, _) => 0.0,
                (true, 5) => 0.028,
                (true, _) => 0.03,
            })
            .collect();
        assert!(noise_variance(&values) > 0.0);
        let points: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as i64 * 10, v))
            .collect();
        // A deploy in the flat zeros is not a rise, the one at the step is.
        let w = deploy_weights(&points, &[100, 300]).unwrap();
        assert!(w[0] < 0.05 && w[1] > 0.5, "{w:?}");
    }

    #[test]
    fn a_fall_next_to_a_rise_is_not_a_rise() {
        let noise: Vec<f64> = (0..60)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.002)
            .collect();
        let points: Vec<(i64, f64)> = noise
            .iter()
            .enumerate()
            .map(|(i, e)| {
                (
                    i as i64 * 10,
                    if (20..40).contains(&i) { 1.2 } else { 1.0 } + e,
                )
            })
            .collect();
        let weights = deploy_weights(&points, &[200, 400]).unwrap();
        assert_eq!(weights[1], 0.0, "{weights:?}");
        assert!(weights[0] > 0.5, "{weights:?}");
    }

    #[test]
    fn falls_and_short_series_give_no_weight() {
        let noise = vec![0.0; 40];
        let points = series(20, -0.2, &noise);
        assert_eq!(deploy_weights(&points, &[200]), Some(vec![0.0]));
        assert_eq!(deploy_weights(&points[..4], &[20]), None);
        assert_eq!(deploy_weights(&points, &[]), None);
        // Before the first point or after the last: no split, no weight.
        let up = series(20, 0.2, &noise);
        assert_eq!(
            deploy_weights(&up, &[-5, 200, 10_000]),
            Some(vec![0.0, 1.0, 0.0])
        );
    }
}
