//! The perf.data reader on a real capture (tests/fixtures/perf-data/): the frames inlined
//! into `run` come back with their lines, every sample of perf's own reading is kept, and
//! broken or hostile files give errors or warnings, never a panic.

use std::path::PathBuf;

use super::perf_data::read_with;
use super::{ReadOptions, load_bytes_with, load_with};
use crate::export::folded;
use crate::model::{Format, Profile};
use crate::symbolize::Locator;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/perf-data")
}

fn with_binaries() -> ReadOptions {
    ReadOptions {
        symbol_paths: vec![fixtures()],
        ..ReadOptions::default()
    }
}

#[test]
fn a_frame_pointer_capture_gets_its_inlined_functions_and_lines_back() {
    let p = load_with(&fixtures().join("perf.data"), &with_binaries()).unwrap();
    assert_eq!(p.format, Format::PerfData);
    let t = p.default_sample_type;
    let name = |id: u32| p.strings.get(p.functions[id as usize].name);
    let stacks = folded::lines(&p, t);
    // perf's own reading of this file names `run` as the leaf; the code is `mix`'s, inlined
    // into `checksum`, inlined into `run`.
    let hot: i64 = stacks
        .iter()
        .filter(|(s, _)| s.contains(";main;run;checksum;mix"))
        .map(|(_, v)| v)
        .sum();
    let all: i64 = stacks.values().sum();
    assert!(hot * 10 > all * 9, "{stacks:#?}");
    // Each inlined function is a function of its own, in the source file, with lines.
    let mix = p.functions_named("mix")[0];
    assert!(
        p.strings
            .get(p.functions[mix as usize].file)
            .ends_with("hot.c")
    );
    let lines = p.lines(mix, t, 10);
    assert!(
        !lines.is_empty() && lines.iter().all(|l| (6..=11).contains(&l.line)),
        "{lines:?}"
    );
    let checksum = p.functions_named("checksum")[0];
    let calls = p.lines(checksum, t, 10);
    assert!(
        calls.iter().any(|l| l.line == 16),
        "checksum calls mix at line 16: {calls:?}"
    );
    assert_eq!(name(p.functions_named("run")[0]), "run");
    assert!(
        p.warnings.iter().all(|w| !w.contains("/hot")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn every_sample_perf_script_shows_is_kept_with_its_thread() {
    let p = load_with(&fixtures().join("perf.data"), &with_binaries()).unwrap();
    let text = std::fs::read(fixtures().join("perf-script.txt")).unwrap();
    let script = load_bytes_with("perf-script.txt", &text, &ReadOptions::default()).unwrap();
    assert_eq!(p.raw_sample_count, script.raw_sample_count);
    let total = |p: &crate::model::Profile| -> Vec<i64> {
        (0..p.sample_types.len())
            .map(|t| (0..p.stack_count()).map(|i| p.stack_values(i)[t]).sum())
            .collect()
    };
    assert_eq!(total(&p), total(&script));
    let types = |p: &crate::model::Profile| -> Vec<String> {
        p.sample_types
            .iter()
            .map(|v| format!("{}/{}", p.strings.get(v.name), p.strings.get(v.unit)))
            .collect()
    };
    assert_eq!(types(&p), types(&script));
    assert_eq!(types(&p), ["samples/count", "cpu-clock/nanoseconds"]);
    // The same root (the command name) and the same labels per thread.
    let roots = |p: &crate::model::Profile| -> Vec<String> {
        let mut r: Vec<String> = folded::lines(p, 1)
            .keys()
            .map(|s| s.split(';').next().unwrap().to_string())
            .collect();
        r.dedup();
        r
    };
    assert_eq!(roots(&p), roots(&script));
    // perf script prints no pid by default; perf.data has it, and it is kept as a label.
    let without_pid = |p: &Profile| -> Vec<(String, String, i64)> {
        p.label_totals(1)
            .into_iter()
            .filter(|l| l.0 != "pid")
            .collect()
    };
    assert_eq!(without_pid(&p), without_pid(&script));
}

/// The fixture read with binaries looked for in `dirs` only (not this machine's caches, which
/// perf fills when it records).
fn isolated(dirs: &[PathBuf]) -> Result<Profile, super::Problem> {
    isolated_file("perf.data", dirs)
}

fn isolated_file(name: &str, dirs: &[PathBuf]) -> Result<Profile, super::Problem> {
    let data = std::fs::read(fixtures().join(name)).unwrap();
    read_with(&data, &ReadOptions::default(), Locator::only(dirs))
}

#[test]
fn a_binary_that_cannot_be_found_leaves_module_frames_and_says_where_to_look() {
    // The recorded path was a temporary directory, gone; nowhere else to look.
    let p = isolated(&[]).unwrap();
    let stacks = folded::lines(&p, 1);
    assert!(stacks.keys().any(|s| s.contains("[hot]")), "{stacks:#?}");
    assert!(!stacks.keys().any(|s| s.contains("mix")), "{stacks:#?}");
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("no binary with build id") && w.contains("--symbol-path")),
        "{:?}",
        p.warnings
    );
    // Found by build id in the directory given, under another name than the recorded one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("hot"), dir.path().join("hot")).unwrap();
    let found = isolated(&[dir.path().to_path_buf()]).unwrap();
    assert!(
        folded::lines(&found, 1)
            .keys()
            .any(|s| s.ends_with(";checksum;mix"))
    );
    // A different binary of the same name is not taken for it.
    std::fs::copy(
        fixtures().join("../compat/README.md"),
        dir.path().join("hot"),
    )
    .ok();
    std::fs::write(dir.path().join("hot"), b"\x7fELF not really").unwrap();
    let wrong = isolated(&[dir.path().to_path_buf()]).unwrap();
    assert!(!folded::lines(&wrong, 1).keys().any(|s| s.contains("mix")));
}

#[test]
fn event_choice_is_by_name_and_an_unknown_event_is_refused_with_the_choices() {
    let path = fixtures().join("perf.data");
    let chosen = ReadOptions {
        event: Some("cpu-clock".into()),
        ..with_binaries()
    };
    assert!(load_with(&path, &chosen).is_ok());
    let absent = ReadOptions {
        event: Some("cycles".into()),
        ..with_binaries()
    };
    let e = load_with(&path, &absent).unwrap_err().to_string();
    assert!(e.contains("`cycles`") && e.contains("`cpu-clock`"), "{e}");
}

#[test]
fn truncated_and_corrupted_files_are_errors_or_warnings_never_panics() {
    let data = std::fs::read(fixtures().join("perf.data")).unwrap();
    let options = ReadOptions::default();
    let read = |bytes: &[u8]| read_with(bytes, &options, Locator::only(&[]));
    // Truncations through the header and the first records, then coarser.
    for cut in (0..1024).step_by(3).chain((1024..data.len()).step_by(331)) {
        let _ = read(&data[..cut]);
    }
    // Eight bytes overwritten at offsets all through the file, with values that break sizes,
    // counts and offsets.
    for (i, at) in (0..data.len()).step_by(29).enumerate() {
        let mut bad = data.clone();
        let value = [0xff, 0x00, 0x7f, 0x80][i % 4];
        for b in bad.iter_mut().skip(at).take(8) {
            *b = value;
        }
        if let Ok(p) = read(&bad) {
            assert!(p.raw_sample_count <= 10_000, "{at}");
        }
    }
    // Every header field set to huge values in turn: errors naming the byte.
    for field in (8..104).step_by(8) {
        let mut bad = data.clone();
        bad[field..field + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        match read(&bad) {
            Err(e) => assert!(matches!(e.0.0, super::Place::Byte(_)), "{field}: {e:?}"),
            Ok(p) => assert!(p.raw_sample_count <= 10_000),
        }
    }
}

#[test]
fn jit_code_is_named_from_the_symbol_map_the_process_wrote() {
    // Node 20 with --perf-basic-prof; its map kept beside the capture.
    let options = ReadOptions {
        symbol_paths: vec![fixtures()],
        ..ReadOptions::default()
    };
    let p = load_with(&fixtures().join("node-jit.perf.data"), &options).unwrap();
    let fib = p.functions_named("JS:*fib /tmp/jit/fib.js:1:13");
    assert!(
        !fib.is_empty(),
        "{:?}",
        folded::lines(&p, 1).keys().take(5).collect::<Vec<_>>()
    );
    let t = p.default_sample_type;
    let stat = p.function_stat(fib[0], t);
    let total: i64 = (0..p.stack_count()).map(|i| p.stack_values(i)[t]).sum();
    assert!(stat.self_value * 10 > total * 3, "{stat:?} of {total}");
    assert_eq!(
        p.strings.get(p.functions[fib[0] as usize].module),
        "/tmp/perf-4609.map"
    );
    // --jit marks them, as for perf script.
    let marked = ReadOptions {
        annotate_jit: true,
        ..options
    };
    let p = load_with(&fixtures().join("node-jit.perf.data"), &marked).unwrap();
    assert!(
        !p.functions_named("JS:*fib /tmp/jit/fib.js:1:13_[j]")
            .is_empty()
    );
}

#[test]
fn compressed_records_are_read_and_a_decompression_bomb_is_refused() {
    // perf record -z of the same program: zstd-compressed records.
    let p = isolated_file("compressed.perf.data", &[fixtures()]).unwrap();
    let stacks = folded::lines(&p, 1);
    assert!(
        stacks.keys().any(|s| s.ends_with(";run;checksum;mix")),
        "{stacks:#?}"
    );
    assert!(p.raw_sample_count > 50, "{}", p.raw_sample_count);
    // A compressed record that expands to 300 MiB of zeros (a few KB of zstd): refused before
    // the reader holds it, naming the record's byte.
    let zeros = vec![0u8; 300 << 20];
    let mut bomb = vec![0u8; zstd_safe::compress_bound(zeros.len())];
    let n = zstd_safe::compress(&mut bomb[..], &zeros, 1).unwrap();
    bomb.truncate(n);
    assert!(bomb.len() < 60_000, "{}", bomb.len());
    let mut inflate = super::perf_data::Inflate::new(6_000);
    let e = inflate.feed(&bomb).unwrap_err();
    assert!(e.contains("decompression bomb"), "{e}");
    // Garbage is an error, not a panic.
    let mut inflate = super::perf_data::Inflate::new(6_000);
    assert!(inflate.feed(b"not a zstd frame at all").is_err());
}

#[test]
fn the_caller_of_a_frameless_leaf_is_restored_from_the_call_before_the_return_address() {
    // leaf.c: `upcase` calls strlen, which never sets up a frame, so perf's frame-pointer
    // unwind goes from strlen to main (`perf script` shows `strlen; main`).
    let p = load_with(&fixtures().join("leaf.perf.data"), &with_binaries()).unwrap();
    let stacks = folded::lines(&p, p.default_sample_type);
    let all: i64 = stacks.values().sum();
    let under_upcase: i64 = stacks
        .iter()
        .filter(|(s, _)| s.contains(";main;upcase"))
        .map(|(_, v)| v)
        .sum();
    assert!(under_upcase * 10 > all * 9, "{stacks:#?}");
    // Every strlen sample is `upcase`'s, whatever libc's symbols are called on this machine.
    assert!(
        stacks
            .iter()
            .filter(|(s, _)| s.contains("strlen") || s.contains("[libc.so"))
            .all(|(s, _)| s.contains(";main;upcase;")),
        "{stacks:#?}"
    );
    assert!(
        p.comments
            .iter()
            .any(|&c| p.strings.get(c).contains("given back the caller")),
        "{:?}",
        p.comments
    );
    // GCC's split and cloned parts are their function.
    assert_eq!(super::perf_data::clone_base("work.cold"), "work");
    assert_eq!(super::perf_data::clone_base("f.part.0.isra.0"), "f");
    assert_eq!(super::perf_data::clone_base("parse_line"), "parse_line");
    // The fixture of hot.c: `run` holds its samples itself (it has a frame), so nothing is
    // inserted between `run` and `main`, and `main` is never inserted under itself. Kernel
    // frames are named only on the kernel that recorded the fixture; elsewhere each is
    // `[kernel.kallsyms]`, one per address, and they are not what this checks.
    let hot = load_with(&fixtures().join("perf.data"), &with_binaries()).unwrap();
    for (stack, _) in folded::lines(&hot, hot.default_sample_type) {
        let frames: Vec<&str> = stack.split(';').filter(|f| !f.starts_with('[')).collect();
        assert!(frames.windows(2).all(|w| w[0] != w[1]), "{stack}");
    }
}

#[test]
fn a_leaf_called_from_inlined_code_gets_the_inlined_function_back_too() {
    // inlined.c: `count` calls its own frameless `span` only from the inlined `width`, and
    // strcmp (through the PLT) only from the inlined `listed`. The unwind loses `count` (given
    // back from the call before main's return address) and the call site in it; every call of
    // the leaf in `count` being inside the same inlined function, that function comes back.
    let p = load_with(&fixtures().join("inlined.perf.data"), &with_binaries()).unwrap();
    let stacks = folded::lines(&p, p.default_sample_type);
    let span: Vec<_> = stacks
        .iter()
        .filter(|(s, _)| s.ends_with(";span"))
        .collect();
    assert!(!span.is_empty(), "{stacks:#?}");
    assert!(
        span.iter()
            .all(|(s, _)| s.ends_with(";main;count;width;span")),
        "{stacks:#?}"
    );
    // strcmp's samples: in libc, named only where this machine's libc is the one recorded
    // (by build id); `count` is restored either way, `listed` when the leaf can be named.
    let libc: Vec<_> = stacks
        .iter()
        .filter(|(s, _)| s.contains("strcmp") || s.contains("[libc.so"))
        .collect();
    assert!(!libc.is_empty(), "{stacks:#?}");
    assert!(
        libc.iter().all(|(s, _)| s.contains(";main;count;")),
        "{stacks:#?}"
    );
    assert!(
        libc.iter()
            .filter(|(s, _)| s.contains("strcmp"))
            .all(|(s, _)| s.contains(";main;count;listed;")),
        "{stacks:#?}"
    );
    // The binary's PLT: each stub with the function it is bound to.
    let locator = crate::symbolize::Locator::new(&[fixtures()]);
    let mut symbolizer = crate::symbolize::Symbolizer::new(locator);
    let path = fixtures().join("inlined");
    let binary = symbolizer
        .binary(path.to_str().unwrap(), &[])
        .expect("the fixture binary");
    let stubs = binary.plt_names();
    let (strcmp, _) = stubs
        .iter()
        .find(|(_, n)| n == "strcmp")
        .expect("strcmp's stub");
    // A sample in the stub is named as perf names it.
    let frames = binary.frames(strcmp + 4);
    assert_eq!(
        frames
            .iter()
            .map(|f| f.function.as_str())
            .collect::<Vec<_>>(),
        ["strcmp@plt"],
        "{stubs:?}"
    );
}

#[test]
fn glibc_implementations_are_the_functions_a_plt_stub_is_bound_to() {
    use crate::symbolize::implements;
    for (leaf, name) in [
        ("__strcmp_evex", "strcmp"),
        ("__strlen_avx2", "strlen"),
        ("strlen", "strlen"),
        ("__memmove_avx_unaligned_erms", "memcpy@GLIBC_2.14"),
        ("__memset_avx2_unaligned_erms", "memset"),
        ("__strchr_sse2", "strchr"),
        ("__memcmp_evex_movbe", "memcmp"),
        ("__libc_malloc", "malloc"),
    ] {
        assert!(implements(leaf, name), "{leaf} {name}");
    }
    for (leaf, name) in [
        ("__strncmp_avx2", "strcmp"),
        ("__strchrnul_evex", "strchr"),
        ("__strcmp_evex", "str"),
        ("memcpy", "memmove"),
        ("anything", ""),
        // Other functions that share a prefix: a fortified copy, a program's own.
        ("__memcpy_chk", "memcpy"),
        ("read_config", "read"),
        ("__read_nocancel", "read"),
    ] {
        assert!(!implements(leaf, name), "{leaf} {name}");
    }
}
