//! The most active users of an event stream, as an abuse detector or a usage report finds
//! them: count the events per user id, keep the `k` largest counts.
//!
//! Planted inefficiency (offense corpus): the counts are a `std::collections::HashMap`, whose
//! default hasher is SipHash-1-3, keyed for resistance to flooding: for a `u64` key it costs
//! several times the rest of the lookup.

use std::collections::HashMap;

/// One event: who did it, and when (seconds).
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub user: u64,
    pub at: u32,
}

/// The `k` users with the most events, most first (equal counts by user id).
pub fn top_users(events: &[Event], k: usize) -> Vec<(u64, usize)> {
    let mut counts = HashMap::new();
    for event in events {
        *counts.entry(event.user).or_insert(0usize) += 1;
    }
    let mut top: Vec<(u64, usize)> = counts.into_iter().collect();
    top.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(k);
    top
}

/// `n` events from `users` users with sparse 64-bit ids, a few users far more active than
/// the rest (as real traffic is).
pub fn events(n: usize, users: u64) -> Vec<Event> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Squaring a uniform draw skews it towards the active users.
            let u = (state % 1_000_000) as f64 / 1_000_000.0;
            let rank = (u * u * users as f64) as u64;
            Event {
                user: rank.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
                at: i as u32,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(user: u64) -> Event {
        Event { user, at: 0 }
    }

    #[test]
    fn the_most_active_come_first() {
        let events = [at(7), at(3), at(7), at(9), at(3), at(7)];
        assert_eq!(top_users(&events, 2), vec![(7, 3), (3, 2)]);
        assert_eq!(top_users(&events, 10), vec![(7, 3), (3, 2), (9, 1)]);
        assert!(top_users(&[], 3).is_empty());
    }

    #[test]
    fn equal_counts_are_ordered_by_id() {
        let events = [at(5), at(2), at(8)];
        assert_eq!(top_users(&events, 3), vec![(2, 1), (5, 1), (8, 1)]);
    }

    #[test]
    fn counts_add_up_on_a_generated_stream() {
        let events = events(20_000, 500);
        let top = top_users(&events, usize::MAX);
        assert_eq!(top.iter().map(|t| t.1).sum::<usize>(), events.len());
        assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
    }
}
