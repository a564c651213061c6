//! The Python side of the join: the `re` calls with a literal pattern in the profile's calling
//! function (found by a syntax query the host answers), and the edits that compile each
//! pattern once, into a module constant, and use it.
//!
//! `re.sub(r"...", repl, text)` looks its pattern up in the `re` module's cache on every call
//! (`re._compile`): the patch adds `_SLUGIFY_RE = re.compile(r"...")` after the imports and
//! makes the call `_SLUGIFY_RE.sub(repl, text)`.

use joule_sdk::hotspot::sites_in;
use joule_sdk::{CallError, Edit, Function, Language, Query, SyntaxCapture, Tree};

use crate::rust::{CallSite, Hoist};

/// `re` functions that compile their first argument, and whether the call keeps its other
/// arguments when made on the compiled pattern (`re.compile` becomes the pattern itself).
const FUNCTIONS: [&str; 9] = [
    "compile",
    "match",
    "search",
    "fullmatch",
    "sub",
    "subn",
    "findall",
    "finditer",
    "split",
];

/// The calls; then, one match per argument, the arguments of every such call (comments among
/// them too), joined to their call by the argument list's bytes.
const CALLS: &str = r#"((call
  function: (attribute object: (identifier) @module attribute: (identifier) @function)
  arguments: (argument_list . (string) @pattern) @arguments) @call
 (#eq? @module "re")
 (#any-of? @function "compile" "match" "search" "fullmatch" "sub" "subn" "findall" "finditer" "split"))

((call
  function: (attribute object: (identifier) @module attribute: (identifier) @function)
  arguments: (argument_list (_) @argument) @argument_list)
 (#eq? @module "re")
 (#any-of? @function "compile" "match" "search" "fullmatch" "sub" "subn" "findall" "finditer" "split"))"#;

/// The module's imports, to put the constants after them.
const IMPORTS: &str = r#"(module [(import_statement) (import_from_statement)] @import)"#;

/// The call sites in `function` (a profile's function, usually with the `.py` file it is in),
/// as one site per file: the function's calls share one block of constants after the imports,
/// so their edits go together.
pub fn find_call_sites(trees: &[Tree], function: &Function) -> Result<Vec<CallSite>, CallError> {
    // Every argument of every call is a match: room for a long function's worth.
    let calls = Query::new(Language::Python, CALLS).limit(10_000);
    let sites = sites_in(trees, function, &calls)?;
    let every_argument: Vec<(&str, &SyntaxCapture, &SyntaxCapture)> = sites
        .iter()
        .filter_map(|(_, m)| {
            Some((
                m.path.as_str(),
                m.capture("argument_list")?,
                m.capture("argument")?,
            ))
        })
        .collect();
    let mut out: Vec<CallSite> = Vec::new();
    let mut declarations: Vec<String> = Vec::new();
    let mut replacements: Vec<Edit> = Vec::new();
    let mut all_hoisted = true;
    for (tree_name, site) in &sites {
        let (Some(call), Some(pattern), Some(which), Some(list)) = (
            site.capture("call"),
            site.capture("pattern"),
            site.capture("function"),
            site.capture("arguments"),
        ) else {
            continue;
        };
        // An f-string is built from the function's own names: it cannot move to the module.
        let prefix: String = pattern
            .text
            .chars()
            .take_while(|c| c.is_alphabetic())
            .collect();
        if prefix.contains(['f', 'F']) || !pattern.is_whole() || !call.is_whole() {
            all_hoisted = false;
            continue;
        }
        let base = constant_name(site.function.as_deref().unwrap_or("pattern"));
        let name = match declarations.len() {
            0 => base,
            n => format!("{base}_{}", n + 1),
        };
        // The arguments after the pattern, in order.
        let mut arguments: Vec<&SyntaxCapture> = every_argument
            .iter()
            .filter(|(path, l, a)| {
                *path == site.path
                    && l.bytes.start == list.bytes.start
                    && a.bytes.start > pattern.bytes.start
                    && a.kind != "comment"
            })
            .map(|(_, _, a)| *a)
            .collect();
        arguments.sort_by_key(|a| a.bytes.start);
        match rewrite(&name, &which.text, call, &arguments) {
            Some(replacement) => {
                declarations.push(format!("{name} = re.compile({})", pattern.text));
                replacements.push(Edit::capture(tree_name, &site.path, call, &replacement));
            }
            None => all_hoisted = false,
        }
        match out.first_mut() {
            Some(first) => {
                first.end_line = first.end_line.max(call.lines.end);
                first
                    .expression
                    .push_str(&format!(", re.{}({})", which.text, pattern.text));
            }
            None => out.push(CallSite {
                tree: tree_name.clone(),
                file: site.path.clone(),
                line: call.lines.start,
                end_line: call.lines.end,
                line_text: call.text.lines().next().unwrap_or("").to_string(),
                expression: format!("re.{}({})", which.text, pattern.text),
                hoist: None,
                why_no_patch: None,
            }),
        }
    }
    if let Some(first) = out.first_mut()
        && all_hoisted
        && let Some(tree) = trees.iter().find(|t| t.name() == first.tree)
    {
        // After the last top-level import (the top of the file, importing `re`, when none).
        let imports = tree.query(&Query::new(Language::Python, IMPORTS).glob(&first.file))?;
        let after = imports
            .iter()
            .filter_map(|m| m.capture("import").map(|c| c.lines.end))
            .max()
            .unwrap_or(0);
        // The constants need `re` at module level (the function may import it itself).
        let imports_re = imports.iter().filter_map(|m| m.capture("import")).any(|c| {
            c.text
                .strip_prefix("import ")
                .is_some_and(|names| names.split(',').any(|n| n.trim() == "re"))
        });
        let block = declarations.join("\n");
        let declaration = match (after, imports_re) {
            (0, _) => format!("import re\n\n{block}\n\n"),
            (_, true) => format!("\n{block}\n"),
            (_, false) => format!("import re\n\n{block}\n"),
        };
        let mut edits = vec![Edit::lines(
            &first.tree,
            &first.file,
            after + 1,
            after,
            &declaration,
        )];
        edits.append(&mut replacements);
        first.hoist = Some(Hoist {
            static_name: declarations
                .iter()
                .filter_map(|d| d.split(" = ").next())
                .collect::<Vec<_>>()
                .join(", "),
            type_path: "re.Pattern".to_string(),
            edits,
        });
    }
    Ok(out)
}

/// `slugify` -> `_SLUGIFY_RE`; `Parser.parse` -> `_PARSER_PARSE_RE`.
fn constant_name(function: &str) -> String {
    let upper: String = function
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("_{}_RE", upper.trim_matches('_'))
}

/// The call made on the compiled constant `name` instead: `re.sub(P, repl, text)` ->
/// `NAME.sub(repl, text)`, `re.compile(P)` -> `NAME`. `arguments` are the call's arguments after
/// the pattern, as the query captured them, written back as they are in `call`. `None` when
/// the call has more than the pattern and plain positional arguments (flags, keywords,
/// `*args`, `**kwargs`), where the rewrite would need to know what they mean.
fn rewrite(
    name: &str,
    which: &str,
    call: &SyntaxCapture,
    arguments: &[&SyntaxCapture],
) -> Option<String> {
    if !FUNCTIONS.contains(&which) {
        return None;
    }
    let max = match which {
        "compile" => 0,
        "sub" | "subn" => 2,
        _ => 1,
    };
    // A keyword argument (flags=..., count=...) or one positional too many (flags) changes
    // what the call means on a compiled pattern.
    let positional = |a: &&SyntaxCapture| {
        !matches!(
            a.kind.as_str(),
            "keyword_argument" | "list_splat" | "dictionary_splat"
        )
    };
    if arguments.len() > max || !arguments.iter().all(positional) {
        return None;
    }
    if which == "compile" {
        return Some(name.to_string());
    }
    // From the first argument to the last, as written (line breaks and all).
    let rest = match (arguments.first(), arguments.last()) {
        (Some(first), Some(last)) => {
            let offset = |byte: u64| byte.checked_sub(call.bytes.start).map(|b| b as usize);
            call.text
                .get(offset(first.bytes.start)?..offset(last.bytes.end)?)?
        }
        _ => "",
    };
    Some(format!("{name}.{which}({rest})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use joule_sdk::{ByteRange, LineRange};

    /// `call` as the query captures it, and its arguments after the pattern: each of
    /// `arguments` (kind, text) found in order in `call`'s text.
    fn captured(call: &str, arguments: &[(&str, &str)]) -> (SyntaxCapture, Vec<SyntaxCapture>) {
        let capture = |kind: &str, start: usize, text: &str| SyntaxCapture {
            name: String::new(),
            kind: kind.to_string(),
            bytes: ByteRange {
                start: 100 + start as u64,
                end: 100 + (start + text.len()) as u64,
            },
            lines: LineRange { start: 1, end: 1 },
            text: text.to_string(),
        };
        let mut from = call.find(',').unwrap_or(call.len());
        let arguments = arguments
            .iter()
            .map(|(kind, text)| {
                let start = from + call[from..].find(text).unwrap();
                from = start + text.len();
                capture(kind, start, text)
            })
            .collect();
        (capture("call", 0, call), arguments)
    }

    fn rewritten(
        name: &str,
        which: &str,
        call: &str,
        arguments: &[(&str, &str)],
    ) -> Option<String> {
        let (call, arguments) = captured(call, arguments);
        rewrite(name, which, &call, &arguments.iter().collect::<Vec<_>>())
    }

    #[test]
    fn calls_are_made_on_the_constant() {
        assert_eq!(
            rewritten(
                "_S_RE",
                "sub",
                r#"re.sub(r"[-\s]+", "-", text)"#,
                &[("string", r#""-""#), ("identifier", "text")]
            )
            .as_deref(),
            Some(r#"_S_RE.sub("-", text)"#)
        );
        assert_eq!(
            rewritten("_S_RE", "compile", "re.compile('a')", &[]).as_deref(),
            Some("_S_RE")
        );
        assert_eq!(
            rewritten(
                "_S_RE",
                "match",
                "re.match('a', s, re.I)",
                &[("identifier", "s"), ("attribute", "re.I")]
            ),
            None
        );
        assert_eq!(
            rewritten(
                "_S_RE",
                "sub",
                "re.sub('a', ', ', f(x, y))",
                &[("string", "', '"), ("call", "f(x, y)")]
            )
            .as_deref(),
            Some("_S_RE.sub(', ', f(x, y))")
        );
        assert_eq!(
            rewritten(
                "_S_RE",
                "sub",
                "re.sub('a', 'b', s, flags=re.I)",
                &[
                    ("string", "'b'"),
                    ("identifier", "s"),
                    ("keyword_argument", "flags=re.I")
                ]
            ),
            None
        );
        assert_eq!(
            rewritten(
                "_S_RE",
                "sub",
                "re.sub('a', 'b', **options)",
                &[("string", "'b'"), ("dictionary_splat", "**options")]
            ),
            None
        );
    }

    #[test]
    fn constants_are_named_after_the_function() {
        assert_eq!(constant_name("slugify"), "_SLUGIFY_RE");
        assert_eq!(constant_name("Parser.parse_line"), "_PARSER_PARSE_LINE_RE");
    }
}
