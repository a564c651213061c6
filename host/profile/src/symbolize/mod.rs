//! Addresses to functions, source files and lines, from the binaries' own debug information:
//! every inline frame at an address (DWARF, split DWARF too), else the ELF symbol table.
//!
//! A frame-pointer unwind of a release build sees one frame per real call: a function inlined
//! into its caller is not on the stack, but its code is, and the caller's DWARF says which
//! inlined call each address belongs to and at which line. Symbolizing from the binary gives
//! the inlined frames back, as a DWARF unwind would, at no cost at capture time.
//!
//! Binaries are found by build id first (so a rebuilt binary at the same path is never read
//! for an old profile): the directories given ([`Locator::new`], `--symbol-path`,
//! `$JOULE_SYMBOL_PATH`), perf's build-id cache (`~/.debug`), debuginfod's client cache and
//! `/usr/lib/debug/.build-id`; then the path the profile recorded, if its build id matches (or
//! none was recorded). Separate debug files are taken by build id or `.gnu_debuglink`.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, ObjectSymbolTable};

use crate::ingest::tidy_symbol as tidy;

mod kernel;

pub use kernel::Kallsyms;

/// One frame at an address: a function, and where in the source the address is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFrame {
    pub function: String,
    /// Empty when unknown.
    pub file: String,
    /// 0 when unknown.
    pub line: u32,
}

/// A binary opened for symbolization.
pub struct Binary {
    /// DWARF and symbols: of the separate debug file when there is one.
    loader: addr2line::Loader,
    /// Loadable segments: (file offset, size in the file, virtual address).
    segments: Vec<(u64, u64, u64)>,
    /// Whether the file read has DWARF line information (else symbols only).
    pub has_lines: bool,
    /// The file the symbols come from.
    pub path: PathBuf,
    /// The executable's machine code, for the call instructions before return addresses.
    code: Option<Code>,
    /// Where the symbol table's functions start, sorted; read on first use.
    /// The functions of the symbol tables: (start, size), sorted by start (read on first use).
    entries: std::sync::OnceLock<Vec<(u64, u64)>>,
}

/// Where an executable's code can be read: the file, its loadable segments, its architecture
/// and the address ranges of its PLT sections (stubs into other libraries, no function of
/// its own).
struct Code {
    file: File,
    path: PathBuf,
    segments: Vec<(u64, u64, u64)>,
    machine: Machine,
    plt: Vec<(u64, u64)>,
    /// PLT stubs by address, each with the function it jumps to (read on first use).
    stubs: std::sync::OnceLock<Vec<(u64, String)>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Machine {
    X86_64,
    Aarch64,
    Other,
}

impl Binary {
    /// The virtual address (as the binary's symbols and DWARF give them) of a byte offset into
    /// the file, through its loadable segments.
    pub fn address_of_offset(&self, offset: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|&&(start, size, _)| offset >= start && offset - start < size.max(1))
            .map(|&(start, _, address)| offset - start + address)
    }

    /// The function a direct call just before return address `ret` (a virtual address of
    /// this binary) called: the target's address, when the instruction ending at `ret` is a
    /// direct call (x86-64 `call rel32`, AArch64 `bl`) to code of this binary that is not a
    /// PLT stub. Frame-pointer unwinding loses the caller of a function that was sampled
    /// before it set up its frame (a libc leaf such as `strlen` never does); this names it.
    pub fn call_target(&self, ret: u64) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        let code = self.code.as_ref()?;
        let (at, len) = match code.machine {
            Machine::X86_64 => (ret.checked_sub(5)?, 5),
            Machine::Aarch64 => (ret.checked_sub(4)?, 4),
            Machine::Other => return None,
        };
        let offset = code
            .segments
            .iter()
            .find(|&&(_, size, address)| {
                at >= address && at.saturating_add(len) <= address.saturating_add(size)
            })
            .and_then(|&(start, _, address)| (at - address).checked_add(start))?;
        let mut bytes = [0u8; 5];
        code.file
            .read_exact_at(&mut bytes[..len as usize], offset)
            .ok()?;
        let target = match code.machine {
            Machine::X86_64 if bytes[0] == 0xe8 => {
                let rel = i32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
                ret.checked_add_signed(i64::from(rel))?
            }
            Machine::Aarch64 => {
                let insn = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                if insn >> 26 != 0b10_0101 {
                    return None;
                }
                // imm26, in instructions, sign-extended.
                let imm = (((insn & 0x03ff_ffff) << 6) as i32) >> 6;
                at.checked_add_signed(i64::from(imm) * 4)?
            }
            _ => return None,
        };
        let in_code = code
            .segments
            .iter()
            .any(|&(_, size, address)| target >= address && target < address.saturating_add(size));
        let in_plt = code
            .plt
            .iter()
            .any(|&(start, size)| target >= start && target < start.saturating_add(size));
        // A byte 0xe8 five bytes back may belong to another instruction: the target must
        // be where a function starts.
        (in_code && !in_plt && self.function_size(target).is_some()).then_some(target)
    }

    /// The executable's PLT stubs, sorted by address, each with the function it is bound to
    /// (`strcmp`): what `perf` calls `strcmp@plt`.
    pub fn plt_names(&self) -> &[(u64, String)] {
        match &self.code {
            Some(code) => code.stubs.get_or_init(|| plt_stubs(&code.path, &code.plt)),
            None => &[],
        }
    }

    /// The name of the PLT stub at `address`, by the function it is bound to, as perf names
    /// it (`strcmp@plt`); a stub has no symbol of its own.
    pub fn stub_name(&self, address: u64) -> Option<String> {
        let stubs = self.plt_names();
        let i = stubs.partition_point(|(start, _)| *start <= address);
        let (start, name) = stubs.get(i.checked_sub(1)?)?;
        let in_plt = self
            .code
            .as_ref()?
            .plt
            .iter()
            .any(|&(at, size)| address >= at && address < at.saturating_add(size));
        (in_plt && address - start < 16).then(|| format!("{name}@plt"))
    }

    /// The size of the function that starts at `entry`, by the symbol tables (`Some(0)` for
    /// a symbol without one); `None` when no function starts there.
    fn function_size(&self, entry: u64) -> Option<u64> {
        let entries = self.entries.get_or_init(|| function_entries(&self.path));
        let i = entries.partition_point(|&(start, _)| start < entry);
        // Aliases share a start: the largest size.
        let sizes = entries[i..]
            .iter()
            .take_while(|&&(start, _)| start == entry);
        sizes.map(|&(_, size)| size).max()
    }

    /// The frames of the calls, in the function that starts at `entry`, of the function
    /// `leaf` (a name, as the leaf's own binary names it: `__strcmp_evex`): the functions
    /// inlined around the call, innermost first, down to the function itself, each with its
    /// line. A frame-pointer unwind that lost `leaf`'s caller gives back only the function
    /// the return address is in ([`Binary::call_target`]); where that function calls `leaf`
    /// only from inside inlined code, this says from which (`contains`, inlined into
    /// `count`, called `strcmp`). The calls are the direct calls in the function's code to a
    /// PLT stub bound to `leaf` or to an implementation of it (glibc's `strcmp` is
    /// `__strcmp_evex` on this CPU), or to `leaf` in this binary. `None` unless there is
    /// one such call or all of them have the same inlined functions around them; a line
    /// the calls do not share is 0. x86-64 only (`call rel32`).
    pub fn calls_of(&self, entry: u64, leaf: &str) -> Option<Vec<SourceFrame>> {
        use std::os::unix::fs::FileExt;
        /// Functions larger than this are not read for their calls.
        const MAX_FUNCTION: u64 = 1 << 20;
        /// Calls of the leaf in one function looked at, at most (more: not restored).
        const MAX_CALLS: usize = 256;
        let code = self.code.as_ref()?;
        if code.machine != Machine::X86_64 {
            return None;
        }
        let size = self.function_size(entry)?;
        if !(5..=MAX_FUNCTION).contains(&size) || entry.checked_add(size + 5).is_none() {
            return None;
        }
        let offset = code
            .segments
            .iter()
            .find(|&&(_, len, address)| {
                entry >= address && entry.saturating_add(size) <= address.saturating_add(len)
            })
            .and_then(|&(start, _, address)| (entry - address).checked_add(start))?;
        let mut bytes = vec![0u8; size as usize];
        code.file.read_exact_at(&mut bytes, offset).ok()?;
        let stubs = self.plt_names();
        let outer = self.symbol(entry);
        // The first call's frames, and which of their lines every later call shares.
        let mut first: Option<(Vec<SourceFrame>, Vec<bool>)> = None;
        let mut calls = 0;
        for i in 0..bytes.len() - 4 {
            if bytes[i] != 0xe8 {
                continue;
            }
            let rel = i32::from_le_bytes([bytes[i + 1], bytes[i + 2], bytes[i + 3], bytes[i + 4]]);
            // No overflow: `entry + size + 5` was checked above.
            let at = entry + i as u64;
            let Some(target) = (at + 5).checked_add_signed(i64::from(rel)) else {
                continue;
            };
            let calls_leaf = match stubs.binary_search_by_key(&target, |(a, _)| *a) {
                Ok(k) => implements(leaf, &stubs[k].1),
                Err(_) => {
                    self.function_size(target).is_some()
                        && self.symbol(target).as_deref() == Some(leaf)
                }
            };
            if !calls_leaf {
                continue;
            }
            let frames = self.frames(at);
            // A byte 0xe8 inside another instruction may decode to such a call: the site must
            // be code of this function.
            if frames.is_empty() || outer.is_none() || self.symbol(at) != outer {
                continue;
            }
            calls += 1;
            if calls > MAX_CALLS {
                return None;
            }
            match &mut first {
                None => {
                    let shared = vec![true; frames.len()];
                    first = Some((frames, shared));
                }
                Some((kept, shared)) => {
                    let same = frames.len() == kept.len()
                        && frames
                            .iter()
                            .zip(kept.iter())
                            .all(|(a, b)| a.function == b.function && a.file == b.file);
                    if !same {
                        return None;
                    }
                    for (k, frame) in frames.iter().enumerate() {
                        shared[k] &= frame.line == kept[k].line;
                    }
                }
            }
        }
        let (mut out, shared) = first?;
        for (frame, shared) in out.iter_mut().zip(shared) {
            if !shared {
                frame.line = 0;
            }
        }
        Some(out)
    }

    /// The name of the function (by the symbol table) that the code at `address` is in.
    pub fn symbol(&self, address: u64) -> Option<String> {
        self.loader
            .find_symbol(address)
            .map(|s| tidy(&crate::ingest::demangle_symbol(s)))
    }

    /// The frames at `address`, innermost (the most deeply inlined) first, the function the
    /// code was compiled in last; empty when neither DWARF nor the symbol table covers it.
    pub fn frames(&self, address: u64) -> Vec<SourceFrame> {
        let mut out = Vec::new();
        if self.has_lines
            && let Ok(mut frames) = self.loader.find_frames(address)
        {
            while let Ok(Some(frame)) = frames.next() {
                let (file, line) = frame
                    .location
                    .map(|l| (l.file.unwrap_or("").to_string(), l.line.unwrap_or(0)))
                    .unwrap_or_default();
                let function = frame
                    .function
                    .as_ref()
                    .and_then(|f| f.demangle().ok())
                    .map(|name| tidy(&name))
                    .map(|name| match rust_module_of(&file) {
                        Some(module) if !has_path(&name) => format!("{module}::{name}"),
                        _ => name,
                    })
                    .unwrap_or_default();
                out.push(SourceFrame {
                    function,
                    file,
                    line,
                });
                if out.len() >= MAX_INLINE_DEPTH {
                    break;
                }
            }
        }
        // The function the code was compiled in, by the symbol table, when DWARF did not name
        // it (no DWARF, or a unit without names).
        let symbol = || self.symbol(address);
        match out.last_mut() {
            Some(last) if last.function.is_empty() => {
                last.function = symbol().unwrap_or_default();
            }
            // DWARF without linkage names (`-C debuginfo=line-tables-only`, `-gmlt`) names a
            // function by its bare name (`gross_prices`); the symbol table has its path
            // (`corpus_prices::gross_prices`), which the source's modules and `perf script`
            // agree on.
            Some(last) if !has_path(&last.function) => {
                if let Some(qualified) = symbol()
                    && has_path(&qualified)
                    && base_name(&qualified) == base_name(&last.function)
                {
                    last.function = qualified;
                }
            }
            None => {
                if let Some(function) = symbol().or_else(|| self.stub_name(address)) {
                    out.push(SourceFrame {
                        function,
                        file: String::new(),
                        line: 0,
                    });
                }
            }
            _ => {}
        }
        out.retain(|f| !f.function.is_empty());
        out
    }
}

/// The module path of a Rust source file of the standard library or a crate from a registry,
/// by cargo's layout (`/rustc/<hash>/library/alloc/src/vec/mod.rs` is `alloc::vec`,
/// `…/registry/src/<index>/memchr-2.7.4/src/memchr.rs` is `memchr::memchr`): DWARF without
/// linkage names (`line-tables-only`) names an inlined function by its bare name, and rules
/// that know libraries by path (`alloc::vec::`, `std::`) need it. The program's own files are
/// left alone: the frames keep their file, which says their module to whoever reads the tree.
fn rust_module_of(file: &str) -> Option<String> {
    let file = file.strip_suffix(".rs")?;
    let (krate, rest) = if let Some(i) = file.rfind("/library/") {
        file[i + "/library/".len()..].split_once("/src/")?
    } else if let Some(i) = file.find("/registry/src/") {
        let after = &file[i + "/registry/src/".len()..];
        let (_, package) = after.split_once('/')?;
        let (dir, rest) = package.split_once("/src/")?;
        // `memchr-2.7.4`: the name before the version.
        let name = dir
            .rmatch_indices('-')
            .find(|(at, _)| dir[at + 1..].starts_with(|c: char| c.is_ascii_digit()))
            .map_or(dir, |(at, _)| &dir[..at]);
        (name, rest)
    } else {
        return None;
    };
    let mut path = vec![krate.replace('-', "_")];
    let parts: Vec<&str> = rest.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if last && (*part == "mod" || (i == 0 && (*part == "lib" || *part == "main"))) {
            continue;
        }
        path.push(part.to_string());
    }
    Some(path.join("::"))
}

/// Whether a function's name has a path (`a::f`), not counting its generic arguments
/// (`push<u64, alloc::alloc::Global>` has none).
fn has_path(name: &str) -> bool {
    name.starts_with('<')
        || name
            .split('<')
            .next()
            .is_some_and(|head| head.contains("::"))
}

/// The last segment of a function's path without its generic arguments (`write` for both
/// `write<u64>` and `core::ptr::write`).
fn base_name(name: &str) -> &str {
    let mut depth = 0usize;
    let mut start = 0;
    let mut end = name.len();
    for (i, c) in name.char_indices() {
        match c {
            '<' => {
                if depth == 0 {
                    end = i;
                }
                depth += 1;
            }
            '>' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && name[i..].starts_with("::") => {
                start = i + 2;
                end = name.len();
            }
            _ => {}
        }
    }
    name.get(start..end.max(start)).unwrap_or(name)
}

/// Inline frames kept at one address: DWARF from a hostile file can nest without end.
const MAX_INLINE_DEPTH: usize = 64;

/// Where binaries and their debug files are looked for.
#[derive(Clone, Debug, Default)]
pub struct Locator {
    /// Directories given by the user, searched first: by build id (`.build-id/ab/cdef...`,
    /// a debuginfod-style `<build id>/debuginfo`), by the recorded path under them (a sysroot),
    /// and by file name.
    dirs: Vec<PathBuf>,
    /// Build-id stores on this machine: perf's cache, debuginfod's client cache, the
    /// distribution's debug packages.
    stores: Vec<PathBuf>,
    debuginfod: Option<PathBuf>,
}

impl Locator {
    /// A locator searching `dirs`, then `$JOULE_SYMBOL_PATH` (directories separated by `:`),
    /// then the machine's build-id stores.
    pub fn new(dirs: &[PathBuf]) -> Self {
        let mut all: Vec<PathBuf> = dirs.to_vec();
        if let Some(paths) = std::env::var_os("JOULE_SYMBOL_PATH") {
            all.extend(std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()));
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut stores = Vec::new();
        if let Some(home) = &home {
            stores.push(home.join(".debug"));
        }
        stores.push(PathBuf::from("/usr/lib/debug"));
        let debuginfod = std::env::var_os("DEBUGINFOD_CACHE_PATH")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME")
                    .map(|c| PathBuf::from(c).join("debuginfod_client"))
            })
            .or_else(|| home.map(|h| h.join(".cache/debuginfod_client")));
        Locator {
            dirs: all,
            stores,
            debuginfod,
        }
    }

    /// A locator searching `dirs` only: none of the machine's stores, nor the environment (for
    /// tests, and for reading a profile exactly as a given set of binaries symbolizes it).
    pub fn only(dirs: &[PathBuf]) -> Self {
        Locator {
            dirs: dirs.to_vec(),
            stores: Vec::new(),
            debuginfod: None,
        }
    }

    /// The binary recorded at `recorded` with `build_id` (when the profile has it), opened:
    /// the executable found and, when it has no DWARF, its separate debug file. `Err` says
    /// what was looked for.
    pub fn open(&self, recorded: &str, build_id: Option<&[u8]>) -> Result<Binary, String> {
        let id = build_id.filter(|b| !b.is_empty()).map(hex);
        let name = Path::new(recorded).file_name().map(PathBuf::from);
        let relative = recorded.trim_start_matches('/');
        // The executable: by build id in the stores, under a given directory, or where the
        // profile says it was.
        let mut executables: Vec<PathBuf> = Vec::new();
        if let Some(id) = &id {
            executables.extend(self.by_build_id(id, false));
        }
        for dir in &self.dirs {
            if !relative.is_empty() {
                executables.push(dir.join(relative));
            }
            if let Some(name) = &name {
                executables.push(dir.join(name));
            }
        }
        executables.push(PathBuf::from(recorded));
        let executable = built_as(executables, id.as_deref()).next();
        // The debug information: the executable's own, else a separate file by build id or
        // debug link (one with line tables first; else one with the full symbol table, which
        // a stripped library's `.dynsym` lacks).
        let own_lines = executable.as_ref().is_some_and(|(_, e)| e.has_lines);
        let mut separate: Vec<(PathBuf, ElfInfo)> = Vec::new();
        if !own_lines {
            let mut candidates: Vec<PathBuf> = Vec::new();
            // By the build id recorded, else the one of the executable found.
            let want = id
                .clone()
                .or_else(|| executable.as_ref().and_then(|(_, e)| e.build_id.clone()));
            if let Some(want) = &want {
                candidates.extend(self.by_build_id(want, true));
            }
            if let Some((exe, Some(link))) = executable.as_ref().map(|(p, e)| (p, &e.debuglink)) {
                let dir = exe.parent().unwrap_or(Path::new("/"));
                candidates.push(dir.join(link));
                candidates.push(dir.join(".debug").join(link));
                let under = dir.strip_prefix("/").unwrap_or(dir);
                candidates.push(Path::new("/usr/lib/debug").join(under).join(link));
            }
            separate = built_as(candidates, want.as_deref()).collect();
        }
        let with_lines = separate.iter().position(|(_, e)| e.has_lines);
        let (symbols, has_lines) = match (with_lines, own_lines) {
            (Some(i), _) => (Some(separate.swap_remove(i)), true),
            (None, true) => (None, true),
            (None, false) => (separate.into_iter().next(), false),
        };
        // Segments from the executable when there is one, else from the debug file (which
        // keeps the program headers).
        let code = executable.as_ref().and_then(|(path, info)| {
            Some(Code {
                file: File::open(path).ok()?,
                path: path.clone(),
                segments: info.segments.clone(),
                machine: info.machine,
                plt: info.plt.clone(),
                stubs: std::sync::OnceLock::new(),
            })
        });
        let (symbols, segments) = match (symbols, executable) {
            (Some((debug, _)), Some((_, exe))) => (debug, exe.segments),
            (Some((debug, info)), None) => (debug, info.segments),
            (None, Some((exe, info))) => (exe, info.segments),
            (None, None) => {
                return Err(match &id {
                    Some(id) => format!(
                        "no binary with build id {id} found for {recorded} (give its directory with --symbol-path or $JOULE_SYMBOL_PATH)"
                    ),
                    None => format!(
                        "{recorded} not found (give its directory with --symbol-path or $JOULE_SYMBOL_PATH)"
                    ),
                });
            }
        };
        let loader = addr2line::Loader::new(&symbols)
            .map_err(|e| format!("cannot read symbols of {}: {e}", symbols.display()))?;
        Ok(Binary {
            loader,
            segments,
            has_lines,
            path: symbols,
            code,
            entries: std::sync::OnceLock::new(),
        })
    }

    /// Files that may hold the binary (`debug`: its debug file) with build id `id` (hex).
    fn by_build_id(&self, id: &str, debug: bool) -> Vec<PathBuf> {
        if id.len() < 3 {
            return Vec::new();
        }
        let (head, rest) = id.split_at(2);
        let mut out = Vec::new();
        for base in self.dirs.iter().chain(&self.stores) {
            let entry = base.join(".build-id").join(head).join(rest);
            if debug {
                out.push(entry.with_extension("debug"));
                // perf's cache: the entry is a directory holding `debug` and `elf`.
                out.push(entry.join("debug"));
            } else {
                out.push(entry.join("elf"));
                out.push(entry.clone());
            }
            out.push(entry.with_extension("debug"));
            out.push(
                base.join(id)
                    .join(if debug { "debuginfo" } else { "executable" }),
            );
        }
        if let Some(cache) = &self.debuginfod {
            out.push(
                cache
                    .join(id)
                    .join(if debug { "debuginfo" } else { "executable" }),
            );
        }
        out
    }
}

/// Of `candidates`, the ELF files with build id `want` (any, when none is known), in order,
/// each with its headers read once.
fn built_as<'a>(
    candidates: Vec<PathBuf>,
    want: Option<&'a str>,
) -> impl Iterator<Item = (PathBuf, ElfInfo)> + 'a {
    candidates
        .into_iter()
        .filter(|p| p.is_file())
        .filter_map(move |p| {
            let elf = read_elf(&p)?;
            (want.is_none() || elf.build_id.as_deref() == want).then_some((p, elf))
        })
}

/// What symbolization needs of an ELF file's headers.
struct ElfInfo {
    build_id: Option<String>,
    debuglink: Option<PathBuf>,
    has_lines: bool,
    segments: Vec<(u64, u64, u64)>,
    machine: Machine,
    /// PLT sections: (address, size).
    plt: Vec<(u64, u64)>,
}

/// The headers of the ELF file at `path`, read in place (not the whole file); `None` when it
/// is not a readable object file.
fn read_elf(path: &Path) -> Option<ElfInfo> {
    let file = File::open(path).ok()?;
    let cache = object::ReadCache::new(file);
    let elf = object::File::parse(&cache).ok()?;
    let has_lines = [".debug_line", ".zdebug_line"].iter().any(|name| {
        elf.section_by_name(name)
            .is_some_and(|s| s.file_range().is_some_and(|(_, size)| size > 0))
    });
    Some(ElfInfo {
        build_id: elf.build_id().ok().flatten().map(hex),
        debuglink: elf
            .gnu_debuglink()
            .ok()
            .flatten()
            .and_then(|(name, _)| std::str::from_utf8(name).ok().map(PathBuf::from)),
        has_lines,
        machine: match elf.architecture() {
            object::Architecture::X86_64 => Machine::X86_64,
            object::Architecture::Aarch64 => Machine::Aarch64,
            _ => Machine::Other,
        },
        plt: elf
            .sections()
            .filter(|s| {
                s.name()
                    .is_ok_and(|n| n.starts_with(".plt") || n == ".iplt")
            })
            .map(|s| (s.address(), s.size()))
            .collect(),
        segments: elf
            .segments()
            .filter_map(|s| {
                let (offset, size) = s.file_range();
                (size > 0).then_some((offset, size, s.address()))
            })
            .collect(),
    })
}

/// Whether `leaf` (a function's name in its own binary) is what a call to `name` (an imported
/// function, as a PLT stub is bound: `strcmp`, `memcpy@GLIBC_2.14`) runs: the same name, or
/// one of glibc's implementations selected at load time (`__strcmp_evex`, `__strlen_avx2`,
/// `__memmove_avx_unaligned_erms` for `memcpy`), or its internal name (`__libc_malloc`).
pub fn implements(leaf: &str, name: &str) -> bool {
    /// What glibc's x86-64 implementations add to a function's name (`__strcmp_evex`,
    /// `__memmove_avx_unaligned_erms`, `__strchr_sse2`): a variant of the same function, where
    /// any other suffix (`__memcpy_chk`, `read_config`) names another function.
    const VARIANTS: [&str; 27] = [
        "sse2",
        "sse3",
        "ssse3",
        "sse4",
        "sse42",
        "1",
        "2",
        "avx",
        "avx2",
        "avx512",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "evex",
        "evex256",
        "evex512",
        "erms",
        "unaligned",
        "aligned",
        "rtm",
        "fsrm",
        "back",
        "generic",
        "movbe",
        "no",
        "vzeroupper",
        "x86",
    ];
    let name = name
        .split('@')
        .next()
        .unwrap_or(name)
        .trim_start_matches('_');
    let full = leaf.split('@').next().unwrap_or(leaf);
    let glibc = full.starts_with("__");
    let leaf = full.trim_start_matches('_');
    let leaf = leaf.strip_prefix("libc_").unwrap_or(leaf);
    if name.is_empty() {
        return false;
    }
    let is = |base: &str| {
        leaf == base
            || (glibc
                && leaf
                    .strip_prefix(base)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .is_some_and(|rest| rest.split('_').all(|t| VARIANTS.contains(&t))))
    };
    is(name)
        || match name {
            // glibc's memcpy and mempcpy are served by memmove's implementations.
            "memcpy" => is("memmove"),
            "mempcpy" => is("memmove") || is("mempcpy"),
            _ => false,
        }
}

/// The PLT stubs of the ELF file at `path` (its PLT sections `plt`), sorted by address, each
/// with the function it jumps to: an x86-64 stub jumps through a GOT slot (`jmp
/// *rel32(%rip)`, after an `endbr64` or with a `bnd` prefix), and the slot's dynamic
/// relocation names the function. Empty when the file cannot be read.
fn plt_stubs(path: &Path, plt: &[(u64, u64)]) -> Vec<(u64, String)> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    let cache = object::ReadCache::new(file);
    let Ok(elf) = object::File::parse(&cache) else {
        return Vec::new();
    };
    let (Some(relocations), Some(symbols)) =
        (elf.dynamic_relocations(), elf.dynamic_symbol_table())
    else {
        return Vec::new();
    };
    let slots: HashMap<u64, String> = relocations
        .filter_map(|(slot, relocation)| match relocation.target() {
            object::RelocationTarget::Symbol(index) => {
                let symbol = symbols.symbol_by_index(index).ok()?;
                Some((slot, symbol.name().ok()?.to_string()))
            }
            _ => None,
        })
        .collect();
    let mut stubs = Vec::new();
    for section in elf.sections() {
        let (address, size) = (section.address(), section.size());
        if !plt.contains(&(address, size)) {
            continue;
        }
        let Ok(data) = section.data() else {
            continue;
        };
        // Stubs are 16 bytes (`.plt`, `.plt.sec`, and `.plt.got` built for IBT, whose stubs
        // start with `endbr64`) or 8 (`.plt.got` without it).
        let ibt = data.starts_with(&[0xf3, 0x0f, 0x1e, 0xfa]);
        let step = if section.name().is_ok_and(|n| n == ".plt.got") && !ibt {
            8
        } else {
            16
        };
        for (k, stub) in data.chunks(step).enumerate() {
            let Some(p) = stub.windows(2).position(|w| w == [0xff, 0x25]) else {
                continue;
            };
            let Some(rel) = stub.get(p + 2..p + 6) else {
                continue;
            };
            let rel = i32::from_le_bytes([rel[0], rel[1], rel[2], rel[3]]);
            let Some(start) = address.checked_add((k * step) as u64) else {
                break;
            };
            if let Some(name) = start
                .checked_add(p as u64 + 6)
                .and_then(|next| next.checked_add_signed(i64::from(rel)))
                .and_then(|slot| slots.get(&slot))
            {
                stubs.push((start, name.clone()));
            }
        }
    }
    stubs.sort_unstable_by_key(|(a, _)| *a);
    stubs.dedup_by_key(|(a, _)| *a);
    stubs
}

/// The functions in the symbol tables of the ELF file at `path`: (start, size), sorted
/// (empty when it cannot be read).
fn function_entries(path: &Path) -> Vec<(u64, u64)> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    let cache = object::ReadCache::new(file);
    let Ok(elf) = object::File::parse(&cache) else {
        return Vec::new();
    };
    let mut entries: Vec<(u64, u64)> = elf
        .symbols()
        .chain(elf.dynamic_symbols())
        .filter(|s| s.kind() == object::SymbolKind::Text && s.address() != 0)
        .map(|s| (s.address(), s.size()))
        .collect();
    entries.sort_unstable();
    entries.dedup();
    entries
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Binaries opened once per profile, by the path and build id the profile recorded.
pub struct Symbolizer {
    locator: Locator,
    binaries: HashMap<(String, Vec<u8>), Result<Binary, String>>,
}

impl Symbolizer {
    pub fn new(locator: Locator) -> Self {
        Symbolizer {
            locator,
            binaries: HashMap::new(),
        }
    }

    /// The binary recorded at `path` with `build_id`, opened on first use; `Err` (remembered,
    /// so a missing binary is looked for once) says what was looked for.
    pub fn binary(&mut self, path: &str, build_id: &[u8]) -> Result<&Binary, &str> {
        let locator = &self.locator;
        self.binaries
            .entry((path.to_string(), build_id.to_vec()))
            .or_insert_with(|| locator.open(path, (!build_id.is_empty()).then_some(build_id)))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Every binary looked for, with what was found: for a profile's warnings.
    pub fn missing(&self) -> impl Iterator<Item = &str> {
        self.binaries
            .values()
            .filter_map(|b| b.as_ref().err().map(String::as_str))
    }

    /// Binaries read with symbols only (no line tables), by the path the profile recorded:
    /// their frames have no lines and no inlined calls.
    pub fn without_lines(&self) -> impl Iterator<Item = &str> {
        self.binaries
            .iter()
            .filter(|(_, b)| b.as_ref().is_ok_and(|b| !b.has_lines))
            .map(|((path, _), _)| path.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_lists_are_dropped_and_namespaces_kept() {
        assert_eq!(tidy("ns::f(int, char const*)"), "ns::f");
        assert_eq!(tidy("ns::S::g() const"), "ns::S::g");
        assert_eq!(
            tidy("(anonymous namespace)::h(int)"),
            "(anonymous namespace)::h"
        );
        assert_eq!(
            tidy("core::ptr::drop_in_place<T>"),
            "core::ptr::drop_in_place<T>"
        );
        assert_eq!(tidy("main"), "main");
    }

    #[test]
    fn library_files_say_their_rust_module() {
        let of = |f: &str| rust_module_of(f);
        assert_eq!(
            of("/rustc/17067e9/library/alloc/src/vec/mod.rs").as_deref(),
            Some("alloc::vec")
        );
        assert_eq!(
            of("/rustc/17067e9/library/core/src/ptr/mod.rs").as_deref(),
            Some("core::ptr")
        );
        assert_eq!(
            of("/rustc/17067e9/library/alloc/src/raw_vec.rs").as_deref(),
            Some("alloc::raw_vec")
        );
        assert_eq!(
            of("/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/memchr-2.7.4/src/lib.rs")
                .as_deref(),
            Some("memchr")
        );
        assert_eq!(
            of("/r/registry/src/idx/aho-corasick-1.1.3/src/packed/teddy/generic.rs").as_deref(),
            Some("aho_corasick::packed::teddy::generic")
        );
        assert_eq!(of("/work/app/src/parse.rs"), None);
        assert_eq!(of("/usr/include/c++/12/bits/stl_vector.h"), None);
    }

    #[test]
    fn paths_are_told_from_generic_arguments() {
        assert!(has_path("core::ptr::write<u64>"));
        assert!(has_path("corpus_prices::gross_prices"));
        assert!(has_path("<T as a::B>::f"));
        assert!(!has_path("push<u64, alloc::alloc::Global>"));
        assert!(!has_path("gross_prices"));
    }

    #[test]
    fn base_names_drop_paths_and_generics() {
        assert_eq!(base_name("write<u64>"), "write");
        assert_eq!(base_name("core::ptr::write"), "write");
        assert_eq!(base_name("corpus_prices::gross_prices"), "gross_prices");
        assert_eq!(base_name("<T as a::B>::f"), "f");
        assert_eq!(
            base_name("Vec<u8>::push_mut<u64, alloc::alloc::Global>"),
            "push_mut"
        );
    }
}
