//! Readers and queries, given real profiles from the fixtures and small hand-encoded ones.

use std::path::PathBuf;

use super::{Place, load, load_bytes};
use crate::model::{Order, Profile};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel)
}

fn id(p: &Profile, name: &str) -> u32 {
    p.functions_named(name)[0]
}

#[test]
fn reads_go_large_cpu_like_pprof() {
    let p = load(&fixture("pprof/large.cpu.pb.gz")).unwrap();
    assert_eq!(p.sample_type_label(0), "samples/count");
    assert_eq!(p.sample_type_label(1), "cpu/nanoseconds");
    assert_eq!(p.default_sample_type, 1);
    assert_eq!(p.totals(), [24029, 240_290_000_000]);
    assert_eq!(p.raw_sample_count, 20430);
    assert_eq!(p.period, Some(10_000_000));
    let top = p.top(1, Order::BySelf, 3, |_| true);
    let named: Vec<_> = top
        .iter()
        .map(|s| (p.function_name(s.function), s.self_value, s.total_value))
        .collect();
    assert_eq!(
        named,
        [
            ("time.Now", 205_170_000_000, 205_170_000_000),
            ("time.now", 22_910_000_000, 22_910_000_000),
            ("main.next", 8_810_000_000, 217_070_000_000),
        ]
    );
    let callers = p.neighbours(id(&p, "time.Now"), 1, true, 5);
    assert_eq!(p.function_name(callers[0].function), "main.next");
    assert_eq!(callers[0].value, 205_170_000_000);
}

#[test]
fn folded_recursion_counts_each_function_once_per_stack() {
    let p = load(&fixture("folded/recursion.txt")).unwrap();
    // a appears in every stack but `b;b`; b in every stack but `a;a`.
    assert_eq!(p.function_stat(id(&p, "a"), 0).total_value, 9);
    assert_eq!(p.function_stat(id(&p, "b"), 0).total_value, 9);
    assert_eq!(p.function_stat(id(&p, "a"), 0).self_value, 1);
    assert_eq!(p.function_stat(id(&p, "b"), 0).self_value, 5);
    assert_eq!(p.totals(), [10]);
}

#[test]
fn folded_queries_answer_callers_callees_and_sets() {
    let p = load(&fixture("folded/simple.txt")).unwrap();
    assert_eq!(p.raw_sample_count, 5);
    assert_eq!(p.stack_count(), 3, "identical stacks are merged");
    let b = id(&p, "b");
    let callees: Vec<_> = p
        .neighbours(b, 0, false, 10)
        .iter()
        .map(|e| (p.function_name(e.function), e.value))
        .collect();
    assert_eq!(callees, [("c", 5), ("d", 4)]);
    let callers: Vec<_> = p
        .neighbours(id(&p, "c"), 0, true, 10)
        .iter()
        .map(|e| (p.function_name(e.function), e.value))
        .collect();
    assert_eq!(callers, [("b", 5)]);
    assert_eq!(p.total_of(&[id(&p, "c"), id(&p, "d")], 0), 9);
    assert_eq!(p.stacks_containing(&[id(&p, "d")]).len(), 1);
}

/// Folded stacks are told by most lines being stacks, not by one line ending in a number:
/// every folded file of inferno's corpus is folded; a legacy pprof text profile (real Go
/// output), a TOML manifest and a key = value file are not.
#[test]
fn folded_is_most_lines_being_stacks() {
    use super::Reader;
    use super::folded::Folded;
    for entry in std::fs::read_dir(fixture("folded")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(Folded.sniff(&bytes), "{}", path.display());
        }
    }
    for name in [
        "pprof-text/heap.debug1.txt",
        "pprof-text/goroutine.debug1.txt",
        "../../Cargo.toml",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        assert!(!Folded.sniff(&bytes), "{name}");
        let err = load_bytes(name, &bytes).unwrap_err();
        assert!(
            err.to_string().contains("not a profile format"),
            "{name}: {err}"
        );
    }
    // The tail of a small heap profile: runtime.MemStats as `# Name = value` comments.
    let heap_tail =
        b"heap profile: 1: 8 [1: 8] @ heap/1\n1: 8 [1: 8] @ 0x1 0x2\n# NumGC = 4\n# DebugGC = 0\n";
    assert!(!Folded.sniff(heap_tail));
    assert!(!Folded.sniff(b"[profile.release]\nopt-level = 3\ndebug = 1\nlto = true\n"));
    // A stack whose count the head has not reached yet is still folded.
    assert!(Folded.sniff(b"main;parse;Regex::new"));
}

#[test]
fn folded_bad_lines_are_warnings_with_line_numbers() {
    let p = load_bytes("x.folded", b"a;b 3\r\nnot a stack\n\na;c 2\r\n").unwrap();
    assert_eq!(p.totals(), [5]);
    assert_eq!(p.warnings, ["line 2: not `frame;frame;... count`, skipped"]);
    let err = load_bytes("bad.folded", b"one line\nanother\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad.folded: not a profile format Joule reads (pprof, perf.data, perf script, folded stacks, speedscope, Chrome .cpuprofile or trace-event JSON; gzip is undone first)"
    );
}

/// A minimal protobuf writer for hand-made pprof inputs.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }
    fn int(&mut self, field: u32, v: u64) -> &mut Self {
        self.varint(u64::from(field) << 3).varint(v)
    }
    fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.varint((u64::from(field) << 3) | 2)
            .varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn msg(&mut self, field: u32, m: &Pb) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

/// Two functions, `inner` inlined into `outer` at one location, one plain `main` location.
fn inlined_profile() -> Vec<u8> {
    let mut p = Pb::default();
    let strings = [
        "",
        "samples",
        "count",
        "cpu",
        "nanoseconds",
        "inner",
        "outer",
        "main",
        "x.rs",
    ];
    p.msg(1, Pb::default().int(1, 1).int(2, 2));
    p.msg(1, Pb::default().int(1, 3).int(2, 4));
    // Sample: leaf location 1 (inline chain), then location 2.
    p.msg(2, Pb::default().int(1, 1).int(1, 2).int(2, 1).int(2, 1000));
    p.msg(2, Pb::default().int(1, 2).int(2, 2).int(2, 2000));
    p.msg(
        4,
        Pb::default()
            .int(1, 1)
            .msg(4, Pb::default().int(1, 1).int(2, 12))
            .msg(4, Pb::default().int(1, 2).int(2, 30)),
    );
    p.msg(
        4,
        Pb::default()
            .int(1, 2)
            .msg(4, Pb::default().int(1, 3).int(2, 7)),
    );
    for (id, name) in [(1, 5), (2, 6), (3, 7)] {
        p.msg(
            5,
            Pb::default()
                .int(1, id)
                .int(2, name)
                .int(3, name)
                .int(4, 8)
                .int(5, 1),
        );
    }
    for s in strings {
        p.bytes(6, s.as_bytes());
    }
    p.0
}

#[test]
fn pprof_inline_chains_become_frames_leaf_first() {
    let p = load_bytes("inline.pb", &inlined_profile()).unwrap();
    assert_eq!(p.default_sample_type, 1, "the last type is the default");
    let frames: Vec<(String, u32)> = p
        .frames_of(0)
        .map(|f| (p.function_name(f.function).to_string(), f.line))
        .collect();
    assert_eq!(
        frames,
        [
            ("inner".into(), 12),
            ("outer".into(), 30),
            ("main".into(), 7)
        ]
    );
    assert_eq!(p.function_stat(id(&p, "inner"), 1).self_value, 1000);
    assert_eq!(p.function_stat(id(&p, "outer"), 1).self_value, 0);
    assert_eq!(p.function_stat(id(&p, "main"), 1).total_value, 3000);
    let lines = p.lines(id(&p, "main"), 1, 10);
    assert_eq!(
        (lines[0].line, lines[0].self_value, lines[0].total_value),
        (7, 2000, 3000)
    );
    assert_eq!(p.str(p.functions[id(&p, "inner") as usize].file), "x.rs");
}

#[test]
fn pprof_errors_name_the_byte() {
    let data = inlined_profile();
    // Cut inside the second sample message: the length prefix promises more than remains.
    let err = load_bytes("cut.pb", &data[..20]).unwrap_err();
    assert_eq!(err.place, Place::Byte(13));
    assert!(
        err.to_string()
            .starts_with("cut.pb: byte 13: field 2 claims"),
        "{err}"
    );

    // A sample pointing at a location that does not exist.
    let mut bad = Pb::default();
    bad.msg(1, Pb::default().int(1, 1).int(2, 2));
    bad.msg(2, Pb::default().int(1, 99).int(2, 1));
    for s in ["", "samples", "count"] {
        bad.bytes(6, s.as_bytes());
    }
    let err = load_bytes("dangling.pb", &bad.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dangling.pb: byte 6: sample refers to location 99, which the profile does not define"
    );

    // A string index past the table.
    let mut bad = Pb::default();
    bad.msg(1, Pb::default().int(1, 7).int(2, 0));
    bad.bytes(6, b"");
    let err = load_bytes("strings.pb", &bad.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "strings.pb: byte 2: sample_type.type refers to string 7 but the string table has 1 entries"
    );
}

#[test]
fn huge_values_saturate_instead_of_overflowing() {
    let max = i64::MAX;
    let text = format!("main;a {max}\nmain;b {max}\nmain;a {max}\n");
    let p = load_bytes("huge.folded", text.as_bytes()).unwrap();
    assert_eq!(p.totals(), [max]);
    assert_eq!(p.function_stat(id(&p, "main"), 0).total_value, max);
    assert_eq!(p.total_of(&[id(&p, "a"), id(&p, "b")], 0), max);
    assert_eq!(p.top(0, Order::ByTotal, 1, |_| true)[0].total_value, max);
}

#[test]
fn folded_utf16_and_crlf_read_like_plain_utf8() {
    let plain = load(&fixture("folded/simple.txt")).unwrap();
    let expected = crate::export::folded::write(&plain, 0);
    for name in [
        "simple-crlf.txt",
        "simple-utf16-le.txt",
        "simple-utf16-be.txt",
    ] {
        let p = load(&fixture(&format!("folded/{name}"))).unwrap();
        assert_eq!(crate::export::folded::write(&p, 0), expected, "{name}");
        assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
    }
    assert_eq!(expected, "a;b 5\na;b;c 5\na;b;d 4\n");
}

#[test]
fn folded_differential_form_has_base_and_new() {
    let p = load_bytes("diff.folded", b"main;a 10 12\nmain;b 5 0\nmain;c 0 7\n").unwrap();
    assert_eq!(p.sample_type_label(0), "base/count");
    assert_eq!(p.sample_type_label(1), "new/count");
    assert_eq!(p.default_sample_type, 1);
    assert_eq!(p.totals(), [15, 19]);
    assert_eq!(
        crate::export::folded::write_diff(&p, 0, &p, 1),
        "main;a 10 12\nmain;b 5 0\nmain;c 0 7\n"
    );
    // A frame name ending in a number does not make a file differential.
    let p = load_bytes("x.folded", b"thread 42;run 3\nthread 43;run 4\n").unwrap();
    assert_eq!(p.sample_types.len(), 1);
    assert_eq!(p.totals(), [7]);
}

#[test]
fn folded_real_file_round_trips_exactly() {
    // A real 260 KB collapse of a Vert.x perf profile: reading then writing gives the same
    // multiset of lines.
    let path = fixture("folded/perf-vertx-stacks-01-collapsed-all.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let p = load(&path).unwrap();
    let mut original: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    original.sort();
    let written = crate::export::folded::write(&p, 0);
    let mut ours: Vec<&str> = written.lines().collect();
    ours.sort();
    assert_eq!(ours.len(), original.len());
    if let Some((a, b)) = ours.iter().zip(&original).find(|(a, b)| a != b) {
        panic!("first difference:\n ours: {a:?}\n file: {b:?}");
    }
}

#[test]
fn pprof_writer_round_trips_the_model() {
    for name in [
        "pprof/large.cpu.pb.gz",
        "pprof/sample.cpu.pb.gz",
        "folded/recursion.txt",
    ] {
        let p = load(&fixture(name)).unwrap();
        let again = load_bytes("again.pb.gz", &crate::export::pprof::write_gz(&p)).unwrap();
        assert_eq!(again.sample_types.len(), p.sample_types.len(), "{name}");
        assert_eq!(again.default_sample_type, p.default_sample_type, "{name}");
        assert_eq!(again.totals(), p.totals(), "{name}");
        assert_eq!(again.period, p.period, "{name}");
        for t in 0..p.sample_types.len() {
            assert_eq!(
                crate::export::folded::write(&again, t),
                crate::export::folded::write(&p, t),
                "{name}, type {t}"
            );
        }
        let top = |p: &Profile| -> Vec<(String, i64, i64)> {
            let t = p.default_sample_type;
            p.top(t, Order::BySelf, 10, |_| true)
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
        assert_eq!(top(&again), top(&p), "{name}");
    }
}

#[test]
fn a_view_of_some_stacks_holds_only_their_functions_and_strings() {
    let p = load(&fixture("pprof/large.cpu.pb.gz")).unwrap();
    let next = id(&p, "main.next");
    let view = p.retain_stacks(|i| {
        p.stack(i)
            .iter()
            .any(|&f| p.frames[f as usize].function == next)
    });
    assert!(view.stack_count() > 0 && view.stack_count() < p.stack_count());
    // Every function and string of the view is used by a kept stack: nothing of the samples
    // left out can be read through it.
    let mut used = vec![false; view.functions.len()];
    for i in 0..view.stack_count() {
        for &f in view.stack(i) {
            used[view.frames[f as usize].function as usize] = true;
        }
    }
    assert!(
        used.iter().all(|&u| u),
        "the view keeps functions no kept stack uses"
    );
    assert!(view.functions.len() < p.functions.len());
    assert!(view.strings.len() < p.strings.len());
    // The same numbers for what it keeps, under its own ids.
    let t = p.default_sample_type;
    let in_view = id(&view, "main.next");
    assert_eq!(
        view.function_stat(in_view, t).total_value,
        p.function_stat(next, t).total_value
    );
    assert_eq!(view.sample_type_label(t), p.sample_type_label(t));
    // A view costs what it keeps: one stack's view is a small fraction of the profile.
    let one = p.retain_stacks(|i| i == 0);
    assert!(one.heap_bytes() * 100 < p.heap_bytes());
}

/// A stack as compared: frames (function and line), labels, values.
type StackSeen = (Vec<(String, u32)>, Vec<String>, Vec<i64>);

/// Everything a reader puts in the model that the two ways of reading pprof must agree on:
/// every stack's frames, labels and values, in order.
fn model_of(p: &Profile) -> Vec<StackSeen> {
    (0..p.stack_count())
        .map(|i| {
            let frames = p
                .frames_of(i)
                .map(|f| (p.function_name(f.function).to_string(), f.line))
                .collect();
            let labels = p
                .labels_of(i)
                .iter()
                .map(|l| format!("{}={:?}", p.str(l.key), l.value))
                .collect();
            (frames, labels, p.stack_values(i).to_vec())
        })
        .collect()
}

fn inflated(rel: &str) -> Vec<u8> {
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&std::fs::read(fixture(rel)).unwrap()[..]),
        &mut raw,
    )
    .unwrap();
    raw
}

#[test]
fn pprof_on_two_threads_reads_what_one_thread_reads() {
    // Go's large.cpu: 20,430 samples, a dozen locations with inlined calls.
    let data = inflated("pprof/large.cpu.pb.gz");
    let one = super::pprof::decode_on(&data, false).unwrap();
    let two = super::pprof::decode_on(&data, true).unwrap();
    assert_eq!(one.stack_count(), two.stack_count());
    assert!(one.stack_count() > 10_000);
    assert_eq!(model_of(&one), model_of(&two));
    assert_eq!(one.totals(), [24029, 240_290_000_000]);
    assert_eq!(one.raw_sample_count, two.raw_sample_count);
    // Some stacks hold an inlined location's frames: more frames than location ids.
    let ids: usize = 499_745;
    assert!(one.stack_frames.len() > ids, "{}", one.stack_frames.len());
}

/// A pprof of `samples` samples over `locations` locations, every tenth an inlined pair, with
/// labels on some samples, location ids written unpacked in others, ids starting at `first_id`
/// (large ones make the id table sparse).
fn synthetic_pprof(samples: usize, locations: u64, first_id: u64) -> Vec<u8> {
    let mut p = Pb::default();
    p.msg(1, Pb::default().int(1, 1).int(2, 2));
    p.msg(1, Pb::default().int(1, 3).int(2, 4));
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    for s in 0..samples {
        let depth = 5 + next(30);
        let ids: Vec<u64> = (0..depth).map(|_| first_id + next(locations)).collect();
        let mut sample = Pb::default();
        if s % 7 == 3 {
            for &id in &ids {
                sample.int(1, id);
            }
        } else {
            let mut packed = Pb::default();
            for &id in &ids {
                packed.varint(id);
            }
            sample.msg(1, &packed);
        }
        let mut values = Pb::default();
        values.varint(1).varint(10_000_000);
        sample.msg(2, &values);
        if s % 5 == 0 {
            sample.msg(3, Pb::default().int(1, 5).int(2, 6 + (s % 3) as u64));
        }
        p.msg(2, &sample);
    }
    for l in 0..locations {
        let mut location = Pb::default();
        location.int(1, first_id + l);
        location.msg(4, Pb::default().int(1, l + 1).int(2, 10 + l));
        if l % 10 == 0 {
            location.msg(4, Pb::default().int(1, ((l + 1) % locations) + 1).int(2, 7));
        }
        p.msg(4, &location);
    }
    for f in 0..locations {
        p.msg(5, Pb::default().int(1, f + 1).int(2, 9 + f));
    }
    for s in [
        "",
        "samples",
        "count",
        "cpu",
        "nanoseconds",
        "thread",
        "a",
        "b",
        "c",
    ] {
        p.bytes(6, s.as_bytes());
    }
    for f in 0..locations {
        p.bytes(6, format!("f{f}").as_bytes());
    }
    p.0
}

#[test]
fn pprof_on_two_threads_agrees_on_inlined_unpacked_labelled_and_sparse_ids() {
    for first_id in [1, 1 << 40] {
        let data = synthetic_pprof(20_000, 3_000, first_id);
        assert!(data.len() > 512 * 1024, "{}", data.len());
        let one = super::pprof::decode_on(&data, false).unwrap();
        let two = super::pprof::decode_on(&data, true).unwrap();
        assert_eq!(model_of(&one), model_of(&two));
        assert_eq!(one.raw_sample_count, 20_000);
        assert_eq!(one.totals(), [20_000, 200_000_000_000]);
        let labelled = (0..one.stack_count())
            .filter(|&i| !one.labels_of(i).is_empty())
            .count();
        assert!(labelled >= 3_000, "{labelled}");
        let load = load_bytes("synthetic.pb", &data).unwrap();
        assert_eq!(model_of(&load), model_of(&one));
    }
}

/// A top-level sample field: location ids `packed`, values 1 and 1.
fn sample_field(packed: &Pb) -> Vec<u8> {
    let mut values = Pb::default();
    values.varint(1).varint(1);
    let mut sample = Pb::default();
    sample.msg(1, packed).msg(2, &values);
    let mut field = Pb::default();
    field.msg(2, &sample);
    field.0
}

/// The error reading `data` on two threads or one, in file `t.pb`.
fn pprof_error(data: &[u8], two: bool) -> String {
    super::pprof::decode_on(data, two)
        .unwrap_err()
        .in_file("t.pb")
        .to_string()
}

#[test]
fn pprof_errors_name_the_sample_on_either_thread() {
    let mut data = synthetic_pprof(20_000, 3_000, 1);
    // A last sample referring to a location no one defines, appended after everything.
    let offset = data.len();
    let mut packed = Pb::default();
    packed.varint(1).varint(99_999);
    data.extend_from_slice(&sample_field(&packed));
    let expected = format!(
        "t.pb: byte {offset}: sample refers to location 99999, which the profile does not define"
    );
    for two in [false, true] {
        assert_eq!(pprof_error(&data, two), expected, "two threads: {two}");
    }

    // An id of eleven bytes in the middle of a packed run: malformed, named where it starts.
    let mut data = synthetic_pprof(20_000, 3_000, 1);
    let offset = data.len();
    let mut packed = Pb::default();
    packed.varint(1);
    packed.0.extend_from_slice(&[0xff; 10]);
    packed.varint(2);
    data.extend_from_slice(&sample_field(&packed));
    for two in [false, true] {
        // The tag, the sample's length, the ids' tag and length, then the first id.
        assert_eq!(
            pprof_error(&data, two),
            format!(
                "t.pb: byte {}: malformed varint: longer than 10 bytes",
                offset + 2 + 2 + 1
            ),
            "two threads: {two}"
        );
    }
}

#[test]
fn pprof_on_two_threads_names_the_first_bad_sample() {
    // Bad samples at both ends: the two threads decode from either end, and the error is the
    // first sample's, as reading in order gives it.
    let bad = |location: u64| {
        let mut packed = Pb::default();
        packed.varint(1).varint(location);
        sample_field(&packed)
    };
    let mut data = bad(99_998);
    data.extend_from_slice(&synthetic_pprof(20_000, 3_000, 1));
    data.extend_from_slice(&bad(99_999));
    for two in [false, true] {
        assert_eq!(
            pprof_error(&data, two),
            "t.pb: byte 0: sample refers to location 99998, which the profile does not define",
            "two threads: {two}"
        );
    }
}

#[test]
fn pprof_stacks_longer_than_the_copy_limit_are_read_alike() {
    // Twenty stacks of 70 x 1,000 inlined frames and one more: past the most a stack is
    // decoded apart (65,536 frames), so decoded in place, on either thread.
    let data = amplifying_pprof(1_000, 20, 70, true);
    let one = super::pprof::decode_on(&data, false).unwrap();
    let two = super::pprof::decode_on(&data, true).unwrap();
    assert_eq!(one.stack_count(), 20);
    assert_eq!(one.stack_frames.len(), 20 * 70_001);
    assert_eq!(model_of(&one), model_of(&two));
}

/// A pprof whose location 1 is an inline chain of `lines` frames, with `stacks` samples, each
/// location 1 `repeats` times and then a distinct location (2..), padded past the two-thread
/// size when `pad`: `stacks * repeats * lines` frames from a small file.
fn amplifying_pprof(lines: u64, stacks: u64, repeats: usize, pad: bool) -> Vec<u8> {
    let mut p = Pb::default();
    p.msg(1, Pb::default().int(1, 1).int(2, 2));
    let mut chain = Pb::default();
    chain.int(1, 1);
    for _ in 0..lines {
        chain.msg(4, Pb::default().int(1, 1).int(2, 1));
    }
    p.msg(4, &chain);
    for s in 0..stacks {
        p.msg(
            4,
            Pb::default().int(1, s + 2).msg(4, Pb::default().int(1, 1)),
        );
        let mut ids = Pb::default();
        for _ in 0..repeats {
            ids.varint(1);
        }
        ids.varint(s + 2);
        p.msg(2, Pb::default().msg(1, &ids).int(2, 1));
    }
    p.msg(5, Pb::default().int(1, 1).int(2, 3));
    for s in ["", "samples", "count", "f"] {
        p.bytes(6, s.as_bytes());
    }
    if pad {
        // An unknown field the readers skip.
        p.bytes(99, &vec![b'x'; 600 * 1024]);
    }
    p.0
}

/// A broken table is the error given, though the stacks (amplified, here) are decoded while
/// the rest of the tables is built.
#[test]
fn pprof_table_errors_come_before_stack_errors_on_either_thread() {
    let mut data = amplifying_pprof(1_000, 2_000, 50, true);
    let mut location = Pb::default();
    location.msg(
        4,
        Pb::default()
            .int(1, 99_999)
            .msg(4, Pb::default().int(1, 999).int(2, 1)),
    );
    data.extend_from_slice(&location.0);
    for two in [false, true] {
        let e = pprof_error(&data, two);
        assert!(
            e.contains("location line refers to function 999, which the profile does not define"),
            "two threads {two}: {e}"
        );
    }
}

/// Inline chains times repeated locations: refused past the frame budget, at the sample that
/// crosses it, by both readers, without building the stacks first (the old reader's bound).
#[test]
fn pprof_inline_amplification_is_refused_on_either_thread() {
    // One sample of 40,000 x 2,000 = 80 million frames.
    let one = amplifying_pprof(2_000, 1, 40_000, false);
    // 2,000 samples of 50 x 1,000 frames: 100 million in all, 50,000 a stack; more than half
    // of them on each thread.
    let many = amplifying_pprof(1_000, 2_000, 50, true);
    for (name, data) in [("one", &one), ("many", &many)] {
        for two in [false, true] {
            let e = pprof_error(data, two);
            assert!(
                e.contains("expand to more than 67108864 frames; refusing the profile as hostile"),
                "{name}, two threads {two}: {e}"
            );
        }
    }
}
