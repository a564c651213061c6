//! A synthetic fleet of resource time series, for benchmarking ingest and the scan
//! (`make bench-fleet`). Deterministic: the same flags write the same bytes.
//!
//! ```sh
//! cargo run --release -p joule-tests --example fleet -- --series 100000 --points 1000 \
//!     --seed 1 --out target/fleet/fleet.csv [--format csv|parquet]
//! ```
//!
//! Each series `f000042` (label `group=g0004`, 100 series a group) has its own level
//! (uniform in 10..1000) and 1% Gaussian noise around it; 3% of the series step by 0.4% to
//! 5% (up or down) at a random point between 10% and 90% of the window. Timestamps are Unix
//! seconds five minutes apart, from 2026-11-01T00:00:00Z; rows are written time-major (every
//! series at one time, then the next time), as a scrape-based export writes them. CSV columns:
//! `timestamp,series,value,group`; Parquet has the same columns (INT64, string, DOUBLE,
//! string; snappy, row groups of 1,048,576 rows).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;

use joule_sdk::stats::noise::Gaussian;
use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

const START: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z
const STEP: i64 = 300;
const STEPPED_SHARE: f64 = 0.03;
const ROW_GROUP: usize = 1 << 20;

struct Fleet {
    series: usize,
    points: usize,
    levels: Vec<f64>,
    /// Per series: (index of the first point after the step, relative change), if it steps.
    steps: Vec<Option<(usize, f64)>>,
    noise: Gaussian,
}

impl Fleet {
    fn new(series: usize, points: usize, seed: u64) -> Fleet {
        let mut draw = Gaussian(seed.max(1));
        let mut levels = Vec::with_capacity(series);
        let mut steps = Vec::with_capacity(series);
        for _ in 0..series {
            levels.push(10.0 + 990.0 * draw.uniform());
            let step = (draw.uniform() < STEPPED_SHARE).then(|| {
                let at = points / 10 + (draw.uniform() * (points * 8 / 10) as f64) as usize;
                let size = 0.004 + 0.046 * draw.uniform();
                let sign = if draw.uniform() < 0.5 { -1.0 } else { 1.0 };
                (at, sign * size)
            });
            steps.push(step);
        }
        Fleet {
            series,
            points,
            levels,
            steps,
            noise: Gaussian(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).max(1)),
        }
    }

    /// Series `s` at point `i`.
    fn value(&mut self, s: usize, i: usize) -> f64 {
        let mut level = self.levels[s];
        if let Some((at, change)) = self.steps[s]
            && i >= at
        {
            level *= 1.0 + change;
        }
        level * (1.0 + 0.01 * self.noise.normal())
    }

    /// Every row in file order: (timestamp, series, value).
    fn rows(&mut self, mut row: impl FnMut(i64, usize, f64)) {
        for i in 0..self.points {
            let t = START + STEP * i as i64;
            for s in 0..self.series {
                let v = self.value(s, i);
                row(t, s, v);
            }
        }
    }
}

fn write_csv(fleet: &mut Fleet, out: File) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, out);
    writeln!(w, "timestamp,series,value,group")?;
    let mut failed = None;
    fleet.rows(|t, s, v| {
        if failed.is_none()
            && let Err(e) = writeln!(w, "{t},f{s:06},{v:.4},g{:04}", s / 100)
        {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    w.flush()
}

fn write_parquet(fleet: &mut Fleet, out: File) -> Result<(), Box<dyn std::error::Error>> {
    let string = |name: &str| {
        Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
            .with_repetition(Repetition::REQUIRED)
            .with_logical_type(Some(LogicalType::String))
            .build()
            .map(Arc::new)
    };
    let schema = Type::group_type_builder("fleet")
        .with_fields(vec![
            Arc::new(
                Type::primitive_type_builder("timestamp", PhysicalType::INT64)
                    .with_repetition(Repetition::REQUIRED)
                    .build()?,
            ),
            string("series")?,
            Arc::new(
                Type::primitive_type_builder("value", PhysicalType::DOUBLE)
                    .with_repetition(Repetition::REQUIRED)
                    .build()?,
            ),
            string("group")?,
        ])
        .build()?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build();
    let mut writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))?;
    let names: Vec<ByteArray> = (0..fleet.series)
        .map(|s| ByteArray::from(format!("f{s:06}").as_str()))
        .collect();
    let groups: Vec<ByteArray> = (0..fleet.series)
        .map(|s| ByteArray::from(format!("g{:04}", s / 100).as_str()))
        .collect();
    let (mut ts, mut ss, mut vs, mut gs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut flush = |ts: &mut Vec<i64>,
                     ss: &mut Vec<ByteArray>,
                     vs: &mut Vec<f64>,
                     gs: &mut Vec<ByteArray>|
     -> Result<(), Box<dyn std::error::Error>> {
        let mut group = writer.next_row_group()?;
        let mut column = group.next_column()?.ok_or("no timestamp column")?;
        column.typed::<Int64Type>().write_batch(ts, None, None)?;
        column.close()?;
        let mut column = group.next_column()?.ok_or("no series column")?;
        column
            .typed::<ByteArrayType>()
            .write_batch(ss, None, None)?;
        column.close()?;
        let mut column = group.next_column()?.ok_or("no value column")?;
        column.typed::<DoubleType>().write_batch(vs, None, None)?;
        column.close()?;
        let mut column = group.next_column()?.ok_or("no group column")?;
        column
            .typed::<ByteArrayType>()
            .write_batch(gs, None, None)?;
        column.close()?;
        group.close()?;
        ts.clear();
        ss.clear();
        vs.clear();
        gs.clear();
        Ok(())
    };
    let mut failed = None;
    fleet.rows(|t, s, v| {
        ts.push(t);
        ss.push(names[s].clone());
        vs.push(v);
        gs.push(groups[s].clone());
        if ts.len() == ROW_GROUP
            && failed.is_none()
            && let Err(e) = flush(&mut ts, &mut ss, &mut vs, &mut gs)
        {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if !ts.is_empty() {
        flush(&mut ts, &mut ss, &mut vs, &mut gs)?;
    }
    writer.close()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut series = 1_000usize;
    let mut points = 1_000usize;
    let mut seed = 1u64;
    let mut out = None;
    let mut format = "csv".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--series" => series = value()?.parse()?,
            "--points" => points = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--out" => out = Some(value()?),
            "--format" => format = value()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let out = out.ok_or("--out FILE is required")?;
    let mut fleet = Fleet::new(series, points, seed);
    let file = File::create(&out)?;
    match format.as_str() {
        "csv" => write_csv(&mut fleet, file)?,
        "parquet" => write_parquet(&mut fleet, file)?,
        other => return Err(format!("unknown format {other} (csv or parquet)").into()),
    }
    let stepped = fleet.steps.iter().filter(|s| s.is_some()).count();
    eprintln!("{out}: {series} series x {points} points, {stepped} with a step");
    Ok(())
}
