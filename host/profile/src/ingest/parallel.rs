//! Work shared by two threads, for a reader whose large inputs pay for a second one (pprof):
//! jobs taken by whichever thread is free, values handed from one thread to the other as soon
//! as they are made, items claimed in blocks from both ends of a range, and a budget both
//! threads spend from.
//!
//! Kept apart from the formats, as inferno keeps its threading in its shared machinery, so a
//! reader reads as a description of its format. Waiting is a short spin, then sleep: on a VM,
//! waking a sleeping thread costs tens of microseconds, as much as a block of work. A panic (a
//! bug, never an input) leaves no thread waiting: it is caught and given as [`Panicked`], and
//! a value promised but never given wakes whoever waits for it, with nothing. Locks are taken
//! whatever a panic left them in: what they guard is whole at every step.

use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Work that panicked (a bug): the caller gives its own error instead of a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Panicked;

/// The end of the work a thread starts from: this thread the front, the second one the back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    Front,
    Back,
}

/// Runs `work` on this thread (from the [`End::Front`]) and on a second thread named `name`
/// (from the [`End::Back`]) at once, then `then` with both results: the second thread's is
/// `None` when it could not be started (so `work` on this thread must be able to do
/// everything, as [`Jobs`] and [`Ends`] see to). `then` runs as soon as the second thread has
/// given its result, while it exits (an exit, which joining waits for, costs as much as a
/// small merge).
pub(super) fn on_two_threads<T: Send, R>(
    name: &str,
    work: impl Fn(End) -> T + Sync,
    then: impl FnOnce(Result<T, Panicked>, Option<Result<T, Panicked>>) -> R,
) -> R {
    let back: Handoff<Mutex<Option<Result<T, Panicked>>>> = Handoff::new();
    std::thread::scope(|scope| {
        let promise = back.promise();
        let work = &work;
        let spawned = std::thread::Builder::new()
            .name(name.to_string())
            .spawn_scoped(scope, move || {
                let result = unpanicked(|| work(End::Back));
                promise.give(Mutex::new(Some(result)));
            });
        let front = unpanicked(|| work(End::Front));
        let back = spawned.ok().map(|_| {
            back.wait()
                .and_then(|slot| lock(slot).take())
                .unwrap_or(Err(Panicked))
        });
        then(front, back)
    })
}

/// `work`, with a panic caught.
fn unpanicked<T>(work: impl FnOnce() -> T) -> Result<T, Panicked> {
    std::panic::catch_unwind(AssertUnwindSafe(work)).map_err(|_| Panicked)
}

/// One job, run once by whichever thread takes it.
pub(super) type Job<'a> = Box<dyn FnOnce() + Send + 'a>;

/// Jobs taken in order by whichever thread is free: a thread that starts late leaves its share
/// to the other, and one thread alone runs them all.
pub(super) struct Jobs<'a> {
    next: AtomicUsize,
    jobs: Vec<Mutex<Option<Job<'a>>>>,
}

impl<'a> Jobs<'a> {
    pub(super) fn new(jobs: Vec<Job<'a>>) -> Self {
        Jobs {
            next: AtomicUsize::new(0),
            jobs: jobs.into_iter().map(|job| Mutex::new(Some(job))).collect(),
        }
    }

    /// Runs jobs until none is left to take. A job's panic goes on to the caller.
    pub(super) fn run(&self) {
        while let Some(slot) = self.jobs.get(self.next.fetch_add(1, Ordering::Relaxed)) {
            let job = lock(slot).take();
            if let Some(job) = job {
                job();
            }
        }
    }
}

/// A value made on one thread and waited for on others, given once through its
/// [`Promise`].
pub(super) struct Handoff<T> {
    value: OnceLock<T>,
    given: Signal,
}

impl<T> Handoff<T> {
    pub(super) fn new() -> Self {
        Handoff {
            value: OnceLock::new(),
            given: Signal::default(),
        }
    }

    /// The promise to give the value (one per handoff): dropped without giving it (a panic),
    /// it wakes the waiters with nothing.
    pub(super) fn promise(&self) -> Promise<'_, T> {
        Promise(self)
    }

    /// The value once given, or `None` when its promise was dropped without giving it.
    pub(super) fn wait(&self) -> Option<&T> {
        self.given.wait();
        self.value.get()
    }

    pub(super) fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

/// Gives a [`Handoff`]'s value; wakes its waiters however it ends.
pub(super) struct Promise<'h, T>(&'h Handoff<T>);

impl<T> Promise<'_, T> {
    pub(super) fn give(self, value: T) {
        let _ = self.0.value.set(value);
    }
}

impl<T> Drop for Promise<'_, T> {
    fn drop(&mut self) {
        self.0.given.raise();
    }
}

/// Items `0..len` claimed in blocks from both ends until the ends meet: each end's blocks are
/// contiguous (the front's in order, the back's from the last item down), so what a thread
/// makes of them joins the other's in one piece.
pub(super) struct Ends {
    len: usize,
    block: usize,
    /// How many items have been claimed from the front and from the back.
    claimed: Mutex<(usize, usize)>,
}

impl Ends {
    /// `len` items, claimed `block` at a time (a claim costs a lock: a block should take much
    /// longer to work through).
    pub(super) fn new(len: usize, block: usize) -> Self {
        Ends {
            len,
            block: block.max(1),
            claimed: Mutex::new((0, 0)),
        }
    }

    /// The next block from `end`, or `None` when every item is claimed.
    pub(super) fn claim(&self, end: End) -> Option<Range<usize>> {
        let mut claimed = lock(&self.claimed);
        let (front, back) = &mut *claimed;
        let n = (self.len - *front - *back).min(self.block);
        if n == 0 {
            return None;
        }
        Some(match end {
            End::Front => {
                *front += n;
                *front - n..*front
            }
            End::Back => {
                *back += n;
                self.len - *back..self.len - *back + n
            }
        })
    }
}

/// What every thread may use together, spent in batches (a shared counter updated per item
/// costs more than the item), and a stop for work that has failed already.
pub(super) struct Budget {
    limit: usize,
    used: AtomicUsize,
    stop: AtomicBool,
}

/// Why the budget refused to be spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// The threads together have used more than the limit.
    Over,
    /// Someone stopped the work.
    Stopped,
}

impl Budget {
    pub(super) fn new(limit: usize) -> Self {
        Budget {
            limit,
            used: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        }
    }

    /// What is left, as last spent (the other thread's unspent batch is not counted).
    pub(super) fn left(&self) -> usize {
        self.limit.saturating_sub(self.used.load(Ordering::Relaxed))
    }

    /// Spends `n`; gives what is left.
    pub(super) fn spend(&self, n: usize) -> Result<usize, Refused> {
        let used = self.used.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if used > self.limit {
            Err(Refused::Over)
        } else if self.stopped() {
            Err(Refused::Stopped)
        } else {
            Ok(self.limit - used)
        }
    }

    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Raised once; waited for with a short spin (the other thread is at work, and waking a
/// sleeping one costs tens of microseconds on a VM), then sleep.
#[derive(Default)]
struct Signal {
    raised: AtomicBool,
    sleepers: Mutex<()>,
    woken: Condvar,
}

impl Signal {
    /// How long to spin before sleeping.
    const SPIN: Duration = Duration::from_micros(200);

    fn raise(&self) {
        self.raised.store(true, Ordering::Release);
        // Taken so a waiter between its last look and its sleep cannot miss the wake-up.
        drop(lock(&self.sleepers));
        self.woken.notify_all();
    }

    fn wait(&self) {
        let started = Instant::now();
        while started.elapsed() < Self::SPIN {
            for _ in 0..64 {
                if self.raised.load(Ordering::Acquire) {
                    return;
                }
                std::hint::spin_loop();
            }
        }
        let mut sleepers = lock(&self.sleepers);
        while !self.raised.load(Ordering::Acquire) {
            sleepers = self
                .woken
                .wait(sleepers)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// `mutex` locked, even if a panic poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item claimed exactly once, the front's blocks in order from 0 and the back's
    /// from the last item down.
    fn assert_claims_cover(len: usize, front: &[Range<usize>], back: &[Range<usize>]) {
        let mut seen = vec![0u8; len];
        for block in front.iter().chain(back) {
            assert!(!block.is_empty());
            for i in block.clone() {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "len {len}: {seen:?}");
        let mut at = 0;
        for block in front {
            assert_eq!(block.start, at);
            at = block.end;
        }
        let mut at = len;
        for block in back {
            assert_eq!(block.end, at);
            at = block.start;
        }
    }

    #[test]
    fn claims_from_both_ends_cover_every_item_once_whatever_the_interleaving() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut coin = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state & 1 == 0
        };
        for len in (0..300).chain([1023, 1024, 1025, 20_430]) {
            for block in [1, 3, 256] {
                let ends = Ends::new(len, block);
                let (mut front, mut back) = (Vec::new(), Vec::new());
                // Ends chosen at random until one end finds nothing left; then the other too.
                loop {
                    let end = if coin() { End::Front } else { End::Back };
                    match ends.claim(end) {
                        Some(b) if end == End::Front => front.push(b),
                        Some(b) => back.push(b),
                        None => break,
                    }
                }
                assert_eq!(ends.claim(End::Front), None);
                assert_eq!(ends.claim(End::Back), None);
                assert_claims_cover(len, &front, &back);
            }
        }
    }

    #[test]
    fn one_end_alone_claims_everything_in_order() {
        let ends = Ends::new(1000, 256);
        let front: Vec<_> = std::iter::from_fn(|| ends.claim(End::Front)).collect();
        assert_eq!(front, [0..256, 256..512, 512..768, 768..1000]);
        let ends = Ends::new(1000, 256);
        let back: Vec<_> = std::iter::from_fn(|| ends.claim(End::Back)).collect();
        assert_eq!(back, [744..1000, 488..744, 232..488, 0..232]);
    }

    #[test]
    fn two_threads_claiming_at_once_cover_every_item_once() {
        for round in 0..200 {
            let len = 5_000 + round;
            let ends = Ends::new(len, 1 + round % 7);
            on_two_threads(
                "claims",
                |end| std::iter::from_fn(|| ends.claim(end)).collect::<Vec<_>>(),
                |front, back| {
                    let back = back.map_or(Ok(Vec::new()), |b| b);
                    assert_claims_cover(len, &front.unwrap(), &back.unwrap());
                },
            );
        }
    }

    #[test]
    fn jobs_each_run_once_by_whichever_thread_is_free() {
        for _ in 0..200 {
            let runs: Vec<AtomicUsize> = (0..5).map(|_| AtomicUsize::new(0)).collect();
            let jobs = Jobs::new(
                runs.iter()
                    .map(|n| -> Job<'_> {
                        Box::new(move || {
                            n.fetch_add(1, Ordering::Relaxed);
                        })
                    })
                    .collect(),
            );
            on_two_threads("jobs", |_| jobs.run(), |_, _| ());
            assert!(runs.iter().all(|n| n.load(Ordering::Relaxed) == 1));
        }
    }

    #[test]
    fn one_thread_alone_runs_every_job_in_order() {
        let order = Mutex::new(Vec::new());
        let order_ref = &order;
        let jobs = Jobs::new(
            (0..3)
                .map(|i| -> Job<'_> { Box::new(move || lock(order_ref).push(i)) })
                .collect(),
        );
        jobs.run();
        jobs.run();
        assert_eq!(*lock(&order), [0, 1, 2]);
    }

    #[test]
    fn a_handoff_waited_for_on_another_thread_sees_the_value() {
        // Given at once (seen while spinning), and after the spin (seen after sleeping).
        for delay in [Duration::ZERO, Signal::SPIN * 5] {
            let handoff = Handoff::new();
            let promise = handoff.promise();
            let seen = std::thread::scope(|scope| {
                let waiter = scope.spawn(|| handoff.wait().copied());
                std::thread::sleep(delay);
                promise.give(42);
                waiter.join().unwrap()
            });
            assert_eq!(seen, Some(42));
            assert_eq!(handoff.into_inner(), Some(42));
        }
    }

    #[test]
    fn a_promise_broken_by_a_panic_wakes_its_waiter_with_nothing() {
        let handoff: Handoff<u32> = Handoff::new();
        let promise = handoff.promise();
        let seen = std::thread::scope(|scope| {
            let waiter = scope.spawn(|| handoff.wait().copied());
            let giver = scope.spawn(move || {
                std::thread::sleep(Signal::SPIN * 2);
                let _promise = promise;
                panic!("a bug in the job");
            });
            assert!(giver.join().is_err());
            waiter.join().unwrap()
        });
        assert_eq!(seen, None);
    }

    #[test]
    fn a_panicking_job_leaves_no_thread_waiting_for_its_value() {
        // The job that gives the value panics on one thread; the other waits for the value.
        let handoff: Handoff<u32> = Handoff::new();
        let promise = handoff.promise();
        let jobs = Jobs::new(vec![Box::new(move || {
            let _promise = promise;
            panic!("a bug in the job");
        })]);
        on_two_threads(
            "panic",
            |_| {
                jobs.run();
                handoff.wait().copied()
            },
            |front, back| {
                // One thread ran the job and panicked; the other saw nothing given.
                let results = [front, back.unwrap()];
                assert!(results.contains(&Err(Panicked)));
                assert!(results.contains(&Ok(None)));
            },
        );
    }

    #[test]
    fn both_results_are_given_and_a_panic_on_either_thread_is_caught() {
        let (front, back) = on_two_threads(
            "both",
            |end| {
                // The back thread finishes long after the front.
                if end == End::Back {
                    std::thread::sleep(Signal::SPIN * 5);
                }
                end
            },
            |front, back| (front, back),
        );
        assert_eq!((front, back), (Ok(End::Front), Some(Ok(End::Back))));
        for panicking in [End::Front, End::Back] {
            let (front, back) = on_two_threads(
                "panic",
                |end| {
                    assert_ne!(end, panicking, "a bug on one thread");
                    end
                },
                |front, back| (front, back),
            );
            let back = back.unwrap();
            match panicking {
                End::Front => assert_eq!((front, back), (Err(Panicked), Ok(End::Back))),
                End::Back => assert_eq!((front, back), (Ok(End::Front), Err(Panicked))),
            }
        }
    }

    #[test]
    fn a_failed_job_stops_the_thread_spending_the_budget() {
        let budget = Budget::new(usize::MAX);
        on_two_threads(
            "stop",
            |end| match end {
                End::Front => {
                    // The job failed: the other's work is wasted.
                    std::thread::sleep(Signal::SPIN * 2);
                    budget.stop();
                    Refused::Stopped
                }
                End::Back => loop {
                    match budget.spend(1) {
                        Ok(_) => std::hint::spin_loop(),
                        Err(refused) => break refused,
                    }
                },
            },
            |_, back| assert_eq!(back, Some(Ok(Refused::Stopped))),
        );
    }

    #[test]
    fn the_budget_refuses_what_both_threads_spend_past_its_limit() {
        let budget = Budget::new(1000);
        assert_eq!(budget.spend(400), Ok(600));
        assert_eq!(budget.left(), 600);
        let results = on_two_threads(
            "budget",
            |_| budget.spend(350),
            |front, back| [front.unwrap(), back.unwrap().unwrap()],
        );
        // Whichever spent second went past the limit.
        assert!(results.contains(&Ok(250)), "{results:?}");
        assert!(results.contains(&Err(Refused::Over)), "{results:?}");
        assert_eq!(budget.left(), 0);
        budget.stop();
        assert!(budget.stopped());
    }

    #[test]
    fn locks_poisoned_by_a_panic_are_used_still() {
        let ends = Ends::new(10, 4);
        let poisoned = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let _claimed = ends.claimed.lock().unwrap();
                    panic!("a bug while claiming");
                })
                .join()
        });
        assert!(poisoned.is_err() && ends.claimed.is_poisoned());
        assert_eq!(ends.claim(End::Front), Some(0..4));
        assert_eq!(ends.claim(End::Back), Some(6..10));
        assert_eq!(ends.claim(End::Back), Some(4..6));

        let signal = Signal::default();
        let _ = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let _sleepers = signal.sleepers.lock().unwrap();
                    panic!("a bug while waiting");
                })
                .join()
        });
        assert!(signal.sleepers.is_poisoned());
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Signal::SPIN * 2);
                signal.raise();
            });
            signal.wait();
        });
    }
}
