//! The limits every invocation of a skill runs under: built once from the policy (or the
//! command line's defaults) and handed to the runtime as a value.

use std::time::Duration;

/// Limits every invocation runs under. The defaults apply when no policy says otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Wall-clock time for one invocation, enforced by epoch interruption.
    pub deadline: Duration,
    /// Memory one invocation may hold: its linear memories, summed, plus the host memory made
    /// on its behalf (handles, cursors, views, regexes, audit records, findings), one account.
    pub memory_bytes: usize,
    /// Bytes of log messages kept per invocation; later lines are counted and dropped.
    pub log_bytes: usize,
    /// Findings one invocation may return; past it the highest-ranked are kept, the rest
    /// counted.
    pub max_findings: usize,
    /// Bytes of findings (all their text) one invocation may return; past it the
    /// highest-ranked that fit are kept.
    pub findings_bytes: usize,
    /// Bytes all host calls of one invocation may return to it.
    pub host_call_bytes: u64,
    /// Host calls one invocation may make.
    pub host_calls: u64,
    /// Resource handles (profiles, trees, cursors) one invocation may hold at once.
    pub handles: usize,
}

impl Default for Limits {
    /// Sized for a one-off scan of a whole fleet by one invocation (100,000 series of 1,000
    /// points read through host calls, a regression in each of 10,000 of them), not only for
    /// the bundled example.
    fn default() -> Self {
        Limits {
            deadline: Duration::from_secs(60),
            memory_bytes: 256 << 20,
            log_bytes: 64 << 10,
            max_findings: 10_000,
            findings_bytes: 32 << 20,
            host_call_bytes: 16 << 30,
            host_calls: 100_000_000,
            handles: 4_096,
        }
    }
}

/// What one run may do in all, whatever its skills do: composition (skills triggered by
/// findings, round after round) multiplies invocations and findings, and these bound the
/// product. Reaching one stops what would pass it, keeps everything else, and says so.
#[derive(Clone, Debug, PartialEq)]
pub struct RunLimits {
    /// Invocations in the whole run, scans and finding-triggered ones together.
    pub invocations: usize,
    /// Findings kept in the whole run.
    pub findings: usize,
    /// Bytes of findings (all their text) kept in the whole run.
    pub findings_bytes: usize,
    /// How long the whole run may take, report included: past it no invocation starts, those
    /// running are stopped, and the report is finished with the work done.
    pub deadline: Duration,
}

impl Default for RunLimits {
    /// Sized for a one-off scan of a whole fleet (a regression in each of 30,000 series,
    /// attributed and mitigated, fits), not for a chain that feeds on itself.
    fn default() -> Self {
        RunLimits {
            invocations: 100_000,
            findings: 1_000_000,
            findings_bytes: 1 << 30,
            // The longest a hosted CI job may run (GitHub Actions' limit): a fleet scan that
            // needs longer is one to schedule with a deliberate `--run-timeout`.
            deadline: Duration::from_secs(6 * 3600),
        }
    }
}

/// How long a skill's `describe` may run, whatever the policy or the command line say.
pub const DESCRIBE_DEADLINE: Duration = Duration::from_secs(5);

/// The memory a skill's `describe` may grow to (less when the runtime's memory slots are smaller).
pub const DESCRIBE_MEMORY: usize = 64 << 20;

impl Limits {
    /// The fixed limits `describe` runs under, not a run's: a skill returns a constant
    /// descriptor from it, which takes milliseconds and the memory its component starts with
    /// (1 MiB for every skill in this repository), so these are far above what it needs and far
    /// below what a run may get. It reads nothing (nothing is granted to it), and its log and
    /// output are small. `memory_slot` is the most memory the runtime gives any instance.
    pub fn for_describe(memory_slot: usize) -> Limits {
        Limits {
            deadline: DESCRIBE_DEADLINE,
            memory_bytes: DESCRIBE_MEMORY.min(memory_slot),
            log_bytes: 4 << 10,
            max_findings: 0,
            findings_bytes: 0,
            host_call_bytes: 1 << 20,
            host_calls: 1_000,
            handles: 16,
        }
    }

    /// In words, for `joule audit`.
    pub fn describe(&self) -> String {
        format!(
            "{:.0} s, {} MiB memory, {} MiB host-call data, {} host calls, {} handles, {} findings / {} KiB, {} KiB log",
            self.deadline.as_secs_f64(),
            self.memory_bytes >> 20,
            self.host_call_bytes >> 20,
            self.host_calls,
            self.handles,
            self.max_findings,
            self.findings_bytes >> 10,
            self.log_bytes >> 10
        )
    }
}
