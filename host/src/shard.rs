//! Shards of a fleet scan: `joule run --shard K/N` (or a Kubernetes Indexed Job's
//! `JOB_COMPLETION_INDEX` with `JOB_COMPLETIONS`) keeps the metric series whose key hashes to
//! shard K of N, so N processes scan a fleet between them and `joule merge` joins their reports.
//!
//! The hash is 64-bit FNV-1a of the series' key, `name{k=v,...}` with labels sorted by key
//! (the form reports show), taken modulo N: fixed, documented and the same on every machine and
//! in every version, so a shard holds the same series wherever and whenever it runs. The metric
//! readers drop other shards' rows as they read them (`metrics::LoadOptions`).

use serde::{Deserialize, Serialize};

/// Shard `index` (from 0) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `K/N` with `K < N`: `3/10` is the fourth of ten shards.
    pub fn parse(text: &str) -> anyhow::Result<Shard> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("--shard {text}: expected K/N, e.g. 0/10"))?;
        let parse = |v: &str, what: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| anyhow::anyhow!("--shard {text}: {what} {v:?} is not a whole number"))
        };
        Shard::new(parse(k, "K")?, parse(n, "N")?)
            .map_err(|e| anyhow::anyhow!("--shard {text}: {e}"))
    }

    /// Shard `index` of `count`, or why not.
    pub fn new(index: u32, count: u32) -> anyhow::Result<Shard> {
        if count == 0 || index >= count {
            anyhow::bail!("shard {index} of {count}: K must be below N, and N at least 1");
        }
        Ok(Shard { index, count })
    }

    /// The shard a Kubernetes Indexed Job gives its pod: `JOB_COMPLETION_INDEX` (set by
    /// Kubernetes) of `JOB_COMPLETIONS` (set in the job's manifest from `spec.completions`).
    /// `None` when either is unset; an error when they are set but wrong.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Shard>> {
        let (Some(k), Some(n)) = (get("JOB_COMPLETION_INDEX"), get("JOB_COMPLETIONS")) else {
            return Ok(None);
        };
        let parse = |name: &str, v: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| anyhow::anyhow!("${name} = {v:?}: not a whole number"))
        };
        Shard::new(
            parse("JOB_COMPLETION_INDEX", &k)?,
            parse("JOB_COMPLETIONS", &n)?,
        )
        .map(Some)
        .map_err(|e| anyhow::anyhow!("$JOB_COMPLETION_INDEX/$JOB_COMPLETIONS: {e}"))
    }

    /// Whether the series titled `title` (`name{k=v,...}`, labels sorted) is in this shard.
    pub fn keeps(&self, title: &str) -> bool {
        self.owns(fnv1a64(title.as_bytes()))
    }

    /// Whether a series whose key hashes to `hash` ([`key_hash`]) is in this shard.
    pub fn owns(&self, hash: u64) -> bool {
        self.count <= 1 || hash % u64::from(self.count) == u64::from(self.index)
    }

    /// `3/10`, or `unsharded`.
    pub fn describe(shard: Option<Shard>) -> String {
        match shard {
            Some(s) => s.to_string(),
            None => "unsharded".to_string(),
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// 64-bit FNV-1a (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_more(FNV_OFFSET, bytes)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a of `hash`'s bytes followed by `bytes`.
fn fnv1a64_more(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The shard hash of a series from its parts as a file holds them, without making its title:
/// [`fnv1a64`] of `name{k=v,...}` (just `name` without labels), `labels` already in key order,
/// hashed piece by piece where they lie. The readers decide a row's shard with it before
/// anything else, so another shard's row costs one pass over its key's bytes, no copy, no
/// lookup and no allocation. (Copying the pieces together for a hash of whole words, XXH3,
/// cost more than it saved: the hash then waits for the copy's stores.)
pub fn key_hash<'a>(name: &[u8], labels: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> u64 {
    let mut hash = fnv1a64_more(FNV_OFFSET, name);
    let mut any = false;
    for (k, v) in labels {
        hash = fnv1a64_more(hash, if any { b"," } else { b"{" });
        hash = fnv1a64_more(hash, k);
        hash = fnv1a64_more(hash, b"=");
        hash = fnv1a64_more(hash, v);
        any = true;
    }
    if any {
        hash = fnv1a64_more(hash, b"}");
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::{Shard, fnv1a64, key_hash};
    use crate::metrics::title;

    #[test]
    fn the_key_hash_is_the_hash_of_the_title() {
        let labels = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        for (name, pairs) in [
            ("cpu", labels(&[])),
            ("cpu", labels(&[("host", "a")])),
            (
                "total:main",
                labels(&[("group", ""), ("host", "a,b=c"), ("zone", "eu")]),
            ),
            ("", labels(&[("k", "v")])),
        ] {
            let parts = pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes()));
            assert_eq!(
                key_hash(name.as_bytes(), parts),
                fnv1a64(title(name, &pairs).as_bytes()),
                "{name} {pairs:?}"
            );
        }
    }

    #[test]
    fn bad_shards_are_refused_with_the_flag() {
        for bad in ["3", "3/3", "a/4", "1/0", "-1/4"] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--shard {bad}")), "{e}");
        }
        assert_eq!(
            Shard::parse("3/10").unwrap(),
            Shard {
                index: 3,
                count: 10
            }
        );
        let env = |k: &str| match k {
            "JOB_COMPLETION_INDEX" => Some("2".to_string()),
            "JOB_COMPLETIONS" => Some("5".to_string()),
            _ => None,
        };
        assert_eq!(
            Shard::from_env(env).unwrap(),
            Some(Shard { index: 2, count: 5 })
        );
        assert_eq!(Shard::from_env(|_| None).unwrap(), None);
        let wrong = |k: &str| {
            (k == "JOB_COMPLETION_INDEX" || k == "JOB_COMPLETIONS").then(|| "x".to_string())
        };
        assert!(Shard::from_env(wrong).is_err());
    }
}
