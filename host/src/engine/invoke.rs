//! One invocation: a fresh `Store` with its limits, instantiation from the pre-instantiated
//! skill, the call, and an explanation of any failure a person can act on.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use joule_policy::{Limits, SkillGrants};
use wasmtime::{Store, Trap};

use super::{LoadedSkill, Runtime};
use crate::audit::AuditLog;
use crate::caps::SkillState;
use crate::caps::bindings::{Skill, SkillPre, joule::skill::types as wit};
use crate::inputs::Inputs;
use crate::report::LogLine;
use crate::untrusted::{Untrusted, terminal};

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
    pub stdout: Untrusted,
    pub stderr: Untrusted,
    pub host_calls: u64,
    /// Findings left out at the invocation's limits (the lowest-ranked).
    pub findings_dropped: usize,
    /// A limit the invocation reached without failing: what was dropped, how to raise it.
    pub warning: Option<String>,
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
        let mut store = self.store(&skill.descriptor.id, inputs, grants, audit, None);
        let skill = block_on(skill.pre.instantiate_async(&mut store))?;
        Ok(Instance {
            store,
            skill,
            _slot: slot,
        })
    }

    /// A fresh store for one invocation: its limits, its deadline, and the epoch deadline that
    /// interrupts its Wasm code at that time.
    fn store(
        &self,
        id: &str,
        inputs: Arc<Inputs>,
        grants: Arc<SkillGrants>,
        audit: bool,
        ends: Option<Instant>,
    ) -> Store<SkillState> {
        let mut state = SkillState::new(id, inputs, grants, audit);
        if let Some(ends) = ends {
            state.end_by(ends);
        }
        let ticks = deadline_ticks(state.deadline.saturating_duration_since(Instant::now()));
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
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
        let instantiated_and_called = async {
            let skill = pre.instantiate_async(&mut store).await?;
            call(&skill, &mut store).await
        };
        // The timer is made inside the engine's runtime, whose thread drives it.
        let called = block_on(async {
            tokio::time::timeout_at(deadline.into(), instantiated_and_called).await
        });
        let result = called.unwrap_or_else(|_elapsed| {
            let reason = store.data().overdue(Some("waiting in a host call"));
            Err(store.data_mut().stop(reason))
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
        let make = || self.store(name, Arc::new(Inputs::default()), grants, false, None);
        let described = self.call(pre, make, async |skill, store| {
            skill.call_describe(store).await
        });
        described
            .result
            .map_err(|e| self.explain(e, Some(described.store.data())))
    }

    /// Runs a skill once, until its deadline or `ends` (the run's), whichever comes first.
    /// Never panics and never returns early: a trap, a deadline, a memory cap
    /// or an error returned by the skill all become a [`Failure`] in the outcome.
    pub fn invoke(
        &self,
        skill: &LoadedSkill,
        inputs: Arc<Inputs>,
        grants: Arc<SkillGrants>,
        invocation: &wit::Invocation,
        audit: Option<&AuditLog>,
        ends: Option<Instant>,
    ) -> Outcome {
        let started = Instant::now();
        let limits = grants.limits.clone();
        let make = || self.store(&skill.descriptor.id, inputs, grants, audit.is_some(), ends);
        // Kept whole: its store must go before its pool slot (fields drop in order).
        let mut called = self.call(&skill.pre, make, async |instance, store| {
            instance.call_run(store, invocation).await
        });
        let duration = started.elapsed();
        let state = called.store.data();
        // `stopped`: the host ended the run (a trap, a deadline, a cap, a limit), as opposed to
        // the skill returning, with findings or with its own error.
        let mut dropped = (0, None);
        let (result, stopped) = match called.result {
            Ok(Ok(findings)) => {
                let kept = within_limits(findings, &limits, &state.memory);
                dropped = (kept.dropped, kept.warning);
                (Ok(kept.findings), false)
            }
            Ok(Err(message)) => (
                Err(Failure {
                    reason: format!("the skill reported an error: {message}"),
                }),
                false,
            ),
            Err(e) => (Err(self.explain(e, Some(state))), true),
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
                Ok(_) => dropped.1.as_deref(),
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
            findings_dropped: dropped.0,
            warning: dropped.1,
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

/// The findings an invocation keeps within its limits (count, total size, and the memory
/// account: the findings, copied out of the guest, are host memory made for it). Past a limit
/// the highest-ranked findings that fit are kept and the rest counted, with the reason and the
/// flag that raises the limit: one limit reached never costs every finding made.
fn within_limits(
    findings: Vec<wit::Finding>,
    limits: &Limits,
    memory: &crate::caps::MemoryCap,
) -> Kept {
    let bytes: usize = findings.iter().map(finding_size).sum();
    let room = memory.room();
    if findings.len() <= limits.max_findings && bytes <= limits.findings_bytes && bytes <= room {
        return Kept {
            findings,
            dropped: 0,
            warning: None,
        };
    }
    let given = findings.len();
    let mut ranked: Vec<((f64, u8, f64), wit::Finding)> = findings
        .into_iter()
        .map(|f| {
            let key = crate::findings::rank_key(
                f.kind.into(),
                f.impact.sample_share,
                f.impact.relative_change,
                f.confidence,
            );
            (key, f)
        })
        .collect();
    // Best first; a stable sort keeps the skill's own order among equals.
    ranked.sort_by(|(a, _), (b, _)| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(b.2.total_cmp(&a.2))
    });
    let (mut count_hit, mut size_hit, mut memory_hit) = (false, false, false);
    let mut kept = Vec::new();
    let mut held = 0usize;
    for (_, f) in ranked {
        if kept.len() >= limits.max_findings {
            count_hit = true;
            break;
        }
        let size = finding_size(&f);
        if held + size > limits.findings_bytes {
            size_hit = true;
            continue;
        }
        if held + size > room {
            memory_hit = true;
            continue;
        }
        held += size;
        kept.push(f);
    }
    let mut why = Vec::new();
    if count_hit {
        why.push(format!(
            "the limit is {} findings an invocation (raise it with --max-skill-findings, or \
             `findings` in the policy's limits)",
            limits.max_findings
        ));
    }
    if size_hit {
        why.push(format!(
            "the limit is {} KiB of findings an invocation (raise it with \
             --max-skill-findings-kib, or `findings_kib` in the policy's limits)",
            limits.findings_bytes >> 10
        ));
    }
    if memory_hit {
        why.push(format!(
            "the rest did not fit in the {:.1} MiB left in its memory account (raise it with \
             --memory, or `memory_mib` in the policy's limits)",
            room as f64 / (1 << 20) as f64
        ));
    }
    let dropped = given - kept.len();
    Kept {
        warning: Some(format!(
            "findings limit reached: kept the {} highest-ranked of {given} findings, dropped \
             {dropped}: {}",
            kept.len(),
            why.join("; ")
        )),
        findings: kept,
        dropped,
    }
}

/// What [`within_limits`] kept of an invocation's findings.
struct Kept {
    findings: Vec<wit::Finding>,
    /// Findings left out, the lowest-ranked.
    dropped: usize,
    /// Which limit was reached and how to raise it, when findings were dropped.
    warning: Option<String>,
}

/// The bytes of text a finding carries.
fn finding_size(f: &wit::Finding) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    f.rule.len()
        + f.title.len()
        + f.message.len()
        + f.locations
            .iter()
            .map(|l| opt(&l.tree) + opt(&l.file) + opt(&l.function) + 8)
            .sum::<usize>()
        + f.evidence
            .iter()
            .map(|m| m.name.len() + m.unit.len() + 8)
            .sum::<usize>()
        + f.edits
            .iter()
            .map(|e| opt(&e.tree) + e.file.len() + e.replacement.len() + 16)
            .sum::<usize>()
        + opt(&f.series)
        + opt(&f.at)
        + f.labels
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
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
    use super::{Limits, panic_message, wit, within_limits};
    use crate::caps::MemoryCap;

    fn finding(
        kind: wit::FindingKind,
        share: Option<f64>,
        change: Option<f64>,
        title: &str,
    ) -> wit::Finding {
        wit::Finding {
            kind,
            rule: "r".into(),
            title: title.into(),
            message: String::new(),
            locations: Vec::new(),
            impact: wit::Impact {
                sample_share: share,
                value: None,
                unit: None,
                relative_change: change,
            },
            confidence: 1.0,
            evidence: Vec::new(),
            edits: Vec::new(),
            series: None,
            at: None,
            labels: Vec::new(),
        }
    }

    fn titles(findings: &[wit::Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.title.as_str()).collect()
    }

    #[test]
    fn past_the_findings_limit_the_highest_ranked_are_kept() {
        use wit::FindingKind::{Info, Opportunity, Regression};
        let findings = vec![
            finding(Opportunity, Some(0.01), None, "small"),
            finding(Regression, None, Some(0.001), "tiny step"),
            finding(Opportunity, Some(0.30), None, "big"),
            finding(Info, Some(0.30), None, "hot, information"),
            finding(Regression, None, Some(0.05), "large step"),
            finding(Opportunity, Some(f64::NAN), None, "no share"),
        ];
        let limits = Limits {
            max_findings: 4,
            ..Limits::default()
        };
        let kept = within_limits(findings.clone(), &limits, &MemoryCap::new(256 << 20));
        // Share times confidence (information at half), then regressions by the size of
        // their change.
        assert_eq!(
            titles(&kept.findings),
            ["big", "hot, information", "small", "large step"]
        );
        assert_eq!(kept.dropped, 2);
        let warning = kept.warning.unwrap();
        assert!(
            warning.contains("kept the 4 highest-ranked of 6"),
            "{warning}"
        );
        assert!(warning.contains("--max-skill-findings"), "{warning}");

        // Within the limits, everything, in the skill's order, and no warning.
        let all = within_limits(
            findings.clone(),
            &Limits::default(),
            &MemoryCap::new(256 << 20),
        );
        assert_eq!(titles(&all.findings), titles(&findings));
        assert_eq!((all.dropped, all.warning), (0, None));
    }

    #[test]
    fn past_the_size_limit_the_best_that_fit_are_kept() {
        use wit::FindingKind::Opportunity;
        let mut huge = finding(Opportunity, Some(0.9), None, "huge");
        huge.message = "x".repeat(64 << 10);
        let findings = vec![
            finding(Opportunity, Some(0.1), None, "a"),
            huge,
            finding(Opportunity, Some(0.2), None, "b"),
        ];
        let limits = Limits {
            findings_bytes: 16 << 10,
            ..Limits::default()
        };
        let kept = within_limits(findings, &limits, &MemoryCap::new(256 << 20));
        assert_eq!(titles(&kept.findings), ["b", "a"]);
        assert_eq!(kept.dropped, 1);
        assert!(kept.warning.unwrap().contains("--max-skill-findings-kib"));
        // The memory account bounds them the same way.
        let findings = vec![finding(Opportunity, Some(0.1), None, "a")];
        let kept = within_limits(findings, &Limits::default(), &MemoryCap::new(0));
        assert_eq!((kept.findings.len(), kept.dropped), (0, 1));
        assert!(kept.warning.unwrap().contains("--memory"));
    }

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
