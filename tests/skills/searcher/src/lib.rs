//! A skill that spends its time inside host calls: regex searches the host runs over the whole
//! tree, each of them longer than the deadline on the test's tree (Unicode word boundaries over
//! non-ASCII text keep the regex engine off its fast paths). Epoch interruption only stops
//! guest code, so the host's search must check the same deadline itself: the run must fail
//! with the deadline, on time, not when the search would have ended.

use joule_sdk::prelude::*;

struct Searcher;

impl Skill for Searcher {
    fn describe() -> Descriptor {
        Describe::new("searcher", "0.1.0", "Makes very long searches.")
            .uses("source")
            .parameter(
                "pattern",
                "The regex to search for (slow to match, and never found).",
                Some(r"(?i)(\b\w+\b\s){5}\b\w{12}\b"),
            )
            .parameter("rounds", "How many times to search.", Some("100"))
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let pattern = invocation.param("pattern").unwrap_or_default();
        let rounds: u32 = invocation.param_or("rounds", 100)?;
        let trees = Tree::granted();
        let tree = trees.first().ok_or("no tree granted")?;
        let mut found = 0;
        for _ in 0..rounds {
            found += tree.search(&Search::regex(pattern).limit(10))?.len();
        }
        Ok(vec![
            Finding::info("searched")
                .title(format!("{found} matches in {rounds} searches"))
                .build(),
        ])
    }
}

export_skill!(Searcher);
