//! The regexes of a query's `#match?` predicates, checked before tree-sitter compiles them.
//!
//! tree-sitter compiles each `#match?` (`#not-match?`, `#any-match?`, `#any-not-match?`)
//! string with `regex`'s default limits (10 MiB a program) and keeps the regexes with the
//! compiled query, which the process caches. A query of a thousand `(#match? @x "\\w{50}")`
//! would hold hundreds of MiB. So their number is capped, and each is compiled first within a
//! small size limit: one that does not fit is refused with `invalid-argument`, naming it, and
//! tree-sitter's own compile of it is then no larger.

use regex::RegexBuilder;

use crate::source::TreeError;

/// Regex predicates one query may hold.
pub const MAX_QUERY_REGEXES: usize = 64;
/// The most one predicate's regex may compile to (`regex`'s size limit, forward and reverse
/// programs each).
pub const MAX_QUERY_REGEX_BYTES: usize = 64 << 10;

/// The string arguments of the query's regex predicates, unescaped as tree-sitter reads them.
/// Strings and comments elsewhere are skipped, so a `#match?` inside them is not one.
pub fn regex_arguments(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_regex_predicate = false;
    let mut chars = query.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            ';' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                let mut text = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => text.push('\n'),
                            Some('r') => text.push('\r'),
                            Some('t') => text.push('\t'),
                            Some('0') => text.push('\0'),
                            Some(other) => text.push(other),
                            None => break,
                        },
                        c => text.push(c),
                    }
                }
                if in_regex_predicate {
                    out.push(text);
                }
            }
            '#' => {
                let mut end = i + 1;
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_alphanumeric() || matches!(c, '-' | '_' | '?' | '!' | '.') {
                        end = j + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                in_regex_predicate = query[i + 1..end].ends_with("match?");
            }
            '(' | ')' => in_regex_predicate = false,
            _ => {}
        }
    }
    out
}

/// Refuses a query with too many regex predicates or one whose regex compiles larger than
/// [`MAX_QUERY_REGEX_BYTES`].
pub fn check(language: &str, query: &str) -> Result<(), TreeError> {
    let regexes = regex_arguments(query);
    if regexes.len() > MAX_QUERY_REGEXES {
        return Err(TreeError::InvalidArgument(format!(
            "{language} query: {} regex predicates (#match? and its kin); at most \
             {MAX_QUERY_REGEXES} are allowed",
            regexes.len()
        )));
    }
    for pattern in &regexes {
        if let Err(e) = RegexBuilder::new(pattern)
            .size_limit(MAX_QUERY_REGEX_BYTES)
            .build()
        {
            let shown: String = pattern.chars().take(80).collect();
            return Err(TreeError::InvalidArgument(format!(
                "{language} query: the regex {shown:?} of a #match? predicate: {e}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_regexes_of_match_predicates_only() {
        let query = r##"((call) @c (#match? @c "^a\\.b$") (#eq? @c "not a regex"))
; (#match? @c "commented out")
((x) @x (#not-match? @x "b+") (#any-of? @x "c" "d"))
((y) @y "#match? in a string" (#any-match? @y "e\"f"))"##;
        assert_eq!(regex_arguments(query), ["^a\\.b$", "b+", "e\"f"]);
    }

    #[test]
    fn refuses_too_many_or_too_large_regexes() {
        let one = "((identifier) @i (#match? @i \"^w[0-9]+x\"))\n";
        assert!(check("rust", &one.repeat(MAX_QUERY_REGEXES)).is_ok());
        let e = check("rust", &one.repeat(MAX_QUERY_REGEXES + 1)).unwrap_err();
        assert!(e.to_string().contains("65 regex predicates"), "{e}");
        let big = r#"((identifier) @i (#match? @i "\\w{500}"))"#;
        let e = check("rust", big).unwrap_err();
        assert!(e.to_string().contains("the regex \"\\\\w{500}\""), "{e}");
        assert!(e.to_string().contains("size limit"), "{e}");
    }
}
