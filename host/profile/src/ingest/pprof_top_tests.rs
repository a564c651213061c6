//! Agreement with `pprof -top` on real profiles whose answers pprof gave
//! (`tests/fixtures/pprof-top/`, captured by its `regenerate.sh`): every function pprof lists,
//! with its flat and cumulative values to pprof's printed precision, the same number of them,
//! and the same total. The profiles carry what a reader can get wrong: functions with no flat
//! time (`sample.cpu`), 23,038 functions (`large.cpu`), duplicate function records
//! (`datadog-heap`, @datadog/pprof's `(anonymous)`), unsymbolized locations (`go-legacy-heap`,
//! pprof's own conversion of a legacy heap profile) and negative values with base samples
//! (`go-diff`, `pprof -diff_base`).

use std::collections::HashMap;
use std::path::PathBuf;

use super::load;
use crate::model::Order;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel)
}

/// A value as pprof prints it (`0.15s`, `512.02kB`, `-0.01s`, `1234`), in the profile's unit
/// (`nanoseconds`, `bytes` or a count), with the error its rounding allows.
fn pprof_value(text: &str, unit: &str) -> (f64, f64) {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let value: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("pprof value {text:?}"));
    let digits = number.split_once('.').map_or(0, |(_, d)| d.len());
    let scale = match (unit, suffix) {
        (_, "") => 1.0,
        ("nanoseconds", "ns") => 1.0,
        ("nanoseconds", "us") => 1e3,
        ("nanoseconds", "ms") => 1e6,
        ("nanoseconds", "s") => 1e9,
        ("nanoseconds", "mins") => 60e9,
        ("nanoseconds", "hrs") => 3600e9,
        ("bytes", "B") => 1.0,
        ("bytes", "kB") => 1024.0,
        ("bytes", "MB") => 1024.0 * 1024.0,
        ("bytes", "GB") => 1024.0 * 1024.0 * 1024.0,
        _ => panic!("pprof unit {suffix:?} for {unit}"),
    };
    (value * scale, 0.51 * 10f64.powi(-(digits as i32)) * scale)
}

/// pprof's `-top` text: the total, and each function's flat and cumulative values.
type Top = ((f64, f64), Vec<(String, (f64, f64), (f64, f64))>);

fn pprof_top(text: &str, unit: &str) -> Top {
    let total = text
        .lines()
        .find_map(|l| l.strip_prefix("Showing nodes accounting for "))
        .and_then(|l| l.rsplit_once(" of "))
        .and_then(|(_, t)| t.strip_suffix(" total"))
        .map(|t| pprof_value(t, unit))
        .expect("pprof's total line");
    let rows = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat  flat%"))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let name = fields[5..].join(" ");
            // pprof marks functions seen only (or partly) inlined; the name is the function's.
            let name = name
                .strip_suffix(" (inline)")
                .or_else(|| name.strip_suffix(" (partial-inline)"))
                .unwrap_or(&name)
                .to_string();
            (
                name,
                pprof_value(fields[0], unit),
                pprof_value(fields[3], unit),
            )
        })
        .collect();
    (total, rows)
}

fn close(joule: i64, (pprof, error): (f64, f64)) -> bool {
    (joule as f64 - pprof).abs() <= error + 1e-9
}

#[test]
fn top_agrees_with_pprof_on_real_profiles() {
    for (profile, answer, complete) in [
        (
            "pprof/sample.cpu.pb.gz",
            "pprof-top/sample.cpu.top.txt",
            true,
        ),
        // pprof's answer lists the first 400 of 23,038.
        (
            "pprof/large.cpu.pb.gz",
            "pprof-top/large.cpu.top.txt",
            false,
        ),
        (
            "pprof-top/datadog-time.pb.gz",
            "pprof-top/datadog-time.top.txt",
            true,
        ),
        (
            "pprof-top/datadog-heap.pb.gz",
            "pprof-top/datadog-heap.top.txt",
            true,
        ),
        (
            "pprof-top/go-legacy-heap.pb.gz",
            "pprof-top/go-legacy-heap.top.txt",
            true,
        ),
        ("pprof-top/go-diff.pb.gz", "pprof-top/go-diff.top.txt", true),
    ] {
        let p = load(&fixture(profile)).unwrap();
        let t = p.default_sample_type;
        let unit = p.str(p.sample_types[t].unit).to_string();
        let text = std::fs::read_to_string(fixture(answer)).unwrap();
        let (total, rows) = pprof_top(&text, &unit);
        assert!(
            close(p.totals()[t], total),
            "{profile}: total {} where pprof has {total:?}",
            p.totals()[t]
        );
        let ours = p.top(t, Order::BySelf, usize::MAX, |_| true);
        let mut by_name: HashMap<&str, (i64, i64)> = HashMap::new();
        for r in &ours {
            let name = p.function_name(r.function);
            assert!(
                by_name
                    .insert(name, (r.self_value, r.total_value))
                    .is_none(),
                "{profile}: two functions named {name:?} (pprof has one)"
            );
        }
        if complete {
            assert_eq!(ours.len(), rows.len(), "{profile}: functions listed");
        }
        for (name, flat, cum) in &rows {
            let Some(&(f, c)) = by_name.get(name.as_str()) else {
                panic!("{profile}: pprof lists {name:?}, Joule does not");
            };
            assert!(
                close(f, *flat),
                "{profile}: {name} flat {f}, pprof {flat:?}"
            );
            assert!(close(c, *cum), "{profile}: {name} cum {c}, pprof {cum:?}");
        }
    }
}
