//! Defense, end to end: metric files in, `regression-detect` over them, regressions out with
//! their series, time and size; transients, seasonality and cost shifts left out; metric sets
//! granted by policy and audited like every other input.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use joule_sdk::stats::noise::Gaussian;
use joule_tests::*;

const START: i64 = 1_764_547_200; // 2025-12-01T00:00:00Z
const STEP: i64 = 300;
const POINTS: usize = 1000;

/// A small fleet: one series with a 1.5% step at point 800, a clean one, one with a five-point
/// spike, one with a daily season, and two siblings in group `web` where cost moved from one to
/// the other at point 700. 1% noise throughout.
fn fleet(dir: &Path) -> PathBuf {
    let mut noise = Gaussian(42);
    let mut csv = String::from("timestamp,series,value,group\n");
    for name in ["step", "clean", "spike", "seasonal", "render", "compress"] {
        let group = if matches!(name, "render" | "compress") {
            "web"
        } else {
            "core"
        };
        for i in 0..POINTS {
            let mut v = 100.0 + noise.normal();
            match name {
                "step" if i >= 800 => v *= 1.015,
                "spike" if (500..505).contains(&i) => v *= 1.5,
                "seasonal" => v += 4.0 * (2.0 * std::f64::consts::PI * i as f64 / 288.0).sin(),
                "render" if i >= 700 => v += 3.0,
                "compress" if i >= 700 => v -= 3.0,
                _ => {}
            }
            let _ = writeln!(csv, "{},{name},{v:.5},{group}", START + i as i64 * STEP);
        }
    }
    let path = dir.join("fleet.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn p(path: &Path) -> &str {
    path_str(path)
}

/// `regression-detect` alone over `csv`, with `params` (`name=value`, without the skill's
/// prefix): the report, the exit code and stderr.
fn detect(csv: &Path, params: &[&str]) -> (serde_json::Value, i32, String) {
    let params: Vec<String> = params
        .iter()
        .map(|p| format!("regression-detect.{p}"))
        .collect();
    let mut args = vec!["--metrics", p(csv), "--skills"];
    let component = skill("regression-detect");
    args.push(p(&component));
    for param in &params {
        args.extend(["--param", param.as_str()]);
    }
    joule_json(&args)
}

#[test]
fn a_step_regression_is_found_with_its_series_time_and_size() {
    let dir = scratch_dir("defense");
    let csv = fleet(&dir);
    let (report, code, stderr) = detect(&csv, &[]);
    assert_eq!(code, 0, "{stderr}");
    let inputs = &report["inputs"]["metrics"][0];
    assert_eq!(inputs["series"], 6, "{inputs}");
    assert_eq!(inputs["points"], 6 * POINTS, "{inputs}");

    let findings = findings_of(&report, "regression-detect");
    let regressions: Vec<_> = findings
        .iter()
        .filter(|f| f["kind"] == "regression")
        .collect();
    assert_eq!(
        regressions.len(),
        1,
        "only the step is a regression: {findings:#?}"
    );
    let r = regressions[0];
    assert_eq!(r["series"], "step{group=core}");
    // `at` is the first point after the change, in the input's own units.
    let at: i64 = r["at"].as_str().unwrap().parse().unwrap();
    let index = (at - START) / STEP;
    assert!((795..=805).contains(&index), "at point {index}");
    let change = r["impact"]["relative_change"].as_f64().unwrap();
    assert!((change - 0.015).abs() < 0.003, "{change}");
    let evidence = |name: &str| {
        r["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {r:#}"))["value"]
            .as_f64()
            .unwrap()
    };
    assert!(evidence("p-value") < 1e-10);
    assert!((evidence("before") - 100.0).abs() < 0.3);

    // The siblings' cost moved; it did not grow: reported as information, not a regression.
    let shift: Vec<_> = findings
        .iter()
        .filter(|f| f["rule"] == "cost-shift")
        .collect();
    assert_eq!(shift.len(), 1, "{findings:#?}");
    assert_eq!(shift[0]["kind"], "info");
    assert_eq!(shift[0]["series"], "render{group=web}");
    for quiet in ["clean", "spike", "seasonal", "compress"] {
        assert!(
            !findings.iter().any(
                |f| f["series"].as_str().is_some_and(|s| s.starts_with(quiet))
                    && f["kind"] == "regression"
            ),
            "{quiet} is not a regression"
        );
    }
}

/// Correlated series that change together are reported once, but only when they are measured
/// at the same times: two series stepping at the same point index a day apart are two
/// regressions (the attribution evaluation has eighty such).
#[test]
fn correlated_steps_are_one_regression_only_at_the_same_times() {
    let dir = scratch_dir("defense-dedup");
    let mut noise = Gaussian(11);
    let mut csv = String::from("timestamp,series,value\n");
    // `a` and `b` on one grid, `c` on a grid a day later; all step 10% at point 800 (in 1% noise
    // that correlates them above the 0.9 the detector takes for one cause).
    for (name, offset) in [("a", 0), ("b", 0), ("c", 86_400)] {
        for i in 0..POINTS {
            let v = if i >= 800 { 110.0 } else { 100.0 } + noise.normal();
            let _ = writeln!(csv, "{},{name},{v:.5}", START + offset + i as i64 * STEP);
        }
    }
    let path = dir.join("together.csv");
    std::fs::write(&path, csv).unwrap();
    let (report, code, stderr) = detect(&path, &[]);
    assert_eq!(code, 0, "{stderr}");
    let regressions: Vec<_> = findings_of(&report, "regression-detect")
        .into_iter()
        .filter(|f| f["kind"] == "regression")
        .collect();
    let mut series: Vec<&str> = regressions
        .iter()
        .map(|f| f["series"].as_str().unwrap())
        .collect();
    series.sort();
    // `a` and `b` are one (either may lead, the other named with it); `c` is its own.
    assert_eq!(series.len(), 2, "{regressions:#?}");
    assert_eq!(series[1], "c", "{regressions:#?}");
}

#[test]
fn rfc3339_times_come_back_as_written_and_a_broken_file_does_not_sink_the_others() {
    let dir = scratch_dir("defense-times");
    let mut noise = Gaussian(7);
    let mut jsonl = String::new();
    for i in 0..400 {
        let v = if i >= 300 { 52.0 } else { 50.0 } + 0.5 * noise.normal();
        let (h, m) = (i / 60, i % 60);
        let _ = writeln!(
            jsonl,
            r#"{{"timestamp": "2026-11-01T{h:02}:{m:02}:00Z", "series": "latency_ms", "value": {v:.4}, "labels": {{"route": "/search"}}}}"#
        );
    }
    let good = dir.join("latency.jsonl");
    std::fs::write(&good, jsonl).unwrap();
    let broken = dir.join("broken.csv");
    std::fs::write(&broken, "timestamp,series\n1,a\n").unwrap();
    let (report, code, _) = joule_json(&[
        "--metrics",
        p(&good),
        "--metrics",
        p(&broken),
        "--skills",
        p(&skill("regression-detect")),
    ]);
    assert_eq!(code, 3, "an unreadable input makes the run partial");
    let records = report["inputs"]["metrics"].as_array().unwrap();
    let bad = records.iter().find(|m| m["name"] == "broken.csv").unwrap();
    let error = bad["error"].as_str().unwrap();
    assert!(
        error.contains("broken.csv") && error.contains("value"),
        "{error}"
    );
    let r = findings_of(&report, "regression-detect")
        .into_iter()
        .find(|f| f["kind"] == "regression")
        .expect("the latency step");
    assert_eq!(r["series"], "latency_ms{route=/search}");
    assert_eq!(r["at"], "2026-11-01T05:00:00Z");
}

#[test]
fn metric_sets_are_granted_by_policy_and_audited() {
    let dir = scratch_dir("defense-policy");
    let csv = fleet(&dir);
    let digest = digest_of(&skill("regression-detect"));
    let run = |grant: &str| {
        let policy = dir.join(format!("policy-{}.toml", grant.len()));
        std::fs::write(
            &policy,
            format!(
                "version = 1\n\n[[skill]]\nid = \"regression-detect\"\ndigest = \"sha256:{digest}\"\n{grant}\n"
            ),
        )
        .unwrap();
        let audit = dir.join(format!("audit-{}.jsonl", grant.len()));
        let (report, code, stderr) = joule_json(&[
            "--metrics",
            p(&csv),
            "--skills",
            p(&skill("regression-detect")),
            "--policy",
            p(&policy),
            "--audit-log",
            p(&audit),
        ]);
        assert_eq!(code, 0, "{stderr}");
        (report, std::fs::read_to_string(audit).unwrap())
    };

    // No grant: the skill sees no metric set, and the audit log says which line would grant it.
    let (report, audit) = run("");
    assert!(findings_of(&report, "regression-detect").is_empty());
    let denied = audit
        .lines()
        .find(|l| l.contains("\"interface\":\"metrics\"") && l.contains("\"deny\""))
        .unwrap_or_else(|| panic!("no denial in {audit}"));
    assert!(denied.contains("metrics = [\\\"NAME\\\"]"), "{denied}");

    // Granted by name: the findings, and every read in the audit log, without values.
    let (report, audit) = run("metrics = [\"fleet*\"]");
    assert!(
        findings_of(&report, "regression-detect")
            .iter()
            .any(|f| f["kind"] == "regression")
    );
    let reads = audit
        .lines()
        .filter(|l| l.contains("\"op\":\"values\"") && l.contains("\"resource\":\"fleet.csv\""))
        .count();
    assert_eq!(reads, 6, "one values call per series:\n{audit}");
    assert!(!audit.contains("100.0"), "the audit log holds values");
}

/// `twice` rises 2% at point 200 and 1.5% more at 600; `better` falls 2% at 400; `late` rises 2%
/// at 850; `flat` does not change. 1% noise.
fn changes_fleet(dir: &Path) -> PathBuf {
    let mut noise = Gaussian(19);
    let mut csv = String::from("timestamp,series,value\n");
    for name in ["twice", "better", "late", "flat"] {
        for i in 0..POINTS {
            let level = match name {
                "twice" => 100.0 + 2.0 * f64::from(i >= 200) + 1.5 * f64::from(i >= 600),
                "better" if i >= 400 => 98.0,
                "late" if i >= 850 => 102.0,
                _ => 100.0,
            };
            let v = level + noise.normal();
            let _ = writeln!(csv, "{},{name},{v:.5}", START + i as i64 * STEP);
        }
    }
    let path = dir.join("changes.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// (series, point index, kind, rule) of each `regression-detect` finding, in time order.
fn changes_in(report: &serde_json::Value) -> Vec<(String, i64, String, String)> {
    let mut out: Vec<_> = findings_of(report, "regression-detect")
        .into_iter()
        .map(|f| {
            let at: i64 = f["at"].as_str().unwrap().parse().unwrap();
            (
                f["series"].as_str().unwrap().to_string(),
                (at - START) / STEP,
                f["kind"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort_by_key(|c| (c.0.clone(), c.1));
    out
}

#[test]
fn a_one_off_scan_reports_every_change_and_improvements_as_information() {
    let dir = scratch_dir("defense-changes");
    let csv = changes_fleet(&dir);
    let (report, code, stderr) = detect(&csv, &[]);
    assert_eq!(code, 0, "{stderr}");
    let found = changes_in(&report);
    let near = |c: &(String, i64, String, String), series: &str, at: i64, kind: &str| {
        c.0 == series && (c.1 - at).abs() <= 10 && c.2 == kind
    };
    assert_eq!(found.len(), 4, "{found:#?}");
    // Sorted by series, then time: better, late, twice, twice.
    assert!(near(&found[0], "better", 400, "info"), "{found:#?}");
    assert_eq!(found[0].3, "improvement");
    assert!(near(&found[1], "late", 850, "regression"), "{found:#?}");
    assert!(near(&found[2], "twice", 200, "regression"), "{found:#?}");
    assert!(near(&found[3], "twice", 600, "regression"), "{found:#?}");
    // Each of twice's changes is sized against its neighbouring segments.
    let sizes: Vec<f64> = findings_of(&report, "regression-detect")
        .into_iter()
        .filter(|f| f["series"] == "twice")
        .map(|f| f["impact"]["relative_change"].as_f64().unwrap())
        .collect();
    assert!(
        sizes.iter().any(|s| (s - 0.02).abs() < 0.003)
            && sizes.iter().any(|s| (s - 1.5 / 102.0).abs() < 0.003),
        "{sizes:?}"
    );
}

#[test]
fn since_limits_a_scan_to_the_changes_after_it() {
    let dir = scratch_dir("defense-since");
    let csv = changes_fleet(&dir);
    let scan = |since: &str| {
        let (report, code, stderr) = detect(&csv, &[&format!("since={since}")]);
        assert_eq!(code, 0, "{stderr}");
        changes_in(&report)
            .into_iter()
            .map(|c| (c.0, c.1 / 10))
            .collect::<Vec<_>>()
    };
    // A time in the set's own form (here Unix seconds): the changes at or after point 500.
    let at_500 = (START + 500 * STEP).to_string();
    let found = scan(&at_500);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "late");
    assert_eq!(found[1].0, "twice");
    assert!((59..=61).contains(&found[1].1), "{found:?}");
    // A share of the window: the most recent 30%.
    let found = scan("70%");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "late");
    // The share form the old parameter wrote.
    let (report, _, _) = detect(&csv, &["min-baseline=0.7"]);
    assert_eq!(changes_in(&report).len(), 1);
    // `joule run --since` says the same for every skill with a `since` parameter; the skill's
    // own --param still wins.
    let (report, code, stderr) = joule_json(&[
        "--metrics",
        p(&csv),
        "--skills",
        p(&skill("regression-detect")),
        "--since",
        "70%",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(changes_in(&report).len(), 1);
    let (report, code, stderr) = joule_json(&[
        "--metrics",
        p(&csv),
        "--skills",
        p(&skill("regression-detect")),
        "--since",
        "70%",
        "--param",
        &format!("regression-detect.since={at_500}"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(changes_in(&report).len(), 2);
    // A since that is neither a time nor a share fails the run with a reason.
    let (report, _, _) = detect(&csv, &["since=yesterday"]);
    let run = run_of(&report, "regression-detect");
    assert_ne!(run["status"], "ok", "{run}");
    assert!(run.to_string().contains("since"), "{run}");
}

#[test]
fn short_series_are_searched_and_the_shortest_counted() {
    let dir = scratch_dir("defense-short");
    let mut noise = Gaussian(23);
    let mut csv = String::from("timestamp,series,value\n");
    // 40 points with a 5% step at 25; 8 points, too few to search.
    for i in 0..40 {
        let v = if i >= 25 { 105.0 } else { 100.0 } + noise.normal();
        let _ = writeln!(csv, "{},short,{v:.5}", START + i * STEP);
    }
    for i in 0..8 {
        let _ = writeln!(csv, "{},tiny,{}", START + i * STEP, 100 + i);
    }
    let path = dir.join("short.csv");
    std::fs::write(&path, csv).unwrap();
    let (report, code, stderr) = detect(&path, &[]);
    assert_eq!(code, 0, "{stderr}");
    let found = changes_in(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "short");
    assert!((23..=27).contains(&found[0].1), "{found:?}");
    let log = run_of(&report, "regression-detect")["log"].to_string();
    assert!(
        log.contains("1 series shorter than 10 points not searched"),
        "{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// The chain: regression -> root cause -> mitigation, on a real git repository.
// ---------------------------------------------------------------------------------------------

const PARSE_V1: &str = "pub fn parse_line(line: &str) -> usize {\n    line.split(' ').count()\n}\n";
const PARSE_V2: &str = "pub fn parse_line(line: &str) -> usize {\n    let re = regex::Regex::new(r\"\\s+\").unwrap();\n    re.split(line).count()\n}\n";
const RENDER_V1: &str = "pub fn render(n: usize) -> String {\n    n.to_string()\n}\n";
const RENDER_V2: &str = "pub fn render(n: usize) -> String {\n    format!(\"{n} fields\")\n}\n";

/// A repository whose third commit (deployed just before point 800 of the fleet series) makes
/// `parse_line` compile a regex per call; the commits around it touch other functions.
fn regressing_repo(dir: &Path) -> (PathBuf, String) {
    let repo = dir.join("app");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], None);
    let commit = |file: &str, text: &str, message: &str, at: i64| {
        std::fs::write(repo.join(file), text).unwrap();
        git(&repo, &["add", file], None);
        git(&repo, &["commit", "-q", "-m", message], Some(at));
        git(&repo, &["rev-parse", "HEAD"], None)
    };
    let t = |point: i64| START + point * STEP;
    commit(
        "src/parse.rs",
        PARSE_V1,
        "Parse lines by splitting on spaces",
        t(100),
    );
    commit("src/render.rs", RENDER_V1, "Render counts", t(200));
    commit("src/render.rs", RENDER_V2, "Say what is counted", t(780));
    // The culprit also commits a secret: the skills' deny rules keep it out of every answer.
    std::fs::write(repo.join(".env"), "API_TOKEN=hunter2-secret\n").unwrap();
    git(&repo, &["add", ".env"], None);
    let culprit = commit(
        "src/parse.rs",
        PARSE_V2,
        "Split lines on any whitespace",
        t(795),
    );
    commit("README.md", "# app\n", "Add a readme", t(900));
    (repo, culprit)
}

/// `self:parse_line` steps up 2% at point 800; `self:render` stays flat.
fn function_series(dir: &Path) -> PathBuf {
    let mut noise = Gaussian(3);
    let mut csv = String::from("timestamp,series,value,function\n");
    for (name, function) in [("self:parse_line", "parse_line"), ("self:render", "render")] {
        for i in 0..POINTS {
            let mut v = 0.20 * (1.0 + 0.01 * noise.normal());
            if name == "self:parse_line" && i >= 800 {
                v *= 1.02;
            }
            let _ = writeln!(csv, "{},{name},{v:.6},{function}", START + i as i64 * STEP);
        }
    }
    let path = dir.join("functions.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// The three defense skills over `csv`, with `repo` granted as history `app`; the report of a
/// run that must succeed.
fn run_chain(csv: &Path, repo: &Path) -> serde_json::Value {
    let history = format!("app={}", repo.display());
    let (report, code, stderr) = joule_json(&[
        "--metrics",
        p(csv),
        "--history",
        &history,
        "--skills",
        p(&skill("regression-detect")),
        "--skills",
        p(&skill("regression-attribute")),
        "--skills",
        p(&skill("regression-mitigate")),
    ]);
    assert_eq!(code, 0, "{stderr}");
    report
}

#[test]
fn a_regression_is_traced_to_its_commit_and_reverted() {
    let dir = scratch_dir("defense-chain");
    let (repo, culprit) = regressing_repo(&dir);
    let csv = function_series(&dir);
    let report = run_chain(&csv, &repo);
    let regression = findings_of(&report, "regression-detect")
        .into_iter()
        .find(|f| f["kind"] == "regression")
        .expect("the regression");
    assert_eq!(regression["series"], "self:parse_line{function=parse_line}");

    let cause = findings_of(&report, "regression-attribute");
    assert_eq!(cause.len(), 1, "{cause:#?}");
    let cause = cause[0];
    assert_eq!(cause["kind"], "root-cause");
    assert_eq!(cause["at"], culprit.as_str(), "{}", cause["message"]);
    let message = cause["message"].as_str().unwrap();
    assert!(message.contains("changes `parse_line` itself"), "{message}");
    // Each reason once: a commit to the function itself is not also "changes parse_line".
    assert!(!message.contains("itself; changes"), "{message}");
    // The other commits in the window are ranked below it, with their reasons.
    assert!(
        message.contains("2. `") && message.contains("Say what is counted"),
        "{message}"
    );

    let mitigation = findings_of(&report, "regression-mitigate");
    assert_eq!(mitigation.len(), 1, "{mitigation:#?}");
    let m = mitigation[0];
    assert_eq!(m["kind"], "mitigation");
    assert_eq!(m["rule"], "revert");
    let patch = m["labels"]["revert-patch"]
        .as_str()
        .unwrap_or_else(|| panic!("no revert patch: {m:#}"))
        .to_string();
    assert!(patch.contains("-    let re = regex::Regex::new"), "{patch}");
    let file = dir.join("revert.patch");
    std::fs::write(&file, &patch).unwrap();
    git(&repo, &["apply", "--check", p(&file)], None);
    // The secret the culprit committed is in no finding and no patch.
    assert!(!patch.contains(".env"), "{patch}");
    assert!(
        !report.to_string().contains("hunter2"),
        "a committed secret reached the report"
    );
}

/// The culprit reaches production ten minutes after the point where the step is placed (a
/// rollout, or a change point placed a point early): still a candidate. A commit to `serve`,
/// which every sample runs through, is ranked below it and said to say little.
#[test]
fn a_late_deploy_is_still_a_candidate_and_a_change_under_everything_says_little() {
    let dir = scratch_dir("defense-deploys");
    let (repo, culprit) = regressing_repo(&dir);
    std::fs::write(
        repo.join("src/serve.rs"),
        "pub fn serve(line: &str) -> usize {\n    parse_line(line) + render(1).len()\n}\n",
    )
    .unwrap();
    git(&repo, &["add", "src/serve.rs"], None);
    git(
        &repo,
        &["commit", "-q", "-m", "Serve lines"],
        Some(START + 700 * STEP),
    );
    std::fs::write(
        repo.join("src/serve.rs"),
        "pub fn serve(line: &str) -> usize {\n    parse_line(line.trim()) + render(1).len()\n}\n",
    )
    .unwrap();
    git(
        &repo,
        &["commit", "-qam", "Trim in serve"],
        Some(START + 790 * STEP),
    );
    let serve = git(&repo, &["rev-parse", "HEAD"], None);
    let deploys = dir.join("deploys.csv");
    std::fs::write(
        &deploys,
        format!(
            "timestamp,commit\n{},{serve}\n{},{culprit}\n",
            START + 795 * STEP,
            START + 800 * STEP + 600
        ),
    )
    .unwrap();
    let profile = dir.join("app.folded");
    std::fs::write(
        &profile,
        "main;serve;parse_line 80\nmain;serve;render 20\nmain;serve 5\n",
    )
    .unwrap();
    let csv = function_series(&dir);
    let history = format!("app={}", repo.display());
    let deploy_log = format!("app={}", deploys.display());
    let (report, code, stderr) = joule_json(&[
        "--metrics",
        p(&csv),
        "--history",
        &history,
        "--deploy-log",
        &deploy_log,
        "--profile",
        p(&profile),
        "--skills",
        p(&skill("regression-detect")),
        "--skills",
        p(&skill("regression-attribute")),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let cause = findings_of(&report, "regression-attribute");
    assert_eq!(cause.len(), 1, "{cause:#?}");
    assert_eq!(cause[0]["at"], culprit.as_str(), "{}", cause[0]["message"]);
    let message = cause[0]["message"].as_str().unwrap();
    assert!(
        message.contains("Trim in serve")
            && message.contains("100% of all samples run through them, so that says little"),
        "{message}"
    );
}

#[test]
fn a_commit_that_no_longer_reverts_cleanly_is_explained() {
    let dir = scratch_dir("defense-conflict");
    let (repo, culprit) = regressing_repo(&dir);
    // A later commit rewrites the culprit's lines.
    std::fs::write(
        repo.join("src/parse.rs"),
        PARSE_V2.replace("re.split(line).count()", "re.split(line.trim()).count()"),
    )
    .unwrap();
    git(
        &repo,
        &["commit", "-qam", "Trim first"],
        Some(START + 950 * STEP),
    );
    let csv = function_series(&dir);
    let report = run_chain(&csv, &repo);
    let m = findings_of(&report, "regression-mitigate");
    assert_eq!(m.len(), 1, "{m:#?}");
    assert_eq!(m[0]["rule"], "revert-blocked");
    assert_eq!(m[0]["at"], culprit.as_str());
    let message = m[0]["message"].as_str().unwrap();
    assert!(
        message.contains("src/parse.rs") && message.contains("does not revert cleanly"),
        "{message}"
    );
}

#[test]
fn profiles_over_time_become_per_function_series() {
    let dir = scratch_dir("defense-profile-series");
    // Folded stacks carry no time of their own (a pprof file's own time would win over the
    // file name's): the example's capture, as three dated copies and one undated.
    let profile = root().join("example/profiles/logscan.folded");
    let mut args: Vec<String> = Vec::new();
    for hour in 0..3 {
        let dated = dir.join(format!("cpu-2026-11-01T{hour:02}:00:00Z.folded"));
        std::fs::copy(&profile, &dated).unwrap();
        args.extend(["--profile-series".to_string(), dated.display().to_string()]);
    }
    let undated = dir.join("cpu.folded");
    std::fs::copy(&profile, &undated).unwrap();
    args.extend([
        "--profile-series".to_string(),
        undated.display().to_string(),
    ]);
    args.extend([
        "--skills".to_string(),
        skill("regression-detect").display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (report, code, stderr) = joule_json(&args);
    assert_eq!(code, 0, "{stderr}");
    let set = &report["inputs"]["metrics"][0];
    assert_eq!(set["name"], "profile-series", "{set:#}");
    let series = set["series"].as_u64().unwrap();
    // Each function above 0.1% gets a self and a total series, one point per dated profile.
    assert!(series >= 10 && series % 2 == 0, "{set:#}");
    assert_eq!(set["points"].as_u64().unwrap(), series * 3, "{set:#}");
    let warnings = set["warnings"].to_string();
    assert!(
        warnings.contains("cpu.folded") && warnings.contains("no time"),
        "{warnings}"
    );
    // Three points are too few to claim a change.
    assert!(findings_of(&report, "regression-detect").is_empty());
}

/// A fleet of 240 series of 1,000 points, one in eight with a 2-4% step at its own place in
/// the recent part; and ten groups of three series that share their noise and step by the same
/// amount at the same point (a function's inclusive series and its callers'), at levels 100,
/// 200 and 400, so each group is one regression reported as the level-100 series, whichever
/// shards its members hash to.
fn sharded_fleet(dir: &Path) -> PathBuf {
    let mut noise = Gaussian(7);
    let mut csv = String::from("timestamp,series,value,host\n");
    for s in 0..240 {
        let step = (s % 8 == 0).then(|| (0.02 + 0.0025 * (s % 9) as f64, 720 + (s * 7) % 180));
        for i in 0..POINTS {
            let mut v = 100.0 + noise.normal();
            if let Some((size, at)) = step
                && i >= at
            {
                v *= 1.0 + size;
            }
            let _ = writeln!(csv, "{},fn-{s},{v:.5},h{}", START + i as i64 * STEP, s % 13);
        }
    }
    for g in 0..10 {
        let at = 600 + 30 * g;
        let shared: Vec<f64> = (0..POINTS).map(|_| noise.normal()).collect();
        for (j, level) in [100.0, 200.0, 400.0].into_iter().enumerate() {
            for (i, common) in shared.iter().enumerate() {
                let step = if i >= at { 3.0 } else { 0.0 };
                let v = level + common + 0.2 * noise.normal() + step;
                let _ = writeln!(
                    csv,
                    "{},caller-{j}-of-{g},{v:.5},h0",
                    START + i as i64 * STEP
                );
            }
        }
    }
    let path = dir.join("fleet.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// `findings` with each `correlation-group` label read as JSON.
fn groups_read(findings: &serde_json::Value) -> serde_json::Value {
    let mut findings = findings.clone();
    for f in findings.as_array_mut().unwrap() {
        if let Some(label) = f["labels"].get_mut("correlation-group") {
            *label = serde_json::from_str(label.as_str().unwrap()).unwrap();
        }
    }
    findings
}

#[test]
fn a_sharded_scan_merged_is_the_scan_of_one_process() {
    let dir = scratch_dir("shards");
    let csv = sharded_fleet(&dir);
    let detect = skill("regression-detect");
    let base = ["--metrics", p(&csv), "--skills", p(&detect)];
    let (whole, code, stderr) = joule_json(&base);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        whole["findings"].as_array().unwrap().len() >= 25,
        "{:#}",
        whole["findings"]
    );

    // Four processes: three given --shard, one its shard as a Kubernetes Indexed Job's pod.
    let mut parts = Vec::new();
    let mut caller_findings = 0;
    for k in 0..4 {
        let out = dir.join(format!("shard-{k}.json"));
        let mut args: Vec<String> = ["run", "--format", "json", "-o", p(&out)]
            .iter()
            .chain(&base)
            .map(|s| s.to_string())
            .collect();
        let mut command = joule_command();
        if k == 3 {
            command
                .env("JOB_COMPLETION_INDEX", "3")
                .env("JOB_COMPLETIONS", "4");
        } else {
            args.extend(["--shard".to_string(), format!("{k}/4")]);
        }
        let status = command
            .args(&args)
            .env("JOULE_CACHE_DIR", cache_dir())
            .status()
            .unwrap();
        assert!(status.success(), "shard {k}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_matches_schema(&report);
        assert_eq!(report["shard"]["index"], k, "{:#}", report["shard"]);
        let series = report["inputs"]["metrics"][0]["series"].as_u64().unwrap();
        assert!((30..=90).contains(&series), "shard {k}: {series} series");
        assert_eq!(report["runs"][0]["status"], "ok", "{:#}", report["runs"]);
        caller_findings += report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["series"].as_str().unwrap_or("").starts_with("caller-"))
            .count();
        parts.push(out);
    }

    let merge = |parts: &[&PathBuf]| {
        let mut args = vec!["merge", "--format", "json"];
        args.extend(parts.iter().map(|p| path_str(p)));
        let out = joule(&args);
        let report = serde_json::from_slice::<serde_json::Value>(&out.stdout).ok();
        (
            report,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The shards found groups apart: more findings for the ten groups than ten.
    assert!(caller_findings > 10, "{caller_findings}");
    let all: Vec<&PathBuf> = parts.iter().collect();
    let (merged, code, stderr) = merge(&all);
    let merged = merged.unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert_matches_schema(&merged);
    // The same findings, in the same ranked order, over the same inputs.
    let ids = |r: &serde_json::Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["id"], f["title"]))
            .collect()
    };
    assert_eq!(ids(&merged), ids(&whole));
    // Every field of every finding, read back from the shards' JSON and written again (the
    // correlation group's numbers as numbers: a merge writes them again).
    assert_eq!(
        groups_read(&merged["findings"]),
        groups_read(&whole["findings"])
    );
    // Every correlated group is one finding with its two callers named, although the shards
    // reported some of its members apart.
    let callers: Vec<&serde_json::Value> = merged["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["series"].as_str().unwrap_or("").starts_with("caller-"))
        .collect();
    assert_eq!(callers.len(), 10, "{callers:#?}");
    for f in &callers {
        let series = f["series"].as_str().unwrap();
        assert!(series.starts_with("caller-0-of-"), "{f:#}");
        let also = f["labels"]["also"].as_str().unwrap_or_default();
        assert_eq!(also.split(',').count(), 2, "{f:#}");
    }
    assert_eq!(merged["inputs"], whole["inputs"]);
    assert_eq!(merged["runs"].as_array().unwrap().len(), 4);
    assert!(merged.get("shard").is_none());

    // A shard left out is said, in the report and in the exit status.
    let (partial, code, stderr) = merge(&all[..3]);
    assert_eq!(code, Some(3), "{stderr}");
    let missing = partial.unwrap()["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["trigger"] == "merge")
        .cloned()
        .expect("a record for the missing shard");
    assert_eq!(missing["status"], "failed");
    assert!(missing["error"].as_str().unwrap().contains("shard 3/4"));
    // A shard given twice is refused, naming both files.
    let (_, code, stderr) = merge(&[all[0], all[0]]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("shard 0/4 is also in"), "{stderr}");
}
