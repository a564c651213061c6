//! A skill that makes the host allocate on its behalf, far past its own memory limit, in the
//! ways a host call can: stack cursors (each copies the profile's stack index), filtered
//! views (each copies the profile), cursors that keep a dropped view alive, audit records of
//! cheap calls with long paths, and regexes, glob sets and syntax queries built while its own
//! memory is nearly full. Errors are counted and ignored, so only the host can end the loops:
//! the memory account must stop it, whatever the handle limit.

use joule_sdk::bindings::joule::skill::{profiles, source};
use joule_sdk::prelude::*;
use joule_sdk::{CursorOptions, Language, MatchMode, SampleFilter, Search};

struct Hoarder;

/// Every stack: a cursor copies the whole stack index.
fn all_stacks() -> CursorOptions {
    CursorOptions {
        containing: Vec::new(),
        batch: 1,
    }
}

/// Keeps every stack (no label matchers, not excluding): a full copy of the profile.
fn keep_all() -> SampleFilter {
    SampleFilter {
        labels: Vec::new(),
        exclude: false,
    }
}

/// A regex alternation of `n` distinct words: a large compiled program from a short pattern.
fn alternation(n: usize) -> String {
    let words: Vec<String> = (0..n).map(|i| format!("w{i:05}x\\w{{2,9}}")).collect();
    format!("^(?:{})$", words.join("|"))
}

/// 256 globs of about 1,000 bytes, each a different long chain of wildcards.
fn globs() -> Vec<String> {
    (0..256)
        .map(|i| {
            let parts: Vec<String> = (0..480).map(|j| format!("{}*", (i + j) % 10)).collect();
            format!("**/{}?[a-z]*", parts.join(""))
        })
        .collect()
}

impl Skill for Hoarder {
    fn describe() -> Descriptor {
        Describe::new(
            "hoarder",
            "0.1.0",
            "Makes the host allocate for it until stopped.",
        )
        .uses("profiles")
        .uses("source")
        .parameter(
            "attack",
            "`cursors`, `views`, `view-cursors`, `audit`, `squeeze` (its own memory nearly \
             full, then regexes, globs and syntax queries), `findings` (its own memory nearly \
             full, then nearly 4 MiB of findings) or `none`.",
            Some("cursors"),
        )
        .parameter(
            "squeeze_mib",
            "For `squeeze` and `findings`: MiB of its own memory to fill first.",
            Some("24"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let attack = invocation.param("attack").unwrap_or("cursors").to_string();
        let squeeze: usize = invocation.param_or("squeeze_mib", 24)?;
        let profile = profiles::granted().into_iter().next();
        let tree = source::granted().into_iter().next();
        let mut cursors: Vec<profiles::StackCursor> = Vec::new();
        let mut views: Vec<profiles::Profile> = Vec::new();
        let mut ballast: Vec<u8> = Vec::new();
        let (mut made, mut refused) = (0u64, 0u64);
        let mut count = |ok: bool| {
            if ok {
                made += 1;
            } else {
                refused += 1;
            }
        };
        match attack.as_str() {
            "none" => {}
            "cursors" => {
                let profile = profile.as_ref().ok_or("no profile granted")?;
                loop {
                    match profile.stacks(&all_stacks()) {
                        Ok(c) => cursors.push(c),
                        Err(_) => count(false),
                    }
                }
            }
            "views" => {
                let profile = profile.as_ref().ok_or("no profile granted")?;
                loop {
                    match profile.filter(&keep_all()) {
                        Ok(v) => views.push(v),
                        Err(_) => count(false),
                    }
                }
            }
            "view-cursors" => {
                // The view's handle is dropped at once; the cursor keeps the view alive.
                let profile = profile.as_ref().ok_or("no profile granted")?;
                loop {
                    match profile.filter(&keep_all()) {
                        Ok(view) => match view.stacks(&all_stacks()) {
                            Ok(c) => cursors.push(c),
                            Err(_) => count(false),
                        },
                        Err(_) => count(false),
                    }
                }
            }
            "audit" => {
                // Refused at once, yet each call is recorded with its (long) path.
                let tree = tree.as_ref().ok_or("no tree granted")?;
                let path = format!("../{}", "p".repeat(600));
                loop {
                    let _ = tree.stat(&path);
                }
            }
            "squeeze" => {
                ballast = vec![1u8; squeeze << 20];
                let big = alternation(4000);
                let profile = profile.as_ref().ok_or("no profile granted")?;
                let trees = joule_sdk::Tree::granted();
                let tree = trees.first().ok_or("no tree granted")?;
                let mut search = Search::literal("fn ");
                for g in globs() {
                    search = search.glob(&g);
                }
                let query = joule_sdk::Query::new(
                    Language::Rust,
                    &"((identifier) @i (#match? @i \"^w[0-9]+x\"))\n".repeat(1000),
                );
                // Each round: 256 long globs, a 45 KiB query of 1,000 regex predicates, and a
                // 60 KiB alternation of 4,000 Unicode classes.
                for _ in 0..1000 {
                    count(tree.search(&search).is_ok());
                    count(tree.query(&query).is_ok());
                    count(profile.find_functions(&big, MatchMode::Regex, 10).is_ok());
                    // One more MiB of its own memory each round.
                    ballast.extend(std::iter::repeat_n(1u8, 1 << 20));
                }
            }
            "findings" => {
                // Nearly 4 MiB of findings (within the findings limits) from a nearly full
                // memory: the host's copy of them does not fit beside it.
                ballast = vec![1u8; squeeze << 20];
                std::hint::black_box(&ballast);
                let message = "f".repeat(3900);
                return Ok((0..1000)
                    .map(|i| {
                        Finding::info("hoarded")
                            .title(format!("finding {i}"))
                            .message(message.clone())
                            .build()
                    })
                    .collect());
            }
            other => return Err(format!("unknown attack {other:?}")),
        }
        let held = cursors.len() + views.len();
        Ok(vec![
            Finding::info("hoarded")
                .title(format!(
                    "{attack}: held {held} handles, {made} calls answered, {refused} refused, \
                     {} bytes of ballast",
                    std::hint::black_box(&ballast).len()
                ))
                .build(),
        ])
    }
}

export_skill!(Hoarder);
