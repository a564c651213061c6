//! Numbers for people: sample values in their units (`205.17 s`, `1.50 MiB`) and shares.

/// A value in a profile's unit, scaled as `pprof` does: nanoseconds become seconds or
/// milliseconds, bytes become KiB/MiB/GiB, counts stay counts.
pub fn format_value(value: f64, unit: &str) -> String {
    let abs = value.abs();
    match unit {
        "nanoseconds" | "ns" => {
            if abs >= 1e9 {
                format!("{:.2} s", value / 1e9)
            } else if abs >= 1e6 {
                format!("{:.2} ms", value / 1e6)
            } else if abs >= 1e3 {
                format!("{:.2} µs", value / 1e3)
            } else {
                format!("{value:.0} ns")
            }
        }
        "microseconds" | "us" => format_value(value * 1e3, "nanoseconds"),
        "milliseconds" | "ms" => format_value(value * 1e6, "nanoseconds"),
        "seconds" | "s" => format_value(value * 1e9, "nanoseconds"),
        "bytes" | "B" => {
            const KIB: f64 = 1024.0;
            if abs >= KIB * KIB * KIB {
                format!("{:.2} GiB", value / (KIB * KIB * KIB))
            } else if abs >= KIB * KIB {
                format!("{:.2} MiB", value / (KIB * KIB))
            } else if abs >= KIB {
                format!("{:.2} KiB", value / KIB)
            } else {
                format!("{value:.0} B")
            }
        }
        "count" | "samples" | "" => format!("{value:.0} samples"),
        other => format!("{value} {other}"),
    }
}

/// A fraction as a percentage with one decimal (`0.8538` -> `85.4%`).
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_like_pprof() {
        assert_eq!(format_value(205_170_000_000.0, "nanoseconds"), "205.17 s");
        assert_eq!(format_value(8_810_000.0, "nanoseconds"), "8.81 ms");
        assert_eq!(format_value(3.0 * 1024.0 * 1024.0, "bytes"), "3.00 MiB");
        assert_eq!(format_value(42.0, "count"), "42 samples");
        assert_eq!(percent(0.85384), "85.4%");
    }
}

/// A timestamp as findings carry it (`at`): Unix seconds as an integer, or an RFC 3339
/// date-time (`2026-11-01T12:00:00Z`, `2026-11-01T13:00:00+01:00`); `None` otherwise.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = text.parse::<i64>() {
        return Some(t);
    }
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Skip fractional seconds, then read the zone.
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
            let (zh, zm) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i64>().ok()?,
                    digits[2..].parse::<i64>().ok()?,
                ),
                _ => return None,
            };
            sign * (zh * 3600 + zm * 60)
        }
    };
    // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod time_tests {
    use super::parse_time;

    #[test]
    fn reads_unix_seconds_and_rfc3339() {
        assert_eq!(parse_time("1764787200"), Some(1_764_787_200));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2026-11-01T05:00:00Z"), Some(1_793_509_200));
        assert_eq!(parse_time("2026-11-01T06:00:00+01:00"), Some(1_793_509_200));
        assert_eq!(parse_time("2000-02-29T12:30:15.25Z"), Some(951_827_415));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2026-13-01T00:00:00Z"), None);
    }
}
