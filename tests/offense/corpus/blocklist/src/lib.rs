//! Events from users not on a block list, as an abuse filter or an export that honours
//! opt-outs drops them.
//!
//! Planted inefficiency (offense corpus): `allowed` tests each event's user against the block
//! list with `slice::contains`, which walks the list: events x blocked comparisons where a set
//! built once makes it one lookup an event.

/// One event: who did it, and what it weighs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    pub user: u64,
    pub bytes: u32,
}

/// The events whose user is not in `blocked`, in order.
pub fn allowed(events: &[Event], blocked: &[u64]) -> Vec<Event> {
    let mut out = Vec::new();
    for event in events {
        if !blocked.contains(&event.user) {
            out.push(*event);
        }
    }
    out
}

/// `n` events from `users` users with sparse ids.
pub fn events(n: usize, users: u64) -> Vec<Event> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Event {
                user: (state % users).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                bytes: (state >> 40) as u32 % 10_000,
            }
        })
        .collect()
}

/// Every `step`-th user of `users`, as `events` spells their ids.
pub fn block_list(users: u64, step: u64) -> Vec<u64> {
    (0..users)
        .step_by(step as usize)
        .map(|u| u.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_users_are_dropped_in_order() {
        let e = |user| Event { user, bytes: 1 };
        let kept = allowed(&[e(1), e(2), e(3), e(2), e(4)], &[2, 4]);
        assert_eq!(kept, vec![e(1), e(3)]);
        assert_eq!(allowed(&[], &[1]), vec![]);
        assert_eq!(allowed(&[e(7)], &[]), vec![e(7)]);
    }

    #[test]
    fn a_generated_stream_loses_exactly_its_blocked_users() {
        let events = events(20_000, 1_000);
        let blocked = block_list(1_000, 10);
        let kept = allowed(&events, &blocked);
        let expected = events
            .iter()
            .filter(|e| !blocked.iter().any(|b| b == &e.user))
            .count();
        assert_eq!(kept.len(), expected);
        assert!(kept.iter().all(|e| !blocked.contains(&e.user)));
    }
}
