//! zram `/sys/block/zramN/mm_stat` (Documentation/admin-guide/blockdev/zram.rst).
//!
//! ```text
//!  63737856 17102733 18337792        0 18337792     1453        0        2        0
//! ```
//!
//! orig_data_size compr_data_size mem_used_total mem_limit mem_used_max
//! same_pages pages_compacted huge_pages (and huge_pages_since on 6.x), sizes in bytes.
//! Older kernels print fewer columns. zram lives in the same DRAM it swaps from.

use super::{ParseError, tokens, whole_u64};

/// The zram device's memory use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZramMmStat {
    /// Uncompressed bytes stored.
    pub orig_data_size: u64,
    /// Compressed bytes stored.
    pub compr_data_size: u64,
    /// DRAM used by the device, including allocator overhead (bytes).
    pub mem_used_total: u64,
    /// The device's memory limit in bytes (0 = none).
    pub mem_limit: Option<u64>,
    /// Peak of `mem_used_total` (bytes).
    pub mem_used_max: Option<u64>,
    /// Pages that were all one value and take no memory.
    pub same_pages: Option<u64>,
    /// Pages freed by compaction.
    pub pages_compacted: Option<u64>,
    /// Incompressible pages.
    pub huge_pages: Option<u64>,
}

/// Parses `mm_stat`; the first three columns are required.
pub fn parse_zram_mm_stat(text: &[u8]) -> Result<ZramMmStat, ParseError> {
    if text.trim_ascii().is_empty() {
        return Err(ParseError::Empty);
    }
    let mut cols = [None::<u64>; 8];
    for (slot, t) in cols.iter_mut().zip(tokens(text)) {
        *slot = Some(whole_u64(t).ok_or(ParseError::BadNumber("mm_stat"))?);
    }
    let [
        orig,
        compr,
        used,
        mem_limit,
        mem_used_max,
        same_pages,
        pages_compacted,
        huge_pages,
    ] = cols;
    Ok(ZramMmStat {
        orig_data_size: orig.ok_or(ParseError::MissingField("orig_data_size"))?,
        compr_data_size: compr.ok_or(ParseError::MissingField("compr_data_size"))?,
        mem_used_total: used.ok_or(ParseError::MissingField("mem_used_total"))?,
        mem_limit,
        mem_used_max,
        same_pages,
        pages_compacted,
        huge_pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_short_lines() {
        let z = parse_zram_mm_stat(
            b" 63737856 17102733 18337792        0 18337792     1453        0        2        0\n",
        )
        .unwrap();
        assert_eq!(z.orig_data_size, 63_737_856);
        assert_eq!(z.compr_data_size, 17_102_733);
        assert_eq!(z.mem_used_total, 18_337_792);
        assert_eq!(z.mem_limit, Some(0));
        assert_eq!(z.huge_pages, Some(2));
        let z = parse_zram_mm_stat(b"4096 100 8192 0 8192 0 0\n").unwrap();
        assert_eq!(z.huge_pages, None);
        assert_eq!(z.pages_compacted, Some(0));
        assert_eq!(
            parse_zram_mm_stat(b"1 2"),
            Err(ParseError::MissingField("mem_used_total"))
        );
        assert_eq!(
            parse_zram_mm_stat(b"1 x 3"),
            Err(ParseError::BadNumber("mm_stat"))
        );
    }
}
