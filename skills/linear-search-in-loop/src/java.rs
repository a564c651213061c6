//! Java: `items.contains(x)` on a `List` inside a loop walks it on every iteration.
//!
//! At steady state HotSpot's C2 inlines `ArrayList.contains` -> `indexOf` -> `indexOfRange` ->
//! `String.equals` into the calling method, so a perf capture charges the walk to the method's
//! own compiled code: no frame tells it apart. Profile evidence is therefore two things, both
//! required: the method's self time is at least `min-share` of the profile, and the profile
//! shows the list search under it at all (`java.util.ArrayList.contains` / `indexOf` /
//! `indexOfRange`, `java.util.AbstractCollection.contains`, `java.util.LinkedList.contains` /
//! `indexOf` charged to it: the code that ran before the JIT inlined them). The cost stated is
//! the method's self time plus those frames, with a lower confidence than the other languages'.
//! Source evidence (a syntax query in that method): `NAME.contains(X)` inside a loop, where the
//! method declares `NAME` (a parameter or a local, before the loop) as a `List<T>`,
//! `ArrayList<T>`, `LinkedList<T>` or `Collection<T>`, and does not change it (nor pass it to
//! other code inside the loop). The patch builds `Set<T> NAMESet = new HashSet<>(NAME);`
//! before the outermost loop, tests against it, and imports `java.util.HashSet` and
//! `java.util.Set` (in sorted place) when the file does not.

use joule_sdk::hotspot::{Attribution, CallerCost, JAVA_LIBRARY, may_be_in, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// The collections' linear searches, as HotSpot's perf map (`boolean
/// java.util.ArrayList.contains(java.lang.Object)`) or an agent (`java/util/ArrayList.contains`)
/// names them.
pub const COST: &str = r"^(\S+ )?java[./]util[./](ArrayList\.(contains|indexOf|indexOfRange)|AbstractCollection\.contains|LinkedList\.(contains|indexOf))(\(|$)";

const CONTAINS: &str = r#"((method_invocation
   object: (identifier) @haystack
   name: (identifier) @method
   arguments: (argument_list . (_) @needle .)) @call
 (#eq? @method "contains"))"#;

const LOOPS: &str =
    r#"[(for_statement) (enhanced_for_statement) (while_statement) (do_statement)] @loop"#;

/// The list types whose `contains` walks the elements.
const LISTS: [&str; 4] = ["List", "ArrayList", "LinkedList", "Collection"];

/// Share of the method's time the fix removes, at most: the time shows as the method's own, so
/// only part of it is the walk.
const REMOVED: f64 = 0.5;

pub fn scan(invocation: &Invocation) -> Result<Vec<Finding>, String> {
    let min_share: f64 = invocation.param_or("min-share", 0.01)?;
    let trees = Tree::granted();
    let attribution = Attribution::new(COST, JAVA_LIBRARY).in_language(Language::Java);
    let mut findings = Vec::new();
    for profile in Profile::granted() {
        let costs = attribution.run(&profile).map_err(|e| e.to_string())?;
        log::info(format!(
            "{}: Java list searches not inlined: {} of the profile",
            profile.name(),
            percent(profile.share(costs.charged))
        ));
        for caller in &costs.callers {
            if !may_be_in(&caller.function, Language::Java) {
                continue;
            }
            let own = profile
                .stat(caller.function.id)
                .map_err(|e| e.to_string())?
                .self_value;
            if profile.share(own) < min_share {
                log::info(format!(
                    "`{}`: searches lists, but its own time is {} of the profile: not reported",
                    caller.function.name,
                    percent(profile.share(own))
                ));
                continue;
            }
            findings.extend(caller_findings(&profile, &trees, caller, own)?);
        }
    }
    Ok(findings)
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
    own: i64,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let value = own + caller.value;
    let share = profile.share(value);
    let mut findings = Vec::new();
    for (tree_name, site) in sites_in(trees, function, &Query::new(Language::Java, CONTAINS))? {
        let (Some(call), Some(haystack)) = (site.capture("call"), site.capture("haystack")) else {
            continue;
        };
        if site.loop_depth == 0 {
            continue;
        }
        let Some(function_text) = super::function_text(trees, &tree_name, &site)? else {
            continue;
        };
        let (tree, body) = (function_text.tree, &function_text.text);
        let name = haystack.text.as_str();
        let Some((at, element)) = declared_list(body, name) else {
            // Not known to be a list: a set, a map or a string has `contains` too.
            continue;
        };
        let set = set_name(name);
        let outer = tree.outermost_loop(&site, &Query::new(Language::Java, LOOPS), call)?;
        let why_not = match &outer {
            None => Some("the loop around it was not found".to_string()),
            Some(outer) => {
                let declared_line = function_text.line_at(at);
                if declared_line >= outer.lines.start {
                    Some(format!("`{name}` is declared inside the loop"))
                } else if let Some(line) = change(body, name) {
                    Some(format!("`{name}` changes in the method: `{line}`"))
                } else if let Some(line) = passed(
                    &tree
                        .read_lines(&site.path, outer.lines.start, outer.lines.end)?
                        .join("\n"),
                    name,
                ) {
                    Some(format!(
                        "the loop passes `{name}` to other code, which may change it: `{line}`"
                    ))
                } else if mentions(body, &set) {
                    Some(format!("the method has a `{set}` already"))
                } else {
                    None
                }
            }
        };
        let mut finding = Finding::opportunity("linear-search-in-loop")
            .title(format!(
                "`{}` searches `{name}` on every iteration: {} of {}",
                function.name,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} is `{}`'s own time, and {} more goes to `List.contains` under it \
                 (`ArrayList.indexOfRange` and the like, where the JIT had not inlined it). Inside \
                 a loop,\n\n```java\n{}\n```\n\nwalks `{name}` element by element on \
                 every iteration, so the loop costs its length times the list's. The JIT \
                 inlined the search into the method, so its time shows as the method's own: \
                 how much of that own time is the walk the profile cannot say, so the saving \
                 stated is half of the two. {}",
                profile.cost(own),
                function.name,
                profile.cost(caller.value),
                call.text,
                match &why_not {
                    None => format!(
                        "The patch builds a `HashSet` `{set}` of `{name}` once, before the loop, \
                         and tests against it: one hash lookup an iteration."
                    ),
                    Some(why) => format!(
                        "No patch is proposed because {why}: keep a `HashSet` beside it, \
                         updated with it, and test against the set."
                    ),
                }
            ))
            .location(Location::capture(&tree_name, &site.path, call).in_function(&function.name))
            .measured(profile, value)
            .saving(share * REMOVED)
            .confidence(if why_not.is_none() { 0.6 } else { 0.5 })
            .evidence("self time of the method", own as f64, profile.unit())
            .evidence(
                "time in list searches under it",
                caller.value as f64,
                profile.unit(),
            )
            .label("fingerprint", call.text.clone());
        if let (None, Some(outer)) = (&why_not, &outer) {
            let line = outer.lines.start;
            let indent = tree.indentation(&site.path, line)?;
            let file: Vec<String> = tree.read(&site.path)?.lines().map(String::from).collect();
            for (before, text) in imports(&file) {
                finding = finding.edit(Edit::lines(
                    &tree_name,
                    &site.path,
                    before,
                    before - 1,
                    &text,
                ));
            }
            finding = finding
                .edit(Edit::lines(
                    &tree_name,
                    &site.path,
                    line,
                    line - 1,
                    &set_line(&indent, name, &element),
                ))
                .edit(Edit::capture(&tree_name, &site.path, haystack, &set));
        }
        findings.push(finding.build());
    }
    Ok(findings)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// The whole-word occurrences of `name` in `text` (not a member of something else: `a.name`).
fn occurrences<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = usize> + 'a {
    text.match_indices(name).map(|(i, _)| i).filter(move |&i| {
        !text[..i]
            .chars()
            .last()
            .is_some_and(|c| is_ident(c) || c == '.')
            && !text[i + name.len()..].chars().next().is_some_and(is_ident)
    })
}

fn mentions(text: &str, name: &str) -> bool {
    occurrences(text, name).next().is_some()
}

/// Where the method (its text, `body`) declares `name` as a list (`List<T> name`,
/// `final java.util.ArrayList<T> name = ..`, among the parameters or a local): the byte offset
/// of the declaration and the element type `T`.
pub fn declared_list(body: &str, name: &str) -> Option<(usize, String)> {
    for i in occurrences(body, name) {
        let after = body[i + name.len()..].trim_start();
        if !after.starts_with([',', ')', '=', ';', ':']) || after.starts_with("==") {
            continue;
        }
        let before = body[..i].trim_end();
        let Some(generic) = before.strip_suffix('>') else {
            continue;
        };
        // The matching `<`.
        let mut depth = 1;
        let open = generic.char_indices().rev().find_map(|(j, c)| {
            match c {
                '>' => depth += 1,
                '<' => depth -= 1,
                _ => {}
            }
            (depth == 0).then_some(j)
        })?;
        let element = generic[open + 1..].trim();
        let ty = generic[..open].trim_end();
        let start = ty
            .rfind(|c: char| !(is_ident(c) || c == '.'))
            .map_or(0, |j| j + 1);
        let ty = &ty[start..];
        let simple = ty.strip_prefix("java.util.").unwrap_or(ty);
        if LISTS.contains(&simple) && !element.is_empty() {
            return Some((
                start,
                element.split_whitespace().collect::<Vec<_>>().join(" "),
            ));
        }
    }
    None
}

/// A statement of the method (its text, `body`) that changes the list `name`, if any: a
/// method that modifies a list called on it, or an assignment to it.
pub fn change(body: &str, name: &str) -> Option<String> {
    let mutators = [
        "add",
        "addAll",
        "addFirst",
        "addLast",
        "remove",
        "removeAll",
        "removeIf",
        "removeFirst",
        "removeLast",
        "retainAll",
        "clear",
        "set",
        "sort",
        "replaceAll",
        "push",
        "pop",
        "poll",
        "pollFirst",
        "pollLast",
        "offer",
        "offerFirst",
        "offerLast",
    ];
    for i in occurrences(body, name) {
        let after = body[i + name.len()..].trim_start();
        let mutated = after.strip_prefix('.').is_some_and(|call| {
            let method: String = call
                .trim_start()
                .chars()
                .take_while(|&c| is_ident(c))
                .collect();
            mutators.contains(&method.as_str())
                && call.trim_start()[method.len()..]
                    .trim_start()
                    .starts_with('(')
        });
        let before = body[..i].trim_end();
        // `name = ..` that is not its declaration (`List<T> name = ..`).
        let assigned = after.starts_with('=')
            && !after.starts_with("==")
            && !before.ends_with(|c: char| is_ident(c) || c == '>' || c == ']');
        if mutated || assigned {
            let line_start = body[..i].rfind('\n').map_or(0, |j| j + 1);
            let line_end = body[i..].find('\n').map_or(body.len(), |j| i + j);
            return Some(body[line_start..line_end].trim().to_string());
        }
    }
    None
}

/// A statement of `text` (a loop's lines) that passes the list `name` to other code as an
/// argument (`Collections.sort(name)`, `fill(name, x)`), which may change it, if any.
pub fn passed(text: &str, name: &str) -> Option<String> {
    occurrences(text, name)
        .find(|&i| {
            text[..i].trim_end().ends_with(['(', ','])
                && text[i + name.len()..].trim_start().starts_with([')', ','])
        })
        .map(|i| {
            let line_start = text[..i].rfind('\n').map_or(0, |j| j + 1);
            let line_end = text[i..].find('\n').map_or(text.len(), |j| i + j);
            text[line_start..line_end].trim().to_string()
        })
}

/// The set's name, in Java's style: `allowlist` -> `allowlistSet`.
pub fn set_name(name: &str) -> String {
    format!("{name}Set")
}

/// The line that builds the set, at `indent`.
pub fn set_line(indent: &str, name: &str, element: &str) -> String {
    let set = set_name(name);
    let ty = if element.starts_with('?') {
        "?"
    } else {
        element
    };
    format!("{indent}Set<{ty}> {set} = new HashSet<>({name});\n")
}

/// The imports the patch needs that the file (its lines) lacks, each as (the 1-based line to
/// insert before, the text): `java.util.HashSet` and `java.util.Set` among the file's imports in
/// sorted place, none when it imports them or `java.util.*`.
pub fn imports(file: &[String]) -> Vec<(u32, String)> {
    let import_of = |line: &str| -> Option<String> {
        let rest = line.trim().strip_prefix("import ")?;
        if rest.starts_with("static ") {
            return None;
        }
        Some(rest.trim_end_matches(';').trim().to_string())
    };
    let imported: Vec<(usize, String)> = file
        .iter()
        .enumerate()
        .filter_map(|(i, l)| import_of(l).map(|m| (i, m)))
        .collect();
    if imported.iter().any(|(_, m)| m == "java.util.*") {
        return Vec::new();
    }
    let missing: Vec<&str> = ["java.util.HashSet", "java.util.Set"]
        .into_iter()
        .filter(|w| !imported.iter().any(|(_, m)| m == w))
        .collect();
    if imported.is_empty() {
        if missing.is_empty() {
            return Vec::new();
        }
        let block: String = missing.iter().map(|w| format!("import {w};\n")).collect();
        // After the package declaration, or at the top.
        return match file
            .iter()
            .position(|l| l.trim_start().starts_with("package "))
        {
            Some(p) => vec![(p as u32 + 2, format!("\n{block}"))],
            None => vec![(1, format!("{block}\n"))],
        };
    }
    let mut out: Vec<(u32, String)> = Vec::new();
    for wanted in missing {
        let text = format!("import {wanted};\n");
        // Before the first import that sorts after it, else after the last.
        let before = match imported.iter().find(|(_, m)| m.as_str() > wanted) {
            Some((i, _)) => *i as u32 + 1,
            None => imported.last().map_or(1, |(i, _)| *i as u32 + 2),
        };
        match out.iter_mut().find(|(b, _)| *b == before) {
            Some(o) => o.1.push_str(&text),
            None => out.push((before, text)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    /// `file` with `imports`' insertions made.
    fn with_imports(file: &str) -> String {
        let mut out = lines(file);
        let mut edits = imports(&out);
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        for (before, text) in edits {
            let at = before as usize - 1;
            for (k, l) in text
                .strip_suffix('\n')
                .unwrap_or(&text)
                .split('\n')
                .enumerate()
            {
                out.insert(at + k, l.to_string());
            }
        }
        out.join("\n")
    }

    #[test]
    fn lists_are_told_by_their_declaration() {
        let permitted = "    public static List<Event> permitted(List<Event> events, List<String> allowlist) {\n        List<Event> out = new ArrayList<>();";
        let (at, element) = declared_list(permitted, "allowlist").unwrap();
        assert_eq!(element, "String");
        assert!(permitted[at..].starts_with("List<String> allowlist"));
        assert_eq!(
            declared_list(permitted, "out").map(|d| d.1).as_deref(),
            Some("Event")
        );
        assert_eq!(
            declared_list(
                "void f(final java.util.ArrayList<Map<String, Integer>> rows) {",
                "rows"
            )
            .map(|d| d.1)
            .as_deref(),
            Some("Map<String, Integer>")
        );
        assert_eq!(
            declared_list(
                "void f() {\n  LinkedList<Long> ids = new LinkedList<>();",
                "ids"
            )
            .map(|d| d.1)
            .as_deref(),
            Some("Long")
        );
        assert_eq!(
            declared_list("void f(Collection<? extends Number> xs) {", "xs")
                .map(|d| d.1)
                .as_deref(),
            Some("? extends Number")
        );
        // Sets, maps, strings and raw lists are not.
        assert_eq!(declared_list("void f(Set<String> words) {", "words"), None);
        assert_eq!(
            declared_list("void f(Map<String, List<String>> words) {", "words"),
            None
        );
        assert_eq!(declared_list("void f(String words) {", "words"), None);
        assert_eq!(declared_list("void f(List words) {", "words"), None);
        // A longer name or another object's member is not the variable.
        assert_eq!(
            declared_list("void f(List<String> allowlists) {", "allowlist"),
            None
        );
        assert_eq!(
            declared_list("void f() {\n  x = this.allowlist;", "allowlist"),
            None
        );
    }

    #[test]
    fn lists_that_change_are_not_frozen() {
        let first_seen = "    public static List<String> firstSeen(List<Event> events) {\n        List<String> seen = new ArrayList<>();\n        for (Event e : events) {\n            if (!seen.contains(e.account())) {\n                seen.add(e.account());\n            }\n        }\n        return seen;\n    }";
        assert_eq!(
            change(first_seen, "seen").as_deref(),
            Some("seen.add(e.account());")
        );
        assert_eq!(change(first_seen, "events"), None);
        assert_eq!(
            change("  xs = load();", "xs").as_deref(),
            Some("xs = load();")
        );
        assert!(change("  xs.clear ();", "xs").is_some());
        assert_eq!(
            change("  List<String> xs = load();\n  if (xs == ys) {}", "xs"),
            None
        );
        assert_eq!(
            change("  xs.contains(a); other.xs.add(b); xs.size();", "xs"),
            None
        );
        assert_eq!(change("  xs.settings();", "xs"), None);
    }

    #[test]
    fn a_loop_that_hands_the_list_on_may_change_it() {
        assert_eq!(
            passed("for (E e : es) {\n    Collections.sort(xs);\n}", "xs").as_deref(),
            Some("Collections.sort(xs);")
        );
        assert!(passed("for (E e : es) {\n    fill(xs, e);\n}", "xs").is_some());
        assert_eq!(
            passed(
                "for (E e : es) {\n    if (xs.contains(e) && xs.size() > 1) {}\n}",
                "xs"
            ),
            None
        );
        assert_eq!(passed("for (String x : xs) {\n    f(x);\n}", "xs"), None);
    }

    #[test]
    fn the_patch_builds_a_set_before_the_loop() {
        assert_eq!(
            set_line("        ", "allowlist", "String"),
            "        Set<String> allowlistSet = new HashSet<>(allowlist);\n"
        );
        assert_eq!(
            set_line("  ", "xs", "? extends Number"),
            "  Set<?> xsSet = new HashSet<>(xs);\n"
        );
    }

    #[test]
    fn imports_go_in_sorted_place() {
        assert_eq!(
            with_imports("import java.util.ArrayList;\nimport java.util.List;\n\nclass A {}"),
            "import java.util.ArrayList;\nimport java.util.HashSet;\nimport java.util.List;\nimport java.util.Set;\n\nclass A {}"
        );
        assert_eq!(
            with_imports("package a;\n\nimport java.io.File;\n\nclass A {}"),
            "package a;\n\nimport java.io.File;\nimport java.util.HashSet;\nimport java.util.Set;\n\nclass A {}"
        );
        assert_eq!(
            with_imports("import java.util.List;\nimport java.util.Set;\nclass A {}"),
            "import java.util.HashSet;\nimport java.util.List;\nimport java.util.Set;\nclass A {}"
        );
        assert!(imports(&lines("import java.util.*;\nclass A {}")).is_empty());
        assert!(imports(&lines("import java.util.HashSet;\nimport java.util.Set;\n")).is_empty());
        assert_eq!(
            with_imports("package a;\nclass A {}"),
            "package a;\n\nimport java.util.HashSet;\nimport java.util.Set;\nclass A {}"
        );
        assert_eq!(
            with_imports("class A {}"),
            "import java.util.HashSet;\nimport java.util.Set;\n\nclass A {}"
        );
    }
}
