//! Joule: a WebAssembly-sandboxed runtime for performance-engineering skills.
//!
//! The host reads profiles (with the `joule-profile` library), metric series ([`metrics`]),
//! source trees ([`source`]) and version history ([`history`]); loads skills compiled to Wasm
//! components ([`engine`]); gives each one the inputs its grants let through ([`inputs`], under
//! the `joule-policy` crate's rules) by the interfaces in [`caps`]; records every access
//! ([`audit`]); and merges what the skills find ([`findings`]) into ranked reports and patches
//! ([`report`]). [`session`] runs all of it for one request; [`cli`] is the command line. What
//! skills wrote is carried as [`untrusted::Untrusted`] text, which each output writes through its
//! own escaping function.

pub mod audit;
pub mod builtin;
pub mod caps;
pub mod cli;
pub mod deadline;
pub mod engine;
pub mod findings;
pub mod history;
pub mod inputs;
pub mod interrupt;
pub mod mcp;
pub mod metrics;
pub mod pr;
pub mod report;
pub mod session;
pub mod shard;
pub mod source;
pub mod untrusted;
