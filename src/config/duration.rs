//! Durations as Prometheus and Alertmanager write them: `90s`, `10m`, `2h`, `1h30m`, `500ms`,
//! `1d`, `1w`.

use std::time::Duration;

/// Parses a duration: one or more `<integer><unit>` parts, largest unit first, units `ms`, `s`,
/// `m`, `h`, `d`, `w`, `y` (365 days). `0` alone is zero.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let bad = || format!("{text:?} is not a duration; write it like 90s, 10m, 2h or 1h30m");
    if text.is_empty() {
        return Err(bad());
    }
    let mut rest = text;
    let mut total: u64 = 0;
    let mut last_rank = None;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let rank = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
        if last_rank.is_some_and(|last| rank <= last) {
            return Err(bad());
        }
        last_rank = Some(rank);
        total = number
            .checked_mul(UNITS[rank].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(bad)?;
    }
    Ok(Duration::from_millis(total))
}

/// Writes a duration the way [`parse`] reads it.
pub fn format(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prometheus_durations() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        for bad in [
            "",
            "10",
            "m",
            "1x",
            "30m1h",
            "1h1h",
            "-5m",
            "1.5h",
            "99999999999999999999y",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn writes_what_it_reads() {
        for d in ["2h", "10m", "1h30m", "90s", "1d2h", "500ms"] {
            let parsed = parse(d).unwrap();
            assert_eq!(parse(&format(parsed)), Ok(parsed));
        }
        assert_eq!(format(Duration::from_secs(5_400)), "1h30m");
    }
}
