//! A skill that reads a 1 MiB file from its tree 10,000 times (10 GiB through host calls): the
//! host-call data limit must stop it. Errors the host returns are counted and ignored, as a
//! hostile skill would, so only the host can end the loop.

use joule_sdk::prelude::*;

struct Caller;

impl Skill for Caller {
    fn describe() -> Descriptor {
        Describe::new("caller", "0.1.0", "Reads one big file over and over.")
            .uses("source")
            .parameter("path", "The file to read.", Some("big.txt"))
            .parameter("reads", "How many times to read it.", Some("10000"))
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let path = invocation.param("path").unwrap_or("big.txt").to_string();
        let reads: u64 = invocation.param_or("reads", 10_000)?;
        let trees = Tree::granted();
        let tree = trees.first().ok_or("no tree granted")?;
        let (mut bytes, mut errors) = (0u64, 0u64);
        let mut last_error = String::new();
        for _ in 0..reads {
            match tree.read(&path) {
                Ok(text) => bytes += std::hint::black_box(text).len() as u64,
                Err(e) => {
                    errors += 1;
                    last_error = String::from(e);
                }
            }
        }
        Ok(vec![
            Finding::info("read-back")
                .title(format!(
                    "read {bytes} bytes in {reads} calls ({errors} errors)"
                ))
                .message(last_error)
                .evidence("bytes", bytes as f64, "bytes")
                .build(),
        ])
    }
}

export_skill!(Caller);
