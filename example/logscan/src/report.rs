//! Aggregating parsed entries into the summary that logscan prints.

use std::collections::HashMap;
use std::fmt;

use crate::parse::{Entry, is_bot, normalize_path, parse_line};

/// Request count and latency percentiles of one (normalised, case-folded) path.
pub struct PathStats {
    pub path: String,
    pub requests: usize,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Everything logscan reports about one log.
#[derive(Default)]
pub struct Summary {
    pub lines: usize,
    pub unparsed: usize,
    pub bot_requests: usize,
    pub bytes: u64,
    pub by_status: HashMap<u16, usize>,
    pub by_user: HashMap<String, usize>,
    pub by_client: HashMap<String, usize>,
    pub paths: Vec<PathStats>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Scans every line of `text` and summarises it.
pub fn scan(text: &str) -> Summary {
    let mut summary = Summary::default();
    let mut entries = Vec::new();
    for line in text.lines() {
        summary.lines += 1;
        let Some(mut entry) = parse_line(line) else {
            summary.unparsed += 1;
            continue;
        };
        *summary.by_status.entry(entry.status).or_insert(0) += 1;
        summary.bytes += entry.bytes;
        count(&mut summary.by_client, &entry.client);
        // Crawlers never sign in, so only anonymous requests need the user-agent check.
        if entry.user != "-" {
            count(&mut summary.by_user, &entry.user);
        } else if is_bot(&entry.user_agent) {
            summary.bot_requests += 1;
        }
        entry.path = normalize_path(&entry.path);
        entries.push(entry);
    }
    let mut latencies: Vec<f64> = entries.iter().filter_map(|e| e.latency_ms).collect();
    summary.p50_ms = percentile(&mut latencies, 50.0);
    summary.p99_ms = percentile(&mut latencies, 99.0);
    summary.paths = path_stats(&mut entries);
    summary
}

fn count(map: &mut HashMap<String, usize>, key: &str) {
    *map.entry(key.to_string()).or_insert(0) += 1;
}

/// Groups requests by path, case-insensitively, busiest first.
fn path_stats(entries: &mut [Entry]) -> Vec<PathStats> {
    entries.sort_by_key(|e| e.path.to_lowercase());
    let mut stats: Vec<PathStats> = entries
        .chunk_by(|a, b| a.path.eq_ignore_ascii_case(&b.path))
        .map(|group| {
            let mut latencies: Vec<f64> = group.iter().filter_map(|e| e.latency_ms).collect();
            PathStats {
                path: group[0].path.to_lowercase(),
                requests: group.len(),
                p50_ms: percentile(&mut latencies, 50.0),
                p99_ms: percentile(&mut latencies, 99.0),
            }
        })
        .collect();
    stats.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.path.cmp(&b.path))
    });
    stats
}

/// Nearest-rank percentile; sorts `values` in place.
fn percentile(values: &mut [f64], pct: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = (pct / 100.0 * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// The `n` largest counts, ties broken by key.
fn top<K: Ord + Copy>(counts: impl IntoIterator<Item = (K, usize)>, n: usize) -> Vec<(K, usize)> {
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.truncate(n);
    counts
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"))
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parsed = self.lines - self.unparsed;
        let share = |n: usize| 100.0 * n as f64 / parsed.max(1) as f64;
        writeln!(
            f,
            "{} lines, {} parsed, {} unparsed",
            self.lines, parsed, self.unparsed
        )?;
        writeln!(
            f,
            "{} distinct clients, {:.1} MiB served, {} bot requests ({:.1}%)",
            self.by_client.len(),
            self.bytes as f64 / (1024.0 * 1024.0),
            self.bot_requests,
            share(self.bot_requests)
        )?;
        writeln!(
            f,
            "latency: p50 {} ms, p99 {} ms",
            ms(self.p50_ms),
            ms(self.p99_ms)
        )?;

        writeln!(f, "\nrequests by status:")?;
        let mut statuses: Vec<_> = self.by_status.iter().map(|(&s, &n)| (s, n)).collect();
        statuses.sort_unstable();
        for (status, n) in statuses {
            writeln!(f, "  {status}  {n:>8}  {:>5.1}%", share(n))?;
        }

        writeln!(f, "\ntop users:")?;
        for (user, n) in top(self.by_user.iter().map(|(u, &n)| (u.as_str(), n)), 5) {
            writeln!(f, "  {user:<10} {n:>8}")?;
        }

        writeln!(
            f,
            "\ntop paths:\n  {:>8} {:>9} {:>9}  path",
            "requests", "p50 ms", "p99 ms"
        )?;
        for p in self.paths.iter().take(10) {
            writeln!(
                f,
                "  {:>8} {:>9} {:>9}  {}",
                p.requests,
                ms(p.p50_ms),
                ms(p.p99_ms),
                p.path
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), Some(50.0));
        assert_eq!(percentile(&mut v, 99.0), Some(99.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }

    #[test]
    fn scan_counts_and_groups() {
        let log = crate::synth::generate(2_000, 7);
        let summary = scan(&log);
        assert_eq!((summary.lines, summary.unparsed), (2_000, 0));
        assert_eq!(summary.by_status.values().sum::<usize>(), 2_000);
        let users: usize = summary.by_user.values().sum();
        assert!(
            users + summary.bot_requests < 2_000,
            "anonymous requests have no user"
        );
        assert!(
            summary.by_client.values().any(|&n| n > 10),
            "clients repeat"
        );
        assert_eq!(
            summary.paths.iter().map(|p| p.requests).sum::<usize>(),
            2_000
        );
        assert!(
            summary
                .paths
                .iter()
                .all(|p| p.path == p.path.to_lowercase())
        );
        assert!(summary.p50_ms < summary.p99_ms);
    }
}
