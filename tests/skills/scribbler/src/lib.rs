//! A skill whose every string is written to break the output it lands in: line breaks, `\r`,
//! `|`, raw HTML, code fences, Markdown headings, terminal escape sequences (erase the line,
//! move up, set the window title, an OSC 8 link), bidi overrides and NUL. They are in its
//! descriptor (version, summary, trigger rule, capability and parameter names), its findings
//! (titles, rules, messages, locations, evidence, edits, labels), its log lines, its stdout and
//! stderr, and its error. Each tries to forge something a reader trusts: a finding credited to
//! `hot-functions`, a row of the runs table, `gaps: none` in `joule audit`, a grant in a policy
//! `joule policy init` writes, the terminal's last line. The host must keep each inside the
//! place it was given: one cell, one line, one code span, one block.

use joule_sdk::prelude::*;

/// A row of the findings table crediting `hot-functions`.
const FORGED_ROW: &str = "\n| 99 | forged | opportunity | 100.0% | – | 1.00 | `hot-functions` |\n";
/// A finding section credited to `hot-functions`.
const FORGED_FINDING: &str = "\n\n## 99. Forged finding\n\n**opportunity** · rule `forged` · skill `hot-functions` · share 100.0%\n\n";
/// A row of the runs table.
const FORGED_RUN: &str = "\n| `hot-functions` | 0.1.0 | scan | ok | 1.0 ms | 0 |  |\n";
/// The end of an audit block and the start of another, with no gaps.
const FORGED_AUDIT: &str =
    "\n  gaps:     none\n\nhot-functions 0.1.0 (forged.wasm)\n  verdict:  loads\n  gaps:     none";
/// Keys of a policy: a grant of every source tree to `hot-functions`.
const FORGED_POLICY: &str =
    "\n[[skill]]\nid = \"hot-functions\"\ndigest = \"sha256:0\"\nsources = [\"*\"]\n";
/// What a terminal acts on: erase the line, carriage return, cursor up, a fake host line, the
/// window title, a hidden link, a right-to-left override, NUL, backspace.
const TERMINAL: &str = "\x1b[2K\r\x1b[1Ajoule: all findings verified\x1b]0;pwned\x07 \x1b]8;;http://evil.example\x07click\x1b]8;;\x07 \u{202e}txt.exe\0\x08";
/// HTML a Markdown viewer would run or fetch.
const HTML: &str = "<script>alert(1)</script><img src=x onerror=alert(1)>";
/// Fences that close or open code blocks, and a heading after them.
const FENCES: &str = "\n```\n</details>\n~~~\n````\n# Injected heading\n";

/// The rule of the one finding the skill also triggers on.
const TRIGGER_RULE: &str = "scribbled\n| 98 | forged |\x1b[2K";

/// Pieces each also written alone into a finding's title, one finding each.
const PIECES: &[&str] = &[
    FORGED_ROW,
    FORGED_FINDING,
    FORGED_RUN,
    FORGED_AUDIT,
    FORGED_POLICY,
    TERMINAL,
    HTML,
    FENCES,
    "\r",
    "|",
    "\\|",
    "`",
    "```",
    "<!--",
    "[^1]: footnote",
    "![tracker](http://evil.example/?leak)",
    "\u{202e}",
    "\0",
    "# heading",
    "\n---\n",
    "\u{2028}",
    "trailing #",
];

struct Scribbler;

impl Skill for Scribbler {
    fn describe() -> Descriptor {
        Describe::new(
            "scribbler",
            &format!("0.1.0{FORGED_RUN}{TERMINAL}"),
            &format!("Writes text that tries to break every output.{FORGED_POLICY}{FORGED_AUDIT}{TERMINAL}"),
        )
        .on_scan()
        .on_finding(FindingKind::Info, Some(TRIGGER_RULE))
        .uses("log")
        .uses(&format!("profiles{FORGED_AUDIT}{TERMINAL}"))
        .parameter(
            &format!("limit{FORGED_ROW}{TERMINAL}"),
            &format!("## Heading{FORGED_AUDIT}{TERMINAL}"),
            Some(&format!("1{TERMINAL}")),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        if invocation.input.is_some() {
            // The run its own finding triggered: fails, with an error to forge rows and lines.
            return Err(format!("scribbled error{FORGED_RUN}{TERMINAL}{HTML}"));
        }
        log::error(format!("log line{FORGED_RUN}{TERMINAL}"));
        log::warn(format!("{TERMINAL}\nwarning: forged host line"));
        print!("stdout{TERMINAL}\n{FORGED_ROW}");
        eprint!("stderr{TERMINAL}\n{FORGED_RUN}");

        let mut findings = vec![
            // Ranked first: a forged row, terminal escapes and HTML in the title; a message
            // with a forged finding, HTML and a fence left open; a location, evidence and
            // labels with more of the same.
            Finding::info(TRIGGER_RULE)
                .title(format!("scribbled{FORGED_ROW}{TERMINAL}{HTML}"))
                .message(format!(
                    "Nothing to see.{FORGED_FINDING}{HTML}{FENCES}```\nleft open"
                ))
                .location(
                    Location::lines("app", &format!("src/lib.rs`{FORGED_ROW}"), 1, 1)
                        .in_function(&format!("{TERMINAL}f")),
                )
                // A file the skill may not read: a report that quotes source lines must not
                // quote these.
                .location(Location::lines("app", ".env", 1, 3))
                .share(0.99)
                .confidence(1.0)
                .evidence(&format!("- {FORGED_RUN}"), 1.0, TERMINAL)
                .evidence(&format!("# {FORGED_FINDING}"), 2.0, FORGED_ROW)
                .series(format!("series{TERMINAL}"))
                .at(format!("now{FORGED_ROW}"))
                .label("fingerprint", "first")
                .label(&format!("key{TERMINAL}"), format!("value{FORGED_ROW}"))
                .build(),
            // A message that is plain Markdown, and an edit whose replacement holds a fence and
            // a heading, to the tree `app`.
            Finding::opportunity(&format!("patched{FORGED_ROW}"))
                .title(format!("## 97. heading title{FORGED_FINDING}"))
                .message("A list:\n\n- `code`\n- **bold**\n\n```rust\nfn x() {}\n```\n")
                .share(0.5)
                .confidence(1.0)
                .edit(Edit::lines(
                    "app",
                    "src/lib.rs",
                    1,
                    0,
                    &format!("```\n## 97. Injected from a patch\n```\n{TERMINAL}\n"),
                ))
                .label("fingerprint", "patched")
                .build(),
            // Edits to a tree that was never granted: the reason names it.
            Finding::opportunity("unpatched")
                .title("edits to a tree that was not granted")
                .share(0.4)
                .edit(Edit::lines(
                    &format!("nowhere{FORGED_FINDING}{TERMINAL}"),
                    "x.rs",
                    1,
                    1,
                    "",
                ))
                .label("fingerprint", "unpatched")
                .build(),
        ];
        for (i, piece) in PIECES.iter().enumerate() {
            findings.push(
                Finding::opportunity(&format!("piece{piece}"))
                    .title(format!("piece {i}: {piece}"))
                    .message(format!("piece {i}:{piece}"))
                    .share(0.01)
                    .evidence(piece, i as f64, piece)
                    .label("fingerprint", i.to_string())
                    .build(),
            );
        }
        Ok(findings)
    }
}

export_skill!(Scribbler);
