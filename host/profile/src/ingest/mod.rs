//! Profile formats into the canonical model.
//!
//! One module per format, each implementing [`Reader`]; [`detect`] picks the reader from the
//! content (never the file name), after gzip has been undone transparently. Errors name the file
//! and the place in it: a byte offset for binary formats, a line for text.

mod chrome;
mod demangle;
mod detect;
mod folded;
mod parallel;
mod perf;
mod perf_data;
mod pprof;
mod speedscope;
mod trace_event;
mod wire;

#[cfg(test)]
mod json_tests;
#[cfg(test)]
mod perf_data_tests;
#[cfg(test)]
mod pprof_top_tests;
#[cfg(test)]
mod robustness_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub use chrome::ChromeCpuProfile;
pub use detect::detect;
pub use folded::Folded;
pub use perf::Perf;
pub use perf_data::PerfData;
pub use pprof::Pprof;
pub use speedscope::Speedscope;
pub use trace_event::TraceEvent;

use crate::gzip::{self, InflateError};
use crate::model::{Format, Profile};

/// Where in an input a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The file as a whole (missing, unreadable, empty, unknown format).
    File,
    /// A byte offset, in the decompressed data unless the message says otherwise.
    Byte(u64),
    /// A line, counted from 1.
    Line(u64),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File => Ok(()),
            Place::Byte(b) => write!(f, "byte {b}: "),
            Place::Line(l) => write!(f, "line {l}: "),
        }
    }
}

/// A profile that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {place}{message}")]
pub struct IngestError {
    pub file: String,
    pub place: Place,
    pub message: String,
}

/// A problem found by a reader, before it knows the file name. Boxed, so that the `Ok` path of
/// the readers' hot loops moves small values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem(Box<(Place, String)>);

impl Problem {
    pub fn at_byte(offset: usize, message: impl Into<String>) -> Self {
        Problem(Box::new((Place::Byte(offset as u64), message.into())))
    }

    pub fn at_line(line: usize, message: impl Into<String>) -> Self {
        Problem(Box::new((Place::Line(line as u64), message.into())))
    }

    pub fn whole(message: impl Into<String>) -> Self {
        Problem(Box::new((Place::File, message.into())))
    }

    fn in_file(self, file: &str) -> IngestError {
        let (place, message) = *self.0;
        IngestError {
            file: file.to_string(),
            place,
            message,
        }
    }
}

/// How to read formats that leave choices to the reader. The defaults are those of the tools
/// people compare against (inferno's `collapse-perf` for `perf script`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// perf script: name the root frame `comm-pid` instead of `comm` (inferno `--pid`).
    pub include_pid: bool,
    /// perf script: name the root frame `comm-pid/tid` (inferno `--tid`; implies `include_pid`).
    pub include_tid: bool,
    /// perf script: suffix kernel frames with `_[k]` (inferno `--kernel`).
    pub annotate_kernel: bool,
    /// perf script: suffix JIT frames with `_[j]` (inferno `--jit`).
    pub annotate_jit: bool,
    /// perf script: name unsymbolized frames by module and address (inferno `--addrs`).
    pub include_addrs: bool,
    /// perf script: only samples of this event; the first event seen when absent.
    pub event: Option<String>,
    /// perf script: keep symbol names as perf wrote them (mangled C++ and Rust names, Rust
    /// hashes), as `inferno-collapse-perf` does; only perf's partly demangled Rust names are
    /// tidied, as inferno tidies them.
    pub no_demangle: bool,
    /// perf.data: directories to look for the recorded binaries and their debug files in,
    /// before `$JOULE_SYMBOL_PATH` and the machine's build-id stores ([`crate::symbolize`]).
    pub symbol_paths: Vec<std::path::PathBuf>,
}

/// One input format.
pub trait Reader: Sync {
    fn format(&self) -> Format;
    /// True when `head` (the first bytes, decompressed) looks like this format.
    fn sniff(&self, head: &[u8]) -> bool;
    /// Reads a whole input. Recoverable problems (a bad line) become warnings on the profile;
    /// the rest are errors.
    fn read(&self, data: &[u8], options: &ReadOptions) -> Result<Profile, Problem>;

    /// Reads an input as a stream. Formats that can be read a line at a time override this so
    /// a large file never sits in memory whole (`perf script` text); the others read it all.
    fn read_stream(
        &self,
        input: &mut dyn BufRead,
        options: &ReadOptions,
    ) -> Result<Profile, Problem> {
        let mut data = Vec::new();
        input
            .read_to_end(&mut data)
            .map_err(|e| problem_from_io(&e))?;
        self.read(&data, options)
    }
}

/// Every reader, in the order [`detect`] tries them.
pub fn readers() -> &'static [&'static dyn Reader] {
    &[
        &PerfData,
        &Pprof,
        &Perf,
        &Speedscope,
        &ChromeCpuProfile,
        &TraceEvent,
        &Folded,
    ]
}

/// A symbol demangled when it is a mangled C++ or Rust name (Rust without its hash), else as
/// it is.
pub fn demangle_symbol(symbol: &str) -> String {
    demangle::demangle(symbol).unwrap_or_else(|| symbol.to_string())
}

/// A demangled name tidied as `perf script` names are (inferno's rules: the parameter list
/// dropped, `(anonymous namespace)` and Go's `.(*T)` kept), so that a function symbolized by
/// Joule has the name the `perf script` reader gives it.
pub(crate) fn tidy_symbol(name: &str) -> String {
    perf::tidy_generic(name.to_string())
}

/// Reads a profile file of any supported format, gzipped or not, with default options.
pub fn load(path: &Path) -> Result<Profile, IngestError> {
    load_with(path, &ReadOptions::default())
}

/// Reads a profile file of any supported format, gzipped or not; `-` is standard input (a
/// file named `-` is `./-`). The file is streamed: the head is read to detect the format, then
/// the reader takes the rest as it comes, so a reader that streams (`perf script`) holds only
/// its model in memory, not the file.
pub fn load_with(path: &Path, options: &ReadOptions) -> Result<Profile, IngestError> {
    if path == Path::new(STDIN) {
        return load_stream("standard input", Box::new(std::io::stdin().lock()), options);
    }
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| {
        Problem::whole(format!("cannot read profile: {}", io_reason(&e))).in_file(&name)
    })?;
    load_stream(&name, Box::new(file), options)
}

/// The path that names standard input.
pub const STDIN: &str = "-";

/// Reads a profile streamed from `raw`; `name` is used in errors.
fn load_stream(
    name: &str,
    raw: Box<dyn Read>,
    options: &ReadOptions,
) -> Result<Profile, IngestError> {
    let fail = |p: Problem| p.in_file(name);
    let mut file = BufReader::with_capacity(STREAM_BUFFER, raw);
    let gzipped = file
        .fill_buf()
        .map_err(|e| fail(problem_from_io(&e)))?
        .starts_with(&gzip::MAGIC);
    let mut source: Box<dyn Read> = if gzipped {
        Box::new(gzip::Inflate::new(file))
    } else {
        Box::new(file)
    };
    let mut head = Vec::with_capacity(detect::HEAD_LEN);
    (&mut source)
        .take(detect::HEAD_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| fail(problem_from_io(&e)))?;
    if head.is_empty() {
        return Err(fail(Problem::whole("the profile is empty")));
    }
    let reader = detect(&head).ok_or_else(|| fail(Problem::whole(UNKNOWN_FORMAT)))?;
    let mut input =
        BufReader::with_capacity(STREAM_BUFFER, std::io::Cursor::new(head).chain(source));
    reader
        .read_stream(&mut input, options)
        .and_then(bounded)
        .map_err(fail)
}

/// Refuses a profile whose stacks outgrew the model's frame budget (a hostile input).
fn bounded(profile: Profile) -> Result<Profile, Problem> {
    if profile.refused_samples > 0 {
        return Err(Problem::whole(format!(
            "the stacks expand to more than {} frames ({} samples refused); refusing the profile as hostile",
            crate::model::MAX_FRAMES,
            profile.refused_samples
        )));
    }
    Ok(profile)
}

/// Buffer size for streamed files.
const STREAM_BUFFER: usize = 256 * 1024;

const UNKNOWN_FORMAT: &str = "not a profile format Joule reads (pprof, perf.data, perf script, folded stacks, speedscope, Chrome .cpuprofile or trace-event JSON; gzip is undone first)";

/// Reads a profile from memory with default options; `name` is used in errors.
pub fn load_bytes(name: &str, bytes: &[u8]) -> Result<Profile, IngestError> {
    load_bytes_with(name, bytes, &ReadOptions::default())
}

/// Reads a profile from memory; `name` is used in errors.
pub fn load_bytes_with(
    name: &str,
    bytes: &[u8],
    options: &ReadOptions,
) -> Result<Profile, IngestError> {
    let data = gzip::maybe_inflate(bytes).map_err(|e| Problem::from(e).in_file(name))?;
    if data.is_empty() {
        return Err(Problem::whole("the profile is empty").in_file(name));
    }
    let reader = detect(&data).ok_or_else(|| Problem::whole(UNKNOWN_FORMAT).in_file(name))?;
    reader
        .read(&data, options)
        .and_then(bounded)
        .map_err(|p| p.in_file(name))
}

/// The problem an I/O error while reading a profile stands for: with the compressed offset when
/// inflating failed, else the plain reason.
pub(crate) fn problem_from_io(e: &std::io::Error) -> Problem {
    match InflateError::of(e) {
        Some(inflate) => Problem::from(inflate.clone()),
        None => Problem::whole(format!("cannot read profile: {}", io_reason(e))),
    }
}

impl From<InflateError> for Problem {
    fn from(e: InflateError) -> Self {
        Problem::at_byte(e.compressed_offset as usize, e.message)
    }
}

/// A short reason for an I/O error, without Rust's `(os error N)` noise.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}
