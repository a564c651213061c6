//! speedscope JSON out (<https://www.speedscope.app/file-format-schema.json>), for
//! <https://www.speedscope.app> and the tools that read its format.
//!
//! `shared.frames` holds one frame per function of the model, at the same index, with its file
//! and start line when known (speedscope frames have no room for the model's per-frame lines).
//! One `sampled` profile per thread: per distinct value of the thread-like labels
//! (`profile`, `thread`, `thread_name`, `thread_id`, `pid`, `tid`; all of those present),
//! else one profile. Each distinct stack of the model is one sample, root first, weighing its
//! value in the chosen sample type, in that type's unit (`nanoseconds`, `microseconds`,
//! `milliseconds`, `seconds`, `bytes`; `none` for any other). Stacks whose value is zero or
//! negative are left out: a speedscope weight is a positive amount. `activeProfileIndex` names
//! the heaviest profile.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::model::{LabelSetId, LabelValue, Profile, StrId};

/// Label keys that split a profile into threads, in the order their values make a name.
pub const THREAD_KEYS: [&str; 6] = [
    "profile",
    "thread",
    "thread_name",
    "thread_id",
    "pid",
    "tid",
];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    exporter: String,
    name: String,
    active_profile_index: usize,
    shared: Shared<'a>,
    profiles: Vec<Sampled>,
}

#[derive(Serialize)]
struct Shared<'a> {
    frames: Vec<Frame<'a>>,
}

#[derive(Serialize)]
struct Frame<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sampled {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    unit: &'static str,
    start_value: i64,
    end_value: i64,
    samples: Vec<Vec<u32>>,
    weights: Vec<i64>,
}

/// The speedscope unit for a sample type's unit.
fn unit(unit: &str) -> &'static str {
    match unit {
        "nanoseconds" | "nanosecond" | "ns" => "nanoseconds",
        "microseconds" | "microsecond" | "us" => "microseconds",
        "milliseconds" | "millisecond" | "ms" => "milliseconds",
        "seconds" | "second" | "s" => "seconds",
        "bytes" | "byte" | "B" => "bytes",
        _ => "none",
    }
}

fn label_text(profile: &Profile, value: LabelValue) -> String {
    match value {
        LabelValue::Str(s) => profile.str(s).to_string(),
        LabelValue::Num { value, unit } => match profile.str(unit) {
            "" => value.to_string(),
            unit => format!("{value} {unit}"),
        },
    }
}

/// The name of the thread a label set belongs to, from the thread-like labels `keys` (present
/// somewhere in the profile); `None` when it has none of them.
fn thread_name(profile: &Profile, set: LabelSetId, keys: &[StrId]) -> Option<String> {
    let labels = profile.label_sets.get(set as usize)?;
    let parts: Vec<(StrId, String)> = keys
        .iter()
        .filter_map(|&k| {
            labels
                .iter()
                .find(|l| l.key == k)
                .map(|l| (k, label_text(profile, l.value)))
        })
        .collect();
    match parts.as_slice() {
        [] => None,
        [(_, value)] if keys.len() == 1 => Some(value.clone()),
        _ => Some(
            parts
                .iter()
                .map(|(k, v)| format!("{}={v}", profile.str(*k)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    }
}

/// speedscope JSON of `profile` in sample type `sample_type` (the default type when out of
/// range).
pub fn write(profile: &Profile, sample_type: usize) -> String {
    let t = if sample_type < profile.sample_types.len() {
        sample_type
    } else {
        profile.default_sample_type
    };
    let type_label = profile.sample_type_label(t);
    let unit = profile
        .sample_types
        .get(t)
        .map_or("none", |st| unit(profile.str(st.unit)));

    let frames = profile
        .functions
        .iter()
        .map(|f| Frame {
            name: profile.str(f.name),
            file: Some(profile.str(f.file)).filter(|s| !s.is_empty()),
            line: Some(f.start_line).filter(|&l| l > 0),
        })
        .collect();

    // The thread-like keys used by some label set, in THREAD_KEYS order.
    let mut keys: Vec<StrId> = Vec::new();
    for name in THREAD_KEYS {
        let mut labels = profile.label_sets.iter().flatten();
        if let Some(l) = labels.find(|l| profile.str(l.key) == name) {
            keys.push(l.key);
        }
    }

    let default_name = format!("{} {type_label}", profile.format.name());
    let mut profiles: Vec<Sampled> = Vec::new();
    let mut by_name: FxHashMap<String, usize> = FxHashMap::default();
    let mut group_of_set: FxHashMap<LabelSetId, usize> = FxHashMap::default();
    for i in 0..profile.stack_count() {
        let weight = profile.stack_values(i).get(t).copied().unwrap_or(0);
        if weight <= 0 {
            continue;
        }
        let set = profile.stack_labels.get(i).copied().unwrap_or(0);
        let group = *group_of_set.entry(set).or_insert_with(|| {
            let name = if keys.is_empty() {
                default_name.clone()
            } else {
                thread_name(profile, set, &keys).unwrap_or_else(|| "(no thread)".to_string())
            };
            *by_name.entry(name.clone()).or_insert_with(|| {
                profiles.push(Sampled {
                    kind: "sampled",
                    name,
                    unit,
                    start_value: 0,
                    end_value: 0,
                    samples: Vec::new(),
                    weights: Vec::new(),
                });
                profiles.len() - 1
            })
        });
        let p = &mut profiles[group];
        p.samples.push(
            profile
                .stack(i)
                .iter()
                .rev()
                .map(|&f| profile.frames[f as usize].function)
                .collect(),
        );
        p.weights.push(weight);
        p.end_value = p.end_value.saturating_add(weight);
    }
    if profiles.is_empty() {
        // Readers (speedscope's own) expect at least one profile.
        profiles.push(Sampled {
            kind: "sampled",
            name: default_name.clone(),
            unit,
            start_value: 0,
            end_value: 0,
            samples: Vec::new(),
            weights: Vec::new(),
        });
    }
    let active = profiles
        .iter()
        .enumerate()
        .max_by_key(|(i, p)| (p.end_value, std::cmp::Reverse(*i)))
        .map_or(0, |(i, _)| i);

    let file = File {
        schema: "https://www.speedscope.app/file-format-schema.json",
        exporter: format!("joule@{}", env!("CARGO_PKG_VERSION")),
        name: default_name,
        active_profile_index: active,
        shared: Shared { frames },
        profiles,
    };
    // Plain structs of strings and numbers: serialising them cannot fail.
    serde_json::to_string(&file).unwrap_or_default()
}
