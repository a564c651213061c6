//! One invocation: a fresh `Store` with its limits, instantiation from the pre-instantiated
//! skill, the call, and an explanation of any failure a person can act on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use super::{LoadedSkill, Runtime};
use crate::caps::bindings::{Skill, joule::skill::types as wit};
use crate::caps::{LogLine, SkillState};
use crate::inputs::Inputs;

/// Why an invocation did not return findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
}

/// Everything one invocation produced, success or not.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<Vec<wit::Finding>, Failure>,
    pub duration: Duration,
    pub log: Vec<LogLine>,
    pub log_dropped: u64,
    pub stdout: String,
    pub stderr: String,
    pub host_calls: u64,
}

impl Outcome {
    /// An invocation that failed before the skill ran (or whose host thread was lost).
    pub fn failed(reason: String, duration: Duration) -> Self {
        Outcome {
            result: Err(Failure { reason }),
            duration,
            log: Vec::new(),
            log_dropped: 0,
            stdout: String::new(),
            stderr: String::new(),
            host_calls: 0,
        }
    }
}

/// An instantiated skill and its store, ready for calls. Dropping it frees the pool slot.
pub struct Instance<'a> {
    pub store: Store<SkillState>,
    pub skill: Skill,
    _slot: super::SlotGuard<'a>,
}

impl Runtime {
    /// Instantiates a skill in a fresh store with the runtime's limits.
    pub fn instantiate(
        &self,
        skill: &LoadedSkill,
        inputs: Arc<Inputs>,
    ) -> wasmtime::Result<Instance<'_>> {
        let slot = self.slots.acquire();
        let state = SkillState::new(&skill.descriptor.id, inputs, &self.limits);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(self.deadline_ticks());
        store.epoch_deadline_trap();
        let instance = skill.pre.instantiate(&mut store)?;
        Ok(Instance {
            store,
            skill: instance,
            _slot: slot,
        })
    }

    pub(crate) fn describe(
        &self,
        skill: &LoadedSkill,
        inputs: Arc<Inputs>,
    ) -> Result<wit::Descriptor, Failure> {
        let mut instance = self
            .instantiate(skill, inputs)
            .map_err(|e| self.explain(e, None))?;
        instance
            .skill
            .call_describe(&mut instance.store)
            .map_err(|e| self.explain(e, Some(instance.store.data())))
    }

    /// Runs a skill once. Never panics and never returns early: a trap, a deadline, a memory cap
    /// or an error returned by the skill all become a [`Failure`] in the outcome.
    pub fn invoke(
        &self,
        skill: &LoadedSkill,
        inputs: Arc<Inputs>,
        invocation: &wit::Invocation,
    ) -> Outcome {
        let started = Instant::now();
        let mut instance = match self.instantiate(skill, inputs) {
            Ok(i) => i,
            Err(e) => return Outcome::failed(self.explain(e, None).reason, started.elapsed()),
        };
        let called = instance.skill.call_run(&mut instance.store, invocation);
        let duration = started.elapsed();
        let state = instance.store.data();
        let result = match called {
            Ok(Ok(findings)) => Ok(findings),
            Ok(Err(message)) => Err(Failure {
                reason: format!("the skill reported an error: {message}"),
            }),
            Err(e) => Err(self.explain(e, Some(state))),
        };
        let state = instance.store.data_mut();
        let stdout = String::from_utf8_lossy(&state.stdout.contents()).into_owned();
        let stderr = String::from_utf8_lossy(&state.stderr.contents()).into_owned();
        // What a skill prints goes to the host log as well as into its run record.
        for line in stdout.lines() {
            tracing::info!(skill = %skill.descriptor.id, "stdout: {line}");
        }
        for line in stderr.lines() {
            tracing::info!(skill = %skill.descriptor.id, "stderr: {line}");
        }
        Outcome {
            result,
            duration,
            log: std::mem::take(&mut state.log.lines),
            log_dropped: state.log.dropped,
            stdout,
            stderr,
            host_calls: state.calls,
        }
    }

    /// Turns a Wasmtime error into a reason: which limit was hit, the panic message, or the trap.
    fn explain(&self, error: wasmtime::Error, state: Option<&SkillState>) -> Failure {
        let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
        if let Some(state) = state
            && let Some(asked) = state.memory.exceeded
        {
            return Failure {
                reason: format!(
                    "memory cap exceeded: the skill asked to grow its memory to {:.1} MiB; the cap is {:.1} MiB",
                    mib(asked),
                    mib(state.memory.limit)
                ),
            };
        }
        let reason = match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!(
                "deadline exceeded: still running after {:.1} s",
                self.limits.deadline.as_secs_f64()
            ),
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
