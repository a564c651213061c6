//! Joule: a WebAssembly-sandboxed runtime for performance-engineering skills.
//!
//! The host reads profiles and source trees ([`ingest`], [`model`], [`source`]), loads skills
//! compiled to Wasm components (`engine`), gives each one capability-scoped access to its
//! inputs (`caps`), and merges what they find into ranked reports (`findings`, `report`).
//!
//! Without the default `runtime` feature the crate is the profile library alone: readers, the
//! canonical model and its queries, writers, and source trees.

pub mod export;
pub mod ingest;
pub mod inputs;
pub mod metrics;
pub mod model;
pub mod source;

#[cfg(feature = "runtime")]
pub mod audit;
#[cfg(feature = "runtime")]
pub mod caps;
#[cfg(feature = "runtime")]
pub mod cli;
#[cfg(feature = "runtime")]
pub mod engine;
#[cfg(feature = "runtime")]
pub mod findings;
#[cfg(feature = "runtime")]
pub mod history;
#[cfg(feature = "runtime")]
pub mod policy;
#[cfg(feature = "runtime")]
pub mod report;
#[cfg(feature = "runtime")]
pub mod session;
