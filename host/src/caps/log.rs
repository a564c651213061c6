//! `log`: a skill's log lines, tagged with its id, kept for the run record and forwarded to
//! the host's `tracing` output (one terminal line each), within a per-invocation byte budget.

use super::SkillState;
use super::bindings::joule::skill::log::{Host, Level};
use crate::audit::{Op, Target};
use crate::report::LogLine;
use crate::untrusted::Untrusted;

/// What a log line costs against the log budget on top of its bytes: a line's level and its
/// place in the report.
pub const LINE_COST: usize = 16;

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

    /// Keeps a line if it fits the budget; returns whether it did. Each line costs its bytes
    /// plus [`LINE_COST`], so empty lines cannot flood the report either.
    pub fn push(&mut self, level: &'static str, message: String) -> bool {
        let cost = message.len().saturating_add(LINE_COST);
        if self.used.saturating_add(cost) > self.budget {
            self.dropped += 1;
            return false;
        }
        self.used += cost;
        let message = Untrusted::from(message);
        let line = || message.terminal();
        match level {
            "error" => tracing::error!(skill = %self.skill, "{}", line()),
            "warn" => tracing::warn!(skill = %self.skill, "{}", line()),
            "info" => tracing::info!(skill = %self.skill, "{}", line()),
            "debug" => tracing::debug!(skill = %self.skill, "{}", line()),
            _ => tracing::trace!(skill = %self.skill, "{}", line()),
        }
        self.lines.push(LogLine {
            level: level.into(),
            message,
        });
        true
    }
}

impl Host for SkillState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let started = self.begin(Op::Log)?;
        let level = match level {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        let kept = self.log.push(level, message);
        // The audit log records the level and whether the line was kept, never its text; a log
        // call returns nothing, so it costs nothing against the host-call data limit.
        let dropped = (!kept).then_some("the log budget is spent; the line was dropped");
        self.end(started, Op::Log, || Target::Text(level.into()), 0, dropped)
    }
}
