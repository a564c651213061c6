//! The Rust side of the join: find the profile's calling function in a granted tree, the
//! `Regex::new(...)` calls in its body, and, where the pattern is a literal, the edits that
//! hoist the regex into a lazily initialised static.
//!
//! The source is read through syntax queries the host answers ([`CALLS`]; [`MACRO_CALLS`] for
//! calls written inside a macro's arguments; then [`PLACES`] for a file that gets a patch): the
//! calls with the function each is in, how each call's value is used, the lazy initialisers a
//! call may already sit in, the file's top-level items and the names it already uses. The
//! skill parses nothing itself; it joins the matches by their byte ranges.

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
    /// Why there is no patch, when the reason is not the usual one (a pattern that is not a
    /// literal, a result that is not simply unwrapped).
    pub why_no_patch: Option<String>,
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
/// when that is a method call or a field on it, its `.`; the lazy initialisers in the file
/// (a `static`'s value, the arguments of `LazyLock::new`, `Lazy::new`, `get_or_init`...), whose
/// calls are built once already; and the file's macro invocations, whose arguments tree-sitter
/// keeps as tokens (see [`MACRO_CALLS`]).
///
/// Written for tree-sitter's query compiler as much as for people: a path matched as text
/// (`#match?`) instead of an alternation of node shapes, and one predicate over the callee for
/// every lazy initialiser, keep compiling the query (which the host does once per process, the
/// first time a skill sends it) at about 11 ms.
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
 (#match? @callee "Lazy[^.]*::new$|\\.(get_or_init|get_or_try_init|call_once|call_once_force)$"))

(macro_invocation macro: (_) @macro (token_tree) @macro_arguments)"#;

/// The same facts for the constructor calls written inside a macro's arguments (`vec![..]`,
/// `assert!(..)`, `println!("{}", ..)`), where tree-sitter has no expressions, only a token tree
/// of tokens: the call is the sibling sequence `Regex` `::` `new` `(..)`, joined to its facts by
/// the first byte of its argument tokens `(..)`. The patterns say: the calls (with the token
/// tree they are in); those whose argument is one string literal; the path segment before the
/// type (`regex::Regex::new`), and whether there is more of the path before that
/// (`regex::bytes::Regex::new`, `::regex::Regex::new`); the unwrap and the token after it (`.`
/// for a method called on the value, or the end of an argument: `,` `;` or a closing bracket);
/// the lazy initialisers written in tokens (`get_or_init(..)`, `LazyLock::new(..)`, what follows
/// a `static` in the same tokens, as in `lazy_static! { static ref RE: Regex = .. }`); and the
/// macros invoked inside other macros' arguments.
///
/// An anchor (`.`) between two tokens lets other unnamed tokens (`?`, `+`) stand between them.
/// Only code that does not compile puts such a token between a constructor's parts, or between
/// `.unwrap()` and a `,`, so the anchors say what they seem to.
///
/// Patterns over token trees cost tree-sitter's compiler more than those over expressions
/// (compiling this query takes 15 ms, [`CALLS`] 11 ms, on the 2-core development machine), so
/// the skill sends it only for a function with a macro whose arguments mention a regex type.
const MACRO_CALLS: &str = r#"((token_tree
   (identifier) @path . "::" . (identifier) @new . (token_tree) @arguments) @tokens
 (#match? @path "^(Regex|RegexSet|RegexBuilder)$") (#eq? @new "new"))

((token_tree
   (identifier) @path . "::" . (identifier) @new
   . (token_tree . [(string_literal) (raw_string_literal)] @literal .) @arguments)
 (#match? @path "^(Regex|RegexSet|RegexBuilder)$") (#eq? @new "new"))

((token_tree
   (identifier) @segment . "::" . (identifier) @path . "::" . (identifier) @new
   . (token_tree) @arguments)
 (#match? @path "^(Regex|RegexSet|RegexBuilder)$") (#eq? @new "new"))

((token_tree
   "::" @qualified . (identifier) . "::" . (identifier) @path . "::" . (identifier) @new
   . (token_tree) @arguments)
 (#match? @path "^(Regex|RegexSet|RegexBuilder)$") (#eq? @new "new"))

((token_tree
   (identifier) @path . "::" . (identifier) @new . (token_tree) @arguments
   . "." . (identifier) @method . (token_tree) @method_arguments
   . ["." "," ";" ")" "]" "}"] @after)
 (#match? @path "^(Regex|RegexSet|RegexBuilder)$") (#eq? @new "new")
 (#any-of? @method "unwrap" "expect"))

((token_tree (identifier) @callee . (token_tree) @lazy)
 (#any-of? @callee "get_or_init" "get_or_try_init" "call_once" "call_once_force"))

((token_tree (identifier) @callee . "::" . (identifier) @new . (token_tree) @lazy)
 (#match? @callee "^Lazy") (#eq? @new "new"))

(token_tree "static" @static) @static_tokens

(token_tree (identifier) @macro . "!" . (token_tree) @macro_arguments)"#;

/// Macros whose arguments are Rust expressions, used as written: the standard library's
/// formatting, assertion and panicking macros, `vec!`, `dbg!`, `matches!`, and the logging
/// macros of `log` and `tracing`. Inside them a call's value can be replaced as it can outside.
/// Other macros may read their tokens any way (`stringify!`, a DSL, a test harness's
/// `proptest!`), so a call inside one is reported without a patch.
const EXPRESSION_MACROS: [&str; 28] = [
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "dbg",
    "eprint",
    "eprintln",
    "format",
    "format_args",
    "matches",
    "panic",
    "print",
    "println",
    "todo",
    "unimplemented",
    "unreachable",
    "vec",
    "write",
    "writeln",
    // `log` and `tracing`.
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "event",
    "log",
];

/// Macros whose arguments initialise something once (per process, or per thread): calls in
/// them are built once already.
const LAZY_MACROS: [&str; 2] = ["lazy_static", "thread_local"];

/// The most matches a query of this file may return (the host's own ceiling): a file's every
/// top-level item, however long the file.
const MATCHES: u32 = 10_000;

/// The query for where a patch goes in a file: its top-level items (comments and attributes
/// included), and the names in it that a patch's static (`PARSE_LINE_RE`, `PARSE_LINE_SET`)
/// may clash with: a name is free when no identifier contains it. The same text for every
/// function, so the host compiles it once.
const PLACES: &str = r#"(source_file (_) @top)

([(identifier) (type_identifier) (field_identifier)] @taken
 (#match? @taken "_(RE|SET)"))"#;

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

/// A constructor call and what the queries found around it.
struct Call<'m> {
    /// The construction's first token: the call expression, or inside a macro's arguments the
    /// path's first segment.
    start: &'m SyntaxCapture,
    /// The constructor as the static's initialiser writes it: `Regex::new`,
    /// `regex::bytes::RegexSet::new`.
    path: String,
    /// `Regex`, `RegexSet` or `RegexBuilder`.
    type_name: &'m str,
    /// `(..)`: the arguments, or inside a macro's arguments their token tree.
    arguments: &'m SyntaxCapture,
    literal: Option<&'m SyntaxCapture>,
    unwrap: Option<Unwrap<'m>>,
    /// Written inside a macro's arguments.
    in_macro: bool,
    /// Why no patch can be written where the call is, though its pattern and unwrap would
    /// allow one.
    unpatchable: Option<String>,
}

/// `.unwrap()` or `.expect(..)` on a constructor call, and how its value is used.
struct Unwrap<'m> {
    /// The node the unwrapped value ends with: the `.unwrap()` call, or inside a macro's
    /// arguments the method's argument tokens.
    end: &'m SyntaxCapture,
    method: &'m str,
    method_arguments: &'m SyntaxCapture,
    user: User<'m>,
}

/// What is done with an unwrapped regex, which decides what replaces it.
enum User<'m> {
    /// A method called (or a field read) on it: `.is_match(x)`, from its `.` on.
    Method { dot: &'m SyntaxCapture },
    /// Bound to a name (`let re = ..;`) or assigned.
    Bound,
    /// Passed on as a value: an argument, a macro's argument, an element.
    Value,
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

/// A macro invocation: its name (the path's last segment) and its argument tokens.
struct Macro<'m> {
    name: &'m str,
    arguments: &'m SyntaxCapture,
}

/// The constructor calls in `function`, in file order, each with the facts the patterns found
/// about it: from `matches` ([`CALLS`]), and from `in_macros` ([`MACRO_CALLS`], empty when it
/// was not sent) those written inside a macro's arguments. Not those in a lazy initialiser.
fn calls_in<'m>(
    matches: &'m [SyntaxMatch],
    in_macros: &'m [SyntaxMatch],
    function: &Function,
) -> Vec<Call<'m>> {
    let in_function = |m: &SyntaxMatch| {
        m.function
            .as_deref()
            .is_some_and(|name| same_function(&function.name, name))
    };
    let lazy: Vec<&SyntaxCapture> = matches
        .iter()
        .chain(in_macros)
        .filter_map(|m| m.capture("lazy"))
        .collect();
    let mut calls: Vec<Call<'m>> = matches
        .iter()
        .filter(|m| in_function(m))
        .filter_map(written_call)
        .chain(macro_calls(matches, in_macros, in_function))
        // Already built once.
        .filter(|c| !lazy.iter().any(|l| within(c.start, l)))
        .collect();
    join_facts(&mut calls, matches);
    join_macro_facts(&mut calls, in_macros);
    calls.sort_by_key(|c| c.start.bytes.start);
    calls
}

/// The call a match of [`CALLS`]' first pattern found, before the other patterns' facts.
fn written_call(m: &SyntaxMatch) -> Option<Call<'_>> {
    if m.capture("literal").is_some() || m.capture("unwrapped").is_some() {
        return None;
    }
    let path = m.capture("path")?;
    Some(Call {
        start: m.capture("call")?,
        path: path.text.clone(),
        // `regex::bytes::RegexSet::new` -> `RegexSet`.
        type_name: path.text.trim_end_matches("::new").rsplit("::").next()?,
        arguments: m.capture("arguments")?,
        literal: None,
        unwrap: None,
        in_macro: false,
        unpatchable: None,
    })
}

/// The calls [`MACRO_CALLS`]' first pattern found inside a macro's arguments, in a function
/// `in_function` accepts, with whether the macros around each allow a patch; not those inside
/// `lazy_static!` or `thread_local!`, or after a `static` in the same tokens, which are built
/// once, nor those in no macro's arguments (a `macro_rules!` body, an attribute).
fn macro_calls<'m>(
    matches: &'m [SyntaxMatch],
    in_macros: &'m [SyntaxMatch],
    in_function: impl Fn(&SyntaxMatch) -> bool,
) -> Vec<Call<'m>> {
    // The invocations at expression level come from CALLS, those inside other macros' arguments
    // from MACRO_CALLS.
    let macros: Vec<Macro<'m>> = matches
        .iter()
        .chain(in_macros)
        .filter_map(|m| {
            Some(Macro {
                name: m.capture("macro")?.text.rsplit("::").next()?.trim(),
                arguments: m.capture("macro_arguments")?,
            })
        })
        .collect();
    let statics: Vec<(&SyntaxCapture, &SyntaxCapture)> = in_macros
        .iter()
        .filter_map(|m| Some((m.capture("static")?, m.capture("static_tokens")?)))
        .collect();
    in_macros
        .iter()
        .filter(|m| in_function(m) && m.capture("tokens").is_some())
        .filter_map(|m| {
            let (path, arguments) = (m.capture("path")?, m.capture("arguments")?);
            // The macros whose arguments hold the call, outermost first.
            let mut around: Vec<&Macro> = macros
                .iter()
                .filter(|mac| within(arguments, mac.arguments))
                .collect();
            around.sort_by_key(|mac| mac.arguments.bytes.start);
            let built_once = around.iter().any(|mac| LAZY_MACROS.contains(&mac.name))
                || statics.iter().any(|(keyword, tokens)| {
                    within(arguments, tokens) && keyword.bytes.start < path.bytes.start
                });
            if around.is_empty() || built_once {
                return None;
            }
            let unpatchable = around
                .iter()
                .find(|mac| !EXPRESSION_MACROS.contains(&mac.name))
                .map(|mac| {
                    format!(
                        "The call is written inside the arguments of `{}!`, which may read its \
                         tokens any way, not only as Rust expressions, so no patch is offered.",
                        mac.name
                    )
                });
            Some(Call {
                start: path,
                path: format!("{}::new", path.text),
                type_name: &path.text,
                arguments,
                literal: None,
                unwrap: None,
                in_macro: true,
                unpatchable,
            })
        })
        .collect()
}

/// What [`CALLS`]' other patterns say about the calls written as expressions, joined by the
/// call's first byte: the literal pattern, the unwrap and how the value is used.
fn join_facts<'m>(calls: &mut [Call<'m>], matches: &'m [SyntaxMatch]) {
    for m in matches {
        let Some(call) = m.capture("call").and_then(|at| {
            calls
                .iter_mut()
                .find(|c| !c.in_macro && c.start.bytes.start == at.bytes.start)
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
            let user = match (user.kind.as_str(), m.capture("dot")) {
                ("field_expression", Some(dot)) => User::Method { dot },
                ("let_declaration" | "assignment_expression", _) => User::Bound,
                _ => User::Value,
            };
            call.unwrap = Some(Unwrap {
                end: unwrapped,
                method: &method.text,
                method_arguments,
                user,
            });
        }
    }
}

/// What [`MACRO_CALLS`]' other patterns say about the calls inside macros' arguments, joined by
/// the first byte of the call's argument tokens: the literal pattern, the path segment before
/// the type, a longer path, the unwrap and the token after it.
fn join_macro_facts<'m>(calls: &mut [Call<'m>], in_macros: &'m [SyntaxMatch]) {
    // The call a match is about, by its argument tokens.
    fn call_at(calls: &[Call<'_>], m: &SyntaxMatch) -> Option<usize> {
        let at = m.capture("arguments")?.bytes.start;
        calls
            .iter()
            .position(|c| c.in_macro && c.arguments.bytes.start == at)
    }
    for m in in_macros {
        let Some(i) = call_at(calls, m) else {
            continue;
        };
        let call = &mut calls[i];
        // One literal and nothing else (a trailing comma aside): `&"a"` is left alone.
        if let Some(literal) = m.capture("literal")
            && arguments_text(call.arguments)
                .trim_end_matches(',')
                .trim_end()
                == literal.text
        {
            call.literal = Some(literal);
        }
        if let Some(segment) = m.capture("segment") {
            call.path = format!("{}::{}", segment.text, call.path);
            call.start = segment;
        }
        if m.capture("qualified").is_some() {
            call.unpatchable.get_or_insert_with(|| {
                "The call is written inside a macro's arguments with a longer path than the \
                 patch copies (`a::b::Regex::new`, `::regex::Regex::new`), so no patch is \
                 offered."
                    .to_string()
            });
        }
    }
    // Tokens are siblings, so a match may see past the one right after the unwrap (see
    // MACRO_CALLS): the nearest one decides.
    let mut unwraps: Vec<&SyntaxMatch> = in_macros
        .iter()
        .filter(|m| m.capture("after").is_some())
        .collect();
    unwraps.sort_by_key(|m| m.capture("after").map(|after| after.bytes.start));
    for m in unwraps {
        let (Some(i), Some(method), Some(method_arguments), Some(after)) = (
            call_at(calls, m),
            m.capture("method"),
            m.capture("method_arguments"),
            m.capture("after"),
        ) else {
            continue;
        };
        let call = &mut calls[i];
        if call.unwrap.is_some() {
            continue;
        }
        let user = if after.kind == "." {
            User::Method { dot: after }
        } else {
            User::Value
        };
        call.unwrap = Some(Unwrap {
            end: method_arguments,
            method: &method.text,
            method_arguments,
            user,
        });
    }
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
            self.path,
            suffix.as_deref().unwrap_or("")
        )
    }

    /// Whether a static can hold what the call builds: a `Regex` or `RegexSet` from a literal,
    /// unwrapped, every part of which the host sent whole, and written where it can be replaced.
    fn hoistable(&self) -> bool {
        self.literal.is_some_and(SyntaxCapture::is_whole)
            && self
                .unwrap
                .as_ref()
                .is_some_and(|u| u.method_arguments.is_whole())
            && matches!(self.type_name, "Regex" | "RegexSet")
            && self.unpatchable.is_none()
    }

    /// Two edits: `static NAME` inserted before `line` of `file`, and the construction replaced
    /// by a use of it. For a [`Call::hoistable`] call.
    fn hoist(&self, tree: &str, file: &str, line: u32, name: String) -> Option<Hoist> {
        let unwrap = self.unwrap.as_ref()?;
        let type_path = self.path.trim_end_matches("::new").to_string();
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
                    self.start.bytes.start as usize,
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
    // Calls inside macros' arguments cost a second query: only when a macro in the function
    // mentions a regex type (or is too long for the host to send its whole text).
    let mentions_regex = matches
        .iter()
        .filter(|m| {
            m.function
                .as_deref()
                .is_some_and(|name| same_function(&function.name, name))
        })
        .filter_map(|m| m.capture("macro_arguments"))
        .any(|tokens| !tokens.is_whole() || tokens.text.contains("Regex"));
    let in_macros = if mentions_regex {
        tree.query(
            &Query::new(Language::Rust, MACRO_CALLS)
                .glob(path)
                .limit(MATCHES),
        )?
    } else {
        Vec::new()
    };
    let calls = calls_in(&matches, &in_macros, function);
    // Where the statics go, and the names they may take, only for a file that gets a patch.
    let places = if calls.iter().any(Call::hoistable) {
        tree.query(&Query::new(Language::Rust, PLACES).glob(path).limit(MATCHES))?
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
        let hoist = match insertion_line(&tops, c.start.bytes.start) {
            Some(line) if c.hoistable() => {
                let name = static_name(short, c.type_name, &mut taken, &in_file);
                c.hoist(tree.name(), path, line, name)
            }
            _ => None,
        };
        let line = c.start.lines.start;
        let end = c.unwrap.as_ref().map_or(c.arguments, |u| u.end);
        let why_no_patch = match &hoist {
            None => c.unpatchable.clone(),
            Some(_) => None,
        };
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
            why_no_patch,
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
    match unwrap.user {
        // `Regex::new(..).unwrap().is_match(x)` -> `NAME.is_match(x)`, through `Deref`.
        User::Method { dot } => (name.to_string(), dot.bytes.start),
        // `let re = Regex::new(..).unwrap();` -> `let re = &*NAME;`
        User::Bound => (format!("&*{name}"), unwrap.end.bytes.end),
        // Passed by value somewhere: a clone shares the compiled program.
        User::Value => (format!("{name}.clone()"), unwrap.end.bytes.end),
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
        // `Regex::new("a").unwrap()` is bytes 0..24, then what uses it.
        let unwrapped = capture("call_expression", 0, 24);
        let arguments = capture("arguments", 22, 24);
        let dot = capture(".", 29, 30);
        let used = |user| {
            let unwrap = Unwrap {
                end: &unwrapped,
                method: "unwrap",
                method_arguments: &arguments,
                user,
            };
            replacement("RE", &unwrap)
        };
        // `Regex::new("a").unwrap()\n    .is_match(x)`: up to the `.`, the line break gone.
        assert_eq!(used(User::Method { dot: &dot }), ("RE".to_string(), 29));
        assert_eq!(used(User::Bound), ("&*RE".to_string(), 24));
        assert_eq!(used(User::Value), ("RE.clone()".to_string(), 24));
    }

    /// `len` bytes of `text` from `start`, as capture `name` of kind `kind`.
    fn capture_at(text: &str, name: &str, kind: &str, start: usize, len: usize) -> SyntaxCapture {
        let line = |at: usize| text[..at].matches('\n').count() as u32 + 1;
        SyntaxCapture {
            name: name.to_string(),
            kind: kind.to_string(),
            bytes: ByteRange {
                start: start as u64,
                end: (start + len) as u64,
            },
            lines: LineRange {
                start: line(start),
                end: line(start + len),
            },
            text: text[start..start + len].to_string(),
        }
    }

    /// The `nth` (from 0) occurrence of `needle` in `text`, as capture `name` of kind `kind`.
    fn found(text: &str, name: &str, kind: &str, needle: &str, nth: usize) -> SyntaxCapture {
        let (start, _) = text
            .match_indices(needle)
            .nth(nth)
            .unwrap_or_else(|| panic!("no {needle:?} #{nth}"));
        capture_at(text, name, kind, start, needle.len())
    }

    /// A match in function `f`, as the host returns it.
    fn in_f(captures: Vec<SyntaxCapture>) -> SyntaxMatch {
        SyntaxMatch {
            path: "src/lib.rs".to_string(),
            pattern: 0,
            captures,
            function: Some("f".to_string()),
            function_lines: None,
            loop_depth: 0,
        }
    }

    fn hot_f() -> Function {
        Function {
            id: 0,
            name: "app::f".to_string(),
            system_name: String::new(),
            file: None,
            start_line: None,
        }
    }

    /// A call inside `log::info!` and `vec!` (standard macros, their arguments expressions) is
    /// joined with its literal, the path segment before its type and the `]` after its unwrap,
    /// and can be patched; one inside someone's own macro is found, with why it is not patched.
    #[test]
    fn calls_inside_macros_are_joined_by_their_argument_tokens() {
        let src = "fn f(s: &str) -> bool {\n    \
                   log::info!(\"{:?}\", vec![regex::Regex::new(r\"a\").unwrap()]);\n    \
                   my_check!(Regex::new(\"b\").unwrap().is_match(s))\n}\n";
        let at =
            |name: &str, kind: &str, needle: &str, nth: usize| found(src, name, kind, needle, nth);
        let info_arguments = "(\"{:?}\", vec![regex::Regex::new(r\"a\").unwrap()])";
        let vec_arguments = "[regex::Regex::new(r\"a\").unwrap()]";
        let check_arguments = "(Regex::new(\"b\").unwrap().is_match(s))";
        // What CALLS returns: the macro invocations.
        let calls = [
            in_f(vec![
                at("macro", "scoped_identifier", "log::info", 0),
                at("macro_arguments", "token_tree", info_arguments, 0),
            ]),
            in_f(vec![
                at("macro", "identifier", "my_check", 0),
                at("macro_arguments", "token_tree", check_arguments, 0),
            ]),
        ];
        // What MACRO_CALLS returns.
        let a = |name: &str, kind: &str, needle: &str| at(name, kind, needle, 0);
        let in_macros = [
            in_f(vec![
                a("tokens", "token_tree", vec_arguments),
                a("path", "identifier", "Regex"),
                a("new", "identifier", "new"),
                a("arguments", "token_tree", "(r\"a\")"),
            ]),
            in_f(vec![
                a("path", "identifier", "Regex"),
                a("arguments", "token_tree", "(r\"a\")"),
                a("literal", "raw_string_literal", "r\"a\""),
            ]),
            in_f(vec![
                a("segment", "identifier", "regex"),
                a("path", "identifier", "Regex"),
                a("arguments", "token_tree", "(r\"a\")"),
            ]),
            in_f(vec![
                a("path", "identifier", "Regex"),
                a("arguments", "token_tree", "(r\"a\")"),
                a("method", "identifier", "unwrap"),
                at("method_arguments", "token_tree", "()", 0),
                at("after", "]", "]", 0),
            ]),
            in_f(vec![
                a("macro", "identifier", "vec"),
                a("macro_arguments", "token_tree", vec_arguments),
            ]),
            in_f(vec![
                a("tokens", "token_tree", check_arguments),
                at("path", "identifier", "Regex", 1),
                at("new", "identifier", "new", 1),
                a("arguments", "token_tree", "(\"b\")"),
            ]),
            in_f(vec![
                at("path", "identifier", "Regex", 1),
                a("arguments", "token_tree", "(\"b\")"),
                a("literal", "string_literal", "\"b\""),
            ]),
            in_f(vec![
                at("path", "identifier", "Regex", 1),
                a("arguments", "token_tree", "(\"b\")"),
                at("method", "identifier", "unwrap", 1),
                at("method_arguments", "token_tree", "()", 1),
                at("after", ".", ".", 2),
            ]),
        ];
        let found = calls_in(&calls, &in_macros, &hot_f());
        assert_eq!(found.len(), 2);
        let (logged, checked) = (&found[0], &found[1]);
        assert_eq!(logged.expression(), "regex::Regex::new(r\"a\").unwrap()");
        assert_eq!(logged.start.text, "regex");
        assert!(matches!(logged.unwrap.as_ref().unwrap().user, User::Value));
        assert!(logged.hoistable(), "inside log::info! and vec!");
        assert_eq!(checked.expression(), "Regex::new(\"b\").unwrap()");
        assert!(matches!(
            checked.unwrap.as_ref().unwrap().user,
            User::Method { .. }
        ));
        assert!(!checked.hoistable());
        assert!(
            checked
                .unpatchable
                .as_deref()
                .is_some_and(|why| why.contains("`my_check!`")),
            "{:?}",
            checked.unpatchable
        );
    }

    /// In `thread_local!`, after a `static` in some macro's tokens, and in `LazyLock::new(..)`
    /// written as tokens, a call is built once; one in a `macro_rules!` body is in no macro's
    /// arguments.
    #[test]
    fn calls_inside_macros_that_initialise_once_are_left_out() {
        let src = "fn f() {\n    \
                   thread_local! { static A: Regex = Regex::new(\"a\").unwrap(); }\n    \
                   my_lazy! { static B: Regex = Regex::new(\"b\").unwrap(); }\n    \
                   dbg!(LazyLock::new(|| Regex::new(\"c\").unwrap()));\n    \
                   macro_rules! m { () => { Regex::new(\"d\").unwrap() } }\n    \
                   dbg!(Regex::new(\"e\").unwrap());\n}\n";
        let at = |name: &str, kind: &str, needle: &str| found(src, name, kind, needle, 0);
        let macro_call = |name: &str, arguments: &str| {
            in_f(vec![
                at("macro", "identifier", name),
                at("macro_arguments", "token_tree", arguments),
            ])
        };
        let thread_local = "{ static A: Regex = Regex::new(\"a\").unwrap(); }";
        let my_lazy = "{ static B: Regex = Regex::new(\"b\").unwrap(); }";
        let calls = [
            macro_call("thread_local", thread_local),
            macro_call("my_lazy", my_lazy),
            macro_call("dbg", "(LazyLock::new(|| Regex::new(\"c\").unwrap()))"),
            macro_call("dbg", "(Regex::new(\"e\").unwrap())"),
        ];
        // A call: the tokens it is in, and `Regex` right before its `::new(..)`.
        let call = |tokens: &str, arguments: &str| {
            let arguments = at("arguments", "token_tree", arguments);
            let regex = arguments.bytes.start as usize - "Regex::new".len();
            in_f(vec![
                at("tokens", "token_tree", tokens),
                capture_at(src, "path", "identifier", regex, "Regex".len()),
                arguments,
            ])
        };
        let in_macros = [
            call(thread_local, "(\"a\")"),
            call(my_lazy, "(\"b\")"),
            call("(|| Regex::new(\"c\").unwrap())", "(\"c\")"),
            call("{ Regex::new(\"d\").unwrap() }", "(\"d\")"),
            call("(Regex::new(\"e\").unwrap())", "(\"e\")"),
            in_f(vec![
                at("static", "static", "static A"),
                at("static_tokens", "token_tree", thread_local),
            ]),
            in_f(vec![
                at("static", "static", "static B"),
                at("static_tokens", "token_tree", my_lazy),
            ]),
            in_f(vec![
                at("callee", "identifier", "LazyLock"),
                at("lazy", "token_tree", "(|| Regex::new(\"c\").unwrap())"),
            ]),
        ];
        let found = calls_in(&calls, &in_macros, &hot_f());
        let arguments: Vec<&str> = found.iter().map(|c| c.arguments.text.as_str()).collect();
        assert_eq!(arguments, ["(\"e\")"]);
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
