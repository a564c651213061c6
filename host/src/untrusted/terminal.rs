//! Untrusted text on a terminal (stderr warnings, `joule skills`, `joule audit`, the log lines
//! and output of skills): no escape sequence, carriage return, backspace or bidi control reaches
//! the terminal, so nothing a skill wrote can move the cursor, rewrite a line, set the window
//! title, hide a link or reorder what is shown.

/// `text` as one line: line breaks and tabs are spaces, other control and bidi characters their
/// escapes (`\u{1b}`).
pub fn line(text: &str) -> String {
    super::one_line(text).into_owned()
}

/// `text` as lines, for a message the host wrote over several lines with a skill's words in it
/// (each of which went through [`line`] first): `\n` stays, every other control and bidi
/// character is its escape.
pub fn lines(text: &str) -> String {
    super::lines(text).into_owned()
}
