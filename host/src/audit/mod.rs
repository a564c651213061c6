//! The audit log: one JSON line per host call a skill makes and per load decision, for security
//! reviews. What was asked, of what, how much came back, and whether it was allowed; never the
//! contents.
//!
//! Recording is cheap on purpose: a host call appends a small record to its store's buffer
//! (no formatting, no I/O), and the buffer is written out as JSON lines when the invocation
//! ends, under one lock per invocation.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
#[cfg(not(target_os = "linux"))]
use std::time::Instant;
use std::time::{Duration, SystemTime};

use anyhow::Context;

/// What a host call did, by interface and operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    ProfilesGranted,
    Metadata,
    Function,
    FindFunctions,
    Top,
    Stat,
    TotalOf,
    Callers,
    Callees,
    Lines,
    Stacks,
    CursorNext,
    Filter,
    Labels,
    Diff,
    Subtree,
    DropProfile,
    DropCursor,
    SourceGranted,
    TreeName,
    Read,
    ReadLines,
    StatPath,
    ListDir,
    Search,
    Query,
    Locate,
    Definitions,
    DropTree,
    Log,
    MetricsGranted,
    MetricSetName,
    TimeFormat,
    Show,
    SeriesCount,
    ListSeries,
    Points,
    Values,
    Times,
    DropMetricSet,
    HistoryGranted,
    RepoName,
    Head,
    Commits,
    Commit,
    Changes,
    CommitDiff,
    Blame,
    Revert,
    DropRepo,
    Report,
}

impl Op {
    pub fn interface(self) -> &'static str {
        use Op::*;
        match self {
            SourceGranted | TreeName | Read | ReadLines | StatPath | ListDir | Search | Query
            | Locate | Definitions | DropTree => "source",
            Log => "log",
            Report => "findings",
            MetricsGranted | MetricSetName | TimeFormat | Show | SeriesCount | ListSeries
            | Points | Values | Times | DropMetricSet => "metrics",
            HistoryGranted | RepoName | Head | Commits | Commit | Changes | CommitDiff | Blame
            | Revert | DropRepo => "history",
            _ => "profiles",
        }
    }

    pub fn name(self) -> &'static str {
        use Op::*;
        match self {
            ProfilesGranted | SourceGranted => "granted",
            Metadata => "metadata",
            Function => "function",
            FindFunctions => "find-functions",
            Top => "top",
            Stat | StatPath => "stat",
            TotalOf => "total-of",
            Callers => "callers",
            Callees => "callees",
            Lines => "lines",
            Stacks => "stacks",
            CursorNext => "stack-cursor.next",
            Filter => "filter",
            Labels => "labels",
            Diff => "diff",
            Subtree => "subtree",
            DropProfile => "profile.drop",
            DropCursor => "stack-cursor.drop",
            TreeName => "name",
            Read => "read",
            ReadLines => "read-lines",
            ListDir => "list-dir",
            Search => "search",
            Query => "query",
            Locate => "locate",
            Definitions => "definitions",
            DropTree => "tree.drop",
            Log => "log",
            MetricsGranted => "granted",
            MetricSetName => "name",
            TimeFormat => "time-format",
            Show => "show",
            SeriesCount => "count",
            ListSeries => "list",
            Points => "points",
            Values => "values",
            Times => "times",
            DropMetricSet => "metric-set.drop",
            HistoryGranted => "granted",
            RepoName => "name",
            Head => "head",
            Commits => "commits",
            Commit => "commit",
            Changes => "changes",
            CommitDiff => "diff",
            Blame => "blame",
            Revert => "revert",
            DropRepo => "repo.drop",
            Report => "report",
        }
    }
}

/// Nanoseconds on a monotonic clock that is cheap to read: on Linux the coarse clock (a few
/// nanoseconds a read, millisecond resolution), so recording a host call costs a few percent of
/// the call; elsewhere `Instant`.
#[inline]
pub fn now_ns() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the clock id is a Linux constant.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        (ts.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec as u64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// What a host call was about: a profile (by its index in [`Buffer::names`], so recording a
/// profile query touches no reference count), a path in a tree, or nothing.
#[derive(Clone, Debug, Default)]
pub enum Target {
    #[default]
    None,
    Name(u32),
    Text(Box<str>),
}

/// One host call, as recorded on the hot path.
#[derive(Clone, Debug)]
pub struct Record {
    /// When it started, from [`now_ns`].
    pub at_ns: u64,
    pub op: Op,
    pub resource: Target,
    pub bytes: u64,
    /// `Some(reason)` for a denied call.
    pub denied: Option<Box<str>>,
    /// Time in the host, from [`now_ns`] (millisecond resolution on Linux).
    pub duration_ns: u64,
}

impl Target {
    /// A path or other text, cut to [`MAX_RESOURCE_BYTES`] (on a character boundary).
    pub fn text(mut s: String) -> Self {
        if s.len() > MAX_RESOURCE_BYTES {
            let mut end = MAX_RESOURCE_BYTES;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s.push('…');
        }
        Target::Text(s.into_boxed_str())
    }
}

/// The longest resource text a record keeps.
pub const MAX_RESOURCE_BYTES: usize = 512;

/// Records one invocation keeps; the calls past it are counted, not recorded, so a skill
/// cannot grow the host's memory through the audit log.
pub const MAX_RECORDS: usize = 1 << 20;

/// One invocation's records, and the profile names they refer to.
#[derive(Debug, Default)]
pub struct Buffer {
    pub records: Vec<Record>,
    pub names: Vec<Arc<str>>,
    /// Calls past [`MAX_RECORDS`].
    pub dropped: u64,
}

impl Buffer {
    /// Keeps a record, or counts it past [`MAX_RECORDS`]. Returns the heap bytes keeping it
    /// took (the buffer's growth and the record's text), for the skill's memory account.
    #[inline]
    pub fn push(&mut self, record: Record) -> usize {
        if self.records.len() < MAX_RECORDS {
            let text = match &record.resource {
                Target::Text(t) => t.len(),
                _ => 0,
            } + record.denied.as_ref().map_or(0, |d| d.len());
            let before = self.records.capacity();
            self.records.push(record);
            (self.records.capacity() - before) * std::mem::size_of::<Record>() + text
        } else {
            self.dropped += 1;
            0
        }
    }

    /// The index of `name` in [`Self::names`], adding it when it is not among them.
    pub fn intern(&mut self, name: &str) -> u32 {
        let at = match self.names.iter().position(|n| **n == *name) {
            Some(i) => i,
            None => {
                self.names.push(name.into());
                self.names.len() - 1
            }
        };
        at as u32
    }

    fn resource<'a>(&'a self, r: &'a Target) -> &'a str {
        match r {
            Target::None => "",
            Target::Name(i) => self.names.get(*i as usize).map_or("", |n| n),
            Target::Text(t) => t,
        }
    }
}

/// The audit log file, shared by all invocations of a run.
#[derive(Debug)]
pub struct AuditLog {
    out: Mutex<BufWriter<File>>,
    /// Wall-clock time and [`now_ns`] of the same moment, to date records.
    anchor: (SystemTime, u64),
}

fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        since.subsec_micros()
    )
}

impl AuditLog {
    /// Opens `path` for appending.
    pub fn create(path: &Path) -> anyhow::Result<Arc<Self>> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("{}: cannot open the audit log", path.display()))?;
        Ok(Arc::new(AuditLog {
            out: Mutex::new(BufWriter::new(file)),
            anchor: (SystemTime::now(), now_ns()),
        }))
    }

    fn wall(&self, at_ns: u64) -> SystemTime {
        self.anchor.0 + Duration::from_nanos(at_ns.saturating_sub(self.anchor.1))
    }

    /// Writes one invocation's host calls.
    pub fn write_calls(&self, skill: &str, digest: &str, buffer: &Buffer) {
        // Formatted and written a chunk at a time under the one lock: writing out a large
        // buffer takes the host no more than a chunk besides the records (charged to the
        // skill's memory account as they were kept).
        let mut out = self.lock();
        let mut text = String::with_capacity(WRITE_CHUNK + 4096);
        for r in &buffer.records {
            let line = serde_json::json!({
                "time": rfc3339(self.wall(r.at_ns)),
                "skill": skill,
                "digest": digest,
                "interface": r.op.interface(),
                "op": r.op.name(),
                "resource": buffer.resource(&r.resource),
                "bytes": r.bytes,
                "decision": if r.denied.is_some() { "deny" } else { "allow" },
                "reason": r.denied.as_deref(),
                "duration_us": r.duration_ns / 1_000,
            });
            text.push_str(&line.to_string());
            text.push('\n');
            if text.len() >= WRITE_CHUNK {
                write(&mut out, &text, false);
                text.clear();
            }
        }
        if buffer.dropped > 0 {
            let line = serde_json::json!({
                "time": rfc3339(SystemTime::now()),
                "skill": skill,
                "digest": digest,
                "interface": "run",
                "op": "audit-overflow",
                "resource": "",
                "bytes": 0,
                "decision": "allow",
                "reason": format!(
                    "{} more host calls were made than the {MAX_RECORDS} this invocation's audit log keeps; they were counted, not recorded",
                    buffer.dropped
                ),
                "duration_us": 0,
            });
            text.push_str(&line.to_string());
            text.push('\n');
        }
        write(&mut out, &text, true);
    }

    /// Writes how an invocation ended: `allow` when it ran to its end (with the skill's own
    /// error as the reason, if it returned one), `deny` with the reason when the host stopped
    /// it (a deadline, a memory cap, a limit, a trap such as a panic).
    pub fn write_run(
        &self,
        skill: &str,
        digest: &str,
        trigger: &str,
        stopped: bool,
        reason: Option<&str>,
        duration: Duration,
    ) {
        let line = serde_json::json!({
            "time": rfc3339(SystemTime::now()),
            "skill": skill,
            "digest": digest,
            "interface": "run",
            "op": trigger,
            "resource": "",
            "bytes": 0,
            "decision": if stopped { "deny" } else { "allow" },
            "reason": reason,
            "duration_us": duration.as_micros() as u64,
        });
        self.append(&(line.to_string() + "\n"));
    }

    /// Writes a load decision: `reason` is `None` when the component was loaded.
    pub fn write_load(&self, skill: &str, digest: &str, path: &str, reason: Option<&str>) {
        let line = serde_json::json!({
            "time": rfc3339(SystemTime::now()),
            "skill": skill,
            "digest": digest,
            "interface": "load",
            "op": "load",
            "resource": path,
            "bytes": 0,
            "decision": if reason.is_some() { "deny" } else { "allow" },
            "reason": reason,
            "duration_us": 0,
        });
        self.append(&(line.to_string() + "\n"));
    }

    /// Writes one tool call of an agent (`joule mcp`): the tool, what it was about (a skill, a
    /// file, a series: never its contents), `deny` with the reason when it was refused, the
    /// bytes answered and how long it took.
    pub fn write_tool(
        &self,
        tool: &str,
        resource: &str,
        denied: bool,
        reason: Option<&str>,
        bytes: u64,
        duration: Duration,
    ) {
        // What the agent sent, cut as a skill's resources are: one call cannot flood the log.
        let cut = |text: &str| {
            let mut end = text.len().min(MAX_RESOURCE_BYTES);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_string()
        };
        let line = serde_json::json!({
            "time": rfc3339(SystemTime::now()),
            "skill": joule_policy::AGENT,
            "digest": "",
            "interface": "mcp",
            "op": cut(tool),
            "resource": cut(resource),
            "bytes": bytes,
            "decision": if denied { "deny" } else { "allow" },
            "reason": reason,
            "duration_us": duration.as_micros() as u64,
        });
        self.append(&(line.to_string() + "\n"));
    }

    fn append(&self, text: &str) {
        write(&mut self.lock(), text, true);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BufWriter<File>> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The most audit text formatted before it is written out.
const WRITE_CHUNK: usize = 256 << 10;

fn write(out: &mut BufWriter<File>, text: &str, flush: bool) {
    let written = out
        .write_all(text.as_bytes())
        .and_then(|_| if flush { out.flush() } else { Ok(()) });
    if let Err(e) = written {
        tracing::error!("cannot write the audit log: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_764_201_600_123_456);
        assert_eq!(rfc3339(t), "2025-11-27T00:00:00.123456Z");
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000Z"
        );
    }
}
