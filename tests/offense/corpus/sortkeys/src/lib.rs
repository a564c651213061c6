//! A directory listing, sorted the way file managers show it: by name, ignoring case, ties kept
//! in the order the file system gave them.
//!
//! Planted inefficiency (offense corpus): `sort_by_key` calls the key function on both sides of
//! every comparison, so each name is case-folded (a fresh `String`) about 2 log2(n) times.

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub size: u64,
}

/// Sorts `entries` by name, case-insensitively; equal names keep their order.
pub fn sort_listing(entries: &mut [Entry]) {
    entries.sort_by_key(|e| e.name.to_lowercase());
}

/// `n` entries with names like a source tree's, in a scrambled order.
pub fn listing(n: usize) -> Vec<Entry> {
    let words = [
        "Main", "lib", "README", "config", "Parser", "lexer", "Tests", "util", "Makefile", "build",
        "Cargo", "index", "Server", "client", "Schema", "model",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let word = words[(state % words.len() as u64) as usize];
            Entry {
                name: format!("{word}_{:05}.rs", state % 100_000),
                size: i as u64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_name_ignoring_case_and_keeps_ties_in_order() {
        let mut entries = vec![
            Entry {
                name: "b.rs".into(),
                size: 1,
            },
            Entry {
                name: "A.rs".into(),
                size: 2,
            },
            Entry {
                name: "a.rs".into(),
                size: 3,
            },
            Entry {
                name: "B.rs".into(),
                size: 4,
            },
        ];
        sort_listing(&mut entries);
        let sizes: Vec<u64> = entries.iter().map(|e| e.size).collect();
        assert_eq!(sizes, [2, 3, 1, 4]);
    }

    #[test]
    fn a_large_listing_ends_up_ordered() {
        let mut entries = listing(5000);
        sort_listing(&mut entries);
        assert!(
            entries
                .windows(2)
                .all(|w| w[0].name.to_lowercase() <= w[1].name.to_lowercase())
        );
    }
}
