//! Which functions a changed range of a file falls in: the nearest definition at or above each
//! changed line, and every definition inside the range, by a per-language pattern on the
//! definition line (Rust, Go, Python, C/C++, Java, JavaScript/TypeScript). A heuristic, like
//! git's own hunk headers, but it names the function rather than quoting a line.

use std::sync::OnceLock;

use regex::Regex;

fn pattern(path: &str) -> Option<&'static Regex> {
    static RUST: OnceLock<Regex> = OnceLock::new();
    static GO: OnceLock<Regex> = OnceLock::new();
    static PYTHON: OnceLock<Regex> = OnceLock::new();
    static C_LIKE: OnceLock<Regex> = OnceLock::new();
    static JS: OnceLock<Regex> = OnceLock::new();
    let ext = path.rsplit('.').next().unwrap_or("");
    let compile = |p: &str| Regex::new(p).expect("a valid pattern");
    Some(match ext {
        "rs" => RUST.get_or_init(|| {
            compile(
                r#"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:(?:const|async|unsafe|default)\s+)*(?:extern\s+"[^"]*"\s+)?fn\s+([A-Za-z_][A-Za-z0-9_]*)"#,
            )
        }),
        "go" => GO.get_or_init(|| compile(r"^func\s+(?:\([^)]*\)\s*)?([A-Za-z_][A-Za-z0-9_]*)")),
        "py" => PYTHON.get_or_init(|| compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)")),
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "hh" | "java" | "cs" => C_LIKE.get_or_init(|| {
            compile(
                r"^[A-Za-z_][\w:<>,\*&\s\[\]]*?\b([A-Za-z_~][\w:~]*)\s*\([^;{]*\)?\s*(?:const\s*)?(?:\{|$)",
            )
        }),
        "js" | "mjs" | "cjs" | "ts" | "tsx" | "jsx" => JS.get_or_init(|| {
            compile(
                r"^\s*(?:export\s+)?(?:async\s+)?(?:function\s*\*?\s*([A-Za-z_$][\w$]*)|(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?(?:\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>)",
            )
        }),
        _ => return None,
    })
}

/// Keywords a C-like pattern can mistake for a function name (`if (`, `while (`...).
const NOT_FUNCTIONS: &[&str] = &[
    "if", "for", "while", "switch", "return", "sizeof", "catch", "else", "do", "case", "new",
    "delete", "throw",
];

fn name_on(re: &Regex, line: &str) -> Option<String> {
    let caps = re.captures(line)?;
    let name = caps.iter().skip(1).flatten().next()?.as_str();
    (!NOT_FUNCTIONS.contains(&name)).then(|| name.to_string())
}

/// The functions lines `start..start + count` (counted from 1) of `text` touch: the one each
/// line sits in, and those defined within the range. Empty for a language without a pattern.
pub fn enclosing_functions(path: &str, text: &str, start: u32, count: u32) -> Vec<String> {
    let Some(re) = pattern(path) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let first = (start.max(1) as usize - 1).min(lines.len());
    let last = (first + count.max(1) as usize).min(lines.len());
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: String| {
        if !out.contains(&name) {
            out.push(name);
        }
    };
    // The definition the range starts in: the nearest one above its first line.
    if let Some(name) = lines[..(first + 1).min(lines.len())]
        .iter()
        .rev()
        .find_map(|l| name_on(re, l))
    {
        push(name);
    }
    for line in &lines[first..last] {
        if let Some(name) = name_on(re, line) {
            push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_rust_function_a_change_sits_in() {
        let text = "use x;\n\npub fn parse_line(l: &str) -> bool {\n    let re = 1;\n    re == 1\n}\n\nimpl A {\n    pub(crate) async fn is_bot(&self) -> bool {\n        self.0 > 1\n    }\n}\n";
        assert_eq!(
            enclosing_functions("src/parse.rs", text, 4, 1),
            ["parse_line"]
        );
        assert_eq!(enclosing_functions("src/parse.rs", text, 10, 1), ["is_bot"]);
        // A range spanning two definitions names both.
        assert_eq!(
            enclosing_functions("src/parse.rs", text, 5, 6),
            ["parse_line", "is_bot"]
        );
        assert!(enclosing_functions("src/parse.rs", text, 1, 1).is_empty());
    }

    #[test]
    fn knows_go_python_c_and_javascript_definitions() {
        let go = "package main\n\nfunc (s *Server) Handle(w http.ResponseWriter) {\n\tx := 1\n}\n";
        assert_eq!(enclosing_functions("main.go", go, 4, 1), ["Handle"]);
        let py = "class A:\n    def run(self):\n        return 1\n";
        assert_eq!(enclosing_functions("a.py", py, 3, 1), ["run"]);
        let c =
            "static int hash_key(const char *k)\n{\n    if (k) {\n        return 1;\n    }\n}\n";
        assert_eq!(enclosing_functions("h.c", c, 4, 1), ["hash_key"]);
        let js = "export async function load(url) {\n  return fetch(url);\n}\nconst parse = (s) => {\n  return s;\n};\n";
        assert_eq!(enclosing_functions("a.js", js, 2, 1), ["load"]);
        assert_eq!(enclosing_functions("a.js", js, 5, 1), ["parse"]);
        assert!(enclosing_functions("README.md", "# x\n", 1, 1).is_empty());
    }
}
