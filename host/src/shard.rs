//! Shards of a fleet scan: `joule run --shard K/N` (or a Kubernetes Indexed Job's
//! `JOB_COMPLETION_INDEX` with `JOB_COMPLETIONS`) keeps the metric series whose key hashes to
//! shard K of N, so N processes scan a fleet between them and `joule merge` joins their reports.
//!
//! The hash is 64-bit FNV-1a of the series' key, `name{k=v,...}` with labels sorted by key
//! (the form reports show), taken modulo N: fixed, documented and the same on every machine and
//! in every version, so a shard holds the same series wherever and whenever it runs.

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

    /// Whether the series `name` with `labels` (sorted by key) belongs to this shard.
    pub fn keeps(&self, name: &str, labels: &[(String, String)]) -> bool {
        self.count <= 1 || (key_hash(name, labels) % u64::from(self.count)) as u32 == self.index
    }

    /// `3/10`, or `unsharded`.
    pub fn describe(shard: Option<Shard>) -> String {
        match shard {
            Some(s) => format!("{}/{}", s.index, s.count),
            None => "unsharded".to_string(),
        }
    }
}

/// 64-bit FNV-1a of `name{k=v,...}` (no braces without labels), fed piece by piece.
pub fn key_hash(name: &str, labels: &[(String, String)]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    feed(name.as_bytes());
    if !labels.is_empty() {
        feed(b"{");
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                feed(b",");
            }
            feed(k.as_bytes());
            feed(b"=");
            feed(v.as_bytes());
        }
        feed(b"}");
    }
    h
}

#[cfg(test)]
mod tests {
    use super::{Shard, key_hash};

    #[test]
    fn shards_partition_the_series() {
        let labels = |i: usize| vec![("host".to_string(), format!("h{}", i % 7))];
        let shards: Vec<Shard> = (0..10).map(|k| Shard::new(k, 10).unwrap()).collect();
        let mut per_shard = [0usize; 10];
        for i in 0..10_000 {
            let name = format!("cpu-{i}");
            let owners: Vec<&Shard> = shards
                .iter()
                .filter(|s| s.keeps(&name, &labels(i)))
                .collect();
            assert_eq!(owners.len(), 1, "{name}");
            per_shard[owners[0].index as usize] += 1;
        }
        // Spread evenly (within 10% of 1,000 each).
        assert!(
            per_shard.iter().all(|&n| (900..=1100).contains(&n)),
            "{per_shard:?}"
        );
    }

    #[test]
    fn the_hash_is_fnv1a_of_the_key_as_reports_show_it() {
        // FNV-1a 64 of "" and "a" (the published test vectors), and of a key with labels.
        assert_eq!(key_hash("", &[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key_hash("a", &[]), 0xaf63_dc4c_8601_ec8c);
        let labels = [
            ("g".to_string(), "1".to_string()),
            ("h".to_string(), "x".to_string()),
        ];
        assert_eq!(key_hash("cpu", &labels), key_hash("cpu{g=1,h=x}", &[]));
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
