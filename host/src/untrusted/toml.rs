//! Untrusted text in TOML (`joule policy init`): a string value that holds exactly the text and
//! cannot end early, and comment text that cannot start a line of its own. A line break in a
//! skill's summary must not become a key of the policy (a grant).

use std::fmt::Write;

use super::{hazard, one_line};

/// `text` as a TOML basic string, quotes included, holding exactly `text`. Written here rather
/// than by the `toml` crate so that bidi controls and the line separators are escaped too (the
/// crate writes them as they are, which a terminal showing the policy would act on).
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hazard(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` for the rest of a comment line (after `# `): one line, with no control character
/// (TOML allows none in a comment but tab) and no bidi control.
pub fn comment(text: &str) -> String {
    one_line(text).into_owned()
}
