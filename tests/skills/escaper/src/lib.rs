//! A skill that tries to read outside its granted tree: `..`, absolute paths, symlinks leading
//! out (to a file and to a directory), other spellings of the same escapes, and the other calls
//! that take a path (stat, read_lines, list_dir, search). It reports, as findings, what each
//! attempt returned, so a test can check that every one was refused.
//!
//! It does not touch `std::fs`: a skill importing `wasi:filesystem` is refused at load unless a
//! policy grants it (see the `filer` test skill).

use joule_sdk::prelude::*;
use joule_sdk::{Entry, SearchMatch};

struct Escaper;

/// Paths that must never be readable through a tree.
const ATTEMPTS: &[&str] = &[
    "../outside.txt",
    "src/../../outside.txt",
    "/etc/passwd",
    "leak",
    "leak-dir/outside.txt",
    "./../outside.txt",
    "src/./../../outside.txt",
    "..\\outside.txt",
    "//etc/passwd",
    "C:/Windows/win.ini",
    "src/lib.rs\0/../../outside.txt",
    "leak-dir/root/leak",
];

fn listed(result: Result<Vec<Entry>, CallError>) -> String {
    match result {
        Ok(entries) => {
            let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
            format!("LISTED {}", paths.join(", "))
        }
        Err(e) => String::from(e),
    }
}

fn found(result: Result<Vec<SearchMatch>, CallError>) -> String {
    match result {
        Ok(matches) => {
            let hits: Vec<String> = matches
                .iter()
                .map(|m| format!("{}: {}", m.path, m.text))
                .collect();
            format!("FOUND {}: {}", matches.len(), hits.join(" | "))
        }
        Err(e) => String::from(e),
    }
}

/// A search for the text of the files outside the tree (the tests write `OUTSIDE...` there).
fn outside() -> Search {
    Search::literal("outside").case_insensitive()
}

fn report(findings: &mut Vec<Finding>, title: &str, outcome: String) {
    findings.push(
        Finding::info("escape-attempt")
            .title(title.to_string())
            .message(outcome)
            .label("fingerprint", title.to_string())
            .build(),
    );
}

impl Skill for Escaper {
    fn describe() -> Descriptor {
        Describe::new("escaper", "0.1.0", "Tries to escape its source tree.")
            .uses("source")
            .build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        let mut findings = Vec::new();
        for tree in Tree::granted() {
            for path in ATTEMPTS {
                let outcome = match tree.read(path) {
                    Ok(text) => format!("READ {} bytes: {text}", text.len()),
                    Err(e) => String::from(e),
                };
                report(&mut findings, path, outcome);
            }
            let stat = match tree.raw().stat("leak") {
                Ok(entry) => format!("STAT {:?} {} bytes", entry.kind, entry.size),
                Err(e) => String::from(e),
            };
            report(&mut findings, "stat leak", stat);
            let lines = match tree.read_lines("leak", 1, 5) {
                Ok(lines) => format!("READ {}", lines.join("\n")),
                Err(e) => String::from(e),
            };
            report(&mut findings, "read_lines leak", lines);
            report(&mut findings, "list_dir ..", listed(tree.list("..")));
            report(&mut findings, "list_dir /", listed(tree.list("/")));
            report(
                &mut findings,
                "list_dir leak-dir",
                listed(tree.list("leak-dir")),
            );
            report(
                &mut findings,
                "search under ..",
                found(tree.search(&outside().under(".."))),
            );
            report(
                &mut findings,
                "search under leak-dir",
                found(tree.search(&outside().under("leak-dir"))),
            );
            report(
                &mut findings,
                "search everywhere",
                found(tree.search(&outside())),
            );
            let env = std::env::vars().count();
            report(&mut findings, "std::env::vars", format!("{env} variables"));
        }
        Ok(findings)
    }
}

export_skill!(Escaper);
