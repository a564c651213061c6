//! Deterministic synthetic access log (nginx "combined" format plus request time) for demos and profiling.

use std::fmt::Write;

/// SplitMix64: a tiny, fast, well-distributed PRNG; enough for test data, no `rand` needed.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// An index below `len`, favouring small ones (a rough Zipf stand-in).
    fn skewed_index(&mut self, len: usize) -> usize {
        let u = self.unit();
        (u * u * len as f64) as usize
    }

    fn skewed<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.skewed_index(items.len())]
    }

    fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(total as usize) as u32;
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        &items[items.len() - 1].0
    }
}

const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "xena", "yusuf",
    "zoe", "amir", "bea", "chen", "dmitri", "elena", "farah", "goran",
];

// Weighted tables: (value, relative frequency).
#[rustfmt::skip]
const STATUSES: &[(u16, u32)] = &[
    (200, 780), (304, 70), (301, 25), (404, 60), (401, 20), (500, 12), (502, 5), (503, 8),
];

/// User agents of people.
#[rustfmt::skip]
const BROWSERS: &[(&str, u32)] = &[
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 40),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", 20),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 12),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", 10),
];

/// User agents of crawlers and scripts; they never sign in.
#[rustfmt::skip]
const ROBOTS: &[(&str, u32)] = &[
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 6),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 3),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", 2),
    ("Screaming Frog SEO Spider/19.8", 1),
    ("curl/8.7.1", 3),
    ("python-requests/2.31.0", 3),
];

#[rustfmt::skip]
const PRODUCTS: &[&str] = &[
    "espresso-machine", "burr-grinder", "milk-frother", "pour-over-kettle", "cold-brew-jar", "travel-mug",
];

const SEARCHES: &[&str] = &["coffee", "grinder", "decaf", "filters", "gift+card"];

/// Appends one request path to `out`; some carry ids, queries, odd casing or doubled slashes.
fn write_path(rng: &mut SplitMix64, out: &mut String) {
    let id = rng.below(5000) + 1;
    match rng.below(20) {
        0..=4 => write!(out, "/api/v1/users/{id}/cart"),
        5..=7 => write!(out, "/api/v1/orders/{id}/items"),
        8..=9 => write!(out, "/api/v1/orders/{id}"),
        10..=11 => write!(out, "/products/{}", rng.skewed(PRODUCTS)),
        12 => write!(out, "/Products/{}/reviews/", rng.skewed(PRODUCTS)),
        13 => write!(out, "/search?q={}&page={}", rng.skewed(SEARCHES), id % 4),
        14 => write!(
            out,
            "/static/js/app.{:08x}.js",
            id * 2_654_435_761 % 0xFFFF_FFFF
        ),
        15 => write!(out, "/static//css/site.css"),
        16 => write!(out, "/login"),
        17 => write!(out, "/healthz"),
        _ => write!(out, "/"),
    }
    .expect("writing to a String cannot fail");
}

/// Base latency in milliseconds by endpoint family, before noise.
fn base_latency_ms(path: &str) -> f64 {
    if path.starts_with("/static") || path == "/healthz" {
        2.0
    } else if path.starts_with("/search") {
        90.0
    } else if path.starts_with("/api/v1/orders") {
        45.0
    } else {
        20.0
    }
}

/// Generates `lines` log lines from `seed`; the same arguments always give the same text.
pub fn generate(lines: usize, seed: u64) -> String {
    const MONTH_DAY: &str = "14/Mar/2025";
    let mut rng = SplitMix64::new(seed);
    let mut out = String::with_capacity(lines * 260);
    let mut path = String::new();
    for i in 0..lines {
        // Half the traffic is anonymous, from many addresses; each signed-in user has a few.
        let signed_in = rng.below(2) == 0;
        let (user, ip) = if signed_in {
            let u = rng.skewed_index(USERS.len());
            (USERS[u], format!("10.20.{u}.{}", rng.below(3) + 2))
        } else {
            (
                "-",
                format!("10.30.{}.{}", rng.below(16), rng.below(250) + 2),
            )
        };
        let secs = i * 86_400 / lines.max(1);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let method = if rng.below(10) == 0 { "POST" } else { "GET" };
        path.clear();
        write_path(&mut rng, &mut path);
        let status = *rng.weighted(STATUSES);
        let bytes = if status == 304 {
            0
        } else {
            200 + rng.below(48_000)
        };
        let referer = if rng.below(3) == 0 {
            "-"
        } else {
            "https://shop.example.com/"
        };
        let agent = if signed_in || rng.below(4) != 0 {
            rng.weighted(BROWSERS)
        } else {
            rng.weighted(ROBOTS)
        };
        // Exponential noise with a 1% slow tail, so p99 is far from p50.
        let mut latency = base_latency_ms(&path) * (0.3 - (1.0 - rng.unit()).ln());
        if rng.below(100) == 0 {
            latency *= 25.0;
        }
        writeln!(
            out,
            "{ip} - {user} [{MONTH_DAY}:{h:02}:{m:02}:{s:02} +0000] \"{method} {path} HTTP/1.1\" \
             {status} {bytes} \"{referer}\" \"{agent}\" {:.3}",
            latency / 1000.0
        )
        .expect("writing to a String cannot fail");
    }
    out
}
