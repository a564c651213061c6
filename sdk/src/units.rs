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
