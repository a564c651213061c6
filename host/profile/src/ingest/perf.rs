//! `perf script` text: events (`comm pid/tid [cpu] time: period event:`) each followed by its
//! stack, one `address symbol+offset (module)` line per frame, leaf first, up to a blank line.
//!
//! The semantics are those of inferno 0.12.8's `collapse-perf` (itself a port of Brendan Gregg's
//! `stackcollapse-perf.pl`), so that the folded stacks of a profile read here equal inferno's
//! output line for line: the same event filter (the first event seen unless
//! [`ReadOptions::event`] names one), the same name tidying (offsets, argument lists, Java
//! class prefixes, Java `->` inlining, partially demangled Rust names, `[module]` for unknown
//! symbols), the same `_[k]`/`_[j]`/`_[i]` annotations, and the process name (`comm`,
//! `comm-pid`, `comm-pid/tid`) as the root frame of every stack. Beyond inferno, fully mangled
//! C++ and Rust names are demangled ([`super::demangle`]).
//!
//! The model gets two sample types, `samples/count` and the event's (`cycles/events`,
//! `cpu-clock/nanoseconds`, ...; the default), one sample per event with values
//! `[1, period or 1]`, and the labels `comm`, `pid` (when printed) and `tid` on every sample.
//!
//! Speed: the input is scanned as bytes, and each distinct stack line (`address symbol (module)`)
//! is parsed and tidied once: the frames it makes are cached by the line's text, so a repeated
//! line costs one hash lookup. Threads (`comm`, `pid`, `tid`) are cached the same way. Memory
//! grows with the distinct lines and stacks, not with the input; [`Perf::read_from`] reads from
//! any [`BufRead`] without holding the input.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::io::BufRead;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::{Problem, ReadOptions, Reader, demangle};
use crate::model::{Format, FrameId, LabelSetId, Profile, ProfileBuilder};

#[cfg(test)]
#[path = "perf_tests.rs"]
mod tests;

pub struct Perf;

/// Bad lines reported one by one; the rest are counted in one last warning.
const MAX_WARNINGS: usize = 20;
/// Bytes of stack-line text the line cache may hold; past this, new lines are parsed every time
/// they appear (an input of nothing but distinct lines must not double its size in memory).
const MAX_CACHED_LINE_BYTES: usize = 32 << 20;
/// How much of a bad line a warning quotes.
const MAX_QUOTE: usize = 80;

impl Reader for Perf {
    fn format(&self) -> Format {
        Format::Perf
    }

    fn sniff(&self, head: &[u8]) -> bool {
        sniff(head)
    }

    fn read(&self, data: &[u8], options: &ReadOptions) -> Result<Profile, Problem> {
        self.read_from(data, options)
    }

    fn read_stream(
        &self,
        input: &mut dyn BufRead,
        options: &ReadOptions,
    ) -> Result<Profile, Problem> {
        self.read_from(input, options)
    }
}

impl Perf {
    /// Reads `perf script` text from any buffered reader, holding only one line of it at a time
    /// (and only when the line straddles two of the reader's buffers). With a `&[u8]` the whole
    /// input is one buffer, and no line is copied.
    pub fn read_from<R: BufRead>(
        &self,
        mut input: R,
        options: &ReadOptions,
    ) -> Result<Profile, Problem> {
        let mut parser = Parser::new(options);
        // The start of a line whose end is in a later buffer.
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let buf = match input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(super::problem_from_io(&e)),
            };
            if buf.is_empty() {
                break;
            }
            let len = buf.len();
            let mut rest = buf;
            if !pending.is_empty() {
                match memchr::memchr(b'\n', rest) {
                    Some(i) => {
                        pending.extend_from_slice(&rest[..i]);
                        parser.line(&pending);
                        pending.clear();
                        rest = &rest[i + 1..];
                    }
                    None => {
                        pending.extend_from_slice(rest);
                        input.consume(len);
                        continue;
                    }
                }
            }
            // The complete lines of this buffer: validated as UTF-8 in one go when they are
            // (almost always), one by one when not.
            let whole = memchr::memrchr(b'\n', rest).map_or(0, |i| i + 1);
            let (lines, tail) = rest.split_at(whole);
            let mut start = 0;
            match std::str::from_utf8(lines) {
                Ok(text) => {
                    for end in memchr::memchr_iter(b'\n', lines) {
                        parser.line_str(text.get(start..end).unwrap_or_default());
                        start = end + 1;
                    }
                }
                Err(_) => {
                    for end in memchr::memchr_iter(b'\n', lines) {
                        parser.line(&lines[start..end]);
                        start = end + 1;
                    }
                }
            }
            pending.extend_from_slice(tail);
            input.consume(len);
        }
        if !pending.is_empty() {
            parser.line(&pending);
        }
        parser.finish()
    }
}

/// True when the first event line (after `#` comments) is followed by a stack line, as
/// inferno's `collapse-perf` decides; or, for a file of one-line events, when the first event
/// line carries its stack.
fn sniff(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    // The last line of a full head may be cut short: leave it out.
    let head = if head.len() >= super::detect::HEAD_LEN {
        match memchr::memrchr(b'\n', head) {
            Some(i) => &head[..i],
            None => return false,
        }
    } else {
        head
    };
    let text = String::from_utf8_lossy(head);
    let mut after_event = false;
    let mut event_with_stack = false;
    for line in text.split('\n') {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            after_event = false;
            continue;
        }
        if after_event {
            return stack_line_parts(line).is_some();
        }
        let Some(event) = event_line_parts(line) else {
            return false;
        };
        after_event = true;
        event_with_stack |= event
            .rest
            .splitn(3, ':')
            .nth(2)
            .and_then(post_event_stack)
            .is_some_and(|s| stack_line_parts(s).is_some());
    }
    event_with_stack
}

/// An event line's parts: the command name (trimmed), the pid (`?` when only the tid is
/// printed), the tid, and what follows the tid.
struct EventParts<'a> {
    comm: &'a str,
    pid: &'a str,
    tid: &'a str,
    rest: &'a str,
}

/// inferno's `event_line_parts`: the first all-digit word followed by a space (`tid` or
/// `pid/tid`) ends the command name, which may itself contain spaces.
fn event_line_parts(line: &str) -> Option<EventParts<'_>> {
    let bytes = line.as_bytes();
    let mut word_start = 0;
    let mut all_digits = false;
    let mut last_was_space = false;
    let mut slash_at = None;
    for (idx, &c) in bytes.iter().enumerate() {
        if c == b' ' {
            if all_digits && !last_was_space {
                let (pid, tid) = match slash_at {
                    Some(slash) => (line.get(word_start..slash)?, line.get(slash + 1..idx)?),
                    None => ("?", line.get(word_start..idx)?),
                };
                let comm = line.get(..word_start.checked_sub(1)?)?.trim();
                let rest = line.get(idx + 1..)?;
                return Some(EventParts {
                    comm,
                    pid,
                    tid,
                    rest,
                });
            }
            word_start = idx + 1;
            all_digits = true;
        } else if c == b'/' {
            if all_digits {
                slash_at = Some(idx);
            }
        } else if !c.is_ascii_digit() {
            // A byte of a multi-byte character lands here too, as the character would.
            all_digits = false;
            slash_at = None;
        }
        last_was_space = c == b' ';
    }
    None
}

/// The stack on an event line, after the event name and its modifiers:
/// `cycles:u:  ffffffff9aa3c8de [unknown] ([unknown])` has one, `cycles:uppp:` has none.
fn post_event_stack(post_event: &str) -> Option<&str> {
    let start = post_event.find([':', ' ']).map(|i| i + 1).unwrap_or(0);
    let stack = post_event.get(start..)?.trim();
    (!stack.is_empty()).then_some(stack)
}

/// inferno's `stack_line_parts`: `pc rawfunc (module)`, the module being the last
/// space-separated word, in parentheses.
fn stack_line_parts(line: &str) -> Option<(&str, &str, &str)> {
    let mut words = line.trim_start().splitn(2, ' ');
    let pc = words.next()?.trim_end();
    let mut words = words.next()?.rsplitn(2, ' ');
    let module = words.next()?;
    if !module.starts_with('(') || !module.ends_with(')') {
        return None;
    }
    let module = module.get(1..module.len() - 1)?;
    let rawfunc = match words.next()?.trim() {
        // Two spaces between the pc and the module: the Perl script's function is " ".
        "" => " ",
        s => s,
    };
    Some((pc, rawfunc, module))
}

/// What a (`comm`, `pid`, `tid`) makes: the root frame and the sample labels.
#[derive(Clone, Copy)]
struct Thread {
    root: FrameId,
    labels: LabelSetId,
    /// The command name starts with `java` (inferno tidies its frames as Java names).
    java: bool,
}

/// A cached stack line: its text in `Parser::line_keys`, its frames in `Parser::line_frames`.
struct CachedLine {
    key_start: usize,
    key_len: usize,
    frames_start: usize,
    frames_len: usize,
}

struct Parser<'o> {
    options: &'o ReadOptions,
    builder: ProfileBuilder,
    sample_types_set: bool,
    /// The event whose samples are kept: from the options, or the first event seen.
    event_filter: Option<String>,
    /// Events seen that the filter left out, for the message when nothing is left.
    other_events: Vec<String>,
    /// Lines up to the next blank line are this event's stack.
    in_event: bool,
    /// The current event is of another event type: its stack lines are ignored.
    skip: bool,
    period: Option<u64>,
    /// The current event's frames so far, leaf first.
    stack: Vec<FrameId>,
    thread: Option<Thread>,
    /// Threads by `comm \0 pid \0 tid`.
    threads: FxHashMap<Box<[u8]>, Thread>,
    thread_key: Vec<u8>,
    last_thread_key: Vec<u8>,
    /// Stack lines already turned into frames, one table for Java threads and one for the
    /// rest (their names are tidied differently).
    line_cache: [HashTable<CachedLine>; 2],
    line_keys: Vec<u8>,
    line_frames: Vec<FrameId>,
    line_no: u64,
    bad_lines: usize,
}

impl<'o> Parser<'o> {
    fn new(options: &'o ReadOptions) -> Self {
        // Modifiers (`cycles:u`) are not part of the event name perf script prints first.
        let event_filter = options
            .event
            .as_deref()
            .map(|e| e.split(':').next().unwrap_or(e).to_string());
        Parser {
            options,
            builder: ProfileBuilder::new(Format::Perf),
            sample_types_set: false,
            event_filter,
            other_events: Vec::new(),
            in_event: false,
            skip: false,
            period: None,
            stack: Vec::with_capacity(256),
            thread: None,
            threads: FxHashMap::default(),
            thread_key: Vec::new(),
            last_thread_key: Vec::new(),
            line_cache: [HashTable::new(), HashTable::new()],
            line_keys: Vec::new(),
            line_frames: Vec::new(),
            line_no: 0,
            bad_lines: 0,
        }
    }

    /// One line, without its `\n`, read lossily if it is not UTF-8.
    fn line(&mut self, raw: &[u8]) {
        match std::str::from_utf8(raw) {
            Ok(line) => self.line_str(line),
            Err(_) => self.line_str(&String::from_utf8_lossy(raw)),
        }
    }

    /// One line, without its `\n`.
    fn line_str(&mut self, raw: &str) {
        self.line_no += 1;
        if raw.starts_with('#') {
            return;
        }
        let line = trim_end(raw);
        if line.is_empty() {
            self.after_event();
        } else if self.in_event {
            self.on_stack_line(line);
        } else {
            self.on_event_line(line);
            if !self.stack.is_empty() {
                // An event line with its (one-frame) stack on it.
                self.after_event();
            }
        }
    }

    // Event lines look like:
    //
    //     java 25607 4794564.109216: cycles:
    //     java 12688 [002] 6544038.708352: cpu-clock:
    //     V8 WorkerThread 25607 4794564.109216: cycles:
    //     java 24636/25607 [000] 4794564.109216: cycles:
    //     java 12688/12764 6544038.708352: cpu-clock:
    //     V8 WorkerThread 24636/25607 [000] 94564.109216: cycles:
    //     vote   913    72.176760:     257597 cycles:uppp:
    //     false 64414 20110.539270:      34467 cycles:u:  ffffffff9aa3c8de [unknown] ([unknown])
    fn on_event_line(&mut self, line: &str) {
        self.in_event = true;
        let Some(event) = event_line_parts(line) else {
            self.bad_line(
                "not a perf script event line (`comm pid/tid ... time: event:`)",
                line,
            );
            self.in_event = false;
            return;
        };
        let mut by_colons = event.rest.splitn(3, ':').skip(1);
        if let Some(period_and_event) = by_colons.next() {
            let mut words = period_and_event.rsplit(' ');
            let name = words.next().unwrap_or("");
            self.period = words.next().and_then(|s| s.parse::<u64>().ok());
            match &self.event_filter {
                Some(filter) if filter != name => {
                    if self.other_events.len() < 16 && !self.other_events.iter().any(|e| e == name)
                    {
                        self.other_events.push(name.to_string());
                    }
                    self.skip = true;
                    return;
                }
                Some(_) => {}
                None => self.event_filter = Some(name.to_string()),
            }
        }
        let single_stack = by_colons.next().and_then(post_event_stack);
        self.set_thread(event.comm, event.pid, event.tid);
        if let Some(stack_line) = single_stack {
            self.on_stack_line(stack_line);
            self.in_event = false;
        }
    }

    /// Makes (`comm`, `pid`, `tid`) the current thread: the root frame named as inferno names
    /// it, and the labels.
    fn set_thread(&mut self, comm: &str, pid: &str, tid: &str) {
        self.thread_key.clear();
        self.thread_key.extend_from_slice(comm.as_bytes());
        self.thread_key.push(0);
        self.thread_key.extend_from_slice(pid.as_bytes());
        self.thread_key.push(0);
        self.thread_key.extend_from_slice(tid.as_bytes());
        if self.thread.is_some() && self.thread_key == self.last_thread_key {
            return;
        }
        std::mem::swap(&mut self.thread_key, &mut self.last_thread_key);
        if let Some(&thread) = self.threads.get(self.last_thread_key.as_slice()) {
            self.thread = Some(thread);
            return;
        }
        let pname = root_name(comm, pid, tid, self.options);
        let function = self.builder.function_in(&pname, &pname, "", 0, "");
        let root = self.builder.frame(function, 0);
        let mut labels = Vec::with_capacity(3);
        labels.push(self.builder.str_label("comm", comm));
        if pid != "?" {
            labels.push(self.builder.str_label("pid", pid));
        }
        labels.push(self.builder.str_label("tid", tid));
        let labels = self.builder.label_set(&labels);
        let thread = Thread {
            root,
            labels,
            java: pname.starts_with("java"),
        };
        self.threads
            .insert(self.last_thread_key.clone().into_boxed_slice(), thread);
        self.thread = Some(thread);
    }

    // Stack lines look like:
    //
    //     ffffffff8103ce3b native_safe_halt ([kernel.kallsyms])
    //     ffffffff81aebbfe start_kernel ([kernel.kallsyms].init.text)
    //     7f533952bc77 _dl_check_map_versions+0x597 (/usr/lib/ld-2.28.so)
    //     7f53389994d0 [unknown] ([unknown])
    //                0 [unknown] ([unknown])
    fn on_stack_line(&mut self, line: &str) {
        if self.skip {
            return;
        }
        let key = trim_start(line);
        let java = self.thread.is_some_and(|t| t.java);
        let table = usize::from(java);
        let hash = FxBuildHasher.hash_one(key.as_bytes());
        let keys = &self.line_keys;
        if let Some(hit) = self.line_cache[table].find(hash, |c| {
            keys.get(c.key_start..c.key_start + c.key_len) == Some(key.as_bytes())
        }) {
            if let Some(frames) = self
                .line_frames
                .get(hit.frames_start..hit.frames_start + hit.frames_len)
            {
                self.stack.extend_from_slice(frames);
            }
            return;
        }
        let Some((pc, rawfunc, module)) = stack_line_parts(key) else {
            self.bad_line(
                "not a perf script stack line (`address symbol (module)`)",
                key,
            );
            return;
        };
        let frames_start = self.line_frames.len();
        self.line_frames_of(pc, rawfunc, module, java);
        let frames_len = self.line_frames.len() - frames_start;
        if let Some(frames) = self.line_frames.get(frames_start..) {
            self.stack.extend_from_slice(frames);
        }
        if self.line_keys.len() + key.len() <= MAX_CACHED_LINE_BYTES {
            let key_start = self.line_keys.len();
            self.line_keys.extend_from_slice(key.as_bytes());
            let keys = &self.line_keys;
            self.line_cache[table].insert_unique(
                hash,
                CachedLine {
                    key_start,
                    key_len: key.len(),
                    frames_start,
                    frames_len,
                },
                |c| {
                    FxBuildHasher.hash_one(
                        keys.get(c.key_start..c.key_start + c.key_len)
                            .unwrap_or_default(),
                    )
                },
            );
        } else {
            self.line_frames.truncate(frames_start);
        }
    }

    /// Pushes the frames of one stack line onto `line_frames`, in leaf-first order (a Java
    /// inline chain `a->b->c` is `c`, `b`, `a`).
    fn line_frames_of(&mut self, pc: &str, rawfunc: &str, module: &str, java: bool) {
        let mut rawfunc = rawfunc;
        // Strip off symbol offsets.
        if let Some(offset) = rawfunc.rfind("+0x")
            && rawfunc
                .get(offset + 3..)
                .is_some_and(|end| end.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            rawfunc = rawfunc.get(..offset).unwrap_or(rawfunc);
        }
        // Process names in parentheses, as stackcollapse-perf.pl skips them.
        if rawfunc.starts_with('(') {
            return;
        }
        let demangled = if self.options.no_demangle {
            None
        } else {
            demangle::demangle(rawfunc)
        };
        let fixed = fix_partially_demangled_rust_symbol(demangled.as_deref().unwrap_or(rawfunc));
        // Java inlining: after the first function of `a->b->c`, the rest are inlined (`_[i]`).
        let parts = fixed.split("->").count();
        let raw_parts = rawfunc.split("->").count();
        let first = self.line_frames.len();
        for (i, func) in fixed.split("->").enumerate() {
            let mut func = tidy_generic(with_module_fallback(
                module,
                func,
                pc,
                self.options.include_addrs,
            ));
            if java {
                func = tidy_java(func);
            }
            if i > 0 {
                if !func.contains("_[i]") {
                    func.push_str("_[i]");
                }
            } else if self.options.annotate_kernel && is_kernel(module) {
                func.push_str("_[k]");
            } else if self.options.annotate_jit
                && ((module.starts_with("/tmp/perf-") && module.ends_with(".map"))
                    || (module.contains("/jitted-") && module.ends_with(".so")))
                && !func.contains("_[j]")
            {
                func.push_str("_[j]");
            }
            // The symbol as printed: this part of it, when the demangling kept the parts.
            let system_name = if parts == raw_parts {
                rawfunc.split("->").nth(i).unwrap_or(rawfunc)
            } else {
                rawfunc
            };
            let function = self.builder.function_in(&func, system_name, "", 0, module);
            let frame = self.builder.frame(function, 0);
            self.line_frames.push(frame);
        }
        if let Some(frames) = self.line_frames.get_mut(first..) {
            frames.reverse();
        }
    }

    /// The end of an event: its stack, if any, becomes a sample.
    fn after_event(&mut self) {
        if !self.stack.is_empty() {
            if !self.sample_types_set {
                self.set_sample_types();
            }
            let thread = match self.thread {
                Some(thread) => thread,
                None => {
                    // Not reachable (stack lines follow an event line), but cheap to make sure.
                    self.set_thread("", "?", "");
                    self.thread.unwrap_or(Thread {
                        root: 0,
                        labels: 0,
                        java: false,
                    })
                }
            };
            self.stack.push(thread.root);
            let period = i64::try_from(self.period.unwrap_or(1)).unwrap_or(i64::MAX);
            self.builder
                .add_labeled_sample(&self.stack, thread.labels, &[1, period]);
        }
        self.in_event = false;
        self.skip = false;
        self.stack.clear();
        self.period = None;
    }

    fn set_sample_types(&mut self) {
        let event = self.event_filter.as_deref().unwrap_or("events");
        // perf's period for the software clocks is in nanoseconds.
        let unit = match event {
            "cpu-clock" | "task-clock" => "nanoseconds",
            _ => "events",
        };
        let event = event.to_string();
        self.builder
            .set_sample_types(&[("samples", "count"), (&event, unit)], 1);
        self.sample_types_set = true;
    }

    fn bad_line(&mut self, what: &str, line: &str) {
        self.bad_lines += 1;
        if self.bad_lines <= MAX_WARNINGS {
            let quoted = match line.char_indices().nth(MAX_QUOTE) {
                Some((cut, _)) => format!("{}...", &line[..cut]),
                None => line.to_string(),
            };
            self.builder.warn(format!(
                "line {}: {what}, skipped: `{quoted}`",
                self.line_no
            ));
        }
    }

    fn finish(mut self) -> Result<Profile, Problem> {
        if !self.stack.is_empty() {
            self.after_event();
        }
        if self.bad_lines > MAX_WARNINGS {
            self.builder.warn(format!(
                "{} more bad lines skipped",
                self.bad_lines - MAX_WARNINGS
            ));
        }
        if !self.builder.has_samples() {
            let message = match (&self.event_filter, self.other_events.is_empty()) {
                (Some(event), false) => format!(
                    "no perf script samples of event `{event}` (the input has {})",
                    self.other_events
                        .iter()
                        .map(|e| format!("`{e}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => format!(
                    "no perf script samples found ({} lines did not parse)",
                    self.bad_lines
                ),
            };
            return Err(Problem::whole(message));
        }
        if !self.sample_types_set {
            self.set_sample_types();
        }
        Ok(self.builder.finish())
    }
}

/// The root frame of a thread's stacks, as inferno names it: the command name with spaces as
/// `_`, then `-pid` (`--pid`) or `-pid/tid` (`--tid`). Shared with the perf.data reader, so
/// one capture read either way has the same roots.
pub(super) fn root_name(comm: &str, pid: &str, tid: &str, options: &ReadOptions) -> String {
    let mut name = comm.replace(' ', "_");
    if options.include_tid {
        name.push('-');
        name.push_str(pid);
        name.push('/');
        name.push_str(tid);
    } else if options.include_pid {
        name.push('-');
        name.push_str(pid);
    }
    name
}

/// `str::trim_end`, quicker on ASCII.
fn trim_end(s: &str) -> &str {
    let b = s.as_bytes();
    let mut end = b.len();
    while end > 0 {
        match b[end - 1] {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => end -= 1,
            // A non-ASCII character may be Unicode white space.
            c if c >= 0x80 => return s[..end].trim_end(),
            _ => break,
        }
    }
    &s[..end]
}

/// `str::trim_start`, quicker on ASCII.
fn trim_start(s: &str) -> &str {
    let b = s.as_bytes();
    let mut start = 0;
    while start < b.len() {
        match b[start] {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => start += 1,
            c if c >= 0x80 => return s[start..].trim_start(),
            _ => break,
        }
    }
    &s[start..]
}

/// inferno's `with_module_fallback`: an unknown symbol is named after its module (`[libc.so]`),
/// with the address when asked (`[libc.so <7f00aa>]`, `[unknown <7f00aa>]`).
fn with_module_fallback(module: &str, func: &str, pc: &str, include_addrs: bool) -> String {
    if func != "[unknown]" {
        return func.to_string();
    }
    let func = match (module, include_addrs) {
        ("[unknown]", true) => "unknown",
        ("[unknown]", false) => return func.to_string(),
        (module, _) => module
            .rfind('/')
            .and_then(|i| module.get(i + 1..))
            .unwrap_or(module),
    };
    let mut res = String::with_capacity(func.len() + 12);
    res.push('[');
    res.push_str(func);
    if include_addrs {
        res.push_str(" <");
        res.push_str(pc);
        res.push_str(">]");
    } else {
        res.push(']');
    }
    res
}

/// inferno's `tidy_generic`: `;` becomes `:` (it separates frames in folded stacks), and the
/// argument list goes, except Go's `pkg.(*T).M` and C++'s `(anonymous namespace)`.
pub(crate) fn tidy_generic(func: String) -> String {
    let mut func = if func.contains(';') {
        func.replace(';', ":")
    } else {
        func
    };
    let mut bracket_depth: i64 = 0;
    let mut last_dot_index = None;
    let mut length_without_parameters = func.len();
    for (idx, c) in func.char_indices() {
        match c {
            '<' | '{' | '[' => bracket_depth += 1,
            '>' | '}' | ']' | ')' => bracket_depth -= 1,
            '(' => {
                // Only top-level parentheses: not those inside Rust/C++ templates or C++
                // lambdas (`{lambda(int, int)#2}`).
                if bracket_depth == 0 {
                    let is_go_function = last_dot_index == Some(idx);
                    let is_anonymous_namespace = func
                        .get(idx..)
                        .is_some_and(|s| s.starts_with("(anonymous namespace)"));
                    if !is_go_function && !is_anonymous_namespace {
                        length_without_parameters = idx;
                        break;
                    }
                }
                bracket_depth += 1;
            }
            // The index after the dot, to match a Go method's `.(`.
            '.' => last_dot_index = Some(idx + 1),
            _ => {}
        }
    }
    func.truncate(length_without_parameters);
    func
}

/// inferno's `tidy_java`: with [`tidy_generic`], `Lorg/mozilla/javascript/MemberBox;.<init>(...)V`
/// becomes `org/mozilla/javascript/MemberBox:.<init>`.
fn tidy_java(mut func: String) -> String {
    if func.starts_with('L') && func.contains('/') {
        func.remove(0);
    }
    func
}

/// inferno's `is_vmlinux`: `vmlinux`, maybe with a version, at the end of the module path.
fn is_vmlinux(s: &str) -> bool {
    match s.rfind("vmlinux") {
        Some(vm) => s.get(vm..).is_some_and(|t| {
            t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
        }),
        None => false,
    }
}

/// inferno's `is_kernel`: a `[module]`, a `.ko` file, or a vmlinux.
fn is_kernel(s: &str) -> bool {
    (s.starts_with('[') || s.ends_with(".ko") || is_vmlinux(s)) && s != "[unknown]"
}

/// The length of a Rust legacy hash: `h` and 16 hex digits.
const RUST_HASH_LENGTH: usize = 17;

/// inferno's `fix_partially_demangled_rust_symbol`: perf demangles Rust legacy names only
/// partly (`_$LT$std..fs..File$u20$as$u20$std..io..Read$GT$::read::h5d84059cf335c8e6`); this
/// finishes the job (`<std::fs::File as std::io::Read>::read`). Other names are returned as
/// they are.
fn fix_partially_demangled_rust_symbol(symbol: &str) -> Cow<'_, str> {
    let bytes = symbol.as_bytes();
    let Some(hash) = bytes
        .len()
        .checked_sub(RUST_HASH_LENGTH)
        .and_then(|i| bytes.get(i..))
    else {
        return Cow::Borrowed(symbol);
    };
    if hash.first() != Some(&b'h') || !hash.iter().skip(1).all(u8::is_ascii_hexdigit) {
        return Cow::Borrowed(symbol);
    }
    // The hash is ASCII, so this is a character boundary.
    let Some(mut rest) = symbol.get(..symbol.len() - RUST_HASH_LENGTH) else {
        return Cow::Borrowed(symbol);
    };
    if let Some(r) = rest.strip_suffix("::") {
        rest = r;
    }
    if rest.starts_with("_$") {
        rest = &rest[1..];
    }
    const ESCAPES: [(&str, &str); 20] = [
        ("$SP$", "@"),
        ("$BP$", "*"),
        ("$RF$", "&"),
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$LP$", "("),
        ("$RP$", ")"),
        ("$C$", ","),
        ("$u7e$", "~"),
        ("$u20$", " "),
        ("$u27$", "'"),
        ("$u3d$", "="),
        ("$u5b$", "["),
        ("$u5d$", "]"),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
        ("$u3b$", ";"),
        ("$u2b$", "+"),
        ("$u21$", "!"),
        ("$u22$", "\""),
    ];
    let mut demangled = String::with_capacity(rest.len());
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            if let Some(after) = after.strip_prefix('.') {
                demangled.push_str("::");
                rest = after;
            } else {
                demangled.push('.');
                rest = after;
            }
        } else if rest.starts_with('$') {
            match ESCAPES.iter().find(|(pat, _)| rest.starts_with(pat)) {
                Some((pat, text)) => {
                    demangled.push_str(text);
                    rest = &rest[pat.len()..];
                }
                None => {
                    demangled.push_str(rest);
                    break;
                }
            }
        } else {
            let idx = rest.find(['$', '.']).unwrap_or(rest.len());
            demangled.push_str(&rest[..idx]);
            rest = &rest[idx..];
        }
    }
    Cow::Owned(demangled)
}
