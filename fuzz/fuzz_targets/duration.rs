//! Fuzzes the command line's duration and count parsers (host/src/duration.rs,
//! included as it is): any text gives a value inside its range or an error
//! naming the range, never a panic (issue 14: `-i 99999999999999999999s` panicked).
#![no_main]

#[path = "../../host/src/duration.rs"]
#[allow(dead_code)]
mod duration;

use jetmem_core::sampler::Interval;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for (min, max, parse) in [
        (
            Interval::MIN,
            Interval::MAX,
            duration::parse_interval as fn(&str) -> Result<std::time::Duration, String>,
        ),
        (Interval::MIN, duration::RUN_DURATION_MAX, duration::parse_run_duration),
    ] {
        match parse(s) {
            Ok(d) => assert!(d >= min && d <= max, "{s:?}: {d:?}"),
            Err(e) => assert!(!e.is_empty()),
        }
    }
    if let Ok(n) = duration::parse_count(s) {
        assert!((1..=duration::COUNT_MAX).contains(&n));
    }
});
