//! Parsers for the kernel files jetmem samples: `/proc`, `/sys`, debugfs and
//! `/etc/nv_tegra_release`.
//!
//! Every parser works over bytes the caller has already read, never does I/O,
//! never allocates and never panics. Sizes come out in bytes (`kB` in procfs
//! means KiB). A value that is missing or unreadable is `None`, never 0.
//!
//! One module per kernel file, each opening with a sample of it. Nothing here
//! imports from outside `parse`, `record` and `text`.

pub mod boot_id;
pub mod cgroup;
pub mod children;
pub mod comm;
pub mod devicetree;
pub mod gpu_load;
pub mod kernel;
pub mod meminfo;
pub mod nv_tegra_release;
pub mod nvmap;
pub mod pressure;
pub mod proc_cgroup;
pub mod stat;
pub mod statm;
pub mod status;
pub mod tegrastats;
pub mod zram;

use core::fmt;

/// Why a kernel file could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The input was empty (or only whitespace).
    Empty,
    /// A field the format requires was not found; the field's name.
    MissingField(&'static str),
    /// A number was malformed, or did not fit its type; the field's name.
    BadNumber(&'static str),
    /// A size carried a unit this parser does not know; the field's name.
    BadUnit(&'static str),
    /// The text does not have the file's shape; what was expected.
    Malformed(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty input"),
            ParseError::MissingField(n) => write!(f, "missing field `{n}`"),
            ParseError::BadNumber(n) => write!(f, "bad number in `{n}`"),
            ParseError::BadUnit(n) => write!(f, "unknown unit in `{n}`"),
            ParseError::Malformed(what) => write!(f, "malformed input: expected {what}"),
        }
    }
}

impl core::error::Error for ParseError {}

/// Parses the leading ASCII digits of `bytes`.
///
/// Returns the value and the number of bytes consumed, or `None` when there is
/// no digit or the value overflows `u64`.
#[inline]
pub(crate) fn leading_u64(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    let mut used = 0;
    // 19 decimal digits always fit in a u64: no overflow checks on the hot part.
    for &b in bytes.iter().take(19) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        value = value.wrapping_mul(10).wrapping_add(u64::from(d));
        used += 1;
    }
    if used == 19 {
        for &b in bytes.get(19..).unwrap_or_default() {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            value = value.checked_mul(10)?.checked_add(u64::from(d))?;
            used += 1;
        }
    }
    if used == 0 { None } else { Some((value, used)) }
}

/// Parses `bytes` as one unsigned decimal number with optional surrounding
/// ASCII whitespace.
#[inline]
pub(crate) fn whole_u64(bytes: &[u8]) -> Option<u64> {
    let t = bytes.trim_ascii();
    match leading_u64(t) {
        Some((v, n)) if n == t.len() => Some(v),
        _ => None,
    }
}

/// Number of leading spaces and tabs.
#[inline]
pub(crate) fn blank_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

/// Whitespace-separated tokens of `bytes`.
#[inline]
pub(crate) fn tokens(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_u64_stops_at_non_digit_and_rejects_overflow() {
        assert_eq!(leading_u64(b"4059240 kB"), Some((4_059_240, 7)));
        assert_eq!(leading_u64(b" 1"), None);
        assert_eq!(leading_u64(b"18446744073709551615"), Some((u64::MAX, 20)));
        assert_eq!(leading_u64(b"18446744073709551616"), None);
    }

    #[test]
    fn whole_u64_needs_only_digits() {
        assert_eq!(whole_u64(b" 42\n"), Some(42));
        assert_eq!(whole_u64(b"42x"), None);
        assert_eq!(whole_u64(b""), None);
    }

    #[test]
    fn error_displays_field() {
        let s = std::format!("{}", ParseError::MissingField("MemTotal"));
        assert_eq!(s, "missing field `MemTotal`");
    }
}
