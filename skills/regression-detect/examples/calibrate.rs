//! False alarms and recall of the detector at several `alpha` (`cargo run --release --example
//! calibrate -p regression-detect`): 100,000 clean series, 10,000 with a 0.4% step and 10,000
//! with a daily season, 1% noise.

use joule_sdk::stats::noise::Gaussian;
use regression_detect::detect::{Settings, detect};

fn main() {
    let mut noise = Gaussian(0x2545_f491_4f6c_dd1d);
    let mut normal = move || noise.normal();
    let mut series = |step: f64| -> Vec<f64> {
        (0..1000)
            .map(|i| 100.0 * (1.0 + if i >= 800 { step } else { 0.0 }) + normal())
            .collect()
    };
    let mut seasonal: Vec<Vec<f64>> = Vec::new();
    for i in 0..10_000 {
        let amplitude = 1.0 + 4.0 * (i as f64 / 10_000.0);
        let phase = (i * 37 % 288) as f64;
        let mut x = series(0.0);
        for (j, v) in x.iter_mut().enumerate() {
            *v += amplitude * (2.0 * std::f64::consts::PI * (j as f64 + phase) / 288.0).sin();
        }
        seasonal.push(x);
    }
    let clean: Vec<Vec<f64>> = (0..100_000).map(|_| series(0.0)).collect();
    let stepped: Vec<Vec<f64>> = (0..10_000).map(|_| series(0.004)).collect();
    let baselines: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("min-baseline shares, e.g. 0.5 0.7"))
        .collect();
    let baselines = if baselines.is_empty() {
        vec![Settings::default().min_baseline]
    } else {
        baselines
    };
    for min_baseline in baselines {
        println!("min-baseline {min_baseline}:");
        for alpha in [5e-4, 7.5e-4, 8.5e-4, 1e-3, 1.25e-3, 1.5e-3, 2e-3] {
            let settings = Settings {
                alpha,
                min_baseline,
                // Five-minute points: a day is 288 of them, as the skill works out from the times.
                calendar: vec![288, 2016],
                ..Settings::default()
            };
            let false_alarms = clean
                .iter()
                .filter(|x| detect(x, &settings).is_some())
                .count();
            let shifts: Vec<_> = stepped
                .iter()
                .filter_map(|x| detect(x, &settings))
                .collect();
            let found = shifts.len();
            let placed = shifts
                .iter()
                .filter(|s| s.index.abs_diff(800) <= 100)
                .count();
            let seasonal_alarms = seasonal
                .iter()
                .filter(|x| detect(x, &settings).is_some())
                .count();
            println!(
                "alpha {alpha}: {:.2} false alarms per 1,000 clean series, recall at 0.4% {:.1}% ({:.1}% placed within 100 points), \
             {:.2} per 1,000 daily-seasonal series (1-5% amplitude)",
                false_alarms as f64 / 100.0,
                found as f64 / 100.0,
                placed as f64 / 100.0,
                seasonal_alarms as f64 / 10.0
            );
        }
    }
}
