//! Just enough Rust lexing for skills that read and patch source: find a function's body, the
//! top-level item around a position, and the extent of a call or string literal, without being
//! fooled by braces in strings and comments.
//!
//! The trick is a *masked* copy of the text, byte for byte the same length, where comments and
//! the insides of string and character literals are blanked. Searches run on the mask; the
//! offsets they return are valid in the original text.

use std::ops::Range;

/// A Rust source file and its masked copy.
pub struct RustSource<'a> {
    text: &'a str,
    masked: String,
    line_starts: Vec<usize>,
}

/// A function item: where its name is, its body, and where to insert code before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnItem {
    /// Byte offset of the `fn` keyword.
    pub keyword: usize,
    /// The body from `{` to the matching `}`, inclusive.
    pub body: Range<usize>,
    /// Start of the line where the item begins, its doc comments and attributes included.
    pub item_start: usize,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> RustSource<'a> {
    pub fn new(text: &'a str) -> Self {
        let masked = mask(text);
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        RustSource {
            text,
            masked,
            line_starts,
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The text with comments and literal contents blanked (same offsets).
    pub fn masked(&self) -> &str {
        &self.masked
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, pos: usize) -> u32 {
        self.line_starts.partition_point(|&s| s <= pos) as u32
    }

    /// The byte offset where 1-based `line` starts.
    pub fn line_start(&self, line: u32) -> usize {
        self.line_starts
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The text of the line containing `pos`, without its line ending.
    pub fn line_text(&self, pos: usize) -> &'a str {
        let start = self.line_start(self.line_of(pos));
        let end = self.text[start..]
            .find('\n')
            .map(|n| start + n)
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches('\r')
    }

    /// Byte offsets of `needle` in code (not in comments or literals).
    pub fn find_code(&self, needle: &str) -> Vec<usize> {
        self.masked.match_indices(needle).map(|(i, _)| i).collect()
    }

    /// The offset of the bracket closing the one at `open` (`{`, `(` or `[`).
    pub fn matching_close(&self, open: usize) -> Option<usize> {
        let bytes = self.masked.as_bytes();
        let (o, c) = match bytes.get(open)? {
            b'{' => (b'{', b'}'),
            b'(' => (b'(', b')'),
            b'[' => (b'[', b']'),
            _ => return None,
        };
        let mut depth = 0usize;
        for (i, &b) in bytes.iter().enumerate().skip(open) {
            if b == o {
                depth += 1;
            } else if b == c {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
        }
        None
    }

    /// Every function named `name` that has a body.
    pub fn functions_named(&self, name: &str) -> Vec<FnItem> {
        let bytes = self.masked.as_bytes();
        let mut items = Vec::new();
        for keyword in self.find_code("fn ") {
            if keyword > 0 && is_ident(bytes[keyword - 1]) {
                continue;
            }
            let after = self.masked[keyword + 3..].trim_start();
            let name_at = self.masked.len() - after.len();
            if !after.starts_with(name)
                || after
                    .as_bytes()
                    .get(name.len())
                    .is_none_or(|&b| is_ident(b))
            {
                continue;
            }
            // The body is the first `{` at bracket depth 0 after the name; a `;` first means a
            // declaration without a body.
            let mut depth = 0i32;
            let mut body_open = None;
            for (i, &b) in bytes.iter().enumerate().skip(name_at + name.len()) {
                match b {
                    b'(' | b'[' | b'<' => depth += 1,
                    b')' | b']' => depth -= 1,
                    // `->` is not a closing angle bracket.
                    b'>' if bytes[i - 1] != b'-' => depth -= 1,
                    b'{' if depth <= 0 => {
                        body_open = Some(i);
                        break;
                    }
                    b';' if depth <= 0 => break,
                    _ => {}
                }
            }
            let Some(open) = body_open else { continue };
            let Some(close) = self.matching_close(open) else {
                continue;
            };
            items.push(FnItem {
                keyword,
                body: open..close + 1,
                item_start: self.item_start(keyword),
            });
        }
        items
    }

    /// Where the item whose code starts at or before `pos` begins, extended upwards over the
    /// doc comments and attributes directly above it (no blank line in between).
    fn item_start(&self, pos: usize) -> usize {
        // Walk back from the `fn` keyword's line while lines are modifiers, attributes or
        // comments belonging to it.
        let mut line = self.line_of(pos);
        while line > 1 {
            let prev = self.line_text(self.line_start(line - 1)).trim();
            let attached = prev.starts_with("#[")
                || prev.starts_with("//")
                || prev.starts_with("/*")
                || prev.starts_with('*')
                || prev.ends_with(']') && prev.contains("#[");
            if !attached {
                break;
            }
            line -= 1;
        }
        self.line_start(line)
    }

    /// The start of the top-level item (at brace depth 0) containing `pos`, with its doc
    /// comments and attributes: the place to insert a new top-level item before it.
    pub fn top_level_item_start(&self, pos: usize) -> usize {
        let bytes = self.masked.as_bytes();
        let mut depth = 0i32;
        let mut expecting = true;
        let mut current = 0usize;
        for (i, &b) in bytes.iter().enumerate().take(pos) {
            match b {
                b'{' | b'(' | b'[' => {
                    if depth == 0 && expecting {
                        current = i;
                        expecting = false;
                    }
                    depth += 1;
                }
                b'}' | b')' | b']' => {
                    depth -= 1;
                    if depth == 0 && b == b'}' {
                        expecting = true;
                    }
                }
                b';' if depth == 0 => expecting = true,
                b if b.is_ascii_whitespace() => {}
                _ => {
                    if depth == 0 && expecting {
                        current = i;
                        expecting = false;
                    }
                }
            }
        }
        self.item_start(current)
    }

    /// If a string literal (`"..."`, `r"..."`, `r#"..."#`, with an optional `b`) starts at
    /// `pos` (after whitespace), its extent in the original text.
    pub fn string_literal_at(&self, pos: usize) -> Option<Range<usize>> {
        let start = pos + (self.text[pos..].len() - self.text[pos..].trim_start().len());
        let rest = &self.text.as_bytes()[start..];
        let mut i = 0;
        if rest.get(i) == Some(&b'b') {
            i += 1;
        }
        let raw = rest.get(i) == Some(&b'r');
        if raw {
            i += 1;
        }
        let mut hashes = 0;
        while raw && rest.get(i) == Some(&b'#') {
            hashes += 1;
            i += 1;
        }
        if rest.get(i) != Some(&b'"') {
            return None;
        }
        i += 1;
        loop {
            match rest.get(i)? {
                b'\\' if !raw => i += 2,
                b'"' => {
                    let closing = &rest[i + 1..];
                    if closing.len() >= hashes && closing[..hashes].iter().all(|&b| b == b'#') {
                        return Some(start..start + i + 1 + hashes);
                    }
                    i += 1;
                }
                _ => i += 1,
            }
        }
    }
}

/// Blanks comments and the insides of string and char literals, keeping newlines and the
/// literals' delimiters so offsets and line numbers stay as in the original.
fn mask(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, range: Range<usize>| {
        for byte in &mut out[range] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let prev_ident = i > 0 && is_ident(b[i - 1]);
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |n| i + n);
                blank(&mut out, i..end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                let mut j = i;
                while j < b.len() {
                    if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                        depth += 1;
                        j += 2;
                    } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                blank(&mut out, i..j.min(b.len()));
                i = j;
            }
            b'r' if !prev_ident
                || (i > 0 && b[i - 1] == b'b' && !(i > 1 && is_ident(b[i - 2]))) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let body = j + 1;
                let mut k = body;
                let end = loop {
                    if k >= b.len() {
                        break b.len();
                    }
                    if b[k] == b'"'
                        && b.len() >= k + 1 + hashes
                        && b[k + 1..k + 1 + hashes].iter().all(|&c| c == b'#')
                    {
                        break k;
                    }
                    k += 1;
                };
                blank(&mut out, body..end);
                i = (end + 1 + hashes).min(b.len());
            }
            b'"' => {
                let mut k = i + 1;
                while k < b.len() && b[k] != b'"' {
                    k += if b[k] == b'\\' { 2 } else { 1 };
                }
                let end = k.min(b.len());
                blank(&mut out, i + 1..end);
                i = end + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
                let close = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 2..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .map(|n| i + 2 + n)
                } else {
                    let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + ch_len) == Some(&b'\'')).then_some(i + 1 + ch_len)
                };
                match close {
                    Some(end) => {
                        blank(&mut out, i + 1..end);
                        i = end + 1;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    // Blanking only writes ASCII spaces over whole literals and comments, so the result is
    // valid UTF-8 unless a multi-byte character straddles a boundary, which cannot happen
    // because boundaries are ASCII delimiters.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `text` split at its top-level commas (not inside brackets or string and character
/// literals), each part trimmed: the arguments of a call as written. `None` when the brackets
/// or quotes do not balance.
pub fn split_arguments(text: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut escaped, mut start) = (0i32, None::<char>, false, 0);
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 || quote.is_some() {
        return None;
    }
    let last = text[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r##"use regex::Regex;

// A section comment.

/// Parses one line.
#[inline]
pub fn parse_line(line: &str) -> Option<u32> {
    let re = Regex::new(r"^(\d+) \{").unwrap(); // } in a comment
    let s = "fn parse_line() { not code }";
    let c = '{';
    re.captures(line).map(|c| c[1].parse().unwrap())
}

impl Parser {
    fn parse<'a>(&self, x: &'a str) -> Vec<u8>
    where
        Self: Sized,
    {
        let re = Regex::new(r#"a"b{"#).unwrap();
        vec![]
    }
}
"##;

    #[test]
    fn masks_comments_and_literals() {
        let src = RustSource::new(SRC);
        assert_eq!(src.masked().len(), SRC.len());
        assert_eq!(src.find_code("fn parse_line").len(), 1);
        assert!(!src.masked().contains("in a comment"));
        assert!(src.masked().contains("let c = ' ';"));
    }

    #[test]
    fn finds_function_bodies_and_item_starts() {
        let src = RustSource::new(SRC);
        let items = src.functions_named("parse_line");
        assert_eq!(items.len(), 1);
        let f = &items[0];
        assert_eq!(src.line_of(f.item_start), 5, "starts at the doc comment");
        assert_eq!(src.line_of(f.body.start), 7);
        assert_eq!(src.line_of(f.body.end - 1), 12);

        let parse = &src.functions_named("parse")[0];
        assert_eq!(src.line_of(parse.body.start), 18);
        assert_eq!(src.line_of(parse.body.end - 1), 21);
        let call = src.find_code("Regex::new(")[1];
        assert_eq!(
            src.line_of(src.top_level_item_start(call)),
            14,
            "the impl block"
        );
        let first = src.find_code("Regex::new(")[0];
        assert_eq!(src.line_of(src.top_level_item_start(first)), 5);
    }

    #[test]
    fn measures_string_literals_and_calls() {
        let src = RustSource::new(SRC);
        let call = src.find_code("Regex::new(")[0];
        let open = call + "Regex::new".len();
        let close = src.matching_close(open).unwrap();
        let lit = src.string_literal_at(open + 1).unwrap();
        assert_eq!(&SRC[lit.clone()], r#"r"^(\d+) \{""#);
        assert_eq!(lit.end, close);
        let second = src.find_code("Regex::new(")[1] + "Regex::new(".len();
        assert_eq!(
            &SRC[src.string_literal_at(second).unwrap()],
            r##"r#"a"b{"#"##
        );
    }

    #[test]
    fn arguments_split_at_top_level_commas() {
        assert_eq!(
            split_arguments(r#""a, b", f(x, y), [1, 2], 'c'"#),
            Some(vec![r#""a, b""#, "f(x, y)", "[1, 2]", "'c'"])
        );
        assert_eq!(split_arguments(""), Some(vec![]));
        assert_eq!(split_arguments("f(x"), None);
        assert_eq!(split_arguments(r#""open"#), None);
    }
}
