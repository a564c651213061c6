//! One invocation: a fresh `Store` with its limits, instantiation from the pre-instantiated
//! skill, the call, and an explanation of any failure a person can act on.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use joule_policy::{Limits, SkillGrants};
use wasmtime::{Store, Trap, UpdateDeadline};

use super::{LoadedSkill, Runtime};
use crate::audit::AuditLog;
use crate::caps::SkillState;
use crate::caps::bindings::{Skill, SkillPre, joule::skill::types as wit};
use crate::caps::findings::within_limits;
use crate::inputs::Inputs;
use crate::report::LogLine;
use crate::untrusted::{Untrusted, terminal};

/// Why an invocation did not return findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
}

/// What besides its own deadline ends an invocation: the run's deadline, and the run's
/// cancellation.
#[derive(Clone, Debug, Default)]
pub struct Until {
    pub ends: Option<Instant>,
    pub cancel: Option<tokio_util::sync::CancellationToken>,
}

/// Why a call was cut short while it waited in a host call.
enum Cut {
    Deadline,
    Cancelled,
}

/// Epoch ticks between checks of the deadline and of cancellation (50 ms).
const CHECK_TICKS: u64 = 5;

/// Everything one invocation produced, success or not.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<Vec<wit::Finding>, Failure>,
    pub duration: Duration,
    pub log: Vec<LogLine>,
    pub log_dropped: u64,
    pub stdout: Untrusted,
    pub stderr: Untrusted,
    pub host_calls: u64,
    /// Findings left out at the invocation's limits (the lowest-ranked).
    pub findings_dropped: usize,
    /// A limit the invocation reached without failing: what was dropped, how to raise it.
    pub warning: Option<String>,
    /// What a failed invocation reported before it failed (`findings.report`), kept.
    pub partial: Vec<wit::Finding>,
}

impl Outcome {
    /// An invocation that failed before the skill ran (or whose host thread was lost).
    pub fn failed(reason: String, duration: Duration) -> Self {
        Outcome {
            result: Err(Failure { reason }),
            duration,
            log: Vec::new(),
            log_dropped: 0,
            stdout: Untrusted::default(),
            stderr: Untrusted::default(),
            host_calls: 0,
            findings_dropped: 0,
            warning: None,
            partial: Vec::new(),
        }
    }
}

/// An instantiated skill and its store, ready for calls. Dropping it frees the pool slot.
pub struct Instance<'a> {
    pub store: Store<SkillState>,
    pub skill: Skill,
    _slot: super::SlotGuard<'a>,
}

/// What [`Runtime::call`] gave: the store, what the call returned, and the pool slot the store's
/// instance holds. Fields drop in order, the store before its slot: keep the value whole (or
/// move only `result` out) so no other invocation takes the slot while the store lives.
struct Called<'a, R> {
    store: Store<SkillState>,
    result: wasmtime::Result<R>,
    _slot: super::SlotGuard<'a>,
}

impl Runtime {
    /// Instantiates a skill in a fresh store with the limits of its grants.
    pub fn instantiate(
        &self,
        skill: &LoadedSkill,
        inputs: Arc<Inputs>,
        grants: Arc<SkillGrants>,
        audit: bool,
    ) -> wasmtime::Result<Instance<'_>> {
        let slot = self.slots.acquire();
        let mut store = self.store(
            &skill.descriptor.id,
            inputs,
            grants,
            audit,
            &Until::default(),
        );
        let skill = block_on(skill.pre.instantiate_async(&mut store))?;
        Ok(Instance {
            store,
            skill,
            _slot: slot,
        })
    }

    /// A fresh store for one invocation: its limits, its deadline, and the epoch callback that
    /// interrupts its Wasm code at that time or once its run is cancelled.
    fn store(
        &self,
        id: &str,
        inputs: Arc<Inputs>,
        grants: Arc<SkillGrants>,
        audit: bool,
        until: &Until,
    ) -> Store<SkillState> {
        let mut state = SkillState::new(id, inputs, grants, audit);
        if let Some(ends) = until.ends {
            state.end_by(ends);
        }
        state.cancel = until.cancel.clone();
        let left = state.deadline.saturating_duration_since(Instant::now());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(deadline_ticks(left).min(CHECK_TICKS));
        // Every few ticks: stop a cancelled run, trap at the deadline, or check again.
        store.epoch_deadline_callback(|mut store| {
            let state = store.data_mut();
            state.check_cancelled()?;
            let left = state.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Continue(
                deadline_ticks(left).min(CHECK_TICKS),
            ))
        });
        store
    }

    /// Instantiates `pre` in the store `make` makes and calls `call` on it, all within the
    /// store's deadline: Wasm code is interrupted by the epoch, and a wait inside a host call
    /// (a WASI sleep or poll, which suspends the call's future) is cancelled by a timer at the
    /// same instant. Returns the store, for what the skill left in it, and what the call gave,
    /// with the pool slot the store's instance holds.
    fn call<R>(
        &self,
        pre: &SkillPre<SkillState>,
        make: impl FnOnce() -> Store<SkillState>,
        call: impl AsyncFnOnce(&Skill, &mut Store<SkillState>) -> wasmtime::Result<R>,
    ) -> Called<'_, R> {
        // The deadline starts once a pool slot is free, as the store is made.
        let slot = self.slots.acquire();
        let mut store = make();
        let deadline = store.data().deadline;
        let cancel = store.data().cancel.clone();
        let instantiated_and_called = async {
            let skill = pre.instantiate_async(&mut store).await?;
            call(&skill, &mut store).await
        };
        // The timer is made inside the engine's runtime, whose thread drives it.
        let called = block_on(async {
            let cancelled = async {
                match &cancel {
                    Some(cancel) => cancel.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                called = tokio::time::timeout_at(deadline.into(), instantiated_and_called) => {
                    called.map_err(|_elapsed| Cut::Deadline)
                }
                () = cancelled => Err(Cut::Cancelled),
            }
        });
        let result = called.unwrap_or_else(|cut| {
            let state = store.data_mut();
            match cut {
                Cut::Deadline => {
                    let reason = state.overdue(Some("waiting in a host call"));
                    Err(state.stop(reason))
                }
                Cut::Cancelled => Err(state.stop(crate::caps::CANCELLED.to_string())),
            }
        });
        Called {
            store,
            result,
            _slot: slot,
        }
    }

    /// Calls `describe` with nothing granted, under its own fixed limits
    /// ([`Limits::for_describe`]), whatever the policy or the command line give a run; `name`
    /// is what to call the component meanwhile.
    pub(crate) fn describe(
        &self,
        pre: &SkillPre<SkillState>,
        name: &str,
    ) -> Result<wit::Descriptor, Failure> {
        let limits = Limits::for_describe(self.limits.memory_bytes);
        let grants = Arc::new(SkillGrants::open(name, limits));
        let make = || {
            let until = Until::default();
            self.store(name, Arc::new(Inputs::default()), grants, false, &until)
        };
        let described = self.call(pre, make, async |skill, store| {
            skill.call_describe(store).await
        });
        described
            .result
            .map_err(|e| self.explain(e, Some(described.store.data())))
    }

    /// Runs a skill once, until its deadline or `until` (the run's end or cancellation),
    /// whichever comes first.
    /// Never panics and never returns early: a trap, a deadline, a memory cap
    /// or an error returned by the skill all become a [`Failure`] in the outcome.
    pub fn invoke(
        &self,
        skill: &LoadedSkill,
        inputs: Arc<Inputs>,
        grants: Arc<SkillGrants>,
        invocation: &wit::Invocation,
        audit: Option<&AuditLog>,
        until: &Until,
    ) -> Outcome {
        let started = Instant::now();
        let limits = grants.limits.clone();
        let make = || self.store(&skill.descriptor.id, inputs, grants, audit.is_some(), until);
        // Kept whole: its store must go before its pool slot (fields drop in order).
        let mut called = self.call(&skill.pre, make, async |instance, store| {
            instance.call_run(store, invocation).await
        });
        let duration = started.elapsed();
        // What the skill reported while it ran (`findings.report`), within its limits.
        let state = called.store.data_mut();
        let reported = std::mem::take(&mut state.reported);
        state.memory.release(reported.bytes);
        let state = called.store.data();
        // `stopped`: the host ended the run (a trap, a deadline, a cap, a limit), as opposed to
        // the skill returning, with findings or with its own error.
        let (result, stopped) = match called.result {
            Ok(Ok(findings)) => (Ok(findings), false),
            Ok(Err(message)) => (
                Err(Failure {
                    reason: format!("the skill reported an error: {message}"),
                }),
                false,
            ),
            Err(e) => (Err(self.explain(e, Some(state))), true),
        };
        // The findings reported first, then those returned; a run that failed keeps those it
        // reported before it failed.
        let mut all = reported.findings;
        let result = result.map(|returned| all.extend(returned));
        let kept = within_limits(all, &limits, state.memory.room());
        let dropped = reported.dropped + kept.dropped;
        let warning = kept.warning.or(reported.warning);
        let (result, partial) = match result {
            Ok(()) => (Ok(kept.findings), Vec::new()),
            Err(failure) => (Err(failure), kept.findings),
        };
        let state = called.store.data_mut();
        if let Some(log) = audit {
            if let Some(buffer) = state.audit.take() {
                log.write_calls(&skill.descriptor.id, &skill.digest, &buffer);
            }
            let trigger = match &invocation.trigger {
                wit::Trigger::Scan => "scan",
                wit::Trigger::Finding(_) => "finding",
            };
            // A failure's reason, or the limit an invocation that returned reached.
            let reason = match &result {
                Err(f) => Some(f.reason.as_str()),
                Ok(_) => warning.as_deref(),
            };
            log.write_run(
                &skill.descriptor.id,
                &skill.digest,
                trigger,
                stopped,
                reason,
                duration,
            );
        }
        let stdout = String::from_utf8_lossy(&state.stdout.contents()).into_owned();
        let stderr = String::from_utf8_lossy(&state.stderr.contents()).into_owned();
        // What a skill prints goes to the host log as well as into its run record: one log line
        // for each of its lines, with nothing in it the terminal would act on.
        for line in stdout.lines() {
            tracing::info!(skill = %skill.descriptor.id, "stdout: {}", terminal::line(line));
        }
        for line in stderr.lines() {
            tracing::info!(skill = %skill.descriptor.id, "stderr: {}", terminal::line(line));
        }
        Outcome {
            result,
            duration,
            log: std::mem::take(&mut state.log.lines),
            log_dropped: state.log.dropped,
            stdout: stdout.into(),
            stderr: stderr.into(),
            host_calls: state.calls,
            findings_dropped: dropped,
            warning,
            partial,
        }
    }

    /// Turns a Wasmtime error into a reason: which limit was hit, the panic message, or the trap.
    fn explain(&self, error: wasmtime::Error, state: Option<&SkillState>) -> Failure {
        if let Some(reason) = state.and_then(|s| s.limit_hit.clone()) {
            return Failure { reason };
        }
        if error.chain().any(|c| {
            c.downcast_ref::<wasmtime::component::ResourceTableError>()
                .is_some()
        }) {
            return Failure {
                reason: format!(
                    "invalid resource handle: the skill used a handle the host never gave it or had already dropped ({error})"
                ),
            };
        }
        if let Some(reason) = state.and_then(|s| s.memory.explain()) {
            return Failure { reason };
        }
        let reason = match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => match state {
                Some(state) => state.overdue(None),
                None => format!(
                    "deadline exceeded: still running after {:.1} s",
                    self.limits.deadline.as_secs_f64()
                ),
            },
            Some(Trap::StackOverflow) => "stack overflow".to_string(),
            Some(trap) => {
                let stderr = state
                    .map(|s| String::from_utf8_lossy(&s.stderr.contents()).into_owned())
                    .unwrap_or_default();
                match panic_message(&stderr) {
                    Some(message) => format!("panicked: {message}"),
                    None => format!("trapped: {trap}"),
                }
            }
            None => format!("{error:#}"),
        };
        Failure { reason }
    }
}

/// Runs a future to completion on the calling thread, in the engine's own tokio runtime: its
/// one thread drives the timers of deadlines and of WASI's clocks, whatever runtime (if any)
/// the caller is in.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static TIMERS: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("joule-timers")
            .enable_time()
            .build()
            // Only a process out of threads or file descriptors gets here, before any skill ran.
            .expect("cannot start the engine's timer thread")
    });
    TIMERS.block_on(future)
}

/// Epoch ticks that make up `deadline` (at least one, plus one for the tick in progress).
fn deadline_ticks(deadline: std::time::Duration) -> u64 {
    (deadline.as_millis() / super::EPOCH_TICK.as_millis()).max(1) as u64 + 1
}

/// The message of a Rust panic as the standard library prints it to stderr:
/// `thread '...' panicked at src/lib.rs:3:5:\nmessage\nnote: ...`.
fn panic_message(stderr: &str) -> Option<String> {
    let at = stderr.rfind("panicked at ")?;
    let rest = &stderr[at + "panicked at ".len()..];
    let (place, message) = rest.split_once('\n').unwrap_or((rest, ""));
    let message: Vec<&str> = message
        .lines()
        .take_while(|l| !l.starts_with("note: "))
        .collect();
    let place = place.trim_end_matches(':');
    Some(format!("{} (at {place})", message.join("\n").trim()))
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn reads_the_panic_message_from_stderr() {
        let stderr = "thread '<unnamed>' panicked at skills/x/src/lib.rs:12:9:\nindex out of bounds: the len is 0 but the index is 3\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).unwrap(),
            "index out of bounds: the len is 0 but the index is 3 (at skills/x/src/lib.rs:12:9)"
        );
        assert_eq!(panic_message("nothing here"), None);
    }
}
