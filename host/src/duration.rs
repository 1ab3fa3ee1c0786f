//! The command line's durations and counts, range-checked before conversion
//! so that no value, however long, can overflow or panic; each error names the
//! accepted range. Plain std and `jetmem_core` only: the fuzz target
//! `fuzz/fuzz_targets/duration.rs` includes this file as it is.

use std::time::Duration;

use jetmem_core::sampler::Interval;

/// The longest `record --duration`: 366 days.
pub const RUN_DURATION_MAX: Duration = Duration::from_secs(366 * 86_400);

/// `record --interval`: the sampler's own bounds ([`Interval`], 10 µs – 1 h).
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    parse_duration_in(s, Interval::MIN, Interval::MAX)
}

/// `monitor --interval`: the sampler's bounds too (10 µs – 1 h).
pub fn parse_monitor_interval(s: &str) -> Result<Duration, String> {
    parse_interval(s)
}

/// `record --duration`: 10 µs – 366 days.
pub fn parse_run_duration(s: &str) -> Result<Duration, String> {
    parse_duration_in(s, Interval::MIN, RUN_DURATION_MAX)
}

/// Parses `10ms`, `0.5s`, `2m`, `1h`, `250us` (a bare number is seconds)
/// and checks it lies in `min..=max`, before converting
/// it, so no value (however long) can overflow; the error names the range.
pub fn parse_duration_in(s: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 10ms, 0.5s, 2m)"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{s}` (use ns, us, ms, s, m, h)"
            ));
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("`{s}` must be longer than zero"));
    }
    let range = || format!("{} – {}", human(min), human(max));
    if secs > max.as_secs_f64() {
        return Err(format!(
            "`{s}` is too long: the accepted range is {}",
            range()
        ));
    }
    let d = Duration::from_secs_f64(secs);
    if d < min {
        return Err(format!(
            "`{s}` is too short: the accepted range is {}",
            range()
        ));
    }
    Ok(d)
}

/// The most readings `monitor --count` takes: its schedule counts in `u32`.
pub const COUNT_MAX: u64 = u32::MAX as u64;

/// `monitor --count`: a whole number in 1 – [`COUNT_MAX`].
pub fn parse_count(s: &str) -> Result<u64, String> {
    let range = || format!("the accepted range is 1 – {COUNT_MAX}");
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a whole number ({})", range()));
    }
    match s.parse::<u64>() {
        Ok(n) if (1..=COUNT_MAX).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is out of range: {}", range())),
    }
}

/// A bound as people write it: `10 µs`, `1 h`, `366 d`.
fn human(d: Duration) -> String {
    let (s, ns) = (d.as_secs(), d.subsec_nanos());
    match (s, ns) {
        (0, ns) if ns % 1_000_000 == 0 => format!("{} ms", ns / 1_000_000),
        (0, ns) if ns % 1_000 == 0 => format!("{} µs", ns / 1_000),
        (0, ns) => format!("{ns} ns"),
        (s, 0) if s % 86_400 == 0 => format!("{} d", s / 86_400),
        (s, 0) if s % 3_600 == 0 => format!("{} h", s / 3_600),
        (s, 0) if s % 60 == 0 => format!("{} min", s / 60),
        (s, 0) => format!("{s} s"),
        _ => format!("{:.3} s", d.as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let parse_duration = parse_run_duration;
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("ms").is_err());
    }

    /// The panics: values past u64 seconds, and long intervals.
    #[test]
    fn out_of_range_durations_are_errors_naming_the_range() {
        for s in ["99999999999999999999s", "18446744073709551615", "1e400"] {
            let e = parse_run_duration(s).unwrap_err();
            assert!(
                e.contains("10 µs – 366 d") || e.contains("unknown unit"),
                "{s}: {e}"
            );
        }
        let e = parse_interval("2h").unwrap_err();
        assert!(e.contains("too long") && e.contains("10 µs – 1 h"), "{e}");
        let e = parse_interval("5us").unwrap_err();
        assert!(e.contains("too short") && e.contains("10 µs – 1 h"), "{e}");
        assert_eq!(parse_interval("1h"), Ok(Interval::MAX));
        assert_eq!(parse_interval("10us"), Ok(Interval::MIN));
        assert!(parse_monitor_interval("99999999999999999999s").is_err());
    }

    proptest::proptest! {
        /// Any number with any unit: never a panic; Ok exactly when in range.
        #[test]
        fn any_duration_is_in_range_or_an_error(
            digits in "[0-9]{1,25}(\\.[0-9]{0,6})?",
            unit in proptest::sample::select(vec!["", "s", "ms", "us", "ns", "m", "h", "min"]),
        ) {
            let s = format!("{digits}{unit}");
            for (min, max, parse) in [
                (Interval::MIN, Interval::MAX, parse_interval as fn(&str) -> Result<Duration, String>),
                (Interval::MIN, RUN_DURATION_MAX, parse_run_duration),
            ] {
                match parse(&s) {
                    Ok(d) => proptest::prop_assert!(d >= min && d <= max, "{s}: {d:?}"),
                    Err(e) => proptest::prop_assert!(!e.is_empty()),
                }
            }
        }
    }
}
