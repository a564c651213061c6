//! The record of one invocation (or of a skill that could not be loaded), as the report
//! carries it: status, timing, error, the log lines and captured output.

use std::time::Duration;

use serde::Serialize;

/// One line a skill logged, as kept in its run record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Ok,
    Failed,
}

/// One invocation, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    pub skill: String,
    pub version: String,
    pub digest: String,
    pub trigger: String,
    /// The upstream finding's id, for finding-triggered runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub status: RunStatus,
    pub duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Findings this run contributed (before de-duplication).
    pub findings: usize,
    pub host_calls: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<LogLine>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub log_dropped: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

impl RunRecord {
    /// The record of a skill that could not be loaded, named after its file.
    pub fn failed_load(file: &std::path::Path, error: String, duration: Duration) -> Self {
        RunRecord {
            skill: file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            version: String::new(),
            digest: String::new(),
            trigger: "load".to_string(),
            input: None,
            status: RunStatus::Failed,
            duration_ms: duration.as_secs_f64() * 1e3,
            error: Some(error),
            findings: 0,
            host_calls: 0,
            log: Vec::new(),
            log_dropped: 0,
            stdout: String::new(),
            stderr: String::new(),
        }
    }
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}
