//! The HTML report (`--format html`) end to end: written by `joule run` for the example (offense
//! and defense, as `make demo` runs it), for two profiles of the example's history (the
//! differential flame graph), for a 115 MB `perf script` capture of a real Go build, and for
//! `scribbler`'s hostile strings; then opened in a real headless Chromium (Debian's
//! `/usr/bin/chromium`, driven by Playwright from Python: `tests/e2e/html_browser.py` holds the
//! browser checks). Screenshots are kept in `<target>/html-report-test/` as the test's artifact.
//!
//! Needs `python3` with `venv`, PyPI, `chromium` and `xz` (`make setup` installs them).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use joule_tests::*;
use serde_json::{Value, json};

/// The Playwright version the checks were written against. Only its driver is used: the
/// browser is Debian's, so nothing is downloaded but the package.
const PLAYWRIGHT: &str = "playwright==1.65.3";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The JSON embedded in a page (`#joule-data`), as the page's script reads it.
fn page_data(html: &str) -> Value {
    let start = html
        .find("<script type=\"application/json\" id=\"joule-data\">")
        .expect("the page embeds its data");
    let rest = &html[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</script>").unwrap();
    serde_json::from_str(&rest[open..close]).expect("the embedded data is JSON")
}

fn run_html(args: &[&str], out: &Path) -> String {
    let mut all: Vec<&str> = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "html", "-o", path_str(out)]);
    let o = joule(&all);
    assert!(
        o.status.code().is_some_and(|c| c == 0 || c == 3),
        "joule {all:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

/// The page with every run's duration set to 0: all that may differ between two runs.
fn without_durations(html: &str) -> String {
    let mut data = page_data(html);
    for run in data["report"]["runs"].as_array_mut().unwrap() {
        run["duration_ms"] = json!(0);
    }
    let start = html.find("id=\"joule-data\">").unwrap();
    let end = start + html[start..].find("</script>").unwrap();
    format!("{}{}{}", &html[..start], data, &html[end..])
}

#[test]
fn the_html_report_works_in_a_real_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (make setup does)"
    );
    let python = python_venv("browser-venv", PLAYWRIGHT, "playwright.sync_api");
    let scratch = scratch_dir("html");
    let shots = target_dir().join("html-report-test");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    // The example, offense and defense, as `make demo` runs it.
    let history = clone_example_history(&scratch);
    let history_arg = format!("logscan={}", history.display());
    let deploy_log = root().join("example/history/deploys.csv");
    let deploy_arg = format!("logscan={}", deploy_log.display());
    let profile = root().join("example/profiles/logscan.pb.gz");
    let source = format!("example={}", root().join("example/logscan").display());
    let series_dir = root().join("example/history/profiles");
    let skills = skills_dir();
    let hot = skill("hot-functions");
    let example_args = [
        "--profile",
        path_str(&profile),
        "--source",
        &source,
        "--history",
        &history_arg,
        "--deploy-log",
        &deploy_arg,
        "--profile-series",
        path_str(&series_dir),
        "--param",
        "regression-detect.series=total:logscan::",
        "--skills",
        path_str(&skills),
    ];
    let example = scratch.join("example.html");
    let page = run_html(&example_args, &example);
    // Self-contained: no address outside the page.
    for outside in ["http://", "https://", "src=\"", "href=\"//"] {
        let hits: Vec<&str> = page
            .match_indices(outside)
            .map(|(i, _)| &page[i.saturating_sub(40)..(i + 60).min(page.len())])
            .filter(|around| !around.contains("www.w3.org/2000/svg"))
            .collect();
        assert!(hits.is_empty(), "the page refers outside itself: {hits:?}");
    }
    // Deterministic: a second run gives the same page, bar how long each skill took; and
    // `--html` beside another format writes the page `--format html` does.
    let again_path = scratch.join("again.html");
    let json_path = scratch.join("again.json");
    let mut again_args = vec!["run"];
    again_args.extend_from_slice(&example_args);
    again_args.extend_from_slice(&[
        "--format",
        "json",
        "-o",
        path_str(&json_path),
        "--html",
        path_str(&again_path),
    ]);
    let o = joule(&again_args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let again = std::fs::read_to_string(&again_path).unwrap();
    let json_report: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(
        page_data(&again)["report"],
        json_report,
        "the page embeds the report --format json writes"
    );
    assert!(
        without_durations(&page) == without_durations(&again),
        "two runs of the example gave different pages"
    );
    let data = page_data(&page);
    let findings = data["report"]["findings"].as_array().unwrap();
    // The finding the links are checked on: regex-in-hot-path's, on parse_line, with a patch.
    let finding = findings
        .iter()
        .find(|f| f["skill"] == "regex-in-hot-path" && f["patch"].is_string())
        .expect("the example has a regex finding with a patch");
    let function = finding["locations"][0]["function"].as_str().unwrap();
    // Its function's cumulative share, from `joule profile top`: what the search must match.
    let top = joule(&[
        "profile",
        "top",
        path_str(&profile),
        "--json",
        "-n",
        "100000",
    ]);
    let top: Value = serde_json::from_slice(&top.stdout).unwrap();
    let cum = top["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == function)
        .expect("profile top lists the function")["cum"]
        .as_f64()
        .unwrap();
    let cumulative_share = cum / top["total"].as_f64().unwrap();
    let regression = findings
        .iter()
        .find(|f| f["kind"] == "regression")
        .expect("the example has a regression");
    let chart = &data["charts"][regression["id"].as_str().unwrap()];
    let (first, last) = (
        chart["times"][0].as_i64().unwrap(),
        chart["times"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_i64()
            .unwrap(),
    );
    // The deploy log's deploys within the chart's range, counted from the log itself.
    let log = std::fs::read_to_string(&deploy_log).unwrap();
    let deploys_in_range = log
        .lines()
        .filter_map(|l| l.split(',').next())
        .filter_map(|t| joule::metrics::parse_timestamp(t.trim()).map(|(_, t)| t))
        .filter(|t| (first..=last).contains(t))
        .count();
    assert!(
        deploys_in_range > 0,
        "the example's deploys fall in its series' range"
    );

    // Two profiles of the example's history, before and after the regression: the
    // differential flame graph. parse_line grew (the regression) and is_bot shrank (the
    // improvement regression-detect reports beside it).
    let before = series_dir.join("logscan-001.pb.gz");
    let after = series_dir.join("logscan-080.pb.gz");
    let diff = scratch.join("diff.html");
    run_html(
        &[
            "--profile",
            path_str(&before),
            "--profile",
            path_str(&after),
            "--skills",
            path_str(&skill("hot-functions")),
        ],
        &diff,
    );

    // A 115 MB `perf script` capture of a real program (tests/fixtures/perf-large), read from
    // standard input: once with the default detail, once with every frame kept up to the
    // frame budget (the most a page holds).
    let mut big = Vec::new();
    for (label, extra) in [
        ("large-profile", vec![]),
        ("large-profile-all-frames", vec!["--flame-min-width", "0"]),
    ] {
        let out = scratch.join(format!("{label}.html"));
        let mut args = vec![
            "run",
            "--profile",
            "-",
            "--skills",
            path_str(&hot),
            "--format",
            "html",
            "-o",
            path_str(&out),
        ];
        args.extend(extra);
        let input_bytes = pipe_large_profile(&args);
        assert!(
            input_bytes > 100 << 20,
            "the large profile is over 100 MB ({input_bytes} bytes)"
        );
        let size = std::fs::metadata(&out).unwrap().len();
        println!("measured: {label}: {input_bytes} bytes of perf script -> {size} bytes of HTML");
        assert!(
            size < 10 << 20,
            "{label}: the page is {size} bytes, over 10 MB"
        );
        big.push(json!([label, out]));
    }

    // Hostile strings: scribbler's title, message, function and file names try to close the
    // data's <script> element and run script of their own.
    let tree = scratch.join("app");
    std::fs::create_dir_all(tree.join("src")).unwrap();
    std::fs::write(tree.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    // scribbler names lines of `.env`, which the default deny rules keep from every skill.
    let secret = "JOULE_TEST_SECRET=hunter2-html";
    std::fs::write(tree.join(".env"), format!("{secret}\n")).unwrap();
    let hostile = scratch.join("hostile.html");
    let hostile_page = run_html(
        &[
            "--profile",
            path_str(&fixture("pprof/large.cpu.pb.gz")),
            "--source",
            &format!("app={}", tree.display()),
            "--skills",
            path_str(&skill("hot-functions")),
            "--skills",
            path_str(&test_skill("scribbler")),
        ],
        &hostile,
    );
    assert_eq!(
        hostile_page.matches("</script>").count(),
        2,
        "only the page's own two script elements close"
    );
    assert!(
        !hostile_page.contains("hunter2"),
        "the page quotes a file the skill may not read"
    );
    let hostile_data = page_data(&hostile_page);
    let scribbled: Vec<&str> = hostile_data["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["skill"] == "scribbler")
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert!(
        scribbled.iter().any(|t| t.contains("<script>")),
        "scribbler's titles reach the page: {scribbled:?}"
    );

    let case = json!({
        "chromium": CHROMIUM,
        "example": example,
        "function": function,
        "cumulative_share": cumulative_share,
        "finding": finding["id"],
        "source_text": "Regex::new",
        "regression": regression["id"],
        "deploys_in_range": deploys_in_range,
        "diff": diff,
        "grew": "logscan::parse::parse_line",
        "shrank": "logscan::parse::is_bot",
        "big": big,
        "hostile": hostile,
    });
    let case_file = scratch.join("case.json");
    std::fs::write(&case_file, case.to_string()).unwrap();
    let out = Command::new(&python)
        .arg(root().join("tests/e2e/html_browser.py"))
        .arg(&case_file)
        .arg(&shots)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shots.join("report.png").is_file(), "the screenshot is kept");
}

/// `xz -dc` of the large perf fixture into `joule ARGS` (reading `--profile -`); the bytes fed.
fn pipe_large_profile(args: &[&str]) -> u64 {
    let fixture = fixture("perf-large/go-build-std.perf.xz");
    let mut xz = Command::new("xz")
        .arg("-dc")
        .arg(&fixture)
        .stdout(Stdio::piped())
        .spawn()
        .expect("xz runs (make setup installs xz-utils)");
    let mut joule = Command::new(joule_bin())
        .args(args)
        .env("JOULE_CACHE_DIR", cache_dir())
        .env("JOULE_NO_BUILTIN_SKILLS", "1")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut from = xz.stdout.take().unwrap();
    let mut to = joule.stdin.take().unwrap();
    let fed = std::io::copy(&mut from, &mut to).unwrap();
    to.flush().unwrap();
    drop(to);
    assert!(xz.wait().unwrap().success(), "xz -dc {}", fixture.display());
    let out = joule.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "joule {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fed
}
