//! `string-concat-in-loop`: `out += piece` on a Go string inside a loop copies everything
//! built so far into a new string on every iteration: n pieces cost n * n / 2 piece copies,
//! and the garbage collector then scans and frees every intermediate string.
//!
//! Profile evidence: the time in the Go runtime's string concatenation
//! (`runtime.concatstrings`, `runtime.concatstring2`..`5`, with the allocation and copying
//! under it) charged to the function that concatenates. Source evidence (syntax queries in
//! that function): a local string, declared there from a string literal (`out := "..."`,
//! `var out string`), appended to with `+=` inside a loop. The patch makes it a
//! `strings.Builder`: the declaration becomes `var out strings.Builder` (plus
//! `out.WriteString(..)` of a non-empty initial value), each `out += x` becomes
//! `out.WriteString(x)`, each other read `out.String()`, `out = ""` becomes `out.Reset()`,
//! and `strings` is imported when it is not. It is offered only when every use of the name in
//! the function is one of those: its address taken, another assignment, or the name read
//! inside its own append leave the finding without a patch.
//!
//! Java the same way: the time in `StringConcatHelper` (what `javac`'s string `+` calls) and
//! the array allocation under it, charged to the concatenating method; a local `String NAME =
//! "..."` appended to with `+=` in a loop becomes a `StringBuilder` (`NAME.append(x)`,
//! `NAME.toString()` for every read, `NAME.setLength(0)` for `NAME = ""`).
//!
//! Python (`python.rs`): `bytes` appended to with `+=` in a loop, from line-level time; the
//! pieces are collected in a list and joined once.

use joule_sdk::SyntaxMatch;
use joule_sdk::code::without_strings;
use joule_sdk::hotspot::{Attribution, CallerCost, JAVA_LIBRARY, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

mod python;

/// Go's string concatenation (and the allocation and copying under it).
const GO_COST: &str = r"^runtime\.(concatstrings|concatstring[2-5])$";

/// Java's: the concatenation helpers `javac`'s string `+` is linked to, and the array
/// allocation a compiled concatenation calls directly.
const JAVA_COST: &str = r"StringConcatHelper\.|StringConcatFactory|java\.lang\.String\.concat\(|allocateUninitializedArray|^_new_array_Java$";

/// Java's standard library and the JVM's allocation entry: where the cost enters from the
/// program.
const JAVA_ENTRY: &str = r"^_new_array_Java$|^OptoRuntime::";

/// Java: appends, declarations of a `String` from a literal, plain assignments.
const JAVA_APPENDS: &str = r#"((assignment_expression
   left: (identifier) @name operator: "+=" right: (_) @value) @append)"#;
const JAVA_DECLARATIONS: &str = r#"((local_variable_declaration
   type: (type_identifier) @type
   declarator: (variable_declarator name: (identifier) @name value: (string_literal) @init)) @decl
 (#eq? @type "String"))"#;
const JAVA_ASSIGNMENTS: &str = r#"((assignment_expression
   left: (identifier) @name operator: "=" right: (_) @value) @assign)"#;

/// How a language spells what the patch writes.
#[derive(Clone, Copy)]
pub struct Dialect {
    pub language: Language,
    fence: &'static str,
    builder: &'static str,
    appends: &'static str,
    declarations: &'static str,
    assignments: &'static str,
}

pub const GO: Dialect = Dialect {
    language: Language::Go,
    fence: "go",
    builder: "strings.Builder",
    appends: APPENDS,
    declarations: DECLARATIONS,
    assignments: ASSIGNMENTS,
};

pub const JAVA: Dialect = Dialect {
    language: Language::Java,
    fence: "java",
    builder: "StringBuilder",
    appends: JAVA_APPENDS,
    declarations: JAVA_DECLARATIONS,
    assignments: JAVA_ASSIGNMENTS,
};

impl Dialect {
    /// The declaration that replaces the string's: of a builder, holding `init` when it is
    /// not empty.
    fn declare(&self, name: &str, indent: &str, init: Option<&str>) -> String {
        let init = init.filter(|i| !matches!(*i, "\"\"" | "``"));
        match (self.language, init) {
            (Language::Java, Some(init)) => {
                format!("StringBuilder {name} = new StringBuilder({init});")
            }
            (Language::Java, None) => format!("StringBuilder {name} = new StringBuilder();"),
            (_, Some(init)) => {
                format!("var {name} strings.Builder\n{indent}{name}.WriteString({init})")
            }
            (_, None) => format!("var {name} strings.Builder"),
        }
    }

    fn append(&self, name: &str, value: &str) -> String {
        match self.language {
            Language::Java => format!("{name}.append({value})"),
            _ => format!("{name}.WriteString({value})"),
        }
    }

    fn read(&self, name: &str) -> String {
        match self.language {
            Language::Java => format!("{name}.toString()"),
            _ => format!("{name}.String()"),
        }
    }

    fn reset(&self, name: &str) -> String {
        match self.language {
            Language::Java => format!("{name}.setLength(0)"),
            _ => format!("{name}.Reset()"),
        }
    }
}

/// Appends: `NAME += VALUE`.
const APPENDS: &str = r#"((assignment_statement
   left: (expression_list . (identifier) @name .)
   operator: "+="
   right: (expression_list . (_) @value .)) @append)"#;

/// Declarations of a string: `NAME := "..."`, `var NAME string`, `var NAME = "..."`.
const DECLARATIONS: &str = r#"((short_var_declaration
   left: (expression_list . (identifier) @name .)
   right: (expression_list . [(interpreted_string_literal) (raw_string_literal)] @init .)) @decl)
((var_declaration (var_spec name: (identifier) @name type: (type_identifier) @type .)) @decl
 (#eq? @type "string"))
((var_declaration (var_spec name: (identifier) @name
   value: (expression_list . [(interpreted_string_literal) (raw_string_literal)] @init .))) @decl)"#;

/// Plain assignments: `NAME = VALUE`.
const ASSIGNMENTS: &str = r#"((assignment_statement
   left: (expression_list . (identifier) @name .)
   operator: "="
   right: (expression_list . (_) @value .)) @assign)"#;

/// Go: a name `strings` declared in the function (a parameter, result, variable or range
/// variable), which hides the package the patch's `strings.Builder` names.
const GO_STRINGS_DECLARED: &str = r#"([(parameter_declaration name: (identifier) @name)
  (short_var_declaration left: (expression_list (identifier) @name))
  (var_spec name: (identifier) @name)
  (range_clause left: (expression_list (identifier) @name))]
 (#eq? @name "strings"))"#;

/// Share of the concatenation the patch removes: appends into a growing buffer cost the
/// pieces' length, not the whole string's.
const REMOVED: f64 = 0.9;

struct StringConcatInLoop;

impl Skill for StringConcatInLoop {
    fn describe() -> Descriptor {
        Describe::offense(
            "string-concat-in-loop",
            env!("CARGO_PKG_VERSION"),
            "Go and Java strings, and Python bytes, built with += inside a loop (every append \
             copies the whole string); proposes a strings.Builder, a StringBuilder, or a list \
             joined once.",
            "0.02",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        // Go's library is the concatenation itself (the runtime as a whole is also every
        // goroutine's root, `runtime.main`, `runtime.goexit`).
        let mut findings = Attribution::new(GO_COST, GO_COST)
            .in_language(Language::Go)
            .scan(invocation, "Go string concatenation", |p, t, c| {
                caller_findings(p, t, c, &GO)
            })?;
        findings.extend(
            Attribution::new(JAVA_COST, &format!("{JAVA_LIBRARY}|{JAVA_ENTRY}"))
                .in_language(Language::Java)
                .scan(invocation, "Java string concatenation", |p, t, c| {
                    caller_findings(p, t, c, &JAVA)
                })?,
        );
        findings.extend(python::scan(invocation)?);
        Ok(findings)
    }
}

/// The identifier `@name`'s text and byte range in a match.
fn name_of(m: &SyntaxMatch) -> Option<(&str, u64)> {
    m.capture("name").map(|c| (c.text.as_str(), c.bytes.start))
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
    dialect: &Dialect,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let language = dialect.language;
    let appends = sites_in(trees, function, &Query::new(language, dialect.appends))?;
    // Names appended to inside a loop, each once, in order.
    let mut names: Vec<(String, String)> = Vec::new();
    for (tree, m) in &appends {
        if m.loop_depth > 0
            && let Some((name, _)) = name_of(m)
            && !names.iter().any(|(t, n)| t == tree && n == name)
        {
            names.push((tree.clone(), name.to_string()));
        }
    }
    let mut findings = Vec::new();
    if names.is_empty() {
        joule_sdk::log::info(format!(
            "`{}`: {} in string concatenation, but no `+=` on a name inside a loop in it",
            function.name,
            percent(share)
        ));
        return Ok(findings);
    }
    let declarations = sites_in(trees, function, &Query::new(language, dialect.declarations))?;
    let assignments = sites_in(trees, function, &Query::new(language, dialect.assignments))?;
    for (tree_name, name) in names {
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        let ours = |sites: &[(String, SyntaxMatch)]| -> Vec<SyntaxMatch> {
            sites
                .iter()
                .filter(|(t, m)| *t == tree_name && name_of(m).is_some_and(|(n, _)| n == name))
                .map(|(_, m)| m.clone())
                .collect()
        };
        let (appends, declarations, assignments) =
            (ours(&appends), ours(&declarations), ours(&assignments));
        // A string declared in this function: a parameter or a variable of an outer scope
        // may be another type, or seen by the caller.
        let [declaration] = declarations.as_slice() else {
            continue;
        };
        let path = declaration.path.clone();
        let file = tree.read(&path)?;
        let uses = tree.identifiers(language, &path, &name)?;
        // In the declaring function itself (its lines: Java overloads share a name).
        let uses: Vec<&SyntaxMatch> = uses
            .iter()
            .filter(|m| {
                let lines = |m: &SyntaxMatch| m.function_lines.map(|l| (l.start, l.end));
                m.function == declaration.function && lines(m) == lines(declaration)
            })
            .collect();
        let in_loop = appends.iter().find(|m| m.loop_depth > 0);
        let Some(in_loop) = in_loop.and_then(|m| m.capture("append")) else {
            continue;
        };
        let hidden = language == Language::Go
            && sites_in(trees, function, &Query::new(language, GO_STRINGS_DECLARED))?
                .iter()
                .any(|(t, m)| *t == tree_name && m.function == declaration.function);
        let plan = if hidden {
            Err("`strings` names a variable in the function, hiding the package".to_string())
        } else {
            plan(
                dialect,
                &file,
                &name,
                declaration,
                &appends,
                &assignments,
                &uses,
            )
        };
        let builder = dialect.builder;
        let fence = dialect.fence;
        let mut finding = Finding::opportunity("string-concat-in-loop")
            .title(format!(
                "`{}` builds `{name}` with += in a loop: {} of {}",
                function.name,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} goes to string concatenation under `{}`. Inside a loop,\n\n```{fence}\n{}\n```\n\n\
                 copies all of `{name}` into a new string on every iteration: n appends cost \
                 n * n / 2 copies, and the garbage collector scans and frees every \
                 intermediate string. A `{builder}` appends into one growing buffer. {}",
                profile.cost(caller.value),
                function.name,
                in_loop.text.lines().next().unwrap_or("").trim(),
                match &plan {
                    Ok(_) => format!(
                        "The patch makes `{name}` a `{builder}`, appends with `{}` and reads \
                         `{}`.",
                        dialect.append(&name, ".."),
                        dialect.read(&name)
                    ),
                    Err(why) => format!("No patch is proposed because {why}."),
                }
            ))
            .location(Location::capture(&tree_name, &path, in_loop).in_function(&function.name))
            .measured(profile, caller.value)
            .saving(share * REMOVED)
            .confidence(0.85)
            .evidence(
                "concatenation time in the function",
                caller.value as f64,
                profile.unit(),
            )
            .label("fingerprint", format!("{name} += ({builder})"));
        if let Ok(edits) = plan {
            for (start, end, text) in edits {
                finding = finding.edit(Edit::bytes(
                    &tree_name,
                    &path,
                    start as usize,
                    end as usize,
                    &text,
                ));
            }
            if language == Language::Go
                && let Some(import) = import_strings(tree, &path, &file)?
            {
                finding = finding.edit(import);
            }
        }
        findings.push(finding.build());
    }
    Ok(findings)
}

/// A byte edit: replace `start..end` with the text.
type ByteEdit = (u64, u64, String);

/// The edits that make `name` a `strings.Builder` in the function, or why they cannot be
/// made: every use of the name (`uses`, identifiers) must be the declaration, an append's
/// target, a reset to `""`, or a plain read.
pub fn plan(
    dialect: &Dialect,
    file: &str,
    name: &str,
    declaration: &SyntaxMatch,
    appends: &[SyntaxMatch],
    assignments: &[SyntaxMatch],
    uses: &[&SyntaxMatch],
) -> Result<Vec<ByteEdit>, String> {
    let decl = declaration
        .capture("decl")
        .ok_or("the declaration was not captured")?;
    if declaration.loop_depth > 0 {
        return Err(format!("`{name}` is declared inside the loop"));
    }
    if !decl.is_whole() {
        return Err("the declaration is too long to rewrite".to_string());
    }
    // `String out = "", sep = ",";` or `var out, sep string`: the other names would go.
    if without_strings(&decl.text).contains(',') {
        return Err(format!("`{name}` is declared together with other names"));
    }
    let mut edits: Vec<ByteEdit> = Vec::new();
    let indent = indentation_at(file, decl.bytes.start);
    let declared = dialect.declare(
        name,
        &indent,
        declaration.capture("init").map(|i| i.text.as_str()),
    );
    edits.push((decl.bytes.start, decl.bytes.end, declared));
    let mut covered: Vec<(u64, u64)> = vec![(decl.bytes.start, decl.bytes.end)];
    for m in appends {
        let (Some(append), Some(value)) = (m.capture("append"), m.capture("value")) else {
            continue;
        };
        if !value.is_whole() {
            return Err("an append is too long to rewrite".to_string());
        }
        edits.push((
            append.bytes.start,
            append.bytes.end,
            dialect.append(name, &value.text),
        ));
        covered.push((append.bytes.start, append.bytes.end));
        if uses.iter().any(|u| {
            u.capture("use").is_some_and(|c| {
                c.bytes.start >= value.bytes.start && c.bytes.end <= value.bytes.end
            })
        }) {
            return Err(format!("`{name}` is read in its own append"));
        }
    }
    for m in assignments {
        let (Some(assign), Some(value)) = (m.capture("assign"), m.capture("value")) else {
            continue;
        };
        if value.text != "\"\"" && value.text != "``" {
            return Err(format!(
                "`{name}` is assigned other than by appending (`{}`)",
                assign.text.lines().next().unwrap_or("").trim()
            ));
        }
        edits.push((assign.bytes.start, assign.bytes.end, dialect.reset(name)));
        covered.push((assign.bytes.start, assign.bytes.end));
    }
    for u in uses {
        let Some(c) = u.capture("use") else { continue };
        let (start, end) = (c.bytes.start, c.bytes.end);
        if covered.iter().any(|&(s, e)| start >= s && end <= e) {
            continue;
        }
        let before = file.get(..start as usize).unwrap_or("").trim_end();
        let after = file.get(end as usize..).unwrap_or("").trim_start();
        let go = dialect.language == Language::Go;
        // `System.out`, `obj.out(..)`: another object's member of that name, not the variable.
        if before.ends_with('.') {
            continue;
        }
        // `T{out: ..}`, a label `out:`: a name, not a read.
        if after.starts_with(':') && !after.starts_with(":=") {
            return Err(format!("`{name}` is also a key or a label in the function"));
        }
        if go && before.ends_with('&') {
            return Err(format!("the address of `{name}` is taken"));
        }
        // Go: `name, x := ..` and `name.f` (a string has no methods: another name's field)
        // are not reads; Java: an argument and a method call on the string are.
        if after.starts_with(":=")
            || (after.starts_with('=') && !after.starts_with("=="))
            || (go && after.starts_with(','))
            || after.starts_with("++")
            || (go && after.starts_with('.'))
        {
            return Err(format!(
                "`{name}` is used in a way the patch does not rewrite (`{name}{}`)",
                after.lines().next().unwrap_or("").trim()
            ));
        }
        if after.starts_with("+=") {
            return Err(format!("`{name}` is appended to in a form not rewritten"));
        }
        edits.push((start, end, dialect.read(name)));
    }
    edits.sort_by_key(|e| e.0);
    if edits.windows(2).any(|w| w[0].1 > w[1].0) {
        return Err("the rewrites would overlap".to_string());
    }
    Ok(edits)
}

/// The whitespace at the start of the line holding byte `at`.
fn indentation_at(file: &str, at: u64) -> String {
    let start = file
        .get(..at as usize)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    file[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// The edit that imports `strings` into `file`, or `None` when it is imported already.
fn import_strings(tree: &Tree, path: &str, file: &str) -> Result<Option<Edit>, CallError> {
    Ok(import_line(file).map(|(line, end, text)| Edit::lines(tree.name(), path, line, end, &text)))
}

/// Where `"strings"` goes in a Go file's imports, as a line edit (first line, last line
/// replaced, text): into the `import ( .. )` block in sorted place, a single `import "x"`
/// made a block, or a new `import "strings"` after the package clause; `None` when imported.
pub fn import_line(file: &str) -> Option<(u32, u32, String)> {
    let lines: Vec<&str> = file.lines().collect();
    let number = |i: usize| i as u32 + 1;
    if lines.iter().any(|l| {
        let l = l.trim();
        l == "\"strings\"" || l == "import \"strings\""
    }) {
        return None;
    }
    if let Some(open) = lines.iter().position(|l| l.trim() == "import (") {
        let close = open + lines[open..].iter().position(|l| l.trim() == ")")?;
        let specs = &lines[open + 1..close];
        // Before the first standard-library path that sorts after it (a path with a dot in
        // its first element is a module's, in a group of its own).
        let at = specs
            .iter()
            .position(|l| {
                let path = l.trim().trim_matches('"');
                !l.trim().is_empty()
                    && !path.split('/').next().unwrap_or("").contains('.')
                    && path > "strings"
            })
            .or_else(|| {
                specs
                    .iter()
                    .rposition(|l| {
                        let path = l.trim().trim_matches('"');
                        !l.trim().is_empty() && !path.split('/').next().unwrap_or("").contains('.')
                    })
                    .map(|i| i + 1)
            })
            .unwrap_or(0);
        let line = open + 1 + at;
        return Some((
            number(line),
            number(line) - 1,
            "\t\"strings\"\n".to_string(),
        ));
    }
    if let Some(single) = lines
        .iter()
        .position(|l| l.trim_start().starts_with("import \""))
    {
        let existing = lines[single].trim().trim_start_matches("import").trim();
        let mut paths = [existing.to_string(), "\"strings\"".to_string()];
        paths.sort();
        return Some((
            number(single),
            number(single),
            format!("import (\n\t{}\n\t{}\n)\n", paths[0], paths[1]),
        ));
    }
    let package = lines.iter().position(|l| l.starts_with("package "))?;
    Some((
        number(package) + 1,
        number(package),
        "\nimport \"strings\"\n".to_string(),
    ))
}

export_skill!(StringConcatInLoop, id = "string-concat-in-loop");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_goes_into_the_imports_in_sorted_place() {
        let block = "package p\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"unicode\"\n)\n";
        assert_eq!(
            import_line(block),
            Some((6, 5, "\t\"strings\"\n".to_string()))
        );
        let last = "package p\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/x\"\n)\n";
        assert_eq!(
            import_line(last),
            Some((5, 4, "\t\"strings\"\n".to_string()))
        );
        let single = "package p\n\nimport \"fmt\"\n";
        assert_eq!(
            import_line(single),
            Some((3, 3, "import (\n\t\"fmt\"\n\t\"strings\"\n)\n".to_string()))
        );
        let none = "// Package p.\npackage p\n\nfunc f() {}\n";
        assert_eq!(
            import_line(none),
            Some((3, 2, "\nimport \"strings\"\n".to_string()))
        );
        assert_eq!(
            import_line("package p\n\nimport (\n\t\"strings\"\n)\n"),
            None
        );
        assert_eq!(import_line("package p\nimport \"strings\"\n"), None);
    }

    use joule_sdk::{ByteRange, LineRange, SyntaxCapture};

    /// A capture of the `nth` occurrence of `text` in `file`.
    fn cap(file: &str, name: &str, text: &str, nth: usize) -> SyntaxCapture {
        let start = file.match_indices(text).nth(nth).expect(text).0;
        let line = file[..start].lines().count() as u32;
        SyntaxCapture {
            name: name.to_string(),
            kind: String::new(),
            bytes: ByteRange {
                start: start as u64,
                end: (start + text.len()) as u64,
            },
            lines: LineRange {
                start: line,
                end: line,
            },
            text: text.to_string(),
        }
    }

    fn matched(captures: Vec<SyntaxCapture>, loop_depth: u32) -> SyntaxMatch {
        SyntaxMatch {
            path: "p.go".to_string(),
            pattern: 0,
            captures,
            function: Some("F".to_string()),
            function_lines: None,
            loop_depth,
        }
    }

    /// The plan for `out` in `file`, whose declaration is `decl` (with `init`), appends are
    /// `appends` (statement, value), and plain assignments `assigns` (statement, value).
    fn plan_for(
        file: &str,
        decl: (&str, Option<&str>),
        appends: &[(&str, &str)],
        assigns: &[(&str, &str)],
        decl_depth: u32,
    ) -> Result<String, String> {
        let mut d = vec![cap(file, "decl", decl.0, 0)];
        if let Some(init) = decl.1 {
            d.push(cap(file, "init", init, 0));
        }
        let declaration = matched(d, decl_depth);
        let appends: Vec<SyntaxMatch> = appends
            .iter()
            .map(|(a, v)| matched(vec![cap(file, "append", a, 0), cap(file, "value", v, 0)], 1))
            .collect();
        let assigns: Vec<SyntaxMatch> = assigns
            .iter()
            .map(|(a, v)| matched(vec![cap(file, "assign", a, 0), cap(file, "value", v, 0)], 0))
            .collect();
        // Every `out` that is a whole word.
        let uses: Vec<SyntaxMatch> = file
            .match_indices("out")
            .filter(|(i, _)| {
                let b = file.as_bytes();
                !b[i - 1].is_ascii_alphanumeric() && !b[i + 3].is_ascii_alphanumeric()
            })
            .map(|(i, _)| {
                let n = file[..i].matches("out").count();
                matched(vec![cap(file, "use", "out", n)], 0)
            })
            .collect();
        let uses: Vec<&SyntaxMatch> = uses.iter().collect();
        let edits = plan(&GO, file, "out", &declaration, &appends, &assigns, &uses)?;
        let mut patched = file.to_string();
        for (start, end, text) in edits.iter().rev() {
            patched.replace_range(*start as usize..*end as usize, text);
        }
        Ok(patched)
    }

    #[test]
    fn a_string_built_in_a_loop_becomes_a_builder() {
        let file = "func F(xs []string) string {\n\tout := \"[\"\n\tfor _, x := range xs {\n\t\tif len(out) > 80 {\n\t\t\tout = \"\"\n\t\t}\n\t\tout += x + \",\"\n\t}\n\treturn out\n}\n";
        let patched = plan_for(
            file,
            ("out := \"[\"", Some("\"[\"")),
            &[("out += x + \",\"", "x + \",\"")],
            &[("out = \"\"", "\"\"")],
            0,
        )
        .unwrap();
        assert_eq!(
            patched,
            "func F(xs []string) string {\n\tvar out strings.Builder\n\tout.WriteString(\"[\")\n\tfor _, x := range xs {\n\t\tif len(out.String()) > 80 {\n\t\t\tout.Reset()\n\t\t}\n\t\tout.WriteString(x + \",\")\n\t}\n\treturn out.String()\n}\n"
        );
    }

    #[test]
    fn uses_the_patch_cannot_rewrite_leave_no_patch() {
        let base = |extra: &str| {
            format!(
                "func F(xs []string) string {{\n\tout := \"\"\n\tfor _, x := range xs {{\n\t\tout += x\n\t}}\n{extra}\treturn out\n}}\n"
            )
        };
        let decl = ("out := \"\"", Some("\"\""));
        let append = [("out += x", "x")];
        let address = base("\tp := &out\n\t_ = p\n");
        assert!(
            plan_for(&address, decl, &append, &[], 0)
                .unwrap_err()
                .contains("address")
        );
        let reassigned = base("\tout = strings.TrimSpace(out)\n");
        assert!(
            plan_for(
                &reassigned,
                decl,
                &append,
                &[("out = strings.TrimSpace(out)", "strings.TrimSpace(out)")],
                0
            )
            .unwrap_err()
            .contains("assigned")
        );
        let itself = "func F(xs []string) string {\n\tout := \"\"\n\tfor range xs {\n\t\tout += out\n\t}\n\treturn out\n}\n";
        assert!(
            plan_for(itself, decl, &[("out += out", "out")], &[], 0)
                .unwrap_err()
                .contains("own append")
        );
        let inside = base("");
        assert!(
            plan_for(&inside, decl, &append, &[], 1)
                .unwrap_err()
                .contains("inside the loop")
        );
        // A plain read is fine.
        assert!(plan_for(&base("\tprintln(out)\n"), decl, &append, &[], 0).is_ok());
    }

    #[test]
    fn members_of_other_objects_and_shared_declarations() {
        let decl = ("String out = \"\";", Some("\"\""));
        // `System.out` is not the variable: left alone (Java reads through `toString()`).
        let java = "void f(List<String> xs) {\n  String out = \"\";\n  for (String x : xs) {\n    out += x;\n  }\n  System.out.println(out);\n}\n";
        let declaration = matched(
            vec![cap(java, "decl", decl.0, 0), cap(java, "init", "\"\"", 0)],
            0,
        );
        let appends = vec![matched(
            vec![
                cap(java, "append", "out += x", 0),
                cap(java, "value", "x;", 0),
            ],
            1,
        )];
        // Every `out` as a whole word, `System.out` included.
        let uses: Vec<SyntaxMatch> = (0..java.matches("out").count())
            .map(|n| matched(vec![cap(java, "use", "out", n)], 0))
            .filter(|m| {
                let c = m.capture("use").unwrap();
                let b = java.as_bytes();
                !b[c.bytes.start as usize - 1].is_ascii_alphanumeric()
                    && !b[c.bytes.end as usize].is_ascii_alphanumeric()
            })
            .collect();
        let refs: Vec<&SyntaxMatch> = uses.iter().collect();
        let edits = plan(&JAVA, java, "out", &declaration, &appends, &[], &refs).unwrap();
        let mut patched = java.to_string();
        for (start, end, text) in edits.iter().rev() {
            patched.replace_range(*start as usize..*end as usize, text);
        }
        assert!(
            patched.contains("System.out.println(out.toString());"),
            "{patched}"
        );
        // Two names in one declaration: no patch.
        let shared = "String out = \"\", sep = \",\";";
        let declaration = matched(vec![cap(shared, "decl", shared, 0)], 0);
        assert!(
            plan(&JAVA, shared, "out", &declaration, &[], &[], &[])
                .unwrap_err()
                .contains("together")
        );
        // A literal with a comma is one name.
        assert_eq!(
            without_strings("String out = \"a,b\";"),
            "String out = \"\";"
        );
    }

    #[test]
    fn indentation_is_the_lines() {
        assert_eq!(indentation_at("func f() {\n\tout := \"\"\n}", 13), "\t");
        assert_eq!(indentation_at("x", 0), "");
    }
}
