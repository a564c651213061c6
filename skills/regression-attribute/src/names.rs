//! Function identity between profiles and source: a profile frame's name (`Registry._sort.
//! <locals>.<lambda>`, `logscan::parse::parse_line::{{closure}}`, `main.(*Server).Handle.func1`,
//! `<app::Cache as Store>::get`) reduced to the named function it runs in, and compared with the
//! qualified names the host gives for the functions a change touches (`Registry._sort`,
//! `parse_line`, `(*Server).Handle`, `Cache::get`), segment by segment from the end, and, where
//! the language says which module a file is, with the file it is in (`myers::diff_deadline` is
//! not the `diff_deadline` of `src/algorithms/patience.rs`).

/// How a changed function relates to the regressed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Identity {
    /// Different functions.
    None,
    /// Only the last part of the names agrees (`A.handleMatch` and `B.handleMatch`).
    LastPart,
    /// The changed function's qualified name ends the frame's, and what the frame has before
    /// it are modules or packages, not types or enclosing functions.
    Same,
}

/// The parts of a function's name, with anonymous parts at its end dropped (lambdas,
/// comprehensions, closures, Go function literals, Rust hashes): the named function whose
/// source holds the frame's code. Types are written without generic arguments, and Rust's
/// `<T as Trait>::method` as `T::method`.
pub fn segments(name: &str) -> Vec<String> {
    let name = name.trim();
    // `<app::Cache<T> as app::Store>::get` -> `app::Cache<T>::get`.
    let name = match (name.starts_with('<'), name.find(" as ")) {
        (true, Some(i)) => {
            let rest = &name[i..];
            let close = rest.find(">::").map(|j| i + j + 3);
            match close {
                Some(c) => format!("{}::{}", &name[1..i], &name[c..]),
                None => name.to_string(),
            }
        }
        _ => name.to_string(),
    };
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let bytes: Vec<char> = name.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            // Generic arguments (`Vec<T>`, `Map[K, V]`) are not part of the identity, but
            // Python's `<locals>`, `<lambda>` are whole parts of their own.
            '<' | '[' if !current.is_empty() || c == '[' => {
                depth += 1;
            }
            '>' | ']' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            ':' if bytes.get(i + 1) == Some(&':') => {
                out.push(std::mem::take(&mut current));
                i += 1;
            }
            '.' => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
        i += 1;
    }
    out.push(current);
    out.retain(|s| !s.is_empty());
    while out.last().is_some_and(|s| anonymous(s)) {
        out.pop();
    }
    out
}

/// A part of a frame's name that names no function of its own.
fn anonymous(part: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    part.starts_with('<')
        || part.starts_with("{{")
        || digits(part)
        || ["func", "gowrap", "deferwrap"]
            .iter()
            .any(|p| part.strip_prefix(p).is_some_and(digits))
        || (part.len() == 17
            && part.starts_with('h')
            && part[1..].bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether a part of a qualified name is a type or an enclosing function rather than a module:
/// types are capitalised (`Registry`, `(*Server)`), and `<locals>` follows a function.
fn qualifies(part: &str) -> bool {
    part.starts_with('(')
        || part.starts_with('<')
        || part.chars().next().is_some_and(char::is_uppercase)
}

/// How `changed` (as the host names a function a change touches) relates to the regressed
/// function `target` (reduced by [`segments`]).
pub fn identity(target: &[String], changed: &str) -> Identity {
    let changed = segments(changed);
    let (Some(last), Some(target_last)) = (changed.last(), target.last()) else {
        return Identity::None;
    };
    if last != target_last {
        return Identity::None;
    }
    if changed.len() > target.len() || !target.ends_with(&changed) {
        return Identity::LastPart;
    }
    let before = &target[..target.len() - changed.len()];
    if before.iter().any(|p| qualifies(p)) {
        Identity::LastPart
    } else {
        Identity::Same
    }
}

/// How `changed`, a function of the file at `path`, relates to the regressed function `target`:
/// [`identity`], except that a function whose name alone agrees is only [`Identity::LastPart`]
/// when the file is not where the frame says the function is. Rust names a free function by its
/// crate and module, which the file's place in the package spells (`src/algorithms/myers.rs` is
/// `algorithms::myers` of the library; `examples/udiff.rs` is the crate `udiff`); methods are
/// named by their type's module, which an `impl` elsewhere need not be in, so only free
/// functions are checked. Go names every function by its package's import path, whose last
/// element is the file's folder (`main` is named `main` wherever it is).
pub fn identity_at(target: &[String], changed: &str, path: &str) -> Identity {
    let found = identity(target, changed);
    if found != Identity::Same {
        return found;
    }
    let changed = segments(changed);
    let before = &target[..target.len() - changed.len()];
    let in_module = match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("rs") if changed.len() == 1 && !before.is_empty() => match rust_place(path) {
            Some((Some(krate), module)) => before[0] == krate && before[1..] == module[..],
            Some((None, module)) => before[1..] == module[..],
            None => true,
        },
        Some("go") if !before.is_empty() && before != ["main"] => {
            let package = before.join(".");
            let last = package.rsplit('/').next().unwrap_or_default();
            match path.rsplit_once('/') {
                Some((folder, _)) => folder.rsplit('/').next() == Some(last),
                None => true,
            }
        }
        _ => true,
    };
    if in_module {
        Identity::Same
    } else {
        Identity::LastPart
    }
}

/// Where a Rust source file is in its package, by Cargo's layout: the crate's name when the
/// path says it (`src/bin/tool.rs`, `examples/udiff.rs`, `benches/diffs/main.rs`, `tests/x.rs`;
/// a library's or `src/main.rs`'s is the package's, which the path does not say), and the
/// module path under the crate root (`src/algorithms/myers.rs` and `src/algorithms/myers/
/// mod.rs` are `algorithms::myers`). `None` for a path outside those folders (a layout set in
/// the manifest).
fn rust_place(path: &str) -> Option<(Option<String>, Vec<String>)> {
    let parts: Vec<&str> = path.split('/').collect();
    let modules = |rest: &[&str]| -> Vec<String> {
        let mut module: Vec<String> = rest
            .iter()
            .map(|p| p.strip_suffix(".rs").unwrap_or(p).to_string())
            .collect();
        // `mod.rs` is its folder's module; `main.rs` and `lib.rs` only at a crate's root.
        let root = module.len() == 1 && (module[0] == "main" || module[0] == "lib");
        if root || module.last().is_some_and(|m| m == "mod") {
            module.pop();
        }
        module
    };
    // A crate of its own: its root is `NAME.rs` or `NAME/main.rs` (binary names' dashes are
    // underscores in symbols).
    let own_crate = |rest: &[&str]| -> Option<(Option<String>, Vec<String>)> {
        let (first, inner) = rest.split_first()?;
        let name = first.strip_suffix(".rs").unwrap_or(first).replace('-', "_");
        Some((Some(name), modules(inner)))
    };
    if let Some(src) = parts.iter().rposition(|p| *p == "src") {
        let rest = &parts[src + 1..];
        return match rest.first() {
            Some(&"bin") => own_crate(&rest[1..]),
            _ => Some((None, modules(rest))),
        };
    }
    let target = parts
        .iter()
        .rposition(|p| matches!(*p, "examples" | "benches" | "tests"))?;
    own_crate(&parts[target + 1..])
}

/// The last part of a reduced name (`Registry._sort` -> `_sort`), for messages and file names.
pub fn short(target: &[String]) -> &str {
    target.last().map(String::as_str).unwrap_or_default()
}

/// Whether `text` names the function: its qualified name (`Registry._sort`) or, when that
/// is distinctive (four characters or more), its last part as a whole word.
pub fn named_in(text: &str, target: &[String]) -> bool {
    let short = short(target);
    if short.len() < 4 {
        return false;
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    text.match_indices(short).any(|(i, m)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + m.len()).copied();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(name: &str) -> Vec<String> {
        segments(name)
    }

    #[test]
    fn anonymous_frames_lead_back_to_their_named_function() {
        assert_eq!(
            seg("Registry._sort.<locals>.<lambda>"),
            ["Registry", "_sort"]
        );
        assert_eq!(seg("test.<locals>.<listcomp>"), ["test"]);
        assert_eq!(seg("outer.<locals>.inner"), ["outer", "<locals>", "inner"]);
        assert_eq!(
            seg("logscan::parse::parse_line::{{closure}}"),
            ["logscan", "parse", "parse_line"]
        );
        assert_eq!(
            seg("main.(*Server).Handle.func1.2"),
            ["main", "(*Server)", "Handle"]
        );
        assert_eq!(
            seg("<app::Cache<T> as app::Store>::get"),
            ["app", "Cache", "get"]
        );
        assert_eq!(
            seg("core::ptr::drop_in_place<alloc::vec::Vec<u8>>::h0123456789abcdef"),
            ["core", "ptr", "drop_in_place"]
        );
        // Nothing named is left of a frame that is all anonymous.
        assert!(seg("<module>").is_empty());
        assert!(seg("").is_empty());
    }

    #[test]
    fn a_method_is_the_same_function_only_with_its_type() {
        let target = seg("Registry._sort.<locals>.<lambda>");
        assert_eq!(identity(&target, "Registry._sort"), Identity::Same);
        assert_eq!(identity(&target, "_sort"), Identity::LastPart);
        assert_eq!(identity(&target, "Other._sort"), Identity::LastPart);
        assert_eq!(identity(&target, "Registry.add"), Identity::None);
        let inline = seg("SimpleTagInlineProcessor.handleMatch");
        assert_eq!(
            identity(&inline, "BacktickInlineProcessor.handleMatch"),
            Identity::LastPart
        );
        // Modules and packages before the name are not qualifiers the source repeats.
        let rust = seg("logscan::parse::parse_line");
        assert_eq!(identity(&rust, "parse_line"), Identity::Same);
        assert_eq!(identity(&rust, "Parser::parse_line"), Identity::LastPart);
        let go = seg("example.com/app.(*Server).Handle.func1");
        assert_eq!(identity(&go, "(*Server).Handle"), Identity::Same);
        assert_eq!(identity(&go, "Handle"), Identity::LastPart);
        assert_eq!(identity(&[], "x"), Identity::None);
        assert_eq!(identity(&rust, ""), Identity::None);
    }

    #[test]
    fn a_free_function_is_the_same_only_in_the_module_its_file_is() {
        let myers = seg("similar::algorithms::myers::diff_deadline");
        let at = |path| identity_at(&myers, "diff_deadline", path);
        assert_eq!(at("src/algorithms/myers.rs"), Identity::Same);
        assert_eq!(at("src/algorithms/myers/mod.rs"), Identity::Same);
        assert_eq!(at("src/algorithms/patience.rs"), Identity::LastPart);
        assert_eq!(at("src/lib.rs"), Identity::LastPart);
        // A workspace member's crate root is where its `src/` is.
        let host = seg("joule::history::functions::definitions");
        assert_eq!(
            identity_at(&host, "definitions", "host/src/history/functions.rs"),
            Identity::Same
        );
        // A function at the crate root, in a binary, or named without modules: nothing to check.
        let root = seg("logscan::parse_line::{{closure}}");
        assert_eq!(
            identity_at(&root, "parse_line", "src/main.rs"),
            Identity::Same
        );
        assert_eq!(
            identity_at(&root, "parse_line", "src/bin/logscan.rs"),
            Identity::Same
        );
        assert_eq!(
            identity_at(&seg("parse_line"), "parse_line", "src/x.rs"),
            Identity::Same
        );
        // A method is named by its type's module, which its `impl` need not be in.
        let method = seg("<similar::algorithms::compact::Compact<O,N,D> as DiffHook>::finish");
        assert_eq!(
            identity_at(&method, "Compact::finish", "src/algorithms/impls.rs"),
            Identity::Same
        );
        // Python's frames carry no module to compare with.
        let py = seg("Registry._sort");
        assert_eq!(
            identity_at(&py, "Registry._sort", "markdown/util.py"),
            Identity::Same
        );
    }

    #[test]
    fn a_go_function_is_the_same_only_in_its_package_folder() {
        let bisect = seg("github.com/sergi/go-diff/diffmatchpatch.(*DiffMatchPatch).diffBisect");
        let at = |path| identity_at(&bisect, "(*DiffMatchPatch).diffBisect", path);
        assert_eq!(at("diffmatchpatch/diff.go"), Identity::Same);
        assert_eq!(at("vendor/x/diffmatchpatch/diff.go"), Identity::Same);
        assert_eq!(at("other/diff.go"), Identity::LastPart);
        // At the module's root the folder says nothing (`gopkg.in/yaml.v3`), nor does `main`.
        assert_eq!(at("diff.go"), Identity::Same);
        let main = seg("main.run.func1");
        assert_eq!(
            identity_at(&main, "run", "cmd/tool/main.go"),
            Identity::Same
        );
        let new = seg("example.com/app/store.New");
        assert_eq!(
            identity_at(&new, "New", "cache/cache.go"),
            Identity::LastPart
        );
        assert_eq!(identity_at(&new, "New", "store/store.go"), Identity::Same);
    }

    #[test]
    fn a_rust_file_says_its_crate_and_module_by_cargos_layout() {
        let place = |p: &str| rust_place(p).map(|(k, m)| (k, m.join("::")));
        assert_eq!(place("src/lib.rs"), Some((None, String::new())));
        assert_eq!(
            place("src/algorithms/myers.rs"),
            Some((None, "algorithms::myers".into()))
        );
        assert_eq!(
            place("src/algorithms/mod.rs"),
            Some((None, "algorithms".into()))
        );
        assert_eq!(place("src/cli/main.rs"), Some((None, "cli::main".into())));
        assert_eq!(
            place("src/bin/my-tool.rs"),
            Some((Some("my_tool".into()), String::new()))
        );
        assert_eq!(
            place("examples/udiff.rs"),
            Some((Some("udiff".into()), String::new()))
        );
        assert_eq!(
            place("benches/diffs/main.rs"),
            Some((Some("diffs".into()), String::new()))
        );
        assert_eq!(place("build.rs"), None);
        let main = seg("similar_workload::main");
        assert_eq!(
            identity_at(&main, "main", "examples/udiff.rs"),
            Identity::LastPart
        );
    }

    #[test]
    fn a_message_names_a_function_by_a_distinctive_whole_word() {
        let target = seg("Registry._sort");
        assert!(named_in("Speed up _sort for big registries", &target));
        assert!(!named_in("Fix _sorted output", &target));
        assert!(!named_in("Anything at all", &seg("<lambda>")));
        assert!(!named_in("run it", &seg("A.run")));
    }
}
