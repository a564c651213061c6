//! A fraud check at checkout: does the account have any suspicious recent order?
//!
//! Planted inefficiency (offense corpus): `any_suspicious` sets its flag and keeps checking
//! the rest of the orders.

/// One order of an account.
pub struct Order {
    pub cents: u64,
    pub country: String,
    pub ship_country: String,
}

/// Whether any order is large and ships to another country than the card's.
pub fn any_suspicious(orders: &[Order]) -> bool {
    let mut suspicious = false;
    for order in orders {
        if order.cents > 50_000 && order.country != order.ship_country {
            suspicious = true;
        }
    }
    suspicious
}

/// `n` orders of one account, deterministic.
pub fn orders(n: usize, seed: u64) -> Vec<Order> {
    let countries = ["NL", "DE", "FR", "BE", "ES"];
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let home = countries[(state % 5) as usize].to_string();
            let ship = if state % 23 == 0 {
                countries[((state >> 8) % 5) as usize]
            } else {
                &home
            };
            Order {
                cents: state % 60_000,
                ship_country: ship.to_string(),
                country: home,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(cents: u64, country: &str, ship: &str) -> Order {
        Order {
            cents,
            country: country.into(),
            ship_country: ship.into(),
        }
    }

    #[test]
    fn large_and_abroad_is_suspicious() {
        assert!(any_suspicious(&[
            order(10, "NL", "NL"),
            order(60_000, "NL", "DE")
        ]));
        assert!(!any_suspicious(&[
            order(60_000, "NL", "NL"),
            order(10, "NL", "DE")
        ]));
        assert!(!any_suspicious(&[]));
    }

    #[test]
    fn agrees_with_any() {
        for seed in 1..30 {
            let orders = orders(500, seed);
            let expected = orders
                .iter()
                .any(|o| o.cents > 50_000 && o.country != o.ship_country);
            assert_eq!(any_suspicious(&orders), expected);
        }
    }
}
