//! A skill that tries to read outside its granted tree. It reports, as findings, what each
//! attempt returned, so a test can check that every one was refused.

use joule_sdk::prelude::*;

struct Escaper;

/// Paths that must never be readable through a tree.
const ATTEMPTS: &[&str] = &[
    "../outside.txt",
    "src/../../outside.txt",
    "/etc/passwd",
    "leak",
    "leak-dir/outside.txt",
];

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
                    Ok(text) => format!("READ {} bytes", text.len()),
                    Err(e) => String::from(e),
                };
                findings.push(
                    Finding::info("escape-attempt")
                        .title(path.to_string())
                        .message(outcome)
                        .label("fingerprint", *path)
                        .build(),
                );
            }
            // Also through std: there are no preopened directories, so this must fail.
            let std_read = match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => format!("READ {} bytes", text.len()),
                Err(e) => format!("std: {e}"),
            };
            findings.push(
                Finding::info("escape-attempt")
                    .title("std::fs /etc/passwd")
                    .message(std_read)
                    .label("fingerprint", "std")
                    .build(),
            );
            let env = std::env::vars().count();
            findings.push(
                Finding::info("escape-attempt")
                    .title("std::env::vars")
                    .message(format!("{env} variables"))
                    .label("fingerprint", "env")
                    .build(),
            );
        }
        Ok(findings)
    }
}

export_skill!(Escaper);
