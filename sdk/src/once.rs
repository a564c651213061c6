//! One-time costs: code that runs once (a module's import, a class body, a class's
//! `__init_subclass__`, a lazily initialised static, a package's `init`, a Java static
//! initialiser) or once per distinct argument (a cached function) is never a per-call cost,
//! however much of a profile it takes. Offense skills that say "on every call" ask here first.
//!
//! Two halves: [`ONE_TIME_FRAMES`], frames that mark a whole stack as one-time wherever they
//! are above the cost (for [`crate::hotspot::Attribution::exempt`]); and [`one_time`], for the
//! function a cost is charged to, which reads its source where the name alone cannot say (a
//! Python class body is named like a function; a cache is a decorator).

use crate::{CallError, Function, Language, Query, Tree};

/// Frames (a regex the host matches) whose stacks run once: Rust's lazy statics and `Once`,
/// Go's `sync.Once` and package initialisation, Java's static initialisers, Python's class
/// creation hooks. Python's `<module>` is not here: it is the root of every stack of a
/// script, so only a cost charged to it directly is one-time ([`one_time`]).
pub const ONE_TIME_FRAMES: &str = r"lazy_lock|LazyLock|LazyCell|once_cell|OnceLock|OnceCell|lazy_static|(^|::|<)Once::call|sync::once::|sync\.\(\*Once\)\.Do|sync\.OnceValue|^runtime\.doInit|(^|\.)<clinit>$|(^|\.)__init_subclass__$|(^|\.)__set_name__$";

/// Why the cost charged to `function` is a one-time cost, in words for a log, or `None` when
/// it may be paid per call. Python: a module body (`<module>`, at import), a class body or a
/// comprehension in one (`Rules` or `Rules.<listcomp>` where `Rules` is a class of the file),
/// a class-creation hook (`__init_subclass__`, `__set_name__`), or a function cached by a
/// decorator (`functools.lru_cache`, `functools.cache`, `cached_property`) or inside one.
pub fn one_time(trees: &[Tree], function: &Function) -> Result<Option<&'static str>, CallError> {
    let python = function.file.as_deref().is_some_and(|f| f.ends_with(".py"))
        || function.name.contains(".<locals>.")
        || function.name == "<module>";
    if !python {
        return Ok(None);
    }
    let parts: Vec<&str> = function.name.split('.').collect();
    if parts.first() == Some(&"<module>") {
        return Ok(Some("it runs once, when the module is imported"));
    }
    if parts.iter().any(|p| {
        matches!(
            *p,
            "__init_subclass__" | "__set_name__" | "__class_getitem__"
        )
    }) {
        return Ok(Some("it runs once per class, when the class is created"));
    }
    let Some(file) = function.file.as_deref() else {
        return Ok(None);
    };
    let Some((tree, path)) = Tree::locate_in(trees, file) else {
        return Ok(None);
    };
    let query =
        Query::new(Language::Python, PYTHON_SCOPES).glob(&crate::hotspot::glob_literal(&path));
    let mut classes: Vec<String> = Vec::new();
    let mut cached: Vec<String> = Vec::new();
    for m in tree.query(&query)? {
        if let Some(c) = m.capture("class") {
            classes.push(c.text.clone());
        }
        if let (Some(d), Some(name)) = (m.capture("decorator"), m.capture("def"))
            && is_cache(&d.text)
        {
            cached.push(name.text.clone());
        }
    }
    Ok(classify(&parts, &classes, &cached))
}

/// Classes of a Python file, and functions with their decorators.
const PYTHON_SCOPES: &str = r#"
(class_definition name: (identifier) @class)
(decorated_definition (decorator) @decorator definition: (function_definition name: (identifier) @def))
"#;

/// Whether a decorator's text caches its function's results.
fn is_cache(decorator: &str) -> bool {
    let text = decorator.trim_start_matches('@').trim();
    let head = text.split('(').next().unwrap_or(text).trim();
    let last = head.rsplit('.').next().unwrap_or(head);
    matches!(last, "lru_cache" | "cache" | "cached_property" | "cached")
}

/// The verdict for a qualified name's `parts` (py-spy's qualname, split on `.`), given the
/// file's class names and cached functions.
fn classify(parts: &[&str], classes: &[String], cached: &[String]) -> Option<&'static str> {
    let anonymous = |p: &str| p.starts_with('<');
    // The innermost named function, and what encloses it.
    let named: Vec<(usize, &str)> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| !anonymous(p))
        .map(|(i, p)| (i, *p))
        .collect();
    if let Some(&(i, name)) = named.last() {
        // A class body: the innermost named scope is a class, and only comprehensions or
        // lambdas follow it (`Rules`, `Rules.<listcomp>`), not a method (`Rules.matches`).
        if classes.iter().any(|c| c == name)
            && parts[i + 1..]
                .iter()
                .all(|p| anonymous(p) && *p != "<locals>")
        {
            return Some("it runs once per class, when the class body runs");
        }
        // A cached function, or code inside one.
        if cached.iter().any(|c| c == name) {
            return Some(
                "its function's results are cached, so it runs once per distinct argument",
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn class_bodies_and_cached_functions_are_told_from_methods_and_plain_functions() {
        let classes = names(&["Rules", "Parser"]);
        let cached = names(&["keyword_pattern"]);
        let verdict = |q: &str| {
            let parts: Vec<&str> = q.split('.').collect();
            classify(&parts, &classes, &cached)
        };
        assert!(verdict("Rules").is_some());
        assert!(verdict("Rules.<listcomp>").is_some());
        assert!(verdict("Outer.Rules.<genexpr>").is_some());
        assert!(verdict("keyword_pattern").is_some());
        assert!(verdict("keyword_pattern.<locals>.<listcomp>").is_some());
        assert!(verdict("Rules.matches").is_none());
        assert!(verdict("Rules.matches.<locals>.<genexpr>").is_none());
        assert!(verdict("classify").is_none());
        assert!(verdict("classify.<locals>.<genexpr>").is_none());
        // A function that has a class's name but is not the class body.
        assert!(verdict("Parser.<locals>.helper").is_none());
    }

    #[test]
    fn cache_decorators_are_recognised_by_their_last_name() {
        assert!(is_cache("@functools.lru_cache(maxsize=None)"));
        assert!(is_cache("@lru_cache"));
        assert!(is_cache("@cache"));
        assert!(is_cache("@functools.cached_property"));
        assert!(!is_cache("@staticmethod"));
        assert!(!is_cache("@app.route(\"/cache\")"));
        assert!(!is_cache("@cache_control(max_age=3)"));
    }
}
