//! Host work that cannot watch a clock itself (libgit2's walks, diffs, blame and merges;
//! tree-sitter's query compiler), done on a thread of its own and waited for only until the
//! caller's deadline.
//!
//! A skill's invocation ends at its deadline whatever the host is doing for it: a call whose
//! work is not done by then answers [`Late::Deadline`] and the skill is stopped. The work itself
//! cannot be interrupted, so it finishes on its thread and its answer is dropped. At most
//! [`MAX_WORKERS`] such threads run at once in the process, so work a skill leaves behind cannot
//! pile up: a call finding none free waits for one (within its own deadline), and the CPU time
//! work left behind can take is bounded by that many threads for as long as the slowest call
//! the inputs allow.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

/// Threads doing deadline-bound host work at once, in the whole process.
pub const MAX_WORKERS: usize = 16;

/// Why work under a deadline gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Late {
    /// The deadline came first (waiting for a free worker, or for the work).
    Deadline,
    /// The work never answered: its thread could not start, or it panicked.
    Lost(String),
}

impl std::fmt::Display for Late {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Late::Deadline => f.write_str("the deadline came before the answer"),
            Late::Lost(why) => write!(f, "the host lost the work: {why}"),
        }
    }
}

/// Runs `work` on a worker thread and waits for its answer until `deadline`.
pub fn until<T: Send + 'static>(
    deadline: Instant,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Late> {
    WORKERS.until(deadline, work)
}

static WORKERS: Workers = Workers::new(MAX_WORKERS);

/// Worker threads, at most `max` at once.
struct Workers {
    max: usize,
    busy: Mutex<usize>,
    freed: Condvar,
}

/// A running worker's place; dropping it (when the work ends, answered or not) frees it.
struct Permit(&'static Workers);

impl Workers {
    const fn new(max: usize) -> Self {
        Workers {
            max,
            busy: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    fn until<T: Send + 'static>(
        &'static self,
        deadline: Instant,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Late> {
        if Instant::now() >= deadline {
            return Err(Late::Deadline);
        }
        let permit = self.acquire_until(deadline)?;
        let (answer, answered) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("joule-bounded".into())
            // Parsers and libgit2 recurse; the same room skills' host calls get.
            .stack_size(crate::engine::THREAD_STACK)
            .spawn(move || {
                let _permit = permit;
                // The caller may have gone: then nobody wants the answer.
                let _ = answer.send(work());
            })
            .map_err(|e| Late::Lost(format!("cannot start a worker thread: {e}")))?;
        match answered.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(value) => Ok(value),
            Err(RecvTimeoutError::Timeout) => Err(Late::Deadline),
            Err(RecvTimeoutError::Disconnected) => {
                Err(Late::Lost("the worker thread panicked".into()))
            }
        }
    }

    fn acquire_until(&'static self, deadline: Instant) -> Result<Permit, Late> {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        while *busy >= self.max {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Late::Deadline);
            }
            busy = self
                .freed
                .wait_timeout(busy, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *busy += 1;
        Ok(Permit(self))
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(PoisonError::into_inner);
        *busy = busy.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn answers_in_time_and_gives_up_at_the_deadline() {
        let soon = Instant::now() + Duration::from_secs(10);
        assert_eq!(until(soon, || 6 * 7), Ok(42));

        let started = Instant::now();
        let late = until(started + Duration::from_millis(100), || {
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
    fn a_panic_in_the_work_is_an_answer_not_a_panic() {
        let soon = Instant::now() + Duration::from_secs(10);
        let lost = until(soon, || -> u32 { panic!("libgit2 said no") });
        assert!(matches!(lost, Err(Late::Lost(_))), "{lost:?}");
    }

    #[test]
    fn work_left_behind_holds_a_worker_until_it_ends() {
        // Fill every worker with work that outlives its caller: the next caller waits for one
        // to end rather than start a thread more, and gives up at its own deadline.
        let workers: &'static Workers = Box::leak(Box::new(Workers::new(3)));
        for _ in 0..3 {
            let soon = Instant::now() + Duration::from_millis(1);
            let left = workers.until(soon, || std::thread::sleep(Duration::from_millis(800)));
            assert_eq!(left, Err(Late::Deadline));
        }
        let started = Instant::now();
        assert_eq!(
            workers.until(started + Duration::from_millis(50), || ()),
            Err(Late::Deadline)
        );
        // Once they end, there is room again.
        let later = Instant::now() + Duration::from_secs(10);
        assert_eq!(workers.until(later, || 1), Ok(1));
    }
}
