//! Metrics as JSON lines: one object per line, `{"timestamp": 1700000000, "series": "cpu",
//! "value": 1.5, "labels": {"host": "a"}}`. The timestamp is an integer or an RFC 3339 string;
//! `labels` is optional, and every other top-level string field is a label too. Label values
//! in `labels` may be strings, numbers or booleans and are kept as text; a field whose type
//! changes from row to row is warned about once (`stream.rs` keeps the first kind of each).
//! Blocks of whole lines are parsed in parallel (`stream.rs`).

use serde_json::{Map, Value};

use std::io::BufRead;

use super::stream::{Block, BlockBuilder, Kind, Known, Origin, TextBlocks, threads};
use super::{LoadOptions, MetricSet, MetricsError, parse_timestamp, parse_value};

/// Reads JSON-lines metrics from `input` (already inflated, its byte-order mark gone).
pub(super) fn read(
    name: &str,
    input: impl BufRead,
    options: &LoadOptions,
) -> Result<MetricSet, MetricsError> {
    let shard = options.shard;
    TextBlocks::new(input, options.block_bytes)
        .parse_all(name, 1, None, threads(options.threads), |block, known| {
            parse_block(block, shard, known)
        })?
        .finish()
}

/// The rows of one block of whole lines.
fn parse_block(data: &[u8], shard: Option<super::Shard>, known: &Known) -> Block {
    let mut block = BlockBuilder::new(Origin::Lines, shard, known);
    let mut key = Vec::new();
    let mut span = 0;
    for (at, line) in data.split(|&b| b == b'\n').enumerate() {
        let at = at as u64;
        span = at;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(object)) => record(&mut block, at, object, &mut key),
            Ok(_) => block.skip(at, None, "not a JSON object".to_string()),
            Err(e) => block.skip_at(
                at,
                Some(format!("column {}", e.column())),
                format!("not JSON ({})", without_position(&e)),
            ),
        }
    }
    block.finish(span)
}

/// serde_json's message without its ` at line 1 column 5` (the place is given apart).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// A label value: text as is, numbers and booleans as written; and what it was.
fn label_text(value: &Value) -> Option<(String, Kind)> {
    match value {
        Value::String(s) => Some((s.clone(), Kind::Text)),
        Value::Number(n) => Some((n.to_string(), Kind::Number)),
        Value::Bool(b) => Some((b.to_string(), Kind::Boolean)),
        _ => None,
    }
}

/// Reads one object into the block, or skips it with a warning.
fn record(block: &mut BlockBuilder, at: u64, mut object: Map<String, Value>, key: &mut Vec<u8>) {
    let (format, t) = match object.remove("timestamp") {
        None | Some(Value::Null) => {
            block.skip(at, None, "no `timestamp` field".to_string());
            return;
        }
        Some(Value::Number(n)) => match n.as_i64() {
            Some(t) => (super::TimeFormat::Integer, t),
            None => {
                block.skip(
                    at,
                    Some("timestamp"),
                    format!("timestamp {n} is not an integer that fits in 64 bits"),
                );
                return;
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
                block.skip(at, Some("timestamp"), problem);
                return;
            }
        },
        Some(other) => {
            block.skip(
                at,
                Some("timestamp"),
                format!("timestamp {other} is neither an integer nor a date-time string"),
            );
            return;
        }
    };
    let series = match object.remove("series") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::String(_)) => {
            block.skip(at, Some("series"), "empty series name".to_string());
            return;
        }
        None | Some(Value::Null) => {
            block.skip(at, None, "no `series` field".to_string());
            return;
        }
        Some(other) => {
            block.skip(
                at,
                Some("series"),
                format!("series {other} is not a string"),
            );
            return;
        }
    };
    let value = match object.remove("value") {
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("`{n}` is not a finite number")),
        Some(Value::String(s)) => parse_value(&s),
        None => {
            block.skip(at, None, "no `value` field".to_string());
            return;
        }
        Some(Value::Null) => Err("empty value".to_string()),
        Some(other) => Err(format!("value {other} is not a number")),
    };
    let v = match value {
        Ok(v) => v,
        Err(problem) => {
            block.skip(at, Some("value"), problem);
            return;
        }
    };
    let mut labels: Vec<(String, String)> = Vec::new();
    match object.remove("labels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                match label_text(&value) {
                    Some((text, kind)) => {
                        block.kind(&format!("labels.{key}"), kind, at);
                        labels.push((key, text));
                    }
                    None => {
                        block.skip(
                            at,
                            Some(&format!("labels.{key}")),
                            format!("label value {value} is not a string, number or boolean"),
                        );
                        return;
                    }
                }
            }
        }
        Some(other) => {
            block.skip(
                at,
                Some("labels"),
                format!("labels {other} is not an object"),
            );
            return;
        }
    }
    for (key, value) in object {
        let text = match value {
            Value::String(text) => text,
            Value::Number(_) => {
                block.kind(&key, Kind::Number, at);
                continue;
            }
            Value::Bool(_) => {
                block.kind(&key, Kind::Boolean, at);
                continue;
            }
            _ => continue,
        };
        block.kind(&key, Kind::Text, at);
        if labels.iter().any(|(k, _)| *k == key) {
            block.skip(
                at,
                Some(&key),
                format!("label `{key}` is given both in `labels` and as a field"),
            );
            return;
        }
        labels.push((key, text));
    }
    labels.sort();
    key.clear();
    super::stream::key_part(key, series.as_bytes());
    for (k, v) in &labels {
        super::stream::key_part(key, k.as_bytes());
        super::stream::key_part(key, v.as_bytes());
    }
    let id = match block.lookup(key) {
        Some(Some(id)) => id,
        Some(None) => return block.other_shard(),
        None => match block.add(key, series, labels) {
            Some(id) => id,
            None => return block.other_shard(),
        },
    };
    block.push(id, t, v, at, format);
}
