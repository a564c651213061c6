//! Go function bodies left out when a file is indexed: the symbol index needs each function's
//! signature and lines, and parsing the bodies (most of a Go file) is most of its time. The
//! braces outside functions (type declarations, composite literals of variables) are left out
//! too: nothing the index names is in them.
//!
//! [`go_code_ranges`] gives the parser the text around those braces' insides as its included
//! ranges, so it never reads them and every node keeps its byte offset and line in the file;
//! tree-sitter finds the same functions with the same lines, parsing a fraction of the code
//! (the tests see the same through [`blank_go_bodies`], the insides turned to spaces). Go's
//! grammar makes a body easy to find without a parser: a function declaration begins with
//! `func` outside any braces, and its body's `{` is the first brace at parenthesis and bracket
//! depth 0 that does not open a `struct` or `interface` type, on the line its signature ends (a
//! newline there ends a body-less declaration). Strings, raw strings, runes and comments are
//! skipped whole, so a brace in one is not counted. A file this reading cannot follow (an
//! unterminated string or comment, unbalanced braces) gives `None`: the caller parses it as it
//! is.

/// `source` with every function body's text blanked (see the module), or `None` when it does
/// not lex as Go: what the parser sees of a file with [`go_code_ranges`], for the tests.
#[cfg(test)]
pub(crate) fn blank_go_bodies(source: &[u8]) -> Option<Vec<u8>> {
    let mut out = source.to_vec();
    for (start, end) in go_bodies(source)? {
        for b in &mut out[start..end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    Some(out)
}

/// The parts of `source` the index parses, as tree-sitter takes them
/// (`Parser::set_included_ranges`): everything but the text inside the braces
/// [`blank_go_bodies`] blanks. The parser then never reads that text, where with it blanked
/// its lexer still steps over every space; every node keeps its place in the file. `None`
/// when it does not lex as Go.
pub(crate) fn go_code_ranges(source: &[u8]) -> Option<Vec<tree_sitter::Range>> {
    let mut ranges = Vec::new();
    // Where each boundary is: (byte, row, byte where the row starts), counted forwards.
    let (mut at, mut row, mut row_start) = (0usize, 0usize, 0usize);
    let mut point = |to: usize| {
        for (k, &b) in source[at..to].iter().enumerate() {
            if b == b'\n' {
                row += 1;
                row_start = at + k + 1;
            }
        }
        at = to;
        tree_sitter::Point::new(row, to - row_start)
    };
    let mut start = (0usize, point(0));
    for (from, to) in go_bodies(source)? {
        if from == to {
            continue;
        }
        let end = point(from);
        ranges.push(tree_sitter::Range {
            start_byte: start.0,
            end_byte: from,
            start_point: start.1,
            end_point: end,
        });
        start = (to, point(to));
    }
    let end = point(source.len());
    ranges.push(tree_sitter::Range {
        start_byte: start.0,
        end_byte: source.len(),
        start_point: start.1,
        end_point: end,
    });
    Some(ranges)
}

/// The byte ranges (inside the braces) [`blank_go_bodies`] blanks, in order.
fn go_bodies(source: &[u8]) -> Option<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < source.len() {
        match source[i] {
            b'/' | b'"' | b'`' | b'\'' => i = past(source, i)?,
            // Braces outside functions (a type's fields, a variable's composite literal, the
            // function literals in it): no function the index names is inside, so blanked as
            // bodies are. Go's generated tables (`unicode`'s, `crypto`'s) are most of their
            // files' text.
            b'{' => i = body(source, i, &mut out)?,
            b'}' => return None,
            b'f' if keyword_at(source, i, b"func") => {
                i = signature(source, i + 4, &mut out)?;
            }
            c if is_ident(c) => {
                while i < source.len() && is_ident(source[i]) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    Some(out)
}

/// Reads a function's signature from `i` (just after `func`) to its body, records the body in
/// `out`, and returns where reading goes on: after the body's `}`, or at the newline that ends
/// a declaration without one.
fn signature(source: &[u8], mut i: usize, out: &mut Vec<(usize, usize)>) -> Option<usize> {
    let (mut parens, mut brackets, mut types) = (0usize, 0usize, 0usize);
    let mut last_word: &[u8] = b"";
    while i < source.len() {
        match source[i] {
            b'/' | b'"' | b'`' | b'\'' => i = past(source, i)?,
            b'(' => {
                parens += 1;
                i += 1;
            }
            b')' => {
                parens = parens.checked_sub(1)?;
                i += 1;
            }
            b'[' => {
                brackets += 1;
                i += 1;
            }
            b']' => {
                brackets = brackets.checked_sub(1)?;
                i += 1;
            }
            b'{' if parens == 0 && brackets == 0 && types == 0 => {
                if last_word == b"struct" || last_word == b"interface" {
                    types += 1;
                    i += 1;
                } else {
                    return body(source, i, out);
                }
            }
            b'{' => {
                types += 1;
                i += 1;
            }
            b'}' => {
                types = types.checked_sub(1)?;
                last_word = b"";
                i += 1;
            }
            b'\n' if parens == 0 && brackets == 0 && types == 0 => return Some(i + 1),
            c if is_ident(c) => {
                let start = i;
                while i < source.len() && is_ident(source[i]) {
                    i += 1;
                }
                last_word = &source[start..i];
            }
            c => {
                if !c.is_ascii_whitespace() {
                    last_word = b"";
                }
                i += 1;
            }
        }
    }
    // The file ends in a signature: nothing to blank.
    Some(i)
}

/// Records the inside of the braces whose `{` is at `open`; returns the index after its `}`.
fn body(source: &[u8], open: usize, out: &mut Vec<(usize, usize)>) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < source.len() {
        match source[i] {
            b'/' | b'"' | b'`' | b'\'' => i = past(source, i)?,
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    out.push((open + 1, i));
                    return Some(i + 1);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// Where reading goes on from a byte that may start a comment, string, raw string or rune:
/// after it, or after the byte when it starts none (a `/` that is division); `None` when it
/// is not closed.
fn past(source: &[u8], i: usize) -> Option<usize> {
    Some(skip_literal(source, i)?.unwrap_or(i + 1))
}

/// When a comment, string, raw string or rune starts at `i`: `Some(Some(end))`, the index just
/// after it; `Some(None)` when the byte starts none (a `/` that is division); `None` when it
/// is not closed.
fn skip_literal(source: &[u8], i: usize) -> Option<Option<usize>> {
    let rest = &source[i..];
    let find = |from: usize, needle: &[u8]| {
        source[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| from + p + needle.len())
    };
    Some(Some(match rest {
        [b'/', b'/', ..] => source[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(source.len(), |p| i + p),
        [b'/', b'*', ..] => find(i + 2, b"*/")?,
        [b'`', ..] => source[i + 1..].iter().position(|&b| b == b'`')? + i + 2,
        [q @ (b'"' | b'\''), ..] => {
            let mut j = i + 1;
            loop {
                match *source.get(j)? {
                    b'\\' => j += 2,
                    b'\n' => return None,
                    b if b == *q => break j + 1,
                    _ => j += 1,
                }
            }
        }
        _ => return Some(None),
    }))
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Whether the keyword `word` stands at `i` as a token of its own.
fn keyword_at(source: &[u8], i: usize, word: &[u8]) -> bool {
    source[i..].starts_with(word)
        && (i == 0 || !is_ident(source[i - 1]))
        && source.get(i + word.len()).is_none_or(|&b| !is_ident(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blanked(source: &str) -> String {
        String::from_utf8(blank_go_bodies(source.as_bytes()).expect("lexes")).unwrap()
    }

    #[test]
    fn bodies_are_blanked_and_lines_kept() {
        let source = "package p\n\nfunc (t *T) Run(x int) (int, error) {\n\tif x > 0 {\n\t\treturn x, nil\n\t}\n\treturn 0, nil\n}\n\nfunc g() {}\n";
        let out = blanked(source);
        assert_eq!(out.len(), source.len());
        assert_eq!(out.lines().count(), source.lines().count());
        assert!(out.contains("func (t *T) Run(x int) (int, error) {"));
        assert!(!out.contains("return"));
        assert!(out.contains("func g() {}"));
    }

    #[test]
    fn braces_in_literals_types_and_generics_are_not_bodies() {
        let source = r#"package p

type S struct {
	F func() error
	Tag string `json:"{"`
}

var table = map[string]int{"}": 1}

func f(x struct{ a int }) interface{ M() } {
	s := "}{"
	r := '}'
	q := `
}`
	// } in a comment
	/* { */
	return nil
}

func G[T interface{ ~int }](v T) T {
	return v
}

func asm(x int) int

func h() { _ = "\"}" }
"#;
        let out = blanked(source);
        // A type's fields and a variable's literal are blanked as bodies are.
        assert!(out.contains("type S struct {\n"), "{out}");
        assert!(!out.contains("F func() error"), "{out}");
        assert!(out.contains("var table = map[string]int{"), "{out}");
        assert!(!out.contains(r#""}": 1"#), "{out}");
        assert!(out.contains("func f(x struct{ a int }) interface{ M() } {"));
        assert!(!out.contains("} in a comment"));
        assert!(!out.contains("return v"));
        assert!(out.contains("func G[T interface{ ~int }](v T) T {"));
        assert!(out.contains("func asm(x int) int\n"));
        assert!(out.contains("func h() {"));
        assert!(!out.contains(r#"_ = "\"}""#));
        assert_eq!(out.lines().count(), source.lines().count());
    }

    #[test]
    fn what_does_not_lex_is_left_to_the_parser() {
        assert!(blank_go_bodies(b"package p\nfunc f() {\n\ts := \"open\n}\n").is_none());
        assert!(blank_go_bodies(b"package p\nfunc f() {\n").is_none());
        assert!(blank_go_bodies(b"package p\n}\n").is_none());
        assert!(blank_go_bodies(b"package p\n/* open\n").is_none());
    }
}
