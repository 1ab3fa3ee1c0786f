//! cgroup memory files: one number, or `max`.
//!
//! ```text
//! 1392578560                 (v2 memory.current, memory.peak; v1 memory.usage_in_bytes, …)
//! max                        (v2 memory.max when unlimited)
//! 9223372036854771712        (v1 memory.limit_in_bytes when unlimited)
//! ```
//!
//! JetPack 5 runs cgroup v1, JetPack 6 cgroup v2.

use super::{ParseError, whole_u64};

/// v1 writes "unlimited" as `PAGE_COUNTER_MAX × page size`, a value near 2^63;
/// anything at or above 2^62 bytes is treated as no limit.
pub const V1_UNLIMITED_FLOOR: u64 = 1 << 62;

/// A cgroup memory value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupValue {
    /// A number of bytes.
    Bytes(u64),
    /// No limit (`max`, or v1's huge sentinel).
    Max,
}

impl CgroupValue {
    /// The byte count, or `None` for [`CgroupValue::Max`].
    pub const fn bytes(self) -> Option<u64> {
        match self {
            CgroupValue::Bytes(b) => Some(b),
            CgroupValue::Max => None,
        }
    }
}

/// Parses a v1 or v2 cgroup memory file.
pub fn parse_cgroup_value(text: &[u8]) -> Result<CgroupValue, ParseError> {
    let t = text.trim_ascii();
    if t.is_empty() {
        return Err(ParseError::Empty);
    }
    if t == b"max" {
        return Ok(CgroupValue::Max);
    }
    match whole_u64(t) {
        Some(v) if v >= V1_UNLIMITED_FLOOR => Ok(CgroupValue::Max),
        Some(v) => Ok(CgroupValue::Bytes(v)),
        None => Err(ParseError::BadNumber("cgroup value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_max_and_v1_sentinel() {
        assert_eq!(
            parse_cgroup_value(b"1392578560\n"),
            Ok(CgroupValue::Bytes(1_392_578_560))
        );
        assert_eq!(parse_cgroup_value(b"max\n"), Ok(CgroupValue::Max));
        assert_eq!(
            parse_cgroup_value(b"9223372036854771712\n"),
            Ok(CgroupValue::Max)
        );
        assert_eq!(parse_cgroup_value(b"0"), Ok(CgroupValue::Bytes(0)));
        assert_eq!(parse_cgroup_value(b"\n"), Err(ParseError::Empty));
        assert_eq!(
            parse_cgroup_value(b"-1"),
            Err(ParseError::BadNumber("cgroup value"))
        );
        assert_eq!(CgroupValue::Max.bytes(), None);
    }
}
