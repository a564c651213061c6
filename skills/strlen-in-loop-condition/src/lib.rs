//! `strlen-in-loop-condition`: `for (i = 0; i < strlen(s); i++)` measures the string again
//! before every iteration: a string of n bytes costs about n * n / 2 byte reads where one
//! measurement costs n. Compilers hoist the call only when they can prove the loop never
//! writes to the string; a loop that writes through it (`s[i] = tolower(s[i])`), or calls a
//! function they cannot see, keeps the call in the loop.
//!
//! Profile evidence: the time in `strlen` / `wcslen` (glibc's `__strlen_avx2` and its
//! siblings) charged to the function that calls it. Source evidence (a syntax query in that
//! function, C and C++): a `for` or `while` loop, a statement of a block, whose condition
//! compares with `strlen(S)` or `wcslen(S)`. The patch measures `S` once, just before the loop
//! (`size_t s_len = strlen(s);`), and compares with that. It is offered only when the loop
//! cannot change the string's length as far as its text shows: `S` (and the base of a field
//! path such as `p->name`) is not reassigned, stepped, cast or aliased in the loop, an element
//! is written only with a value that cannot be zero (a non-zero character literal,
//! `tolower`/`toupper`, a conditional of those) and never changed in place, and `S` is passed
//! to no function but the C library's readers that return no pointer into it. Otherwise the
//! finding says which and has no patch. Aliases made before the loop, and functions that write
//! the string through a global, are beyond the loop's text; the message says to check them.

use joule_sdk::SyntaxMatch;
use joule_sdk::code::{closing, enclosing_call, is_word_byte};
use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// The C library's string length functions, as symbols and as glibc's tuned variants.
const COST: &str =
    r"^(strlen|wcslen|strnlen|__strlen_\w+|__wcslen_\w+|__strnlen_\w+|strlen@plt|wcslen@plt)$";

/// The loops: `for (..; i < strlen(S); ..)`, with the call on either side of the comparison,
/// and `while (i < strlen(S))`, each a statement of a block (so a line can go before it). The
/// grammars differ in the `while` condition only: C parenthesises it, C++ has a clause.
fn loops(language: Language) -> String {
    const CALL: &str = r#"(binary_expression
      [left: (call_expression function: (_) @fn arguments: (argument_list . (_) @string .)) @call
       right: (call_expression function: (_) @fn arguments: (argument_list . (_) @string .)) @call])"#;
    let while_condition = if language == Language::Cpp {
        format!("(condition_clause value: {CALL})")
    } else {
        format!("(parenthesized_expression {CALL})")
    };
    format!(
        r#"((compound_statement
  (for_statement condition: {CALL} body: (_) @body) @loop)
 (#match? @fn "^(std::)?(strlen|wcslen)$"))
((compound_statement
  (while_statement condition: {while_condition} body: (_) @body) @loop)
 (#match? @fn "^(std::)?(strlen|wcslen)$"))"#
    )
}

/// Functions of the C library that read a string and never change it, and return no pointer
/// into it (`strchr` does, and a write through that pointer would change the string):
/// passing `S` to them in the loop keeps its length.
const READERS: &[&str] = &[
    "strlen",
    "wcslen",
    "strnlen",
    "strcmp",
    "strncmp",
    "strcasecmp",
    "strncasecmp",
    "strspn",
    "strcspn",
    "memcmp",
    "printf",
    "puts",
    "fputs",
    "fprintf",
    "isalnum",
    "isalpha",
    "isdigit",
    "isspace",
    "isupper",
    "islower",
    "ispunct",
    "isxdigit",
    "tolower",
    "toupper",
    "atoi",
    "atol",
];

/// Share of the measuring the patch removes: all but one measurement per loop.
const REMOVED: f64 = 0.9;

struct StrlenInLoopCondition;

impl Skill for StrlenInLoopCondition {
    fn describe() -> Descriptor {
        Describe::offense(
            "strlen-in-loop-condition",
            env!("CARGO_PKG_VERSION"),
            "strlen or wcslen in a C or C++ loop condition, measuring the string on every \
             iteration; proposes measuring it once before the loop.",
            "0.01",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        Attribution::new(COST, COST).scan(invocation, "string measuring", caller_findings)
    }
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let language = match function.file.as_deref().and_then(Language::of_path) {
        Some(Language::Cpp) => Language::Cpp,
        Some(Language::C) | None => Language::C,
        Some(_) => return Ok(Vec::new()),
    };
    let share = profile.share(caller.value);
    let mut findings = Vec::new();
    let mut sites = sites_in(trees, function, &Query::new(language, &loops(language)))?;
    if language == Language::C && function.file.is_none() {
        // A profile without files: the function may be C++ too.
        sites.extend(sites_in(
            trees,
            function,
            &Query::new(Language::Cpp, &loops(Language::Cpp)),
        )?);
    }
    // A file the two grammars both read matches twice.
    let mut seen = std::collections::HashSet::new();
    sites.retain(|(tree, site)| {
        let at = site.capture("loop").map(|l| l.bytes.start);
        seen.insert((tree.clone(), site.path.clone(), at))
    });
    for (tree_name, site) in sites {
        let (Some(lp), Some(call), Some(string), Some(fname)) = (
            site.capture("loop"),
            site.capture("call"),
            site.capture("string"),
            site.capture("fn"),
        ) else {
            continue;
        };
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        let body = loop_text(tree, &site, lp)?;
        let first_line = lp.text.lines().next().unwrap_or("");
        let keyword = if first_line.trim_start().starts_with("while") {
            "while"
        } else {
            "for"
        };
        let unsafe_because = if !is_place(&string.text) {
            Some(format!(
                "`{}` is not a plain variable or field",
                string.text
            ))
        } else if call.lines.start != lp.lines.start {
            Some("the condition is not on the loop's first line".to_string())
        } else {
            changes_length(&body, &string.text)
        };
        let function_text = match site.function_lines {
            Some(lines) => tree
                .read_lines(&site.path, lines.start, lines.end)?
                .join("\n"),
            None => body.clone(),
        };
        let name = length_name(&string.text, &function_text);
        let fence = if language == Language::Cpp {
            "cpp"
        } else {
            "c"
        };
        let mut finding = Finding::opportunity("strlen-in-loop-condition")
            .title(format!(
                "`{}` measures `{}` on every iteration: {} of {}",
                function.name,
                string.text,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} goes to `{}` called from `{}`. The loop\n\n```{fence}\n{}\n```\n\nmeasures \
                 `{}` again before every iteration: a string of n bytes costs about n * n / 2 \
                 reads instead of n. {}",
                profile.cost(caller.value),
                fname.text,
                function.name,
                first_line.trim_end(),
                string.text,
                match &unsafe_because {
                    None => format!(
                        "Nothing in the loop's text changes the string's length, so it can be \
                         measured once before the loop (`size_t {name} = {}({});`); check that \
                         no pointer made before the loop, and no function it calls, writes to \
                         the string.",
                        fname.text, string.text
                    ),
                    Some(why) => format!(
                        "Measuring it once before the loop saves this, if the loop keeps its \
                         length; no patch is proposed because {why}."
                    ),
                }
            ))
            .location(Location::capture(&tree_name, &site.path, lp).in_function(&function.name))
            .measured(profile, caller.value)
            .saving(share * REMOVED)
            .confidence(if unsafe_because.is_none() { 0.85 } else { 0.6 })
            .evidence(
                "string measuring time in the function",
                caller.value as f64,
                profile.unit(),
            )
            .label(
                "fingerprint",
                format!("{keyword} {}({})", fname.text, string.text),
            );
        if unsafe_because.is_none() && call.is_whole() {
            let indent = tree.indentation(&site.path, lp.lines.start)?;
            finding = finding
                .edit(Edit::lines(
                    &tree_name,
                    &site.path,
                    lp.lines.start,
                    lp.lines.start - 1,
                    &format!("{indent}size_t {name} = {}({});\n", fname.text, string.text),
                ))
                .edit(Edit::capture(&tree_name, &site.path, call, &name));
        }
        findings.push(finding.build());
    }
    Ok(findings)
}

/// The loop's whole text: the capture, or its lines when the host cut the capture short.
fn loop_text(
    tree: &Tree,
    site: &SyntaxMatch,
    lp: &joule_sdk::SyntaxCapture,
) -> Result<String, CallError> {
    if lp.is_whole() {
        return Ok(lp.text.clone());
    }
    Ok(tree
        .read_lines(&site.path, lp.lines.start, lp.lines.end)?
        .join("\n"))
}

/// Whether `text` names a place: `s`, `p->name`, `rec.title`.
pub fn is_place(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text.replace("->", ".").split('.').all(|p| {
            p.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        && text
            .replace("->", ".")
            .split('.')
            .all(|p| p.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// Why the loop (its text, `body`) may change the length of string `s`, or `None` when its
/// text shows it cannot: `s` reassigned or stepped, its address taken or copied to another
/// name, an element set to zero, or `s` passed to a function other than [`READERS`].
pub fn changes_length(body: &str, s: &str) -> Option<String> {
    let code = strip_comments_and_strings(body);
    let bytes = code.as_bytes();
    let mut at = 0;
    while let Some(found) = code[at..].find(s) {
        let start = at + found;
        let end = start + s.len();
        at = end;
        let before = code[..start].trim_end();
        let after = code[end..].trim_start();
        let word_before = start > 0 && is_word_byte(bytes[start - 1]);
        let word_after = end < bytes.len() && is_word_byte(bytes[end]);
        // `s->x` or `s.x` is a field of `s`, not `s`; `xs` is another name.
        if word_before
            || word_after
            || before.ends_with('.')
            || before.ends_with("->")
            || after.starts_with("->")
            || (after.starts_with('.') && !after.starts_with(".."))
        {
            continue;
        }
        if before.ends_with("++") || before.ends_with("--") || before.ends_with('&') {
            return Some(format!("the loop steps or takes the address of `{s}`"));
        }
        if after.starts_with("++") || after.starts_with("--") {
            return Some(format!("the loop steps `{s}`"));
        }
        if (before.ends_with('*') || before.ends_with("*("))
            && after
                .trim_start_matches(|c: char| c != ';' && c != '=')
                .strip_prefix('=')
                .is_some_and(|r| !r.starts_with('='))
        {
            // `*s = 0`, `*(s + i) = x`: a write through it, not checked element by element.
            return Some(format!("the loop writes through `{s}`"));
        }
        if let Some(op) = ["+=", "-=", "="]
            .iter()
            .find(|op| after.starts_with(**op) && !after.starts_with("=="))
        {
            return Some(format!("the loop assigns to `{s}` (`{s} {op}`)"));
        }
        if after.starts_with('[') {
            // An element written: only values that cannot be zero keep the length (`s[i] =
            // tolower(s[i])`, `s[i] = '-'`); `s[i] ^= k`, `s[i] = s[i + 1]` may end it early.
            let Some(close) = closing(after, '[', ']') else {
                return Some(format!("the loop indexes `{s}` in a way not followed"));
            };
            let rest = after[close + 1..].trim_start();
            if let Some(value) = rest.strip_prefix('=').filter(|r| !r.starts_with('=')) {
                let value = value.split(';').next().unwrap_or("").trim();
                if !never_zero(value) {
                    return Some(format!(
                        "the loop writes `{}` into `{s}`, which may be a terminating zero",
                        value
                    ));
                }
            } else if [
                "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "++", "--",
            ]
            .iter()
            .any(|op| rest.starts_with(op))
                || before.ends_with("++")
                || before.ends_with("--")
            {
                return Some(format!("the loop changes an element of `{s}` in place"));
            }
            continue;
        }
        if before.ends_with('=') && !before.ends_with("==") && !before.ends_with("!=") {
            return Some(format!("the loop copies `{s}` to another name"));
        }
        if before.ends_with(')') && enclosing_call(&code[..start]).is_none() {
            // `(unsigned char *)s`: a cast, copied or written through under another type.
            return Some(format!("the loop casts `{s}`"));
        }
        if let Some(callee) = enclosing_call(&code[..start]) {
            if !READERS.contains(&callee.as_str()) {
                return Some(format!("the loop passes `{s}` to `{callee}`"));
            }
            continue;
        }
    }
    // `strlen(p->name)` with `p = p->next` in the loop: the string is another one.
    let mut base = s;
    while let Some(i) = base.rfind(['.', '>']) {
        base = base[..i].trim_end_matches('-');
        if base.is_empty() {
            break;
        }
        if let Some(why) = reassigns(&code, base) {
            return Some(why);
        }
    }
    None
}

/// Why `base` (the variable a field path starts from) is made to point elsewhere in `code`:
/// assigned or stepped.
fn reassigns(code: &str, base: &str) -> Option<String> {
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices(base) {
        let end = i + base.len();
        if (i > 0 && (is_word_byte(bytes[i - 1]) || bytes[i - 1] == b'.' || bytes[i - 1] == b'>'))
            || (end < bytes.len() && is_word_byte(bytes[end]))
        {
            continue;
        }
        let after = code[end..].trim_start();
        let before = code[..i].trim_end();
        if (after.starts_with('=') && !after.starts_with("=="))
            || after.starts_with("++")
            || after.starts_with("--")
            || after.starts_with("+=")
            || after.starts_with("-=")
            || before.ends_with("++")
            || before.ends_with("--")
        {
            return Some(format!("the loop moves `{base}` to another object"));
        }
    }
    None
}

/// Whether the value written into a string element can never be zero: a character literal
/// other than `'\0'`, `tolower(..)` / `toupper(..)` of it (they only change case), or a
/// conditional choosing between such values.
pub fn never_zero(value: &str) -> bool {
    let value = value.trim();
    let value = strip_cast(
        value
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .filter(|v| balanced(v))
            .unwrap_or(value),
    );
    if let Some((_, branches)) = split_conditional(value) {
        return branches.iter().all(|b| never_zero(b));
    }
    if let Some(lit) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return !lit.is_empty() && lit != "\\0" && lit != "\\x00" && lit != "\\000";
    }
    ["tolower(", "toupper(", "towlower(", "towupper("]
        .iter()
        .any(|f| value.starts_with(f) && value.ends_with(')'))
}

/// `value` without a leading cast: `(char)tolower(c)` -> `tolower(c)`.
fn strip_cast(value: &str) -> &str {
    let value = value.trim();
    if value.starts_with('(')
        && let Some(close) = closing(value, '(', ')')
    {
        let inner = &value[1..close];
        let rest = value[close + 1..].trim_start();
        let is_type = inner.split_whitespace().all(|w| {
            w.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '*')
        });
        if is_type && !rest.is_empty() {
            return rest;
        }
    }
    value
}

/// Whether `text`'s parentheses balance.
fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// `cond ? a : b` at the top level: the condition and the two values.
fn split_conditional(value: &str) -> Option<(&str, [&str; 2])> {
    let mut depth = 0i32;
    let mut question = None;
    let mut in_char = false;
    for (i, c) in value.char_indices() {
        match c {
            '\'' => in_char = !in_char,
            _ if in_char => {}
            '(' => depth += 1,
            ')' => depth -= 1,
            '?' if depth == 0 && question.is_none() => question = Some(i),
            ':' if depth == 0 => {
                let q = question?;
                return Some((&value[..q], [&value[q + 1..i], &value[i + 1..]]));
            }
            _ => {}
        }
    }
    None
}

/// `code` with comments blanked and string literals emptied (`"..."` -> `""`), so a name in
/// them is not taken for a use; character literals are kept (`'\0'` is looked for).
fn strip_comments_and_strings(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                out.push(' ');
            }
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push('"');
            }
            c => out.push(c),
        }
    }
    out
}

/// A name for the measured length that the function does not use yet: `s_len` for `s`,
/// `name_len` for `p->name`.
pub fn length_name(string: &str, function_text: &str) -> String {
    let base = string
        .trim()
        .rsplit(['.', '>'])
        .next()
        .unwrap_or("s")
        .to_string();
    let taken = |name: &str| {
        let code = function_text.as_bytes();
        function_text.match_indices(name).any(|(i, _)| {
            let end = i + name.len();
            (i == 0 || !is_word_byte(code[i - 1]))
                && (end >= code.len() || !is_word_byte(code[end]))
        })
    };
    for candidate in [
        format!("{base}_len"),
        format!("{base}_length"),
        "len".to_string(),
    ] {
        if !taken(&candidate) {
            return candidate;
        }
    }
    (2..)
        .map(|n| format!("{base}_len{n}"))
        .find(|c| !taken(c))
        .unwrap_or_else(|| format!("{base}_len_"))
}

export_skill!(StrlenInLoopCondition, id = "strlen-in-loop-condition");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_variables_and_fields() {
        assert!(is_place("s"));
        assert!(is_place("p->name"));
        assert!(is_place("rec.title"));
        assert!(!is_place("buf + 1"));
        assert!(!is_place("names[i]"));
        assert!(!is_place("get()"));
        assert!(!is_place("1s"));
    }

    #[test]
    fn loops_that_keep_the_length() {
        let keeps = [
            "for (size_t i = 0; i < strlen(s); i++) {\n  unsigned char c = s[i];\n  s[i] = isalnum(c) ? tolower(c) : '-';\n}",
            "for (i = 0; i < strlen(s); i++) if (s[i] == ' ') count++;",
            "while (i < strlen(s)) { if (isdigit(s[i])) n = n * 10 + s[i] - '0'; i++; }",
            // Another name that contains `s`, a field of `s`, a comment and a string.
            "for (i = 0; i < strlen(s); i++) { xs = 0; s_len2 = 1; t->s = 0; /* s = 0 */ puts(\"s = 0\"); }",
            "for (i = 0; i < strlen(s); i++) { if (strcmp(s, \"x\") == 0) n++; }",
            "for (i = 0; i < strlen(s); i++) s[i] = (char)toupper((unsigned char)s[i]);",
            "for (i = 0; i < strlen(s); i++) { if (s[i] == 0) break; }",
        ];
        for body in keeps {
            assert_eq!(changes_length(body, "s"), None, "{body}");
        }
    }

    #[test]
    fn loops_that_may_change_the_length() {
        let changes = [
            (
                "for (i = 0; i < strlen(s); i++) if (s[i] == '\\n') s[i] = '\\0';",
                "zero",
            ),
            ("for (i = 0; i < strlen(s); i++) s[i] = 0;", "zero"),
            (
                "for (i = 0; i < strlen(s); i++) { strcat(s, \"x\"); }",
                "strcat",
            ),
            ("for (i = 0; i < strlen(s); i++) { trim(s + i); }", "trim"),
            (
                "for (i = 0; i < strlen(s); i++) { s = next(s); }",
                "assigns",
            ),
            ("for (i = 0; i < strlen(s); i++) { s++; }", "steps"),
            (
                "for (i = 0; i < strlen(s); i++) { char *p = s; *p = 0; }",
                "copies",
            ),
            (
                "for (i = 0; i < strlen(s); i++) { memset(s, 0, 4); }",
                "memset",
            ),
            ("for (i = 0; i < strlen(s); i++) { *s = 0; }", "through"),
            ("for (i = 0; i < strlen(s); i++) { f(&s); }", "address"),
            // Found on review.
            ("for (i = 0; i < strlen(s); i++) s[i] ^= key;", "in place"),
            ("for (i = 0; i < strlen(s); i++) s[i] -= '0';", "in place"),
            ("for (i = 0; i < strlen(s); i++) s[i] = s[i + 1];", "may be"),
            ("for (i = 0; i < strlen(s); i++) s[i] = c - 'a';", "may be"),
            (
                "for (i = 0; i < strlen(s); i++) { char *c = strchr(s, ','); if (c) *c = 0; }",
                "strchr",
            ),
            (
                "for (i = 0; i < strlen(s); i++) { unsigned char *u = (unsigned char *)s; u[i] = 0; }",
                "cast",
            ),
        ];
        for (body, why) in changes {
            let found = changes_length(body, "s");
            assert!(
                found.as_deref().is_some_and(|f| f.contains(why)),
                "{body}: {found:?}"
            );
        }
        assert!(
            changes_length(
                "for (i = 0; i < strlen(p->name); i++) p->name[i] = 0;",
                "p->name"
            )
            .is_some()
        );
        assert!(
            changes_length(
                "for (i = 0; i < strlen(p->name); i++) { n++; p = p->next; }",
                "p->name"
            )
            .is_some_and(|w| w.contains("moves `p`"))
        );
        assert!(never_zero("isalnum(c) ? (char)tolower(c) : '-'"));
        assert!(!never_zero("c ? 'a' : 0"));
        assert!(!never_zero("'\\0'"));
    }

    #[test]
    fn length_names_are_new_to_the_function() {
        assert_eq!(length_name("s", "void f(char *s) {}"), "s_len");
        assert_eq!(length_name("p->name", "x"), "name_len");
        assert_eq!(length_name("s", "int s_len = 0;"), "s_length");
        assert_eq!(length_name("s", "int s_len, s_length, len;"), "s_len2");
        assert_eq!(length_name("s", "int xs_len;"), "s_len");
    }
}
