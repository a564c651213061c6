//! A skill that tries to get past the secret-path patterns of its tree: other spellings of the
//! same path (case, `./`, `//`, trailing dots and spaces), a symlink inside the tree pointing
//! at a secret, `..`, and the indirect ways: a search for text only a secret file holds, and
//! directory listings. Each attempt is reported as a finding whose title names it and whose
//! message is the outcome (`READ: <contents>` when the host let it through).

use joule_sdk::prelude::*;
use joule_sdk::{Entry, SearchMatch};

struct Globber;

/// Paths read with `tree.read`. The tree the tests build holds `.env`, `.env.local`, `id_rsa`,
/// `key.pem`, `.git/config`, `config/prod/db.toml`, `innocent.txt -> .env`, `g -> .git` and
/// `cfg -> config`.
pub const READS: &[&str] = &[
    ".env",
    ".ENV",
    "./.env",
    ".//.env",
    "sub/../.env",
    ".env.",
    ".env ",
    ".env. .",
    "innocent.txt",
    ".env.local",
    ".Env.Local",
    "id_rsa",
    "ID_RSA",
    "key.pem",
    "KEY.PEM",
    "key.pem.",
    ".git/config",
    ".GIT/config",
    "./.git//config",
    "config/prod/db.toml",
    "CONFIG/Prod/db.toml",
    "config//prod/./db.toml",
    "g/config",
    "cfg/prod/db.toml",
];

/// Every secret file of the test tree starts its contents with this marker.
const MARKER: &str = "JOULE_SECRET";

fn entries(result: Result<Vec<Entry>, CallError>) -> String {
    match result {
        Ok(entries) => {
            let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
            format!("LISTED: {}", paths.join(", "))
        }
        Err(e) => String::from(e),
    }
}

fn matches(result: Result<Vec<SearchMatch>, CallError>) -> String {
    match result {
        Ok(found) => {
            let hits: Vec<String> = found
                .iter()
                .map(|m| format!("{}:{}: {}", m.path, m.line, m.text))
                .collect();
            format!("FOUND {}: {}", found.len(), hits.join(" | "))
        }
        Err(e) => String::from(e),
    }
}

fn attempt(findings: &mut Vec<Finding>, title: String, outcome: String) {
    findings.push(
        Finding::info("secret-attempt")
            .title(title.clone())
            .message(outcome)
            .label("fingerprint", title)
            .build(),
    );
}

impl Skill for Globber {
    fn describe() -> Descriptor {
        Describe::new(
            "globber",
            "0.1.0",
            "Tries to read secret files through other spellings, symlinks, searches and listings.",
        )
        .uses("source")
        .build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        let mut findings = Vec::new();
        let trees = Tree::granted();
        let tree = trees.first().ok_or("no tree granted")?;
        for path in READS {
            let outcome = match tree.read(path) {
                Ok(text) => format!("READ: {text}"),
                Err(e) => String::from(e),
            };
            attempt(&mut findings, format!("read {path}"), outcome);
        }
        let lines = match tree.read_lines(".env", 1, 10) {
            Ok(lines) => format!("READ: {}", lines.join("\n")),
            Err(e) => String::from(e),
        };
        attempt(&mut findings, "read_lines .env".to_string(), lines);
        let stat = match tree.raw().stat(".env") {
            Ok(entry) => format!("STAT: {} {} bytes", entry.path, entry.size),
            Err(e) => String::from(e),
        };
        attempt(&mut findings, "stat .env".to_string(), stat);

        for dir in ["", ".", ".git", "config/prod", "sub", "g", "cfg/prod"] {
            attempt(
                &mut findings,
                format!("list_dir {dir:?}"),
                entries(tree.list(dir)),
            );
        }

        let searches = [
            ("search marker", Search::literal(MARKER)),
            (
                "search marker, case-insensitive, hidden globs",
                Search::literal(&MARKER.to_lowercase())
                    .case_insensitive()
                    .glob("**/.env*")
                    .glob("**/*.pem")
                    .glob("**/id_*")
                    .glob(".git/**"),
            ),
            (
                "search marker under .git",
                Search::literal(MARKER).under(".git"),
            ),
            (
                "search marker under config/prod",
                Search::literal(MARKER).under("config/prod"),
            ),
            // In-tree symlinks to denied directories: `g -> .git`, `cfg -> config`.
            ("search marker under g", Search::literal(MARKER).under("g")),
            (
                "search marker under cfg",
                Search::literal(MARKER).under("cfg"),
            ),
            ("search any line under cfg", Search::regex(".").under("cfg")),
            ("search regex any line", Search::regex(".").limit(10_000)),
        ];
        for (title, query) in searches {
            attempt(
                &mut findings,
                title.to_string(),
                matches(tree.search(&query)),
            );
        }

        let located = tree
            .locate("/home/ci/build/app/.env")
            .unwrap_or_else(|| "-".to_string());
        attempt(
            &mut findings,
            "locate /home/ci/build/app/.env".to_string(),
            format!("LOCATED: {located}"),
        );
        Ok(findings)
    }
}

export_skill!(Globber);
