//! Text a skill wrote, and the one way each output writes it.
//!
//! Titles, messages, rules, locations, evidence, versions, summaries, trigger rules, capability
//! and parameter names, log lines, captured output and run errors come from skills, and a skill
//! may be hostile: a line break in a title would add a row to the findings table, a heading in a
//! message a finding credited to another skill, an escape sequence would rewrite the terminal.
//! The host carries all of it as [`Untrusted`], which has no `Display`: `format!("{}", title)`
//! does not compile, so the only ways to write one are the functions of the output it goes to,
//! each of which keeps the text inside the place the output gives it (one table cell, one line,
//! one code span, one block):
//!
//! | output | module | functions |
//! |---|---|---|
//! | the Markdown report | [`markdown`] | `inline`, `inline_at_start`, `cell`, `code`, `code_in_cell`, `message`, `fenced` |
//! | the terminal: stderr, `joule skills`, `joule audit` | [`terminal`] | `line`, `lines` |
//! | TOML: `joule policy init` | [`toml`] | `string`, `comment` |
//!
//! JSON (the report's `--format json`, `joule skills --json`, `joule audit --format json`, the
//! audit log) writes the text as the skill gave it: serde escapes every string. A new output
//! adds its module here and the methods on `Untrusted` that call it (SARIF is JSON; HTML is not).
//!
//! What every output shares: a character that moves the cursor or changes how text is shown
//! rather than being shown never reaches an output as itself. Those are the C0 and C1 control
//! characters and DEL (escape sequences, carriage returns, NUL), the bidirectional embeddings,
//! overrides and isolates that reorder a line ("Trojan Source", U+202A-U+202E, U+2066-U+2069),
//! and the Unicode line and paragraph separators. Where an output has one line, line breaks and
//! tabs become a space; every other such character becomes its Rust escape (`\u{1b}`), visible
//! and unambiguous.

pub mod markdown;
pub mod terminal;
pub mod toml;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Text that came from a skill. It has no `Display` and no `Deref` to `str`: it is written
/// through one of the methods below, each the escaping function of one output, or read with
/// [`raw`](Untrusted::raw) for what is not an output (comparing, fingerprinting, applying an
/// edit, handing a finding to another skill). In JSON it is the plain string.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Untrusted(String);

impl Untrusted {
    pub fn new(text: impl Into<String>) -> Self {
        Untrusted(text.into())
    }

    /// The text as the skill wrote it. Not for writing into Markdown, a terminal or TOML: those
    /// go through the methods below.
    pub fn raw(&self) -> &str {
        &self.0
    }

    pub fn into_raw(self) -> String {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Its length in bytes, as the findings budget counts text.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// [`markdown::inline`]: in the middle of a line of Markdown (a heading, a paragraph).
    pub fn md_inline(&self) -> String {
        markdown::inline(&self.0)
    }

    /// [`markdown::inline_at_start`]: where a Markdown block starts (after a list marker).
    pub fn md_inline_at_start(&self) -> String {
        markdown::inline_at_start(&self.0)
    }

    /// [`markdown::cell`]: one Markdown table cell.
    pub fn md_cell(&self) -> String {
        markdown::cell(&self.0)
    }

    /// [`markdown::code`]: one Markdown code span.
    pub fn md_code(&self) -> String {
        markdown::code(&self.0)
    }

    /// [`markdown::code_in_cell`]: one code span in a Markdown table cell.
    pub fn md_code_in_cell(&self) -> String {
        markdown::code_in_cell(&self.0)
    }

    /// [`markdown::message`]: a finding's message, Markdown kept inside its own blocks.
    pub fn md_message(&self, author: &str) -> String {
        markdown::message(&self.0, author)
    }

    /// [`markdown::fenced`]: a fenced code block that the text cannot close.
    pub fn md_fenced(&self, info: &str) -> String {
        markdown::fenced(&self.0, info)
    }

    /// [`terminal::line`]: one line of a terminal.
    pub fn terminal(&self) -> String {
        terminal::line(&self.0)
    }

    /// [`toml::comment`]: the text of a TOML comment.
    pub fn toml_comment(&self) -> String {
        toml::comment(&self.0)
    }
}

impl From<String> for Untrusted {
    fn from(text: String) -> Self {
        Untrusted(text)
    }
}

impl From<&str> for Untrusted {
    fn from(text: &str) -> Self {
        Untrusted(text.to_string())
    }
}

impl PartialEq<str> for Untrusted {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Untrusted {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Untrusted {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// Whether `c` must never reach an output as itself: a control character (C0, DEL, C1) or a
/// character that reorders or breaks a line without being seen (bidi controls, U+2028, U+2029).
pub(crate) fn hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// `text` as one line: every line break (`\n`, `\r`, `\r\n`, NEL, U+2028, U+2029) and tab is a
/// space, every other hazard its escape.
pub(crate) fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' | '\t' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if hazard(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` as lines: `\r\n` is `\n`, `\n` and tabs stay, every other hazard is its escape (a
/// lone `\r` too, so no line is written over).
pub(crate) fn lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| hazard(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            c if hazard(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
