//! The `perf script` reader against inferno 0.12.8's `collapse-perf` results (the conformance
//! corpus, copied into `tests/fixtures/perf/`), and its parts on the cases inferno's comments
//! list.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::PathBuf;

use super::*;
use crate::ingest::{ReadOptions, Reader, load_bytes_with};
use crate::model::{Format, LabelValue, Profile};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/perf")
}

/// The profile as folded stacks, root first, with the summed default-type value per distinct
/// line (stacks that differ only in their labels fold into one line).
fn folded(p: &Profile) -> BTreeMap<String, i64> {
    let mut lines = BTreeMap::new();
    for i in 0..p.stack_count() {
        let names: Vec<&str> = p
            .frames_of(i)
            .map(|f| p.function_name(f.function))
            .collect();
        let mut stack = String::new();
        for (n, name) in names.iter().rev().enumerate() {
            if n > 0 {
                stack.push(';');
            }
            stack.push_str(name);
        }
        *lines.entry(stack).or_insert(0) += p.stack_values(i)[p.default_sample_type];
    }
    lines
}

fn folded_text(p: &Profile) -> Vec<String> {
    folded(p)
        .into_iter()
        .map(|(stack, n)| format!("{stack} {n}"))
        .collect()
}

/// inferno's test options by result-file suffix (`tests/collapse-perf.rs`, `options_from_vec`):
/// `all` is `--all`, which is jit and kernel annotation only.
fn options_for(suffix: &str) -> ReadOptions {
    let mut options = ReadOptions::default();
    for flag in suffix.split('+').filter(|f| !f.is_empty()) {
        match flag {
            "pid" => options.include_pid = true,
            "tid" => options.include_tid = true,
            "addrs" => options.include_addrs = true,
            "jit" => options.annotate_jit = true,
            "kernel" => options.annotate_kernel = true,
            "all" => {
                options.annotate_jit = true;
                options.annotate_kernel = true;
            }
            other => panic!("unknown option suffix {other}"),
        }
    }
    options
}

fn read(bytes: &[u8], options: &ReadOptions) -> Profile {
    Perf.read(bytes, options).expect("reads")
}

fn read_text(text: &str) -> Profile {
    read(text.as_bytes(), &ReadOptions::default())
}

#[test]
fn matches_inferno_collapse_perf_on_the_corpus() {
    let results = fixtures().join("results");
    let mut checked = 0;
    let mut names: Vec<_> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in names {
        let (stem, suffix) = name
            .strip_suffix(".txt")
            .and_then(|n| n.split_once("-collapsed"))
            .unwrap_or_else(|| panic!("unexpected result file {name}"));
        let options = options_for(suffix.trim_start_matches('-'));
        let input = ["txt", "txt.gz"]
            .iter()
            .map(|ext| fixtures().join(format!("{stem}.{ext}")))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no input for {name}"));
        let bytes = std::fs::read(&input).unwrap();
        let mut expected: Vec<String> = std::fs::read_to_string(results.join(&name))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        expected.sort();
        match load_bytes_with(&name, &bytes, &options) {
            Ok(p) => {
                assert_eq!(p.format, Format::Perf, "{name}: detected as perf");
                let actual = folded_text(&p);
                if actual != expected {
                    let missing: Vec<_> = expected
                        .iter()
                        .filter(|l| !actual.contains(l))
                        .take(5)
                        .collect();
                    let extra: Vec<_> = actual
                        .iter()
                        .filter(|l| !expected.contains(l))
                        .take(5)
                        .collect();
                    panic!(
                        "{name}: {} lines, expected {}\nmissing: {missing:#?}\nextra: {extra:#?}",
                        actual.len(),
                        expected.len()
                    );
                }
            }
            // inferno writes nothing for an input without samples; Joule says why.
            Err(e) => assert!(expected.is_empty(), "{name}: {e}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 15, "every result file of the corpus");
}

#[test]
fn example_perf_stacks_totals_and_model() {
    let gz = std::fs::read(fixtures().join("example-perf-stacks.txt.gz")).unwrap();
    let p = load_bytes_with("example", &gz, &ReadOptions::default()).unwrap();
    assert_eq!(p.sample_type_label(0), "samples/count");
    assert_eq!(p.sample_type_label(1), "cycles/events");
    assert_eq!(p.default_sample_type, 1);
    // No periods in this file: each sample counts 1 in both types.
    let totals = p.totals();
    assert_eq!(totals[0], totals[1]);
    assert_eq!(totals[0] as u64, p.raw_sample_count);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // Every function keeps its module and the symbol as printed.
    let f = p
        .functions
        .iter()
        .find(|f| p.str(f.name) == "native_write_msr_safe")
        .unwrap();
    assert_eq!(p.str(f.module), "[kernel.kallsyms]");
    assert_eq!(p.str(f.system_name), "native_write_msr_safe");
    assert_eq!(p.str(f.file), "");
    assert_eq!(f.start_line, 0);
}

#[test]
fn event_line_parts_cover_inferno_examples() {
    let cases = [
        ("java 25607 4794564.109216: cycles:", ("java", "?", "25607")),
        (
            "java 12688 [002] 6544038.708352: cpu-clock:",
            ("java", "?", "12688"),
        ),
        (
            "V8 WorkerThread 25607 4794564.109216: cycles:",
            ("V8 WorkerThread", "?", "25607"),
        ),
        (
            "java 24636/25607 [000] 4794564.109216: cycles:",
            ("java", "24636", "25607"),
        ),
        (
            "java 12688/12764 6544038.708352: cpu-clock:",
            ("java", "12688", "12764"),
        ),
        (
            "V8 WorkerThread 24636/25607 [000] 94564.109216: cycles:",
            ("V8 WorkerThread", "24636", "25607"),
        ),
        (
            "vote   913    72.176760:     257597 cycles:uppp:",
            ("vote", "?", "913"),
        ),
        (
            "false 64414 20110.539270:      34467 cycles:u:  ffffffff9aa3c8de [unknown] ([unknown])",
            ("false", "?", "64414"),
        ),
        (
            "perf   977/977   [000] 7628263.042515: cycles: ",
            ("perf", "977", "977"),
        ),
        (
            "           false 39654 19115.489713:          1 cycles:u:",
            ("false", "?", "39654"),
        ),
    ];
    for (line, (comm, pid, tid)) in cases {
        let e = event_line_parts(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!((e.comm, e.pid, e.tid), (comm, pid, tid), "{line}");
    }
    for line in [
        "\t          401b94 main+0x1c (./inline-counter)",
        "a;b;c 12",
        "no digits here",
        "1234 ",
        "",
    ] {
        assert!(event_line_parts(line).is_none(), "{line}");
    }
}

#[test]
fn event_names_periods_and_header_stacks() {
    // Period column, modifiers, and stacks on the event line, as in inferno's examples.
    let p = read_text(
        "vote   913    72.176760:     257597 cycles:uppp:\n\
         \t  7f1e2215d058 main+0x10 (/usr/bin/vote)\n\
         \n\
         false 64414 20110.539270:      34467 cycles:u:  ffffffff9aa3c8de [unknown] ([unknown])\n\
         false 64414 20110.539271:      100 cycles:  7fa68b1f2d84 _dl_start+0x4 (/usr/lib/ld-2.31.so)\n\
         vote   913    72.176761:     3 cycles:uppp:\n\
         \t  7f1e2215d058 main+0x10 (/usr/bin/vote)\n",
    );
    assert_eq!(p.sample_type_label(1), "cycles/events");
    let f = folded(&p);
    assert_eq!(f["vote;main"], 257_600);
    assert_eq!(f["false;[unknown]"], 34467);
    assert_eq!(f["false;_dl_start"], 100);
    assert_eq!(p.totals(), [4, 257_600 + 34467 + 100]);
    assert_eq!(p.raw_sample_count, 4);
}

#[test]
fn clock_events_are_in_nanoseconds() {
    let p = read_text(
        "app 10/11 [001] 1.000: 250000 cpu-clock:uhH:\n\t 401b97 main+0x1f (/bin/app)\n\n",
    );
    assert_eq!(p.sample_type_label(1), "cpu-clock/nanoseconds");
    assert_eq!(p.totals(), [1, 250_000]);
    let p = read_text("app 11 1.000: 7 task-clock:\n\t 401b97 main (/bin/app)\n");
    assert_eq!(p.sample_type_label(1), "task-clock/nanoseconds");
    assert_eq!(p.totals(), [1, 7]);
}

#[test]
fn labels_name_the_thread() {
    let p = read_text(
        "V8 WorkerThread 24636/25607 [000] 94564.109216: cycles:\n\t 401b97 f (/bin/x)\n\n\
         java 12688 [002] 6544038.708352: cycles:\n\t 401b97 f (/bin/x)\n",
    );
    let mut seen: Vec<Vec<(String, String)>> = (0..p.stack_count())
        .map(|i| {
            p.labels_of(i)
                .iter()
                .map(|l| {
                    let LabelValue::Str(v) = l.value else {
                        panic!("string labels")
                    };
                    (p.str(l.key).to_string(), p.str(v).to_string())
                })
                .collect()
        })
        .collect();
    for s in &mut seen {
        s.sort();
    }
    seen.sort();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        seen,
        [
            pairs(&[
                ("comm", "V8 WorkerThread"),
                ("pid", "24636"),
                ("tid", "25607")
            ]),
            pairs(&[("comm", "java"), ("tid", "12688")]),
        ]
    );
    // The root frame is the process name, spaces replaced.
    let f = folded(&p);
    assert_eq!(f["V8_WorkerThread;f"], 1);
    assert_eq!(f["java;f"], 1);
}

#[test]
fn root_frame_names_follow_pid_and_tid_options() {
    let input = b"V8 WorkerThread 24636/25607 [000] 94564.109216: cycles:\n\t 401b97 f (/bin/x)\n";
    let with = |o: ReadOptions| folded_text(&read(input, &o));
    assert_eq!(with(ReadOptions::default()), ["V8_WorkerThread;f 1"]);
    let pid = ReadOptions {
        include_pid: true,
        ..Default::default()
    };
    assert_eq!(with(pid), ["V8_WorkerThread-24636;f 1"]);
    let tid = ReadOptions {
        include_tid: true,
        ..Default::default()
    };
    assert_eq!(with(tid), ["V8_WorkerThread-24636/25607;f 1"]);
}

#[test]
fn event_filter_keeps_the_first_event_or_the_chosen_one() {
    let input = "a 1 1.0: 10 cycles:\n\t 1 f (/x)\n\n\
                 a 1 1.1: 20 instructions:\n\t 1 g (/x)\n\n\
                 a 1 1.2: 30 cycles:u:\n\t 1 h (/x)\n";
    let p = read_text(input);
    assert_eq!(folded_text(&p), ["a;f 10", "a;h 30"]);
    let chosen = ReadOptions {
        event: Some("instructions".into()),
        ..Default::default()
    };
    let p = read(input.as_bytes(), &chosen);
    assert_eq!(p.sample_type_label(1), "instructions/events");
    assert_eq!(folded_text(&p), ["a;g 20"]);
    // Modifiers in the option are ignored: perf prints them after the name.
    let modified = ReadOptions {
        event: Some("cycles:u".into()),
        ..Default::default()
    };
    assert_eq!(
        folded_text(&read(input.as_bytes(), &modified)),
        ["a;f 10", "a;h 30"]
    );
    let absent = ReadOptions {
        event: Some("branch-misses".into()),
        ..Default::default()
    };
    let err = Perf.read(input.as_bytes(), &absent).unwrap_err();
    assert_eq!(
        err,
        Problem::whole(
            "no perf script samples of event `branch-misses` (the input has `cycles`, `instructions`)"
        )
    );
}

#[test]
fn stack_line_tidying_follows_inferno() {
    let input = "java 1 1.0: cycles:\n\
                 \t 7f722d142778 Ljava/io/PrintStream;::print (/tmp/perf-19982.map)\n\
                 \t 7f722d142779 Lorg/mozilla/javascript/MemberBox;.<init>(Ljava/lang/reflect/Method;)V (/tmp/perf-19982.map)\n\
                 \t 7f722d14277a a->b->c (/tmp/perf-19982.map)\n\
                 \t 7f722d14277b (anonymous)+0x10 (/x)\n\
                 \t 7f53389994d0 [unknown] (/usr/lib/libc-2.28.so)\n\
                 \t ffffffff8103ce3b native_safe_halt+0x1b ([kernel.kallsyms])\n\
                 \t 7f1e2215d058  (/lib/x86_64-linux-gnu/libc-2.15.so)\n\
                 \t 0 [unknown] ([unknown])\n";
    let p = read_text(input);
    assert_eq!(
        folded_text(&p),
        [
            "java;[unknown]; ;native_safe_halt;[libc-2.28.so];a;b_[i];c_[i];org/mozilla/javascript/MemberBox:.<init>;java/io/PrintStream:::print 1"
        ]
    );
    let all = ReadOptions {
        annotate_kernel: true,
        annotate_jit: true,
        include_addrs: true,
        ..Default::default()
    };
    assert_eq!(
        folded_text(&read(input.as_bytes(), &all)),
        [
            "java;[unknown <0>]; ;native_safe_halt_[k];[libc-2.28.so <7f53389994d0>];a_[j];b_[i];c_[i];org/mozilla/javascript/MemberBox:.<init>_[j];java/io/PrintStream:::print_[j] 1"
        ]
    );
    // The Java inline chain keeps each part's symbol and the module on its functions.
    let c = p
        .functions
        .iter()
        .find(|f| p.str(f.name) == "c_[i]")
        .unwrap();
    assert_eq!(p.str(c.system_name), "c");
    assert_eq!(p.str(c.module), "/tmp/perf-19982.map");
    let halt = p
        .functions
        .iter()
        .find(|f| p.str(f.name) == "native_safe_halt")
        .unwrap();
    assert_eq!(p.str(halt.system_name), "native_safe_halt");
}

#[test]
fn mangled_names_are_demangled() {
    let p = read_text(
        "app 1 1.0: cycles:\n\
         \t 1 _ZN7inferno10flamegraph5merge6frames17hacfe2d67301633c2E+0x20 (/bin/app)\n\
         \t 2 _ZN5space3fooEibc (/bin/app)\n\
         \t 3 _RNvCs1234_7mycrate3foo (/bin/app)\n\
         \t 4 std::sys::unix::fs::File::open::hb90e1c1c787080f0 (/bin/app)\n",
    );
    assert_eq!(
        folded_text(&p),
        [
            "app;std::sys::unix::fs::File::open;mycrate::foo;space::foo;inferno::flamegraph::merge::frames 1"
        ]
    );
    let f = p
        .functions
        .iter()
        .find(|f| p.str(f.name) == "space::foo")
        .unwrap();
    assert_eq!(p.str(f.system_name), "_ZN5space3fooEibc");

    // Kept as perf wrote them on request, as inferno-collapse-perf keeps them (which tidies
    // a Rust hash away, as it tidies perf's partly demangled names).
    let options = ReadOptions {
        no_demangle: true,
        ..ReadOptions::default()
    };
    let input = b"app 1 1.0: cycles:\n\
          \t 1 _ZN5space3fooEibc+0x20 (/bin/app)\n\
          \t 2 std::sys::unix::fs::File::open::hb90e1c1c787080f0 (/bin/app)\n";
    let raw = joule_folded(input, &options);
    assert_eq!(raw, inferno_folded(input, &options).unwrap());
    assert!(raw[0].contains(";_ZN5space3fooEibc 1"), "{raw:?}");
}

#[test]
fn weird_lines_are_warnings_with_line_numbers() {
    let read_fixture = |name: &str| {
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        Perf.read(&bytes, &ReadOptions::default()).unwrap()
    };
    let p = read_fixture("weird-stack-line.txt");
    assert_eq!(
        p.warnings,
        [
            "line 5: not a perf script stack line (`address symbol (module)`), skipped: `THIS_IS_A_WEIRD_LINE`"
        ]
    );
    assert_eq!(folded_text(&p), ["inline-counter;main 250000"]);
    let p = read_fixture("empty-line.txt");
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0].starts_with("line 6: not a perf script event line"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn warnings_are_capped() {
    let mut input = String::from("a 1 1.0: cycles:\n\t 1 f (/x)\n\n");
    for _ in 0..50 {
        input.push_str("garbage\n");
    }
    let p = read_text(&input);
    assert_eq!(p.warnings.len(), MAX_WARNINGS + 1);
    assert_eq!(p.warnings[0].split(':').next(), Some("line 4"));
    assert_eq!(p.warnings.last().unwrap(), "30 more bad lines skipped");
}

#[test]
fn comments_headers_and_crlf() {
    let p = read_text(
        "# ========\r\n# captured on: x\r\n#\r\na 1/2 [000] 1.0: cycles: \r\n\t 1 f (/x)\r\n\t 2 g (/x)\r\n\r\n# trailing\r\n",
    );
    assert_eq!(folded_text(&p), ["a;g;f 1"]);
    assert!(p.warnings.is_empty());
}

#[test]
fn non_utf8_is_read_lossily() {
    let p = read(
        b"caf\xe9 1 1.0: cycles:\n\t 1 f\xff\xfe (/x)\n",
        &ReadOptions::default(),
    );
    assert_eq!(folded_text(&p), ["caf\u{fffd};f\u{fffd}\u{fffd} 1"]);
}

#[test]
fn no_samples_is_an_error() {
    for input in [
        &b""[..],
        b"# only a comment\n",
        b"a 1 1.0: cycles:\n\n",
        b"not perf\nat all\n",
    ] {
        assert!(Perf.read(input, &ReadOptions::default()).is_err());
    }
    let err = Perf
        .read(b"not perf\nat all\n", &ReadOptions::default())
        .unwrap_err();
    assert_eq!(
        err,
        Problem::whole("no perf script samples found (2 lines did not parse)")
    );
}

#[test]
fn sniffs_perf_and_not_folded() {
    for name in [
        "cpp-stacks-std-function.txt",
        "go-stacks.txt",
        "java-inline.txt",
        "perf-rust-Yamakaky-dcpu.txt",
        "single-event.txt",
        "single-line-stacks.txt",
        "sourcepawn-jitdump.txt",
        "versioned-vmlinux.txt",
        "weird-stack-line.txt",
    ] {
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        assert!(Perf.sniff(&bytes), "{name}");
    }
    assert!(Perf.sniff(b"false 1 1.0: 1 cycles:u:  ffffffff9b201293 [unknown] ([unknown])\n"));
    let folded_dir = fixtures().join("../folded");
    for entry in std::fs::read_dir(folded_dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(!Perf.sniff(&bytes), "{}", path.display());
    }
    assert!(!Perf.sniff(b"main;parse;Regex::new 42\n"));
    assert!(!Perf.sniff(b""));
    assert!(!Perf.sniff(b"\x0a\x05hello"));
}

#[test]
fn streaming_equals_in_memory() {
    let gz = std::fs::read(fixtures().join("example-perf-stacks.txt.gz")).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
    let options = ReadOptions {
        include_tid: true,
        annotate_kernel: true,
        ..Default::default()
    };
    let whole = folded_text(&read(&raw, &options));
    // A small buffer makes lines straddle buffers.
    let streamed = Perf
        .read_from(BufReader::with_capacity(37, &raw[..]), &options)
        .unwrap();
    assert_eq!(folded_text(&streamed), whole);
}

#[test]
fn tidy_generic_cases_from_inferno() {
    for (input, expected) in [
        (
            "go/build.(*importReader).readByte",
            "go/build.(*importReader).readByte",
        ),
        ("foo<Vec::<usize>>(Vec<usize>)", "foo<Vec::<usize>>"),
        (".run()V", ".run"),
        ("base(BasicType) const", "base"),
        (
            "std::function<void (int, int)>::operator(int, int)",
            "std::function<void (int, int)>::operator",
        ),
        (
            "{lambda(int, int)#2}::operator()",
            "{lambda(int, int)#2}::operator",
        ),
        (
            "(anonymous namespace)::myBar()",
            "(anonymous namespace)::myBar",
        ),
        ("[(foo)]::bar()", "[(foo)]::bar"),
        ("a;b", "a:b"),
    ] {
        assert_eq!(tidy_generic(input.to_string()), expected);
    }
}

#[test]
fn partially_demangled_rust_from_inferno() {
    for (sym, expected) in [
        (
            "std::sys::unix::fs::File::open::hb90e1c1c787080f0",
            "std::sys::unix::fs::File::open",
        ),
        (
            "_$LT$std..fs..ReadDir$u20$as$u20$core..iter..traits..iterator..Iterator$GT$::next::hc14f1750ca79129b",
            "<std::fs::ReadDir as core::iter::traits::iterator::Iterator>::next",
        ),
        (
            "rg::search_parallel::_$u7b$$u7b$closure$u7d$$u7d$::_$u7b$$u7b$closure$u7d$$u7d$::h6e849b55a66fcd85",
            "rg::search_parallel::_{{closure}}::_{{closure}}",
        ),
        (
            "_$LT$$RF$std..fs..File$u20$as$u20$std..io..Read$GT$::read::h5d84059cf335c8e6",
            "<&std::fs::File as std::io::Read>::read",
        ),
        (
            "std::sync::mpsc::shared::Packet$LT$T$GT$::recv::hfde2d9e28d13fd56",
            "std::sync::mpsc::shared::Packet<T>::recv",
        ),
    ] {
        assert_eq!(fix_partially_demangled_rust_symbol(sym), expected);
    }
    for sym in [
        "_ZN4testE",
        "_ZN7inferno10flamegraph5merge6frames17hacfe2d67301633c2E",
        "std::sys::unix::fs::File::open",
        "<grep_searcher::searcher::glue::ReadByLine<'s, M, R, S>>::run",
        // Non-ASCII before a hash-length tail: inferno would slice inside a character.
        "ééééééééééééééééé",
        "",
    ] {
        assert_eq!(fix_partially_demangled_rust_symbol(sym), sym);
    }
}

#[test]
fn kernel_modules_from_inferno() {
    for s in [
        "[",
        "[test]",
        "module.ko",
        "vmlinux",
        " [vmlinux",
        "/usr/lib/debug/boot/vmlinux-5.4.14-cloudflare-2020.1.11",
    ] {
        assert!(is_kernel(s), "{s}");
    }
    for s in [
        "[unknown]",
        " [",
        ".ko ",
        "vmlinux-cloudflare ",
        "vmlinux-5.4.14-cloudflare-2020.1.11)",
        "/usr/lib/debug/boot/vmlinu",
        "vmlinux-Тест",
    ] {
        assert!(!is_kernel(s), "{s}");
    }
}

#[test]
fn never_panics_on_mangled_inputs() {
    // Truncations and byte flips of real inputs, and odd lines, with every option on.
    let options = ReadOptions {
        include_tid: true,
        annotate_kernel: true,
        annotate_jit: true,
        include_addrs: true,
        ..Default::default()
    };
    let mut inputs: Vec<Vec<u8>> = [
        "java-inline.txt",
        "single-line-stacks.txt",
        "perf-rust-Yamakaky-dcpu.txt",
    ]
    .iter()
    .map(|n| std::fs::read(fixtures().join(n)).unwrap())
    .collect();
    inputs.push(b"a 1 1.0: x:\n\t 1 +0x (()\n\t ( ()\n\t  ()\n\t1 a ()\n".to_vec());
    inputs.push(b" 1 : : :\n\t \xff\xff \xff (\xff)\n/1 1:\n1/ 2 3:a:b c d (e)\n".to_vec());
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for input in &inputs {
        for _ in 0..40 {
            let mut bytes = input.clone();
            let cut = (next() as usize) % (bytes.len() + 1);
            bytes.truncate(cut.max(bytes.len() / 2));
            for _ in 0..8 {
                if bytes.is_empty() {
                    break;
                }
                let i = (next() as usize) % bytes.len();
                let alphabet = b"\n :/()[]+x0\xff;->";
                bytes[i] = alphabet[(next() as usize) % alphabet.len()];
            }
            let _ = Perf.read(&bytes, &options);
            let _ = Perf.sniff(&bytes);
        }
    }
}

#[test]
fn ascii_trims_equal_std_trims() {
    let mut samples: Vec<String> = (0u8..128)
        .map(|b| format!("{c}a{c}b{c}", c = b as char))
        .collect();
    samples.extend(
        [
            "\u{a0}x\u{a0}",
            " \u{3000}x\u{2029} ",
            "é ",
            " é",
            "",
            " ",
            "\u{85}",
        ]
        .map(String::from),
    );
    for s in &samples {
        assert_eq!(trim_end(s), s.trim_end(), "{s:?}");
        assert_eq!(trim_start(s), s.trim_start(), "{s:?}");
    }
}

/// inferno's own output for `input`, or `None` where inferno panics (it asserts that the first
/// event names its event type).
fn inferno_folded(input: &[u8], options: &ReadOptions) -> Option<Vec<String>> {
    use inferno::collapse::Collapse;
    let mut opt = inferno::collapse::perf::Options::default();
    opt.nthreads = 1;
    opt.include_pid = options.include_pid;
    opt.include_tid = options.include_tid;
    opt.annotate_kernel = options.annotate_kernel;
    opt.annotate_jit = options.annotate_jit;
    opt.include_addrs = options.include_addrs;
    opt.event_filter = options.event.clone();
    let mut out = Vec::new();
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        inferno::collapse::perf::Folder::from(opt).collapse(input, &mut out)
    }));
    match run {
        Ok(Ok(())) => Some(
            String::from_utf8(out)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

fn joule_folded(input: &[u8], options: &ReadOptions) -> Vec<String> {
    Perf.read(input, options)
        .map(|p| folded_text(&p))
        .unwrap_or_default()
}

/// Every option combination: bit 0 pid, 1 tid, 2 kernel, 3 jit, 4 addrs.
fn option_set(bits: u32) -> ReadOptions {
    ReadOptions {
        include_pid: bits & 1 != 0,
        include_tid: bits & 2 != 0,
        annotate_kernel: bits & 4 != 0,
        annotate_jit: bits & 8 != 0,
        include_addrs: bits & 16 != 0,
        event: None,
        no_demangle: false,
        symbol_paths: Vec::new(),
    }
}

#[test]
fn equals_inferno_on_every_input_and_option_combination() {
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 11);
    for (name, input) in &inputs {
        for bits in 0..32 {
            let options = option_set(bits);
            let expected = inferno_folded(input, &options).expect("inferno reads the corpus");
            assert_eq!(
                joule_folded(input, &options),
                expected,
                "{name} {options:?}"
            );
        }
    }
    // The 3 MB example, with a few combinations (the test build is unoptimised).
    let gz = std::fs::read(fixtures().join("example-perf-stacks.txt.gz")).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
    for bits in [0, 3, 12, 31] {
        let options = option_set(bits);
        assert_eq!(
            joule_folded(&raw, &options),
            inferno_folded(&raw, &options).unwrap(),
            "example {options:?}"
        );
    }
}

/// A real `perf script --no-demangle` of a Rust program (joule itself, `profile top` twenty
/// times): with `no_demangle` the frames are inferno's, under every option; by default they are
/// demangled, with no hash left.
#[test]
fn mangled_names_are_kept_as_inferno_keeps_them_on_request() {
    let input = std::fs::read(fixtures().join("mangled/joule-profile-top.txt")).unwrap();
    for bits in 0..32 {
        let options = ReadOptions {
            no_demangle: true,
            ..option_set(bits)
        };
        let expected = inferno_folded(&input, &options).expect("inferno reads it");
        assert!(
            expected.iter().any(|l| l.contains("_ZN")),
            "the capture is mangled"
        );
        assert_eq!(joule_folded(&input, &options), expected, "{options:?}");
    }
    let demangled = joule_folded(&input, &ReadOptions::default());
    assert!(
        demangled.iter().all(|l| !l.contains("_ZN")),
        "{demangled:?}"
    );
    assert!(
        demangled.iter().any(
            |l| l.contains("joule_profile::ingest::pprof::read_samples;")
                || l.contains("joule_profile::ingest::pprof::read_samples ")
        ),
        "{demangled:?}"
    );
}

#[test]
fn equals_inferno_on_mutated_inputs() {
    let inputs: Vec<Vec<u8>> = [
        "java-inline.txt",
        "single-line-stacks.txt",
        "go-stacks.txt",
        "versioned-vmlinux.txt",
        "sourcepawn-jitdump.txt",
        "empty-line.txt",
        "cpp-stacks-std-function.txt",
    ]
    .iter()
    .map(|n| std::fs::read(fixtures().join(n)).unwrap())
    .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as usize
    };
    let alphabet = b"\n\n  \t:/()[]+x0\xff;->#Lj_ava";
    let mut compared = 0;
    for input in &inputs {
        for _ in 0..60 {
            let mut bytes = input.clone();
            for _ in 0..1 + next() % 6 {
                if bytes.is_empty() {
                    break;
                }
                let i = next() % bytes.len();
                match next() % 3 {
                    0 => bytes[i] = alphabet[next() % alphabet.len()],
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, alphabet[next() % alphabet.len()]),
                }
            }
            let options = option_set((next() % 32) as u32);
            if let Some(expected) = inferno_folded(&bytes, &options) {
                assert_eq!(
                    joule_folded(&bytes, &options),
                    expected,
                    "{options:?} on {}",
                    String::from_utf8_lossy(&bytes)
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 300, "{compared}");
}
