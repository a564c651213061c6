//! When the step happened, as evidence for each deploy in the window: how well a rise at that
//! deploy's time explains the regressed series, against the best deploy. A change point can be
//! placed a deploy or two late when the step is small in a noisy series; the series itself
//! still says which deploys a step fits, so commits are weighed by it rather than by how close
//! they are to the point placed.

/// For each time in `deploys`, the likelihood of a single rise at that time in `points`
/// (`(time, value)`, oldest first), relative to the most likely of them: 1 for the best, near
/// 0 for deploys the series rules out; 0 where the series falls or does not change there.
/// `None` when the series is too short to say.
pub fn deploy_weights(points: &[(i64, f64)], deploys: &[i64]) -> Option<Vec<f64>> {
    let n = points.len();
    if n < 6 || deploys.is_empty() {
        return None;
    }
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    // Prefix sums for the residual sum of squares of each split.
    let mut sum = vec![0.0; n + 1];
    let mut squares = vec![0.0; n + 1];
    for (i, v) in values.iter().enumerate() {
        sum[i + 1] = sum[i] + v;
        squares[i + 1] = squares[i] + v * v;
    }
    let rss = |a: usize, b: usize| -> f64 {
        let count = (b - a) as f64;
        if count == 0.0 {
            return 0.0;
        }
        let s = sum[b] - sum[a];
        (squares[b] - squares[a] - s * s / count).max(0.0)
    };
    let mean = |a: usize, b: usize| (sum[b] - sum[a]) / (b - a) as f64;
    let floor = rss(0, n) * 1e-9 + f64::MIN_POSITIVE;
    // Log-likelihood of a rise at each deploy (Gaussian noise, one level either side).
    let log_likelihood: Vec<Option<f64>> = deploys
        .iter()
        .map(|&d| {
            let split = points.partition_point(|p| p.0 < d);
            if split < 2 || n - split < 2 || mean(split, n) <= mean(0, split) {
                return None;
            }
            let residual = rss(0, split) + rss(split, n);
            Some(-(n as f64) / 2.0 * (residual + floor).ln())
        })
        .collect();
    let best = log_likelihood
        .iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if !best.is_finite() {
        return Some(vec![0.0; deploys.len()]);
    }
    Some(
        log_likelihood
            .iter()
            .map(|l| l.map_or(0.0, |l| (l - best).exp()))
            .collect(),
    )
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
        assert!(w[0] < 1e-6 && w[2] < 1e-6, "{w:?}");
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
    fn a_later_change_of_the_series_does_not_rule_out_the_deploy_of_this_one() {
        // A rise at point 20, a smaller one at 25 (another commit raising the same function),
        // and a large one at 65, long after.
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
                    25..65 => 0.04,
                    _ => 0.09,
                };
                (i as i64 * 10, level + e)
            })
            .collect();
        let whole = deploy_weights(&points, &[200, 250]).unwrap();
        assert!(whole[0] < 0.2, "{whole:?}");
        // The regression placed at 240, its window from 50: the rise at 65 is out of reach.
        let local = around(&points, 50, 240, 260);
        assert_eq!((local[0].0, local.last().unwrap().0), (50, 430));
        let weights = deploy_weights(&local, &[200, 250]).unwrap();
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
