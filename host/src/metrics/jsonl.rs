//! Metrics as JSON lines: one object per line, `{"timestamp": 1700000000, "series": "cpu",
//! "value": 1.5, "labels": {"host": "a"}}`. The timestamp is an integer or an RFC 3339 string;
//! `labels` is optional, and every other top-level string field is a label too.

use serde_json::{Map, Value};

use super::{Collector, MetricSet, MetricsError, Point, parse_timestamp, parse_value};

/// Reads JSON-lines metrics (`data` already inflated).
pub(super) fn read(name: &str, data: &[u8]) -> Result<MetricSet, MetricsError> {
    let mut collector = Collector::new(name);
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let n = i as u64 + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let object = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => {
                collector.skip(format!("line {n}"), "not a JSON object".to_string());
                continue;
            }
            Err(e) => {
                collector.skip(
                    format!("line {n}, column {}", e.column()),
                    format!("not JSON ({})", without_position(&e)),
                );
                continue;
            }
        };
        record(&mut collector, n, object)?;
    }
    collector.finish()
}

/// serde_json's message without its ` at line 1 column 5` (the place is given apart).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// A label value: text as is, numbers and booleans as written.
fn label_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads one object into the collector, or skips it with a warning. Errors only when its
/// timestamp format differs from the file's.
fn record(
    collector: &mut Collector<'_>,
    line: u64,
    mut object: Map<String, Value>,
) -> Result<(), MetricsError> {
    let place = |field: &str| format!("line {line}, field {field}");
    let (format, t) = match object.remove("timestamp") {
        None | Some(Value::Null) => {
            collector.skip(format!("line {line}"), "no `timestamp` field".to_string());
            return Ok(());
        }
        Some(Value::Number(n)) => match n.as_i64() {
            Some(t) => (super::TimeFormat::Integer, t),
            None => {
                collector.skip(
                    place("timestamp"),
                    format!("timestamp {n} is not an integer that fits in 64 bits"),
                );
                return Ok(());
            }
        },
        Some(Value::String(s)) => match parse_timestamp(&s) {
            Some(stamp) => stamp,
            None => {
                let problem = if s.trim().is_empty() {
                    "empty timestamp".to_string()
                } else {
                    super::timestamp_problem(&s)
                };
                collector.skip(place("timestamp"), problem);
                return Ok(());
            }
        },
        Some(other) => {
            collector.skip(
                place("timestamp"),
                format!("timestamp {other} is neither an integer nor a date-time string"),
            );
            return Ok(());
        }
    };
    collector.check_time_format(format, line, place("timestamp"))?;
    let series = match object.remove("series") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::String(_)) => {
            collector.skip(place("series"), "empty series name".to_string());
            return Ok(());
        }
        None | Some(Value::Null) => {
            collector.skip(format!("line {line}"), "no `series` field".to_string());
            return Ok(());
        }
        Some(other) => {
            collector.skip(place("series"), format!("series {other} is not a string"));
            return Ok(());
        }
    };
    let value = match object.remove("value") {
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("`{n}` is not a finite number")),
        Some(Value::String(s)) => parse_value(&s),
        None => {
            collector.skip(format!("line {line}"), "no `value` field".to_string());
            return Ok(());
        }
        Some(Value::Null) => Err("empty value".to_string()),
        Some(other) => Err(format!("value {other} is not a number")),
    };
    let v = match value {
        Ok(v) => v,
        Err(problem) => {
            collector.skip(place("value"), problem);
            return Ok(());
        }
    };
    let mut labels: Vec<(String, String)> = Vec::new();
    match object.remove("labels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                match label_text(&value) {
                    Some(text) => labels.push((key, text)),
                    None => {
                        collector.skip(
                            place(&format!("labels.{key}")),
                            format!("label value {value} is not a string, number or boolean"),
                        );
                        return Ok(());
                    }
                }
            }
        }
        Some(other) => {
            collector.skip(place("labels"), format!("labels {other} is not an object"));
            return Ok(());
        }
    }
    for (key, value) in object {
        let Value::String(text) = value else {
            continue;
        };
        if labels.iter().any(|(k, _)| *k == key) {
            collector.skip(
                place(&key),
                format!("label `{key}` is given both in `labels` and as a field"),
            );
            return Ok(());
        }
        labels.push((key, text));
    }
    collector.push(series, labels, Point { t, v }, line);
    Ok(())
}
