//! Sample values for people, the way `pprof` prints them.

/// A value scaled like pprof's `measurement.ScaledLabel`: time to the largest unit that keeps
/// it at least 1, bytes to B/kB/MB/GB, two decimals with `.00` trimmed.
pub fn scaled(value: i64, unit: &str) -> String {
    let v = value as f64;
    let time = |ns: f64| -> (f64, &'static str) {
        let a = ns.abs();
        if a >= 3.6e12 {
            (ns / 3.6e12, "hrs")
        } else if a >= 1e9 {
            (ns / 1e9, "s")
        } else if a >= 1e6 {
            (ns / 1e6, "ms")
        } else if a >= 1e3 {
            (ns / 1e3, "us")
        } else {
            (ns, "ns")
        }
    };
    let (number, suffix) = match unit {
        "nanoseconds" | "nanosecond" | "ns" => time(v),
        "microseconds" | "microsecond" | "us" => time(v * 1e3),
        "milliseconds" | "millisecond" | "ms" => time(v * 1e6),
        "seconds" | "second" | "s" => time(v * 1e9),
        "bytes" | "byte" | "B" => {
            let a = v.abs();
            if a >= 1024f64.powi(3) {
                (v / 1024f64.powi(3), "GB")
            } else if a >= 1024f64.powi(2) {
                (v / 1024f64.powi(2), "MB")
            } else if a >= 1024.0 {
                (v / 1024.0, "kB")
            } else {
                (v, "B")
            }
        }
        _ => (v, ""),
    };
    let text = format!("{number:.2}");
    let text = text.strip_suffix(".00").unwrap_or(&text);
    if text == "0" || text == "-0" {
        return "0".to_string();
    }
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::scaled;

    #[test]
    fn scales_like_pprof() {
        assert_eq!(scaled(205_170_000_000, "nanoseconds"), "205.17s");
        assert_eq!(scaled(430_000_000, "nanoseconds"), "430ms");
        assert_eq!(scaled(10_000_000, "nanoseconds"), "10ms");
        assert_eq!(scaled(0, "nanoseconds"), "0");
        assert_eq!(scaled(176, "count"), "176");
        assert_eq!(scaled(1536, "bytes"), "1.50kB");
    }
}
