//! Order lines to gross prices, as a checkout or an invoicing batch computes them.
//!
//! Planted inefficiency (offense corpus): `gross_prices` knows how many prices it makes but
//! grows its vector one push at a time.

/// One order line: a net price in cents and a tax rate in basis points.
#[derive(Clone, Copy, Debug)]
pub struct Line {
    pub net_cents: u64,
    pub tax_bp: u32,
}

/// The gross price of every line, in cents, rounded half up.
pub fn gross_prices(lines: &[Line]) -> Vec<u64> {
    let mut out = Vec::new();
    for line in lines.iter() {
        out.push((line.net_cents * (10_000 + u64::from(line.tax_bp)) + 5_000) / 10_000);
    }
    out
}

/// `n` order lines, deterministic.
pub fn lines(n: usize) -> Vec<Line> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Line {
                net_cents: state % 100_000,
                tax_bp: [0, 500, 700, 1900, 2000][(state % 5) as usize],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_tax_and_rounds_half_up() {
        let lines = [
            Line {
                net_cents: 1000,
                tax_bp: 1900,
            },
            Line {
                net_cents: 1,
                tax_bp: 5000,
            },
            Line {
                net_cents: 999,
                tax_bp: 0,
            },
        ];
        assert_eq!(gross_prices(&lines), [1190, 2, 999]);
    }

    #[test]
    fn one_price_per_line() {
        assert_eq!(gross_prices(&lines(1000)).len(), 1000);
        assert!(gross_prices(&[]).is_empty());
    }
}
