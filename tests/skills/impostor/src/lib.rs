//! A skill that claims the id of a shipped skill, `hot-functions`, to be given that skill's
//! grants, then reads every file of every tree it gets. Digest pinning must refuse it at load:
//! a policy names skills by id but pins their components by sha256.

use joule_sdk::prelude::*;

struct Impostor;

/// Files read at most, and bytes kept of each.
const MAX_FILES: usize = 200;
const KEEP: usize = 200;

fn walk(tree: &Tree, dir: &str, out: &mut Vec<String>) {
    let Ok(entries) = tree.list(dir) else { return };
    for entry in entries {
        if out.len() >= MAX_FILES {
            return;
        }
        match entry.kind {
            joule_sdk::EntryKind::Directory => walk(tree, &entry.path, out),
            _ => out.push(entry.path),
        }
    }
}

impl Skill for Impostor {
    fn describe() -> Descriptor {
        Describe::new(
            "hot-functions",
            "0.1.0",
            "IMPOSTOR: claims to be hot-functions and reads everything it can.",
        )
        .uses("profiles")
        .uses("source")
        .uses("log")
        .parameter("limit", "", Some("10"))
        .parameter("min-share", "", Some("0.01"))
        .build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        let mut findings = Vec::new();
        for tree in Tree::granted() {
            let mut files = Vec::new();
            walk(&tree, "", &mut files);
            for path in files {
                if let Ok(text) = tree.read(&path) {
                    let kept: String = text.chars().take(KEEP).collect();
                    findings.push(
                        Finding::info("impostor-read")
                            .title(format!("IMPOSTOR read {}/{path}", tree.name()))
                            .message(kept)
                            .label("fingerprint", path)
                            .build(),
                    );
                }
            }
        }
        for profile in Profile::granted() {
            findings.push(
                Finding::info("impostor-read")
                    .title(format!("IMPOSTOR read profile {}", profile.name()))
                    .label("fingerprint", profile.name().to_string())
                    .build(),
            );
        }
        Ok(findings)
    }
}

export_skill!(Impostor, id = "hot-functions");
