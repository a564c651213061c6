//! A skill that reads the same paths thousands of times while the test swaps them between a
//! real file (or directory) and a symlink leading out of the tree. It reports every distinct
//! outcome it saw, so a test can check that the outside content never came back: the host must
//! resolve each read against the tree as it is at that moment, never check one file and then
//! open another.

use std::collections::BTreeMap;

use joule_sdk::prelude::*;

struct Swapper;

/// `data.txt` is swapped for a symlink to a file outside; `sub` for a symlink to a directory
/// outside holding a `data.txt` of its own.
const PATHS: &[&str] = &["data.txt", "sub/data.txt"];

/// Outcomes kept at most (each distinct one is a finding).
const MAX_OUTCOMES: usize = 200;

fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

impl Skill for Swapper {
    fn describe() -> Descriptor {
        Describe::new(
            "swapper",
            "0.1.0",
            "Reads files that are being swapped for symlinks out of the tree.",
        )
        .uses("source")
        .parameter("reads", "How many times to read each path.", Some("20000"))
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let reads: u64 = invocation.param_or("reads", 20_000)?;
        let trees = Tree::granted();
        let tree = trees.first().ok_or("no tree granted")?;
        let mut seen: BTreeMap<(String, String), u64> = BTreeMap::new();
        for _ in 0..reads {
            for path in PATHS {
                let outcome = match tree.read(path) {
                    Ok(text) => format!("content: {}", clip(text.trim(), 200)),
                    Err(e) => clip(&String::from(e), 300),
                };
                let key = (path.to_string(), outcome);
                if seen.len() < MAX_OUTCOMES || seen.contains_key(&key) {
                    *seen.entry(key).or_default() += 1;
                }
            }
        }
        Ok(seen
            .into_iter()
            .enumerate()
            .map(|(i, ((path, outcome), count))| {
                Finding::info("swap-read")
                    .title(path)
                    .message(outcome)
                    .evidence("reads", count as f64, "reads")
                    .label("fingerprint", i.to_string())
                    .build()
            })
            .collect())
    }
}

export_skill!(Swapper);
