//! Host work that cannot watch a clock itself (libgit2's walks, diffs, blame and merges;
//! tree-sitter's query compiler), done on a thread of its own and waited for only until the
//! caller's deadline.
//!
//! A skill's invocation ends at its deadline whatever the host is doing for it: a call whose
//! work is not done by then answers [`Late::Deadline`] and the skill is stopped. The work itself
//! cannot be interrupted, so it finishes on its thread and its answer is dropped. At most
//! [`MAX_WORKERS`] such threads run at once in the process, and at most [`MAX_PER_SKILL`] for
//! one skill id, so work a skill leaves behind cannot pile up, and a skill that leaves work
//! behind again and again waits for its own to end (within its own deadline) rather than take
//! the workers other skills need. Work started on a worker that needs a worker itself (a walk
//! compiling its query) runs there, inline: the wait around it already bounds it.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Threads doing deadline-bound host work at once, in the whole process.
pub const MAX_WORKERS: usize = 32;

/// Of those, the most working for one skill id at once.
pub const MAX_PER_SKILL: usize = 4;

thread_local! {
    /// Whether this thread is a worker (work it starts runs inline).
    static ON_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Why work under a deadline gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Late {
    /// The deadline came first (waiting for a free worker, or for the work).
    Deadline,
    /// The work never answered: its thread could not start, or it panicked.
    Lost(String),
    /// The caller's run was cancelled first.
    Cancelled,
}

impl std::fmt::Display for Late {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Late::Deadline => f.write_str("the deadline came before the answer"),
            Late::Lost(why) => write!(f, "the host lost the work: {why}"),
            Late::Cancelled => f.write_str("the run was cancelled before the answer"),
        }
    }
}

/// Runs `work` for skill `skill` on a worker thread and waits for its answer until `deadline`.
pub fn until<T: Send + 'static>(
    skill: &str,
    deadline: Instant,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Late> {
    WORKERS.until(skill, deadline, None, work)
}

/// [`until`], and no longer once `cancel` is cancelled (checked every [`CANCEL_CHECK`]): a
/// skill's host call gives up when its run is cancelled, as at its deadline.
pub fn until_or_cancelled<T: Send + 'static>(
    skill: &str,
    deadline: Instant,
    cancel: Option<&tokio_util::sync::CancellationToken>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Late> {
    WORKERS.until(skill, deadline, cancel, work)
}

/// How often a wait looks at its cancellation.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

/// The longest to wait at once before `deadline`: all of it, or a [`CANCEL_CHECK`] when there is
/// a cancellation to look at. `Err` when the deadline came or the run was cancelled.
fn wait_slice(
    deadline: Instant,
    cancel: Option<&tokio_util::sync::CancellationToken>,
) -> Result<Duration, Late> {
    if cancel.is_some_and(|c| c.is_cancelled()) {
        return Err(Late::Cancelled);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Late::Deadline);
    }
    Ok(match cancel {
        Some(_) => left.min(CANCEL_CHECK),
        None => left,
    })
}

static WORKERS: Workers = Workers::new(MAX_WORKERS, MAX_PER_SKILL);

/// Worker threads, at most `max` at once and `per_skill` for one skill.
struct Workers {
    max: usize,
    per_skill: usize,
    busy: Mutex<Busy>,
    freed: Condvar,
}

/// Workers running, in all and by skill id (only skills with some running).
struct Busy {
    all: usize,
    by_skill: BTreeMap<String, usize>,
}

/// A running worker's place; dropping it (when the work ends, answered or not) frees it.
struct Permit {
    workers: &'static Workers,
    skill: String,
}

impl Workers {
    const fn new(max: usize, per_skill: usize) -> Self {
        Workers {
            max,
            per_skill,
            busy: Mutex::new(Busy {
                all: 0,
                by_skill: BTreeMap::new(),
            }),
            freed: Condvar::new(),
        }
    }

    fn until<T: Send + 'static>(
        &'static self,
        skill: &str,
        deadline: Instant,
        cancel: Option<&tokio_util::sync::CancellationToken>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Late> {
        wait_slice(deadline, cancel)?;
        if ON_WORKER.get() {
            return Ok(work());
        }
        let permit = self.acquire_until(skill, deadline, cancel)?;
        // A worker freed just as the deadline came: start nothing nobody will wait for.
        wait_slice(deadline, cancel)?;
        let (answer, answered) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("joule-bounded".into())
            // Parsers and libgit2 recurse; the same room skills' host calls get.
            .stack_size(crate::engine::THREAD_STACK)
            .spawn(move || {
                ON_WORKER.set(true);
                let _permit = permit;
                // The caller may have gone: then nobody wants the answer.
                let _ = answer.send(work());
            })
            .map_err(|e| Late::Lost(format!("cannot start a worker thread: {e}")))?;
        loop {
            match answered.recv_timeout(wait_slice(deadline, cancel)?) {
                Ok(value) => return Ok(value),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Late::Lost("the worker thread panicked".into()));
                }
            }
        }
    }

    fn acquire_until(
        &'static self,
        skill: &str,
        deadline: Instant,
        cancel: Option<&tokio_util::sync::CancellationToken>,
    ) -> Result<Permit, Late> {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = |busy: &Busy| busy.by_skill.get(skill).copied().unwrap_or(0);
        while busy.all >= self.max || mine(&busy) >= self.per_skill {
            let left = wait_slice(deadline, cancel)?;
            busy = self
                .freed
                .wait_timeout(busy, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        busy.all += 1;
        *busy.by_skill.entry(skill.to_string()).or_default() += 1;
        Ok(Permit {
            workers: self,
            skill: skill.to_string(),
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut busy = self
            .workers
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        busy.all = busy.all.saturating_sub(1);
        if let Some(n) = busy.by_skill.get_mut(&self.skill) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                busy.by_skill.remove(&self.skill);
            }
        }
        // Waiters wait on different counts (all, or their skill's): wake them all to look.
        self.workers.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_time_and_gives_up_at_the_deadline() {
        let soon = Instant::now() + Duration::from_secs(10);
        assert_eq!(until("t", soon, || 6 * 7), Ok(42));

        let started = Instant::now();
        let late = until("t", started + Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(2));
        });
        assert_eq!(late, Err(Late::Deadline));
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_millis(1000),
            "waited {waited:?} past a 100 ms deadline"
        );
    }

    #[test]
    fn a_cancelled_wait_gives_up_at_once() {
        let cancel = tokio_util::sync::CancellationToken::new();
        let started = Instant::now();
        let canceller = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            canceller.cancel();
        });
        let far = started + Duration::from_secs(30);
        let late = until_or_cancelled("t", far, Some(&cancel), || {
            std::thread::sleep(Duration::from_secs(2));
        });
        assert_eq!(late, Err(Late::Cancelled));
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_millis(1000),
            "waited {waited:?} after a cancel at 100 ms"
        );
        // Already cancelled: nothing starts.
        assert_eq!(
            until_or_cancelled("t", far, Some(&cancel), || 1),
            Err(Late::Cancelled)
        );
    }

    #[test]
    fn one_skills_work_left_behind_leaves_workers_for_the_others() {
        let workers: &'static Workers = Box::leak(Box::new(Workers::new(4, 2)));
        let sleep = || std::thread::sleep(Duration::from_millis(1500));
        for _ in 0..5 {
            let soon = Instant::now() + Duration::from_millis(30);
            let _ = workers.until("hostile", soon, None, sleep);
        }
        // The hostile skill holds its two; the others still get workers at once.
        let soon = Instant::now() + Duration::from_millis(500);
        assert_eq!(workers.until("honest", soon, None, || 7), Ok(7));
        assert_eq!(
            workers.until(
                "hostile",
                Instant::now() + Duration::from_millis(30),
                None,
                || 7
            ),
            Err(Late::Deadline)
        );
    }

    #[test]
    fn work_a_worker_starts_runs_there() {
        let soon = Instant::now() + Duration::from_secs(10);
        let nested = until("t", soon, move || {
            let outer = std::thread::current().id();
            until("t", soon, move || std::thread::current().id() == outer)
        });
        assert_eq!(nested, Ok(Ok(true)));
    }

    #[test]
    fn a_panic_in_the_work_is_an_answer_not_a_panic() {
        let soon = Instant::now() + Duration::from_secs(10);
        let lost = until("t", soon, || -> u32 { panic!("libgit2 said no") });
        assert!(matches!(lost, Err(Late::Lost(_))), "{lost:?}");
    }

    #[test]
    fn work_left_behind_holds_a_worker_until_it_ends() {
        // Fill every worker with work that outlives its caller: the next caller waits for one
        // to end rather than start a thread more, and gives up at its own deadline.
        // Three workers, two a skill: `a` fills its two, `b` the last one.
        let workers: &'static Workers = Box::leak(Box::new(Workers::new(3, 2)));
        let sleep = || std::thread::sleep(Duration::from_millis(1500));
        for skill in ["a", "a", "b"] {
            let soon = Instant::now() + Duration::from_millis(30);
            assert_eq!(workers.until(skill, soon, None, sleep), Err(Late::Deadline));
        }
        let busy = |skill: &str| {
            let busy = workers.busy.lock().unwrap();
            (busy.all, busy.by_skill.get(skill).copied())
        };
        assert_eq!(busy("a"), (3, Some(2)));
        // Nobody gets a fourth: `c` waits and gives up at its deadline.
        let started = Instant::now();
        assert_eq!(
            workers.until("c", started + Duration::from_millis(50), None, || ()),
            Err(Late::Deadline)
        );
        // Once they end, there is room again.
        let later = Instant::now() + Duration::from_secs(10);
        assert_eq!(workers.until("c", later, None, || 1), Ok(1));
        // The last of the work left behind ends within ~100 ms of the first.
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(busy("a"), (0, None));
    }
}
