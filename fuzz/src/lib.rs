//! What every fuzz target does with a profile once a reader accepted the input: each query the
//! skills can ask, each writer, and the invariants that must hold whatever the input was.
//!
//! The checks are exact only where exact is possible: sample values are summed with saturating
//! arithmetic in the model, so the order of additions matters once a sum overflows; equalities
//! between sums are asserted only when the absolute values of a sample type add up to less than
//! `i64::MAX` (then no sum anywhere saturates).

use std::collections::BTreeMap;
use std::io::BufReader;

use joule_profile::export;
use joule_profile::ingest::{Folded, Perf, Pprof, ReadOptions, Reader, Speedscope};
use joule_profile::model::{Order, Profile};

/// Sample types queried one by one (a pprof may declare many).
const MAX_TYPES: usize = 4;
/// Functions whose callers, callees and lines are asked for, per sample type.
const MAX_FUNCTIONS: usize = 4;
/// How deep the call-tree walk goes.
const MAX_DEPTH: usize = 16;
/// Largest value a JSON number (an f64) holds exactly.
const F64_EXACT: i128 = 1 << 53;

/// Reads `data` with `reader` and default options, and exercises the profile it gives.
pub fn read_and_exercise(reader: &dyn Reader, data: &[u8]) {
    read_with(reader, data, &ReadOptions::default());
}

/// Reads `data` with `reader` and `options`, and exercises the profile it gives.
pub fn read_with(reader: &dyn Reader, data: &[u8], options: &ReadOptions) -> Option<Profile> {
    let profile = reader.read(data, options).ok()?;
    exercise(&profile);
    Some(profile)
}

/// The perf-script options selected by the bits of `selector`.
pub fn perf_options(selector: u8) -> ReadOptions {
    ReadOptions {
        include_pid: selector & 1 != 0,
        include_tid: selector & 2 != 0,
        annotate_kernel: selector & 4 != 0,
        annotate_jit: selector & 8 != 0,
        include_addrs: selector & 16 != 0,
        event: match selector >> 5 {
            1 => Some("cycles".to_string()),
            2 => Some("cpu-clock".to_string()),
            3 => Some("cycles:u".to_string()),
            4 => Some(String::new()),
            _ => None,
        },
        // The selectors past the events: names as perf wrote them.
        no_demangle: selector >> 5 >= 5,
        symbol_paths: Vec::new(),
    }
}

/// perf script read as a stream through a small buffer (so lines straddle buffers) must give
/// the same profile as read from one slice.
pub fn perf_stream_matches(data: &[u8], options: &ReadOptions, whole: &Profile) {
    let capacity = 1 + data.len() % 61;
    let streamed = Perf
        .read_from(BufReader::with_capacity(capacity, data), options)
        .expect("the stream read failed where the slice read succeeded");
    assert_same_profile(&streamed, whole, "streamed and whole reads");
}

/// `a` and `b` hold the same samples: counts, sample types, warnings and folded stacks of
/// every sample type.
fn assert_same_profile(a: &Profile, b: &Profile, what: &str) {
    assert_eq!(a.raw_sample_count, b.raw_sample_count, "{what}");
    assert_eq!(a.sample_type_count(), b.sample_type_count(), "{what}");
    assert_eq!(a.warnings, b.warnings, "{what}");
    for t in 0..a.sample_type_count() {
        assert_eq!(
            export::folded::lines(a, t),
            export::folded::lines(b, t),
            "{what} differ in sample type {t}"
        );
    }
}

/// pprof read on two threads must give what one thread gives: the same profile, or the same
/// error. The frame budget aside: which thread's frames cross it, and so which error comes
/// first, depends on timing (both readers still fail).
pub fn pprof_threads_agree(data: &[u8]) {
    const BUDGET: &str = "refusing the profile as hostile";
    let one = Pprof.read_on(data, false);
    let two = Pprof.read_on(data, true);
    match (&one, &two) {
        (Ok(one), Ok(two)) => {
            assert_same_profile(one, two, "one thread and two");
            assert_eq!(one.stack_count(), two.stack_count());
            assert_eq!(one.stack_frames, two.stack_frames);
        }
        (Err(one), Err(two)) => {
            let (a, b) = (format!("{one:?}"), format!("{two:?}"));
            if !a.contains(BUDGET) && !b.contains(BUDGET) {
                assert_eq!(a, b, "one thread and two fail differently");
            }
        }
        _ => panic!(
            "one thread and two disagree: {:?} and {:?}",
            one.as_ref().err(),
            two.as_ref().err()
        ),
    }
}

/// Runs every query and writer on `p`, checking the invariants of each.
pub fn exercise(p: &Profile) {
    check_shape(p);
    let totals = p.totals();
    assert_eq!(totals.len(), p.sample_type_count());
    let exact = exact_totals(p);
    for (t, e) in exact.iter().enumerate() {
        if let Some(e) = e {
            assert_eq!(totals[t], *e, "totals() of sample type {t}");
        }
    }
    for (t, &exact) in exact.iter().enumerate().take(MAX_TYPES) {
        queries(p, t, exact);
    }
    let _ = p.stacks_containing(&[]);
    retain(p, &exact);
    if let Some(t) = p.sample_type_or_default(None) {
        folded_round_trip(p, t);
        speedscope_round_trip(p, t);
    }
    pprof_round_trip(p, &exact);
}

/// The model's own indices are consistent: every query below relies on them.
fn check_shape(p: &Profile) {
    let n = p.sample_type_count();
    assert!(n > 0, "a profile has at least one sample type");
    assert!(p.default_sample_type < n);
    assert_eq!(p.str(0), "", "string 0 is the empty string");
    assert_eq!(p.stack_starts.first(), Some(&0));
    assert!(p.stack_starts.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(
        p.stack_starts.last().copied(),
        Some(p.stack_frames.len() as u32)
    );
    assert_eq!(p.values.len(), p.stack_count() * n);
    assert_eq!(p.stack_labels.len(), p.stack_count());
    assert!(
        p.stack_frames
            .iter()
            .all(|&f| (f as usize) < p.frames.len())
    );
    assert!(
        p.frames
            .iter()
            .all(|f| (f.function as usize) < p.functions.len())
    );
    assert!(
        p.stack_labels
            .iter()
            .all(|&s| (s as usize) < p.label_sets.len())
    );
    assert!(p.raw_sample_count >= p.stack_count() as u64);
    for i in 0..p.stack_count() {
        assert!(!p.stack(i).is_empty(), "stack {i} has no frames");
    }
}

/// The exact sum of each sample type, when no saturating sum can have clipped: `None` for a
/// type whose absolute values add up past `i64::MAX`.
fn exact_totals(p: &Profile) -> Vec<Option<i64>> {
    let n = p.sample_type_count();
    let mut sum = vec![0i128; n];
    let mut abs = vec![0i128; n];
    for chunk in p.values.chunks_exact(n) {
        for (t, &v) in chunk.iter().enumerate() {
            sum[t] += i128::from(v);
            abs[t] += i128::from(v).abs();
        }
    }
    (0..n)
        .map(|t| (abs[t] <= i128::from(i64::MAX)).then_some(sum[t] as i64))
        .collect()
}

fn non_negative(p: &Profile, t: usize) -> bool {
    let n = p.sample_type_count();
    p.values.iter().skip(t).step_by(n).all(|&v| v >= 0)
}

fn queries(p: &Profile, t: usize, exact: Option<i64>) {
    let by_self = p.top(t, Order::BySelf, usize::MAX, |_| true);
    let by_total = p.top(t, Order::ByTotal, usize::MAX, |_| true);
    let _ = p.top(t, Order::BySelf, 3, |f| f % 2 == 0);
    let positive = non_negative(p, t);
    if let Some(total) = exact {
        // Every stack has a leaf, so the self values add up to the total.
        let self_sum: i128 = by_self.iter().map(|s| i128::from(s.self_value)).sum();
        assert_eq!(self_sum, i128::from(total), "self values of type {t}");
        if positive {
            for s in &by_total {
                assert!(s.self_value <= s.total_value && s.total_value <= total);
            }
        }
        // The root of the call tree holds everything.
        let root = p.subtree(&[], t, usize::MAX);
        assert_eq!(root.total_value, total);
        assert_eq!(root.self_value, 0);
    }
    for stat in by_total.iter().take(MAX_FUNCTIONS) {
        let f = stat.function;
        let callers = p.neighbours(f, t, true, usize::MAX);
        let callees = p.neighbours(f, t, false, usize::MAX);
        let lines = p.lines(f, t, usize::MAX);
        let _ = p.stacks_containing(&[f]);
        if exact.is_some() {
            assert_eq!(p.total_of(&[f], t), stat.total_value);
            let line_total: i128 = lines.iter().map(|l| i128::from(l.total_value)).sum();
            let line_self: i128 = lines.iter().map(|l| i128::from(l.self_value)).sum();
            assert_eq!(line_total, i128::from(stat.total_value), "lines of {f}");
            assert_eq!(line_self, i128::from(stat.self_value), "line self of {f}");
            if positive {
                for e in callers.iter().chain(&callees) {
                    assert!(e.value <= stat.total_value);
                }
            }
        }
    }
    // Down the call tree along the heaviest child.
    let mut path = Vec::new();
    while path.len() < MAX_DEPTH {
        let node = p.subtree(&path, t, 4);
        if exact.is_some() && positive {
            let children: i128 = node.children.iter().map(|c| i128::from(c.value)).sum();
            assert!(children + i128::from(node.self_value) <= i128::from(node.total_value));
        }
        match node.children.first() {
            Some(child) => path.push(child.function),
            None => break,
        }
    }
    let labels = p.label_totals(t);
    if let Some((key, value, _)) = labels.first() {
        let wanted = [(key.clone(), Some(value.clone()))];
        let _ = (0..p.stack_count())
            .filter(|&i| p.stack_has_labels(i, &wanted))
            .count();
    }
}

/// Splitting the stacks in two keeps every sum.
fn retain(p: &Profile, exact: &[Option<i64>]) {
    let even = p.retain_stacks(|i| i % 2 == 0);
    let odd = p.retain_stacks(|i| i % 2 == 1);
    assert_eq!(even.stack_count() + odd.stack_count(), p.stack_count());
    let (a, b) = (even.totals(), odd.totals());
    for (t, e) in exact.iter().enumerate() {
        if let Some(e) = e {
            assert_eq!(i128::from(a[t]) + i128::from(b[t]), i128::from(*e));
        }
    }
    let _ = even.top(p.default_sample_type, Order::ByTotal, 5, |_| true);
}

/// pprof out and back in: every sample type keeps its total.
fn pprof_round_trip(p: &Profile, exact: &[Option<i64>]) {
    let bytes = export::pprof::encode(p);
    let back = Pprof
        .read(&bytes, &ReadOptions::default())
        .unwrap_or_else(|e| panic!("re-reading the pprof Joule wrote failed: {e:?}"));
    assert_eq!(back.sample_type_count(), p.sample_type_count());
    let totals = back.totals();
    for (t, e) in exact.iter().enumerate() {
        if let Some(e) = e {
            assert_eq!(totals[t], *e, "pprof round trip, sample type {t}");
        }
    }
}

/// Folded out and back in gives the same folded lines, when the text can carry them: all values
/// non-negative (a folded count is), no frame name with a line break, no stack that is one
/// nameless frame (its line would be ` 5`). A file whose stacks all end in a number reads as
/// the two-column differential form; that is left unchecked too.
fn folded_round_trip(p: &Profile, t: usize) {
    let text = export::folded::write(p, t);
    let lines = export::folded::lines(p, t);
    let representable = non_negative(p, t)
        && lines.keys().all(|k| !k.is_empty() && !k.contains('\n'))
        && !text.starts_with('\u{feff}');
    if !representable || lines.is_empty() {
        let _ = Folded.read(text.as_bytes(), &ReadOptions::default());
        return;
    }
    let back = Folded
        .read(text.as_bytes(), &ReadOptions::default())
        .unwrap_or_else(|e| panic!("re-reading the folded text Joule wrote failed: {e:?}"));
    if back.sample_type_count() != 1 {
        return;
    }
    assert_eq!(export::folded::lines(&back, 0), lines, "folded round trip");
}

/// The factor speedscope's reader applies to a unit Joule's writer emits for `unit`.
fn speedscope_factor(unit: &str) -> i128 {
    match unit {
        "microseconds" | "microsecond" | "us" => 1_000,
        "milliseconds" | "millisecond" | "ms" => 1_000_000,
        "seconds" | "second" | "s" => 1_000_000_000,
        _ => 1,
    }
}

/// speedscope out and back in keeps the positive weights, when JSON numbers hold them exactly.
fn speedscope_round_trip(p: &Profile, t: usize) {
    let json = export::speedscope::write(p, t);
    let read = Speedscope.read(json.as_bytes(), &ReadOptions::default());
    let factor = speedscope_factor(p.str(p.sample_types[t].unit));
    let n = p.sample_type_count();
    let weights: Vec<i128> = p
        .values
        .iter()
        .skip(t)
        .step_by(n)
        .map(|&v| i128::from(v))
        .filter(|&v| v > 0)
        .collect();
    let sum: i128 = weights.iter().sum();
    if weights.is_empty() || sum >= F64_EXACT || sum * factor >= F64_EXACT {
        return;
    }
    let back = read.unwrap_or_else(|e| panic!("re-reading the speedscope Joule wrote: {e:?}"));
    assert_eq!(back.sample_type_count(), 2);
    assert_eq!(
        i128::from(back.totals()[1]),
        sum * factor,
        "speedscope round trip"
    );
    assert_eq!(back.raw_sample_count, weights.len() as u64);
}

/// Folded lines of a profile by sample type (for targets comparing two reads).
pub fn folded_lines(p: &Profile) -> Vec<BTreeMap<String, i64>> {
    (0..p.sample_type_count())
        .map(|t| export::folded::lines(p, t))
        .collect()
}
