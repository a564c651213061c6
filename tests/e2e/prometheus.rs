//! Defense over a real Prometheus: series backfilled with `promtool tsdb create-blocks-from
//! openmetrics`, served by the Debian package's `prometheus` on loopback, read by
//! `joule run --prometheus URL --promql QUERY` through the HTTP `query_range` API, and scanned by
//! `regression-detect`.
//!
//! Needs `prometheus` and `promtool` on the PATH (`make setup` installs the Debian package).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use joule_sdk::stats::noise::Gaussian;
use joule_tests::*;

const POINTS: i64 = 1000;
const STEP: i64 = 60;

/// A Prometheus server on loopback, stopped when dropped.
struct Prometheus {
    child: Child,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tool(name: &str) -> &str {
    let found = Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{name}` is not on the PATH: install the Debian package `prometheus` (make setup)"
    );
    name
}

/// Writes two series of `function_cpu_seconds` ending an hour ago (TSDB blocks must be in the
/// past): `parse_line` with a 1.5% step at point 800, `is_bot` clean; 1% noise. Returns the
/// directory the blocks were created in and the first timestamp.
fn backfill(dir: &Path) -> (PathBuf, i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start = (now - 3_600 - POINTS * STEP) / STEP * STEP;
    let mut noise = Gaussian(7);
    let mut text = String::from(
        "# HELP function_cpu_seconds CPU seconds per minute spent in a function.\n\
         # TYPE function_cpu_seconds gauge\n",
    );
    for function in ["parse_line", "is_bot"] {
        for i in 0..POINTS {
            let mut v = 100.0 + noise.normal();
            if function == "parse_line" && i >= 800 {
                v *= 1.015;
            }
            let _ = writeln!(
                text,
                "function_cpu_seconds{{function=\"{function}\"}} {v:.5} {}",
                start + i * STEP
            );
        }
    }
    text.push_str("# EOF\n");
    let input = dir.join("series.om");
    std::fs::write(&input, text).unwrap();
    let tsdb = dir.join("tsdb");
    let out = Command::new(tool("promtool"))
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&tsdb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (tsdb, start)
}

/// Starts Prometheus on a free loopback port over `tsdb` and waits until it is ready.
fn serve(dir: &Path, tsdb: &Path) -> Prometheus {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new(tool("prometheus"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg("--storage.tsdb.retention.time=10y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(port) {
        assert!(
            Instant::now() < deadline,
            "Prometheus did not become ready in 60 s; see {}",
            dir.join("prometheus.log").display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server
}

/// Whether `/-/ready` answers 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /-/ready HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

/// `joule run --format json` over `server`'s series of `backfill`, from `start` for `POINTS`
/// minutes, with `regression-detect` and the given `--promql` queries and `--step`.
fn scan(
    server: &Prometheus,
    start: i64,
    queries: &[&str],
    step: &str,
) -> (serde_json::Value, i32, String) {
    let end = start + (POINTS - 1) * STEP;
    let (from, to) = (start.to_string(), end.to_string());
    let detect = skill("regression-detect");
    let mut args = vec!["--prometheus", &server.url];
    for q in queries {
        args.extend(["--promql", q]);
    }
    args.extend(["--from", &from, "--to", &to, "--step", step]);
    args.extend(["--skills", path_str(&detect)]);
    joule_json(&args)
}

#[test]
fn a_regression_in_prometheus_series_is_found_through_query_range() {
    let dir = scratch_dir("prometheus");
    let (tsdb, start) = backfill(&dir);
    let server = serve(&dir, &tsdb);
    let (report, code, stderr) = scan(&server, start, &["cpu=function_cpu_seconds"], "1m");
    assert_eq!(code, 0, "{stderr}");
    let inputs = &report["inputs"]["metrics"][0];
    assert_eq!(inputs["name"], "cpu", "{inputs}");
    assert_eq!(inputs["series"], 2, "{inputs}");
    assert_eq!(inputs["points"], 2 * POINTS, "{inputs}");

    let findings = findings_of(&report, "regression-detect");
    let regressions: Vec<_> = findings
        .iter()
        .filter(|f| f["kind"] == "regression")
        .collect();
    assert_eq!(regressions.len(), 1, "{findings:#?}");
    let r = regressions[0];
    assert_eq!(r["series"], "function_cpu_seconds{function=parse_line}");
    // `at` is an RFC 3339 date-time: Prometheus times are Unix seconds.
    let at = r["at"].as_str().unwrap();
    let expected = start + 800 * STEP;
    let seconds = joule::metrics::parse_timestamp(at).unwrap().1;
    assert!(
        (seconds - expected).abs() <= 5 * STEP,
        "at {at}, expected near {expected}"
    );
    let change = r["impact"]["relative_change"].as_f64().unwrap();
    assert!((0.01..0.02).contains(&change), "{change}");
}

#[test]
fn a_long_range_is_read_in_pieces_and_a_bad_query_is_named() {
    let dir = scratch_dir("prometheus-range");
    let (tsdb, start) = backfill(&dir);
    let server = serve(&dir, &tsdb);
    // One point a second: 59,941 a series, six requests of at most 10,000 each. Prometheus
    // repeats the last sample for up to five minutes (its lookback), so every second has one.
    let queries = [
        r#"function_cpu_seconds{function="is_bot"}"#,
        "broken=rate(function_cpu_seconds[",
    ];
    let (report, code, stderr) = scan(&server, start, &queries, "1");
    // An input that could not be read makes the run partial; the other set is still scanned.
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(run_of(&report, "regression-detect")["status"], "ok");
    let sets = report["inputs"]["metrics"].as_array().unwrap();
    assert_eq!(sets.len(), 2, "{sets:#?}");
    assert_eq!(sets[0]["name"], "prometheus");
    assert_eq!(sets[0]["series"], 1);
    assert_eq!(sets[0]["points"], (POINTS - 1) * STEP + 1);
    assert_eq!(sets[1]["name"], "broken");
    let error = sets[1]["error"].as_str().unwrap();
    assert!(
        error.starts_with("broken: Prometheus refused `rate(function_cpu_seconds[`: bad_data:"),
        "{error}"
    );
    assert!(stderr.contains("Prometheus refused"), "{stderr}");
}
