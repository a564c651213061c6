//! `constant-container-rebuilt`: a Go map written out of constants inside a function
//! (`stop := map[string]bool{"a": true, ...}`) is built again on every call: every entry
//! hashed and inserted, buckets allocated, and the garbage collected, to answer a lookup the
//! same map made once would answer.
//!
//! Profile evidence: the time in the Go runtime's map building (`runtime.mapassign*`,
//! `runtime.makemap*`, bucket allocation and growth) charged to the function that builds the
//! map. Source evidence (syntax queries in that function): `NAME := map[K]V{..}` (or
//! `var NAME = map[K]V{..}`) whose keys and values are all literals, and which the function
//! only reads (`NAME[k]`, `v, ok := NAME[k]`, `len(NAME)`, `range NAME`). The patch moves the
//! declaration to package level after the function (`var NAME = map[K]V{..}`), made once when
//! the package is initialised; it is offered only when no other code of the package uses the
//! name already. A map the function writes to, deletes from, passes on, returns or takes the
//! address of is not constant: no finding.

use joule_sdk::code::closing;
use joule_sdk::hotspot::{Attribution, CallerCost, glob_literal, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;
use joule_sdk::{SyntaxCapture, SyntaxMatch};

/// Building Go maps: inserting, making, allocating and growing buckets.
const COST: &str =
    r"^runtime\.(mapassign\w*|makemap\w*|makeBucketArray|hashGrow|growWork\w*|evacuate\w*)$";

/// Map literals assigned to a local name.
const MAPS: &str = r#"((short_var_declaration
   left: (expression_list . (identifier) @name .)
   right: (expression_list . (composite_literal type: (map_type) @type body: (literal_value) @body) @literal .)) @decl)
((var_declaration (var_spec name: (identifier) @name
   value: (expression_list . (composite_literal type: (map_type) @type body: (literal_value) @body) @literal .))) @decl)"#;

/// Share of the building the patch removes: all of it, bar the first call's.
const REMOVED: f64 = 0.95;

struct ConstantContainerRebuilt;

impl Skill for ConstantContainerRebuilt {
    fn describe() -> Descriptor {
        Describe::offense(
            "constant-container-rebuilt",
            env!("CARGO_PKG_VERSION"),
            "Go maps written out of constants inside a function, built again on every call; \
             proposes making them once at package level.",
            "0.02",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        Attribution::new(COST, COST).in_language(Language::Go).scan(
            invocation,
            "map building",
            caller_findings,
        )
    }
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let mut findings = Vec::new();
    for (tree_name, site) in sites_in(trees, function, &Query::new(Language::Go, MAPS))? {
        let (Some(decl), Some(name), Some(body), Some(literal)) = (
            site.capture("decl"),
            site.capture("name"),
            site.capture("body"),
            site.capture("literal"),
        ) else {
            continue;
        };
        if !literal.is_whole() || !is_constant(&body.text) {
            continue;
        }
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        let file = tree.read(&site.path)?;
        let uses = tree.identifiers(Language::Go, &site.path, &name.text)?;
        let in_function: Vec<&SyntaxCapture> = uses
            .iter()
            .filter(|m| m.function == site.function)
            .filter_map(|m| m.capture("use"))
            .filter(|c| c.bytes.start != name.bytes.start)
            .collect();
        if let Some(why) = only_read(&file, &name.text, &in_function) {
            joule_sdk::log::info(format!(
                "`{}`: `{}` is built from constants but {why}: not reported",
                function.name, name.text
            ));
            continue;
        }
        let why_not = name_taken(tree, &site, &name.text)?;
        let mut finding = Finding::opportunity("constant-container-rebuilt")
            .title(format!(
                "`{}` builds the constant map `{}` on every call: {} of {}",
                function.name,
                name.text,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} goes to building maps under `{}`: `{}` is written out of constants and only \
                 read, yet it is built again on every call (each entry hashed and inserted, \
                 buckets allocated, then collected). Made once at package level, it is built \
                 when the package is initialised. {}",
                profile.cost(caller.value),
                function.name,
                name.text,
                match &why_not {
                    None => format!(
                        "The patch moves `{}` to a package-level `var` after the function.",
                        name.text
                    ),
                    Some(why) => format!("No patch is proposed because {why}."),
                }
            ))
            .location(Location::capture(&tree_name, &site.path, decl).in_function(&function.name))
            .measured(profile, caller.value)
            .saving(share * REMOVED)
            .confidence(0.85)
            .evidence(
                "map building time in the function",
                caller.value as f64,
                profile.unit(),
            )
            .label("fingerprint", format!("{} := map literal", name.text));
        if why_not.is_none()
            && let Some(edits) = move_to_package(&file, &site, decl, &name.text, literal)
        {
            for (start, end, text) in edits {
                finding = finding.edit(Edit::lines(&tree_name, &site.path, start, end, &text));
            }
        }
        findings.push(finding.build());
    }
    Ok(findings)
}

/// Whether a map literal's body (`{"a": true, 2: "x"}`) holds only literals: strings, runes,
/// numbers, `true`, `false`, `nil`, and nested braces of them.
pub fn is_constant(body: &str) -> bool {
    let mut chars = body.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String| -> bool {
        let ok = word.is_empty()
            || matches!(word.as_str(), "true" | "false" | "nil")
            || word.chars().next().is_some_and(|c| c.is_ascii_digit());
        word.clear();
        ok
    };
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' | '\'' => {
                if !flush(&mut word) {
                    return false;
                }
                let mut escaped = false;
                for d in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' && c != '`' {
                        escaped = true;
                    } else if d == c {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            c if c.is_alphanumeric() || c == '_' || c == '.' => word.push(c),
            '{' | '}' | ':' | ',' | '-' | '+' => {
                if !flush(&mut word) {
                    return false;
                }
            }
            c if c.is_whitespace() => {
                if !flush(&mut word) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    flush(&mut word)
}

/// Why the map `name` is not only read by the function (its uses other than the declaration,
/// in `file`); `None` when every use is a lookup, `len`, or a `range`.
pub fn only_read(file: &str, name: &str, uses: &[&SyntaxCapture]) -> Option<String> {
    for u in uses {
        let before = file.get(..u.bytes.start as usize)?.trim_end();
        let after = file.get(u.bytes.end as usize..)?.trim_start();
        if after.starts_with('[') {
            // A lookup, unless it is assigned to (`m[k] = v`, `m[k]++`, `m[k] += 1`).
            let close = closing(after, '[', ']')?;
            let rest = after[close + 1..].trim_start();
            let writes = (rest.starts_with('=') && !rest.starts_with("=="))
                || rest.starts_with("++")
                || rest.starts_with("--")
                || (rest.len() > 1
                    && rest.as_bytes()[1] == b'='
                    && "+-*/%|&^".contains(&rest[..1]));
            if writes {
                return Some(format!("the function writes to `{name}`"));
            }
            continue;
        }
        if before.ends_with("len(") && after.starts_with(')') {
            continue;
        }
        if before.ends_with("range") {
            continue;
        }
        return Some(format!(
            "it uses `{name}` other than by looking it up (`{name}{}`)",
            after.lines().next().unwrap_or("").trim()
        ));
    }
    None
}

/// Why `name` cannot become a package-level name: the package declares it already (a `var`,
/// `const`, `func` or `type` at the top level of a Go file in the same directory). A local of
/// that name elsewhere shadows the new package-level one and is no clash.
fn name_taken(tree: &Tree, site: &SyntaxMatch, name: &str) -> Result<Option<String>, CallError> {
    let dir = site.path.rsplit_once('/').map_or("", |(d, _)| d);
    let glob = if dir.is_empty() {
        "*.go".to_string()
    } else {
        format!("{}/*.go", glob_literal(dir))
    };
    let query = format!(
        r#"((source_file (var_declaration (var_spec name: (identifier) @n))) (#eq? @n "{name}"))
((source_file (var_declaration (var_spec_list (var_spec name: (identifier) @n)))) (#eq? @n "{name}"))
((source_file (const_declaration (const_spec name: (identifier) @n))) (#eq? @n "{name}"))
((source_file (function_declaration name: (identifier) @n)) (#eq? @n "{name}"))
((source_file (type_declaration (type_spec name: (type_identifier) @n))) (#eq? @n "{name}"))"#
    );
    let declared = tree.query(&Query::new(Language::Go, &query).glob(&glob))?;
    Ok(declared.first().map(|m| {
        format!(
            "the package already declares `{name}` at its top level ({})",
            m.path
        )
    }))
}

/// The line edits that move the declaration to package level just after the function: the
/// declaration's lines removed, `var NAME = <literal>` (dedented) inserted after the
/// function's last line. `None` when the declaration does not stand on lines of its own.
fn move_to_package(
    file: &str,
    site: &SyntaxMatch,
    decl: &SyntaxCapture,
    name: &str,
    literal: &SyntaxCapture,
) -> Option<Vec<(u32, u32, String)>> {
    let lines = site.function_lines?;
    let line_start = file[..decl.bytes.start as usize]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_end = file[decl.bytes.end as usize..]
        .find('\n')
        .map_or(file.len(), |i| decl.bytes.end as usize + i);
    if !file[line_start..decl.bytes.start as usize]
        .trim()
        .is_empty()
        || !file[decl.bytes.end as usize..line_end].trim().is_empty()
    {
        return None;
    }
    let indent = &file[line_start..decl.bytes.start as usize];
    let text: Vec<String> = literal
        .text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                l.strip_prefix(indent).unwrap_or(l).to_string()
            }
        })
        .collect();
    Some(vec![
        (
            lines.end + 1,
            lines.end,
            format!(
                "\n// {name} is made once, when the package is initialised.\nvar {name} = {}\n",
                text.join("\n")
            ),
        ),
        (decl.lines.start, decl.lines.end, String::new()),
    ])
}

export_skill!(ConstantContainerRebuilt, id = "constant-container-rebuilt");

#[cfg(test)]
mod tests {
    use super::*;
    use joule_sdk::code::is_word_byte;

    #[test]
    fn literal_bodies_are_constant() {
        assert!(is_constant(r#"{"a": true, "b": false}"#));
        assert!(is_constant(
            "{\n\t\"x\": 1, \"y\": -2.5, // a comment, with: f(x)\n}"
        ));
        assert!(is_constant(r#"{'a': "it's", `raw\`: nil}"#));
        assert!(is_constant(r#"{"a": {1, 2}, "b": {3}}"#));
        assert!(is_constant("{0x1F: 1e3}"));
        assert!(!is_constant(r#"{"a": x}"#));
        assert!(!is_constant(r#"{"a": f(1)}"#));
        assert!(!is_constant(r#"{"a": time.Now()}"#));
        assert!(!is_constant(r#"{key: true}"#));
        assert!(!is_constant(r#"{"a": os.Args[0]}"#));
    }

    fn uses_in(file: &str, name: &str) -> Vec<SyntaxCapture> {
        let b = file.as_bytes();
        file.match_indices(name)
            .map(|(i, _)| i)
            .filter(|&i| {
                let end = i + name.len();
                (i == 0 || !is_word_byte(b[i - 1])) && (end >= b.len() || !is_word_byte(b[end]))
            })
            .skip(1)
            .map(|i| SyntaxCapture {
                name: "use".into(),
                kind: "identifier".into(),
                bytes: joule_sdk::ByteRange {
                    start: i as u64,
                    end: (i + name.len()) as u64,
                },
                lines: LineRange { start: 1, end: 1 },
                text: name.into(),
            })
            .collect()
    }

    fn check(file: &str) -> Option<String> {
        let uses = uses_in(file, "m");
        let refs: Vec<&SyntaxCapture> = uses.iter().collect();
        only_read(file, "m", &refs)
    }

    #[test]
    fn maps_only_looked_up_are_read_only() {
        assert_eq!(check("m := map[string]bool{}\nreturn m[w]"), None);
        assert_eq!(
            check("m := map[string]int{}\nv, ok := m[k]\nn := len(m)\nfor k := range m {}"),
            None
        );
        assert_eq!(check("m := map[string]int{}\nif m[a[i]] > 0 {}"), None);
    }

    #[test]
    fn maps_written_or_passed_on_are_not() {
        for (file, why) in [
            ("m := map[string]bool{}\nm[w] = true", "writes"),
            ("m := map[string]int{}\nm[w]++", "writes"),
            ("m := map[string]int{}\nm[w] += 2", "writes"),
            ("m := map[string]int{}\ndelete(m, w)", "other than"),
            ("m := map[string]int{}\nreturn m", "other than"),
            ("m := map[string]int{}\nuse(m)", "other than"),
            ("m := map[string]int{}\np := &m", "other than"),
        ] {
            let found = check(file);
            assert!(
                found.as_deref().is_some_and(|f| f.contains(why)),
                "{file}: {found:?}"
            );
        }
    }
}
