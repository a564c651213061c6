//! The record of one invocation (or of a skill that could not be loaded), as the report
//! carries it: status, timing, error, the log lines and captured output. What the skill wrote
//! (its version, trigger rule, error, log and output) is [`Untrusted`].

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::untrusted::Untrusted;

/// One line a skill logged, as kept in its run record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub level: Cow<'static, str>,
    pub message: Untrusted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Ok,
    Failed,
}

/// One invocation, as reported.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// The skill's id (checked at load), or the file name of a skill that did not load.
    pub skill: String,
    pub version: Untrusted,
    pub digest: String,
    /// `scan`, `load`, or `finding:KIND[/RULE]` with the skill's rule.
    pub trigger: Untrusted,
    /// The upstream finding's id, for finding-triggered runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub status: RunStatus,
    pub duration_ms: f64,
    /// Why it failed: the host's words, with the skill's own where it gave some (its error, its
    /// panic message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Untrusted>,
    /// Findings this run contributed (before de-duplication).
    pub findings: usize,
    /// Findings left out at a limit (the invocation's or the run's), the lowest-ranked.
    #[serde(skip_serializing_if = "is_zero_usize", default)]
    pub findings_dropped: usize,
    /// A limit the run reached without failing: what was dropped and the flag that raises it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    pub host_calls: u64,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub log: Vec<LogLine>,
    #[serde(skip_serializing_if = "is_zero_u64", default)]
    pub log_dropped: u64,
    #[serde(skip_serializing_if = "Untrusted::is_empty", default)]
    pub stdout: Untrusted,
    #[serde(skip_serializing_if = "Untrusted::is_empty", default)]
    pub stderr: Untrusted,
}

impl RunRecord {
    /// A record the host writes itself, for no invocation (a skill that did not load, what a
    /// budget left out, a shard a merge did not have): failed with `error`, or ok.
    pub fn by_host(skill: String, trigger: &str, error: Option<Untrusted>) -> Self {
        RunRecord {
            skill,
            version: Untrusted::default(),
            digest: String::new(),
            trigger: trigger.into(),
            input: None,
            status: if error.is_some() {
                RunStatus::Failed
            } else {
                RunStatus::Ok
            },
            duration_ms: 0.0,
            error,
            findings: 0,
            findings_dropped: 0,
            warning: None,
            host_calls: 0,
            log: Vec::new(),
            log_dropped: 0,
            stdout: Untrusted::default(),
            stderr: Untrusted::default(),
        }
    }

    /// The record of a skill that could not be loaded, named after its file.
    pub fn failed_load(file: &std::path::Path, error: Untrusted, duration: Duration) -> Self {
        let skill = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        RunRecord {
            duration_ms: duration.as_secs_f64() * 1e3,
            ..RunRecord::by_host(skill, "load", Some(error))
        }
    }
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}
