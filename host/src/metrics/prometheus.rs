//! Series from a Prometheus server, read through its HTTP API (`/api/v1/query_range`).
//!
//! One PromQL query over a time range becomes one metric set: each series of the result keeps
//! its metric name (`__name__`, else the query) and its labels. Prometheus answers at most
//! 11,000 points per series per request, so a long range is asked for in pieces and the pieces
//! joined. Times are Unix seconds, shown as RFC 3339 date-times in findings.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{Grids, MetricSet, MetricsError, Series, TimeFormat};

/// One range query: what to ask, from which server, over which times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeQuery {
    /// The metric set's name, as skills and policies see it.
    pub name: String,
    /// The server's base URL (`http://prometheus:9090`).
    pub server: String,
    pub promql: String,
    /// Unix seconds, both ends included.
    pub start: i64,
    pub end: i64,
    /// Seconds between points.
    pub step: i64,
}

/// A series' name and labels.
type SeriesKey = (String, Vec<(String, String)>);

/// Points per request; Prometheus refuses more than 11,000 per series.
const POINTS_PER_REQUEST: i64 = 10_000;

/// The most points a series may have over the whole range (a thousand requests).
const MAX_POINTS: i64 = 10_000_000;

/// The most one answer may hold (the whole answer is parsed in memory).
const MAX_ANSWER_BYTES: u64 = 1 << 30;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Stream>,
}

#[derive(Deserialize)]
struct Stream {
    metric: BTreeMap<String, String>,
    /// `[unix seconds, "value"]` pairs.
    values: Vec<(f64, String)>,
}

/// Runs `query` against its server (blocking: call it from a blocking task).
pub fn query_range(query: &RangeQuery) -> Result<MetricSet, MetricsError> {
    let fail = |message: String| MetricsError {
        file: query.name.clone(),
        place: None,
        message,
    };
    if query.step <= 0 {
        return Err(fail(format!(
            "the step must be positive, not {}",
            query.step
        )));
    }
    if query.end < query.start {
        return Err(fail(format!(
            "the range ends ({}) before it starts ({})",
            TimeFormat::Rfc3339.show(query.end),
            TimeFormat::Rfc3339.show(query.start)
        )));
    }
    let points = (query.end.saturating_sub(query.start) / query.step).saturating_add(1);
    if points > MAX_POINTS {
        return Err(fail(format!(
            "{points} points a series between {} and {} at a {} s step: at most {MAX_POINTS} are \
             read; use a larger step",
            TimeFormat::Rfc3339.show(query.start),
            TimeFormat::Rfc3339.show(query.end),
            query.step
        )));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(REQUEST_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/api/v1/query_range", query.server.trim_end_matches('/'));
    let mut series: BTreeMap<SeriesKey, Vec<(i64, f64)>> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut not_finite = 0usize;
    let mut from = query.start;
    while from <= query.end {
        let to = query
            .end
            .min(from.saturating_add(query.step.saturating_mul(POINTS_PER_REQUEST - 1)));
        let answer = ask(&agent, &url, query, from, to).map_err(&fail)?;
        for w in answer.warnings {
            warnings.push(format!("{}: Prometheus warns: {w}", query.name));
        }
        let data = answer
            .data
            .ok_or_else(|| fail("Prometheus answered success without data".to_string()))?;
        if data.result_type != "matrix" {
            return Err(fail(format!(
                "the query gives a {} (a range query of a PromQL expression gives a matrix)",
                data.result_type
            )));
        }
        for stream in data.result {
            let mut labels: Vec<(String, String)> = stream.metric.into_iter().collect();
            let name = match labels.iter().position(|(k, _)| k == "__name__") {
                Some(i) => labels.remove(i).1,
                None => query.promql.clone(),
            };
            let points = series.entry((name, labels)).or_default();
            for (t, v) in stream.values {
                match v.parse::<f64>() {
                    Ok(v) if v.is_finite() => points.push((t as i64, v)),
                    _ => not_finite += 1,
                }
            }
        }
        if to == i64::MAX {
            break;
        }
        from = to.saturating_add(query.step);
    }
    if series.is_empty() {
        return Err(fail(format!(
            "`{}` returned no series between {} and {}",
            query.promql,
            TimeFormat::Rfc3339.show(query.start),
            TimeFormat::Rfc3339.show(query.end)
        )));
    }
    if not_finite > 0 {
        warnings.push(format!(
            "{}: {not_finite} points that are not finite numbers (NaN, Inf) left out",
            query.name
        ));
    }
    // Series of one query share its steps: their grids are interned.
    let mut grids = Grids::default();
    let series = series
        .into_iter()
        .map(|((name, labels), mut points)| {
            points.sort_by_key(|p| p.0);
            points.dedup_by_key(|p| p.0);
            let times: Vec<i64> = points.iter().map(|p| p.0).collect();
            let values = points.into_iter().map(|p| p.1).collect();
            Series::new(name, labels, grids.intern(&times), values)
        })
        .collect();
    Ok(MetricSet {
        source: query.name.clone(),
        time_format: TimeFormat::Rfc3339,
        series,
        warnings,
    })
}

/// One request for `from..=to`; an error says what the server or the network said.
fn ask(
    agent: &ureq::Agent,
    url: &str,
    query: &RangeQuery,
    from: i64,
    to: i64,
) -> Result<Answer, String> {
    let mut response = agent
        .get(url)
        .query("query", &query.promql)
        .query("start", from.to_string())
        .query("end", to.to_string())
        .query("step", query.step.to_string())
        .call()
        .map_err(|e| format!("cannot reach Prometheus at {}: {e}", query.server))?;
    let status = response.status();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .map_err(|e| format!("cannot read Prometheus' answer from {url}: {e}"))?;
    let answer: Answer = serde_json::from_str(&body).map_err(|e| {
        format!(
            "{url} answered HTTP {} with something that is not Prometheus' JSON ({e})",
            status.as_u16()
        )
    })?;
    if answer.status != "success" {
        return Err(format!(
            "Prometheus refused `{}`: {}: {}",
            query.promql,
            answer.error_type.as_deref().unwrap_or("error"),
            answer.error.as_deref().unwrap_or("no reason given")
        ));
    }
    Ok(answer)
}

/// A duration as Prometheus writes them (`30s`, `5m`, `1h`, `1d`, `1w`) or plain seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let n: i64 = number.parse().ok()?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(scale).filter(|&s| s > 0)
}

/// Splits `NAME=QUERY` when the text before the first `=` is a plain name (letters, digits,
/// `_`, `-`, `.`) and is not the start of PromQL's `==` or `=~`; otherwise the whole text is
/// the query.
pub fn split_named(text: &str) -> (Option<&str>, &str) {
    if let Some((name, rest)) = text.split_once('=')
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !rest.starts_with(['=', '~'])
    {
        return (Some(name), rest);
    }
    (None, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_names() {
        assert_eq!(parse_duration("60"), Some(60));
        assert_eq!(parse_duration("5m"), Some(300));
        assert_eq!(parse_duration("1h"), Some(3_600));
        assert_eq!(parse_duration("2d"), Some(172_800));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(split_named("cpu=rate(x[5m])"), (Some("cpu"), "rate(x[5m])"));
        assert_eq!(split_named(r#"up{job="api"}"#), (None, r#"up{job="api"}"#));
        assert_eq!(split_named("a==b"), (None, "a==b"));
        assert_eq!(split_named("x"), (None, "x"));
    }

    #[test]
    fn a_range_too_fine_is_refused_before_asking() {
        let query = RangeQuery {
            name: "cpu".to_string(),
            server: "http://127.0.0.1:1".to_string(),
            promql: "up".to_string(),
            start: 0,
            end: i64::MAX,
            step: 1,
        };
        let e = query_range(&query).unwrap_err();
        assert!(e.message.contains("use a larger step"), "{e}");
    }

    #[test]
    fn an_unreachable_server_is_an_error_naming_it() {
        // A port nothing listens on: bind one, then let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let query = RangeQuery {
            name: "cpu".to_string(),
            server: format!("http://127.0.0.1:{port}"),
            promql: "up".to_string(),
            start: 0,
            end: 60,
            step: 15,
        };
        let e = query_range(&query).unwrap_err();
        assert_eq!(e.file, "cpu");
        assert!(
            e.message.starts_with(&format!(
                "cannot reach Prometheus at http://127.0.0.1:{port}"
            )),
            "{e}"
        );
    }
}
