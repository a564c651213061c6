//! False alarms, recall and placement of the detector at several `alpha`, for a one-off scan
//! and a periodic one (`cargo run --release --example calibrate -p regression-detect [--
//! ALPHA...]`). Series of 1,000 five-minute points around 100 with 1% Gaussian noise:
//!
//! - 100,000 clean; 10,000 with a daily season of 1-5%; 10,000 with runs of spikes (two to
//!   four bursts of 1-5 points, 5-50% high, a few points apart);
//! - 10,000 with a 0.4% step at 800 (the old evaluation's place), 10,000 with a 0.4% step
//!   anywhere in 100..900, 10,000 with a 1.6% step anywhere in 50..950;
//! - 5,000 with two steps (0.6-2%, either way, at least 100 points apart);
//! - 5,000 pairs of siblings where 1-5% of cost moved from one to the other, the fall up to
//!   five points off the rise.
//!
//! A step counts as found ("placed") when a regression is reported within 100 points of it
//! (within 10 for the 1.6% steps); an alarm is any regression reported on a series without a
//! rise (and, for the double steps, any regression more than 100 points from every rise,
//! searched or not).
//! The periodic scan searches the most recent 30% (`since = 70%`); its step rows count only
//! steps in that part (at 800, and the anywhere-steps that fall at or after 700).

use joule_sdk::stats::noise::Gaussian;
use regression_detect::detect::{
    Direction, Settings, Shift, Since, changes, classify, regressions,
};

const N: usize = 1000;

/// Steps (index, relative size) and the series carrying them.
type Stepped = (Vec<(usize, f64)>, Vec<f64>);

struct Fleet {
    noise: Gaussian,
}

impl Fleet {
    fn normal(&mut self) -> f64 {
        self.noise.normal()
    }

    fn uniform(&mut self) -> f64 {
        self.noise.uniform()
    }

    /// A whole number in `low..high`.
    fn between(&mut self, low: usize, high: usize) -> usize {
        low + ((self.uniform() * (high - low) as f64) as usize).min(high - low - 1)
    }

    /// 1% noise around 100, with relative `steps` (index, size) added.
    fn series(&mut self, steps: &[(usize, f64)]) -> Vec<f64> {
        (0..N)
            .map(|i| {
                let level: f64 = steps.iter().filter(|s| i >= s.0).map(|s| s.1).sum();
                100.0 * (1.0 + level) + self.normal()
            })
            .collect()
    }
}

/// Rate in percent of `hits` among `n`.
fn percent(hits: usize, n: usize) -> f64 {
    100.0 * hits as f64 / n.max(1) as f64
}

fn main() {
    let mut fleet = Fleet {
        noise: Gaussian(0x2545_f491_4f6c_dd1d),
    };
    let clean: Vec<Vec<f64>> = (0..100_000).map(|_| fleet.series(&[])).collect();
    let seasonal: Vec<Vec<f64>> = (0..10_000)
        .map(|i| {
            let amplitude = 1.0 + 4.0 * (i as f64 / 10_000.0);
            let phase = (i * 37 % 288) as f64;
            let mut x = fleet.series(&[]);
            for (j, v) in x.iter_mut().enumerate() {
                *v += amplitude * (2.0 * std::f64::consts::PI * (j as f64 + phase) / 288.0).sin();
            }
            x
        })
        .collect();
    let spiky: Vec<Vec<f64>> = (0..10_000)
        .map(|_| {
            let mut x = fleet.series(&[]);
            let mut at = fleet.between(20, N - 60);
            for _ in 0..fleet.between(2, 5) {
                let width = fleet.between(1, 6);
                let height = 0.05 + 0.45 * fleet.uniform();
                for v in x.iter_mut().skip(at).take(width) {
                    *v *= 1.0 + height;
                }
                at += width + fleet.between(3, 12);
            }
            x
        })
        .collect();
    let at_800: Vec<Vec<f64>> = (0..10_000).map(|_| fleet.series(&[(800, 0.004)])).collect();
    let anywhere: Vec<(usize, Vec<f64>)> = (0..10_000)
        .map(|_| {
            let at = fleet.between(100, 901);
            (at, fleet.series(&[(at, 0.004)]))
        })
        .collect();
    let large: Vec<(usize, Vec<f64>)> = (0..10_000)
        .map(|_| {
            let at = fleet.between(50, 951);
            (at, fleet.series(&[(at, 0.016)]))
        })
        .collect();
    let double: Vec<Stepped> = (0..5_000)
        .map(|_| {
            let a = fleet.between(50, 850);
            let b = fleet.between(a + 100, 951);
            let size = |f: &mut Fleet| {
                let s = 0.006 + 0.014 * f.uniform();
                if f.uniform() < 0.5 { -s } else { s }
            };
            let steps = vec![(a, size(&mut fleet)), (b, size(&mut fleet))];
            let x = fleet.series(&steps);
            (steps, x)
        })
        .collect();
    let shifted: Vec<(Vec<f64>, Vec<f64>)> = (0..5_000)
        .map(|_| {
            let at = fleet.between(100, 901);
            let moved = 1.0 + 4.0 * fleet.uniform();
            let off = fleet.between(0, 6);
            let mut up = fleet.series(&[]);
            let mut down = fleet.series(&[]);
            for v in &mut up[at..] {
                *v += moved;
            }
            for v in &mut down[(at + off).min(N)..] {
                *v -= moved;
            }
            (up, down)
        })
        .collect();

    let alphas: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("alpha values, e.g. 0.001 0.002"))
        .collect();
    let alphas = if alphas.is_empty() {
        vec![5e-4, 1e-3, 2e-3]
    } else {
        alphas
    };
    println!(
        "| scan | alpha | false alarms per 1,000 clean | improvements per 1,000 clean | \
         seasonal | spike runs | cost shifts | 0.4% at 800 within 100 | 0.4% anywhere within \
         100 | 1.6% anywhere within 10 | double steps: both within 100 | double steps: extra \
         regressions per 1,000 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (scan, since) in [("one-off", Since::Start), ("since 70%", Since::Share(0.7))] {
        let first = since.index(N);
        for &alpha in &alphas {
            let settings = Settings {
                alpha,
                since,
                // Five-minute points: a day is 288 of them, as the skill works out from the
                // times.
                calendar: vec![288, 2016],
                ..Settings::default()
            };
            let both = Settings {
                direction: Direction::Both,
                ..settings.clone()
            };
            let alarms = |set: &[Vec<f64>]| {
                set.iter()
                    .filter(|x| !regressions(x, &settings).is_empty())
                    .count()
            };
            let near = |found: &[Shift], at: usize, within: usize| {
                found.iter().any(|s| s.index.abs_diff(at) <= within)
            };
            let clean_alarms = alarms(&clean);
            let clean_improvements = clean
                .iter()
                .filter(|x| {
                    let shifts = changes(x, &settings);
                    classify(&shifts, settings.direction)
                        .iter()
                        .any(|(role, _)| *role == regression_detect::detect::Role::Improvement)
                })
                .count();
            // A cost shift raises an alarm when the rise is reported and the fall is not
            // found near it (the skill then cannot offset it).
            let shift_alarms = shifted
                .iter()
                .filter(|(up, down)| {
                    let rises = regressions(up, &settings);
                    let falls = changes(down, &both);
                    rises
                        .iter()
                        .any(|r| !falls.iter().any(|f| f.index.abs_diff(r.index) <= 25))
                })
                .count();
            let placed_800 = at_800
                .iter()
                .filter(|x| near(&regressions(x, &settings), 800, 100))
                .count();
            let in_scope = |at: usize| at >= first;
            let any: Vec<&(usize, Vec<f64>)> =
                anywhere.iter().filter(|(at, _)| in_scope(*at)).collect();
            let placed_any = any
                .iter()
                .filter(|(at, x)| near(&regressions(x, &settings), *at, 100))
                .count();
            let big: Vec<&(usize, Vec<f64>)> =
                large.iter().filter(|(at, _)| in_scope(*at)).collect();
            let placed_big = big
                .iter()
                .filter(|(at, x)| near(&regressions(x, &settings), *at, 10))
                .count();
            let (mut both_placed, mut doubles, mut extra) = (0, 0, 0);
            for (steps, x) in &double {
                let found = regressions(x, &settings);
                let rises: Vec<usize> = steps
                    .iter()
                    .filter(|s| s.1 > 0.0 && in_scope(s.0))
                    .map(|s| s.0)
                    .collect();
                if rises.len() == steps.iter().filter(|s| in_scope(s.0)).count()
                    && !rises.is_empty()
                {
                    doubles += 1;
                    both_placed += usize::from(rises.iter().all(|&at| near(&found, at, 100)));
                }
                // Any rise, searched or not: a rise just before `since` is reported at its
                // start, a few points late.
                extra += found
                    .iter()
                    .filter(|f| {
                        !steps
                            .iter()
                            .any(|s| s.1 > 0.0 && f.index.abs_diff(s.0) <= 100)
                    })
                    .count();
            }
            println!(
                "| {scan} | {alpha} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1}% | {:.1}% \
                 (of {}) | {:.2}% (of {}) | {:.1}% (of {doubles}) | {:.1} |",
                clean_alarms as f64 / 100.0,
                clean_improvements as f64 / 100.0,
                alarms(&seasonal) as f64 / 10.0,
                alarms(&spiky) as f64 / 10.0,
                shift_alarms as f64 / 5.0,
                percent(placed_800, at_800.len()),
                percent(placed_any, any.len()),
                any.len(),
                percent(placed_big, big.len()),
                big.len(),
                percent(both_placed, doubles),
                extra as f64 / 5.0,
            );
        }
    }
}
