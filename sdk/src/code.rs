//! Reading source text around a use that a syntax query found: which call's argument it is.
//! For the checks skills make before they rewrite a name (does it escape, is it changed).

/// The function whose argument list `prefix` (the code before a use) ends inside, as
/// written (`strlen`, `w.Write`, `strconv.AppendInt`): the innermost open parenthesis
/// preceded by a name. A parenthesis after a statement keyword (`if (`, `while (`,
/// `return (`) or after no name (grouping) is passed over for the one outside it. `None`
/// when a statement or block boundary (`;`, `{`, `}`) comes first.
pub fn enclosing_call(prefix: &str) -> Option<String> {
    const KEYWORDS: [&str; 7] = ["if", "while", "for", "switch", "return", "sizeof", "case"];
    let bytes = prefix.as_bytes();
    let mut depth = 0usize;
    for i in (0..bytes.len()).rev() {
        match bytes[i] {
            b')' | b']' => depth += 1,
            b'(' | b'[' if depth > 0 => depth -= 1,
            b'[' => return None,
            b'(' => {
                let before = prefix[..i].trim_end();
                let name: String = before
                    .chars()
                    .rev()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                if name.is_empty() || KEYWORDS.contains(&name.as_str()) {
                    continue;
                }
                return Some(name);
            }
            b';' | b'{' | b'}' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// The index in `text` (which starts with `open`) of the `close` that balances it.
pub fn closing(text: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// `code` with the contents of its string and character literals removed (`"a,b"` -> `""`),
/// so a name or a comma inside one is not taken for code. Backquoted literals (Go's raw
/// strings) have no escapes.
pub fn without_strings(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in code.chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(q) if c == '\\' && q != '`' => escaped = true,
            Some(q) if c == q => {
                quote = None;
                out.push(c);
            }
            Some(_) => {}
            None => {
                if matches!(c, '"' | '`' | '\'') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// Whether `b` can be part of a name in the C family of languages (and Go, Rust, Java).
pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_innermost_named_call_is_found() {
        assert_eq!(enclosing_call("x = strlen(").as_deref(), Some("strlen"));
        assert_eq!(
            enclosing_call("if _, err := w.Write(").as_deref(),
            Some("w.Write")
        );
        assert_eq!(enclosing_call("f(a, g(b), ").as_deref(), Some("f"));
        assert_eq!(enclosing_call("f((a + ").as_deref(), Some("f"));
        assert_eq!(enclosing_call("if (strchr(").as_deref(), Some("strchr"));
        assert_eq!(enclosing_call("if (").as_deref(), None);
        assert_eq!(enclosing_call("x = y; z = ").as_deref(), None);
        assert_eq!(enclosing_call("m[").as_deref(), None);
        assert_eq!(enclosing_call("f(m[k], ").as_deref(), Some("f"));
    }

    #[test]
    fn brackets_close_and_strings_empty() {
        assert_eq!(closing("[a[1]] x", '[', ']'), Some(5));
        assert_eq!(closing("(a", '(', ')'), None);
        assert_eq!(
            without_strings(r#"f("a,b", 'x', `c"d`)"#),
            r#"f("", '', ``)"#
        );
        assert_eq!(without_strings(r#""a\"b", c"#), r#""", c"#);
    }
}
