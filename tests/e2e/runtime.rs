//! The runtime as a library: compiled components are cached by digest, skills describe
//! themselves and show their real imports, and finding-triggered skills run once per upstream
//! finding; an interrupted `joule run` stops its skills and keeps what they found.

use std::sync::Arc;

use joule::engine::{ComponentCache, Runtime, RuntimeConfig, Trigger};
use joule::findings::Kind;
use joule::session::{self, Request};
use joule_tests::*;

fn runtime_with_cache(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache: Some(ComponentCache::new(dir)),
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[test]
fn components_are_compiled_once_and_cached_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let path = skill("hot-functions");
    let first = runtime_with_cache(dir.path()).load(&path).unwrap();
    assert_eq!(format!("{:?}", first.origin), "Compiled");
    let cached: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 1);
    let name = cached[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&first.digest),
        "{name} is keyed by {}",
        first.digest
    );

    let second = runtime_with_cache(dir.path()).load(&path).unwrap();
    assert_eq!(format!("{:?}", second.origin), "Cached");
    assert_eq!(second.descriptor, first.descriptor);

    // A damaged cache entry is recompiled, not trusted.
    std::fs::write(&cached[0], b"not a compiled component").unwrap();
    let third = runtime_with_cache(dir.path()).load(&path).unwrap();
    assert_eq!(format!("{:?}", third.origin), "Compiled");
}

#[test]
fn skills_describe_themselves_and_show_their_imports() {
    let runtime = Runtime::new(RuntimeConfig {
        cache: Some(ComponentCache::new(cache_dir())),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let hot = runtime.load(&skill("hot-functions")).unwrap();
    let d = &hot.descriptor;
    assert_eq!(d.id, "hot-functions");
    assert_eq!(d.triggers, [Trigger::Scan]);
    assert_eq!(d.capabilities, ["profiles", "source", "log"]);
    let params: Vec<_> = d
        .parameters
        .iter()
        .map(|p| (p.name.raw(), p.default.as_ref().map(|d| d.raw())))
        .collect();
    assert_eq!(params, [("limit", Some("10")), ("min-share", Some("0.01"))]);
    assert!(
        hot.imports
            .iter()
            .any(|i| i == "joule:skill/profiles@0.1.5"),
        "{:?}",
        hot.imports
    );
    assert!(
        hot.imports.iter().any(|i| i == "joule:skill/source@0.1.5"),
        "{:?}",
        hot.imports
    );
    assert_eq!(hot.digest.len(), 64);

    let out = joule(&["skills", "--skills", path_str(&skills_dir())]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("hot-functions 0.1.0")
            && text.contains(&format!("sha256:       {}", hot.digest)),
        "{text}"
    );
    assert!(text.contains("regex-in-hot-path 0.1.0"), "{text}");
}

#[test]
fn finding_triggered_skills_run_once_per_matching_finding() {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let report = tokio
        .block_on(async {
            let runtime = session::runtime(
                RuntimeConfig {
                    cache: Some(ComponentCache::new(cache_dir())),
                    ..RuntimeConfig::default()
                },
                2,
            )?;
            session::analyse(
                runtime,
                Request {
                    profiles: vec![fixture("folded/simple.txt")],
                    skills: vec![skill("hot-functions"), test_skill("follower")],
                    jobs: 2,
                    max_depth: 4,
                    ..Request::default()
                },
                Default::default(),
            )
            .await
        })
        .unwrap();
    let hot: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.skill == "hot-functions")
        .collect();
    let follow: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.skill == "follower")
        .collect();
    // simple.txt: a;b;c 1, a;b;c 1, a;b;d 4, a;b;c 3, a;b 5 -> self: b 5, d 4, c 5.
    assert_eq!(hot.len(), 3);
    assert_eq!(follow.len(), 3);
    for h in &hot {
        assert!(
            follow
                .iter()
                .any(|f| f.title == format!("follows: {}", h.title.raw()))
        );
        let run = report
            .runs
            .iter()
            .find(|r| r.skill == "follower" && r.input.as_deref() == Some(h.id.as_str()))
            .expect("one follower run per hot finding");
        assert_eq!(run.trigger, "finding:info/hot-function");
    }
    assert!(follow.iter().all(|f| f.kind == Kind::Info));
    let _ = Arc::new(());
}

#[test]
fn a_skill_built_against_wit_0_1_0_still_loads_and_runs() {
    // Built from skills/hot-functions when the contract was joule:skill@0.1.0, and kept as is:
    // the host now speaks 0.1.1 (new functions only) and must still serve it.
    let old = fixture("compat/hot-functions-wit-0.1.0.wasm");
    let (report, code, stderr) = joule_json(&[
        "--profile",
        path_str(&fixture("pprof/large.cpu.pb.gz")),
        "--skills",
        path_str(&old),
        "--param",
        "hot-functions.limit=2",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let titles: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "#1 `time.Now`: 85.4% self, 85.4% total",
            "#2 `time.now`: 9.5% self, 9.5% total"
        ]
    );
}

#[test]
fn skills_ask_for_subtrees_diffs_and_file_locations() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.folded");
    let new = dir.path().join("new.folded");
    std::fs::write(&base, "main;parse;compile 60\nmain;render 40\n").unwrap();
    std::fs::write(
        &new,
        "main;parse;compile 6\nmain;parse;scan 10\nmain;render 44\n",
    )
    .unwrap();
    let (report, code, stderr) = joule_json(&[
        "--profile",
        path_str(&base),
        "--profile",
        path_str(&new),
        "--source",
        "ex=example/logscan",
        "--path-prefix",
        "ex=/home/ci/build/logscan",
        "--skills",
        path_str(&test_skill("explorer")),
        "--param",
        "explorer.locate=/home/ci/build/logscan/src/parse.rs",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let facts: Vec<(String, f64)> = findings_of(&report, "explorer")
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["evidence"][0]["value"].as_f64().unwrap(),
            )
        })
        .collect();
    let has = |title: &str, value: f64| {
        assert!(
            facts.iter().any(|(t, v)| t == title && *v == value),
            "{title} = {value} not in {facts:?}"
        )
    };
    has("root", 100.0);
    has("root/main", 100.0);
    has("compile 60 -> 6", -54.0);
    has("scan 0 -> 10", 10.0);
    has("render 40 -> 44", 4.0);
    has("ex -> src/parse.rs", 0.0);
}

/// An operator's Ctrl-C in `joule run`: the spinning skill's invocation stops (recorded as
/// cancelled, not run to its 60 s deadline), the report is still written with what the other
/// skill found, and the exit status is 130.
#[test]
fn an_interrupted_run_stops_its_skills_and_keeps_what_was_found() {
    let scratch = scratch_dir("interrupted-run");
    let report = scratch.join("report.json");
    let profile = fixture("folded/simple.txt");
    let hot = skill("hot-functions");
    let spinner = test_skill("spinner");
    let mut child = joule_command()
        .arg("run")
        .arg("--profile")
        .arg(&profile)
        .arg("--skills")
        .arg(&hot)
        .arg("--skills")
        .arg(&spinner)
        .args(["--timeout", "60", "--format", "json", "-o"])
        .arg(&report)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Loading takes well under this with the test cache; the spinner then runs until stopped.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before it was interrupted"
    );
    let interrupted = std::time::Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            interrupted.elapsed() < std::time::Duration::from_secs(20),
            "joule run still running 20 s after SIGINT"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        interrupted.elapsed() < std::time::Duration::from_secs(10),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let runs = report["runs"].as_array().unwrap();
    let spun = runs.iter().find(|r| r["skill"] == "spinner").unwrap();
    assert!(
        spun["error"].as_str().unwrap().starts_with("cancelled"),
        "{spun}"
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["skill"] == "hot-functions"),
        "the other skill's findings are kept: {report}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
}
