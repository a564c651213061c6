//! Native speed of the detector on a fleet CSV (`timestamp,series,value,...`, series
//! contiguous), e.g. the one `make eval-defense` writes: `cargo run --release --example fleet
//! -p regression-detect -- target/eval-defense/fleet.csv`. Prints the time a series, by the
//! kind of series (the name up to its first `-`).

use std::collections::BTreeMap;
use std::time::Instant;

use regression_detect::detect::{Settings, detect};

fn main() {
    let path = std::env::args().nth(1).expect("usage: fleet FILE.csv");
    let text = std::fs::read_to_string(&path).expect("read the fleet");
    let mut series: Vec<(String, Vec<f64>)> = Vec::new();
    for line in text.lines().skip(1) {
        let mut fields = line.split(',');
        let (_, name, value) = (fields.next(), fields.next(), fields.next());
        let (Some(name), Some(value)) = (name, value.and_then(|v| v.parse::<f64>().ok())) else {
            continue;
        };
        match series.last_mut() {
            Some((last, values)) if last == name => values.push(value),
            _ => series.push((name.to_string(), vec![value])),
        }
    }
    let settings = Settings {
        calendar: vec![288, 2016],
        direction: regression_detect::detect::Direction::Both,
        ..Settings::default()
    };
    let mut by_kind: BTreeMap<String, (usize, f64, usize)> = BTreeMap::new();
    let all = Instant::now();
    for (name, values) in &series {
        let t = Instant::now();
        let found = detect(values, &settings).is_some();
        let took = t.elapsed().as_secs_f64();
        let kind = name.split('-').next().unwrap_or(name).to_string();
        let entry = by_kind.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += took;
        entry.2 += usize::from(found);
    }
    let total = all.elapsed().as_secs_f64();
    for (kind, (n, took, found)) in &by_kind {
        println!(
            "{kind:>16}: {n:>5} series, {:>7.1} us a series, {found} shifts",
            took / *n as f64 * 1e6
        );
    }
    println!(
        "all: {} series, {:.1} us a series",
        series.len(),
        total / series.len() as f64 * 1e6
    );
}
