//! `unbuffered-write`: `write!` / `writeln!` to a `File` inside a loop make a `write` system
//! call for every piece the format produces; a `BufWriter` gathers them into 8 KiB writes.
//!
//! Profile evidence: the time in `write` system calls (glibc's `write`, the kernel's
//! `ksys_write` when the profile has kernel frames) charged to the function that formats into
//! the file. Source evidence (syntax queries in that function): a `let mut NAME =
//! File::create(..)` (or `File::open`, `OpenOptions .. open`), `write!(NAME, ..)` or
//! `writeln!(NAME, ..)` inside a loop, and no `BufWriter` in the function. The patch wraps the
//! file in `std::io::BufWriter::new(..)` and, when the function propagates errors with `?`,
//! flushes after the loop so a failed write is still reported (a `BufWriter` dropped without a
//! flush swallows the error).

use joule_sdk::SyntaxMatch;
use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// The write system call, in user space and (perf profiles) in the kernel.
const COST: &str = r"^(__GI___libc_write|__libc_write|__write|write|__GI___write|__write_nocancel|ksys_write|vfs_write|__x64_sys_write)$";

/// Where a formatted write enters the standard library, formatting included.
/// (Only the file and descriptor parts of `std::sys`: the rest holds the runtime's own start-up
/// frames, at the root of every stack.)
const LIBRARY: &str = r"^<?(std::io::|std::fs::|std::sys::(fd|fs|pal::unix::fd|pal::unix::fs)::|core::fmt::|&mut W as core::fmt::Write)|^(__GI___libc_write|__libc_write|__write|write|__GI___write)$";

const WRITES: &str = r#"((macro_invocation macro: (identifier) @macro (token_tree . (identifier) @target)) @write
  (#any-of? @macro "write" "writeln"))"#;

const FILES: &str =
    r#"(let_declaration (mutable_specifier) pattern: (identifier) @name value: (_) @value) @let"#;

const LOOPS: &str = r#"[(for_expression) (while_expression) (loop_expression)] @loop"#;

/// Share of the system calls the fix removes: one `write` per 8 KiB instead of one per piece.
const REMOVED: f64 = 0.95;

struct UnbufferedWrite;

impl Skill for UnbufferedWrite {
    fn describe() -> Descriptor {
        Describe::offense(
            "unbuffered-write",
            env!("CARGO_PKG_VERSION"),
            "Formatted writes to an unbuffered file inside a loop (a system call per piece); \
             proposes wrapping the file in a BufWriter.",
            "0.02",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        Attribution::new(COST, LIBRARY).glue("std::").scan(
            invocation,
            "write system calls",
            caller_findings,
        )
    }
}

/// Whether a `let` value opens a file for writing.
pub fn opens_a_file(value: &str) -> bool {
    let value: String = value.split_whitespace().collect();
    value.contains("File::create(")
        || value.contains("File::options()")
        || value.contains("OpenOptions::new()")
        || value.contains("File::create_new(")
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let unit = profile.unit();
    let writes = sites_in(trees, function, &Query::new(Language::Rust, WRITES))?;
    let files = sites_in(trees, function, &Query::new(Language::Rust, FILES))?;
    let mut findings = Vec::new();
    for (tree_name, file) in &files {
        let (Some(name), Some(value), Some(decl)) = (
            file.capture("name"),
            file.capture("value"),
            file.capture("let"),
        ) else {
            continue;
        };
        if !opens_a_file(&value.text) || !value.is_whole() {
            continue;
        }
        let in_loop: Vec<&SyntaxMatch> = writes
            .iter()
            .filter(|(t, w)| t == tree_name && w.path == file.path && w.loop_depth > 0)
            .map(|(_, w)| w)
            .filter(|w| w.text("target") == name.text)
            .collect();
        let Some(first) = in_loop.first() else {
            continue;
        };
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        let Some(lines) = file.function_lines else {
            continue;
        };
        let body = tree
            .read_lines(&file.path, lines.start, lines.end)?
            .join("\n");
        if body.contains("BufWriter")
            || body.contains("LineWriter")
            || uses_as_file(&body, &name.text)
        {
            continue;
        }
        let mut edits = vec![Edit::capture(
            tree_name,
            &file.path,
            value,
            &format!("std::io::BufWriter::new({})", value.text),
        )];
        // Flush after the loop, handling its error as the writes do theirs: a dropped
        // `BufWriter` flushes but swallows the error, and code after the loop may read the file.
        let Some(write) = first.capture("write") else {
            continue;
        };
        // The write's lines: the `?` or `.unwrap()` comes after the macro's closing bracket.
        let write_line = tree
            .read_lines(&first.path, write.lines.start, write.lines.end)?
            .join("\n");
        let flush = flush_statement(&name.text, &write_line);
        let Some((end, indent)) = loop_end(tree, first, decl.bytes.end)? else {
            continue;
        };
        edits.push(Edit::lines(
            tree_name,
            &file.path,
            end + 1,
            end,
            &format!("{indent}{flush}\n"),
        ));
        let write = first.capture("write").map_or("", |w| w.text.as_str());
        let mut f = Finding::opportunity("unbuffered-write")
            .title(format!(
                "`{}` makes a system call for every piece it writes to `{}`: {} of {}",
                function.name,
                name.text,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} is spent in `write` system calls from `{}`. `{}` is a plain \
                 `File` (`{}`), and inside a loop\n\n```rust\n{}\n```\n\nformats straight into \
                 it: every piece of every line is its own system call. A `BufWriter` collects \
                 them and writes 8 KiB at a time.{}",
                profile.cost(caller.value),
                function.name,
                name.text,
                decl.text.trim(),
                write.lines().next().unwrap_or(""),
                " The patch also flushes after the loop, handling its error as the writes do \
                 (dropping a `BufWriter` flushes but swallows the error)."
            ))
            .location(Location::capture(tree_name, &file.path, decl).in_function(&function.name))
            .measured(profile, caller.value)
            .saving(share * REMOVED)
            .confidence(0.9)
            .evidence("time in write system calls", caller.value as f64, unit)
            .evidence("writes in loops", in_loop.len() as f64, "calls")
            .label("fingerprint", format!("{}:{}", name.text, value.text));
        for e in edits {
            f = f.edit(e);
        }
        findings.push(f.build());
    }
    Ok(findings)
}

/// Whether the function uses `name` as a `File` beyond writing to it (passes it by reference,
/// syncs it, asks its metadata): a `BufWriter` would not do there.
pub fn uses_as_file(body: &str, name: &str) -> bool {
    [
        format!("&{name}"),
        format!("&mut {name}"),
        format!("{name}.sync_"),
        format!("{name}.set_len("),
        format!("{name}.metadata("),
        format!("{name}.seek("),
    ]
    .iter()
    .any(|use_| body.contains(use_.as_str()))
}

/// The flush for `name`, with the error handled as on `write_line` (a write in the loop):
/// `?`, `.unwrap()`, `.expect(..)`, else ignored as the write's result is.
pub fn flush_statement(name: &str, write_line: &str) -> String {
    if write_line.contains(")?") {
        format!("{name}.flush()?;")
    } else if write_line.contains(".unwrap()") {
        format!("{name}.flush().unwrap();")
    } else if write_line.contains(".expect(") {
        format!("{name}.flush().expect(\"flush {name}\");")
    } else {
        format!("let _ = {name}.flush();")
    }
}

/// The last line of the outermost loop around `write` that starts after byte `after` (the
/// file's `let`: an enclosing loop that opens the file each time is not the one to flush
/// after), and that loop's indentation.
fn loop_end(
    tree: &Tree,
    write: &SyntaxMatch,
    after: u64,
) -> Result<Option<(u32, String)>, CallError> {
    let Some(w) = write.capture("write") else {
        return Ok(None);
    };
    let loops = tree.query(&Query::new(Language::Rust, LOOPS).glob(&write.path))?;
    let outer = loops
        .iter()
        .filter(|m| m.function == write.function)
        .filter_map(|m| m.capture("loop"))
        .filter(|l| l.bytes.start <= w.bytes.start && w.bytes.end <= l.bytes.end)
        .filter(|l| l.bytes.start >= after)
        .min_by_key(|l| l.bytes.start);
    match outer {
        Some(l) => Ok(Some((
            l.lines.end,
            tree.indentation(&write.path, l.lines.start)?,
        ))),
        None => Ok(None),
    }
}

export_skill!(UnbufferedWrite, id = "unbuffered-write");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_openings_are_recognised() {
        assert!(opens_a_file("File::create(path)?"));
        assert!(opens_a_file(
            "std::fs::OpenOptions::new()\n    .append(true)\n    .open(p)?"
        ));
        assert!(!opens_a_file("Vec::new()"));
        assert!(!opens_a_file("File::open(p)?"));
    }

    #[test]
    fn the_flush_handles_errors_as_the_writes_do() {
        assert_eq!(
            flush_statement("f", "    writeln!(f, \"x\")?;"),
            "f.flush()?;"
        );
        assert_eq!(
            flush_statement("f", "writeln!(f, \"x\").unwrap();"),
            "f.flush().unwrap();"
        );
        assert_eq!(
            flush_statement("f", "let _ = writeln!(f, \"x\");"),
            "let _ = f.flush();"
        );
        assert!(uses_as_file("g(&mut f);", "f"));
        assert!(uses_as_file("f.sync_all()?;", "f"));
        assert!(!uses_as_file("writeln!(f, \"x\")?;", "f"));
    }
}
