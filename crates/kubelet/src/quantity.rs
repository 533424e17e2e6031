//! Kubernetes resource quantities (`512Mi`, `1G`, `250m`) turned into Docker limits.

/// Bytes in a memory quantity, or `None` when it cannot be parsed.
pub(crate) fn parse_bytes(text: &str) -> Option<i64> {
    let text = text.trim();
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
        ("m", 1e-3),
    ];
    for (suffix, factor) in suffixes {
        if let Some(number) = text.strip_suffix(suffix) {
            let value: f64 = number.parse().ok()?;
            return Some((value * factor).ceil() as i64);
        }
    }
    let value: f64 = text.parse().ok()?;
    Some(value.ceil() as i64)
}

/// Nano-CPUs in a CPU quantity (`500m` = 0.5 CPU = 500 000 000).
pub(crate) fn parse_nano_cpus(text: &str) -> Option<i64> {
    let text = text.trim();
    let cores: f64 = match text.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok()? / 1000.0,
        None => text.parse().ok()?,
    };
    Some((cores * 1e9).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities() {
        assert_eq!(parse_bytes("512Mi"), Some(512 * 1024 * 1024));
        assert_eq!(parse_bytes("1G"), Some(1_000_000_000));
        assert_eq!(parse_bytes("129e6"), Some(129_000_000));
        assert_eq!(parse_bytes("1000"), Some(1000));
        assert_eq!(parse_bytes("lots"), None);
    }

    #[test]
    fn cpu_quantities() {
        assert_eq!(parse_nano_cpus("250m"), Some(250_000_000));
        assert_eq!(parse_nano_cpus("2"), Some(2_000_000_000));
        assert_eq!(parse_nano_cpus("0.5"), Some(500_000_000));
        assert_eq!(parse_nano_cpus("x"), None);
    }
}
