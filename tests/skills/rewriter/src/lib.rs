//! A skill that tries to make the host write to a repository it may only read. libgit2 builds a
//! revert by writing objects into the repository, so it asks for every revert there is: each
//! commit of the widest window (merges and the root too), by full and by abbreviated id, and
//! again `rounds` times; and the diff, the changes and the blame of every line of every file
//! each one touched, to the last line a `u32` can name. Errors are counted and ignored, as a
//! hostile skill would. The test snapshots the repository around the run: nothing may change.

use joule_sdk::Repo;
use joule_sdk::prelude::*;

struct Rewriter;

#[derive(Default)]
struct Tally {
    patches: u64,
    refused: u64,
    blamed: u64,
    other: u64,
}

impl Rewriter {
    fn attack(repo: &Repo, rounds: u32, tally: &mut Tally) {
        let Ok(commits) = repo.commits(i64::MIN, i64::MAX, u32::MAX) else {
            tally.refused += 1;
            return;
        };
        for round in 0..rounds {
            for commit in &commits {
                let ids = [commit.id.as_str(), &commit.id[..7]];
                for id in ids {
                    match repo.revert(id) {
                        Ok(patch) => tally.patches += u64::from(!patch.is_empty()),
                        Err(_) => tally.refused += 1,
                    }
                }
                if round > 0 {
                    continue;
                }
                tally.other += u64::from(repo.diff(&commit.id).is_ok());
                let Ok(changes) = repo.changes(&commit.id) else {
                    continue;
                };
                for change in changes {
                    if let Ok(lines) = repo.blame(&change.path, 1, u32::MAX) {
                        tally.blamed += lines.len() as u64;
                    }
                }
            }
        }
        // Ids that are no commit, or not an id at all.
        for id in [
            "0000000000000000000000000000000000000000",
            "HEAD",
            "HEAD~1",
            "",
            "ffff",
        ] {
            tally.refused += u64::from(repo.revert(id).is_err());
        }
    }
}

impl Skill for Rewriter {
    fn describe() -> Descriptor {
        Describe::new(
            "rewriter",
            "0.1.0",
            "Asks a read-only repository for every revert, diff and blame there is.",
        )
        .uses("history")
        .parameter(
            "rounds",
            "How many times to revert every commit.",
            Some("5"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let rounds: u32 = invocation.param_or("rounds", 5)?;
        let mut tally = Tally::default();
        for repo in Repo::granted() {
            Self::attack(&repo, rounds, &mut tally);
        }
        Ok(vec![
            Finding::info("rewrite-attempts")
                .title(format!(
                    "{} revert patches, {} refused, {} lines blamed, {} diffs",
                    tally.patches, tally.refused, tally.blamed, tally.other
                ))
                .evidence("patches", tally.patches as f64, "count")
                .evidence("refused", tally.refused as f64, "count")
                .evidence("blamed", tally.blamed as f64, "count")
                .build(),
        ])
    }
}

export_skill!(Rewriter);
