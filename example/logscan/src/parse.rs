//! Parsing access-log lines into entries, plus the per-request classifiers.

use regex::Regex;

/// One request from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub client: String,
    pub user: String,
    pub path: String,
    pub status: u16,
    pub bytes: u64,
    pub user_agent: String,
    /// Request time, when the log format records it (nginx `$request_time` as the last field).
    pub latency_ms: Option<f64>,
}

/// Parses one line of an nginx/Apache "combined" log, optionally followed by the request time in seconds.
pub fn parse_line(line: &str) -> Option<Entry> {
    let re = Regex::new(r#"^(?<client>\S+) \S+ (?<user>\S+) \[[^\]]+\] "\S+ (?<path>\S+)[^"]*" (?<status>\d{3}) (?<bytes>\d+|-) "[^"]*" "(?<agent>[^"]*)"(?: (?<secs>\d+(?:\.\d+)?))?$"#).unwrap();
    let caps = re.captures(line)?;
    Some(Entry {
        client: caps["client"].to_string(),
        user: caps["user"].to_string(),
        path: caps["path"].to_string(),
        status: caps["status"].parse().ok()?,
        bytes: caps["bytes"].parse().unwrap_or(0),
        user_agent: caps["agent"].to_string(),
        latency_ms: caps
            .name("secs")
            .and_then(|secs| secs.as_str().parse::<f64>().ok())
            .map(|secs| secs * 1000.0),
    })
}

/// Whether a user-agent string (`ua`) belongs to a crawler rather than a person.
pub fn is_bot(ua: &str) -> bool {
    Regex::new(r"(?i)bot|crawler|spider").unwrap().is_match(ua)
}

/// Canonical form of a request path: no query string, no empty segments, numeric ids as `{id}`.
pub fn normalize_path(raw: &str) -> String {
    let without_query = raw.split('?').next().unwrap_or(raw);
    let mut normalized = String::new();
    for segment in without_query.split('/').filter(|s| !s.is_empty()) {
        let segment = if segment.bytes().all(|b| b.is_ascii_digit()) {
            "{id}"
        } else {
            segment
        };
        normalized = format!("{normalized}/{segment}");
    }
    if normalized.is_empty() {
        normalized.push('/');
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_combined_line_with_request_time() {
        let line = r#"10.1.2.3 - alice [14/Mar/2025:10:00:00 +0000] "GET /api/v1/users/42/cart?x=1 HTTP/1.1" 200 512 "-" "curl/8.7.1" 0.045"#;
        let entry = parse_line(line).expect("line parses");
        assert_eq!(entry.client, "10.1.2.3");
        assert_eq!(entry.user, "alice");
        assert_eq!(entry.path, "/api/v1/users/42/cart?x=1");
        assert_eq!(entry.status, 200);
        assert_eq!(entry.bytes, 512);
        assert_eq!(entry.user_agent, "curl/8.7.1");
        assert!((entry.latency_ms.unwrap() - 45.0).abs() < 1e-9);
    }

    #[test]
    fn request_time_is_optional_and_garbage_is_rejected() {
        let line = r#"::1 - - [14/Mar/2025:10:00:00 +0000] "HEAD / HTTP/1.0" 304 - "-" "x""#;
        let entry = parse_line(line).expect("line parses");
        assert_eq!((entry.bytes, entry.latency_ms), (0, None));
        assert_eq!(parse_line("not a log line"), None);
    }

    #[test]
    fn classifies_bots() {
        assert!(is_bot("Mozilla/5.0 (compatible; Googlebot/2.1)"));
        assert!(is_bot("Screaming Frog SEO Spider/19.8"));
        assert!(!is_bot(
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Firefox/125.0"
        ));
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(
            normalize_path("/api/v1/orders/17/items?page=2"),
            "/api/v1/orders/{id}/items"
        );
        assert_eq!(
            normalize_path("/static//css/site.css"),
            "/static/css/site.css"
        );
        assert_eq!(normalize_path("/?q=1"), "/");
    }
}
