//! `/proc/pressure/memory` (PSI; kernels ≥ 4.20 with `CONFIG_PSI`).
//!
//! ```text
//! some avg10=0.31 avg60=0.12 avg300=0.03 total=1234567
//! full avg10=0.00 avg60=0.00 avg300=0.00 total=456
//! ```
//!
//! `avg*` are percentages with two decimals; `total` is microseconds stalled.

use super::{ParseError, leading_u64, tokens, whole_u64};

/// Memory pressure stall information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Psi {
    /// `some avg10` in hundredths of a percent.
    pub some_avg10_centi: u32,
    /// `some total`, microseconds.
    pub some_total_us: u64,
    /// `full avg10` in hundredths of a percent, when the file has a `full` line.
    pub full_avg10_centi: Option<u32>,
    /// `full total`, microseconds, when the file has a `full` line.
    pub full_total_us: Option<u64>,
}

/// `"12.34"` → 1234; `"5"` → 500; `"5.1"` → 510; more decimals are cut.
fn centi(bytes: &[u8]) -> Option<u32> {
    let (whole, used) = leading_u64(bytes)?;
    let rest = bytes.get(used..)?;
    let frac = match rest.strip_prefix(b".") {
        None if rest.is_empty() => 0,
        None => return None,
        Some(f) => {
            let (v, n) = leading_u64(f)?;
            if n != f.len() {
                return None;
            }
            let digits = f.get(..n.min(2))?;
            let (two, k) = leading_u64(digits)?;
            let _ = v;
            if k == 1 { two * 10 } else { two }
        }
    };
    u32::try_from(whole.checked_mul(100)?.checked_add(frac)?).ok()
}

/// One PSI line after its `some`/`full` word: (avg10 centi, total µs).
fn line(rest: &[u8]) -> Option<(u32, u64)> {
    let (mut avg10, mut total) = (None, None);
    for t in tokens(rest) {
        if let Some(v) = t.strip_prefix(b"avg10=") {
            avg10 = centi(v);
        } else if let Some(v) = t.strip_prefix(b"total=") {
            total = whole_u64(v);
        }
    }
    Some((avg10?, total?))
}

/// Parses `/proc/pressure/memory`. The `some` line is required.
pub fn parse_psi(text: &[u8]) -> Result<Psi, ParseError> {
    if text.trim_ascii().is_empty() {
        return Err(ParseError::Empty);
    }
    let mut some = None;
    let mut full = None;
    for l in text.split(|&b| b == b'\n') {
        if let Some(rest) = l.strip_prefix(b"some ") {
            some = Some(line(rest).ok_or(ParseError::BadNumber("some"))?);
        } else if let Some(rest) = l.strip_prefix(b"full ") {
            full = Some(line(rest).ok_or(ParseError::BadNumber("full"))?);
        }
    }
    let (some_avg10_centi, some_total_us) = some.ok_or(ParseError::MissingField("some"))?;
    Ok(Psi {
        some_avg10_centi,
        some_total_us,
        full_avg10_centi: full.map(|f| f.0),
        full_total_us: full.map(|f| f.1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn some_and_full() {
        let p = parse_psi(
            b"some avg10=0.31 avg60=0.12 avg300=0.03 total=1234567\nfull avg10=12.50 avg60=0.00 avg300=0.00 total=456\n",
        )
        .unwrap();
        assert_eq!(p.some_avg10_centi, 31);
        assert_eq!(p.some_total_us, 1_234_567);
        assert_eq!(p.full_avg10_centi, Some(1250));
        assert_eq!(p.full_total_us, Some(456));
    }

    #[test]
    fn some_only_and_errors() {
        let p = parse_psi(b"some avg10=100.00 avg60=0.00 avg300=0.00 total=0\n").unwrap();
        assert_eq!(p.some_avg10_centi, 10_000);
        assert_eq!(p.full_avg10_centi, None);
        assert_eq!(parse_psi(b""), Err(ParseError::Empty));
        assert_eq!(
            parse_psi(b"full avg10=0.00 total=1\n"),
            Err(ParseError::MissingField("some"))
        );
        assert_eq!(
            parse_psi(b"some avg10=x total=1\n"),
            Err(ParseError::BadNumber("some"))
        );
        assert_eq!(centi(b"5"), Some(500));
        assert_eq!(centi(b"5.1"), Some(510));
        assert_eq!(centi(b"5.123"), Some(512));
        assert_eq!(centi(b"5."), None);
    }
}
