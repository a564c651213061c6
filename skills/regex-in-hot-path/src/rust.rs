//! The Rust side of the join: find the profile's calling function in a granted tree, the
//! `Regex::new(...)` calls in its body, and, where the pattern is a literal, the edits that
//! hoist the regex into a lazily initialised static.

use joule_sdk::code::RustSource;
use joule_sdk::{CallError, Edit, Function, Search, Tree};

/// A regex construction inside a hot function's body.
pub struct CallSite {
    pub tree: String,
    pub file: String,
    pub line: u32,
    pub end_line: u32,
    /// The source line the call starts on.
    pub line_text: String,
    /// The construction expression as written (whitespace collapsed).
    pub expression: String,
    pub hoist: Option<Hoist>,
}

/// The mechanical fix for one call site.
pub struct Hoist {
    pub static_name: String,
    pub type_path: String,
    pub edits: Vec<Edit>,
}

/// Constructors that compile a regex from a pattern.
const CONSTRUCTORS: &[&str] = &["Regex::new(", "RegexSet::new(", "RegexBuilder::new("];

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
        let text = tree.read(&path)?;
        let src = RustSource::new(&text);
        for item in src.functions_named(short) {
            sites.extend(sites_in_body(
                &src,
                tree.name(),
                &path,
                short,
                item.body.clone(),
                item.keyword,
            ));
        }
    }
    Ok(sites)
}

fn is_path_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

fn sites_in_body(
    src: &RustSource<'_>,
    tree: &str,
    file: &str,
    function: &str,
    body: std::ops::Range<usize>,
    keyword: usize,
) -> Vec<CallSite> {
    let masked = src.masked().as_bytes();
    let text = src.text();
    let mut found: Vec<(usize, &str)> = CONSTRUCTORS
        .iter()
        .flat_map(|c| src.find_code(c).into_iter().map(move |at| (at, *c)))
        .filter(|(at, _)| body.contains(at))
        .collect();
    found.sort();
    let mut sites = Vec::new();
    let mut taken_names: Vec<String> = Vec::new();
    for (at, constructor) in found {
        // `MyRegex::new(` is someone else's type; `regex::Regex::new(` is the same one.
        if at > 0 && is_path_char(masked[at - 1]) && masked[at - 1] != b':' {
            continue;
        }
        let mut start = at;
        while start > 0 && is_path_char(masked[start - 1]) {
            start -= 1;
        }
        let line_text = src.line_text(at);
        if line_text.contains("static ") || line_text.contains("Lazy") {
            continue; // Already built once.
        }
        let open = at + constructor.len() - 1;
        let Some(close) = src.matching_close(open) else {
            continue;
        };
        let path = &text[start..open];
        let literal = src
            .string_literal_at(open + 1)
            .filter(|lit| text[lit.end..close].trim().is_empty())
            .map(|lit| &text[lit]);
        let (suffix, expr_end) = unwrap_suffix(src, close + 1);
        let expression = format!(
            "{path}({}){}",
            literal.unwrap_or_else(|| text[open + 1..close].trim()),
            suffix.as_deref().unwrap_or("")
        );
        let hoist = match (literal, suffix, constructor) {
            (Some(literal), Some(suffix), "Regex::new(" | "RegexSet::new(") => {
                let name = static_name(src, function, constructor, &mut taken_names);
                let type_path = path.trim_end_matches("::new").to_string();
                Some(hoist_edits(
                    src,
                    tree,
                    file,
                    keyword,
                    start,
                    expr_end,
                    &name,
                    &type_path,
                    &format!("{path}({literal}){suffix}"),
                ))
            }
            _ => None,
        };
        sites.push(CallSite {
            tree: tree.to_string(),
            file: file.to_string(),
            line: src.line_of(start),
            end_line: src.line_of(expr_end.saturating_sub(1).max(start)),
            line_text: line_text.to_string(),
            expression,
            hoist,
        });
    }
    sites
}

/// After the constructor's `)`: `.unwrap()` or `.expect("...")` (possibly on the next line), as
/// text without the whitespace, and the offset just past it. `None` when the result is used
/// some other way (`?`, a `match`), which a static cannot reproduce.
fn unwrap_suffix(src: &RustSource<'_>, after: usize) -> (Option<String>, usize) {
    let masked = src.masked();
    let rest = &masked[after..];
    let skipped = rest.len() - rest.trim_start().len();
    let dot = after + skipped;
    if masked[dot..].starts_with(".unwrap()") {
        return (Some(".unwrap()".to_string()), dot + ".unwrap()".len());
    }
    if masked[dot..].starts_with(".expect(") {
        let open = dot + ".expect".len();
        if let Some(close) = src.matching_close(open) {
            let text = &src.text()[dot..close + 1];
            return (Some(text.to_string()), close + 1);
        }
    }
    (None, after)
}

fn static_name(
    src: &RustSource<'_>,
    function: &str,
    constructor: &str,
    taken: &mut Vec<String>,
) -> String {
    let base = format!(
        "{}_{}",
        function.trim_start_matches('_').to_ascii_uppercase(),
        if constructor.starts_with("RegexSet") {
            "SET"
        } else {
            "RE"
        }
    );
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) || !src.find_code(&name).is_empty() {
        name = format!("{base}_{n}");
        n += 1;
    }
    taken.push(name.clone());
    name
}

/// Two edits: the `static` inserted before the top-level item holding the function, and the
/// construction replaced by a use of it.
#[allow(clippy::too_many_arguments)]
fn hoist_edits(
    src: &RustSource<'_>,
    tree: &str,
    file: &str,
    keyword: usize,
    start: usize,
    expr_end: usize,
    name: &str,
    type_path: &str,
    expression: &str,
) -> Hoist {
    let masked = src.masked();
    let insert_at = src.top_level_item_start(keyword);
    let declaration = format!(
        "static {name}: std::sync::LazyLock<{type_path}> =\n    std::sync::LazyLock::new(|| {expression});\n\n"
    );
    // What the construction is replaced with depends on how its value is used.
    let after = masked[expr_end..].trim_start();
    let before = masked[..start].trim_end();
    let (replacement, replace_end) = if after.starts_with('.') {
        // `Regex::new(..).unwrap().is_match(x)` -> `NAME.is_match(x)`, through `Deref`.
        (name.to_string(), masked.len() - after.len())
    } else if before.ends_with('=') && after.starts_with(';') {
        // `let re = Regex::new(..).unwrap();` -> `let re = &*NAME;`
        (format!("&*{name}"), expr_end)
    } else {
        // Passed by value somewhere: a clone shares the compiled program.
        (format!("{name}.clone()"), expr_end)
    };
    Hoist {
        static_name: name.to_string(),
        type_path: type_path.to_string(),
        edits: vec![
            Edit::bytes(tree, file, insert_at, insert_at, &declaration),
            Edit::bytes(tree, file, start, replace_end, &replacement),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
