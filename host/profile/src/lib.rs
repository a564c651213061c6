//! Joule's profile library: every profile format Joule reads, the one canonical model they are
//! read into, the queries skills ask of it, and the writers that take it back out.
//!
//! - [`ingest`]: pprof, `perf.data`, `perf script`, folded stacks, speedscope, Chrome `.cpuprofile` and
//!   trace-event JSON, gzipped or not, detected from the content; errors name the file and the
//!   place in it.
//! - [`model`]: the canonical profile (interned strings, functions, frames; each distinct stack
//!   stored once) and its native queries (top functions, callers and callees, lines, diffs).
//! - [`export`]: folded stacks, pprof and speedscope out.
//! - [`symbolize`]: addresses to functions, inline frames, files and lines, from the
//!   binaries' debug information (for `perf.data`).
//! - [`gzip`]: the one gzip reader, with its bomb limit, for every file Joule reads (profiles
//!   and metric series alike).
//!
//! The library has no Wasm runtime in it: the `joule` host builds on it, and the fuzz targets
//! build it alone.

pub mod export;
pub mod gzip;
pub mod ingest;
pub mod model;
pub mod symbolize;
