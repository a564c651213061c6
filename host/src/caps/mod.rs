//! The capabilities a skill can import, one module per WIT interface, and the per-store state
//! they share.
//!
//! Bindings are generated from `wit/` by `bindgen!`; each module here implements exactly the
//! host trait of one interface. A skill reaches data only through these calls: there are no
//! WASI preopens, no environment and no network (the WASI imports Rust's `std` brings are wired
//! to closed or captured streams).

mod account;
pub mod findings;
mod history;
mod log;
mod metrics;
mod profiles;
mod source;
pub(crate) mod types;

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use self::account::{HostCost, RegexBudget};
pub use self::history::RepoHandle;
pub use self::log::LogSink;
pub use self::metrics::MetricSetHandle;
pub use self::profiles::{ProfileHandle, StackCursor};
pub use self::source::TreeHandle;

use std::time::Instant;

use joule_policy::SkillGrants;

use crate::audit::{Buffer, Op, Record, Target};
use crate::inputs::Inputs;

/// Generated bindings for the `skill` world.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "skill",
        with: {
            "joule:skill/profiles.profile": super::ProfileHandle,
            "joule:skill/profiles.stack-cursor": super::StackCursor,
            "joule:skill/source.tree": super::TreeHandle,
            "joule:skill/metrics.metric-set": super::MetricSetHandle,
            "joule:skill/history.repo": super::RepoHandle,
        },
        imports: { default: trappable },
        // Called as futures so that the invocation's deadline can cancel a skill blocked in a
        // WASI call (a sleep, a pollable waited on): see `engine::invoke`.
        exports: { default: async },
    });
}

pub use bindings::joule::skill::types::{CallError, ErrorCode};

/// How many bytes of stdout and of stderr a skill may write per invocation. Past it the write
/// traps, and the run is reported failed with that reason.
pub const STDIO_CAPACITY: usize = 1 << 20;

/// The most random bytes one WASI call returns.
pub const MAX_RANDOM_BYTES: u64 = 64 << 10;

/// Resource-table entries beyond the handle limit, for WASI's streams and pollables.
pub const WASI_TABLE_HEADROOM: usize = 1024;

/// Everything one invocation's `Store` holds.
pub struct SkillState {
    pub skill_id: String,
    pub inputs: Arc<Inputs>,
    pub table: ResourceTable,
    wasi: WasiCtx,
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
    pub log: LogSink,
    pub memory: MemoryCap,
    /// What the policy lets this skill do and within which limits.
    pub grants: Arc<SkillGrants>,
    /// Host calls made.
    pub calls: u64,
    /// Bytes host calls returned.
    pub host_bytes: u64,
    /// Resource handles the skill holds.
    pub handles: usize,
    /// The limit that stopped the skill, when one did.
    pub limit_hit: Option<String>,
    /// When the invocation must end; long host calls check it too.
    pub deadline: Instant,
    /// Whether `deadline` is the run's, which comes before the invocation's own would.
    pub run_deadline: bool,
    /// The run's cancellation (an agent's client cancelled the call, or went away): the
    /// invocation stops at the next epoch check or wait once it is cancelled.
    pub cancel: Option<tokio_util::sync::CancellationToken>,
    /// Host calls recorded for the audit log, when there is one.
    pub audit: Option<Buffer>,
    /// Findings reported before `run` returned (`findings.report`).
    pub reported: findings::Reported,
    /// The operation of the host call in progress, for a refusal recorded by [`Self::stop`].
    op: Op,
}

/// Why a skill whose run was cancelled stopped.
pub const CANCELLED: &str = "cancelled: the run was cancelled (the client cancelled the call, disconnected, or the operator interrupted it)";

impl SkillState {
    /// Starts a host call: counts it, and stops the skill past its host-call limit. Returns the
    /// start time when the call is being recorded for the audit log.
    #[inline]
    pub fn begin(&mut self, op: Op) -> wasmtime::Result<Option<u64>> {
        self.calls += 1;
        self.op = op;
        if self.calls > self.grants.limits.host_calls {
            return Err(self.stop(format!(
                "host-call limit exceeded: more than {} calls",
                self.grants.limits.host_calls
            )));
        }
        Ok(self.audit.as_ref().map(|_| crate::audit::now_ns()))
    }

    /// Ends a host call: charges what it returns against the host-call data limit and records
    /// it for the audit log (`resource` is only evaluated when there is one). A call that
    /// takes the skill past the data limit is recorded as denied, and stops the skill.
    #[inline]
    pub fn end(
        &mut self,
        started: Option<u64>,
        op: Op,
        resource: impl FnOnce() -> Target,
        bytes: u64,
        denied: Option<&str>,
    ) -> wasmtime::Result<()> {
        self.host_bytes = self.host_bytes.saturating_add(bytes);
        let over = (self.host_bytes > self.grants.limits.host_call_bytes).then(|| {
            format!(
                "host-call data limit exceeded: host calls returned more than {} MiB",
                self.grants.limits.host_call_bytes >> 20
            )
        });
        let mut kept = 0;
        if let (Some(audit), Some(at_ns)) = (&mut self.audit, started) {
            kept = audit.push(Record {
                at_ns,
                op,
                resource: resource(),
                bytes,
                denied: over.as_deref().or(denied).map(Into::into),
                duration_ns: crate::audit::now_ns().saturating_sub(at_ns),
            });
        }
        match over {
            Some(reason) => Err(self.halt(reason)),
            None if kept > 0 => self.audit_charged(kept),
            None => Ok(()),
        }
    }

    /// Stops the skill in the middle of a host call for a limit: records the refused call for
    /// the audit log and returns the error that stops the skill.
    pub(crate) fn stop(&mut self, reason: String) -> wasmtime::Error {
        if let Some(audit) = &mut self.audit {
            audit.push(Record {
                at_ns: crate::audit::now_ns(),
                op: self.op,
                resource: Target::None,
                bytes: 0,
                denied: Some(reason.as_str().into()),
                duration_ns: 0,
            });
        }
        self.halt(reason)
    }

    /// Ends the invocation at `ends` (the run's deadline) when that comes before its own.
    pub fn end_by(&mut self, ends: Instant) {
        if ends < self.deadline {
            self.deadline = ends;
            self.run_deadline = true;
        }
    }

    /// Stops the skill if its run was cancelled.
    pub(crate) fn check_cancelled(&mut self) -> wasmtime::Result<()> {
        match &self.cancel {
            Some(cancel) if cancel.is_cancelled() => Err(self.stop(CANCELLED.to_string())),
            _ => Ok(()),
        }
    }

    /// Why a skill still running at its deadline was stopped; `place` says where it was (in a
    /// search, waiting in a host call, ...), when it helps.
    pub fn overdue(&self, place: Option<&str>) -> String {
        let place = place.map(|p| format!(" ({p})")).unwrap_or_default();
        if self.run_deadline {
            "deadline exceeded: the run's deadline came{place}; raise it with --run-timeout"
                .to_string()
        } else {
            format!(
                "deadline exceeded: still running after {:.1} s{place}",
                self.grants.limits.deadline.as_secs_f64()
            )
        }
    }

    /// Remembers the limit that stopped the skill, and makes the error that stops it.
    fn halt(&mut self, reason: String) -> wasmtime::Error {
        self.limit_hit.get_or_insert(reason.clone());
        wasmtime::Error::msg(reason)
    }

    /// Puts a resource in the table, within the handle limit, charging what it keeps alive in
    /// the host to the skill's memory account.
    pub(crate) fn push_handle<T: HostCost + Send + 'static>(
        &mut self,
        value: T,
    ) -> wasmtime::Result<wasmtime::component::Resource<T>> {
        if self.handles >= self.grants.limits.handles {
            return Err(self.stop(format!(
                "handle limit exceeded: more than {} resource handles open",
                self.grants.limits.handles
            )));
        }
        self.charge(account::handle_cost(&value), T::WHAT)?;
        self.handles += 1;
        Ok(self.table.push(value)?)
    }

    /// Removes a resource the skill dropped, and gives back what it was charged.
    pub(crate) fn drop_handle<T: HostCost + 'static>(
        &mut self,
        handle: wasmtime::component::Resource<T>,
    ) -> wasmtime::Result<T> {
        let value = self.table.delete(handle)?;
        self.handles = self.handles.saturating_sub(1);
        self.release(account::handle_cost(&value));
        Ok(value)
    }

    pub fn new(skill_id: &str, inputs: Arc<Inputs>, grants: Arc<SkillGrants>, audit: bool) -> Self {
        let limits = &grants.limits;
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        // Closed stdin, no arguments, no environment, no preopened directories, no sockets.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            // Random bytes are free to ask for; keep each answer small.
            .max_random_size(MAX_RANDOM_BYTES)
            .build();
        // WASI's own resources (streams, pollables) share the table with Joule's handles;
        // the handle limit bounds Joule's, this bounds the table as a whole.
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.handles.saturating_add(WASI_TABLE_HEADROOM));
        SkillState {
            skill_id: skill_id.to_string(),
            inputs,
            table,
            wasi,
            stdout,
            stderr,
            log: LogSink::new(skill_id, limits.log_bytes),
            memory: MemoryCap::new(limits.memory_bytes),
            deadline: Instant::now() + limits.deadline,
            run_deadline: false,
            cancel: None,
            grants,
            calls: 0,
            host_bytes: 0,
            handles: 0,
            limit_hit: None,
            audit: audit.then(Buffer::default),
            reported: findings::Reported::default(),
            op: Op::Log,
        }
    }
}

impl WasiView for SkillState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::joule::skill::types::Host for SkillState {}

/// Caps a store's linear memories and tables, and remembers whether the cap was what stopped
/// the guest so its failure can be explained.
///
/// It is also the invocation's memory account: `linear` (the store's linear memories, summed)
/// plus `host` (what the host holds or builds on the skill's behalf, see [`account`]) may not
/// pass `limit`, whichever of the two grows.
pub struct MemoryCap {
    pub limit: usize,
    /// The size a memory asked to grow to when the cap refused it.
    pub exceeded: Option<usize>,
    /// Bytes of linear memory the store's memories hold, summed.
    pub linear: usize,
    /// Bytes of host memory charged to the skill and not yet released.
    pub host: usize,
    /// The most `linear + host` reached, for tests and reports.
    pub peak: usize,
}

impl MemoryCap {
    pub(crate) fn new(limit: usize) -> Self {
        MemoryCap {
            limit,
            exceeded: None,
            linear: 0,
            host: 0,
            peak: 0,
        }
    }
}

/// Table elements a store may hold (function references; Rust skills use a few thousand).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The other memories' bytes, this one's new size, and what the host holds for the skill.
        let others = self.linear.saturating_sub(current);
        let total = others.saturating_add(desired).saturating_add(self.host);
        if total > self.limit {
            self.exceeded = Some(desired);
            return Ok(false);
        }
        self.linear = others.saturating_add(desired);
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        64
    }
}

/// Adds every import a skill may have to `linker`: Joule's interfaces and the WASI ones.
///
/// WASI's are the async ones: a call that waits (a sleep, `poll`, a pollable's `block`, a
/// blocking stream operation) suspends the invocation's future instead of its thread, so the
/// deadline that the invocation runs under cancels it (`engine::invoke`). Joule's own calls
/// are synchronous and check that deadline where they can be long.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<SkillState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    bindings::Skill::add_to_linker::<SkillState, wasmtime::component::HasSelf<SkillState>>(
        linker,
        |state| state,
    )?;
    Ok(())
}

pub(crate) fn call_error(code: ErrorCode, message: impl Into<String>) -> CallError {
    CallError {
        code,
        message: message.into(),
    }
}

impl From<crate::source::TreeError> for CallError {
    fn from(e: crate::source::TreeError) -> Self {
        use crate::source::TreeError as T;
        let code = match &e {
            T::InvalidArgument(_) => ErrorCode::InvalidArgument,
            T::NotFound(_) => ErrorCode::NotFound,
            T::Denied(_) => ErrorCode::Denied,
            T::LimitExceeded(_) => ErrorCode::LimitExceeded,
            T::Unsupported(_) => ErrorCode::Unsupported,
            T::Io(_) => ErrorCode::Io,
        };
        call_error(code, e.to_string())
    }
}
