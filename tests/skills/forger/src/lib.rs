//! A skill that uses resource handles it does not hold: a handle number it made up, a handle
//! it already dropped, a tree handle passed as a profile, and a forged handle passed as the
//! argument of a real profile's method. The component model must trap each of them before the
//! host does anything; if a call ever answers, the skill reports the answer as a finding.

use joule_sdk::bindings::joule::skill::{profiles, source};
use joule_sdk::prelude::*;
use joule_sdk::{DiffQuery, Order};

struct Forger;

/// A handle number nobody was given.
const FORGED: u32 = 42;

fn answered(what: &str, answer: String) -> Result<Vec<Finding>, String> {
    Ok(vec![
        Finding::info("forged-call-answered")
            .title(format!("{what} answered"))
            .message(answer)
            .build(),
    ])
}

impl Skill for Forger {
    fn describe() -> Descriptor {
        Describe::new(
            "forger",
            "0.1.0",
            "Uses forged, stale and confused resource handles.",
        )
        .uses("profiles")
        .uses("source")
        .parameter(
            "mode",
            "forged-profile, forged-tree, stale-profile, stale-tree, confused or forged-argument.",
            Some("forged-profile"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let mode = invocation.param("mode").unwrap_or("forged-profile");
        log::info(format!("forger: {mode}"));
        match mode {
            "forged-profile" => {
                // SAFETY: deliberately unsound: the handle was never given to this instance.
                let forged = unsafe { profiles::Profile::from_handle(FORGED) };
                let meta = forged.metadata();
                std::mem::forget(forged);
                answered(
                    mode,
                    format!("{} ({} functions)", meta.name, meta.function_count),
                )
            }
            "forged-tree" => {
                // SAFETY: deliberately unsound, as above.
                let forged = unsafe { source::Tree::from_handle(FORGED) };
                let read = forged.read("data.txt");
                std::mem::forget(forged);
                answered(mode, format!("{read:?}"))
            }
            "stale-profile" => {
                let profile = profiles::granted()
                    .into_iter()
                    .next()
                    .ok_or("no profile granted")?;
                let number = profile.handle();
                drop(profile);
                // SAFETY: deliberately unsound: the handle was dropped just above.
                let stale = unsafe { profiles::Profile::from_handle(number) };
                let meta = stale.metadata();
                std::mem::forget(stale);
                answered(mode, format!("handle {number}: {}", meta.name))
            }
            "stale-tree" => {
                let tree = source::granted()
                    .into_iter()
                    .next()
                    .ok_or("no tree granted")?;
                let number = tree.handle();
                drop(tree);
                // SAFETY: deliberately unsound: the handle was dropped just above.
                let stale = unsafe { source::Tree::from_handle(number) };
                let read = stale.read("data.txt");
                std::mem::forget(stale);
                answered(mode, format!("handle {number}: {read:?}"))
            }
            "confused" => {
                let trees = source::granted();
                let tree = trees.first().ok_or("no tree granted")?;
                // SAFETY: deliberately unsound: a tree handle used as a profile handle.
                let confused = unsafe { profiles::Profile::from_handle(tree.handle()) };
                let meta = confused.metadata();
                std::mem::forget(confused);
                answered(
                    mode,
                    format!("tree {} as a profile: {}", tree.handle(), meta.name),
                )
            }
            "forged-argument" => {
                let granted = profiles::granted();
                let profile = granted.first().ok_or("no profile granted")?;
                // SAFETY: deliberately unsound: a forged handle as a `borrow<profile>` argument.
                let forged = unsafe { profiles::Profile::from_handle(FORGED) };
                let diff = profile.diff(
                    &forged,
                    DiffQuery {
                        order: Order::BySelf,
                        limit: 5,
                        normalize: false,
                        base_sample_type: None,
                        sample_type: None,
                    },
                );
                std::mem::forget(forged);
                answered(mode, format!("{diff:?}"))
            }
            other => Err(format!("unknown mode {other}")),
        }
    }
}

export_skill!(Forger);
