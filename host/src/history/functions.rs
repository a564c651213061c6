//! Which functions a changed range of a file touches: every function whose definition, from its
//! first line to its last (decorators and doc-less signature included), overlaps the range in
//! that version of the file, parsed with the host's tree-sitter grammars (Rust, Go, Python,
//! C/C++, Java, JavaScript/TypeScript).
//!
//! Functions are named as profiles name them, qualified by what encloses them in the file:
//! `Registry._sort` and `outer.<locals>.inner` (Python's `__qualname__`), `Parser::parse` and
//! `outer::inner` (Rust, with `mod` blocks), `(*Server).Handle` (Go), `ns::Type::method` (C++),
//! `Outer.method` (Java), `Class.method` (JavaScript/TypeScript). Anonymous functions (lambdas,
//! comprehensions, closures, Go function literals) have no definition of their own: a change
//! inside one touches the named function around it, whose span covers it, which is where
//! profiles' `<lambda>`, `{{closure}}` and `func1` frames lead back to.

use std::time::{Duration, Instant};

use tree_sitter::{Node, Parser};

use crate::source::syntax::Language;

/// How long one file's parse may take before its functions are given up (a hostile or huge
/// file must not hold a history call; real files parse in milliseconds).
const PARSE_BUDGET: Duration = Duration::from_millis(200);

/// One function of a file: its qualified name and the lines it spans (from 1, inclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub start: u32,
    pub end: u32,
}

/// What a syntax node means for the names of the functions inside it.
enum Role {
    /// A function: its own name (unqualified), and the scope segments it adds for what is
    /// defined inside it (Python's `<locals>`; nothing where nested functions are not
    /// qualified by their parent in profiles).
    Function {
        name: String,
        inner: Vec<String>,
    },
    /// A container that qualifies the functions inside it: a class, `impl`, module, namespace.
    Scope(String),
    Other,
}

/// Every named function of `text`, outer ones before the ones nested in them; `None` when the
/// path's language has no grammar or the parse ran out of time.
pub fn definitions(path: &str, text: &str) -> Option<Vec<Definition>> {
    let language = Language::of_file(path, text.as_bytes())?;
    let mut parser = Parser::new();
    parser.set_language(&language.grammar()).ok()?;
    let bytes = text.as_bytes();
    let deadline = Instant::now() + PARSE_BUDGET;
    let mut past_deadline = |_: &tree_sitter::ParseState| Instant::now() >= deadline;
    let tree = parser.parse_with_options(
        &mut |i, _| bytes.get(i..).unwrap_or_default(),
        None,
        Some(tree_sitter::ParseOptions::new().progress_callback(&mut past_deadline)),
    )?;
    let separator = match language {
        Language::Rust | Language::C | Language::Cpp => "::",
        _ => ".",
    };
    let mut out = Vec::new();
    // Depth-first with an explicit stack (a hostile file nests deeper than the call stack
    // would take), each node with the qualifying segments of what encloses it.
    let mut stack: Vec<(Node<'_>, Vec<String>)> = vec![(tree.root_node(), Vec::new())];
    while let Some((node, scope)) = stack.pop() {
        let inner_scope = match role(language, node, bytes) {
            Role::Function { name, inner } => {
                let mut qualified = scope.clone();
                qualified.push(name.clone());
                // Decorators and attributes belong to the function they decorate.
                let outer = node
                    .parent()
                    .filter(|p| p.kind() == "decorated_definition")
                    .unwrap_or(node);
                out.push(Definition {
                    name: qualified.join(separator),
                    start: outer.start_position().row as u32 + 1,
                    end: node.end_position().row as u32 + 1,
                });
                if language == Language::JavaScript
                    || language == Language::TypeScript
                    || language == Language::Tsx
                    || language == Language::Go
                    || language == Language::Java
                {
                    // Profiles of these name a nested function by itself, not by its parent.
                    scope
                } else {
                    qualified.extend(inner);
                    qualified
                }
            }
            Role::Scope(segment) => {
                let mut inner = scope.clone();
                inner.push(segment);
                inner
            }
            Role::Other => scope,
        };
        let mut walker = node.walk();
        let children: Vec<Node<'_>> = node.named_children(&mut walker).collect();
        for child in children.into_iter().rev() {
            stack.push((child, inner_scope.clone()));
        }
    }
    Some(out)
}

/// The functions lines `start..start + count` (counted from 1; `count` 0 is the point at
/// `start`) of `text` touch: every function whose lines overlap them, outer before inner.
/// Empty for a language without a grammar.
pub fn enclosing_functions(path: &str, text: &str, start: u32, count: u32) -> Vec<String> {
    let first = start.max(1);
    let last = first.saturating_add(count.max(1) - 1);
    let mut out: Vec<String> = Vec::new();
    for d in definitions(path, text).unwrap_or_default() {
        if d.start <= last && first <= d.end && !out.contains(&d.name) {
            out.push(d.name);
        }
    }
    out
}

fn text_of<'t>(node: Node<'_>, bytes: &'t [u8]) -> &'t str {
    node.utf8_text(bytes).unwrap_or_default()
}

fn field_text<'t>(node: Node<'_>, field: &str, bytes: &'t [u8]) -> Option<&'t str> {
    node.child_by_field_name(field)
        .map(|n| text_of(n, bytes))
        .filter(|t| !t.is_empty())
}

/// A type's name without its generic arguments: `Vec<T>` -> `Vec`, `Map[K, V]` -> `Map`.
fn without_generics(name: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::new();
    for c in name.chars() {
        match c {
            '<' | '[' => depth += 1,
            '>' | ']' => depth = depth.saturating_sub(1),
            c if depth == 0 && !c.is_whitespace() => out.push(c),
            _ => {}
        }
    }
    out
}

fn function(name: &str, inner: &[&str]) -> Role {
    if name.is_empty() {
        return Role::Other;
    }
    Role::Function {
        name: name.to_string(),
        inner: inner.iter().map(|s| s.to_string()).collect(),
    }
}

fn scope(name: Option<&str>) -> Role {
    match name.map(without_generics) {
        Some(name) if !name.is_empty() => Role::Scope(name),
        _ => Role::Other,
    }
}

fn role(language: Language, node: Node<'_>, bytes: &[u8]) -> Role {
    let kind = node.kind();
    let name = |field: &str| field_text(node, field, bytes);
    match language {
        Language::Rust => match kind {
            "function_item" => function(name("name").unwrap_or_default(), &[]),
            "impl_item" => scope(name("type")),
            "mod_item" | "trait_item" => scope(name("name")),
            _ => Role::Other,
        },
        Language::Python => match kind {
            "function_definition" => function(name("name").unwrap_or_default(), &["<locals>"]),
            "class_definition" => scope(name("name")),
            _ => Role::Other,
        },
        Language::Go => match kind {
            "function_declaration" => function(name("name").unwrap_or_default(), &[]),
            "method_declaration" => {
                let method = name("name").unwrap_or_default();
                let receiver = node
                    .child_by_field_name("receiver")
                    .and_then(|r| r.named_child(0))
                    .and_then(|p| p.child_by_field_name("type"));
                match receiver {
                    Some(t) => {
                        let pointer = t.kind() == "pointer_type";
                        let base = without_generics(text_of(t, bytes).trim_start_matches('*'));
                        let receiver = if pointer { format!("(*{base})") } else { base };
                        function(&format!("{receiver}.{method}"), &[])
                    }
                    None => function(method, &[]),
                }
            }
            _ => Role::Other,
        },
        Language::C | Language::Cpp => match kind {
            "function_definition" => {
                let mut declarator = node.child_by_field_name("declarator");
                for _ in 0..16 {
                    let Some(d) = declarator else { break };
                    if matches!(
                        d.kind(),
                        "identifier"
                            | "field_identifier"
                            | "qualified_identifier"
                            | "destructor_name"
                            | "operator_name"
                    ) {
                        return function(&without_generics(text_of(d, bytes)), &[]);
                    }
                    declarator = d.child_by_field_name("declarator");
                }
                Role::Other
            }
            "namespace_definition" => scope(name("name")),
            "class_specifier" | "struct_specifier"
                if node.child_by_field_name("body").is_some() =>
            {
                scope(name("name"))
            }
            _ => Role::Other,
        },
        Language::Java => match kind {
            "method_declaration" | "constructor_declaration" => {
                function(name("name").unwrap_or_default(), &[])
            }
            "class_declaration"
            | "interface_declaration"
            | "enum_declaration"
            | "record_declaration" => scope(name("name")),
            _ => Role::Other,
        },
        Language::JavaScript | Language::TypeScript | Language::Tsx => match kind {
            "function_declaration" | "generator_function_declaration" | "method_definition" => {
                function(name("name").unwrap_or_default(), &[])
            }
            "variable_declarator"
                if node.child_by_field_name("value").is_some_and(|v| {
                    matches!(
                        v.kind(),
                        "arrow_function"
                            | "function_expression"
                            | "function"
                            | "generator_function"
                    )
                }) =>
            {
                function(name("name").unwrap_or_default(), &[])
            }
            "class_declaration" | "abstract_class_declaration" | "class" => scope(name("name")),
            _ => Role::Other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(path: &str, text: &str) -> Vec<(String, u32, u32)> {
        definitions(path, text)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.start, d.end))
            .collect()
    }

    #[test]
    fn a_change_anywhere_in_a_rust_function_touches_it_by_its_qualified_name() {
        let text = "use x;\n\npub fn parse_line(l: &str) -> bool {\n    let re = 1;\n    re == 1\n}\n\nimpl<T> A<T> {\n    pub(crate) async fn is_bot(&self) -> bool {\n        let f = |x: u8| {\n            x > 1\n        };\n        f(self.0)\n    }\n}\n\nmod inner {\n    fn helper() {}\n}\n";
        for (line, touched, why) in [
            (4, "parse_line", "in the body"),
            (
                11,
                "A::is_bot",
                "inside a closure: the method around it, qualified by its type",
            ),
            (
                14,
                "A::is_bot",
                "the closing brace (a definition line alone would miss it)",
            ),
        ] {
            assert_eq!(
                enclosing_functions("src/parse.rs", text, line, 1),
                [touched],
                "{why}"
            );
        }
        assert_eq!(
            enclosing_functions("src/parse.rs", text, 5, 6),
            ["parse_line", "A::is_bot"]
        );
        assert_eq!(
            enclosing_functions("src/parse.rs", text, 18, 1),
            ["inner::helper"]
        );
        // Between functions: none.
        assert!(enclosing_functions("src/parse.rs", text, 1, 1).is_empty());
        assert!(enclosing_functions("src/parse.rs", text, 7, 1).is_empty());
    }

    #[test]
    fn python_functions_are_named_by_their_qualname() {
        let py = "class Registry:\n    @property\n    def size(self):\n        return 1\n\n    def _sort(self):\n        self._data.sort(\n            key=lambda item: item.priority,\n        )\n\n\ndef test():\n    def inner(x):\n        return [y for y in x]\n    return inner\n";
        assert_eq!(
            spans("m.py", py),
            [
                ("Registry.size".to_string(), 2, 4),
                ("Registry._sort".to_string(), 6, 9),
                ("test".to_string(), 12, 15),
                ("test.<locals>.inner".to_string(), 13, 14),
            ]
        );
        // The lambda's line belongs to `Registry._sort`; a decorator line to the function.
        assert_eq!(enclosing_functions("m.py", py, 8, 1), ["Registry._sort"]);
        assert_eq!(enclosing_functions("m.py", py, 2, 1), ["Registry.size"]);
        // A change in a nested function touches it and the function it is defined in.
        assert_eq!(
            enclosing_functions("m.py", py, 14, 1),
            ["test", "test.<locals>.inner"]
        );
    }

    #[test]
    fn go_c_java_and_javascript_functions_have_their_spans_and_qualifiers() {
        let go = "package main\n\nfunc (s *Server) Handle(w http.ResponseWriter) {\n\tgo func() {\n\t\tx := 1\n\t}()\n}\n\nfunc (m Map[K, V]) Len() int {\n\treturn 0\n}\n\nfunc main() {}\n";
        assert_eq!(
            enclosing_functions("main.go", go, 5, 1),
            ["(*Server).Handle"]
        );
        assert_eq!(enclosing_functions("main.go", go, 10, 1), ["Map.Len"]);
        let c =
            "static int hash_key(const char *k)\n{\n    if (k) {\n        return 1;\n    }\n}\n";
        assert_eq!(enclosing_functions("h.c", c, 5, 1), ["hash_key"]);
        let cpp = "namespace store {\nclass Cache {\n  int get(int k) {\n    return k;\n  }\n};\nint Cache::put(int k) {\n  return k;\n}\n}\n";
        for (line, touched) in [(4, "store::Cache::get"), (8, "store::Cache::put")] {
            assert_eq!(enclosing_functions("c.cpp", cpp, line, 1), [touched]);
        }
        let java = "class Outer {\n  int run(int x) {\n    return list.stream().map(y -> y + 1).count();\n  }\n}\n";
        assert_eq!(enclosing_functions("Outer.java", java, 3, 1), ["Outer.run"]);
        let js = "export async function load(url) {\n  return fetch(url);\n}\nconst parse = (s) => {\n  return s;\n};\nclass A {\n  run() {\n    return [1].map((x) => x);\n  }\n}\n";
        assert_eq!(enclosing_functions("a.js", js, 2, 1), ["load"]);
        assert_eq!(enclosing_functions("a.js", js, 5, 1), ["parse"]);
        assert_eq!(enclosing_functions("a.ts", js, 9, 1), ["A.run"]);
        assert!(enclosing_functions("README.md", "# x\n", 1, 1).is_empty());
    }

    #[test]
    fn broken_or_hostile_text_names_what_it_can_and_never_panics() {
        let deep = format!(
            "fn f() {{ {}{} }}\n",
            "(".repeat(20_000),
            ")".repeat(20_000)
        );
        assert_eq!(enclosing_functions("a.rs", &deep, 1, 1), ["f"]);
        let unclosed = format!("fn f() {{ {} }}\n", "(".repeat(50_000));
        let _ = enclosing_functions("a.rs", &unclosed, 1, 1);
        assert!(enclosing_functions("a.py", "def (:\n", 1, 1).is_empty());
        assert!(enclosing_functions("a.rs", "", 0, 0).is_empty());
        assert!(enclosing_functions("a.go", "func F() {}\n", u32::MAX, u32::MAX).is_empty());
    }
}
