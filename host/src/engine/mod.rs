//! The Wasm runtime: one shared `Engine`, compiled components cached on disk by digest,
//! pre-instantiated skills, a pooling allocator, a fresh `Store` per invocation, and the limits
//! that apply to every invocation (wall-clock deadline through epoch interruption, memory cap
//! through a resource limiter).

mod cache;
mod invoke;
mod schedule;
mod skill;

pub use cache::ComponentCache;
pub use invoke::{Failure, Outcome, Until, block_on};
pub use schedule::{Plan, Progress, Watch, run};
pub use skill::{
    CLAIM_SECTION, Descriptor, Inspected, LoadedSkill, Location, Parameter, Trigger, claimed_id,
    file_stem, valid_id,
};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::Context;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use joule_policy::Limits;

use crate::caps::{self, SkillState};

/// How often the epoch advances: the granularity of deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Settings for a [`Runtime`].
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    pub limits: Limits,
    /// Invocations that may run at once (the pool is sized from it).
    pub concurrency: usize,
    /// Where compiled components are kept; `None` compiles every time.
    pub cache: Option<ComponentCache>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            limits: Limits::default(),
            concurrency: default_jobs(),
            cache: ComponentCache::default_location(),
        }
    }
}

/// The number of cores, which is the default for `--jobs`.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The deepest a skill's Wasm stack may grow; past it the skill traps with "stack overflow".
pub const MAX_WASM_STACK: usize = 1 << 20;

/// The native stack a skill runs on (each invocation's async stack, from the pool): a full
/// Wasm stack, and host calls (parsers, libgit2) made from its deepest frame.
pub const THREAD_STACK: usize = 8 << 20;

/// One engine and linker for all skills of a process.
pub struct Runtime {
    engine: Engine,
    linker: Linker<SkillState>,
    limits: Limits,
    cache: Option<ComponentCache>,
    slots: Slots,
    ticker: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Self> {
        let concurrency = config.concurrency.max(1);
        // Slots for concurrent invocations plus headroom for `describe` calls during loading.
        let slots = concurrency + 2;
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(slots as u32)
            .max_core_instances_per_component(32)
            .total_core_instances(slots as u32 * 32)
            .max_memories_per_component(8)
            .total_memories(slots as u32 * 4)
            .max_tables_per_component(16)
            .total_tables(slots as u32 * 16)
            .total_stacks(slots as u32)
            .max_memory_size(config.limits.memory_bytes)
            .max_component_instance_size(4 << 20)
            .max_core_instance_size(4 << 20)
            // Keep a few pages resident so re-instantiating a skill does not fault them again.
            .linear_memory_keep_resident(64 << 10)
            .table_keep_resident(64 << 10);

        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(MAX_WASM_STACK)
            // Calls are async (so a deadline can cancel a wait in WASI): Wasm and the host calls
            // it makes run on a stack of this size from the pool, not on the caller's thread.
            .async_stack_size(THREAD_STACK)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .cranelift_opt_level(wasmtime::OptLevel::Speed)
            .parallel_compilation(true);
        let engine = Engine::new(&wasm)
            .map_err(anyhow::Error::from)
            .context("cannot start the Wasm engine")?;

        let mut linker = Linker::new(&engine);
        caps::add_to_linker(&mut linker)?;

        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("joule-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .context("cannot start the epoch thread")?
        };

        Ok(Runtime {
            engine,
            linker,
            limits: config.limits,
            cache: config.cache,
            slots: Slots::new(slots),
            ticker: Some(ticker),
            stop,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

/// A counting semaphore over pool slots, so an instantiation waits for a free slot instead of
/// failing when more callers than slots arrive at once.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

struct SlotGuard<'a>(&'a Slots);

impl Slots {
    fn new(n: usize) -> Self {
        Slots {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> SlotGuard<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        SlotGuard(self)
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|e| e.into_inner());
        *free += 1;
        self.0.freed.notify_one();
    }
}
