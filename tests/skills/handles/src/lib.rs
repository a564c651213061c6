//! A skill that opens resource handles in a loop and never drops them: the handle limit must
//! stop it. Errors are counted and ignored, so only the host can end the loop.

use joule_sdk::CursorOptions;
use joule_sdk::bindings::joule::skill::{profiles, source};
use joule_sdk::prelude::*;

struct Handles;

impl Skill for Handles {
    fn describe() -> Descriptor {
        Describe::new("handles", "0.1.0", "Opens handles and never drops them.")
            .uses("profiles")
            .uses("source")
            .parameter(
                "kind",
                "`profiles` (profiles.granted), `trees` (source.granted), `cursors` (stack \
                 cursors of the first profile) or `filters` (profile.filter).",
                Some("profiles"),
            )
            .parameter("max", "Stop after this many attempts.", Some("1000000"))
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let kind = invocation.param("kind").unwrap_or("profiles").to_string();
        let max: u64 = invocation.param_or("max", 1_000_000)?;
        let mut kept_profiles: Vec<profiles::Profile> = Vec::new();
        let mut kept_trees: Vec<source::Tree> = Vec::new();
        let mut kept_cursors: Vec<profiles::StackCursor> = Vec::new();
        let first = profiles::granted().into_iter().next();
        let mut errors = 0u64;
        for _ in 0..max {
            match kind.as_str() {
                "trees" => kept_trees.extend(source::granted()),
                "cursors" => {
                    let profile = first.as_ref().ok_or("no profile granted")?;
                    match profile.stacks(&CursorOptions {
                        containing: Vec::new(),
                        batch: 1,
                    }) {
                        Ok(cursor) => kept_cursors.push(cursor),
                        Err(_) => errors += 1,
                    }
                }
                "filters" => {
                    let profile = first.as_ref().ok_or("no profile granted")?;
                    match profile.filter(&joule_sdk::SampleFilter {
                        labels: Vec::new(),
                        exclude: true,
                    }) {
                        Ok(p) => kept_profiles.push(p),
                        Err(_) => errors += 1,
                    }
                }
                _ => kept_profiles.extend(profiles::granted()),
            }
        }
        let held = kept_profiles.len() + kept_trees.len() + kept_cursors.len();
        Ok(vec![
            Finding::info("handles-held")
                .title(format!("held {held} handles ({errors} refused)"))
                .evidence("handles", held as f64, "handles")
                .build(),
        ])
    }
}

export_skill!(Handles);
