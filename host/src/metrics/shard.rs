//! Shards of a metric set: which series one of N processes scanning a fleet keeps, decided from
//! the series' key alone, so every process agrees without talking to the others.
//!
//! The hash is 64-bit FNV-1a (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`) of
//! the series' title as reports show it, `name{k=v,...}` with labels sorted by key (`cpu` when
//! it has none), in UTF-8; series `s` belongs to shard `fnv1a64(title(s)) % count`. FNV-1a is
//! a dozen lines, has no seed to get wrong, and is the same in every language, so a Kubernetes
//! job, a script or another tool can say which shard holds a series.

pub use crate::shard::{Shard, fnv1a64, key_hash};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn shards_partition_series_exactly() {
        let titles: Vec<String> = (0..5_000)
            .map(|i| format!("cpu{{group=g{},host=h{i}}}", i % 7))
            .collect();
        for count in [1, 2, 3, 10] {
            let shards: Vec<Shard> = (0..count).map(|i| Shard::new(i, count).unwrap()).collect();
            let mut sizes = vec![0usize; count as usize];
            for t in &titles {
                let owners: Vec<&Shard> = shards.iter().filter(|s| s.keeps(t)).collect();
                assert_eq!(owners.len(), 1, "{t} in {count} shards");
                sizes[owners[0].index as usize] += 1;
            }
            let even = titles.len() / count as usize;
            assert!(
                sizes.iter().all(|&n| n > even * 8 / 10),
                "{count} shards: {sizes:?}"
            );
        }
        assert!(Shard::new(3, 3).is_err());
        assert!(Shard::new(0, 0).is_err());
        assert_eq!(Shard::new(2, 10).unwrap().to_string(), "2/10");
    }
}
