//! Robustness of the readers and writers: property tests (round trips, arbitrary bytes,
//! truncation at any point) and hostile inputs (huge claimed lengths, gzip bombs, very deep
//! stacks, huge tables). Every input must give a profile or an error that says where it broke,
//! within bounded memory and time; none may panic.
//!
//! The fuzz targets in `fuzz/` (`make fuzz`) explore the same readers further; inputs they found
//! crashing are kept in `testdata/crashes/` and replayed by the `fuzz_crash_*` tests below.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::{
    ChromeCpuProfile, Folded, IngestError, Perf, Place, Pprof, ReadOptions, Reader, Speedscope,
    TraceEvent, load, load_bytes,
};
use crate::export;
use crate::model::{Order, Profile, ProfileBuilder};

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn fixture(rel: &str) -> PathBuf {
    repo("tests/fixtures").join(rel)
}

/// A file's bytes, inflated when gzipped.
fn bytes_of(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if raw.starts_with(&crate::gzip::MAGIC) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

/// Runs the queries and writers a skill or `joule profile` would on `p`; panics are the failure.
fn exercise(p: &Profile) {
    let totals = p.totals();
    assert_eq!(totals.len(), p.sample_type_count());
    for t in 0..p.sample_type_count().min(4) {
        let top = p.top(t, Order::ByTotal, 3, |_| true);
        let _ = p.top(t, Order::BySelf, 3, |_| true);
        if let Some(s) = top.first() {
            let _ = p.neighbours(s.function, t, true, 5);
            let _ = p.neighbours(s.function, t, false, 5);
            let _ = p.lines(s.function, t, 5);
            let _ = p.subtree(&[s.function], t, 5);
        }
        let _ = p.label_totals(t);
    }
    let _ = p.retain_stacks(|i| i % 2 == 0).totals();
    let t = p.default_sample_type;
    let _ = export::folded::write(p, t);
    let _ = export::speedscope::write(p, t);
    let back = Pprof
        .read(&export::pprof::encode(p), &ReadOptions::default())
        .expect("Joule's pprof reads back");
    assert_eq!(back.sample_type_count(), p.sample_type_count());
}

/// Self and total per function name in sample type `t`, from the model's own query. Names must
/// be unique among the functions with a value (they are in the profiles built here).
fn by_name(p: &Profile, t: usize) -> BTreeMap<String, (i64, i64)> {
    let mut out = BTreeMap::new();
    for s in p.top(t, Order::ByTotal, usize::MAX, |_| true) {
        let name = p.function_name(s.function).to_string();
        let previous = out.insert(name.clone(), (s.self_value, s.total_value));
        assert!(previous.is_none(), "two functions named {name:?}");
    }
    out
}

/// Folded text as a map from stack to summed count.
fn parse_folded(text: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let (stack, count) = line.rsplit_once(' ').expect("`stack count`");
        *out.entry(stack.to_string()).or_default() += count.parse::<i64>().unwrap();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Where an error says the input broke.

/// Errors about the file as a whole, where no single place is to blame (nothing usable was
/// found anywhere). Everything else must name a byte, a line or a JSON path.
const WHOLE_FILE_ERRORS: [&str; 9] = [
    "no folded stack lines found",
    "no perf script samples",
    "the profile declares no sample types",
    "the profile has no samples",
    "no samples: every profile in the file is empty",
    "no CPU profile samples in the trace",
    "neither `nodes` nor `head`",
    "no `traceEvents` array",
    "the profile is empty",
];

/// True when the error names a place: a byte, a line, or a JSON member or path
/// (`profiles[0].events[6]`, `` `shared` ``).
fn names_place(e: &IngestError) -> bool {
    match e.place {
        Place::Byte(_) | Place::Line(_) => true,
        Place::File => {
            let path = regex::Regex::new(r"[A-Za-z]\w*(\[\d+\])+|`[A-Za-z$][\w.]*`").unwrap();
            path.is_match(&e.message)
        }
    }
}

fn is_whole_file(e: &IngestError) -> bool {
    e.place == Place::File && WHOLE_FILE_ERRORS.iter().any(|m| e.message.starts_with(m))
}

// ---------------------------------------------------------------------------------------------
// Property: folded -> model -> folded.

/// Frame names: ASCII, accented and CJK text, emoji, `_[k]`-style annotations; no spaces.
const NAMES: [&str; 14] = [
    "main",
    "parse_line",
    "Regex::new",
    "<alloc::vec::Vec<T>>::push",
    "café",
    "日本語",
    "λ",
    "🦀::run",
    "do_syscall_64_[k]",
    "Interpreter_[j]",
    "inlined_[i]",
    "[libc.so.6]",
    "a-b.c",
    "(anonymous)",
];

fn stack_strategy() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(&NAMES[..]), 1..30)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The folded text Joule writes equals its input as a multiset: the same stacks with the
    /// same summed counts, one line each.
    #[test]
    fn folded_round_trip(
        stacks in prop::collection::vec((stack_strategy(), 1i64..1000), 1..40),
        repeat in 0usize..10,
        crlf in any::<bool>(),
    ) {
        let mut lines: Vec<(String, i64)> =
            stacks.iter().map(|(s, c)| (s.join(";"), *c)).collect();
        let again: Vec<(String, i64)> = lines.iter().take(repeat).cloned().collect();
        lines.extend(again);
        let end = if crlf { "\r\n" } else { "\n" };
        let input: String = lines.iter().map(|(s, c)| format!("{s} {c}{end}")).collect();
        let mut expected: BTreeMap<String, i64> = BTreeMap::new();
        for (s, c) in &lines {
            *expected.entry(s.clone()).or_default() += c;
        }

        let p = Folded.read(input.as_bytes(), &ReadOptions::default()).unwrap();
        prop_assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        prop_assert_eq!(p.raw_sample_count, lines.len() as u64);
        let text = export::folded::write(&p, 0);
        let written: Vec<&str> = text.lines().collect();
        prop_assert_eq!(written.len(), expected.len(), "one line per distinct stack");
        prop_assert!(written.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        prop_assert_eq!(parse_folded(&text), expected);
        // And the text reads back to the same model values.
        let back = Folded.read(text.as_bytes(), &ReadOptions::default()).unwrap();
        prop_assert_eq!(back.totals(), p.totals());
        prop_assert_eq!(by_name(&back, 0), by_name(&p, 0));
    }
}

// ---------------------------------------------------------------------------------------------
// Property: model -> pprof -> model and model -> speedscope -> model.

/// A profile made from generated stacks (indices into [`NAMES`], lines), with two sample types
/// (`samples/count`, `cpu/nanoseconds`) and an optional thread label.
#[derive(Clone, Debug)]
struct Generated {
    samples: Vec<GeneratedSample>,
}

/// Frames (name index, line) leaf first, a count, nanoseconds, and the thread label.
type GeneratedSample = (Vec<(usize, u32)>, i64, i64, Option<&'static str>);

fn generated_strategy() -> impl Strategy<Value = Generated> {
    let frame = (0..NAMES.len(), 0u32..40);
    let sample = (
        prop::collection::vec(frame, 1..25),
        1i64..100,
        1i64..5_000_000,
        prop::option::of(prop::sample::select(&["main", "worker-1", "worker-2"][..])),
    );
    prop::collection::vec(sample, 1..40).prop_map(|samples| Generated { samples })
}

fn build(g: &Generated) -> Profile {
    let mut b = ProfileBuilder::new(crate::model::Format::Folded);
    b.set_sample_types(&[("samples", "count"), ("cpu", "nanoseconds")], 1);
    let mut frames = Vec::new();
    for (stack, count, nanos, thread) in &g.samples {
        frames.clear();
        for &(name, line) in stack {
            let name = NAMES[name];
            let function = b.function(name, name, &format!("src/{name}.rs"), 1);
            frames.push(b.frame(function, line));
        }
        let labels = match thread {
            Some(t) => {
                let label = b.str_label("thread", t);
                b.label_set(&[label])
            }
            None => 0,
        };
        b.add_labeled_sample(&frames, labels, &[*count, *nanos]);
    }
    b.finish()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// pprof keeps every sample type's per-function self and total, and the totals.
    #[test]
    fn pprof_round_trip_keeps_function_values(g in generated_strategy()) {
        let p = build(&g);
        for back in [
            Pprof.read(&export::pprof::encode(&p), &ReadOptions::default()).unwrap(),
            load_bytes("round-trip.pb.gz", &export::pprof::write_gz(&p)).unwrap(),
        ] {
            prop_assert_eq!(back.totals(), p.totals());
            prop_assert_eq!(back.default_sample_type, p.default_sample_type);
            prop_assert_eq!(back.stack_count(), p.stack_count());
            for t in 0..2 {
                prop_assert_eq!(by_name(&back, t), by_name(&p, t));
            }
        }
    }

    /// speedscope keeps the chosen sample type's per-function self and total (its weights are
    /// that type's values; the other type becomes a count of samples).
    #[test]
    fn speedscope_round_trip_keeps_function_values(g in generated_strategy()) {
        let p = build(&g);
        for t in 0..2 {
            let json = export::speedscope::write(&p, t);
            let back = Speedscope.read(json.as_bytes(), &ReadOptions::default()).unwrap();
            prop_assert!(back.warnings.is_empty(), "{:?}", back.warnings);
            // samples/count, then the type of the unit written (nanoseconds, or `none`).
            prop_assert_eq!(back.sample_type_count(), 2);
            prop_assert_eq!(back.totals()[1], p.totals()[t]);
            prop_assert_eq!(by_name(&back, 1), by_name(&p, t));
            prop_assert_eq!(back.raw_sample_count, p.stack_count() as u64);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Property: arbitrary bytes after a realistic start never make a reader panic.

/// Realistic starts for each reader: a real file's head, which the generated bytes then follow.
fn headers() -> Vec<(&'static dyn Reader, Vec<u8>)> {
    let text = |s: &str| s.as_bytes().to_vec();
    vec![
        (&Pprof, bytes_of(&fixture("pprof/sample.cpu.pb.gz"))),
        (&Perf, bytes_of(&fixture("perf/go-stacks.txt"))),
        (
            &Perf,
            text(
                "java 25607 4794564.109216: 1 cycles:\n\t7f53389994d0 a->b->c (/tmp/perf-1.map)\n",
            ),
        ),
        (&Folded, bytes_of(&fixture("folded/simple.txt"))),
        (&Folded, bytes_of(&fixture("folded/simple-utf16-le.txt"))),
        (
            &Speedscope,
            bytes_of(&fixture("speedscope/0.6.0/two-sampled.speedscope.json")),
        ),
        (
            &Speedscope,
            bytes_of(&fixture("speedscope/0.0.1/simple.speedscope.json")),
        ),
        (
            &ChromeCpuProfile,
            bytes_of(&fixture("chrome/simple.cpuprofile")),
        ),
        (
            &ChromeCpuProfile,
            bytes_of(&fixture("chrome/node-example.cpuprofile")),
        ),
        (&TraceEvent, bytes_of(&fixture("chrome/simple-trace.json"))),
    ]
}

/// Reads `data` with `reader` and, separately, by detection; exercises what comes back.
fn read_any(reader: &dyn Reader, data: &[u8]) {
    if let Ok(p) = reader.read(data, &ReadOptions::default()) {
        exercise(&p);
    }
    if let Ok(p) = load_bytes("generated", data) {
        exercise(&p);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A real file's first `keep` bytes, then arbitrary bytes.
    #[test]
    fn arbitrary_bytes_after_a_real_head_never_panic(
        which in 0usize..10,
        keep in 0usize..4096,
        tail in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let headers = headers();
        let (reader, head) = &headers[which % headers.len()];
        let mut data = head[..keep.min(head.len())].to_vec();
        data.extend_from_slice(&tail);
        read_any(*reader, &data);
    }

    /// A real file with a few bytes overwritten.
    #[test]
    fn real_files_with_bytes_changed_never_panic(
        which in 0usize..10,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let headers = headers();
        let (reader, file) = &headers[which % headers.len()];
        let mut data = file.clone();
        for (at, byte) in edits {
            let i = at.index(data.len());
            data[i] = byte;
        }
        read_any(*reader, &data);
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation: every fixture, cut anywhere, reads or says where it broke.

/// The fixtures each reader is cut on.
fn truncation_fixtures() -> Vec<(&'static dyn Reader, PathBuf)> {
    let mut out: Vec<(&'static dyn Reader, PathBuf)> = vec![
        (&Pprof, fixture("pprof/sample.cpu.pb.gz")),
        (&Pprof, repo("example/profiles/logscan.pb.gz")),
        (&Perf, fixture("perf/example-perf-stacks.txt.gz")),
        (&ChromeCpuProfile, fixture("chrome/simple.cpuprofile")),
        (&ChromeCpuProfile, fixture("chrome/node-example.cpuprofile")),
        (&TraceEvent, fixture("chrome/simple-trace.json")),
    ];
    for dir in ["perf", "folded"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(fixture(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        for f in files {
            let reader: &'static dyn Reader = if dir == "perf" { &Perf } else { &Folded };
            out.push((reader, f));
        }
    }
    for f in [
        "0.0.1/simple.speedscope.json",
        "0.0.1/simple-no-pretty-print.speedscope.json",
        "0.1.2/simple-sampled.speedscope.json",
        "0.6.0/two-sampled.speedscope.json",
        "invalid/incomplete-trace.json",
        "invalid/out-of-order-events.json",
    ] {
        out.push((&Speedscope, fixture("speedscope").join(f)));
    }
    out
}

/// Cut points: all of them for a small file; else the first 512, the last few, and a stride
/// between that keeps the bytes read to about 32 MiB per file (the test runs unoptimised).
fn cut_points(len: usize) -> Vec<usize> {
    if len <= 4096 {
        return (0..len).collect();
    }
    let tail = if len <= 256 << 10 { 512 } else { 16 };
    let middle = ((32 << 20) / len).clamp(50, 1500);
    let stride = (len / middle).max(1);
    let mut cuts: Vec<usize> = (0..512).chain(len - tail..len).collect();
    cuts.extend((512..len - tail).step_by(stride));
    cuts
}

/// The outcome of reading a cut: a profile, a placed error, or a whole-file error.
#[derive(Debug, Default)]
struct Outcomes {
    ok: usize,
    placed: usize,
    whole_file: BTreeMap<String, usize>,
    unplaced: Vec<(usize, String)>,
}

fn read_cut(reader: &dyn Reader, data: &[u8], cut: usize, out: &mut Outcomes) {
    match reader.read(&data[..cut], &ReadOptions::default()) {
        Ok(p) => {
            out.ok += 1;
            let _ = p.totals();
            let _ = p.top(p.default_sample_type, Order::BySelf, 3, |_| true);
        }
        Err(problem) => {
            let e = problem.in_file("cut");
            if names_place(&e) {
                out.placed += 1;
            } else if is_whole_file(&e) {
                let kind = WHOLE_FILE_ERRORS
                    .iter()
                    .find(|m| e.message.starts_with(*m))
                    .unwrap();
                *out.whole_file.entry(kind.to_string()).or_default() += 1;
            } else {
                out.unplaced.push((cut, e.to_string()));
            }
        }
    }
}

/// Every fixture cut at every point (a stride in big ones) reads, or fails with an error naming
/// a byte, a line or a JSON path; the only exceptions are errors about the whole file having no
/// usable content (a folded or perf file cut before its first complete stack), listed in
/// [`WHOLE_FILE_ERRORS`]. The tally is printed (`--nocapture`).
#[test]
fn truncated_fixtures_fail_with_a_place() {
    let mut unplaced = Vec::new();
    for (reader, path) in truncation_fixtures() {
        let data = bytes_of(&path);
        let mut out = Outcomes::default();
        for cut in cut_points(data.len()).into_iter().chain([data.len()]) {
            read_cut(reader, &data, cut, &mut out);
        }
        let name = path.strip_prefix(repo("")).unwrap_or(&path).display();
        eprintln!(
            "{name} ({} bytes): {} ok, {} placed errors, whole-file {:?}, {} unplaced",
            data.len(),
            out.ok,
            out.placed,
            out.whole_file,
            out.unplaced.len()
        );
        unplaced.extend(
            out.unplaced
                .iter()
                .take(3)
                .map(|(cut, e)| format!("{name} cut at {cut}: {e}")),
        );
    }
    assert!(
        unplaced.is_empty(),
        "errors that name no place:\n{}",
        unplaced.join("\n")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The same, at random cut points of the big fixtures (the test above strides over them).
    #[test]
    fn big_fixtures_cut_anywhere_fail_with_a_place(which in 0usize..4, at in any::<prop::sample::Index>()) {
        let files: [(&dyn Reader, PathBuf); 4] = [
            (&Pprof, repo("example/profiles/logscan.pb.gz")),
            (&Perf, fixture("perf/example-perf-stacks.txt.gz")),
            (&Perf, fixture("perf/perf-rust-Yamakaky-dcpu.txt")),
            (&Folded, fixture("folded/perf-vertx-stacks-01-collapsed-all.txt")),
        ];
        let (reader, path) = &files[which];
        let data = bytes_of(path);
        let mut out = Outcomes::default();
        read_cut(*reader, &data, at.index(data.len() + 1), &mut out);
        prop_assert!(out.unplaced.is_empty(), "{:?}", out.unplaced);
    }
}

/// A gzipped profile cut anywhere fails with the compressed offset.
#[test]
fn truncated_gzip_names_the_compressed_offset() {
    let gz = std::fs::read(fixture("pprof/sample.cpu.pb.gz")).unwrap();
    for cut in 2..gz.len() - 1 {
        let e = load_bytes("cut.pb.gz", &gz[..cut]).unwrap_err();
        match e.place {
            Place::Byte(b) => assert!(b <= cut as u64, "{e}"),
            _ => panic!("cut at {cut}: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs.

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

fn len_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    tag(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    tag(out, field, 0);
    varint(out, v);
}

/// `sample_type { type: 1, unit: 2 }`, and the strings "", "samples", "count", "f": the start
/// of a minimal pprof with one function (id 1) at one location (id 1).
fn pprof_prelude() -> Vec<u8> {
    let mut p = Vec::new();
    let mut vt = Vec::new();
    varint_field(&mut vt, 1, 1);
    varint_field(&mut vt, 2, 2);
    len_field(&mut p, 1, &vt);
    let mut function = Vec::new();
    varint_field(&mut function, 1, 1);
    varint_field(&mut function, 2, 3);
    len_field(&mut p, 5, &function);
    let mut line = Vec::new();
    varint_field(&mut line, 1, 1);
    let mut location = Vec::new();
    varint_field(&mut location, 1, 1);
    len_field(&mut location, 4, &line);
    len_field(&mut p, 4, &location);
    for s in ["", "samples", "count", "f"] {
        len_field(&mut p, 6, s.as_bytes());
    }
    p
}

#[test]
fn pprof_claiming_a_multi_gigabyte_field_is_refused_at_its_offset() {
    // The very first field claims 5 GiB.
    let mut data = Vec::new();
    tag(&mut data, 1, 2);
    varint(&mut data, 5 << 30);
    data.extend_from_slice(&[0; 64]);
    let e = Pprof
        .read(&data, &ReadOptions::default())
        .unwrap_err()
        .in_file("huge.pb");
    assert_eq!(e.place, Place::Byte(1), "{e}");
    assert!(e.message.contains("claims 5368709120 bytes"), "{e}");
    // Detection does not take a file whose first field cannot be read for pprof: unknown format.
    assert!(load_bytes("huge.pb", &data).is_err());

    // A real start, then a string that claims 5 GiB: detected as pprof, refused at the claim.
    let mut data = pprof_prelude();
    let at = data.len();
    tag(&mut data, 6, 2);
    varint(&mut data, 5 << 30);
    data.extend_from_slice(b"tail");
    let e = load_bytes("huge.pb", &data).unwrap_err();
    assert_eq!(e.place, Place::Byte(at as u64 + 1), "{e}");
    assert!(e.message.contains("claims 5368709120 bytes"), "{e}");
}

/// A 20 MB pprof of minimal samples: ~3.5 million samples of one stack, or ~5 million samples
/// without a location. The model must stay within a small multiple of the file (it holds at
/// most one stack per sample, and every sample takes at least 6 bytes of the file).
#[test]
fn pprof_of_millions_of_minimal_samples_makes_a_bounded_model() {
    let target = 20 << 20;
    let mut data = pprof_prelude();
    // sample { location_id: 1, value: 1 }: 6 bytes.
    while data.len() < target {
        data.extend_from_slice(&[0x12, 0x04, 0x08, 0x01, 0x10, 0x01]);
    }
    let p = Pprof.read(&data, &ReadOptions::default()).unwrap();
    let samples = (data.len() - pprof_prelude().len()) / 6;
    assert_eq!(p.raw_sample_count, samples as u64);
    assert_eq!(p.totals(), [samples as i64]);
    assert_eq!(p.functions.len(), 1);
    assert_eq!(p.frames.len(), 1);
    let footprint = model_bytes(&p);
    eprintln!(
        "{} byte pprof of {samples} identical samples: {} stacks, model arrays {footprint} bytes",
        data.len(),
        p.stack_count()
    );
    assert!(footprint <= 4 * data.len(), "{footprint} bytes of model");
    exercise(&p);

    // sample { value: 1 }: 4 bytes, no location.
    let mut data = pprof_prelude();
    while data.len() < target {
        data.extend_from_slice(&[0x12, 0x02, 0x10, 0x01]);
    }
    let p = Pprof.read(&data, &ReadOptions::default()).unwrap();
    assert_eq!(p.stack_count(), 0);
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0].contains("have no locations"),
        "{:?}",
        p.warnings
    );
    assert!(
        model_bytes(&p) <= data.len(),
        "{} bytes of model",
        model_bytes(&p)
    );
}

/// The bytes the model's per-stack arrays hold (allocated, not just used).
fn model_bytes(p: &Profile) -> usize {
    p.stack_frames.capacity() * 4
        + p.stack_starts.capacity() * 4
        + p.stack_labels.capacity() * 4
        + p.values.capacity() * 8
}

/// Identical samples merged into one stack, as the other readers and the model's documentation
/// have it, and the model's arrays sized for that one stack: it then grows with the distinct
/// stacks, not with the file. (The pprof reader reserves room for every sample's frames up
/// front, and the finished model keeps that capacity: 1.6 MB here, 5 MB for the 20 MB file
/// above; while it did not merge, 3.5 million stacks.)
#[test]
fn pprof_identical_samples_make_one_stack() {
    let mut data = pprof_prelude();
    for _ in 0..100_000 {
        data.extend_from_slice(&[0x12, 0x04, 0x08, 0x01, 0x10, 0x01]);
    }
    let p = Pprof.read(&data, &ReadOptions::default()).unwrap();
    assert_eq!(p.stack_count(), 1);
    assert!(
        model_bytes(&p) < 1 << 16,
        "{} bytes of model",
        model_bytes(&p)
    );
}

#[test]
fn pprof_with_a_million_strings_loads() {
    let mut data = Vec::new();
    let mut vt = Vec::new();
    varint_field(&mut vt, 1, 1);
    varint_field(&mut vt, 2, 2);
    len_field(&mut data, 1, &vt);
    let mut function = Vec::new();
    varint_field(&mut function, 1, 1);
    varint_field(&mut function, 2, 999_999);
    len_field(&mut data, 5, &function);
    let mut line = Vec::new();
    varint_field(&mut line, 1, 1);
    let mut location = Vec::new();
    varint_field(&mut location, 1, 1);
    len_field(&mut location, 4, &line);
    len_field(&mut data, 4, &location);
    len_field(&mut data, 2, &[0x08, 0x01, 0x10, 0x07]);
    len_field(&mut data, 6, b"");
    for i in 1..1_000_000 {
        len_field(&mut data, 6, format!("s{i}").as_bytes());
    }
    let p = load_bytes("strings.pb", &data).unwrap();
    assert_eq!(p.strings.len(), 1_000_000);
    assert_eq!(p.function_name(0), "s999999");
    assert_eq!(p.totals(), [7]);
    assert_eq!(p.sample_type_label(0), "s1/s2");
}

/// Concatenated gzip members whose contents add up to just over 4 GiB: `perf script` text (one
/// event, then comment lines), so the perf reader streams it and holds none of it. Written once
/// per member; compressing 64 MiB of repeated lines once keeps the test quick.
fn write_gzip_bomb(path: &Path) {
    let mut line = vec![b'#'];
    line.extend(std::iter::repeat_n(b'x', 1022));
    line.push(b'\n');
    let chunk: Vec<u8> = line.repeat(64 * 1024); // 64 MiB
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&chunk).unwrap();
    let member = member.finish().unwrap();
    let mut first = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    first
        .write_all(b"app 1 1.000000: 1 cycles:\n\t1 main (/bin/app)\n\n")
        .unwrap();
    first.write_all(&chunk).unwrap();
    let first = first.finish().unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(&first).unwrap();
    // 65 members of 64 MiB: 4 GiB and 64 MiB.
    for _ in 0..64 {
        file.write_all(&member).unwrap();
    }
    file.flush().unwrap();
}

/// A gzip bomb (a few MB inflating past the 4 GiB cap) is refused with the compressed offset,
/// streamed: memory stays at the reader's buffers.
#[test]
fn gzip_bomb_is_refused_with_the_compressed_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.perf.gz");
    write_gzip_bomb(&path);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 16 << 20, "the bomb is {size} bytes");
    let e = load(&path).unwrap_err();
    assert!(e.message.contains("gzip bomb"), "{e}");
    assert!(e.message.contains("compressed offset"), "{e}");
    match e.place {
        Place::Byte(b) => assert!(b > 0 && b <= size, "{e}"),
        _ => panic!("{e}"),
    }
}

fn folded_200000_frames() -> String {
    let mut text: String = (0..200_000).map(|i| format!("f{i};")).collect();
    text.pop();
    text.push_str(" 3\n");
    text
}

#[test]
fn folded_line_of_200000_frames_loads() {
    let text = folded_200000_frames();
    let p = Folded
        .read(text.as_bytes(), &ReadOptions::default())
        .unwrap();
    assert_eq!(p.stack_count(), 1);
    assert_eq!(p.stack(0).len(), 200_000);
    assert_eq!(
        p.function_stat(p.functions_named("f0")[0], 0).total_value,
        3
    );
    exercise(&p);
    let again = export::folded::write(&p, 0);
    assert_eq!(again, text);
}

/// Detection reads the first 16 KiB of text for a folded line: a file whose first stack is
/// longer than that (1.3 MB here) is "not a profile format" through `load`, though the folded
/// reader reads it.
#[test]
fn folded_file_whose_first_line_is_longer_than_the_head_is_detected() {
    let p = load_bytes("deep.folded", folded_200000_frames().as_bytes()).unwrap();
    assert_eq!(p.stack(0).len(), 200_000);
}

// (`app`, not `prog`: a text input of 64 KiB or more whose first bytes happen to form a valid
// pprof field is taken for pprof; see `text_starting_like_a_pprof_field_is_not_pprof`.)
#[test]
fn perf_event_of_100000_frames_loads() {
    let mut text = String::from("app 12/12 [000] 1.000000: 5 cycles:\n");
    for i in (0..100_000).rev() {
        text.push_str(&format!("\t{i:x} f{i}+0x1 (/bin/prog)\n"));
    }
    text.push('\n');
    let p = load_bytes("deep.perf", text.as_bytes()).unwrap();
    assert_eq!(p.stack_count(), 1);
    // The frames, and the process name as the root.
    assert_eq!(p.stack(0).len(), 100_001);
    assert_eq!(
        p.function_name(p.frames[p.stack(0)[0] as usize].function),
        "f99999"
    );
    assert_eq!(p.format, crate::model::Format::Perf);
    assert_eq!(p.totals(), [1, 5]);
    exercise(&p);
}

/// A speedscope file with a 10,000-frame stack, sampled and evented: 10,000 nested opens at
/// time 0, then the closes, the innermost at 3 and the rest at 3 too (one span of 3 with every
/// frame open).
#[test]
fn speedscope_10000_deep_loads() {
    let depth = 10_000;
    let frames: Vec<String> = (0..depth)
        .map(|i| format!(r#"{{"name":"f{i}"}}"#))
        .collect();
    let stack: Vec<String> = (0..depth).map(|i| i.to_string()).collect();
    let mut events: Vec<String> = (0..depth)
        .map(|i| format!(r#"{{"type":"O","frame":{i},"at":0}}"#))
        .collect();
    events.extend(
        (0..depth)
            .rev()
            .map(|i| format!(r#"{{"type":"C","frame":{i},"at":3}}"#)),
    );
    let json = speedscope_json(&frames, &stack, &events);
    let p = load_bytes("deep.speedscope.json", json.as_bytes()).unwrap();
    let deepest = (0..p.stack_count()).map(|i| p.stack(i).len()).max();
    assert_eq!(deepest, Some(depth));
    let f0 = p.functions_named("f0")[0];
    assert_eq!(p.function_stat(f0, 1).total_value, 4 + 3);
    exercise(&p);
}

fn speedscope_json(frames: &[String], stack: &[String], events: &[String]) -> String {
    format!(
        r#"{{"$schema":"{}","shared":{{"frames":[{}]}},"profiles":[
        {{"type":"sampled","name":"s","unit":"none","startValue":0,"endValue":4,"samples":[[{}]],"weights":[4]}},
        {{"type":"evented","name":"e","unit":"none","startValue":0,"endValue":10,"events":[{}]}}]}}"#,
        super::speedscope::SCHEMA,
        frames.join(","),
        stack.join(","),
        events.join(",")
    )
}

/// Evented speedscope profiles and `.cpuprofile` chains sampled at every depth make `n`
/// distinct stacks of depths 1..n: about n²/2 frame ids from an input of size n. The model
/// stores each distinct stack whole (flat arrays, which measured faster than a prefix tree on
/// real profiles), so it grows with the distinct stacks' frames; what it guarantees is a bound:
/// past `MAX_FRAMES` the profile is refused with a clear error instead of exhausting memory.
#[test]
fn nested_spans_load_up_to_the_frame_budget_and_are_refused_past_it() {
    let nested = |depth: usize| {
        let frames: Vec<String> = (0..depth)
            .map(|i| format!(r#"{{"name":"f{i}"}}"#))
            .collect();
        let mut events: Vec<String> = (0..depth)
            .map(|i| format!(r#"{{"type":"O","frame":{i},"at":{i}}}"#))
            .collect();
        events.extend(
            (0..depth)
                .rev()
                .map(|i| format!(r#"{{"type":"C","frame":{i},"at":{}}}"#, 2 * depth - i)),
        );
        speedscope_json(&frames, &["0".to_string()], &events)
    };
    // 2,000 deep: every depth is a distinct stack (opening and closing), 2 million frame
    // ids, loads.
    let p = load_bytes("nested.speedscope.json", nested(2_000).as_bytes()).unwrap();
    assert!(p.stack_count() >= 2_000, "{}", p.stack_count());
    assert!(
        p.stack_frames.len() >= 2_000 * 2_001 / 2,
        "{}",
        p.stack_frames.len()
    );
    // 12,000 deep would be 72 million frame ids, past the budget: refused, not exhausted.
    let e = load_bytes("deeper.speedscope.json", nested(12_000).as_bytes()).unwrap_err();
    assert!(
        e.message.contains("frames") && e.message.contains("refusing the profile as hostile"),
        "{e}"
    );
}

/// `.cpuprofile` and trace-event files whose nodes form a 10,000-deep parent chain.
#[test]
fn cpuprofile_and_trace_with_10000_deep_chains_load() {
    let depth = 10_000u32;
    // .cpuprofile: linked by `children`, node 1 the (root).
    let nodes: Vec<String> = (1..=depth)
        .map(|id| {
            let name = if id == 1 { "(root)".to_string() } else { format!("f{id}") };
            let children = if id < depth { format!("[{}]", id + 1) } else { "[]".into() };
            format!(r#"{{"id":{id},"callFrame":{{"functionName":"{name}","url":"a.js","lineNumber":{id}}},"children":{children}}}"#)
        })
        .collect();
    let json = format!(
        r#"{{"nodes":[{}],"startTime":0,"endTime":30,"samples":[{depth},{depth},2],"timeDeltas":[0,10,10]}}"#,
        nodes.join(",")
    );
    let p = load_bytes("deep.cpuprofile", json.as_bytes()).unwrap();
    assert_eq!(p.stack(0).len(), depth as usize - 1);
    exercise(&p);

    // Trace events: the same chain linked by `parent`, in one ProfileChunk.
    let nodes: Vec<String> = (1..=depth)
        .map(|id| {
            let parent = if id > 1 {
                format!(r#","parent":{}"#, id - 1)
            } else {
                String::new()
            };
            let name = if id == 1 {
                "(root)".to_string()
            } else {
                format!("f{id}")
            };
            format!(r#"{{"id":{id},"callFrame":{{"functionName":"{name}"}}{parent}}}"#)
        })
        .collect();
    let json = format!(
        r#"{{"traceEvents":[
        {{"name":"Profile","ph":"P","id":"0x1","pid":1,"tid":1,"ts":0,"args":{{"data":{{"startTime":0}}}}}},
        {{"name":"ProfileChunk","ph":"P","id":"0x1","pid":1,"tid":2,"ts":1,"args":{{"data":{{"cpuProfile":{{"nodes":[{}],"samples":[{depth},{depth},2]}},"timeDeltas":[0,10,10]}}}}}}]}}"#,
        nodes.join(",")
    );
    let p = load_bytes("deep.trace.json", json.as_bytes()).unwrap();
    assert_eq!(p.stack(0).len(), depth as usize - 1);
    exercise(&p);

    // The old tree-shaped .cpuprofile nests JSON objects per frame: 10,000 deep is refused with
    // the line and column where serde_json's nesting limit stopped it, not a stack overflow.
    let mut json = String::new();
    for id in 1..=depth {
        json.push_str(&format!(
            r#"{{"id":{id},"functionName":"f{id}","children":["#
        ));
    }
    for _ in 0..depth {
        json.push_str("]}");
    }
    let json = format!(r#"{{"head":{json},"samples":[1],"timestamps":[1]}}"#);
    let e = load_bytes("deep-old.cpuprofile", json.as_bytes()).unwrap_err();
    assert!(matches!(e.place, Place::Line(1)), "{e}");
    assert!(e.message.contains("nests too deeply"), "{e}");
}

/// pprof's sniff takes a head of 64 KiB or more as pprof once its first field parses with the
/// schema's wire type, whatever follows. The first byte of text often does: `p` is field 14 as
/// a varint, `h` and `j` field 13, `x` field 15, `P`, `H`, `8`, `@`, `` ` `` others. So `perf
/// script` output of `python`, `postgres`, `php`, `httpd`, and folded stacks rooted in `perf`
/// or `python`, are "pprof" errors once they reach 64 KiB.
#[test]
fn text_starting_like_a_pprof_field_is_not_pprof() {
    let event = "python 4152/4152 [001] 1.000000: 250000 cpu-clock:\n\t55d1 PyEval_EvalFrame (/usr/bin/python3)\n\t55d2 main (/usr/bin/python3)\n\n";
    let perf = event.repeat(1000);
    assert!(perf.len() >= super::detect::HEAD_LEN);
    let p = load_bytes("python.perf", perf.as_bytes()).unwrap();
    assert_eq!(p.format, crate::model::Format::Perf);
    for root in ["perf", "python3", "httpd", "xorg"] {
        let folded = format!("{root};main;work 3\n{root};main;idle 1\n").repeat(3000);
        let p = load_bytes("x.folded", folded.as_bytes()).unwrap_or_else(|e| panic!("{root}: {e}"));
        assert_eq!(p.format, crate::model::Format::Folded);
    }
}

/// One event line repeated a million times with no stack lines: a clear error, bounded
/// warnings. Either blank-line separated (events without stacks) or back to back (each later
/// event line is read as a bad stack line of the first).
#[test]
fn perf_event_headers_without_stacks_are_refused() {
    for separator in ["\n", "\n\n"] {
        let text = format!("app 1 1.000000: 1 cycles:{separator}").repeat(1_000_000);
        let e = Perf
            .read(text.as_bytes(), &ReadOptions::default())
            .unwrap_err()
            .in_file("events.perf");
        assert!(e.message.starts_with("no perf script samples found"), "{e}");
        assert!(is_whole_file(&e), "{e}");
        // Detection: back to back, the first event has "stack lines" and it is perf script;
        // blank-line separated, no event has a stack and it is no format at all.
        let e = load_bytes("events.perf", text.as_bytes()).unwrap_err();
        assert!(
            e.message.starts_with("no perf script samples found")
                || e.message.starts_with("not a profile format"),
            "{e}"
        );
        assert_eq!(e.place, Place::File, "{e}");
    }
    // Streamed from a file too, as `joule` reads it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.perf");
    std::fs::write(&path, "app 1 1.000000: 1 cycles:\n".repeat(1_000_000)).unwrap();
    let e = load(&path).unwrap_err();
    assert!(e.message.starts_with("not a profile format"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Inputs that crash the fuzz targets (testdata/crashes/<target>-<name>), replayed through the
// target's reader and the same queries and writers. Ignored until the reader is fixed.

/// Reads `testdata/crashes/<target>-<name>` with the target's reader and exercises the result.
fn replay(target: &str, name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/ingest/testdata/crashes")
        .join(format!("{target}-{name}"));
    let data = std::fs::read(&path).unwrap();
    let reader: &dyn Reader = match target {
        "pprof" => &Pprof,
        "perf" => &Perf,
        "folded" => &Folded,
        "speedscope" => &Speedscope,
        "chrome" => &ChromeCpuProfile,
        "trace_event" => &TraceEvent,
        _ => {
            if let Ok(p) = load_bytes("crash", &data) {
                exercise(&p);
            }
            return;
        }
    };
    if let Ok(p) = reader.read(&data, &ReadOptions::default()) {
        exercise(&p);
    }
}

/// Set in the child process [`replay_capped`] starts.
const CAPPED_CHILD: &str = "JOULE_ROBUSTNESS_CAPPED_CHILD";

/// Replays a crash input with the address space capped at `mib` MiB, as the fuzz targets'
/// `-rss_limit_mb` does: the test re-runs itself (`test`, its path in this binary) in a child
/// process under `ulimit -v`, where an allocation past the cap aborts the child. Without the
/// cap, a machine with enough memory would pass an input that needs gigabytes.
fn replay_capped(test: &str, target: &str, name: &str, mib: u64) {
    if std::env::var_os(CAPPED_CHILD).is_some() {
        replay(target, name);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {}; exec \"$0\" --exact --include-ignored --test-threads=1 \"$1\"",
            mib * 1024
        ))
        .arg(&exe)
        .arg(format!("ingest::robustness_tests::{test}"))
        .env(CAPPED_CHILD, "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{target}-{name} under a {mib} MiB cap: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(" 1 passed"),
        "the child ran no test"
    );
}

/// 58 KB of pprof: one location with 4,000 inlined lines, and one sample that lists that
/// location 30,000 times, one byte each. The stack has 120 million frames (480 MB of frame ids
/// in the model, as much again while decoding); the folded writer then needs ~2 GB for the
/// names. The fuzz target hits its 2 GB limit.
#[test]
fn fuzz_crash_pprof_inline_amplification() {
    replay_capped(
        "fuzz_crash_pprof_inline_amplification",
        "pprof",
        "inline-amplification",
        1024,
    );
}

/// 120 KB of pprof: 10,000 sample types and 10,000 functions (one sample). The first `top`
/// computes per-function self and total for every sample type at once, 2 x 10,000 x 10,000
/// values: 1.6 GB.
#[test]
fn fuzz_crash_pprof_sample_types_times_functions() {
    replay_capped(
        "fuzz_crash_pprof_sample_types_times_functions",
        "pprof",
        "sample-types-times-functions",
        1024,
    );
}

/// The capped replay passes on an input that fits (so a failure above is the input's doing).
#[test]
fn capped_replay_of_a_small_profile_passes() {
    if std::env::var_os(CAPPED_CHILD).is_some() {
        let p = load(&fixture("pprof/sample.cpu.pb.gz")).unwrap();
        exercise(&p);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576; exec \"$0\" --exact --test-threads=1 \"$1\"")
        .arg(&exe)
        .arg("ingest::robustness_tests::capped_replay_of_a_small_profile_passes")
        .env(CAPPED_CHILD, "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", output.status);
    assert!(String::from_utf8_lossy(&output.stdout).contains(" 1 passed"));
}

#[test]
fn whole_file_error_list_matches_the_readers() {
    // Each allowed whole-file error is one a reader gives for an input with nothing usable.
    let none: HashSet<String> = [
        Folded.read(b"no stacks here\n", &ReadOptions::default()),
        Perf.read(b"# only a comment\n", &ReadOptions::default()),
        ChromeCpuProfile.read(br#"{"nodes":[],"samples":[]}"#, &ReadOptions::default()),
        Speedscope.read(
            br#"{"shared":{"frames":[]},"profiles":[{"type":"sampled","samples":[],"weights":[]}]}"#,
            &ReadOptions::default(),
        ),
        TraceEvent.read(br#"{"traceEvents":[]}"#, &ReadOptions::default()),
    ]
    .into_iter()
    .map(|r| r.unwrap_err().in_file("x"))
    .filter(is_whole_file)
    .map(|e| e.message)
    .collect();
    assert_eq!(none.len(), 5, "{none:?}");
}
