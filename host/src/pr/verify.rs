//! The repository's own commands run on a prepared tree: the build and tests that must pass
//! before a change is proposed, and the benchmark timed before and after it. Each runs under
//! `sh -c` in its own process group, killed whole at its timeout, or when `joule pr` is
//! interrupted (see [`catch_interrupts`]).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Lines of a failed command's output kept for the reason.
const TAIL_LINES: usize = 40;
/// Bytes of a command's output read for them.
const TAIL_BYTES: u64 = 64 << 10;

/// The process group of the command running now, if any. The handler kills it under this lock,
/// and [`run`] registers and unregisters it under the same lock, so the handler never signals
/// a group [`run`] is done with, and a signal between spawn and registration is not missed
/// (the flag is set before the handler locks, and read after [`run`] registers).
static RUNNING: Mutex<Option<i32>> = Mutex::new(None);

/// From now on, SIGINT, SIGTERM and SIGHUP do not kill the process outright
/// ([`crate::interrupt`]): the running command's process group is killed (it is not in the
/// terminal's foreground group, so Ctrl-C does not reach it), [`interrupted`] becomes true, and
/// `crate::pr::prepare` removes the change in progress as it removes a rejected one, prepares no
/// other, and returns. Calling it again is harmless.
pub fn catch_interrupts() -> anyhow::Result<()> {
    static HOOKED: std::sync::Once = std::sync::Once::new();
    crate::interrupt::catch()?;
    HOOKED.call_once(|| crate::interrupt::on_interrupt(kill_running));
    Ok(())
}

/// Whether SIGINT, SIGTERM or SIGHUP arrived since [`catch_interrupts`].
pub fn interrupted() -> bool {
    crate::interrupt::interrupted()
}

/// Kills the running command's process group, if there is one.
fn kill_running() {
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(pgid) = *running {
        // SAFETY: kill(2) with a negative pid signals the process group the command leads.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// How one command ended.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub command: String,
    /// `None` when it was killed at the timeout or by a signal.
    pub exit: Option<i32>,
    pub timed_out: bool,
    pub seconds: f64,
    /// The last lines of its output (stdout and stderr together).
    pub tail: String,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.exit == Some(0)
    }

    /// One line saying how it ended.
    pub fn summary(&self) -> String {
        match (self.timed_out, self.exit) {
            (true, _) => format!(
                "`{}` did not finish within its timeout ({:.0} s)",
                self.command, self.seconds
            ),
            (false, Some(0)) => format!("`{}` passed in {:.1} s", self.command, self.seconds),
            (false, Some(code)) => format!(
                "`{}` failed with exit status {code} after {:.1} s",
                self.command, self.seconds
            ),
            (false, None) => format!(
                "`{}` was killed by a signal after {:.1} s",
                self.command, self.seconds
            ),
        }
    }
}

/// Runs `command` in `dir` until it ends or `timeout` passes.
pub fn run(command: &str, dir: &Path, timeout: Duration) -> Outcome {
    let started = Instant::now();
    if interrupted() {
        return Outcome {
            command: command.to_string(),
            exit: None,
            timed_out: false,
            seconds: 0.0,
            tail: "not started: interrupted".to_string(),
        };
    }
    // Output goes to a file, not a pipe: a chatty command cannot fill a pipe and stall.
    let log = tempfile_in(dir);
    let spawned = log.as_ref().ok().and_then(|(file, _)| {
        let err = file.try_clone().ok()?;
        Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().ok()?)
            .stderr(err)
            .process_group(0)
            .spawn()
            .ok()
    });
    let Some(child) = spawned else {
        return Outcome {
            command: command.to_string(),
            exit: None,
            timed_out: false,
            seconds: 0.0,
            tail: format!("cannot start `sh -c {command}` in {}", dir.display()),
        };
    };
    // The child is waited for on a thread of its own, so its end is seen when it happens (a
    // benchmark is timed to the exit, not to a polling tick) and the timeout still holds.
    let pid = child.id() as i32;
    {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        *running = Some(pid);
        if interrupted() {
            // The signal came between the check above and now: the handler saw no group.
            // SAFETY: as below.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
    let (ended, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut child = child;
        let _ = ended.send(child.wait());
    });
    let (status, timed_out) = match wait.recv_timeout(timeout) {
        Ok(status) => (status.ok(), false),
        Err(_) => (None, true),
    };
    let seconds = started.elapsed().as_secs_f64();
    // The whole group, whether the command ended or not: `sh -c 'cargo test'` leaves cargo and
    // its children at a timeout, and a command may leave background processes when it ends.
    // Under the lock the handler kills with, and unregistered with it: once the group may be
    // gone, its id is not signalled again.
    {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: kill(2) with a negative pid signals the process group the child leads.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        *running = None;
    }
    if timed_out {
        let _ = wait.recv_timeout(Duration::from_secs(10));
    }
    // The last part of its output: a chatty command's log is not read whole.
    let mut text = String::new();
    if let Ok((_, path)) = &log {
        if let Ok(mut f) = std::fs::File::open(path) {
            use std::io::{Seek, SeekFrom};
            let length = f.metadata().map_or(0, |m| m.len());
            let _ = f.seek(SeekFrom::Start(length.saturating_sub(TAIL_BYTES)));
            let mut bytes = Vec::new();
            let _ = f.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        let _ = std::fs::remove_file(path);
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    Outcome {
        command: command.to_string(),
        exit: status.and_then(|s| s.code()),
        timed_out,
        seconds,
        tail,
    }
}

/// A log file beside (not inside) the tree the command runs in, so it changes nothing there.
fn tempfile_in(dir: &Path) -> std::io::Result<(std::fs::File, std::path::PathBuf)> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let parent = dir.parent().unwrap_or(dir);
    let name = format!(".joule-pr-{}-{n}.log", std::process::id());
    let path = parent.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)?;
    Ok((file, path))
}

/// A benchmark timed before and after a change.
#[derive(Clone, Debug, Serialize)]
pub struct Bench {
    pub command: String,
    pub runs: usize,
    pub before: Vec<f64>,
    pub after: Vec<f64>,
    /// Median before over median after: above 1 is faster.
    pub speedup: f64,
}

impl Bench {
    pub fn before_median(&self) -> f64 {
        joule_stats::median(&self.before)
    }

    pub fn after_median(&self) -> f64 {
        joule_stats::median(&self.after)
    }

    /// The statement a description makes of it.
    pub fn summary(&self) -> String {
        let range = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{lo:.3}-{hi:.3} s")
        };
        format!(
            "`{}`, {} runs each, alternated: median {:.3} s before ({}), {:.3} s after ({}): {:.2}x{}",
            self.command,
            self.runs,
            self.before_median(),
            range(&self.before),
            self.after_median(),
            range(&self.after),
            self.speedup,
            if self.speedup >= 1.0 {
                " as fast"
            } else {
                " (slower)"
            }
        )
    }
}

/// Times `command` `runs` times in `before` and in `after`, alternating, after one untimed run
/// in each (builds, caches); `Err` with the failing run when a run fails.
pub fn bench(
    command: &str,
    before: &Path,
    after: &Path,
    runs: usize,
    timeout: Duration,
) -> Result<Bench, Outcome> {
    for dir in [before, after] {
        let warm = run(command, dir, timeout);
        if !warm.passed() {
            return Err(warm);
        }
    }
    let mut times = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        for (dir, out) in [(before, &mut times.0), (after, &mut times.1)] {
            let outcome = run(command, dir, timeout);
            if !outcome.passed() {
                return Err(outcome);
            }
            out.push(outcome.seconds);
        }
    }
    let speedup = joule_stats::median(&times.0) / joule_stats::median(&times.1);
    Ok(Bench {
        command: command.to_string(),
        runs: runs.max(1),
        before: times.0,
        after: times.1,
        speedup,
    })
}
