//! Sign-up form checks: which submitted e-mail addresses look valid.
//!
//! Planted inefficiency (offense corpus): `is_valid` compiles its regular expression on every
//! call, which costs far more than matching with it.

use regex::Regex;

/// Whether `address` looks like an e-mail address (a pragmatic check, not RFC 5322).
pub fn is_valid(address: &str) -> bool {
    let re =
        Regex::new(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$").unwrap();
    re.is_match(address)
}

/// How many of `addresses` are valid.
pub fn count_valid(addresses: &[String]) -> usize {
    addresses.iter().filter(|a| is_valid(a)).count()
}

/// `n` submitted addresses, some malformed.
pub fn submissions(n: usize) -> Vec<String> {
    let users = ["ana", "bo.li", "chen+news", "dee_d", "eve", "frank.o"];
    let domains = [
        "example.com",
        "mail.example.org",
        "bad",
        "x.io",
        "corp.example.co.uk",
    ];
    (0..n)
        .map(|i| {
            let at = if i % 17 == 0 { "" } else { "@" };
            format!(
                "{}{i}{at}{}",
                users[i % users.len()],
                domains[i % domains.len()]
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_addresses_and_refuses_broken_ones() {
        assert!(is_valid("ana@example.com"));
        assert!(is_valid("chen+news@mail.example.org"));
        assert!(!is_valid("ana.example.com"));
        assert!(!is_valid("eve@bad"));
        assert!(!is_valid("@example.com"));
    }

    #[test]
    fn counts_the_valid_submissions() {
        let all = submissions(1000);
        let valid = count_valid(&all);
        assert!(valid > 600 && valid < 1000, "{valid}");
    }
}
