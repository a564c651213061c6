//! Joule: a WebAssembly-sandboxed runtime for performance-engineering skills.
//!
//! The host reads profiles and source trees ([`ingest`], [`model`], [`source`]), loads skills
//! compiled to Wasm components ([`engine`]), gives each one capability-scoped access to its
//! inputs ([`caps`]), and merges what they find into ranked reports ([`findings`], [`report`]).

pub mod caps;
pub mod cli;
pub mod engine;
pub mod export;
pub mod findings;
pub mod ingest;
pub mod inputs;
pub mod model;
pub mod report;
pub mod session;
pub mod source;
