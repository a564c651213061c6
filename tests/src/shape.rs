//! What a reader sees of an output: the Markdown report's headings, tables and anything that
//! should not be there (as pulldown-cmark, the parser rustdoc uses, reads it), and characters a
//! terminal would act on instead of showing. Shared by e2e/untrusted.rs and the attack
//! generator ([`crate::attack`]).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// A character a terminal acts on instead of showing it (`\n` and `\t` aside).
pub fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

pub fn assert_terminal_safe(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|(_, c)| acts_on_terminal(*c)) {
        let from = text[..at].rfind('\n').map_or(0, |n| n + 1);
        panic!(
            "{what} holds {c:?} at byte {at}, in line {:?}",
            &text[from..text[at..].find('\n').map_or(text.len(), |n| at + n)]
        );
    }
}

pub fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
}

/// The report as a reader sees it: its headings, tables (rows of cells) and the paragraph after
/// each heading, and anything that should not be there (HTML, images, footnotes).
#[derive(Debug, Default)]
pub struct Read {
    pub headings: Vec<String>,
    pub tables: Vec<Vec<Vec<String>>>,
    pub after_heading: Vec<String>,
    pub unwanted: Vec<String>,
}

pub fn read(markdown: &str) -> Read {
    let mut read = Read::default();
    let mut text: Option<String> = None;
    let mut want_paragraph = false;
    let mut depth = 0;
    for event in Parser::new_ext(markdown, markdown_options()) {
        match &event {
            Event::Start(Tag::Heading { .. }) => text = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                read.headings.push(text.take().unwrap_or_default());
                want_paragraph = true;
            }
            Event::Start(Tag::Paragraph) if depth == 0 && want_paragraph => {
                text = Some(String::new());
            }
            Event::End(TagEnd::Paragraph) if depth == 1 && want_paragraph => {
                read.after_heading.push(text.take().unwrap_or_default());
                want_paragraph = false;
            }
            Event::Start(Tag::Table(_)) => read.tables.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                read.tables.last_mut().unwrap().push(Vec::new());
            }
            Event::Start(Tag::TableCell) => text = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                let cell = text.take().unwrap_or_default();
                read.tables
                    .last_mut()
                    .unwrap()
                    .last_mut()
                    .unwrap()
                    .push(cell);
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(text) = &mut text {
                    text.push_str(t);
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => read.unwanted.push(format!("HTML {h}")),
            Event::Start(Tag::Image { dest_url, .. }) => {
                read.unwanted.push(format!("image {dest_url}"))
            }
            Event::Start(Tag::FootnoteDefinition(name)) => {
                read.unwanted.push(format!("footnote {name}"))
            }
            _ => {}
        }
        match event {
            Event::Start(Tag::Heading { .. }) => {}
            Event::Start(_) => depth += 1,
            Event::End(TagEnd::Heading(_)) => {}
            Event::End(_) => depth -= 1,
            _ => {}
        }
    }
    read
}
