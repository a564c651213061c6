//! The offense skills on the corpus of small real programs (tests/offense/corpus/): each
//! program's committed profile and source give the finding its `expect.toml` names, at that
//! place, with a saving in cores and watts; each program's patch applies to a copy with
//! `git apply`, and the patched copy passes the program's own tests (a Rust crate built on its
//! own, a Python or C++ program under its own test command). On clean code
//! (tests/offense/clean/: Joule's own profile library and its evaluation's Python, profiled at
//! work) no skill reports an opportunity. `make eval-offense` adds per-skill precision and recall and times the patches.

use std::path::{Path, PathBuf};
use std::process::Command;

use joule_tests::*;

const OFFENSE_SKILLS: [&str; 16] = [
    "regex-in-hot-path",
    "sort-key-recomputed",
    "map-key-allocation",
    "linear-search-in-loop",
    "vec-growth-without-reserve",
    "unbuffered-write",
    "loop-after-answer",
    "quadratic-format",
    "strlen-in-loop-condition",
    "slow-hasher",
    "string-concat-in-loop",
    "alloc-in-loop",
    "constant-container-rebuilt",
    "exception-control-flow",
    "lock-contention",
    "comparator-reparse",
];

/// One `[[finding]]` of a case's expect.toml (the few keys the test reads, parsed by hand: the
/// file is flat `key = value` lines).
#[derive(Debug, Default)]
struct Expected {
    skill: String,
    function: String,
    file: String,
    line: u64,
    /// `patch = false`: the finding is reported without a patch (the skill says why).
    no_patch: bool,
    /// `saving = false`: no CPU saving is stated (the profile measures waiting, not CPU).
    no_saving: bool,
}

struct Case {
    dir: PathBuf,
    source: PathBuf,
    /// One profile, or several of one program (`profile = ["cpu.pb.gz", "allocs.pb.gz"]`).
    profiles: Vec<PathBuf>,
    expected: Vec<Expected>,
    /// The program's own test command, for programs that are not Rust crates
    /// (`test = ["python3", "-m", "unittest", "-q"]` under `[bench]`).
    test: Vec<String>,
}

fn case(rel: &str) -> Case {
    let dir = root().join(rel);
    let text = std::fs::read_to_string(dir.join("expect.toml")).unwrap();
    let (mut source, mut profiles) = (dir.clone(), vec![dir.join("profile.pb.gz")]);
    let mut expected: Vec<Expected> = Vec::new();
    let mut test = Vec::new();
    let mut in_finding = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_finding = line == "[[finding]]";
            if in_finding {
                expected.push(Expected::default());
            }
            continue;
        }
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        let value = value.trim_matches('"');
        let current = if in_finding {
            expected.last_mut()
        } else {
            None
        };
        match (key, current) {
            ("source", None) => source = dir.join(value),
            ("profile", None) => {
                profiles = value
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|p| dir.join(p.trim().trim_matches('"')))
                    .collect()
            }
            ("skill", Some(e)) => e.skill = value.to_string(),
            ("function", Some(e)) => e.function = value.to_string(),
            ("file", Some(e)) => e.file = value.to_string(),
            ("line", Some(e)) => e.line = value.parse().unwrap(),
            ("patch", Some(e)) => e.no_patch = value == "false",
            ("saving", Some(e)) => e.no_saving = value == "false",
            ("test", None) => {
                test = value
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|a| a.trim().trim_matches('"').to_string())
                    .collect()
            }
            _ => {}
        }
    }
    Case {
        dir,
        source,
        profiles,
        expected,
        test,
    }
}

fn run_offense(case: &Case) -> serde_json::Value {
    let source = format!("src={}", path_str(&case.source));
    let mut args = vec!["--source".to_string(), source];
    for profile in &case.profiles {
        args.push("--profile".into());
        args.push(path_str(profile).to_string());
    }
    for s in OFFENSE_SKILLS {
        args.push("--skills".into());
        args.push(path_str(&skill(s)).to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (report, code, stderr) = joule_json(&args);
    assert_eq!(code, 0, "{stderr}");
    report
}

fn opportunities(report: &serde_json::Value) -> Vec<&serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "opportunity")
        .collect()
}

fn at(finding: &serde_json::Value, e: &Expected) -> bool {
    finding["skill"] == e.skill.as_str()
        && finding["locations"].as_array().unwrap().iter().any(|l| {
            l["file"] == e.file.as_str()
                && l["function"] == e.function.as_str()
                && l["lines"]["start"].as_u64().unwrap() <= e.line
                && e.line <= l["lines"]["end"].as_u64().unwrap()
        })
}

/// A copy of a corpus program with the patch applied passes the program's own tests: a Rust
/// crate built on its own and tested offline, a Python program under unittest.
fn patched_copy_passes_its_tests(case: &Case, patch: &str) {
    let scratch = scratch_dir("offense");
    let name = case.dir.file_name().unwrap().to_string_lossy().into_owned();
    let copy = scratch.join(&name);
    copy_dir(&case.dir, &copy);
    std::fs::write(scratch.join(format!("{name}.patch")), patch).unwrap();
    run_ok(
        Command::new("git")
            .args(["apply", "--check", &format!("../{name}.patch")])
            .current_dir(&copy),
    );
    run_ok(
        Command::new("git")
            .args(["apply", &format!("../{name}.patch")])
            .current_dir(&copy),
    );
    // After the patch, whose context is the manifest as committed: the crate made to build
    // on its own.
    let rust = copy.join("Cargo.toml").is_file();
    if rust {
        let manifest = copy.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap().replace(
            "path = \"../../../../example/capture\"",
            &format!("path = \"{}\"", path_str(&root().join("example/capture"))),
        );
        std::fs::write(&manifest, text + "\n[workspace]\n").unwrap();
        std::fs::copy(root().join("Cargo.lock"), copy.join("Cargo.lock")).unwrap();
    }
    if !rust {
        let (program, args) = case
            .test
            .split_first()
            .expect("a test command in expect.toml");
        run_ok(
            Command::new(program)
                .args(args)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .current_dir(&copy),
        );
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_ok(
        Command::new(cargo)
            .args(["test", "--offline", "--quiet"])
            .env("CARGO_TARGET_DIR", target_dir().join("e2e-offense"))
            .current_dir(&copy),
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else if !path.to_string_lossy().ends_with(".gz") {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

fn finds_what_the_case_expects(rel: &str) {
    let case = case(rel);
    let report = run_offense(&case);
    let found = opportunities(&report);
    assert_eq!(found.len(), case.expected.len(), "{report:#}");
    for e in &case.expected {
        let f = found
            .iter()
            .find(|f| at(f, e))
            .unwrap_or_else(|| panic!("no {e:?} in {report:#}"));
        let saving = &f["saving"];
        if e.no_saving {
            assert!(saving.is_null(), "a saving where none was expected: {f:#}");
        } else {
            assert!(saving["cores"].as_f64().unwrap() > 0.0, "{f:#}");
            assert!(saving["watts"].as_f64().unwrap() > saving["cores"].as_f64().unwrap());
        }
        if e.no_patch {
            assert!(
                f["patch"].is_null(),
                "a patch where none was expected: {f:#}"
            );
            continue;
        }
        let patch = f["patch"]
            .as_str()
            .unwrap_or_else(|| panic!("no patch: {f:#}"));
        if case.dir.join("Cargo.toml").is_file() || !case.test.is_empty() {
            patched_copy_passes_its_tests(&case, patch);
        } else {
            // Only a case that points at a program kept elsewhere (the bundled example, whose
            // patch tests/e2e/example.rs applies and tests) has no tests of its own here.
            assert_ne!(
                case.source, case.dir,
                "{rel}: a corpus program without tests"
            );
        }
    }
}

#[test]
fn sort_keys_rebuilt_per_comparison_become_cached() {
    finds_what_the_case_expects("tests/offense/corpus/sortkeys");
}

#[test]
fn map_keys_allocated_per_update_are_allocated_per_new_key() {
    finds_what_the_case_expects("tests/offense/corpus/wordcount");
}

#[test]
fn a_regex_compiled_per_call_is_hoisted() {
    finds_what_the_case_expects("tests/offense/corpus/emails");
}

#[test]
fn python_patterns_given_as_strings_per_call_become_module_constants() {
    finds_what_the_case_expects("tests/offense/corpus/py-slugs");
}

#[test]
fn python_membership_tests_against_a_list_in_a_loop_get_a_set() {
    finds_what_the_case_expects("tests/offense/corpus/py-blocklist");
}

#[test]
fn rust_vectors_pushed_in_sized_loops_are_reserved() {
    finds_what_the_case_expects("tests/offense/corpus/prices");
}

#[test]
fn cpp_vectors_pushed_in_sized_loops_are_reserved() {
    finds_what_the_case_expects("tests/offense/corpus/cpp-buckets");
}

#[test]
fn unbuffered_writes_in_a_loop_get_a_buffer_and_a_flush() {
    finds_what_the_case_expects("tests/offense/corpus/export");
}

#[test]
fn a_rust_loop_that_has_its_answer_stops() {
    finds_what_the_case_expects("tests/offense/corpus/fraud");
}

#[test]
fn a_python_loop_that_has_its_answer_stops() {
    finds_what_the_case_expects("tests/offense/corpus/py-overdue");
}

#[test]
fn a_string_rebuilt_with_format_in_a_loop_is_appended_to() {
    finds_what_the_case_expects("tests/offense/corpus/joinids");
}

#[test]
fn c_strings_measured_in_a_loop_condition_are_measured_once() {
    finds_what_the_case_expects("tests/offense/corpus/c-slugs");
}

#[test]
fn a_hot_map_hashed_with_siphash_gets_foldhash() {
    finds_what_the_case_expects("tests/offense/corpus/heavy-hitters");
}

#[test]
fn a_go_string_built_with_plus_equals_in_a_loop_becomes_a_builder() {
    finds_what_the_case_expects("tests/offense/corpus/go-report");
}

#[test]
fn a_go_slice_made_on_every_iteration_is_made_once_and_emptied() {
    finds_what_the_case_expects("tests/offense/corpus/go-exposition");
}

#[test]
fn a_go_map_of_constants_built_per_call_moves_to_package_level() {
    finds_what_the_case_expects("tests/offense/corpus/go-keywords");
}

#[test]
fn java_exceptions_thrown_for_ordinary_input_in_a_loop_are_found() {
    finds_what_the_case_expects("tests/offense/corpus/java-ledger");
}

#[test]
fn a_go_lock_held_across_slow_work_is_shown_with_its_critical_section() {
    finds_what_the_case_expects("tests/offense/corpus/go-pages");
}

#[test]
fn a_cpp_mutex_held_across_slow_work_is_found_from_its_futex_frames() {
    finds_what_the_case_expects("tests/offense/corpus/cpp-cache");
}

#[test]
fn a_rust_mutex_guard_held_across_slow_work_is_found_from_its_futex_frames() {
    finds_what_the_case_expects("tests/offense/corpus/page-cache");
}

#[test]
fn a_comparator_that_parses_its_keys_is_found_at_its_sort() {
    finds_what_the_case_expects("tests/offense/corpus/go-ranking");
}

#[test]
fn a_rust_slice_searched_in_a_loop_gets_a_set() {
    finds_what_the_case_expects("tests/offense/corpus/blocklist");
}

#[test]
fn a_cpp_vector_searched_with_std_find_in_a_loop_gets_an_unordered_set() {
    // `permitted` gets the patch; `first_seen` grows the vector it searches, so its finding
    // comes without one.
    finds_what_the_case_expects("tests/offense/corpus/cpp-allowlist");
}

#[test]
fn a_go_slice_searched_by_a_contains_helper_in_a_loop_gets_a_map() {
    // `Permitted` gets the patch; `FirstSeen` appends to the slice it searches, so its finding
    // comes without one.
    finds_what_the_case_expects("tests/offense/corpus/go-allowlist");
}

#[test]
fn a_java_list_searched_in_a_loop_gets_a_hash_set_though_the_jit_inlined_the_search() {
    // HotSpot inlines `ArrayList.contains` into `permitted` and `firstSeen`: their own time is
    // the walk, the separate `ArrayList.contains` frames charged to them only what ran before
    // the JIT inlined it. `permitted` gets the patch; `firstSeen` adds to the list it searches,
    // so its finding comes without one.
    finds_what_the_case_expects("tests/offense/corpus/java-allowlist");
}

#[test]
fn a_go_function_whose_variable_hides_the_strings_package_gets_no_builder_patch() {
    // The same program with the loop's variable named `strings`: `strings.Builder` would name
    // the variable, so the finding stays and says why it has no patch.
    let mut case = case("tests/offense/corpus/go-report");
    let copy = scratch_dir("offense-strings-hidden").join("go-report");
    copy_dir(&case.dir, &copy);
    let file = copy.join("report.go");
    let text = std::fs::read_to_string(&file).unwrap();
    let hidden = text
        .replace("for _, r := range rows {", "for strings, r := range rows {")
        .replace(
            "out += strconv.Itoa(r.ID)",
            "out += strconv.Itoa(r.ID + 0*strings)",
        );
    assert_ne!(hidden, text);
    std::fs::write(&file, hidden).unwrap();
    case.source = copy;
    let report = run_offense(&case);
    let found = opportunities(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert!(found[0]["patch"].is_null(), "{report:#}");
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("`strings` names a variable in the function"),
        "{report:#}"
    );
}

#[test]
fn a_java_string_built_with_plus_equals_in_a_loop_becomes_a_string_builder() {
    finds_what_the_case_expects("tests/offense/corpus/java-report");
}

#[test]
fn python_bytes_built_with_plus_equals_in_a_loop_are_joined_once() {
    finds_what_the_case_expects("tests/offense/corpus/py-frames");
}

#[test]
fn a_c_search_helper_called_in_a_loop_is_a_linear_search() {
    finds_what_the_case_expects("tests/offense/corpus/c-stopwords");
}

#[test]
fn python_conversions_that_raise_for_most_cells_are_exceptions_as_control_flow() {
    finds_what_the_case_expects("tests/offense/corpus/py-columns");
}

#[test]
fn the_bundled_example_shows_its_two_regexes() {
    finds_what_the_case_expects("tests/offense/corpus/logscan");
}

/// A program whose regexes trip a text scan: braces in strings, in a comment and in a raw
/// string; a doc comment and an attribute above the hot function; a method whose `where` clause
/// comes before its body; regexes already built once (in a `static`, by `get_or_init`); someone
/// else's `new`; and a name the patch must not reuse.
const TRICKY_REGEXES: &str = r####"use regex::Regex;
use std::sync::OnceLock;

// A section comment.

/// Parses one line.
#[inline]
pub fn parse_line(line: &str) -> Option<u32> {
    let re = Regex::new(r"^(\d+) \{").unwrap(); // } in a comment
    let s = "fn parse_line() { not code }";
    let c = '{';
    assert!(!s.is_empty() && c == '{');
    re.captures(line).map(|c| c[1].parse().unwrap())
}

pub struct Parser;

struct MyRegex;

impl MyRegex {
    fn new(_: &str) -> Self {
        MyRegex
    }
}

impl Parser {
    pub fn parse<'a>(&self, x: &'a str) -> bool
    where
        Self: Sized,
    {
        static ONCE: std::sync::LazyLock<Regex> =
            std::sync::LazyLock::new(|| Regex::new("o").unwrap());
        static CELL: OnceLock<Regex> = OnceLock::new();
        let _other = MyRegex::new("not a regex");
        regex::Regex::new(r#"a"b\{"#)
            .expect("a valid pattern")
            .is_match(x)
            || ONCE.is_match(x)
            || CELL.get_or_init(|| Regex::new("c").unwrap()).is_match(x)
    }
}

/// Taken: the patch names its static `PARSE_RE_2`.
pub const PARSE_RE: u8 = 0;

#[cfg(test)]
mod tests {
    #[test]
    fn parses() {
        assert_eq!(super::parse_line("12 {"), Some(12));
        assert!(super::Parser.parse(r#"a"b{"#));
        assert!(!super::Parser.parse("ab"));
    }
}
"####;

/// A crate named `name` with `source` as its `src/lib.rs`, depending on `regex`, run by
/// `regex-in-hot-path` with the folded stacks `profile` (which name no files: the skill finds
/// each function by its name): the report, the crate's directory and the patch's text.
fn regex_program(name: &str, source: &str, profile: &str) -> (serde_json::Value, PathBuf, String) {
    let dir = scratch_dir(name);
    let program = dir.join(name);
    std::fs::create_dir_all(program.join("src")).unwrap();
    std::fs::write(program.join("src/lib.rs"), source).unwrap();
    std::fs::write(
        program.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [dependencies]\nregex = \"1\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::copy(root().join("Cargo.lock"), program.join("Cargo.lock")).unwrap();
    let folded = dir.join(format!("{name}.folded"));
    std::fs::write(&folded, profile).unwrap();
    let patch = dir.join("fix.patch");
    let source = format!("src={}", path_str(&program));
    let (report, code, stderr) = joule_json(&[
        "--profile",
        path_str(&folded),
        "--source",
        &source,
        "--skills",
        path_str(&skill("regex-in-hot-path")),
        "--patch",
        path_str(&patch),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&patch).unwrap_or_default();
    (report, program, text)
}

/// The patch `regex_program` wrote applies to the crate, and the crate's tests pass.
fn patched_program_passes_its_tests(program: &Path) {
    run_ok(
        Command::new("git")
            .args(["apply", "--verbose", "../fix.patch"])
            .current_dir(program),
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_ok(
        Command::new(cargo)
            .args(["test", "--offline", "--quiet"])
            .env("CARGO_TARGET_DIR", target_dir().join("e2e-offense"))
            .current_dir(program),
    );
}

#[test]
fn regexes_compiled_per_call_are_found_by_syntax_and_hoisted_where_they_build() {
    let (report, program, text) = regex_program(
        "tricky",
        TRICKY_REGEXES,
        "main;tricky::parse_line;regex::regex::string::Regex::new 60\n\
         main;tricky::Parser::parse;regex::regex::string::Regex::new 40\n\
         main;tricky::idle 100\n",
    );

    // One finding for each hot function, at the call it makes per call, with its patch.
    let found = findings_of(&report, "regex-in-hot-path");
    assert_eq!(found.len(), 2, "{report:#}");
    for (f, (function, line)) in found
        .iter()
        .zip([("tricky::parse_line", 9), ("tricky::Parser::parse", 35)])
    {
        let location = &f["locations"][0];
        assert_eq!(location["function"], function);
        assert_eq!(location["file"], "src/lib.rs");
        assert_eq!(location["lines"]["start"], line, "{f:#}");
        assert_eq!(f["confidence"], 0.95, "{f:#}");
        assert_eq!(f["edits"].as_array().unwrap().len(), 2, "{f:#}");
    }
    assert_eq!(found[1]["locations"][0]["lines"]["end"], 36);

    for lines in [
        // Above the function's doc comment and attribute, not the section comment.
        "+static PARSE_LINE_RE: std::sync::LazyLock<Regex> =\n\
         +    std::sync::LazyLock::new(|| Regex::new(r\"^(\\d+) \\{\").unwrap());\n\
         +\n \
         /// Parses one line.\n",
        "-    let re = Regex::new(r\"^(\\d+) \\{\").unwrap(); // } in a comment\n\
         +    let re = &*PARSE_LINE_RE; // } in a comment\n",
        // Above the `impl` holding the method, under the name not taken yet.
        "+static PARSE_RE_2: std::sync::LazyLock<regex::Regex> =\n\
         +    std::sync::LazyLock::new(|| regex::Regex::new(r#\"a\"b\\{\"#).expect(\"a valid pattern\"));\n\
         +\n \
         impl Parser {\n",
        "-        regex::Regex::new(r#\"a\"b\\{\"#)\n\
         -            .expect(\"a valid pattern\")\n\
         -            .is_match(x)\n\
         +        PARSE_RE_2.is_match(x)\n",
    ] {
        assert!(text.contains(lines), "patch lacks\n{lines}\nin:\n{text}");
    }
    // The regexes built once stay as they are.
    assert!(
        text.lines()
            .filter(|l| l.starts_with(['+', '-']))
            .all(|l| !l.contains("\"o\"") && !l.contains("\"c\"")),
        "{text}"
    );
    patched_program_passes_its_tests(&program);
}

/// Regexes built inside macros' arguments, written as the regex crate's own examples write
/// them (`assert!(Regex::new(..).unwrap().is_match(..))`, `println!("{}", Regex::new(..)
/// .unwrap().replace(..))`), as crates collect patterns (`vec![Regex::new(..).unwrap(), ..]`,
/// one per line, a comment after one, ripgrep's `::regex::Regex`), formatted (`format!`),
/// tested with `matches!` and a multi-line `debug_assert_eq!`, and checked by a command line's
/// own `ensure!`; beside regexes built once in `thread_local!` and in `get_or_init` written
/// inside `assert!`.
const REGEXES_IN_MACROS: &str = r####"//! Log triage: regexes built inside macros' arguments on every call.
use regex::Regex;
use std::sync::OnceLock;

/// Fails the check with a message, as a command line's argument validation does.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+));
        }
    };
}

/// Lines to skip: comments and blank ones.
pub fn skip_patterns() -> Vec<Regex> {
    vec![
        Regex::new(r"^\s*#").unwrap(), // comments
        regex::Regex::new(r"^\s*$")
            .expect("blank lines"),
        ::regex::Regex::new(r"^\s*//").unwrap(),
    ]
}

pub fn check_date(s: &str) -> &str {
    assert!(Regex::new(r"^\d{4}-\d{2}-\d{2}$").unwrap().is_match(s), "not a date: {s}");
    s
}

pub fn redact(line: &str) -> String {
    format!("[{}]", Regex::new(r"\d{4}-\d{4}").unwrap().replace_all(line, "XXXX-XXXX"))
}

pub fn check_name(name: &str) -> Result<&str, String> {
    ensure!(Regex::new(r"^[a-z][a-z0-9-]*$").unwrap().is_match(name), "bad name: {name}");
    Ok(name)
}

static CAPITALISED: OnceLock<Regex> = OnceLock::new();

pub fn count_words(line: &str) -> usize {
    thread_local! {
        static WORD: Regex = Regex::new(r"\w+").unwrap();
    }
    assert!(CAPITALISED.get_or_init(|| Regex::new(r"^[A-Z]").unwrap()).is_match(line));
    let leading_number = matches!(Regex::new(r"\d+").unwrap().find(line), Some(m) if m.start() == 0);
    WORD.with(|re| re.find_iter(line).count()) + usize::from(leading_number)
}

/// Runs one line of a small command language.
pub fn run_command(line: &str) -> String {
    match line.split(' ').next().unwrap_or("") {
        "echo" => println!("{}", Regex::new(r#"^\s*echo "([^"]*)"\s*$"#).unwrap().replace(line, "$1")),
        "strip" => {
            debug_assert_eq!(
                Regex::new(r"^strip ").unwrap().find(line).map(|m| m.start()),
                Some(0)
            );
            return line["strip ".len()..].trim().to_string();
        }
        _ => {}
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triage() {
        let skip = skip_patterns();
        assert_eq!(skip.iter().filter(|re| re.is_match("  # note")).count(), 1);
        assert!(skip[1].is_match(""));
        assert_eq!(check_date("2024-01-31"), "2024-01-31");
        assert_eq!(redact("card 1234-5678"), "[card XXXX-XXXX]");
        assert!(check_name("joule").is_ok() && check_name("Joule").is_err());
        assert_eq!(count_words("Yes, 12 words"), 3);
        assert_eq!(run_command("strip  x "), "x");
        assert_eq!(run_command("echo \"hi\""), "");
    }
}
"####;

#[test]
fn regexes_compiled_inside_macros_arguments_are_found_and_hoisted_where_the_macro_allows() {
    let (report, program, text) = regex_program(
        "triage",
        REGEXES_IN_MACROS,
        "main;triage::skip_patterns;regex::regex::string::Regex::new 30\n\
         main;triage::check_date;regex::regex::string::Regex::new 20\n\
         main;triage::redact;regex::regex::string::Regex::new 20\n\
         main;triage::check_name;regex::regex::string::Regex::new 10\n\
         main;triage::count_words;regex::regex::string::Regex::new 10\n\
         main;triage::run_command;regex::regex::string::Regex::new 10\n\
         main;triage::idle 10\n",
    );

    // Every call built per call is found at its lines; the ones inside the standard
    // library's macros get a patch, the one inside the program's own `ensure!` says why not.
    let mut found: Vec<(String, u64, u64, usize)> = findings_of(&report, "regex-in-hot-path")
        .iter()
        .map(|f| {
            let location = &f["locations"][0];
            assert_eq!(location["file"], "src/lib.rs");
            (
                location["function"].as_str().unwrap().to_string(),
                location["lines"]["start"].as_u64().unwrap(),
                location["lines"]["end"].as_u64().unwrap(),
                f["edits"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    found.sort_by_key(|(_, line, _, _)| *line);
    let expected = [
        ("triage::skip_patterns", 17, 17, 2),
        ("triage::skip_patterns", 18, 19, 2),
        // `::regex::Regex`: a longer path than a patch inside a macro copies.
        ("triage::skip_patterns", 20, 20, 0),
        ("triage::check_date", 25, 25, 2),
        ("triage::redact", 30, 30, 2),
        ("triage::check_name", 34, 34, 0),
        ("triage::count_words", 45, 45, 2),
        ("triage::run_command", 52, 52, 2),
        ("triage::run_command", 55, 55, 2),
    ];
    let expected: Vec<(String, u64, u64, usize)> = expected
        .iter()
        .map(|(f, start, end, edits)| (f.to_string(), *start, *end, *edits))
        .collect();
    assert_eq!(found, expected, "{report:#}");
    let unpatched = findings_of(&report, "regex-in-hot-path")
        .into_iter()
        .find(|f| f["locations"][0]["function"] == "triage::check_name")
        .unwrap();
    assert_eq!(unpatched["confidence"], 0.75);
    assert!(
        unpatched["message"]
            .as_str()
            .unwrap()
            .contains("inside the arguments of `ensure!`"),
        "{unpatched:#}"
    );

    for lines in [
        // A value in `vec![..]`: a clone of the static, which shares the compiled regex.
        "-        Regex::new(r\"^\\s*#\").unwrap(), // comments\n\
         -        regex::Regex::new(r\"^\\s*$\")\n\
         -            .expect(\"blank lines\"),\n\
         +        SKIP_PATTERNS_RE.clone(), // comments\n\
         +        SKIP_PATTERNS_RE_2.clone(),\n",
        "+static SKIP_PATTERNS_RE_2: std::sync::LazyLock<regex::Regex> =\n\
         +    std::sync::LazyLock::new(|| regex::Regex::new(r\"^\\s*$\").expect(\"blank lines\"));\n",
        // A method called on it: the static, through `Deref`.
        "+    assert!(CHECK_DATE_RE.is_match(s), \"not a date: {s}\");\n",
        "+    format!(\"[{}]\", REDACT_RE.replace_all(line, \"XXXX-XXXX\"))\n",
        "+    let leading_number = matches!(COUNT_WORDS_RE.find(line), Some(m) if m.start() == 0);\n",
        "+        \"echo\" => println!(\"{}\", RUN_COMMAND_RE.replace(line, \"$1\")),\n",
        "+                RUN_COMMAND_RE_2.find(line).map(|m| m.start()),\n",
    ] {
        assert!(text.contains(lines), "patch lacks\n{lines}\nin:\n{text}");
    }
    // What is built once, and what `ensure!` reads, stay as they are.
    assert!(
        text.lines()
            .filter(|l| l.starts_with(['+', '-']))
            .all(|l| !l.contains(r#"r"\w+""#)
                && !l.contains(r#"r"^[A-Z]""#)
                && !l.contains("ensure!")),
        "{text}"
    );
    patched_program_passes_its_tests(&program);
}

fn clean_code_gets_no_opportunity(rel: &str) {
    let case = case(rel);
    let report = run_offense(&case);
    assert!(opportunities(&report).is_empty(), "{report:#}");
    // The skills did look: each ran and read the profile.
    for s in OFFENSE_SKILLS {
        assert_eq!(run_of(&report, s)["status"], "ok");
    }
}

#[test]
fn joules_own_rust_gets_no_opportunity() {
    clean_code_gets_no_opportunity("tests/offense/clean/joule-profiles");
}

#[test]
fn joules_own_python_gets_no_opportunity() {
    clean_code_gets_no_opportunity("tests/offense/clean/eval-scripts");
}

#[test]
fn syntax_queries_are_audited_and_skip_denied_files() {
    // The same program, with its source file denied to the skill: the file is not located,
    // the lookup of where the function is defined (audited as `source/definitions`) does not
    // return the denied file, so no query reads it and there is nothing to report.
    let case = case("tests/offense/corpus/sortkeys");
    let component = skill("sort-key-recomputed");
    let dir = scratch_dir("offense-deny");
    let policy = dir.join("deny.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n\n[[skill]]\nid = \"sort-key-recomputed\"\ndigest = \"sha256:{}\"\n\
             profiles = [\"*\"]\nsources = [\"src\"]\ndeny = [\"src/lib.rs\"]\n",
            digest_of(&component)
        ),
    )
    .unwrap();
    let audit = dir.join("audit.jsonl");
    let source = format!("src={}", path_str(&case.source));
    let (report, code, stderr) = joule_json(&[
        "--profile",
        path_str(&case.profiles[0]),
        "--source",
        &source,
        "--skills",
        path_str(&component),
        "--policy",
        path_str(&policy),
        "--audit-log",
        path_str(&audit),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(run_of(&report, "sort-key-recomputed")["status"], "ok");
    assert!(opportunities(&report).is_empty(), "{report:#}");
    let summary = Audit { path: audit }.summary();
    let calls = &summary.of("sort-key-recomputed").allowed;
    assert!(
        calls.get("source/definitions").copied().unwrap_or(0) > 0,
        "{calls:?}"
    );
    assert_eq!(calls.get("source/query"), None, "{calls:?}");
}

#[test]
fn python_regexes_compiled_once_per_class_or_per_cached_argument_get_no_opportunity() {
    // A class body, __init_subclass__ and an lru_cache'd function each compile regexes under
    // their own frames: once per class or per distinct argument, not per call.
    clean_code_gets_no_opportunity("tests/offense/clean/py-once");
}

#[test]
fn python_strings_and_bytearrays_grown_in_place_get_no_opportunity() {
    // `text += ..` on a local str and `out += ..` on a bytearray, both hot: CPython grows
    // them in place, so only bytes (copied on every append) would be a finding.
    clean_code_gets_no_opportunity("tests/offense/clean/py-text");
}

#[test]
fn python_exceptions_that_are_rare_or_whose_handler_does_the_work_get_no_opportunity() {
    // A dict lookup whose KeyError comes one line in 500, and a cache whose KeyError handler
    // computes the value: the handler's time is not the exceptions' cost there.
    clean_code_gets_no_opportunity("tests/offense/clean/py-eafp");
}
