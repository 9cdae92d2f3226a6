//! Values that flags of several commands take, and their parsers: shared
//! below the command modules, so no command imports another.

use std::time::Duration;

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientDialect {
    Original,
    Framed,
}

/// `AT,LEN`: two durations (`50ms,1.45s`).
pub fn parse_pause(text: &str) -> Result<(Duration, Duration), String> {
    let (at, len) = text
        .split_once(',')
        .ok_or_else(|| format!("'{text}' is not AT,LEN like 50ms,1.45s"))?;
    Ok((duration(at)?, duration(len)?))
}

/// A size in bytes: `1048576`, `64K`, `512M`, `1G` (also `KiB`, `MiB`,
/// `GiB`, any case); the multiples are powers of 1024.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => return Err(format!("unknown unit in '{text}': use K, M or G")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 512M)"))?;
    match n.checked_mul(1 << shift) {
        Some(0) => Err("the size must be at least 1 byte".into()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("'{text}' is too large")),
    }
}

/// `10ms`, `0.5s`, `250us`; a bare number is milliseconds. At most 60 s.
pub fn duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("'{text}' is not a duration like 10ms, 0.5s or 250us (up to 60s)");
    let t = text.trim();
    let (number, unit_ns) = if let Some(n) = t.strip_suffix("us") {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e9)
    } else {
        (t, 1e6)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let ns = value * unit_ns;
    if !ns.is_finite() || !(0.0..=60e9).contains(&ns) {
        return Err(bad());
    }
    Ok(Duration::from_nanos(ns.round() as u64))
}

/// `1M`, `512k`, `2.5M`, `1G` or plain bits per second; 1 kbit/s to 100 Gbit/s.
pub fn bandwidth(text: &str) -> Result<u64, String> {
    let bad = || {
        format!("'{text}' is not a bandwidth like 512k, 10M or 1G (bits per second, 1k to 100G)")
    };
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        Some((i, 'g' | 'G')) => (&t[..i], 1e9),
        _ => (t, 1.0),
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let bps = value * scale;
    if !bps.is_finite() || !(1e3..=1e11).contains(&bps) {
        return Err(bad());
    }
    Ok(bps.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_or_mean_milliseconds() {
        assert_eq!(duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(duration("3"), Ok(Duration::from_millis(3)));
        for bad in ["", "ten", "-1ms", "61s", "NaNs", "inf"] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn bandwidths_take_a_suffix() {
        assert_eq!(bandwidth("1M"), Ok(1_000_000));
        assert_eq!(bandwidth("512k"), Ok(512_000));
        assert_eq!(bandwidth("2.5M"), Ok(2_500_000));
        assert_eq!(bandwidth("1G"), Ok(1_000_000_000));
        assert_eq!(bandwidth("64000"), Ok(64_000));
        for bad in ["", "fast", "0", "999", "1T", "-5M"] {
            assert!(bandwidth(bad).is_err(), "{bad:?}");
        }
    }
}
