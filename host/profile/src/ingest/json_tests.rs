//! The JSON readers (speedscope, Chrome `.cpuprofile`, trace events) and the speedscope writer,
//! on the corpus files in `tests/fixtures/{speedscope,chrome}` and on small hand-made inputs.
//!
//! Where the expected numbers come from:
//! - speedscope fixtures: by hand from the JSON. Every one of them encodes the same folded
//!   stacks, `a;b;c` 1+1+3, `a;b;d` 4, `a;b` 5 (the evented 0.0.1 files as open/close times:
//!   `c` is open over [0,2] and [6,9], `d` over [2,6], `b` alone over [9,14]).
//! - `chrome/simple.cpuprofile` and `node-example.cpuprofile`: a short Python script over the
//!   JSON (each sample weighs the delta that follows it, the last one nothing; a function's total
//!   counts each sample once; the old format's `timestamps` turned into deltas). They equal the
//!   `selfWeight`/`totalWeight` of speedscope's own snapshot of these two files
//!   (`src/import/__snapshots__/chrome.test.ts.snap`: `(anonymous)` 1060/34345 µs, `d` 33285,
//!   `b` 17002, `c` 16283; node: 11575/44777, 33202, 16788, 16414).
//! - `chrome/simple-trace.json` is hand-made (there is no trace-event file in the corpus): a
//!   Python script turned the nodes (linked by `parent`, as in traces), samples and deltas of
//!   `simple.cpuprofile` into one `Profile` and two `ProfileChunk` events (the second first in
//!   the file, with the later `ts`), on the profiler thread as Chrome writes them, and added a
//!   worker thread's profile (with per-sample `lines`, as newer Chrome writes), unrelated `X`
//!   events and a chunk of an undeclared profile. Its main thread must give the `.cpuprofile`'s numbers; the worker's
//!   were computed by hand (see the test).
//! - `pprof/sample.cpu.pb.gz`: a short Python protobuf decoder summing each sample's
//!   `cpu/nanoseconds` into its leaf function (self) and once into each function of its stack
//!   (total), which also matches `joule profile top` / `pprof -top` on it.

use std::path::PathBuf;

use super::{Place, load, load_bytes};
use crate::export::speedscope::write;
use crate::model::{Format, LabelValue, Order, Profile};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel)
}

/// Self and total of the one function named `name`, in sample type `t`.
fn stat(p: &Profile, name: &str, t: usize) -> (i64, i64) {
    let ids = p.functions_named(name);
    assert_eq!(ids.len(), 1, "one function named {name}");
    let s = p.function_stat(ids[0], t);
    (s.self_value, s.total_value)
}

fn types(p: &Profile) -> Vec<String> {
    (0..p.sample_types.len())
        .map(|t| p.sample_type_label(t))
        .collect()
}

/// The value in sample type `t` of the stacks labelled `key=value` (text or number).
fn labelled(p: &Profile, key: &str, value: &str, t: usize) -> i64 {
    (0..p.stack_count())
        .filter(|&i| {
            p.labels_of(i).iter().any(|l| {
                p.str(l.key) == key
                    && match l.value {
                        LabelValue::Str(s) => p.str(s) == value,
                        LabelValue::Num { value: v, .. } => v.to_string() == value,
                    }
            })
        })
        .map(|i| p.stack_values(i)[t])
        .sum()
}

fn err(name: &str, bytes: &[u8]) -> super::IngestError {
    match load_bytes(name, bytes) {
        Ok(_) => panic!("{name} should not load"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// speedscope

#[test]
fn speedscope_evented_0_0_1_gives_the_time_between_events_to_the_open_stack() {
    for file in [
        "speedscope/0.0.1/simple.speedscope.json",
        "speedscope/0.0.1/simple-no-pretty-print.speedscope.json",
    ] {
        let p = load(&fixture(file)).unwrap();
        assert_eq!(p.format, Format::Speedscope, "{file}");
        assert_eq!(types(&p), ["samples/count", "weight/count"], "{file}");
        assert_eq!(p.default_sample_type, 1);
        // Four spans between events with frames open: [0,2] [2,6] [6,9] [9,14].
        assert_eq!(p.totals(), [4, 14], "{file}");
        assert_eq!(p.raw_sample_count, 4);
        assert_eq!(stat(&p, "a", 1), (0, 14));
        assert_eq!(stat(&p, "b", 1), (5, 14));
        assert_eq!(stat(&p, "c", 1), (5, 5));
        assert_eq!(stat(&p, "d", 1), (4, 4));
        assert_eq!(labelled(&p, "profile", "simple.txt", 1), 14);
        assert_eq!(p.duration_nanos, None, "unit `none` has no duration");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }
}

#[test]
fn speedscope_sampled_0_1_2_converts_seconds_to_nanoseconds() {
    let p = load(&fixture("speedscope/0.1.2/simple-sampled.speedscope.json")).unwrap();
    assert_eq!(types(&p), ["samples/count", "wall/nanoseconds"]);
    assert_eq!(p.totals(), [5, 14_000_000_000]);
    assert_eq!(stat(&p, "b", 1), (5_000_000_000, 14_000_000_000));
    assert_eq!(stat(&p, "c", 1), (5_000_000_000, 5_000_000_000));
    assert_eq!(stat(&p, "d", 1), (4_000_000_000, 4_000_000_000));
    assert_eq!(stat(&p, "c", 0), (3, 3), "three samples end in c");
    assert_eq!(
        p.duration_nanos,
        Some(14_000_000_000),
        "endValue - startValue"
    );
}

#[test]
fn speedscope_0_6_0_profiles_become_labels_in_one_profile() {
    let p = load(&fixture("speedscope/0.6.0/two-sampled.speedscope.json")).unwrap();
    assert_eq!(p.totals(), [10, 28_000_000_000]);
    assert_eq!(labelled(&p, "profile", "one", 1), 14_000_000_000);
    assert_eq!(labelled(&p, "profile", "two", 1), 14_000_000_000);
    assert_eq!(stat(&p, "c", 1), (10_000_000_000, 10_000_000_000));
    assert_eq!(p.default_sample_type, 1);
    assert_eq!(
        p.duration_nanos,
        Some(14_000_000_000),
        "the threads run side by side"
    );
    let comments: Vec<&str> = p.comments.iter().map(|&c| p.str(c)).collect();
    assert_eq!(
        comments,
        [
            "speedscope file name: Two Samples",
            "exported by speedscope@0.6.0"
        ]
    );
}

#[test]
fn speedscope_invalid_files_name_the_event() {
    let e = load(&fixture("speedscope/invalid/out-of-order-events.json")).unwrap_err();
    assert_eq!(e.place, Place::File);
    assert_eq!(
        e.message,
        r#"profiles[0].events[6]: close event for frame 1 ("B") does not match the open frame 0 ("A")"#
    );
    let e = load(&fixture("speedscope/invalid/incomplete-trace.json")).unwrap_err();
    assert_eq!(
        e.message,
        r#"profiles[0].events: frame 0 ("A") is still open after the last event (1 frames never closed)"#
    );
}

const SCHEMA: &str = r#""$schema": "https://www.speedscope.app/file-format-schema.json""#;

fn speedscope(profiles: &str, frames: &str) -> Vec<u8> {
    format!(r#"{{{SCHEMA}, "shared": {{"frames": [{frames}]}}, "profiles": [{profiles}]}}"#)
        .into_bytes()
}

#[test]
fn speedscope_malformed_json_names_line_and_column() {
    let text = format!(
        "{{{SCHEMA},\n\"shared\": {{\"frames\": [{{\"name\": \"a\"}}]}},\n\"profiles\": [{{\"type\": \"sampled\", \"samples\": [[0]], \"weights\": [1,]}}]}}"
    );
    let e = err("bad.speedscope.json", text.as_bytes());
    assert_eq!(e.place, Place::Line(3));
    // Column 66 of line 3 is the `]` after `[1,`.
    assert_eq!(e.message, "column 66: malformed JSON: trailing comma");
    // A member of the wrong type: serde's message, with its place.
    let bad = speedscope(
        r#"{"type": "sampled", "unit": "none", "samples": [["x"]], "weights": [1]}"#,
        r#"{"name": "a"}"#,
    );
    let e = err("bad.json", &bad);
    assert_eq!(e.place, Place::Line(1));
    assert!(
        e.message
            .contains("invalid type: string \"x\", expected u32"),
        "{}",
        e.message
    );
}

#[test]
fn speedscope_hostile_inputs_are_errors_or_warnings_never_panics() {
    let frame = r#"{"name": "a"}"#;
    let cases: [(&str, &str); 6] = [
        (
            r#"{"type": "sampled", "unit": "none", "samples": [[0], [7]], "weights": [1, 1]}"#,
            "profiles[0].samples[1][0]: frame 7 does not exist (shared.frames has 1)",
        ),
        (
            r#"{"type": "sampled", "unit": "none", "samples": [[0]], "weights": [1, 2]}"#,
            "profiles[0]: 1 samples but 2 weights (there must be one weight per sample)",
        ),
        (
            r#"{"type": "evented", "unit": "none", "events": [{"type": "O", "frame": 0, "at": 5}, {"type": "C", "frame": 0, "at": 4}]}"#,
            "profiles[0].events[1]: at 4 is before the previous event's 5 (events must be in order of `at`)",
        ),
        (
            r#"{"type": "evented", "unit": "none", "events": [{"type": "C", "frame": 0, "at": 1}]}"#,
            r#"profiles[0].events[0]: close event for frame 0 ("a") when no frame is open"#,
        ),
        (
            r#"{"type": "flame", "unit": "none"}"#,
            r#"profiles[0].type: "flame" is neither "sampled" nor "evented""#,
        ),
        (
            r#"{"type": "sampled", "unit": "none", "samples": [], "weights": []}"#,
            "no samples: every profile in the file is empty",
        ),
    ];
    for (profile, message) in cases {
        let e = err("x.json", &speedscope(profile, frame));
        assert_eq!(e.message, message);
    }
    // Negative, huge and empty samples are skipped with a warning naming them.
    let p = load_bytes(
        "x.json",
        &speedscope(
            r#"{"type": "sampled", "unit": "seconds", "samples": [[0], [0], [0], [], [0]], "weights": [2, -1, 1e300, 1, 0.5]}"#,
            frame,
        ),
    )
    .unwrap();
    assert_eq!(p.totals(), [2, 2_500_000_000]);
    assert_eq!(
        p.warnings,
        [
            "2 samples with a negative or unusable weight, left out: profiles[0].weights[1] = -1.0, profiles[0].weights[2] = 1e300",
            "1 samples with an empty stack, left out: profiles[0].samples[3]",
        ]
    );
    // A deep stack of repeated frames, and a frame index beyond u32.
    let deep = format!("[{}]", vec!["0"; 100_000].join(","));
    let p = load_bytes(
        "x.json",
        &speedscope(
            &format!(
                r#"{{"type": "sampled", "unit": "none", "samples": [{deep}], "weights": [3]}}"#
            ),
            frame,
        ),
    )
    .unwrap();
    assert_eq!(stat(&p, "a", 1), (3, 3), "recursion counts once in total");
    // Times far apart: the span saturates instead of overflowing.
    let p = load_bytes(
        "x.json",
        &speedscope(
            r#"{"type": "evented", "unit": "none", "events": [{"type": "O", "frame": 0, "at": -8e18}, {"type": "C", "frame": 0, "at": 8e18}]}"#,
            frame,
        ),
    )
    .unwrap();
    assert_eq!(p.totals(), [1, i64::MAX]);
    let e = err(
        "x.json",
        &speedscope(
            r#"{"type": "sampled", "unit": "none", "samples": [[99999999999]], "weights": [1]}"#,
            frame,
        ),
    );
    assert_eq!(e.place, Place::Line(1));
}

#[test]
fn speedscope_units_of_several_kinds_get_one_sample_type_each() {
    let bytes = speedscope(
        r#"{"type": "sampled", "name": "heap", "unit": "bytes", "samples": [[0, 1]], "weights": [4096]},
           {"type": "sampled", "name": "main", "unit": "milliseconds", "startValue": 0, "endValue": 3, "samples": [[0], [0, 1]], "weights": [1.5, 1.5]},
           {"type": "evented", "name": "main", "unit": "microseconds", "startValue": 10, "endValue": 20, "events": [
              {"type": "O", "frame": 1, "at": 10}, {"type": "C", "frame": 1, "at": 12.5}]}"#,
        r#"{"name": "alloc", "file": "heap.c", "line": 7, "col": 3}, {"name": ""}"#,
    );
    let text = String::from_utf8(bytes)
        .unwrap()
        .replace(SCHEMA, &format!(r#"{SCHEMA}, "activeProfileIndex": 1"#));
    let p = load_bytes("x.json", text.as_bytes()).unwrap();
    assert_eq!(
        types(&p),
        ["samples/count", "wall/nanoseconds", "space/bytes"]
    );
    assert_eq!(p.default_sample_type, 1, "the active profile's type");
    assert_eq!(p.totals(), [4, 3_002_500, 4096]);
    assert_eq!(stat(&p, "(anonymous)", 2), (4096, 4096));
    assert_eq!(stat(&p, "(anonymous)", 1), (1_502_500, 1_502_500));
    assert_eq!(stat(&p, "alloc", 1), (1_500_000, 3_000_000));
    assert_eq!(
        labelled(&p, "profile", "main #2", 1),
        2_500,
        "names made unique"
    );
    let alloc = &p.functions[p.functions_named("alloc")[0] as usize];
    assert_eq!(p.str(alloc.file), "heap.c");
    let lines = p.lines(p.functions_named("alloc")[0], 1, 5);
    assert_eq!(lines[0].line, 7, "a speedscope line is the frame's line");
    assert_eq!(p.duration_nanos, Some(3_000_000), "the longest time span");
}

// ---------------------------------------------------------------------------------------------
// Chrome .cpuprofile

#[test]
fn chrome_cpuprofile_attributes_time_like_speedscope() {
    let p = load(&fixture("chrome/simple.cpuprofile")).unwrap();
    assert_eq!(p.format, Format::ChromeCpuProfile);
    assert_eq!(types(&p), ["samples/count", "wall/nanoseconds"]);
    assert_eq!(p.default_sample_type, 1);
    assert_eq!(p.totals(), [29, 34_345_000]);
    assert_eq!(p.raw_sample_count, 29);
    assert_eq!(stat(&p, "(anonymous)", 1), (1_060_000, 34_345_000));
    assert_eq!(stat(&p, "a", 1), (0, 33_285_000));
    assert_eq!(stat(&p, "b", 1), (0, 17_002_000));
    assert_eq!(stat(&p, "c", 1), (0, 16_283_000));
    assert_eq!(stat(&p, "d", 1), (33_285_000, 33_285_000));
    assert_eq!(stat(&p, "d", 0), (28, 28), "both d nodes are one function");
    assert_eq!(p.duration_nanos, Some(47_892_000), "endTime - startTime");
    assert!(p.functions_named("(root)").is_empty());
    let d = &p.functions[p.functions_named("d")[0] as usize];
    assert_eq!(d.start_line, 14, "V8 lines count from 0");
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn chrome_old_tree_format_loads() {
    let p = load(&fixture("chrome/node-example.cpuprofile")).unwrap();
    assert_eq!(p.format, Format::ChromeCpuProfile);
    assert_eq!(p.totals(), [29, 44_777_000]);
    assert_eq!(stat(&p, "(anonymous)", 1), (11_575_000, 44_777_000));
    assert_eq!(stat(&p, "b", 1), (0, 16_788_000));
    assert_eq!(stat(&p, "c", 1), (0, 16_414_000));
    assert_eq!(stat(&p, "d", 1), (33_202_000, 33_202_000));
    // startTime and endTime are the same whole second: the span of the samples instead.
    assert_eq!(p.duration_nanos, Some(44_777_000));
}

#[test]
fn chrome_negative_deltas_unknown_nodes_and_cycles() {
    // Nodes 4 and 5 are each other's parent; node 9 does not exist. Samples f f g g 9 4 f with
    // deltas 10 20 30 -50 40 10 30 µs: times 10 30 60 10 50 60 90. Runs start at 10 (f),
    // 60 (g), then 9 at max(50, 60) = 60 (time does not go back), 4 at 60, f at 90; the last
    // run ends at 90. So f gets 60 - 10 = 50 µs, g 60 - 60 = 0, node 4's 30 µs are left out
    // with node 9's 0, and f's last sample weighs nothing.
    let json = br#"{"nodes": [
        {"id": 1, "callFrame": {"functionName": "(root)", "url": "", "lineNumber": -1}, "children": [2, 3, 2, 42]},
        {"id": 2, "callFrame": {"functionName": "f", "url": "app.js", "lineNumber": 0}},
        {"id": 3, "callFrame": {"functionName": "g", "url": "app.js", "lineNumber": 4}},
        {"id": 4, "callFrame": {"functionName": "loop", "url": "app.js", "lineNumber": 9}, "parent": 5},
        {"id": 5, "callFrame": {"functionName": "loop", "url": "app.js", "lineNumber": 9}, "parent": 4},
        {"id": 5, "callFrame": {"functionName": "again"}}],
      "startTime": 0, "endTime": 100,
      "samples": [2, 2, 3, 3, 9, 4, 2],
      "timeDeltas": [10, 20, 30, -50, 40, 10, 30]}"#;
    let p = load_bytes("x.cpuprofile", json).unwrap();
    assert_eq!(stat(&p, "f", 1), (50_000, 50_000));
    assert_eq!(stat(&p, "g", 1), (0, 0));
    assert_eq!(p.totals(), [5, 50_000]);
    assert_eq!(
        p.warnings,
        [
            "1 nodes repeat the id of an earlier node; the first node with an id is kept",
            "1 parent or child links name nodes the profile does not define; ignored",
            "1 samples name nodes the profile does not define; left out",
            "1 samples are of nodes whose parent links form a cycle; left out",
        ]
    );
}

#[test]
fn chrome_errors_name_the_place() {
    let e = err(
        "x.cpuprofile",
        b"{\"nodes\": [{\"id\": 1, \"callFrame\": {}}],\n \"samples\": [1, 2,",
    );
    assert_eq!(e.place, Place::Line(2));
    assert_eq!(
        e.message,
        "column 18: truncated JSON: EOF while parsing a value"
    );
    let e = err(
        "x.cpuprofile",
        b"{\"nodes\": [{\"id\": -1, \"callFrame\": {\"functionName\": \"f\"}}]}",
    );
    assert!(e.message.contains("expected u32"), "{}", e.message);
    let e = err(
        "x.cpuprofile",
        br#"{"nodes": [{"id": 1, "callFrame": {"functionName": "(root)"}}], "samples": [1], "timeDeltas": [1]}"#,
    );
    assert_eq!(e.message, "the profile has no samples (1 nodes, 1 samples)");
    // Deeper than the old format can nest: an error, not a stack overflow.
    let mut deep = String::new();
    for i in 0..200 {
        deep.push_str(&format!(
            r#"{{"functionName": "f", "id": {i}, "children": ["#
        ));
    }
    deep.push_str(&"]}".repeat(200));
    let e = err(
        "x.cpuprofile",
        format!(r#"{{"head": {deep}, "samples": [], "timestamps": []}}"#).as_bytes(),
    );
    assert!(e.message.contains("nests too deeply"), "{}", e.message);
}

// ---------------------------------------------------------------------------------------------
// Trace events

#[test]
fn trace_events_assemble_profile_chunks_per_thread() {
    let p = load(&fixture("chrome/simple-trace.json")).unwrap();
    assert_eq!(p.format, Format::TraceEvent);
    assert_eq!(types(&p), ["samples/count", "wall/nanoseconds"]);
    // The main thread: the samples of simple.cpuprofile, the same numbers.
    assert_eq!(labelled(&p, "thread", "CrRendererMain", 1), 34_345_000);
    assert_eq!(labelled(&p, "tid", "259", 1), 34_345_000);
    assert_eq!(labelled(&p, "thread", "CrRendererMain", 0), 29);
    assert_eq!(stat(&p, "(anonymous)", 1), (1_060_000, 34_345_000));
    assert_eq!(stat(&p, "b", 1), (0, 17_002_000));
    assert_eq!(stat(&p, "d", 1), (33_285_000, 33_285_000));
    // The worker: samples (program) work work work (program), deltas 100..500 µs, so times
    // 100 300 600 1000 1500. Runs: (program) 100-300, work 300-1500, (program) from 1500 with
    // nothing after it. Its chunk has `lines` (0 12 12 13 0), which are not read.
    assert_eq!(
        labelled(&p, "thread", "DedicatedWorker thread", 1),
        1_400_000
    );
    assert_eq!(labelled(&p, "thread", "DedicatedWorker thread", 0), 5);
    assert_eq!(stat(&p, "work", 1), (1_200_000, 1_200_000));
    assert_eq!(stat(&p, "(program)", 1), (200_000, 200_000));
    let work = p.functions_named("work")[0];
    assert_eq!(p.lines(work, 1, 5)[0].line, 0);
    let f = &p.functions[work as usize];
    assert_eq!(
        (p.str(f.file), f.start_line),
        ("https://example.com/worker.js", 11)
    );
    assert_eq!(p.raw_sample_count, 34);
    assert_eq!(labelled(&p, "pid", "4242", 0), 34, "pid is a numeric label");
    assert_eq!(
        p.warnings,
        ["1 ProfileChunk events belong to no Profile event; skipped"]
    );
    // The longest span from first to last sample (the trace has no endTime).
    assert_eq!(p.duration_nanos, Some(34_345_000));
}

#[test]
fn trace_events_as_a_bare_array_even_cut_short() {
    let text = std::fs::read_to_string(fixture("chrome/simple-trace.json")).unwrap();
    let start = text.find("\"traceEvents\": ").unwrap() + "\"traceEvents\": ".len();
    let array = text[start..].trim_end().strip_suffix('}').unwrap();
    let whole = load_bytes("trace.json", array.as_bytes()).unwrap();
    assert_eq!(whole.format, Format::TraceEvent);
    assert_eq!(whole.totals(), [34, 35_745_000]);
    // As a writer that was killed leaves it: no `]`, a trailing comma.
    let cut = format!(
        "{},\n",
        array.trim_end().strip_suffix(']').unwrap().trim_end()
    );
    let p = load_bytes("cut.json", cut.as_bytes()).unwrap();
    assert_eq!(p.totals(), [34, 35_745_000]);
    assert_eq!(
        p.warnings[0],
        "the trace ends without `]`; read up to its last event"
    );
    // Cut inside an event: the JSON error, with its place.
    let e = err("cut.json", &array.as_bytes()[..array.len() - 40]);
    assert!(matches!(e.place, Place::Line(_)), "{e}");
}

#[test]
fn trace_events_without_samples_or_with_bad_args() {
    let e = err(
        "t.json",
        br#"[{"name": "RunTask", "ph": "X", "ts": 1, "dur": 2, "pid": 1, "tid": 1, "args": {}}]"#,
    );
    assert!(
        e.message
            .starts_with("no CPU profile samples in the trace (1 events, 0 profiles)"),
        "{}",
        e.message
    );
    let e = err("t.json", br#"{"traceEvents": 7}"#);
    assert!(
        e.message.contains("expected an array of trace events"),
        "{}",
        e.message
    );
    // A chunk whose args do not have the shape of a profile is skipped; the rest is read.
    let p = load_bytes(
        "t.json",
        br#"{"traceEvents": [
        {"name": "Profile", "ph": "P", "id": 1, "pid": "browser", "tid": 1, "ts": 1, "args": {"data": {"startTime": 0}}},
        {"name": "ProfileChunk", "ph": "P", "id": 1, "pid": 1, "tid": 2, "ts": 2, "args": {"data": {"cpuProfile": {"samples": "x"}}}},
        {"name": "ProfileChunk", "ph": "P", "id": 1, "pid": 1, "tid": 2, "ts": 3, "args": {"data": {"cpuProfile": {
            "nodes": [{"id": 1, "callFrame": {"functionName": "(root)"}}, {"id": 2, "parent": 1, "callFrame": {"functionName": "f"}}],
            "samples": [2, 2]}, "timeDeltas": [5, 7]}}},
        {"name": "CpuProfile", "ph": "P", "id": 1, "pid": 1, "tid": 2, "ts": 0, "args": {"data": null}}
    ], "metadata": {}}"#,
    )
    .unwrap();
    assert_eq!(p.totals(), [2, 7_000]);
    assert_eq!(labelled(&p, "pid", "browser", 1), 7_000);
    assert_eq!(p.warnings.len(), 1);
    assert!(
        p.warnings[0].starts_with("traceEvents[1] (ProfileChunk): args do not have the shape"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn json_formats_are_told_apart_by_content() {
    use super::detect;
    let cases = [
        (
            "speedscope/0.0.1/simple.speedscope.json",
            Format::Speedscope,
        ),
        (
            "speedscope/0.6.0/two-sampled.speedscope.json",
            Format::Speedscope,
        ),
        ("chrome/simple.cpuprofile", Format::ChromeCpuProfile),
        ("chrome/node-example.cpuprofile", Format::ChromeCpuProfile),
        ("chrome/simple-trace.json", Format::TraceEvent),
        ("folded/simple.txt", Format::Folded),
    ];
    for (file, format) in cases {
        let data = std::fs::read(fixture(file)).unwrap();
        assert_eq!(detect(&data).map(|r| r.format()), Some(format), "{file}");
    }
    assert!(detect(b"{\"hello\": [1, 2]}").is_none());
}

// ---------------------------------------------------------------------------------------------
// The speedscope writer

/// Every function's self and total in sample type `t`, by name and file.
fn function_stats(p: &Profile, t: usize) -> Vec<(String, String, i64, i64)> {
    let mut out: Vec<_> = (0..p.functions.len() as u32)
        .map(|f| {
            let s = p.function_stat(f, t);
            let function = &p.functions[f as usize];
            (
                p.str(function.name).to_string(),
                p.str(function.file).to_string(),
                s.self_value,
                s.total_value,
            )
        })
        .filter(|s| s.2 != 0 || s.3 != 0)
        .collect();
    out.sort();
    out
}

fn round_trip(p: &Profile, t: usize) -> Profile {
    let json = write(p, t);
    load_bytes("round-trip.speedscope.json", json.as_bytes()).unwrap()
}

#[test]
fn speedscope_round_trip_keeps_every_function_value() {
    for (file, t) in [
        ("speedscope/0.0.1/simple.speedscope.json", 1),
        ("speedscope/0.6.0/two-sampled.speedscope.json", 1),
        ("chrome/simple.cpuprofile", 1),
        ("chrome/simple-trace.json", 1),
    ] {
        let p = load(&fixture(file)).unwrap();
        let back = round_trip(&p, t);
        assert_eq!(back.format, Format::Speedscope);
        // The sample type's name does not survive (speedscope only has units); its values do.
        assert_eq!(back.totals()[1], p.totals()[t], "{file}");
        assert_eq!(function_stats(&back, 1), function_stats(&p, t), "{file}");
        assert!(back.warnings.is_empty(), "{file}: {:?}", back.warnings);
    }
    // The threads stay apart.
    let p = load(&fixture("speedscope/0.6.0/two-sampled.speedscope.json")).unwrap();
    let back = round_trip(&p, 1);
    assert_eq!(labelled(&back, "profile", "one", 1), 14_000_000_000);
    assert_eq!(labelled(&back, "profile", "two", 1), 14_000_000_000);
    let p = load(&fixture("chrome/simple-trace.json")).unwrap();
    let back = round_trip(&p, 1);
    assert_eq!(
        labelled(
            &back,
            "profile",
            "thread=CrRendererMain pid=4242 tid=259",
            1
        ),
        34_345_000
    );
}

#[test]
fn speedscope_writer_output_has_the_format_shape() {
    let p = load(&fixture("chrome/simple.cpuprofile")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&write(&p, 1)).unwrap();
    assert_eq!(
        json["$schema"],
        "https://www.speedscope.app/file-format-schema.json"
    );
    let frames = json["shared"]["frames"].as_array().unwrap();
    assert_eq!(frames.len(), p.functions.len());
    let d = frames.iter().find(|f| f["name"] == "d").unwrap();
    assert_eq!(d["line"], 14);
    assert!(d.get("file").is_none(), "an empty file is left out");
    let profiles = json["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1);
    let profile = &profiles[0];
    assert_eq!(profile["type"], "sampled");
    assert_eq!(profile["unit"], "nanoseconds");
    assert_eq!(profile["name"], "chrome-cpuprofile wall/nanoseconds");
    let weights: i64 = profile["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_i64().unwrap())
        .sum();
    assert_eq!(weights, 34_345_000);
    assert_eq!(profile["endValue"], 34_345_000);
    // Every stack starts at the root: `(anonymous)`, the script.
    let anonymous = frames
        .iter()
        .position(|f| f["name"] == "(anonymous)")
        .unwrap();
    for stack in profile["samples"].as_array().unwrap() {
        assert_eq!(stack[0], anonymous);
    }
    // Units other than time and bytes are `none`; out-of-range types fall back to the default.
    let counts: serde_json::Value = serde_json::from_str(&write(&p, 0)).unwrap();
    assert_eq!(counts["profiles"][0]["unit"], "none");
    assert_eq!(counts["profiles"][0]["endValue"], 29);
    let fallback: serde_json::Value = serde_json::from_str(&write(&p, 9)).unwrap();
    assert_eq!(fallback["profiles"][0]["unit"], "nanoseconds");
    // A profile with nothing to weigh still has one (empty) profile.
    let empty = load_bytes("e.folded", b"a;b 0\n").unwrap();
    let json: serde_json::Value = serde_json::from_str(&write(&empty, 0)).unwrap();
    assert_eq!(json["profiles"][0]["samples"], serde_json::json!([]));
    assert_eq!(json["profiles"][0]["name"], "folded samples/count");
}

#[test]
fn pprof_through_speedscope_keeps_its_top_functions() {
    let p = load(&fixture("pprof/sample.cpu.pb.gz")).unwrap();
    let back = round_trip(&p, 1);
    assert_eq!(types(&back), ["samples/count", "wall/nanoseconds"]);
    let top = |p: &Profile, order| -> Vec<(String, i64, i64)> {
        p.top(1, order, 5, |_| true)
            .iter()
            .map(|s| {
                (
                    p.function_name(s.function).to_string(),
                    s.self_value,
                    s.total_value,
                )
            })
            .collect()
    };
    let expected = [
        ("runtime.mapiternext", 1_280_000_000, 1_370_000_000),
        ("main.busyLoop", 150_000_000, 1_760_000_000),
        ("math.Abs", 110_000_000, 110_000_000),
        ("runtime.evacuate", 60_000_000, 70_000_000),
        ("runtime.mapassign_fast64", 40_000_000, 130_000_000),
    ]
    .map(|(n, s, t)| (n.to_string(), s, t));
    assert_eq!(top(&back, Order::BySelf), expected);
    assert_eq!(top(&back, Order::ByTotal), top(&p, Order::ByTotal));
    assert_eq!(back.totals()[1], 1_760_000_000);
    // Function-level stacks: every function keeps its values, with its file.
    assert_eq!(function_stats(&back, 1), function_stats(&p, 1));
}
