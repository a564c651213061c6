//! The Rust side of the join: find the profile's calling function in a granted tree, the
//! `Regex::new(...)` calls in its body, and, where the pattern is a literal, the edits that
//! hoist the regex into a lazily initialised static.
//!
//! The source is read through syntax queries the host answers ([`CALLS`], then [`places`] for a
//! file that gets a patch): the calls with the function each is in, how each call's value is
//! used, the lazy initialisers a call may already sit in, the file's top-level items and the
//! names it already uses. The skill parses nothing itself; it joins the matches by their byte
//! ranges.

use joule_sdk::hotspot::same_function;
use joule_sdk::{
    CallError, Edit, Function, Language, Query, Search, SyntaxCapture, SyntaxMatch, Tree,
};

/// A regex construction inside a hot function's body.
pub struct CallSite {
    pub tree: String,
    pub file: String,
    pub line: u32,
    pub end_line: u32,
    /// The source line the call starts on.
    pub line_text: String,
    /// The construction expression as written.
    pub expression: String,
    pub hoist: Option<Hoist>,
}

/// The mechanical fix for one call site.
pub struct Hoist {
    pub static_name: String,
    pub type_path: String,
    pub edits: Vec<Edit>,
}

/// The query for the calls in a file, one pattern per fact, joined by the call's first byte:
/// the regex constructor calls (`Regex::new(..)`, `regex::bytes::RegexSet::new(..)`,
/// `RegexBuilder::new(..)`; `MyRegex::new` is someone else's type); those whose pattern is one
/// string literal; those whose result is unwrapped (`.unwrap()`, `.expect(..)`, which a static
/// can reproduce, unlike `?` or a `match`), with the node that uses the unwrapped value and,
/// when that is a method call or a field on it, its `.`; and the lazy initialisers in the file
/// (a `static`'s value, the arguments of `LazyLock::new`, `Lazy::new`, `get_or_init`...), whose
/// calls are built once already.
///
/// Written for tree-sitter's query compiler as much as for people: a path matched as text
/// (`#match?`) instead of an alternation of node shapes, and one predicate over the callee for
/// every lazy initialiser, keep compiling the query (which the host does on every call) at a
/// few milliseconds.
const CALLS: &str = r#"((call_expression
   function: (scoped_identifier) @path
   arguments: (arguments) @arguments) @call
 (#match? @path "(^|::)(Regex|RegexSet|RegexBuilder)::new$"))

((call_expression
   function: (scoped_identifier) @path
   arguments: (arguments . [(string_literal) (raw_string_literal)] @literal .)) @call
 (#match? @path "(^|::)(Regex|RegexSet|RegexBuilder)::new$"))

((_
   (call_expression
     function: (field_expression
       value: (call_expression function: (scoped_identifier) @path) @call
       field: (field_identifier) @method)
     arguments: (arguments) @method_arguments) @unwrapped
   "."? @dot) @user
 (#any-of? @method "unwrap" "expect")
 (#match? @path "(^|::)(Regex|RegexSet|RegexBuilder)::new$"))

(static_item value: (_) @lazy)

((call_expression function: (_) @callee arguments: (arguments) @lazy)
 (#match? @callee "Lazy[^.]*::new$|\\.(get_or_init|get_or_try_init|call_once|call_once_force)$"))"#;

/// The most matches a query of this file may return (the host's own ceiling): a file's every
/// top-level item, however long the file.
const MATCHES: u32 = 10_000;

/// The query for where a patch goes in a file: its top-level items (comments and attributes
/// included), and the names in it that contain one the patch may give its static
/// (`PARSE_LINE_RE`, `PARSE_LINE_SET`): a name is free when no identifier contains it.
fn places(function: &str) -> String {
    format!(
        "(source_file (_) @top)\n\n\
         ([(identifier) (type_identifier) (field_identifier)] @taken\n \
         (#match? @taken \"{}_(RE|SET)\"))",
        static_base(function)
    )
}

/// The function's own name: the last path segment, without generics or closure suffixes
/// (`logscan::parse::parse_line::{{closure}}` -> `parse_line`). `None` when it does not look like
/// a Rust path.
pub fn short_name(name: &str) -> Option<&str> {
    let mut name = name.trim();
    loop {
        let stripped = name
            .strip_suffix("::{{closure}}")
            .or_else(|| name.strip_suffix("::{closure}"));
        match stripped {
            Some(s) => name = s,
            None => break,
        }
    }
    if let Some(i) = name.rfind("::{closure#") {
        name = &name[..i];
    }
    let last = name.rsplit("::").next()?;
    let last = last.split('<').next()?;
    let ok = !last.is_empty()
        && last.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !last.starts_with(|c: char| c.is_ascii_digit())
        && name.contains("::");
    ok.then_some(last)
}

/// Every regex construction in the body of `function`, looked up in the granted trees: in the
/// file the profile names when it has one, else wherever `fn <name>` is defined.
pub fn find_call_sites(trees: &[Tree], function: &Function) -> Result<Vec<CallSite>, CallError> {
    let Some(short) = short_name(&function.name) else {
        return Ok(Vec::new());
    };
    let mut candidates: Vec<(&Tree, String)> = Vec::new();
    match function.file.as_deref() {
        Some(file) if !file.ends_with(".rs") => return Ok(Vec::new()),
        Some(file) => candidates.extend(Tree::locate_in(trees, file)),
        None => {}
    }
    if candidates.is_empty() {
        // A text search first, so that only the files defining such a function are parsed.
        let search = Search::regex(&format!(r"\bfn\s+{short}\b"))
            .glob("**/*.rs")
            .limit(50);
        for tree in trees {
            for m in tree.search(&search)? {
                if !candidates
                    .iter()
                    .any(|(t, p)| t.name() == tree.name() && *p == m.path)
                {
                    candidates.push((tree, m.path));
                }
            }
        }
    }
    let mut sites = Vec::new();
    for (tree, path) in candidates {
        sites.extend(sites_in_file(tree, &path, function, short)?);
    }
    Ok(sites)
}

/// A constructor call and what the query found around it.
struct Call<'m> {
    call: &'m SyntaxCapture,
    path: &'m SyntaxCapture,
    /// `Regex`, `RegexSet` or `RegexBuilder`.
    type_name: &'m str,
    arguments: &'m SyntaxCapture,
    literal: Option<&'m SyntaxCapture>,
    unwrap: Option<Unwrap<'m>>,
}

/// `.unwrap()` or `.expect(..)` on a constructor call, and what uses its value.
struct Unwrap<'m> {
    unwrapped: &'m SyntaxCapture,
    method: &'m str,
    method_arguments: &'m SyntaxCapture,
    user: &'m SyntaxCapture,
    /// The `.` after the unwrapped value, when `user` calls a method on it.
    dot: Option<&'m SyntaxCapture>,
}

impl Unwrap<'_> {
    /// The suffix as a static's initialiser writes it: `.unwrap()` or `.expect("...")`.
    fn suffix(&self) -> String {
        match self.method {
            "unwrap" => ".unwrap()".to_string(),
            method => format!(".{method}{}", self.method_arguments.text),
        }
    }
}

/// The constructor calls of `matches` (one file's, from [`CALLS`]) in `function`, in file order,
/// each with the facts the other patterns found about it; not those in a lazy initialiser.
fn calls_in<'m>(matches: &'m [SyntaxMatch], function: &Function) -> Vec<Call<'m>> {
    let lazy: Vec<&SyntaxCapture> = matches.iter().filter_map(|m| m.capture("lazy")).collect();
    let mut calls: Vec<Call<'m>> = matches
        .iter()
        .filter(|m| m.capture("literal").is_none() && m.capture("unwrapped").is_none())
        .filter(|m| {
            m.function
                .as_deref()
                .is_some_and(|name| same_function(&function.name, name))
        })
        .filter_map(|m| {
            let path = m.capture("path")?;
            Some(Call {
                call: m.capture("call")?,
                path,
                // `regex::bytes::RegexSet::new` -> `RegexSet`.
                type_name: path.text.trim_end_matches("::new").rsplit("::").next()?,
                arguments: m.capture("arguments")?,
                literal: None,
                unwrap: None,
            })
        })
        // Already built once.
        .filter(|c| !lazy.iter().any(|l| within(c.call, l)))
        .collect();
    calls.sort_by_key(|c| c.call.bytes.start);
    for m in matches {
        let Some(call) = m.capture("call").and_then(|at| {
            calls
                .iter_mut()
                .find(|c| c.call.bytes.start == at.bytes.start)
        }) else {
            continue;
        };
        if let Some(literal) = m.capture("literal") {
            call.literal = Some(literal);
        }
        if let (Some(unwrapped), Some(method), Some(method_arguments), Some(user)) = (
            m.capture("unwrapped"),
            m.capture("method"),
            m.capture("method_arguments"),
            m.capture("user"),
        ) {
            call.unwrap = Some(Unwrap {
                unwrapped,
                method: &method.text,
                method_arguments,
                user,
                dot: m.capture("dot"),
            });
        }
    }
    calls
}

fn within(inner: &SyntaxCapture, outer: &SyntaxCapture) -> bool {
    outer.bytes.start <= inner.bytes.start && inner.bytes.end <= outer.bytes.end
}

impl Call<'_> {
    /// The construction as written: `Regex::new(r"...").unwrap()`.
    fn expression(&self) -> String {
        let pattern = match self.literal {
            Some(literal) => literal.text.as_str(),
            None => arguments_text(self.arguments),
        };
        let suffix = self.unwrap.as_ref().map(Unwrap::suffix);
        format!(
            "{}({pattern}){}",
            self.path.text,
            suffix.as_deref().unwrap_or("")
        )
    }

    /// Whether a static can hold what the call builds: a `Regex` or `RegexSet` from a literal,
    /// unwrapped, every part of which the host sent whole.
    fn hoistable(&self) -> bool {
        self.literal.is_some_and(SyntaxCapture::is_whole)
            && self
                .unwrap
                .as_ref()
                .is_some_and(|u| u.method_arguments.is_whole())
            && matches!(self.type_name, "Regex" | "RegexSet")
    }

    /// Two edits: `static NAME` inserted before `line` of `file`, and the construction replaced
    /// by a use of it. For a [`Call::hoistable`] call.
    fn hoist(&self, tree: &str, file: &str, line: u32, name: String) -> Option<Hoist> {
        let unwrap = self.unwrap.as_ref()?;
        let type_path = self.path.text.trim_end_matches("::new").to_string();
        let declaration = format!(
            "static {name}: std::sync::LazyLock<{type_path}> =\n    \
             std::sync::LazyLock::new(|| {});\n\n",
            self.expression()
        );
        let (replacement, end) = replacement(&name, unwrap);
        Some(Hoist {
            edits: vec![
                Edit::lines(tree, file, line, line - 1, &declaration),
                Edit::bytes(
                    tree,
                    file,
                    self.call.bytes.start as usize,
                    end as usize,
                    &replacement,
                ),
            ],
            static_name: name,
            type_path,
        })
    }
}

fn sites_in_file(
    tree: &Tree,
    path: &str,
    function: &Function,
    short: &str,
) -> Result<Vec<CallSite>, CallError> {
    let matches = tree.query(&Query::new(Language::Rust, CALLS).glob(path).limit(MATCHES))?;
    let calls = calls_in(&matches, function);
    // Where the statics go, and the names they may take, only for a file that gets a patch.
    let places = if calls.iter().any(Call::hoistable) {
        let query = Query::new(Language::Rust, &places(short))
            .glob(path)
            .limit(MATCHES);
        tree.query(&query)?
    } else {
        Vec::new()
    };
    let tops: Vec<&SyntaxCapture> = places.iter().filter_map(|m| m.capture("top")).collect();
    let in_file: Vec<&str> = places
        .iter()
        .filter_map(|m| m.capture("taken").map(|c| c.text.as_str()))
        .collect();

    let mut sites = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    for c in &calls {
        let hoist = match insertion_line(&tops, c.call.bytes.start) {
            Some(line) if c.hoistable() => {
                let name = static_name(short, c.type_name, &mut taken, &in_file);
                c.hoist(tree.name(), path, line, name)
            }
            _ => None,
        };
        let line = c.call.lines.start;
        let end = c.unwrap.as_ref().map_or(c.call, |u| u.unwrapped);
        sites.push(CallSite {
            tree: tree.name().to_string(),
            file: path.to_string(),
            line,
            end_line: end.lines.end,
            line_text: tree
                .read_lines(path, line, line)?
                .into_iter()
                .next()
                .unwrap_or_default(),
            expression: c.expression(),
            hoist,
        });
    }
    Ok(sites)
}

/// What is between a call's parentheses, trimmed.
fn arguments_text(arguments: &SyntaxCapture) -> &str {
    let text = arguments.text.trim();
    let text = text.strip_prefix('(').unwrap_or(text);
    text.strip_suffix(')').unwrap_or(text).trim()
}

/// What replaces the construction (from the call's first byte to the returned end), given how
/// its value is used.
fn replacement(name: &str, unwrap: &Unwrap<'_>) -> (String, u64) {
    match (unwrap.user.kind.as_str(), unwrap.dot) {
        // `Regex::new(..).unwrap().is_match(x)` -> `NAME.is_match(x)`, through `Deref`.
        ("field_expression", Some(dot)) => (name.to_string(), dot.bytes.start),
        // `let re = Regex::new(..).unwrap();` -> `let re = &*NAME;`
        ("let_declaration" | "assignment_expression", _) => {
            (format!("&*{name}"), unwrap.unwrapped.bytes.end)
        }
        // Passed by value somewhere: a clone shares the compiled program.
        _ => (format!("{name}.clone()"), unwrap.unwrapped.bytes.end),
    }
}

/// The line before which a new top-level item goes so that it precedes the top-level item
/// holding byte `at` (from [`places`]' `@top` captures, in file order) together with the
/// attributes and comments directly above that item: a doc comment or `#[..]` belongs to the
/// item it sits on. A comment after code on the line above, or an inner one (`//!`, `#![..]`),
/// is not the item's.
fn insertion_line(tops: &[&SyntaxCapture], at: u64) -> Option<u32> {
    let mut i = tops.iter().rposition(|t| t.bytes.start <= at)?;
    let mut line = tops[i].lines.start;
    while i > 0 {
        let above = tops[i - 1];
        let attached = matches!(
            above.kind.as_str(),
            "attribute_item" | "line_comment" | "block_comment"
        ) && !above.text.starts_with("//!")
            && !above.text.starts_with("/*!")
            && last_line(above) + 1 == line
            && (i < 2 || last_line(tops[i - 2]) < above.lines.start);
        if !attached {
            break;
        }
        line = above.lines.start;
        i -= 1;
    }
    Some(line)
}

/// The last line a node has text on (a line comment's node may end after its newline).
fn last_line(node: &SyntaxCapture) -> u32 {
    if node.text.ends_with('\n') && node.is_whole() {
        node.lines.end - 1
    } else {
        node.lines.end
    }
}

/// `parse_line` -> `PARSE_LINE`: what the static's name starts with.
fn static_base(function: &str) -> String {
    function.trim_start_matches('_').to_ascii_uppercase()
}

/// `PARSE_LINE_RE` (`_SET` for a `RegexSet`), or `PARSE_LINE_RE_2`... when a name in the file
/// (`in_file`) or an earlier static of this patch (`taken`) contains it.
fn static_name(
    function: &str,
    type_name: &str,
    taken: &mut Vec<String>,
    in_file: &[&str],
) -> String {
    let base = format!(
        "{}_{}",
        static_base(function),
        if type_name == "RegexSet" { "SET" } else { "RE" }
    );
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) || in_file.iter().any(|used| used.contains(name.as_str())) {
        name = format!("{base}_{n}");
        n += 1;
    }
    taken.push(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use joule_sdk::{ByteRange, LineRange};

    /// A file with a section comment, a documented and attributed function, and a method in an
    /// `impl` block; the calls are on lines 8 and 19.
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

    /// A node of `text` as a query captures it, from its kind and lines `start..=end`.
    fn node(text: &str, kind: &str, start: u32, end: u32) -> SyntaxCapture {
        let line_start = |line: u32| -> usize {
            text.split_inclusive('\n')
                .take(line as usize - 1)
                .map(str::len)
                .sum()
        };
        let (from, to) = (line_start(start), line_start(end + 1) - 1);
        SyntaxCapture {
            name: "top".to_string(),
            kind: kind.to_string(),
            bytes: ByteRange {
                start: from as u64,
                end: to as u64,
            },
            lines: LineRange { start, end },
            text: text[from..to].to_string(),
        }
    }

    /// The byte where `line` starts, plus `column`.
    fn at(text: &str, line: u32, column: usize) -> u64 {
        node(text, "", line, line).bytes.start + column as u64
    }

    #[test]
    fn statics_go_above_the_top_level_item_and_what_belongs_to_it() {
        let tops = [
            node(SRC, "use_declaration", 1, 1),
            node(SRC, "line_comment", 3, 3),
            node(SRC, "line_comment", 5, 5),
            node(SRC, "attribute_item", 6, 6),
            node(SRC, "function_item", 7, 12),
            node(SRC, "impl_item", 14, 22),
        ];
        let tops: Vec<&SyntaxCapture> = tops.iter().collect();
        assert_eq!(
            insertion_line(&tops, at(SRC, 8, 13)),
            Some(5),
            "starts at the doc comment"
        );
        assert_eq!(
            insertion_line(&tops, at(SRC, 19, 17)),
            Some(14),
            "the impl block"
        );

        // A comment ending the line of the item above, and a module's inner doc (whose node,
        // like a doc comment's, ends after the line break), stay where they are.
        let text = "//! The module.\nfn a() {} // a's\nfn b() {}\n";
        let (doc, a) = (
            node(text, "line_comment", 1, 1),
            node(text, "function_item", 2, 2),
        );
        let tops = [
            SyntaxCapture {
                bytes: ByteRange {
                    start: 0,
                    end: doc.bytes.end + 1,
                },
                lines: LineRange { start: 1, end: 2 },
                text: format!("{}\n", doc.text),
                ..doc.clone()
            },
            SyntaxCapture {
                bytes: ByteRange {
                    start: a.bytes.start,
                    end: a.bytes.start + 9,
                },
                ..a.clone()
            },
            SyntaxCapture {
                bytes: ByteRange {
                    start: a.bytes.start + 10,
                    end: a.bytes.end,
                },
                text: "// a's".to_string(),
                ..node(text, "line_comment", 2, 2)
            },
            node(text, "function_item", 3, 3),
        ];
        let tops: Vec<&SyntaxCapture> = tops.iter().collect();
        assert_eq!(insertion_line(&tops, at(text, 3, 3)), Some(3));
        assert_eq!(insertion_line(&tops, at(text, 2, 3)), Some(2));
    }

    #[test]
    fn statics_are_named_after_the_function_and_not_reused() {
        let mut taken = Vec::new();
        assert_eq!(
            static_name("parse_line", "Regex", &mut taken, &[]),
            "PARSE_LINE_RE"
        );
        assert_eq!(
            static_name("parse_line", "Regex", &mut taken, &["MY_PARSE_LINE_RE_2"]),
            "PARSE_LINE_RE_3"
        );
        assert_eq!(static_name("_f", "RegexSet", &mut taken, &[]), "F_SET");
    }

    #[test]
    fn the_construction_is_replaced_according_to_its_use() {
        let capture = |kind: &str, start: u64, end: u64| SyntaxCapture {
            name: String::new(),
            kind: kind.to_string(),
            bytes: ByteRange { start, end },
            lines: LineRange { start: 1, end: 1 },
            text: String::new(),
        };
        // `Regex::new("a").unwrap()` is bytes 0..24, then its user.
        let unwrapped = capture("call_expression", 0, 24);
        let arguments = capture("arguments", 22, 24);
        let dot = capture(".", 29, 30);
        let (method_call, binding, argument) = (
            capture("field_expression", 0, 40),
            capture("let_declaration", 0, 30),
            capture("arguments", 0, 30),
        );
        let used = |user, dot| {
            let unwrap = Unwrap {
                unwrapped: &unwrapped,
                method: "unwrap",
                method_arguments: &arguments,
                user,
                dot,
            };
            replacement("RE", &unwrap)
        };
        // `Regex::new("a").unwrap()\n    .is_match(x)`: up to the `.`, the line break gone.
        assert_eq!(used(&method_call, Some(&dot)), ("RE".to_string(), 29));
        assert_eq!(used(&binding, None), ("&*RE".to_string(), 24));
        assert_eq!(used(&argument, None), ("RE.clone()".to_string(), 24));
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("logscan::parse::parse_line"), Some("parse_line"));
        assert_eq!(
            short_name("logscan::parse::parse_line::{{closure}}"),
            Some("parse_line")
        );
        assert_eq!(short_name("a::Parser<T>::parse<u8>"), Some("parse"));
        assert_eq!(short_name("main.next"), None);
        assert_eq!(short_name("parse_line"), None);
    }
}
