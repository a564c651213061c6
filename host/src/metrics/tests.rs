//! Metric readers over the hand-written fixtures in `tests/fixtures/metrics/` (see its
//! README.md), the date-time arithmetic, and share series from real profiles.

use std::io::Write;
use std::path::{Path, PathBuf};

use joule_profile::model::{Format, Order, Profile, ProfileBuilder};

use super::{
    MetricSet, MetricsError, Point, TimeFormat, days_from_civil, format_datetime, from_profiles,
    load, load_bytes, parse_datetime, profile_time,
};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel)
}

/// A metrics fixture read from memory under its bare file name, so messages can be compared
/// whole.
fn read_fixture(name: &str) -> Result<MetricSet, MetricsError> {
    let bytes = std::fs::read(fixture(&format!("metrics/{name}"))).unwrap();
    load_bytes(name, &bytes)
}

fn points(pairs: &[(i64, f64)]) -> Vec<Point> {
    pairs.iter().map(|&(t, v)| Point { t, v }).collect()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A series as compared: name, labels, points.
type Seen<'a> = (&'a str, Vec<(String, String)>, Vec<Point>);

/// Every series of `set`.
fn summary(set: &MetricSet) -> Vec<Seen<'_>> {
    set.series
        .iter()
        .map(|s| (s.name.as_str(), s.labels.clone(), s.points().collect()))
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn csv_with_integer_times_groups_sorts_and_labels() {
    let set = load(&fixture("metrics/cpu-hosts.csv")).unwrap();
    assert!(set.source.ends_with("cpu-hosts.csv"), "{}", set.source);
    assert_eq!(set.time_format, TimeFormat::Integer);
    // Rows out of order are fine; a series whose own clock goes back is sorted, with a warning.
    assert_eq!(set.warnings.len(), 1, "{:?}", set.warnings);
    assert!(
        set.warnings[0].ends_with(
            "cpu-hosts.csv:line 7, field timestamp: series cpu{host=b}: time 1700000000 comes \
             after 1700000060 (line 2); the clock went back, so its points are sorted by time"
        ),
        "{:?}",
        set.warnings
    );
    let summary = summary(&set);
    assert_eq!(
        summary,
        [
            (
                "cpu",
                labels(&[("host", "a")]),
                points(&[(1_700_000_000, 0.25), (1_700_000_060, 0.75)])
            ),
            (
                "cpu",
                labels(&[("host", "b")]),
                points(&[(1_700_000_000, 0.40), (1_700_000_060, 0.50)])
            ),
            (
                "mem",
                labels(&[("host", "a")]),
                points(&[(1_700_000_000, 1024.0), (1_700_000_120, 2048.5)])
            ),
        ]
    );
    assert_eq!(set.point_count(), 6);
    assert_eq!(set.find("mem").unwrap().len(), 2);
    assert_eq!(set.find("cpu").unwrap().labels, labels(&[("host", "a")]));
    assert!(set.find("disk").is_none());
    assert_eq!(set.time_format.show(1_700_000_060), "1700000060");
}

#[test]
fn csv_with_rfc3339_times_any_column_order_and_case() {
    let set = read_fixture("latency-rfc3339.csv").unwrap();
    assert_eq!(set.time_format, TimeFormat::Rfc3339);
    assert_eq!(set.warnings, Vec::<String>::new());
    assert_eq!(set.series.len(), 2);
    let eu = &set.series[0];
    assert_eq!(eu.name, "p99_ms");
    assert_eq!(eu.labels, labels(&[("Region", "eu")]));
    // 12:00Z; 13:35+01:30 = 12:05Z; `2026-11-01 12:10:00` without a zone is UTC.
    assert_eq!(
        eu.points().collect::<Vec<_>>(),
        points(&[
            (1_793_534_400, 12.5),
            (1_793_534_700, 13.0),
            (1_793_535_000, 15.25)
        ])
    );
    let us = &set.series[1];
    assert_eq!(us.labels, labels(&[("Region", "us")]));
    // The fraction of a second is dropped.
    assert_eq!(
        us.points().collect::<Vec<_>>(),
        points(&[(1_793_534_400, 9.0)])
    );
    assert_eq!(
        set.time_format.show(eu.point(1).unwrap().t),
        "2026-11-01T12:05:00Z"
    );
}

#[test]
fn csv_bad_rows_are_warned_by_line_and_field_and_skipped() {
    let set = read_fixture("bad-rows.csv").unwrap();
    assert_eq!(set.series.len(), 1);
    assert_eq!(set.series[0].labels, labels(&[("host", "a")]));
    // Line 10 repeats line 2's time: the last value wins.
    assert_eq!(
        set.series[0].points().collect::<Vec<_>>(),
        points(&[(100, 2.0), (107, 3.0)])
    );
    assert_eq!(
        set.warnings,
        [
            "bad-rows.csv:line 3: 3 fields where the header has 4; row skipped",
            "bad-rows.csv:line 4, field value: `abc` is not a number; row skipped",
            "bad-rows.csv:line 5, field value: empty value; row skipped",
            "bad-rows.csv:line 6, field value: `NaN` is not a finite number; row skipped",
            "bad-rows.csv:line 7, field value: `inf` is not a finite number; row skipped",
            "bad-rows.csv:line 8, field timestamp: `yesterday` is neither an integer nor an RFC 3339 date-time (like 2026-11-01T12:00:00Z); row skipped",
            "bad-rows.csv:line 9, field series: empty series name; row skipped",
            "bad-rows.csv:line 10: series cpu{host=a} has a second value at time 100 (the one before on line 2); keeping this one",
            "bad-rows.csv:line 12, field timestamp: empty timestamp; row skipped",
        ]
    );
}

#[test]
fn csv_rows_in_another_timestamp_format_are_skipped_naming_the_line() {
    let set = read_fixture("mixed-time.csv").unwrap();
    assert_eq!(set.time_format, TimeFormat::Integer);
    assert_eq!(set.point_count(), 2);
    assert_eq!(
        set.warnings,
        [
            "mixed-time.csv:line 4, field timestamp: timestamp is an RFC 3339 date-time but the \
         file's timestamps are integers (from line 2); row skipped"
        ]
    );
}

#[test]
fn csv_header_problems_are_errors_on_line_1() {
    let e = read_fixture("missing-value.csv").unwrap_err();
    assert_eq!(
        e.to_string(),
        "missing-value.csv:line 1: the header has no `value` column (it has: timestamp, \
         series, val); `timestamp`, `series` and `value` are required"
    );
    let e = load_bytes("dup.csv", b"timestamp,series,value,Series\n1,a,1,b\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "dup.csv:line 1, field Series: column `Series` appears twice in the header (columns 2 and 4)"
    );
    let e = load_bytes("blank.csv", b"timestamp,,series,value\n1,,a,1\n").unwrap_err();
    assert_eq!(e.place.as_deref(), Some("line 1, column 2"));
    let e = load_bytes("header-only.csv", b"timestamp,series,value\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "header-only.csv:line 1: the header is not followed by any row"
    );
}

#[test]
fn no_usable_row_is_an_error_naming_the_first_bad_line() {
    let e = read_fixture("all-bad.csv").unwrap_err();
    assert_eq!(
        e.to_string(),
        "all-bad.csv:line 2, field value: no usable row (2 skipped); the first: `x` is not a number"
    );
    let e = load_bytes("bad.jsonl", b"{\"series\": \"cpu\"}\n\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad.jsonl:line 1: no usable row (1 skipped); the first: no `timestamp` field"
    );
}

#[test]
fn csv_quoting_crlf_and_bom_keep_line_numbers() {
    let data = b"\xEF\xBB\xBFtimestamp,series,value,cmd\r\n1,cpu,2,\"a,b\"\r\n2,cpu,x,\"a,b\"\r\n\r\n3, cpu , 4 ,\"a,b\"\r\n4,cpu,5,\"two\r\nlines\"\r\n5,cpu,,\"a,b\"\r\n";
    let set = load_bytes("quoted.csv", data).unwrap();
    assert_eq!(set.series.len(), 2);
    assert_eq!(set.series[0].name, "cpu");
    assert_eq!(set.series[0].labels, labels(&[("cmd", "a,b")]));
    assert_eq!(
        set.series[0].points().collect::<Vec<_>>(),
        points(&[(1, 2.0), (3, 4.0)])
    );
    assert_eq!(set.series[1].labels, labels(&[("cmd", "two\r\nlines")]));
    assert_eq!(
        set.warnings,
        [
            "quoted.csv:line 3, field value: `x` is not a number; row skipped",
            "quoted.csv:line 8, field value: empty value; row skipped",
        ]
    );
}

#[test]
fn json_lines_read_labels_from_the_object_and_top_level_strings() {
    let set = read_fixture("cpu.jsonl").unwrap();
    assert_eq!(set.time_format, TimeFormat::Integer);
    assert_eq!(set.warnings, Vec::<String>::new());
    let summary = summary(&set);
    assert_eq!(
        summary,
        [
            (
                "cpu",
                labels(&[("host", "a"), ("unit", "cores")]),
                points(&[(1_700_000_000, 0.5), (1_700_000_060, 0.75)])
            ),
            (
                "cpu",
                labels(&[("host", "b"), ("unit", "cores")]),
                points(&[(1_700_000_000, 0.25)])
            ),
            (
                "rss",
                labels(&[("host", "a"), ("huge", "false"), ("numa", "3")]),
                points(&[(1_700_000_000, 1_048_576.0)])
            ),
        ]
    );
}

#[test]
fn json_lines_with_date_times() {
    let data = b"{\"timestamp\": \"2026-11-01T12:00:00Z\", \"series\": \"cpu\", \"value\": 1}\n\
                 {\"timestamp\": \"2026-11-01T07:05:00-05:00\", \"series\": \"cpu\", \"value\": 2}\n";
    let set = load_bytes("dates.jsonl", data).unwrap();
    assert_eq!(set.time_format, TimeFormat::Rfc3339);
    assert_eq!(
        set.series[0].points().collect::<Vec<_>>(),
        points(&[(1_793_534_400, 1.0), (1_793_534_700, 2.0)])
    );
}

#[test]
fn json_lines_bad_lines_are_warned_by_line_and_field_and_skipped() {
    let set = read_fixture("bad.jsonl").unwrap();
    assert_eq!(set.series.len(), 1);
    assert_eq!(
        set.series[0].points().collect::<Vec<_>>(),
        points(&[(1, 1.0), (10, 2.0)])
    );
    assert_eq!(
        set.warnings,
        [
            "bad.jsonl:line 2, column 42: not JSON (EOF while parsing a value); row skipped",
            "bad.jsonl:line 3: not a JSON object; row skipped",
            "bad.jsonl:line 4: no `timestamp` field; row skipped",
            "bad.jsonl:line 5: no `series` field; row skipped",
            "bad.jsonl:line 6, field value: `fast` is not a number; row skipped",
            "bad.jsonl:line 7, field value: `NaN` is not a finite number; row skipped",
            "bad.jsonl:line 8, field timestamp: timestamp 6.5 is not an integer that fits in 64 bits; row skipped",
            "bad.jsonl:line 9, field labels.host: label value [\"a\"] is not a string, number or boolean; row skipped",
            "bad.jsonl:line 10, field host: label `host` is given both in `labels` and as a field; row skipped",
            "bad.jsonl:line 11, field value: empty value; row skipped",
        ]
    );
}

#[test]
fn json_lines_rows_in_another_timestamp_format_are_skipped() {
    let set = read_fixture("mixed-time.jsonl").unwrap();
    assert_eq!(set.time_format, TimeFormat::Rfc3339);
    assert_eq!(
        set.warnings,
        [
            "mixed-time.jsonl:line 2, field timestamp: timestamp is an integer but the file's \
         timestamps are RFC 3339 date-times (from line 1); row skipped"
        ]
    );
}

#[test]
fn gzip_is_undone_for_files_and_bytes() {
    let plain = read_fixture("cpu.jsonl").unwrap();
    let gz = load(&fixture("metrics/cpu.jsonl.gz")).unwrap();
    assert_eq!(gz.series, plain.series);
    assert_eq!(gz.time_format, plain.time_format);

    let csv = std::fs::read(fixture("metrics/cpu-hosts.csv")).unwrap();
    let from_gz = load_bytes("cpu-hosts.csv.gz", &gzip(&csv)).unwrap();
    assert_eq!(
        from_gz.series,
        load_bytes("cpu-hosts.csv", &csv).unwrap().series
    );
}

#[test]
fn broken_gzip_names_the_compressed_offset() {
    let gz = gzip(&std::fs::read(fixture("metrics/cpu-hosts.csv")).unwrap());
    let e = load_bytes("cut.csv.gz", &gz[..gz.len() / 2]).unwrap_err();
    assert_eq!(e.file, "cut.csv.gz");
    let place = e.place.clone().unwrap();
    assert!(place.starts_with("byte "), "{e}");
    assert!(e.message.contains("truncated"), "{e}");
}

#[test]
fn unreadable_empty_and_json_array_files_are_errors_naming_the_file() {
    let missing = fixture("metrics/no-such-file.csv");
    let e = load(&missing).unwrap_err();
    assert_eq!(e.file, missing.display().to_string());
    assert_eq!(e.place, None);
    assert_eq!(e.message, "cannot read metrics: no such file");
    assert_eq!(
        load_bytes("empty.csv", b" \n\n").unwrap_err().to_string(),
        "empty.csv: the file is empty"
    );
    assert_eq!(
        load_bytes("array.json", b"[{\"timestamp\": 1}]")
            .unwrap_err()
            .to_string(),
        "array.json: a JSON array; metrics in JSON are read as JSON lines, one object per line"
    );
}

#[test]
fn warnings_are_capped_with_a_count_of_the_rest() {
    let mut data = String::from("timestamp,series,value\n1,cpu,1\n");
    for i in 0..150 {
        data.push_str(&format!("{},cpu,oops\n", i + 2));
    }
    let set = load_bytes("noisy.csv", data.as_bytes()).unwrap();
    assert_eq!(set.warnings.len(), 101);
    assert_eq!(
        set.warnings[0],
        "noisy.csv:line 3, field value: `oops` is not a number; row skipped"
    );
    assert_eq!(set.warnings[100], "noisy.csv: 50 more warnings not shown");
    assert_eq!(set.point_count(), 1);
}

#[test]
fn error_display_names_file_and_place() {
    let e = MetricsError {
        file: "m.csv".into(),
        place: Some("line 12".into()),
        message: "bad".into(),
    };
    assert_eq!(e.to_string(), "m.csv:line 12: bad");
    let e = MetricsError { place: None, ..e };
    assert_eq!(e.to_string(), "m.csv: bad");
    let _: &dyn std::error::Error = &e;
}

#[test]
fn date_times_parse_in_every_accepted_form() {
    let noon = Some(1_793_534_400);
    for text in [
        "2026-11-01T12:00:00Z",
        "2026-11-01t12:00:00z",
        "2026-11-01 12:00:00",
        "2026-11-01T12:00:00",
        "2026-11-01T12:00Z",
        "2026-11-01T12:00:00.999999Z",
        "2026-11-01T12:00:00,5Z",
        "2026-11-01T13:00:00+01:00",
        "2026-11-01T13:00:00+0100",
        "2026-11-01T13:00:00+01",
        "2026-11-01T06:30:00-05:30",
    ] {
        assert_eq!(parse_datetime(text), noon, "{text}");
    }
    assert_eq!(parse_datetime("2026-11-01"), Some(1_793_491_200));
    assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_datetime("1969-12-31T23:59:59Z"), Some(-1));
    assert_eq!(parse_datetime("2024-02-29T23:59:59Z"), Some(1_709_251_199));
    for text in [
        "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2026-11-01T24:00:00Z",
        "2026-11-01T12:60:00Z",
        "2026-11-01T12:00:00+24:00",
        "2026-11-01T12:00:00Zjunk",
        "2026-11-01T12:00:00.Z",
        "2026-11-1T12:00:00Z",
        "2026/11/01T12:00:00Z",
        "12:00:00",
        "",
    ] {
        assert_eq!(parse_datetime(text), None, "{text}");
    }
    assert_eq!(parse_datetime("2000-02-29T00:00:00Z"), Some(951_782_400));
}

#[test]
fn civil_dates_round_trip_through_unix_seconds() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    assert_eq!(format_datetime(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_datetime(-1), "1969-12-31T23:59:59Z");
    assert_eq!(format_datetime(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(format_datetime(1_709_251_199), "2024-02-29T23:59:59Z");
    // Every ~weekly step from 1900 to 2200, at varying times of day.
    let mut t = -2_208_988_800;
    while t < 7_258_118_400 {
        let shown = format_datetime(t);
        assert_eq!(parse_datetime(&shown), Some(t), "{shown}");
        t += 604_799 + 37;
    }
    assert_eq!(
        TimeFormat::Rfc3339.show(1_793_534_400),
        "2026-11-01T12:00:00Z"
    );
    assert_eq!(TimeFormat::Integer.show(-5), "-5");
}

fn go_profiles() -> (Profile, Profile) {
    let small = joule_profile::ingest::load(&fixture("pprof/sample.cpu.pb.gz")).unwrap();
    let large = joule_profile::ingest::load(&fixture("pprof/large.cpu.pb.gz")).unwrap();
    (small, large)
}

/// A function's (self, total) share of a profile, from the model's own query.
fn stat_share(p: &Profile, name: &str) -> (f64, f64) {
    let t = p.default_sample_type;
    let total = p.totals()[t] as f64;
    let (mut s, mut c) = (0, 0);
    for &f in p.functions_named(name) {
        let stat = p.function_stat(f, t);
        s += stat.self_value;
        c += stat.total_value;
    }
    (s as f64 / total, c as f64 / total)
}

#[test]
fn shares_from_real_profiles_match_function_stat() {
    let (small, large) = go_profiles();
    let set = from_profiles(&[(100, &small), (200, &large)], None, 0.01);
    assert_eq!(set.warnings, Vec::<String>::new());
    assert_eq!(set.time_format, TimeFormat::Integer);
    assert!(!set.series.is_empty());
    assert_eq!(
        set.series.len() % 2,
        0,
        "a self and a total series per function"
    );
    let sorted = set
        .series
        .windows(2)
        .all(|w| (&w[0].name, &w[0].labels) < (&w[1].name, &w[1].labels));
    assert!(sorted, "series sorted by name and labels");
    for s in &set.series {
        let (kind, function) = s.name.split_once(':').unwrap();
        assert!(kind == "self" || kind == "total", "{}", s.name);
        assert_eq!(s.labels, labels(&[("function", function)]));
        assert_eq!(s.points().map(|p| p.t).collect::<Vec<_>>(), [100, 200]);
        for p in s.points() {
            assert!((0.0..=1.0).contains(&p.v), "{} at {}: {}", s.name, p.t, p.v);
        }
        // Every function kept reached the threshold somewhere (its total share at least).
        let total = set.find(&format!("total:{function}")).unwrap();
        assert!(total.points().any(|p| p.v >= 0.01), "{function}");
    }
    // pprof -top on large.cpu: time.Now 205.17 s flat and cumulative of 240.29 s; main.next
    // 8.81 s flat, 217.07 s cumulative.
    let now = set.find("self:time.Now").unwrap();
    assert!((now.point(1).unwrap().v - 205.17 / 240.29).abs() < 1e-9);
    let next = set.find("total:main.next").unwrap();
    assert!((next.point(1).unwrap().v - 217.07 / 240.29).abs() < 1e-9);
    // The five largest functions of each profile, checked in both: kept when they reach 1%
    // somewhere, and then equal to the model's own per-function values.
    let profiles = [&small, &large];
    let mut names: Vec<String> = Vec::new();
    for p in profiles {
        let t = p.default_sample_type;
        for stat in p.top(t, Order::ByTotal, 5, |_| true) {
            names.push(p.function_name(stat.function).to_string());
        }
    }
    assert!(names.len() >= 6, "{names:?}");
    let mut compared = 0;
    for name in &names {
        let shares = profiles.map(|p| stat_share(p, name));
        let peak = shares.iter().map(|&(s, t)| s.max(t)).fold(0.0, f64::max);
        let (Some(own), Some(inclusive)) = (
            set.find(&format!("self:{name}")),
            set.find(&format!("total:{name}")),
        ) else {
            assert!(peak < 0.01, "{name} reaches {peak} but has no series");
            continue;
        };
        for (i, (self_share, total_share)) in shares.into_iter().enumerate() {
            assert!(
                (own.point(i).unwrap().v - self_share).abs() < 1e-12,
                "{name} in {i}"
            );
            assert!(
                (inclusive.point(i).unwrap().v - total_share).abs() < 1e-12,
                "{name} in {i}"
            );
        }
        compared += 1;
    }
    assert!(compared >= 5, "only {compared} of {names:?} have series");
}

#[test]
fn shares_filter_by_min_share_and_fill_absent_functions_with_zero() {
    let (small, large) = go_profiles();
    let set = from_profiles(&[(100, &small), (200, &large)], None, 0.05);
    // A function in the large profile only, above the threshold there: 0 in the small one.
    let only_large = set
        .series
        .iter()
        .filter(|s| s.name.starts_with("total:"))
        .map(|s| &s.labels[0].1)
        .find(|name| small.functions_named(name).is_empty())
        .expect("a function the small profile lacks");
    let series = set.find(&format!("total:{only_large}")).unwrap();
    assert_eq!(series.point(0).unwrap().v, 0.0);
    assert!(series.point(1).unwrap().v >= 0.05);
    // A function with samples but below the threshold in both profiles gets no series.
    let below = large
        .functions
        .iter()
        .enumerate()
        .map(|(f, _)| large.function_name(f as u32))
        .find(|name| {
            let (s, t) = stat_share(&large, name);
            let (s2, t2) = stat_share(&small, name);
            s.max(t) > 0.0 && s.max(t).max(s2).max(t2) < 0.05
        })
        .expect("a small function");
    assert!(set.find(&format!("self:{below}")).is_none(), "{below}");
    assert!(set.find(&format!("total:{below}")).is_none(), "{below}");
    // A lower threshold keeps it, and more series in all.
    let all = from_profiles(&[(100, &small), (200, &large)], None, 0.0);
    assert!(all.find(&format!("total:{below}")).is_some(), "{below}");
    assert!(all.series.len() > set.series.len());
}

/// `f` in two files (two functions of one name) and `main`: stacks `f@a;f@b;main` = 3,
/// `f@a;main` = 1, `main` = 6 (leaf first).
fn two_fs() -> Profile {
    let mut b = ProfileBuilder::new(Format::Folded);
    b.set_sample_types(&[("samples", "count")], 0);
    let fa = b.function("f", "f", "a.go", 1);
    let fb = b.function("f", "f", "b.go", 1);
    let main = b.function("main", "main", "main.go", 1);
    let (fa, fb, main) = (b.frame(fa, 0), b.frame(fb, 0), b.frame(main, 0));
    b.add_sample(&[fa, fb, main], &[3]);
    b.add_sample(&[fa, main], &[1]);
    b.add_sample(&[main], &[6]);
    b.finish()
}

#[test]
fn functions_sharing_a_name_count_once_per_stack() {
    let p = two_fs();
    assert_eq!(p.functions_named("f").len(), 2);
    let set = from_profiles(&[(1, &p)], None, 0.0);
    let share = |name: &str| set.find(name).unwrap().values()[0];
    assert_eq!(share("self:f"), 0.4);
    // Summing the two functions' totals would give 0.7: the first stack holds both.
    assert_eq!(share("total:f"), 0.4);
    assert_eq!(share("self:main"), 0.6);
    assert_eq!(share("total:main"), 1.0);
    assert_eq!(set.series.len(), 4);
}

#[test]
fn profiles_without_the_sample_type_or_with_a_repeated_time_are_warned() {
    let p = two_fs();
    let q = two_fs();
    let set = from_profiles(&[(1, &p)], Some(3), 0.0);
    assert!(set.series.is_empty());
    assert_eq!(
        set.warnings,
        ["profile 1 (time 1): no sample type 3 (it has 1); left out"]
    );
    let set = from_profiles(&[(5, &p), (5, &q), (2, &p)], None, 0.0);
    assert_eq!(
        set.warnings,
        ["profile 2 has the same time 5 as profile 1; keeping profile 2"]
    );
    let times: Vec<i64> = set.series[0].points().map(|p| p.t).collect();
    assert_eq!(times, [2, 5]);
    // A function only in the replaced profile gets no series.
    let mut b = ProfileBuilder::new(Format::Folded);
    b.set_sample_types(&[("samples", "count")], 0);
    let g = b.function("g", "g", "g.go", 1);
    let g = b.frame(g, 0);
    b.add_sample(&[g], &[1]);
    let only_g = b.finish();
    let set = from_profiles(&[(5, &only_g), (5, &p)], None, 0.0);
    assert!(set.find("self:g").is_none());
    assert!(set.find("self:f").is_some());
}

#[test]
fn profile_time_prefers_the_profile_then_reads_the_file_name() {
    let untimed = two_fs();
    let at = |name: &str| profile_time(Path::new(name), &untimed);
    let noon = Some(1_793_534_400);
    assert_eq!(at("cpu-1700000000.pb.gz"), Some(1_700_000_000));
    assert_eq!(at("/tmp/run3/cpu-1700000000123.pb.gz"), Some(1_700_000_000));
    assert_eq!(at("cpu-2026-11-01T12:00:00Z.pb.gz"), noon);
    assert_eq!(at("cpu-2026-11-01T13:30:00+01:30.pb.gz"), noon);
    assert_eq!(at("cpu-2026-11-01T12-00-00.pb.gz"), noon);
    assert_eq!(at("cpu-2026-11-01_12.00.00Z.pb.gz"), noon);
    assert_eq!(at("20261101T120000"), noon);
    assert_eq!(at("cpu.20261101T120000Z.pb.gz"), noon);
    assert_eq!(at("cpu-20261101-120000.pb.gz"), noon);
    assert_eq!(at("v2-20261101120000.pb"), noon);
    assert_eq!(at("cpu-2026-11-01.pb.gz"), Some(1_793_491_200));
    // A date-time wins over an earlier Unix-looking number.
    assert_eq!(at("1700000000-cpu-2026-11-01T12:00:00Z.pb"), noon);
    for name in [
        "cpu.pb.gz",
        "cpu-12345.pb.gz",
        "cpu-2026-13-01T12:00:00Z.pb.gz",
        "cpu-17000000001.pb.gz",
    ] {
        assert_eq!(at(name), None, "{name}");
    }

    let mut b = ProfileBuilder::new(Format::Pprof);
    b.set_sample_types(&[("samples", "count")], 0);
    b.set_time_nanos(1_700_000_000_900_000_000);
    let timed = b.finish();
    assert_eq!(
        profile_time(Path::new("cpu-2026-11-01T12:00:00Z.pb.gz"), &timed),
        Some(1_700_000_000)
    );
    // A real profile: its own time_nanos.
    let (small, _) = go_profiles();
    let nanos = small.time_nanos.expect("sample.cpu.pb.gz records its time");
    assert_eq!(
        profile_time(Path::new("sample.cpu.pb.gz"), &small),
        Some(nanos.div_euclid(1_000_000_000))
    );
}

// Fleet-scale reading: blocks in parallel, bad input, Parquet, shards, the store's size.

use super::{LoadOptions, Shard, load_bytes_with};

/// The series of `set` with exactly these labels.
fn labelled<'s>(set: &'s MetricSet, pairs: &[(&str, &str)]) -> Option<&'s super::Series> {
    set.series.iter().find(|s| s.labels == labels(pairs))
}

/// Options that cut a file into blocks of a few lines, parsed on three threads.
fn tiny_blocks(threads: usize) -> LoadOptions {
    LoadOptions {
        threads,
        block_bytes: 40,
        ..LoadOptions::default()
    }
}

/// Everything a reader returns, compared whole.
fn everything(set: &MetricSet) -> (Vec<Seen<'_>>, &[String], TimeFormat) {
    (summary(set), &set.warnings, set.time_format)
}

const BAD_CSV: &str = "timestamp,series,value,host\n\
    300,cpu,1.5,a\n\
    100,cpu,1.0,a\n\
    100,cpu,1.1,a\n\
    200,cpu,NaN,a\n\
    200,cpu,inf,b\n\
    100,cpu,2.0,\"b\nc\"\n\
    400,cpu,2.5,a\n\
    400,cpu,2.6,a\n\
    600,cpu,3.0,7\n\
    600,cpu,3.0,7a\n\
    2026-11-01T00:00:00Z,cpu,1.0,a\n\
    900,cpu,4.0,a\n";

const BAD_JSONL: &str = r#"{"timestamp": 300, "series": "cpu", "value": 1.5, "labels": {"host": "a"}}
{"timestamp": 100, "series": "cpu", "value": 1.0, "labels": {"host": "a"}}
{"timestamp": 100, "series": "cpu", "value": 1.1, "labels": {"host": "a"}}
{"timestamp": 200, "series": "cpu", "value": "NaN", "labels": {"host": "a"}}
{"timestamp": 200, "series": "cpu", "value": "-inf", "labels": {"host": "b"}}
{"timestamp": 400, "series": "cpu", "value": 2.5, "labels": {"host": "a"}}
{"timestamp": 600, "series": "cpu", "value": 3.0, "labels": {"host": 7}}
{"timestamp": 600, "series": "cpu", "value": 3.0, "labels": {"host": "7a"}}
{"timestamp": 700, "series": "cpu", "value": 3.0, "zone": "eu", "labels": {"host": "a"}}
{"timestamp": 800, "series": "cpu", "value": 3.0, "zone": 3, "labels": {"host": "a"}}
{"timestamp": "2026-11-01T00:00:00Z", "series": "cpu", "value": 1.0}
{"timestamp": 900, "series": "cpu", "value": 4.0, "labels": {"host": "a"}}
"#;

#[test]
fn bad_csv_rows_are_repaired_or_skipped_with_a_warning_naming_the_line() {
    let set = load_bytes("bad.csv", BAD_CSV.as_bytes()).unwrap();
    let a = labelled(&set, &[("host", "a")]).unwrap();
    // The clock went back (sorted, and from then on repeated times are counted once sorted):
    // 100 twice and 400 twice (the last of each kept), 200 NaN (skipped), a gap at 500 (kept).
    assert_eq!(
        a.points().collect::<Vec<_>>(),
        points(&[(100, 1.1), (300, 1.5), (400, 2.6), (900, 4.0)])
    );
    // A label column holding numbers and text is text: two series.
    assert!(labelled(&set, &[("host", "7")]).is_some());
    assert!(labelled(&set, &[("host", "7a")]).is_some());
    assert!(labelled(&set, &[("host", "b\nc")]).is_some());
    assert_eq!(
        set.warnings,
        [
            "bad.csv:line 3, field timestamp: series cpu{host=a}: time 100 comes after 300 (line 2); the clock went back, so its points are sorted by time",
            "bad.csv:line 5, field value: `NaN` is not a finite number; row skipped",
            "bad.csv:line 6, field value: `inf` is not a finite number; row skipped",
            "bad.csv:line 13, field timestamp: timestamp is an RFC 3339 date-time but the file's timestamps are integers (from line 2); row skipped",
            "bad.csv:line 3: series cpu{host=a} has 2 repeated times once sorted (its clock went back here); the last value in the file is kept for each",
        ]
    );
}

#[test]
fn bad_json_lines_are_repaired_or_skipped_with_a_warning_naming_the_line() {
    let set = load_bytes("bad.jsonl", BAD_JSONL.as_bytes()).unwrap();
    let a = labelled(&set, &[("host", "a")]).unwrap();
    assert_eq!(
        a.points().collect::<Vec<_>>(),
        points(&[(100, 1.1), (300, 1.5), (400, 2.5), (800, 3.0), (900, 4.0)])
    );
    assert!(labelled(&set, &[("host", "7")]).is_some());
    assert!(labelled(&set, &[("host", "7a")]).is_some());
    assert!(labelled(&set, &[("host", "a"), ("zone", "eu")]).is_some());
    assert_eq!(
        set.warnings,
        [
            "bad.jsonl:line 2, field timestamp: series cpu{host=a}: time 100 comes after 300 (line 1); the clock went back, so its points are sorted by time",
            "bad.jsonl:line 4, field value: `NaN` is not a finite number; row skipped",
            "bad.jsonl:line 5, field value: `-inf` is not a finite number; row skipped",
            "bad.jsonl:line 7, field labels.host: label `host` is a number here and a string on line 1; label values are kept as text",
            "bad.jsonl:line 10, field zone: field `zone` is a number here and a string on line 9; only string fields are labels, so rows where it is not a string are read without it (give labels in `labels` to keep them whatever their type)",
            "bad.jsonl:line 11, field timestamp: timestamp is an RFC 3339 date-time but the file's timestamps are integers (from line 1); row skipped",
            "bad.jsonl:line 2: series cpu{host=a} has 1 repeated times once sorted (its clock went back here); the last value in the file is kept for each",
        ]
    );
}

#[test]
fn parallel_blocks_read_the_same_set_and_lines_as_one_thread() {
    for (name, text) in [("bad.csv", BAD_CSV), ("bad.jsonl", BAD_JSONL)] {
        let one = load_bytes_with(
            name,
            text.as_bytes(),
            &LoadOptions {
                threads: 1,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        for threads in [1, 2, 3] {
            let many = load_bytes_with(name, text.as_bytes(), &tiny_blocks(threads)).unwrap();
            assert_eq!(
                everything(&many),
                everything(&one),
                "{name}, {threads} threads"
            );
        }
    }
    // The fixtures too, whole and gzipped.
    for fixture_name in [
        "bad-rows.csv",
        "cpu-hosts.csv",
        "latency-rfc3339.csv",
        "bad.jsonl",
        "cpu.jsonl",
    ] {
        let bytes = std::fs::read(fixture(&format!("metrics/{fixture_name}"))).unwrap();
        let one = load_bytes(fixture_name, &bytes).unwrap();
        let many = load_bytes_with(fixture_name, &bytes, &tiny_blocks(3)).unwrap();
        assert_eq!(everything(&many), everything(&one), "{fixture_name}");
        let gz = load_bytes_with(fixture_name, &gzip(&bytes), &tiny_blocks(2)).unwrap();
        assert_eq!(everything(&gz), everything(&one), "{fixture_name}.gz");
    }
}

/// A fleet in CSV: `series` series on one five-minute clock, time-major.
fn fleet_csv(series: usize, points: usize) -> String {
    let mut out = String::from("timestamp,series,value,group\n");
    for i in 0..points {
        for s in 0..series {
            let v = 100.0 + s as f64 + (i % 7) as f64 / 10.0;
            out.push_str(&format!(
                "{},f{s:04},{v},g{}\n",
                1_793_491_200 + 300 * i,
                s / 10
            ));
        }
    }
    out
}

#[test]
fn a_fleet_on_one_clock_costs_8_bytes_a_point_and_gaps_at_most_16() {
    let text = fleet_csv(200, 50);
    let set = load_bytes_with("fleet.csv", text.as_bytes(), &tiny_blocks(2)).unwrap();
    assert_eq!((set.series.len(), set.point_count()), (200, 10_000));
    let f = set.footprint();
    assert_eq!(f.grids, 1);
    assert!(f.bytes_a_point() < 8.1, "{f:?}");
    // Every series on its own clock: still at most 16.
    let mut own = String::from("timestamp,series,value\n");
    for s in 0..50 {
        for i in 0..20 {
            own.push_str(&format!("{},s{s},1\n", i * 10 + s));
        }
    }
    let f = load_bytes("own.csv", own.as_bytes()).unwrap().footprint();
    assert_eq!(f.grids, 50);
    assert!(f.bytes_a_point() <= 16.0, "{f:?}");
}

#[test]
fn shards_partition_the_series_of_a_file_exactly() {
    let text = fleet_csv(300, 3);
    let whole = load_bytes("fleet.csv", text.as_bytes()).unwrap();
    for count in [1, 4, 7] {
        let mut seen: Vec<String> = Vec::new();
        for index in 0..count {
            let options = LoadOptions {
                shard: Some(Shard::new(index, count).unwrap()),
                ..tiny_blocks(2)
            };
            let part = load_bytes_with("fleet.csv", text.as_bytes(), &options).unwrap();
            for s in &part.series {
                assert!(Shard::new(index, count).unwrap().keeps(&s.title()));
                assert_eq!(s.len(), 3);
            }
            seen.extend(part.series.iter().map(|s| s.title()));
        }
        seen.sort();
        let all: Vec<String> = whole.series.iter().map(|s| s.title()).collect();
        assert_eq!(seen, all, "{count} shards");
    }
    // A shard with no series of a file is an empty set, not an error.
    let one = "timestamp,series,value\n1,only,1\n";
    let other = (0..2)
        .map(|i| Shard::new(i, 2).unwrap())
        .find(|s| !s.keeps("only"))
        .unwrap();
    let options = LoadOptions {
        shard: Some(other),
        ..LoadOptions::default()
    };
    assert!(
        load_bytes_with("one.csv", one.as_bytes(), &options)
            .unwrap()
            .series
            .is_empty()
    );
}

#[test]
fn parquet_from_pyarrow_reads_times_labels_and_skips_bad_rows_by_row_group() {
    let set = load(&fixture("metrics/cpu-hosts.parquet")).unwrap();
    assert_eq!(set.time_format, TimeFormat::Rfc3339);
    let noon = 1_793_534_400;
    assert_eq!(
        summary(&set),
        [
            (
                "cpu",
                labels(&[("core", "0"), ("host", "a")]),
                points(&[(noon, 0.25), (noon + 300, 0.8)])
            ),
            (
                "cpu",
                labels(&[("core", "0"), ("host", "b")]),
                points(&[(noon, 0.4)])
            ),
            (
                "cpu",
                labels(&[("core", "1"), ("host", "b")]),
                points(&[(noon + 600, 0.5)])
            ),
            (
                "mem",
                labels(&[("core", "0"), ("host", "a")]),
                points(&[(noon, 1024.0)])
            ),
        ]
    );
    let warnings: Vec<&str> = set
        .warnings
        .iter()
        .map(|w| {
            w.rsplit_once("cpu-hosts.parquet:")
                .map_or(w.as_str(), |(_, w)| w)
        })
        .collect();
    assert_eq!(
        warnings,
        [
            "row 4 (row group 0), column value: `NaN` is not a finite number; row skipped",
            "row 5 (row group 1), column value: empty value; row skipped",
            "row 7 (row group 1): series cpu{core=0,host=a} has a second value at time 2026-11-01T12:05:00Z (the one before on row 3 (row group 1)); keeping this one",
        ]
    );
}

#[test]
fn parquet_written_by_the_parquet_crate_equals_the_same_csv() {
    use std::sync::Arc;

    use parquet::basic::{Repetition, Type as PhysicalType};
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;

    let text = fleet_csv(30, 40);
    let csv = load_bytes("fleet.csv", text.as_bytes()).unwrap();
    let column = |name: &str, t: PhysicalType, string: bool| {
        parquet_field(name, t, Repetition::REQUIRED, string)
    };
    let schema = Type::group_type_builder("m")
        .with_fields(vec![
            column("group", PhysicalType::BYTE_ARRAY, true),
            column("Timestamp", PhysicalType::INT64, false),
            column("series", PhysicalType::BYTE_ARRAY, true),
            column("value", PhysicalType::DOUBLE, false),
        ])
        .build()
        .unwrap();
    let mut bytes = Vec::new();
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(&mut bytes, Arc::new(schema), props).unwrap();
    // Three row groups of 400 rows, from the CSV's own lines.
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    for chunk in rows.chunks(400) {
        let mut group = writer.next_row_group().unwrap();
        let strings =
            |i: usize| -> Vec<ByteArray> { chunk.iter().map(|r| ByteArray::from(r[i])).collect() };
        let mut c = group.next_column().unwrap().unwrap();
        c.typed::<ByteArrayType>()
            .write_batch(&strings(3), None, None)
            .unwrap();
        c.close().unwrap();
        let mut c = group.next_column().unwrap().unwrap();
        let ts: Vec<i64> = chunk.iter().map(|r| r[0].parse().unwrap()).collect();
        c.typed::<Int64Type>().write_batch(&ts, None, None).unwrap();
        c.close().unwrap();
        let mut c = group.next_column().unwrap().unwrap();
        c.typed::<ByteArrayType>()
            .write_batch(&strings(1), None, None)
            .unwrap();
        c.close().unwrap();
        let mut c = group.next_column().unwrap().unwrap();
        let vs: Vec<f64> = chunk.iter().map(|r| r[2].parse().unwrap()).collect();
        c.typed::<DoubleType>()
            .write_batch(&vs, None, None)
            .unwrap();
        c.close().unwrap();
        group.close().unwrap();
    }
    writer.close().unwrap();
    for threads in [1, 3] {
        let options = LoadOptions {
            threads,
            ..LoadOptions::default()
        };
        let set = load_bytes_with("fleet.parquet", &bytes, &options).unwrap();
        assert_eq!(set.time_format, TimeFormat::Integer);
        assert_eq!(set.series, csv.series);
        assert_eq!(set.warnings, Vec::<String>::new());
    }
    // Cut short, the file is an error naming it, never a panic.
    let e = load_bytes("cut.parquet", &bytes[..bytes.len() / 2]).unwrap_err();
    assert_eq!(e.file, "cut.parquet");
    assert!(e.message.contains("Parquet"), "{e}");
}

#[test]
fn parquet_shards_partition_the_series_as_csv_does_with_nulls_numbers_and_bad_text() {
    use std::sync::Arc;

    use parquet::basic::{Repetition, Type as PhysicalType};
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;

    // Labels: `zone` text with nulls (read through Arrow), `core` an integer (whose title
    // is its decimal text, so those row groups go the column readers' way); one series
    // name that is not UTF-8 (Arrow refuses its row group, which the column readers read).
    let write = |with_core: bool| -> Vec<u8> {
        let (required, optional) = (Repetition::REQUIRED, Repetition::OPTIONAL);
        let mut fields = vec![
            parquet_field("timestamp", PhysicalType::INT64, required, false),
            parquet_field("series", PhysicalType::BYTE_ARRAY, required, true),
            parquet_field("value", PhysicalType::DOUBLE, required, false),
            parquet_field("zone", PhysicalType::BYTE_ARRAY, optional, true),
        ];
        if with_core {
            fields.push(parquet_field("core", PhysicalType::INT32, required, false));
        }
        let schema = Type::group_type_builder("m")
            .with_fields(fields)
            .build()
            .unwrap();
        let mut bytes = Vec::new();
        let props = Arc::new(WriterProperties::builder().build());
        let mut writer = SerializedFileWriter::new(&mut bytes, Arc::new(schema), props).unwrap();
        for group in 0..4 {
            let (mut ts, mut names, mut vs, mut zones, mut defs, mut cores) =
                (vec![], vec![], vec![], vec![], vec![], vec![]);
            for i in 0..5i64 {
                for s in 0..60usize {
                    ts.push(1_793_491_200 + 300 * (group * 5 + i));
                    let mut name = format!("f{s:03}").into_bytes();
                    if group == 2 && s == 7 && i == 0 {
                        name = vec![b'f', 0xff, 0xfe];
                    }
                    names.push(ByteArray::from(name));
                    vs.push(s as f64 + i as f64);
                    if s % 4 == 0 {
                        defs.push(0);
                    } else {
                        defs.push(1);
                        zones.push(ByteArray::from(format!("z{}", s % 3).as_str()));
                    }
                    cores.push((s % 2) as i32);
                }
            }
            let mut g = writer.next_row_group().unwrap();
            let mut c = g.next_column().unwrap().unwrap();
            c.typed::<Int64Type>().write_batch(&ts, None, None).unwrap();
            c.close().unwrap();
            let mut c = g.next_column().unwrap().unwrap();
            c.typed::<ByteArrayType>()
                .write_batch(&names, None, None)
                .unwrap();
            c.close().unwrap();
            let mut c = g.next_column().unwrap().unwrap();
            c.typed::<DoubleType>()
                .write_batch(&vs, None, None)
                .unwrap();
            c.close().unwrap();
            let mut c = g.next_column().unwrap().unwrap();
            c.typed::<ByteArrayType>()
                .write_batch(&zones, Some(&defs), None)
                .unwrap();
            c.close().unwrap();
            if with_core {
                let mut c = g.next_column().unwrap().unwrap();
                c.typed::<Int32Type>()
                    .write_batch(&cores, None, None)
                    .unwrap();
                c.close().unwrap();
            }
            g.close().unwrap();
        }
        writer.close().unwrap();
        bytes
    };
    for with_core in [false, true] {
        let bytes = write(with_core);
        let whole = load_bytes("fleet.parquet", &bytes).unwrap();
        assert_eq!(whole.series.len(), 60);
        assert!(
            whole
                .series
                .iter()
                .any(|s| s.labels.contains(&("zone".into(), String::new())))
        );
        assert_eq!(whole.warnings.len(), 1, "{:?}", whole.warnings);
        assert!(
            whole.warnings[0].contains("not UTF-8"),
            "{:?}",
            whole.warnings
        );
        let mut seen: Vec<String> = Vec::new();
        let mut warned = 0;
        for index in 0..3 {
            let shard = Shard::new(index, 3).unwrap();
            let options = LoadOptions {
                shard: Some(shard),
                threads: 2,
                ..LoadOptions::default()
            };
            let part = load_bytes_with("fleet.parquet", &bytes, &options).unwrap();
            for s in &part.series {
                assert!(shard.keeps(&s.title()), "{} in {shard}", s.title());
                let all = whole
                    .series
                    .iter()
                    .find(|w| w.title() == s.title())
                    .unwrap();
                assert_eq!(s, all);
            }
            seen.extend(part.series.iter().map(|s| s.title()));
            warned += part.warnings.len();
        }
        seen.sort();
        let mut all: Vec<String> = whole.series.iter().map(|s| s.title()).collect();
        all.sort();
        assert_eq!(seen, all, "core column: {with_core}");
        // The row that is not UTF-8 is reported by one shard or by all, never lost.
        assert!(warned >= 1, "core column: {with_core}");
    }
}

/// A flat Parquet column for the tests' files: `string` marks text (the String logical type).
fn parquet_field(
    name: &str,
    physical: parquet::basic::Type,
    repetition: parquet::basic::Repetition,
    string: bool,
) -> std::sync::Arc<parquet::schema::types::Type> {
    let b = parquet::schema::types::Type::primitive_type_builder(name, physical)
        .with_repetition(repetition);
    let b = if string {
        b.with_logical_type(Some(parquet::basic::LogicalType::String))
    } else {
        b
    };
    std::sync::Arc::new(b.build().unwrap())
}
