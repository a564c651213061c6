//! C++: `std::find(v.begin(), v.end(), x) != v.end()` on a vector inside a loop walks it on
//! every iteration.
//!
//! Profile evidence: the time in `std::find` (`std::__find_if`, the comparison functor
//! `__gnu_cxx::__ops::_Iter_equals_val`; `std::count` / `std::__count_if` likewise), charged to
//! the calling function. These are templates inlined into the caller at `-O2`, so a
//! frame-pointer capture shows them only once Joule's `perf.data` reader gives the inlined
//! frames back from the binary's DWARF. Source evidence (a syntax query in that function):
//! `std::find(NAME.begin(), NAME.end(), X) != NAME.end()` (or `==`), or `std::count(NAME.begin(),
//! NAME.end(), X)` compared with `0`, inside a loop, where the function declares `NAME` a
//! `std::vector<T>` (a parameter or a local, by value or reference) of a type `std::hash`
//! covers (integers, `std::string`; not floating point: a set would not compare as the loop
//! does) before the loop. The patch builds `std::unordered_set<T> NAME_set(NAME.begin(),
//! NAME.end());` before the outermost loop, tests `NAME_set.count(X) != 0`, and includes
//! `<unordered_set>` after the file's last `#include` when it is not included. Offered only
//! when the loop uses `NAME` for nothing but these searches and `size()` / `empty()` (anything
//! else may change it, and the set would go stale), and the function has no other mutable
//! vector of the same type that could be `NAME` under another name.

use joule_sdk::SyntaxMatch;
use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// `std::find` / `std::count` on an iterator range (libstdc++'s and libc++'s), and the
/// comparison libstdc++ inlines into them. Names read from DWARF lead with the template's
/// return type: `__gnu_cxx::__normal_iterator<unsigned long const*, ..> std::__find_if<..>`.
pub const COST: &str = r"(^|[\s*&>])std::(__1::)?(__)?(find|find_if|count|count_if|find_impl)(<|\(|$)|(^|\s)__gnu_cxx::__ops::_Iter_equals_val<.*>::operator\(\)";

const SEARCHES: &str = r#"((binary_expression
   left: (call_expression
     function: (_) @algorithm
     arguments: (argument_list
       . (call_expression
           function: (field_expression argument: (identifier) @haystack field: (field_identifier) @begin)) @first
       . (call_expression
           function: (field_expression argument: (identifier) @haystack_end field: (field_identifier) @end)) @last
       . (_) @needle .)) @search
   operator: _ @op
   right: (_) @bound) @test
 (#match? @algorithm "^(std::)?(find|count)$") (#eq? @begin "begin") (#eq? @end "end"))"#;

const LOOPS: &str = r#"[(for_statement) (for_range_loop) (while_statement) (do_statement)] @loop"#;

/// Share of the searching the fix removes: a hash lookup instead of a walk.
const REMOVED: f64 = 0.95;

pub fn scan(invocation: &Invocation) -> Result<Vec<Finding>, String> {
    Attribution::new(COST, COST)
        .in_language(Language::Cpp)
        .scan(
            invocation,
            "searching vectors with std::find",
            caller_findings,
        )
}

/// What a search's comparison asks: whether the value is in the vector, or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asks {
    Present,
    Absent,
}

/// What `ALGORITHM(NAME.begin(), NAME.end(), X) OP BOUND` asks, when it asks only whether the
/// value is there: `find` against `NAME.end()` with `!=` / `==`, `count` against `0` with
/// `!=` / `>` / `==` (a count compared with anything else counts duplicates, which a set has
/// not).
pub fn membership(algorithm: &str, name: &str, op: &str, bound: &str) -> Option<Asks> {
    let bound: String = bound.split_whitespace().collect();
    match (algorithm.trim_start_matches("std::"), op, bound.as_str()) {
        ("find", "!=", b) if b == format!("{name}.end()") => Some(Asks::Present),
        ("find", "==", b) if b == format!("{name}.end()") => Some(Asks::Absent),
        ("count", "!=" | ">", "0") => Some(Asks::Present),
        ("count", "==", "0") => Some(Asks::Absent),
        _ => None,
    }
}

/// The element type of `name` when the function (its text, `body`) declares it a
/// `std::vector<T>` (a parameter or a local: `const std::vector<T>& name`, `std::vector<T>
/// name = ..`, `vector<T> name` under `using namespace std`), and the byte offset in `body` of
/// that declaration.
pub fn declared_vector(body: &str, name: &str) -> Option<(String, usize)> {
    let mut from = 0;
    while let Some(i) = body[from..].find("vector<").map(|i| i + from) {
        from = i + "vector<".len();
        // `std::vector<` or a bare `vector<`, not `my_vector<`.
        let before = body[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &body[from..];
        let mut depth = 0;
        let Some(close) = rest.char_indices().find_map(|(j, c)| {
            match c {
                '<' | '(' => depth += 1,
                '>' | ')' if depth > 0 => depth -= 1,
                '>' => return Some(j),
                _ => {}
            }
            None
        }) else {
            continue;
        };
        let element = rest[..close]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let after = rest[close + 1..].trim_start();
        // A reference (`&`, `&&`) or a value, maybe `const` after the type; not a pointer.
        let after = after.trim_start_matches('&').trim_start();
        let after = after
            .strip_prefix("const ")
            .map_or(after, str::trim_start)
            .trim_start_matches('&')
            .trim_start();
        let ident: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident == name {
            return Some((element, i));
        }
    }
    None
}

/// Whether `std::hash` covers elements of type `element` and a set of them compares as
/// `std::find` does: integers and strings. Floating point is left out (`0.0` and `-0.0`, NaN),
/// and so is any class type (whose `==` and hash the skill cannot see).
pub fn hashable(element: &str) -> bool {
    let element = element.trim().trim_start_matches("const ").trim();
    let element = element.strip_prefix("std::").unwrap_or(element);
    const INTEGERS: [&str; 17] = [
        "int",
        "unsigned",
        "unsigned int",
        "signed",
        "long",
        "unsigned long",
        "long long",
        "unsigned long long",
        "short",
        "unsigned short",
        "char",
        "signed char",
        "unsigned char",
        "wchar_t",
        "char16_t",
        "char32_t",
        "size_t",
    ];
    const STRINGS: [&str; 5] = ["string", "wstring", "u16string", "u32string", "string_view"];
    INTEGERS.contains(&element)
        || STRINGS.contains(&element)
        || element
            .strip_prefix("int")
            .or_else(|| element.strip_prefix("uint"))
            .is_some_and(|bits| matches!(bits, "8_t" | "16_t" | "32_t" | "64_t"))
}

/// A use of `name` in `text` (a loop's lines, with the searches the patch rewrites taken out)
/// that may change it: anything but `name.size()` and `name.empty()`. The line it is on, or
/// `None` when there is none.
pub fn other_use(text: &str, name: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(i) = text[from..].find(name).map(|i| i + from) {
        from = i + name.len();
        let before = i.checked_sub(1).map(|j| bytes[j]);
        // Another name containing this one, or a member of something else (`x.name`, `p->name`).
        if before.is_some_and(|b| ident(b) || b == b'.' || b == b'>' || b == b':')
            || bytes.get(from).copied().is_some_and(ident)
        {
            continue;
        }
        let rest: String = text[from..].split_whitespace().collect();
        if rest.starts_with(".size()") || rest.starts_with(".empty()") {
            continue;
        }
        let line_start = text[..i].rfind('\n').map_or(0, |j| j + 1);
        let line_end = text[i..].find('\n').map_or(text.len(), |j| i + j);
        return Some(text[line_start..line_end].trim().to_string());
    }
    None
}

/// A name other than `name` the function declares a mutable reference or pointer to a vector
/// of `element` (`std::vector<T>& other`, `std::vector<T>* other`): the caller may pass the
/// same vector as both, and the loop may change `name` through it.
pub fn mutable_alias(body: &str, name: &str, element: &str) -> Option<String> {
    let compact: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let element: String = element.split_whitespace().collect();
    let mut from = 0;
    while let Some(i) = compact[from..].find("vector<").map(|i| i + from) {
        from = i + "vector<".len();
        let rest = &compact[from..];
        let Some((e, after)) = rest.split_once('>') else {
            continue;
        };
        if e.split_whitespace().collect::<String>() != element {
            continue;
        }
        let after = after.trim_start();
        let Some(after) = after.strip_prefix('&').or_else(|| after.strip_prefix('*')) else {
            continue;
        };
        let constant = compact[..i].trim_end().trim_end_matches("std::").trim_end();
        if constant.ends_with("const") {
            continue;
        }
        let other: String = after
            .trim_start_matches('&')
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !other.is_empty() && other != name {
            return Some(other);
        }
    }
    None
}

/// The line after which `#include <unordered_set>` goes (`0`: the top of the file), or
/// `None` when the file includes it.
pub fn include_after(file: &str) -> Option<u32> {
    let mut last = 0;
    for (n, line) in file.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('#').map(str::trim_start)
            && let Some(header) = header.strip_prefix("include")
        {
            if header.trim() == "<unordered_set>" {
                return None;
            }
            last = n as u32 + 1;
        }
    }
    Some(last)
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let sites = sites_in(trees, function, &Query::new(Language::Cpp, SEARCHES))?;
    let mut findings = Vec::new();
    for (tree_name, site) in &sites {
        let (Some(test), Some(search), Some(haystack), Some(needle)) = (
            site.capture("test"),
            site.capture("search"),
            site.capture("haystack"),
            site.capture("needle"),
        ) else {
            continue;
        };
        let name = haystack.text.as_str();
        let Some(asks) = membership(
            site.text("algorithm"),
            name,
            site.text("op"),
            site.text("bound"),
        ) else {
            continue;
        };
        let compact = |capture: &str| site.text(capture).split_whitespace().collect::<String>();
        if site.loop_depth == 0
            || compact("first") != format!("{name}.begin()")
            || compact("last") != format!("{name}.end()")
        {
            continue;
        }
        let Some(function_text) = super::function_text(trees, tree_name, site)? else {
            continue;
        };
        let (tree, body) = (function_text.tree, &function_text.text);
        let Some((element, declared_at)) = declared_vector(body, name) else {
            // Not known to be a vector: a deque or a list would need another fix.
            continue;
        };
        let declared_line = function_text.line_at(declared_at);
        let outer = tree.outermost_loop(site, &Query::new(Language::Cpp, LOOPS), test)?;
        let why_not = match &outer {
            None => Some("the loop around it was not found".to_string()),
            Some(_) if !hashable(&element) => Some(format!(
                "`{name}` holds `{element}`, which a `std::unordered_set` would not compare \
                 as `std::find` does (or cannot hash)"
            )),
            Some(outer) if declared_line >= outer.lines.start => {
                Some(format!("`{name}` is declared inside the loop"))
            }
            Some(outer) => {
                let mut text = tree
                    .read_lines(&site.path, outer.lines.start, outer.lines.end)?
                    .join("\n");
                for (_, other) in &sites {
                    if let Some(t) = other.capture("test")
                        && other.text("haystack") == name
                    {
                        text = text.replace(&t.text, "");
                    }
                }
                if let Some(line) = other_use(&text, name) {
                    Some(format!(
                        "the loop uses `{name}` otherwise too, and may change it: `{line}`"
                    ))
                } else {
                    mutable_alias(body, name, &element).map(|other| {
                        format!(
                            "`{other}` is a mutable vector of the same type, which may be \
                             `{name}` under another name"
                        )
                    })
                }
            }
        };
        let set = format!("{name}_set");
        let why_not = why_not.or_else(|| {
            other_use(body, &set).map(|_| format!("the function has a `{set}` already"))
        });
        let mut finding = Finding::opportunity("linear-search-in-loop")
            .title(format!(
                "`{}` searches `{name}` on every iteration: {} of {}",
                function.name,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} goes to `std::{}` under `{}`: inside a loop,\n\n```cpp\n{}\n```\n\nwalks \
                 `{name}` element by element on every iteration, so the loop costs its length \
                 times the vector's. {}",
                profile.cost(caller.value),
                site.text("algorithm").trim_start_matches("std::"),
                function.name,
                test.text,
                match &why_not {
                    None => format!(
                        "The patch builds a `std::unordered_set` of `{name}` once, before the \
                         loop, and tests against it: one hash lookup an iteration."
                    ),
                    Some(why) => format!(
                        "No patch is proposed because {why}: keep a set beside it, or sort it \
                         and use `std::binary_search`."
                    ),
                }
            ))
            .location(Location::capture(tree_name, &site.path, test).in_function(&function.name))
            .measured(profile, caller.value)
            .saving(share * REMOVED)
            .confidence(if why_not.is_none() { 0.85 } else { 0.7 })
            .evidence(
                "time searching the vector",
                caller.value as f64,
                profile.unit(),
            )
            .label("fingerprint", search.text.clone());
        if let (None, Some(outer)) = (&why_not, &outer)
            && needle.is_whole()
        {
            for edit in patch(tree, site, outer, name, &element, &needle.text, asks)? {
                finding = finding.edit(edit);
            }
        }
        findings.push(finding.build());
    }
    Ok(findings)
}

/// The patch's edits: the include when missing, the set before the outermost loop, the test
/// made against the set.
fn patch(
    tree: &Tree,
    site: &SyntaxMatch,
    outer: &joule_sdk::SyntaxCapture,
    name: &str,
    element: &str,
    needle: &str,
    asks: Asks,
) -> Result<Vec<Edit>, CallError> {
    let mut edits = Vec::new();
    if let Some(after) = include_after(&tree.read(&site.path)?) {
        edits.push(Edit::lines(
            tree.name(),
            &site.path,
            after + 1,
            after,
            "#include <unordered_set>\n",
        ));
    }
    let line = outer.lines.start;
    let indent = tree.indentation(&site.path, line)?;
    edits.push(Edit::lines(
        tree.name(),
        &site.path,
        line,
        line - 1,
        &set_line(&indent, name, element),
    ));
    if let Some(test) = site.capture("test") {
        edits.push(Edit::capture(
            tree.name(),
            &site.path,
            test,
            &set_test(name, needle, asks),
        ));
    }
    Ok(edits)
}

/// The declaration of the set, a line at `indent`.
pub fn set_line(indent: &str, name: &str, element: &str) -> String {
    format!("{indent}std::unordered_set<{element}> {name}_set({name}.begin(), {name}.end());\n")
}

/// The test against the set.
pub fn set_test(name: &str, needle: &str, asks: Asks) -> String {
    let op = match asks {
        Asks::Present => "!=",
        Asks::Absent => "==",
    };
    format!("{name}_set.count({needle}) {op} 0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_told_by_their_declaration() {
        let f = "std::vector<Event> permitted(const std::vector<Event>& events, const \
                 std::vector<uint64_t>& allowlist) {";
        assert_eq!(
            declared_vector(f, "allowlist").map(|d| d.0).as_deref(),
            Some("uint64_t")
        );
        assert_eq!(
            declared_vector(f, "events").map(|d| d.0).as_deref(),
            Some("Event")
        );
        let local = "void f() {\n    std::vector<std::string> stop = {\"a\", \"the\"};\n";
        let (element, at) = declared_vector(local, "stop").unwrap();
        assert_eq!(element, "std::string");
        assert_eq!(local[..at].matches('\n').count(), 1);
        assert_eq!(
            declared_vector("int f(vector<pair<int, int> > &xs) {", "xs")
                .map(|d| d.0)
                .as_deref(),
            Some("pair<int, int>")
        );
        assert_eq!(
            declared_vector("void f(std::vector<int> const &ids) {", "ids")
                .map(|d| d.0)
                .as_deref(),
            Some("int")
        );
        // Not a vector, or another name.
        assert_eq!(declared_vector("void f(std::set<int>& ids) {", "ids"), None);
        assert_eq!(
            declared_vector("void f(my_vector<int>& ids) {", "ids"),
            None
        );
        assert_eq!(
            declared_vector("void f(std::vector<int>& ids2) {", "ids"),
            None
        );
        assert_eq!(
            declared_vector("void f(std::vector<int>* ids) {", "ids"),
            None
        );
    }

    #[test]
    fn only_integers_and_strings_go_into_a_set() {
        for t in [
            "uint64_t",
            "std::int32_t",
            "int",
            "unsigned long",
            "std::string",
            "const std::string",
            "std::size_t",
        ] {
            assert!(hashable(t), "{t}");
        }
        for t in [
            "double",
            "float",
            "Event",
            "std::pair<int, int>",
            "const char*",
            "int*",
        ] {
            assert!(!hashable(t), "{t}");
        }
    }

    #[test]
    fn only_membership_questions_are_answered_by_a_set() {
        assert_eq!(
            membership("std::find", "allow", "!=", "allow.end()"),
            Some(Asks::Present)
        );
        assert_eq!(
            membership("find", "seen", "==", "seen.end( )"),
            Some(Asks::Absent)
        );
        assert_eq!(
            membership("std::count", "ids", ">", "0"),
            Some(Asks::Present)
        );
        assert_eq!(
            membership("std::count", "ids", "==", "0"),
            Some(Asks::Absent)
        );
        // The position or the number of copies is asked, or another vector's end.
        assert_eq!(membership("std::count", "ids", "==", "1"), None);
        assert_eq!(membership("std::find", "ids", "!=", "other.end()"), None);
        assert_eq!(membership("std::find", "ids", "<", "ids.end()"), None);
    }

    #[test]
    fn a_loop_that_may_change_the_vector_gets_no_set() {
        let first_seen = "    for (const Event& e : events) {\n        if () {\n            \
                          seen.push_back(e.account);\n        }\n    }";
        assert_eq!(
            other_use(first_seen, "seen").as_deref(),
            Some("seen.push_back(e.account);")
        );
        let read_only = "    for (auto x : xs) {\n        if (!allow.empty() && ) n += \
                         allow.size();\n        other.allow = 1; allow_x(); p->allow;\n    }";
        assert_eq!(other_use(read_only, "allow"), None);
        assert_eq!(
            other_use("for (;;) { sort(allow); }", "allow").as_deref(),
            Some("for (;;) { sort(allow); }")
        );
        let signature = "void f(std::vector<int>& out, const std::vector<int>& allow) {";
        assert_eq!(
            mutable_alias(signature, "allow", "int").as_deref(),
            Some("out")
        );
        assert_eq!(
            mutable_alias(
                "void f(const std::vector<int>& a, const std::vector<int>& allow,\n \
                 std::vector<long>& out) {",
                "allow",
                "int"
            ),
            None
        );
    }

    #[test]
    fn the_patch_builds_the_set_and_includes_its_header() {
        assert_eq!(
            set_line("    ", "allowlist", "uint64_t"),
            "    std::unordered_set<uint64_t> allowlist_set(allowlist.begin(), allowlist.end());\n"
        );
        assert_eq!(
            set_test("allowlist", "e.account", Asks::Present),
            "allowlist_set.count(e.account) != 0"
        );
        assert_eq!(
            set_test("seen", "id", Asks::Absent),
            "seen_set.count(id) == 0"
        );
        let file = "// Audit.\n#include \"audit.h\"\n\n#include <algorithm>\n\nint x;\n";
        assert_eq!(include_after(file), Some(4));
        assert_eq!(include_after("int x;\n"), Some(0));
        assert_eq!(
            include_after("#include <vector>\n#  include <unordered_set>\n"),
            None
        );
    }
}
