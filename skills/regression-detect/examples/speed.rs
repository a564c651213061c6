//! Native speed of the detector on 1% noise series of 1,000 points (`cargo run --release
//! --example speed -p regression-detect`): how long one series takes, by kind.

use std::time::Instant;

use joule_sdk::stats::noise::Gaussian;
use regression_detect::detect::{Settings, detect};

fn main() {
    let mut noise = Gaussian(0x9e37_79b9_7f4a_7c15);
    let mut normal = move || noise.normal();
    let clean: Vec<Vec<f64>> = (0..2000)
        .map(|_| (0..1000).map(|_| 100.0 + normal()).collect())
        .collect();
    let settings = Settings {
        calendar: vec![288, 2016],
        ..Settings::default()
    };
    let t = Instant::now();
    let found = clean
        .iter()
        .filter(|x| detect(x, &settings).is_some())
        .count();
    let per = t.elapsed().as_secs_f64() / clean.len() as f64;
    println!("clean: {:.1} us a series ({found} found)", per * 1e6);
    let stepped: Vec<Vec<f64>> = clean
        .iter()
        .map(|x| {
            x.iter()
                .enumerate()
                .map(|(i, v)| if i >= 800 { v * 1.01 } else { *v })
                .collect()
        })
        .collect();
    let t = Instant::now();
    let found = stepped
        .iter()
        .filter(|x| detect(x, &settings).is_some())
        .count();
    let per = t.elapsed().as_secs_f64() / stepped.len() as f64;
    println!("1% step: {:.1} us a series ({found} found)", per * 1e6);
}
