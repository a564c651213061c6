//! A skill whose time goes into host work that cannot watch a clock: syntax queries within the
//! size and nesting caps that take tree-sitter's compiler seconds (alternations across 64 KiB),
//! each a new text so that no compiled query is kept for it. The host must stop it at its
//! deadline, not when the compiler is done.

use joule_sdk::prelude::*;

struct Compiler;

/// The most bytes a syntax query may have (the host's cap).
const MAX_QUERY_BYTES: usize = 64 << 10;

impl Skill for Compiler {
    fn describe() -> Descriptor {
        Describe::new(
            "compiler",
            "0.1.0",
            "Sends queries that are slow to compile.",
        )
        .uses("source")
        .parameter("rounds", "How many queries to send.", Some("100"))
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let rounds: u32 = invocation.param_or("rounds", 100)?;
        let trees = Tree::granted();
        let tree = trees.first().ok_or("no tree granted")?;
        let alt = "[(identifier) (integer_literal) (string_literal) (call_expression) (field_expression)]";
        let mut body = String::new();
        while body.len() + 2 * alt.len() + 64 < MAX_QUERY_BYTES {
            body.push_str(&format!("(binary_expression {alt} {alt}) "));
        }
        let mut answers = 0;
        for round in 0..rounds {
            let text = format!("; round {round}\n{body}");
            if tree
                .query(&Query::new(Language::Rust, &text).limit(1))
                .is_ok()
            {
                answers += 1;
            }
        }
        Ok(vec![
            Finding::info("compiled")
                .title(format!("{answers} of {rounds} queries answered"))
                .build(),
        ])
    }
}

export_skill!(Compiler);
