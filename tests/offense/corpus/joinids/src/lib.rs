//! The `WHERE id IN (...)` list of a batched database query, as a data-access layer builds it.
//!
//! Planted inefficiency (offense corpus): `id_list` formats the whole list so far into a new
//! string for every id it adds: quadratic in the number of ids.

/// `1,2,3` for ids `[1, 2, 3]`.
pub fn id_list(ids: &[u64]) -> String {
    let mut list = String::new();
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list = format!("{list}{id}");
    }
    list
}

/// `n` ids, deterministic.
pub fn ids(n: usize) -> Vec<u64> {
    (0..n as u64).map(|i| i * 7919 % 1_000_003).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_with_commas() {
        assert_eq!(id_list(&[1, 22, 333]), "1,22,333");
        assert_eq!(id_list(&[]), "");
        assert_eq!(id_list(&[7]), "7");
    }

    #[test]
    fn agrees_with_join() {
        let ids = ids(1000);
        let expected: Vec<String> = ids.iter().map(u64::to_string).collect();
        assert_eq!(id_list(&ids), expected.join(","));
    }
}
