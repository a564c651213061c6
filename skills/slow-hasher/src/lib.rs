//! `slow-hasher`: a hot `std::collections::HashMap` or `HashSet` hashes every key with
//! SipHash-1-3, chosen to resist hash flooding by keys an attacker picks. For the integer ids
//! and short strings of counting and joining loops it costs several times the rest of the
//! lookup; a fast seeded hasher (foldhash, the one hashbrown itself defaults to) does the same
//! job at a fraction of the cost.
//!
//! Profile evidence: the time in SipHash (`core::hash::sip::Hasher`, `DefaultHasher`) charged
//! to the function whose map it is: the first frame above the standard library's hash map
//! and hashing code. Source evidence (a syntax query in that function): the map made there,
//! `let mut NAME = HashMap::new()` (or `with_capacity`, `HashSet`, with or without a type),
//! in a file that takes `HashMap` from `std::collections`. The patch makes it
//! `HashMap::with_hasher(foldhash::fast::RandomState::default())` (adding the hasher to the
//! type when one is written) and adds `foldhash` to the crate's `Cargo.toml`. It is offered
//! only when the map does not leave the function as a `HashMap` (the function's signature
//! does not name the type, and the map is only used through its methods or iterated), so
//! no other code sees the type change.

use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// SipHash, as the standard library's hashing names it (inlined frames included).
const COST: &str = r"^<?core::hash::sip::|^<?std::hash::random::DefaultHasher|^<std::hash::random::DefaultHasher as core::hash::Hasher>";

/// The standard library's maps and hashing: where the cost enters from the program.
const LIBRARY: &str = r"^<?(core::hash::|std::hash::|std::collections::hash::|hashbrown::)|^<.* as core::hash::(Hash|Hasher|BuildHasher)>::|^core::hash::impls::";

/// The map made in the function: `let mut NAME[: TYPE] = HashMap::new()` (or `HashSet`,
/// `with_capacity(..)`).
const MAPS: &str = r#"((let_declaration
   pattern: (identifier) @name
   type: (_)? @type
   value: (call_expression
     function: (scoped_identifier path: (identifier) @map name: (identifier) @ctor)
     arguments: (arguments) @args) @make) @let
 (#any-of? @map "HashMap" "HashSet")
 (#any-of? @ctor "new" "with_capacity"))"#;

/// The hasher the patch puts in.
const HASHER: &str = "foldhash::fast::RandomState";

/// Share of the hashing the patch removes: foldhash hashes a `u64` in a few instructions
/// where SipHash-1-3 takes dozens.
const REMOVED: f64 = 0.8;

struct SlowHasher;

impl Skill for SlowHasher {
    fn describe() -> Descriptor {
        Describe::offense(
            "slow-hasher",
            env!("CARGO_PKG_VERSION"),
            "Hot std HashMaps and HashSets hashing with SipHash (Rust); proposes the fast \
             seeded foldhash hasher.",
            "0.02",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        Attribution::new(COST, LIBRARY)
            .in_language(Language::Rust)
            .glue("std::")
            .scan(invocation, "SipHash", caller_findings)
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
    for (tree_name, site) in sites_in(trees, function, &Query::new(Language::Rust, MAPS))? {
        let (Some(make), Some(name), Some(map), Some(ctor), Some(args)) = (
            site.capture("make"),
            site.capture("name"),
            site.capture("map"),
            site.capture("ctor"),
            site.capture("args"),
        ) else {
            continue;
        };
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        let file = tree.read(&site.path)?;
        if !imports_std(&file, &map.text) {
            continue;
        }
        let function_text = match site.function_lines {
            Some(lines) => tree
                .read_lines(&site.path, lines.start, lines.end)?
                .join("\n"),
            None => continue,
        };
        let manifest = manifest_of(tree, &site.path);
        // The type written, with the hasher added: `Some(None)` when it cannot be.
        let typed = site
            .capture("type")
            .map(|ty| with_hasher_type(&ty.text).filter(|_| ty.is_whole()));
        let why_not = if let Some(why) = escapes(&function_text, &name.text, &map.text) {
            Some(why)
        } else if let Some(None) = typed {
            Some("its type is not written as the patch could extend it".to_string())
        } else if manifest.is_none() {
            Some(format!("no Cargo.toml was found above `{}`", site.path))
        } else if !make.is_whole() || !args.is_whole() {
            Some("the map's construction is too long to rewrite".to_string())
        } else {
            None
        };
        let made = if ctor.text == "new" {
            format!("{}::with_hasher({HASHER}::default())", map.text)
        } else {
            let inner = args.text.trim_start_matches('(').trim_end_matches(')');
            format!(
                "{}::with_capacity_and_hasher({inner}, {HASHER}::default())",
                map.text
            )
        };
        let mut finding = Finding::opportunity("slow-hasher")
            .title(format!(
                "`{}` hashes `{}` with SipHash: {} of {}",
                function.name,
                name.text,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} goes to SipHash under `{}`: `{}` is a `std::collections::{}`, whose \
                 default hasher is built to resist hash flooding by keys an attacker chooses, \
                 and costs several times the rest of a lookup for integer ids and short keys. \
                 A fast seeded hasher does the same job: `{made}` (foldhash, the hasher \
                 hashbrown itself defaults to, seeded per process). Keep SipHash for maps \
                 keyed by untrusted input in a service that must withstand flooding. {}",
                profile.cost(caller.value),
                function.name,
                name.text,
                map.text,
                match &why_not {
                    None => "The patch adds `foldhash` to Cargo.toml and makes the map with it."
                        .to_string(),
                    Some(why) => format!("No patch is proposed because {why}."),
                }
            ))
            .location(Location::capture(&tree_name, &site.path, make).in_function(&function.name))
            .measured(profile, caller.value)
            .saving(share * REMOVED)
            .confidence(0.8)
            .evidence(
                "SipHash time in the function",
                caller.value as f64,
                profile.unit(),
            )
            .label(
                "fingerprint",
                format!("{} {}::{}", name.text, map.text, ctor.text),
            );
        if why_not.is_none()
            && let Some((manifest, at, line)) = manifest
        {
            finding = finding
                .edit(Edit::capture(&tree_name, &site.path, make, &made))
                .edit(Edit::lines(&tree_name, &manifest, at, at - 1, &line));
            if let (Some(ty), Some(Some(typed))) = (site.capture("type"), &typed) {
                finding = finding.edit(Edit::capture(&tree_name, &site.path, ty, typed));
            }
        }
        findings.push(finding.build());
    }
    if findings.is_empty() {
        joule_sdk::log::info(format!(
            "`{}`: {} in SipHash, but no std map is made in it",
            function.name,
            percent(share)
        ));
    }
    Ok(findings)
}

/// Whether `file` takes `ty` (`HashMap`, `HashSet`) from the standard library: `use
/// std::collections::HashMap;` or in a `use std::collections::{..}` list.
pub fn imports_std(file: &str, ty: &str) -> bool {
    let code: String = file
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let bytes = code.as_bytes();
    code.match_indices("use ").any(|(at, _)| {
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            return false;
        }
        let path: String = code[at + 4..]
            .split(';')
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        path == format!("std::collections::{ty}")
            || path
                .strip_prefix("std::collections::{")
                .is_some_and(|list| list.trim_end_matches('}').split(',').any(|item| item == ty))
    })
}

/// Why the map `name` may be seen as a `HashMap` by code outside the function (`function`
/// is its text), so changing its hasher could break that code; `None` when every use is a
/// method call on it or a loop over it, and the signature does not name the type.
pub fn escapes(function: &str, name: &str, ty: &str) -> Option<String> {
    let signature = function.split('{').next().unwrap_or("");
    if signature.contains(ty) {
        return Some(format!("the function's signature names `{ty}`"));
    }
    let bytes = function.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut uses = 0;
    for (i, _) in function.match_indices(name) {
        let end = i + name.len();
        if (i > 0 && word(bytes[i - 1])) || (end < bytes.len() && word(bytes[end])) {
            continue;
        }
        let before = function[..i].trim_end();
        let after = function[end..].trim_start();
        if before.ends_with("let mut") || before.ends_with("let") {
            continue;
        }
        uses += 1;
        let method = after.starts_with('.') && !after.starts_with("..");
        let iterated =
            before.ends_with(" in") || before.ends_with(" in &") || before.ends_with(" in &mut");
        if !(method || iterated) {
            return Some(format!(
                "`{name}` is used other than through its methods (`{}`)",
                function[i..].lines().next().unwrap_or("").trim()
            ));
        }
    }
    (uses == 0).then(|| format!("`{name}` is not used"))
}

/// `HashMap<K, V>` -> `HashMap<K, V, foldhash::fast::RandomState>`; `None` when the type
/// names a hasher already or is not written with its arguments.
pub fn with_hasher_type(ty: &str) -> Option<String> {
    let ty = ty.trim();
    let inner = ty.strip_suffix('>')?;
    let open = inner.find('<')?;
    let args = &inner[open + 1..];
    let mut depth = 0;
    let mut count = 1;
    for c in args.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => count += 1,
            _ => {}
        }
    }
    let wanted = if ty.starts_with("HashSet") { 1 } else { 2 };
    (count == wanted).then(|| format!("{inner}, {HASHER}>"))
}

/// The crate manifest above `path` in `tree`, with the line to insert `foldhash` before and
/// that line: just after `[dependencies]` (or at the end, with the section). `None` when no
/// manifest is found or it has foldhash already.
fn manifest_of(tree: &Tree, path: &str) -> Option<(String, u32, String)> {
    let mut dir = path;
    loop {
        dir = match dir.rsplit_once('/') {
            Some((parent, _)) => parent,
            None => "",
        };
        let manifest = if dir.is_empty() {
            "Cargo.toml".to_string()
        } else {
            format!("{dir}/Cargo.toml")
        };
        if tree.is_file(&manifest) {
            let text = tree.read(&manifest).ok()?;
            return insertion(&text).map(|(at, line)| (manifest, at, line));
        }
        if dir.is_empty() {
            return None;
        }
    }
}

/// Where in a manifest's `text` the dependency goes (a 1-based line to insert before) and
/// the text inserted.
pub fn insertion(text: &str) -> Option<(u32, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut in_dependencies = false;
    for line in &lines {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies && line.split(['=', ' ', '.']).next() == Some("foldhash") {
            return None;
        }
    }
    match lines.iter().position(|l| l.trim() == "[dependencies]") {
        Some(i) => Some((i as u32 + 2, "foldhash = \"0.2\"\n".to_string())),
        None => Some((
            lines.len() as u32 + 1,
            "\n[dependencies]\nfoldhash = \"0.2\"\n".to_string(),
        )),
    }
}

export_skill!(SlowHasher, id = "slow-hasher");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_imports_are_told_from_others() {
        assert!(imports_std("use std::collections::HashMap;\n", "HashMap"));
        assert!(imports_std(
            "use std::collections::{BTreeMap, HashMap};",
            "HashMap"
        ));
        assert!(imports_std(
            "use std::collections::{\n    HashMap,\n    HashSet,\n};",
            "HashSet"
        ));
        assert!(!imports_std("use hashbrown::HashMap;", "HashMap"));
        assert!(!imports_std("use ahash::HashMap;", "HashMap"));
        assert!(!imports_std("use std::collections::HashMapExt;", "HashMap"));
        assert!(!imports_std("use std::collections::{HashSet};", "HashMap"));
        // After comments, items and attributes.
        assert!(imports_std(
            "//! Docs; with a semicolon.\n\nuse std::collections::HashMap;\n",
            "HashMap"
        ));
        assert!(imports_std(
            "fn f() {}\n#[cfg(test)]\nuse std::collections::HashMap;",
            "HashMap"
        ));
    }

    #[test]
    fn maps_that_stay_in_the_function() {
        let keeps = "pub fn top(events: &[Event]) -> Vec<(u64, usize)> {\n    let mut counts = HashMap::new();\n    for e in events {\n        *counts.entry(e.user).or_insert(0) += 1;\n    }\n    let top: Vec<_> = counts.into_iter().collect();\n    top\n}";
        assert_eq!(escapes(keeps, "counts", "HashMap"), None);
        let iterated = "fn f() -> usize { let mut seen = HashSet::new(); seen.insert(1); let mut n = 0; for x in &seen { n += x; } n }";
        assert_eq!(escapes(iterated, "seen", "HashSet"), None);
    }

    #[test]
    fn maps_that_leave_the_function() {
        let returned =
            "fn f() -> HashMap<u64, usize> { let mut m = HashMap::new(); m.insert(1, 2); m }";
        assert!(
            escapes(returned, "m", "HashMap")
                .unwrap()
                .contains("signature")
        );
        let tail =
            "fn f(out: &mut Out) { let mut m = HashMap::new(); m.insert(1, 2); out.store(m); }";
        assert!(
            escapes(tail, "m", "HashMap")
                .unwrap()
                .contains("other than")
        );
        let field = "fn f(&mut self) { let mut m = HashMap::new(); m.insert(1, 2); self.m = m; }";
        assert!(escapes(field, "m", "HashMap").is_some());
        let unused = "fn f() { let mut m = HashMap::new(); }";
        assert!(escapes(unused, "m", "HashMap").is_some());
        // A longer name that contains the map's is another name.
        let other = "fn f() { let mut m = HashMap::new(); m.insert(1, 2); g(mm); }";
        assert_eq!(escapes(other, "m", "HashMap"), None);
    }

    #[test]
    fn types_get_the_hasher() {
        assert_eq!(
            with_hasher_type("HashMap<u64, usize>").as_deref(),
            Some("HashMap<u64, usize, foldhash::fast::RandomState>")
        );
        assert_eq!(
            with_hasher_type("HashMap<(u32, u32), Vec<u8>>").as_deref(),
            Some("HashMap<(u32, u32), Vec<u8>, foldhash::fast::RandomState>")
        );
        assert_eq!(
            with_hasher_type("HashSet<u64>").as_deref(),
            Some("HashSet<u64, foldhash::fast::RandomState>")
        );
        assert_eq!(with_hasher_type("HashMap<u64, usize, S>"), None);
        assert_eq!(
            with_hasher_type("HashMap<_, _>").as_deref().map(|_| ()),
            Some(())
        );
        assert_eq!(with_hasher_type("Counts"), None);
    }

    #[test]
    fn the_dependency_goes_under_dependencies() {
        let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\n";
        assert_eq!(
            insertion(manifest),
            Some((5, "foldhash = \"0.2\"\n".to_string()))
        );
        assert_eq!(insertion("[dependencies]\nfoldhash = \"0.1\"\n"), None);
        assert_eq!(
            insertion("[package]\nname = \"x\"\n"),
            Some((3, "\n[dependencies]\nfoldhash = \"0.2\"\n".to_string()))
        );
        // A dev-dependency on it is not one the library can use.
        assert!(insertion("[dev-dependencies]\nfoldhash = \"0.2\"\n").is_some());
    }
}
