//! The capabilities a skill can import, one module per WIT interface, and the per-store state
//! they share.
//!
//! Bindings are generated from `wit/` by `bindgen!`; each module here implements exactly the
//! host trait of one interface. A skill reaches data only through these calls: there are no
//! WASI preopens, no environment and no network (the WASI imports Rust's `std` brings are wired
//! to closed or captured streams).

mod log;
mod profiles;
mod source;

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use self::log::{LogLine, LogSink};
pub use self::profiles::{ProfileHandle, StackCursor};
pub use self::source::TreeHandle;

use crate::engine::Limits;
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
        },
        imports: { default: trappable },
    });
}

pub use bindings::joule::skill::types::{CallError, ErrorCode};

/// How many bytes of stdout and of stderr a skill may write per invocation. Past it the write
/// traps, and the run is reported failed with that reason.
pub const STDIO_CAPACITY: usize = 1 << 20;

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
    /// Host calls made, for the run record.
    pub calls: u64,
}

impl SkillState {
    pub fn new(skill_id: &str, inputs: Arc<Inputs>, limits: &Limits) -> Self {
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        // Closed stdin, no arguments, no environment, no preopened directories, no sockets.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        SkillState {
            skill_id: skill_id.to_string(),
            inputs,
            table: ResourceTable::new(),
            wasi,
            stdout,
            stderr,
            log: LogSink::new(skill_id, limits.log_bytes),
            memory: MemoryCap::new(limits.memory_bytes),
            calls: 0,
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
pub struct MemoryCap {
    pub limit: usize,
    pub exceeded: Option<usize>,
}

impl MemoryCap {
    fn new(limit: usize) -> Self {
        MemoryCap {
            limit,
            exceeded: None,
        }
    }
}

/// Table elements a store may hold (function references; Rust skills use a few thousand).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = Some(desired);
            return Ok(false);
        }
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
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<SkillState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
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
