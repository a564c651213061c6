//! `log`: a skill's log lines, tagged with its id, kept for the run record and forwarded to
//! the host's `tracing` output, within a per-invocation byte budget.

use super::SkillState;
use super::bindings::joule::skill::log::{Host, Level};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// The lines one invocation logged, and how many were dropped past the budget.
#[derive(Debug)]
pub struct LogSink {
    skill: String,
    budget: usize,
    used: usize,
    pub lines: Vec<LogLine>,
    pub dropped: u64,
}

impl LogSink {
    pub fn new(skill: &str, budget: usize) -> Self {
        LogSink {
            skill: skill.to_string(),
            budget,
            used: 0,
            lines: Vec::new(),
            dropped: 0,
        }
    }

    pub fn push(&mut self, level: &'static str, message: String) {
        if self.used + message.len() > self.budget {
            self.dropped += 1;
            return;
        }
        self.used += message.len();
        match level {
            "error" => tracing::error!(skill = %self.skill, "{message}"),
            "warn" => tracing::warn!(skill = %self.skill, "{message}"),
            "info" => tracing::info!(skill = %self.skill, "{message}"),
            "debug" => tracing::debug!(skill = %self.skill, "{message}"),
            _ => tracing::trace!(skill = %self.skill, "{message}"),
        }
        self.lines.push(LogLine { level, message });
    }
}

impl Host for SkillState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.calls += 1;
        let level = match level {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        self.log.push(level, message);
        Ok(())
    }
}
