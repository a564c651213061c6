//! The most any detector can find of a small step whose place is unknown, at a given false-alarm
//! rate: the Neyman-Pearson bound beside the calibration (`cargo run --release --example bound
//! -p regression-detect [-- SIZE ALPHA NULL_DRAWS]`, defaults 0.4% 0.001 500000).
//!
//! Series of 1,000 points in 1% Gaussian noise, as in `calibrate`. The alternative is a step of
//! exactly SIZE at a place drawn uniformly from a range. Of all tests that raise at most ALPHA
//! false alarms on clean series, the most powerful against that alternative is its likelihood
//! ratio (Neyman-Pearson), and the test may be told everything a real detector is not: the noise
//! level, the step's size and the range it falls in. Only the level of the series is unknown:
//! the ratio is that of the points less their mean, the most powerful of the tests a change of
//! level alone does not move, and (Hunt-Stein) no test does better at every level. With the
//! noise as the unit and `d` the size, the ratio for a step at `t` of `n` points is
//! `exp(d T(t) - d^2 t (n - t) / 2n)`, `T(t)` the sum of the centred points from `t` on; the
//! mixture averages it over the range. Its threshold is the `1 - ALPHA` quantile over
//! NULL_DRAWS clean series; its power is the share of stepped series above it. No detector
//! (that must also place the step, estimate the noise and hold for other sizes) can find more.
//!
//! For reference, the scan statistic with the noise known (the largest standardised `T(t)`
//! over the range, one-sided) is thresholded and scored on the same draws: that is the test
//! `regression-detect` approximates, which pays for not knowing the size.

use joule_sdk::stats::noise::Gaussian;
use joule_sdk::stats::{normal_cdf, quantile};

const N: usize = 1000;
/// The place ranges scored: `calibrate`'s (100..900), `make eval-defense`'s (50..950), and
/// the part of those a periodic scan (`since = 70%`) counts in `calibrate` (700..900).
const RANGES: [(usize, usize); 3] = [(100, 900), (50, 950), (700, 900)];
const STEPPED: usize = 20_000;

/// The two statistics of one series for each range: (log mixture ratio, max standardised sum).
fn statistics(x: &[f64], d: f64) -> [(f64, f64); 3] {
    let mean = x.iter().sum::<f64>() / N as f64;
    // suffix[t] = sum over i >= t of (x[i] - mean)
    let mut suffix = vec![0.0; N + 1];
    for i in (0..N).rev() {
        suffix[i] = suffix[i + 1] + x[i] - mean;
    }
    RANGES.map(|(low, high)| {
        let terms: Vec<(f64, f64)> = (low..=high)
            .map(|t| {
                let v = (t * (N - t)) as f64 / N as f64;
                (d * suffix[t] - d * d * v / 2.0, suffix[t] / v.sqrt())
            })
            .collect();
        let top = terms.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = terms.iter().map(|p| (p.0 - top).exp()).sum();
        let mixture = top + (sum / terms.len() as f64).ln();
        let scan = terms.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        [mixture, scan].into()
    })
}

/// Statistics of `count` series drawn on `threads` threads; a step of `d` at a uniform place in
/// the range when `stepped` (the place is drawn per range, so each range's column has its own).
fn draw(count: usize, d: f64, stepped: bool, seed: u64) -> Vec<[(f64, f64); 3]> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = count.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|k| {
            std::thread::spawn(move || {
                let mut noise = Gaussian(seed.wrapping_mul(1_000_003).wrapping_add(k as u64 + 1));
                let mut out = Vec::with_capacity(per);
                let mut x = vec![0.0; N];
                for _ in 0..per {
                    for v in x.iter_mut() {
                        *v = noise.normal();
                    }
                    if !stepped {
                        out.push(statistics(&x, d));
                        continue;
                    }
                    // One stepped series per range, each placed within that range.
                    let mut row = [(0.0, 0.0); 3];
                    for (r, (low, high)) in RANGES.iter().enumerate() {
                        let at = low
                            + ((noise.uniform() * (high - low + 1) as f64) as usize)
                                .min(high - low);
                        let mut y = x.clone();
                        for v in &mut y[at..] {
                            *v += d;
                        }
                        row[r] = statistics(&y, d)[r];
                    }
                    out.push(row);
                }
                out
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("a drawing thread panicked"))
        .take(count)
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: f64| {
        args.get(i)
            .map(|a| a.trim_end_matches('%').parse::<f64>())
            .transpose()
            .unwrap_or_else(|e| panic!("argument {}: {e}", i + 1))
            .unwrap_or(default)
    };
    let size_percent = number(0, 0.4);
    let alpha = number(1, 0.001);
    let nulls = number(2, 500_000.0) as usize;
    // 1% noise around 100: a step of SIZE percent is SIZE noise units.
    let d = size_percent;
    let null = draw(nulls, d, false, 1);
    let stepped = draw(STEPPED, d, true, 2);
    println!(
        "{size_percent}% steps in 1% noise, 1,000 points, at most {alpha} false alarms a series \
         ({nulls} clean and {STEPPED} stepped series a range)"
    );
    for (r, (low, high)) in RANGES.iter().enumerate() {
        let mixture = quantile(
            &null.iter().map(|s| s[r].0).collect::<Vec<_>>(),
            1.0 - alpha,
        );
        let scan = quantile(
            &null.iter().map(|s| s[r].1).collect::<Vec<_>>(),
            1.0 - alpha,
        );
        let found = |above: &dyn Fn(&(f64, f64)) -> bool| {
            stepped.iter().filter(|s| above(&s[r])).count() as f64 * 100.0 / STEPPED as f64
        };
        println!(
            "  anywhere in {low}..{high}: most powerful test (size, range and noise known) finds \
             {:.1}%; scan statistic (noise known, z > {scan:.2}) {:.1}%",
            found(&|s| s.0 > mixture),
            found(&|s| s.1 > scan),
        );
    }
    // At a known place the most powerful test is the one-sided z test of that split.
    let z = d * ((800 * 200) as f64 / N as f64).sqrt();
    println!(
        "  at point 800, known: z test finds {:.1}% (expected z {z:.2})",
        100.0 * normal_cdf(z - normal_quantile(1.0 - alpha))
    );
}

/// The `p` quantile of the standard normal, by bisection of its distribution function.
fn normal_quantile(p: f64) -> f64 {
    let (mut low, mut high) = (-10.0, 10.0);
    for _ in 0..100 {
        let mid = (low + high) / 2.0;
        if normal_cdf(mid) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    (low + high) / 2.0
}
