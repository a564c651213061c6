//! Untrusted text in the Markdown report (CommonMark with GitHub's tables and footnotes), one
//! function per place the report gives it:
//!
//! - [`inline`]: the middle of a line (a heading, a paragraph). One line; its code spans and
//!   emphasis stay, nothing else that is Markdown: no link, image, raw HTML or closing `#`s.
//! - [`inline_at_start`]: the same where a block starts (a list item's text), where a first
//!   `#`, `>`, `-`, `1.` or fence would open a block of its own.
//! - [`cell`]: a table cell, where `|` ends the cell even inside a code span.
//! - [`code`], [`code_in_cell`]: a code span the text cannot close.
//! - [`message`]: a finding's message, which is Markdown: kept as the skill wrote it when it
//!   stays inside its own blocks, otherwise shown as text in a fenced block naming the skill.
//! - [`fenced`]: a fenced code block the text cannot close (a patch).
//!
//! Text the skill did not ask to be Markdown is escaped only where it would be read as
//! Markdown, so a normal title or patch is written byte for byte as before.

use std::borrow::Cow;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::{lines, one_line};

/// `text` for the middle of a line of Markdown: one line whose only Markdown is its code spans
/// and emphasis.
pub fn inline(text: &str) -> String {
    escape_line(&one_line(text))
}

/// `text` for a table cell: [`inline`], and no `|` that ends the cell.
pub fn cell(text: &str) -> String {
    pipes_escaped(&escape_line(&one_line(text)))
}

/// `text` where a block starts, such as after a list marker: [`inline`], without the leading
/// spaces that would make it code, and with a first character that would open a block of its
/// own (a heading, a quote, a list, a fence, a rule, a table) escaped.
pub fn inline_at_start(text: &str) -> String {
    let line = one_line(text);
    let line = line.trim_start_matches(' ');
    // Three backticks would open a fence, even as the start of a code span: they are escaped,
    // not the span's first one alone (which would let the span's text out of it).
    let ticks = run_at(line.as_bytes(), 0, b'`');
    let escaped = if ticks >= 3 {
        "\\`".repeat(ticks) + &escape_line(&line[ticks..])
    } else {
        escape_line(line)
    };
    if opens_block(&escaped) {
        let at = if escaped.starts_with(|c: char| c.is_ascii_digit()) {
            // `1.` and `1)` open an ordered list: escape the delimiter.
            escaped.find(|c: char| !c.is_ascii_digit()).unwrap_or(0)
        } else {
            0
        };
        format!("{}\\{}", &escaped[..at], &escaped[at..])
    } else {
        escaped
    }
}

/// `text` as one code span, whatever backticks it holds; empty text is no span at all.
pub fn code(text: &str) -> String {
    code_span(&one_line(text))
}

/// [`code`] for a table cell: no `|` in it ends the cell.
pub fn code_in_cell(text: &str) -> String {
    pipes_escaped(&code_span(&one_line(text)))
}

/// Opens and closes no block: the first paragraph of an extra document after the message.
const MESSAGE_END: &str = "joule-message-end";

/// A finding's message (Markdown), written so that it ends where it seems to: kept as the skill
/// wrote it when a CommonMark parser finds it holds no heading, raw HTML, image or footnote
/// definition, and closes every block it opens (a paragraph after it is still a paragraph of
/// its own); raw HTML is first tried as text (`&lt;`), and so is every `\<` (see
/// [`escape_line`] for why). Otherwise it is shown as text, in a fenced block that names
/// `author`, the skill: it cannot close that block or start a heading.
pub fn message(text: &str, author: &str) -> String {
    let text = lines(text.trim_end());
    let written = lt_as_text(&text, holds_html(&text));
    if contained(&written) {
        return written.into_owned();
    }
    format!(
        "Message from {}, shown as text: as Markdown it would change the report's layout (a \
         heading, raw HTML, an image, a footnote or a block left open).\n\n{}",
        code(author),
        fenced(&text, "text")
    )
}

/// `text` as a fenced code block with `info` (`diff`): the fence is longer than any run of
/// backticks in the text, so no line of it closes the block. Ends with the closing fence, no
/// line break after it.
pub fn fenced(text: &str, info: &str) -> String {
    let text = lines(text);
    let fence = "`".repeat(longest_run(&text, b'`').max(2) + 1);
    let newline = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{fence}{info}\n{text}{newline}{fence}")
}

/// The Markdown the report is read as: CommonMark and what GitHub adds to it.
pub(super) fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
}

/// Whether `text`, as a document of its own followed by a paragraph, holds no heading, HTML,
/// image or footnote definition, leaves that paragraph a paragraph at the top level, and has no
/// code span right after a bare URL (GitHub would take the span's first backtick into the link
/// and read its text as Markdown).
fn contained(text: &str) -> bool {
    let doc = format!("{text}\n\n{MESSAGE_END}\n");
    let mut depth = 0usize;
    let mut last_top_paragraph = None;
    let events: Vec<(Event, std::ops::Range<usize>)> = Parser::new_ext(&doc, options())
        .into_offset_iter()
        .collect();
    for (i, (event, range)) in events.iter().enumerate() {
        match event {
            Event::Start(
                Tag::Heading { .. }
                | Tag::HtmlBlock
                | Tag::Image { .. }
                | Tag::FootnoteDefinition(_)
                | Tag::MetadataBlock(_),
            )
            | Event::Html(_)
            | Event::InlineHtml(_) => return false,
            Event::Code(_) => {
                let before = &doc[..range.start];
                let word = before
                    .rfind(|c: char| c.is_ascii_whitespace())
                    .map_or(before, |at| &before[at + 1..]);
                if holds_url(word) {
                    return false;
                }
            }
            Event::Start(tag) => {
                if depth == 0 && matches!(tag, Tag::Paragraph) {
                    last_top_paragraph = Some(i);
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    last_top_paragraph.is_some_and(|i| {
        events.len() == i + 3 && matches!(&events[i + 1].0, Event::Text(t) if &**t == MESSAGE_END)
    })
}

fn holds_html(text: &str) -> bool {
    Parser::new_ext(text, options()).any(|e| {
        matches!(
            e,
            Event::Html(_) | Event::InlineHtml(_) | Event::Start(Tag::HtmlBlock)
        )
    })
}

/// `text` with every `\<` outside code spans and code blocks written `&lt;` (the same
/// character, and no backslash for a bare URL before it to take), and, when `all`, every other
/// `<` there too: it shows the same and is never HTML.
fn lt_as_text(text: &str, all: bool) -> Cow<'_, str> {
    if !all && !text.contains("\\<") {
        return Cow::Borrowed(text);
    }
    let mut code = Vec::new();
    let mut block_start = None;
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        match event {
            Event::Code(_) => code.push(range),
            Event::Start(Tag::CodeBlock(_)) => block_start = Some(range.start),
            Event::End(TagEnd::CodeBlock) => {
                code.push(block_start.take().unwrap_or(range.start)..range.end);
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut backslashes = 0;
    for (i, c) in text.char_indices() {
        if c == '<' && !code.iter().any(|r| r.contains(&i)) {
            if backslashes % 2 == 1 {
                out.pop();
                out.push_str("&lt;");
            } else if all {
                out.push_str("&lt;");
            } else {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
    }
    Cow::Owned(out)
}

/// The longest run of `byte` in `text`.
fn longest_run(text: &str, byte: u8) -> usize {
    text.as_bytes()
        .split(|&b| b != byte)
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0)
}

/// The length of the run of `byte` at `at`.
fn run_at(bytes: &[u8], at: usize, byte: u8) -> usize {
    bytes[at..].iter().take_while(|&&b| b == byte).count()
}

/// Where the next run of exactly `n` backticks after `from` starts: the end of a code span that
/// opens with `n` backticks (inside a span, backslashes escape nothing).
fn closing_run(bytes: &[u8], from: usize, n: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let run = run_at(bytes, i, b'`');
            if run == n {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// One line of text (no line breaks) escaped for a line of Markdown: its code spans kept, an
/// unmatched backtick escaped, `<` written `&lt;`, `[` and `]` escaped, the backslash escapes
/// the text already has kept, a trailing backslash escaped, and `#`s at the end that a heading
/// would drop escaped.
///
/// GitHub links bare URLs (`https://...`, `www.`) as it reads a line, taking every character up
/// to a space or `<`, backslashes and backticks included. So `<` is never escaped with a
/// backslash (a link before it would take the backslash and leave the `<`), and backticks in a
/// word holding a URL open no code span (the link would take the first backtick and leave the
/// span's text to be read as Markdown).
fn escape_line(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 8);
    // Where the word being written started in `out`: since the last space.
    let mut word = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => match bytes.get(i + 1) {
                Some(b'<') => {
                    out.push_str("&lt;");
                    i += 2;
                }
                // An escape the text has already: Markdown reads the character after it as
                // itself, as we want; copied as is, so it cannot pair with what follows.
                Some(next) if next.is_ascii_punctuation() => {
                    out.push_str(&text[i..i + 2]);
                    i += 2;
                }
                None => {
                    out.push_str("\\\\");
                    i += 1;
                }
                Some(_) => {
                    out.push('\\');
                    i += 1;
                }
            },
            b'`' => {
                let n = run_at(bytes, i, b'`');
                let span = if holds_url(&out[word..]) {
                    None
                } else {
                    closing_run(bytes, i + n, n)
                };
                match span {
                    Some(close) => {
                        out.push_str(&text[i..close + n]);
                        i = close + n;
                    }
                    None => {
                        out.push_str(&"\\`".repeat(n));
                        i += n;
                    }
                }
            }
            b'<' => {
                out.push_str("&lt;");
                i += 1;
            }
            b'[' | b']' => {
                out.push('\\');
                out.push(bytes[i] as char);
                i += 1;
            }
            b' ' => {
                out.push(' ');
                word = out.len();
                i += 1;
            }
            _ => {
                // Everything else, a whole character at a time (the bytes above are ASCII).
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[i..i + len]);
                i += len;
            }
        }
    }
    escape_closing_hashes(&mut out);
    out
}

/// Whether `word` holds what GitHub would start a link at: a scheme's `://` or `www.`.
fn holds_url(word: &str) -> bool {
    word.contains("://") || word.to_ascii_lowercase().contains("www.")
}

/// `## Title #` is a heading `Title`: `#`s at the end after a space are dropped. Escapes the
/// first of them so they stay.
fn escape_closing_hashes(text: &mut String) {
    let trimmed = text.trim_end_matches([' ', '\t']);
    if !trimmed.ends_with('#') {
        return;
    }
    let run = trimmed.len() - trimmed.trim_end_matches('#').len();
    let at = trimmed.len() - run;
    let before = trimmed[..at].chars().next_back();
    if before.is_none_or(|c| c == ' ' || c == '\t') {
        text.insert(at, '\\');
    }
}

/// `text` with an odd number of backslashes before every `|`, so that no reader of GitHub's
/// tables (whether or not it pairs backslashes) takes one for the end of the cell.
fn pipes_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut backslashes = 0;
    for c in text.chars() {
        if c == '|' && backslashes % 2 == 0 {
            out.push('\\');
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        out.push(c);
    }
    out
}

/// A code span holding exactly `text` (one line): delimited by one backtick more than its
/// longest run, and padded with a space on each side when it starts or ends with a backtick or
/// with spaces on both sides (a reader strips one space from each side of such a span).
fn code_span(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest_run(text, b'`') + 1);
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ')
            && text.ends_with(' ')
            && !text.trim_start_matches(' ').is_empty());
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Whether a line starting with `text` would open a block: an ATX heading, a quote, a list
/// item, a code fence, a thematic break or setext underline, a table row.
fn opens_block(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    let then_blank = |at: usize| bytes.get(at).is_none_or(|b| *b == b' ' || *b == b'\t');
    match first {
        b'#' | b'>' | b'=' | b'|' => true,
        b'-' | b'+' | b'*' => then_blank(1) || rule(text),
        b'_' => rule(text),
        b'`' | b'~' => run_at(bytes, 0, first) >= 3,
        b'0'..=b'9' => {
            let digits = run_at_digits(bytes);
            digits <= 9 && matches!(bytes.get(digits), Some(b'.' | b')')) && then_blank(digits + 1)
        }
        _ => false,
    }
}

fn run_at_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Whether `text` is a thematic break: three or more of one of `-*_`, spaces between.
fn rule(text: &str) -> bool {
    let mut chars = text.chars().filter(|c| *c != ' ' && *c != '\t');
    let Some(first) = chars.next() else {
        return false;
    };
    let rest: Vec<char> = chars.collect();
    rest.len() >= 2 && rest.iter().all(|c| *c == first)
}
