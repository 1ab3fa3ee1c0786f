//! `/proc/meminfo`.
//!
//! ```text
//! MemTotal:        4059240 kB
//! MemFree:          313692 kB
//! MemAvailable:     592696 kB
//! Buffers:           57932 kB
//! …
//! NvMapMemFree:       1024 kB      (JetPack 4 / kernel 4.9 only)
//! NvMapMemUsed:     244748 kB      (JetPack 4 / kernel 4.9 only)
//! CmaTotal:         475136 kB
//! CmaFree:          127580 kB
//! HugePages_Total:       0         (a count: no unit)
//! HugePages_Free:        0
//! Hugepagesize:       2048 kB
//! ```
//!
//! `kB` means KiB. The kernel prints each line as a 16-column label and an
//! 8-column value (`show_val_kb`), and the set of lines is fixed at build time,
//! so the line layout does not change between reads unless a value outgrows
//! its column. [`MeminfoParser`] uses that: it remembers where each wanted
//! line started, checks the key is still there, and reads only those lines.

use super::{ParseError, blank_len, leading_u64};
use crate::record::{Counter, Counters};

/// The `/proc/meminfo` fields jetmem uses, in bytes (hugepage counts excepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meminfo {
    /// `MemTotal`.
    pub mem_total: Option<u64>,
    /// `MemFree`.
    pub mem_free: Option<u64>,
    /// `MemAvailable`.
    pub mem_available: Option<u64>,
    /// `Buffers`.
    pub buffers: Option<u64>,
    /// `Cached`.
    pub cached: Option<u64>,
    /// `SReclaimable`.
    pub sreclaimable: Option<u64>,
    /// `Shmem`.
    pub shmem: Option<u64>,
    /// `SwapTotal`.
    pub swap_total: Option<u64>,
    /// `SwapFree`.
    pub swap_free: Option<u64>,
    /// `SwapCached`.
    pub swap_cached: Option<u64>,
    /// `Mlocked`.
    pub mlocked: Option<u64>,
    /// `CmaTotal`.
    pub cma_total: Option<u64>,
    /// `CmaFree`.
    pub cma_free: Option<u64>,
    /// `HugePages_Total`: a number of huge pages, not bytes.
    pub hugepages_total: Option<u64>,
    /// `HugePages_Free`: a number of huge pages, not bytes.
    pub hugepages_free: Option<u64>,
    /// `Hugepagesize` in bytes.
    pub hugepagesize: Option<u64>,
    /// `NvMapMemUsed` (JetPack 4 kernels only): IOVMM nvmap allocations, system-wide.
    pub nvmap_mem_used: Option<u64>,
    /// `NvMapMemFree` (JetPack 4 kernels only): the nvmap page pool.
    pub nvmap_mem_free: Option<u64>,
}

/// Number of fields in [`Meminfo`].
const FIELDS: usize = 18;

/// The keys with their colon, in the order of [`Meminfo::slot`].
const KEYS: [&[u8]; FIELDS] = [
    b"MemTotal:",
    b"MemFree:",
    b"MemAvailable:",
    b"Buffers:",
    b"Cached:",
    b"SReclaimable:",
    b"Shmem:",
    b"SwapTotal:",
    b"SwapFree:",
    b"SwapCached:",
    b"Mlocked:",
    b"CmaTotal:",
    b"CmaFree:",
    b"HugePages_Total:",
    b"HugePages_Free:",
    b"Hugepagesize:",
    b"NvMapMemUsed:",
    b"NvMapMemFree:",
];

/// The field index of `key`, if it is one jetmem reads.
#[inline]
fn field_of(key: &[u8]) -> Option<usize> {
    Some(match key {
        b"MemTotal" => 0,
        b"MemFree" => 1,
        b"MemAvailable" => 2,
        b"Buffers" => 3,
        b"Cached" => 4,
        b"SReclaimable" => 5,
        b"Shmem" => 6,
        b"SwapTotal" => 7,
        b"SwapFree" => 8,
        b"SwapCached" => 9,
        b"Mlocked" => 10,
        b"CmaTotal" => 11,
        b"CmaFree" => 12,
        b"HugePages_Total" => 13,
        b"HugePages_Free" => 14,
        b"Hugepagesize" => 15,
        b"NvMapMemUsed" => 16,
        b"NvMapMemFree" => 17,
        _ => return None,
    })
}

impl Meminfo {
    #[inline]
    fn slot(&mut self, i: usize) -> Option<&mut Option<u64>> {
        Some(match i {
            0 => &mut self.mem_total,
            1 => &mut self.mem_free,
            2 => &mut self.mem_available,
            3 => &mut self.buffers,
            4 => &mut self.cached,
            5 => &mut self.sreclaimable,
            6 => &mut self.shmem,
            7 => &mut self.swap_total,
            8 => &mut self.swap_free,
            9 => &mut self.swap_cached,
            10 => &mut self.mlocked,
            11 => &mut self.cma_total,
            12 => &mut self.cma_free,
            13 => &mut self.hugepages_total,
            14 => &mut self.hugepages_free,
            15 => &mut self.hugepagesize,
            16 => &mut self.nvmap_mem_used,
            17 => &mut self.nvmap_mem_free,
            _ => return None,
        })
    }

    /// `HugePages_Total` × `Hugepagesize`, in bytes.
    pub fn hugepages_total_bytes(&self) -> Option<u64> {
        self.hugepages_total?.checked_mul(self.hugepagesize?)
    }

    /// `HugePages_Free` × `Hugepagesize`, in bytes.
    pub fn hugepages_free_bytes(&self) -> Option<u64> {
        self.hugepages_free?.checked_mul(self.hugepagesize?)
    }

    /// Sets the matching [`Counter`]s; a field that is `None` clears its counter.
    pub fn apply(&self, c: &mut Counters) {
        c.set(Counter::MemTotal, self.mem_total);
        c.set(Counter::MemFree, self.mem_free);
        c.set(Counter::MemAvailable, self.mem_available);
        c.set(Counter::Buffers, self.buffers);
        c.set(Counter::Cached, self.cached);
        c.set(Counter::SReclaimable, self.sreclaimable);
        c.set(Counter::Shmem, self.shmem);
        c.set(Counter::SwapTotal, self.swap_total);
        c.set(Counter::SwapFree, self.swap_free);
        c.set(Counter::SwapCached, self.swap_cached);
        c.set(Counter::Mlocked, self.mlocked);
        c.set(Counter::CmaTotal, self.cma_total);
        c.set(Counter::CmaFree, self.cma_free);
        c.set(Counter::HugePagesTotal, self.hugepages_total_bytes());
        c.set(Counter::HugePagesFree, self.hugepages_free_bytes());
        c.set(Counter::NvMapMemUsed, self.nvmap_mem_used);
        c.set(Counter::NvMapMemFree, self.nvmap_mem_free);
    }
}

/// Reads the value part of a meminfo (or `status`) size line: blanks, digits,
/// blanks, `kB`, optional blanks, then the end of the line (`\n` or the end of
/// input), in bytes. A size without its `kB` unit is malformed (`None`): read
/// as bytes it would be 1024 times too small.
#[inline]
pub(crate) fn value(rest: &[u8]) -> Option<u64> {
    value_with_unit(rest, true)
}

/// The value of a unit-less line (the hugepage counts); a `kB` there is malformed.
#[inline]
fn count_value(rest: &[u8]) -> Option<u64> {
    value_with_unit(rest, false)
}

#[inline]
fn value_with_unit(rest: &[u8], kib: bool) -> Option<u64> {
    let rest = rest.get(blank_len(rest)..)?;
    let (n, used) = leading_u64(rest)?;
    let rest = rest.get(used..)?;
    let rest = rest.get(blank_len(rest)..)?;
    let (n, rest) = match (rest.strip_prefix(b"kB"), kib) {
        (Some(r), true) => (n.checked_mul(1024)?, r),
        (None, false) => (n, rest),
        _ => return None,
    };
    let rest = rest.get(blank_len(rest)..)?;
    match rest.first() {
        None | Some(b'\n') => Some(n),
        Some(b'\r') if matches!(rest.get(1), None | Some(b'\n')) => Some(n),
        _ => None,
    }
}

/// The value of field `i`: the hugepage counts have no unit, every other field is `kB`.
#[inline]
fn field_value(i: usize, rest: &[u8]) -> Option<u64> {
    match i {
        13 | 14 => count_value(rest),
        _ => value(rest),
    }
}

/// Where each wanted line starts (`u32::MAX` when the line is absent).
type Layout = [u32; FIELDS];
const ABSENT: u32 = u32::MAX;

/// The keyed parse; fills `layout` with each used line's start offset.
fn parse_keyed(text: &[u8], layout: &mut Layout) -> Result<Meminfo, ParseError> {
    *layout = [ABSENT; FIELDS];
    if text.trim_ascii().is_empty() {
        return Err(ParseError::Empty);
    }
    let mut m = Meminfo::default();
    let mut start = 0usize;
    for line in text.split(|&b| b == b'\n') {
        let line_start = start;
        start = start.saturating_add(line.len()).saturating_add(1);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let Some(i) = line.get(..colon).and_then(field_of) else {
            continue;
        };
        let (Some(off), Some(seen)) = (u32::try_from(line_start).ok(), layout.get_mut(i)) else {
            continue;
        };
        if *seen != ABSENT {
            continue; // first occurrence wins
        }
        *seen = off;
        if let Some(slot) = m.slot(i) {
            *slot = line.get(colon + 1..).and_then(|rest| field_value(i, rest));
        }
    }
    if m.mem_total.is_none() {
        return Err(ParseError::MissingField("MemTotal"));
    }
    Ok(m)
}

/// Parses `/proc/meminfo` by key. A field the file lacks is `None`; an input
/// without a readable `MemTotal` is an error.
pub fn parse_meminfo(text: &[u8]) -> Result<Meminfo, ParseError> {
    parse_keyed(text, &mut [ABSENT; FIELDS])
}

/// A `/proc/meminfo` parser that remembers the previous read's line layout.
///
/// Each [`parse`](Self::parse) first checks that the input has the same length
/// as last time and that every wanted key still starts its line at the
/// remembered offset; then it reads only those lines. Anything else (first
/// call, a value that grew a digit, a different kernel) falls back to the keyed
/// parse, which learns the new layout. The result is what [`parse_meminfo`]
/// returns for the same bytes whenever the set of lines is the kernel's fixed
/// one. Not detected: an input of the same length in which a line the parser
/// skipped was replaced, in place, by a wanted key that was absent before (no
/// kernel prints that; the property tests change values and widths).
#[derive(Debug, Clone)]
pub struct MeminfoParser {
    layout: Layout,
    len: usize,
    learned: bool,
    fast_hits: u64,
}

impl Default for MeminfoParser {
    fn default() -> Self {
        Self::new()
    }
}

impl MeminfoParser {
    /// A parser with no layout learned yet.
    pub const fn new() -> Self {
        MeminfoParser {
            layout: [ABSENT; FIELDS],
            len: 0,
            learned: false,
            fast_hits: 0,
        }
    }

    /// How many parses took the cached-layout path.
    pub const fn fast_hits(&self) -> u64 {
        self.fast_hits
    }

    /// Parses `text`, using the remembered layout when it still holds.
    pub fn parse(&mut self, text: &[u8]) -> Result<Meminfo, ParseError> {
        if self.learned && text.len() == self.len {
            if let Some(m) = self.parse_cached(text) {
                self.fast_hits = self.fast_hits.wrapping_add(1);
                return Ok(m);
            }
        }
        self.learned = false;
        let m = parse_keyed(text, &mut self.layout)?;
        self.len = text.len();
        self.learned = true;
        Ok(m)
    }

    /// The fast path: `None` when any remembered line moved or did not read.
    #[inline]
    fn parse_cached(&self, text: &[u8]) -> Option<Meminfo> {
        let mut m = Meminfo::default();
        for (i, (&off, key)) in self.layout.iter().zip(KEYS.iter()).enumerate() {
            if off == ABSENT {
                continue;
            }
            let off = off as usize;
            if off != 0 && text.get(off - 1) != Some(&b'\n') {
                return None;
            }
            let rest = text.get(off..)?.strip_prefix(*key)?;
            *m.slot(i)? = Some(field_value(i, rest)?);
        }
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NANO: &[u8] =
        include_bytes!("../../../tests/fixtures/nano-4gb-jp4.6-meminfo/proc/meminfo");
    const ORIN_RECONSTRUCTED: &[u8] =
        include_bytes!("../../../tests/fixtures/orin-jp5-jp6-meminfo-RECONSTRUCTED/proc/meminfo");

    const KIB: u64 = 1024;

    #[test]
    fn nano_fields_are_the_file_values_in_bytes() {
        let m = parse_meminfo(NANO).unwrap();
        assert_eq!(m.mem_total, Some(4_059_240 * KIB));
        assert_eq!(m.mem_free, Some(313_692 * KIB));
        assert_eq!(m.mem_available, Some(592_696 * KIB));
        assert_eq!(m.buffers, Some(57_932 * KIB));
        assert_eq!(m.cached, Some(362_944 * KIB));
        assert_eq!(m.sreclaimable, Some(87_524 * KIB));
        assert_eq!(m.shmem, Some(39_544 * KIB));
        assert_eq!(m.swap_total, Some(2_029_616 * KIB));
        assert_eq!(m.swap_free, Some(1_848_840 * KIB));
        assert_eq!(m.swap_cached, Some(6_036 * KIB));
        assert_eq!(m.mlocked, Some(32 * KIB));
        assert_eq!(m.cma_total, Some(475_136 * KIB));
        assert_eq!(m.cma_free, Some(127_580 * KIB));
        assert_eq!(m.hugepages_total, Some(0));
        assert_eq!(m.hugepages_free, Some(0));
        assert_eq!(m.hugepagesize, Some(2048 * KIB));
        assert_eq!(m.nvmap_mem_used, Some(244_748 * KIB));
        assert_eq!(m.nvmap_mem_free, Some(1_024 * KIB));
    }

    /// The figures docs/accounting.md gives for this fixture, to the KiB.
    #[test]
    fn nano_reproduces_the_oracle_table() {
        let m = parse_meminfo(NANO).unwrap();
        let t = m.mem_total.unwrap();
        let tfbc = t - m.mem_free.unwrap() - m.buffers.unwrap() - m.cached.unwrap();
        assert_eq!(tfbc / KIB, 3_324_672, "jtop used = T−F−B−C");
        assert_eq!(
            (t - m.mem_available.unwrap()) / KIB,
            3_466_544,
            "T − MemAvailable"
        );
        assert_eq!(
            (tfbc - m.sreclaimable.unwrap()) / KIB,
            3_237_148,
            "procps free used"
        );
        assert_eq!(m.nvmap_mem_used.unwrap() / KIB, 244_748);
        // "(6.0%)" of MemTotal, in per mille rounded.
        assert_eq!((m.nvmap_mem_used.unwrap() * 1000 + t / 2) / t, 60);
    }

    #[test]
    fn reconstructed_jp5_jp6_has_no_nvmap_lines() {
        let m = parse_meminfo(ORIN_RECONSTRUCTED).unwrap();
        assert_eq!(m.nvmap_mem_used, None);
        assert_eq!(m.nvmap_mem_free, None);
        assert_eq!(m.mem_total, Some(7_802_880 * KIB));
        assert_eq!(m.cma_free, Some(253_952 * KIB));
        assert_eq!(m.hugepagesize, Some(2048 * KIB));
    }

    #[test]
    fn apply_sets_counters_and_leaves_absent_unknown() {
        let mut c = Counters::new();
        c.set(Counter::NvMapMemUsed, Some(1));
        parse_meminfo(ORIN_RECONSTRUCTED).unwrap().apply(&mut c);
        assert_eq!(c.get(Counter::MemAvailable), Some(5_023_744 * KIB));
        assert_eq!(c.get(Counter::HugePagesTotal), Some(0));
        assert_eq!(c.get(Counter::NvMapMemUsed), None, "stale value cleared");
        parse_meminfo(NANO).unwrap().apply(&mut c);
        assert_eq!(c.get(Counter::NvMapMemUsed), Some(244_748 * KIB));
    }

    #[test]
    fn cached_layout_matches_keyed_and_is_used() {
        let mut p = MeminfoParser::new();
        assert_eq!(p.parse(NANO), parse_meminfo(NANO));
        assert_eq!(p.fast_hits(), 0);
        assert_eq!(p.parse(NANO), parse_meminfo(NANO));
        assert_eq!(p.fast_hits(), 1);
    }

    #[test]
    fn cached_layout_falls_back_when_the_layout_moves() {
        let mut p = MeminfoParser::new();
        p.parse(NANO).unwrap();
        // Same length, a value changed in place: fast path, new value.
        let same_width = std::string::String::from_utf8(NANO.to_vec())
            .unwrap()
            .replace("MemFree:          313692 kB", "MemFree:          313700 kB");
        let m = p.parse(same_width.as_bytes()).unwrap();
        assert_eq!(m.mem_free, Some(313_700 * KIB));
        assert_eq!(p.fast_hits(), 1);
        // A value one digit wider shifts every later line: keyed fallback.
        let wider = same_width.replace(
            "MemFree:          313700 kB",
            "MemFree:         1313700 kB ",
        );
        let m = p.parse(wider.as_bytes()).unwrap();
        assert_eq!(m, parse_meminfo(wider.as_bytes()).unwrap());
        assert_eq!(m.mem_free, Some(1_313_700 * KIB));
        assert_eq!(p.fast_hits(), 1);
        // A different kernel's file of another length: keyed, then cached again.
        assert_eq!(
            p.parse(ORIN_RECONSTRUCTED),
            parse_meminfo(ORIN_RECONSTRUCTED)
        );
        assert_eq!(
            p.parse(ORIN_RECONSTRUCTED),
            parse_meminfo(ORIN_RECONSTRUCTED)
        );
        assert_eq!(p.fast_hits(), 2);
    }

    #[test]
    fn same_length_with_a_key_moved_is_not_trusted() {
        let mut p = MeminfoParser::new();
        let a = b"MemTotal: 10 kB\nMemFree: 2 kB\nCached: 3 kB\n";
        let b = b"MemTotal: 10 kB\nCached: 3 kB\nMemFree: 2 kB\n";
        p.parse(a).unwrap();
        assert_eq!(p.parse(b), parse_meminfo(b));
        assert_eq!(p.fast_hits(), 0);
    }

    #[test]
    fn errors_and_odd_values() {
        assert_eq!(parse_meminfo(b""), Err(ParseError::Empty));
        assert_eq!(
            parse_meminfo(b"MemFree: 1 kB\n"),
            Err(ParseError::MissingField("MemTotal"))
        );
        let m = parse_meminfo(
            b"MemTotal: 1 kB\nMemFree: x kB\nCached: 5 MB\nBuffers: 99999999999999999999 kB",
        )
        .unwrap();
        assert_eq!(m.mem_total, Some(1024));
        assert_eq!(m.mem_free, None);
        assert_eq!(m.cached, None, "unknown unit is unknown, not a guess");
        assert_eq!(m.buffers, None, "overflow is unknown");
        let m = parse_meminfo(b"MemTotal:\t8 kB\r\n").unwrap();
        assert_eq!(m.mem_total, Some(8192));
    }

    /// The issue's meminfo without units: read as bytes, every figure was
    /// 1024 times too small. A size line without `kB` is malformed; a count
    /// line with `kB` is too.
    #[test]
    fn sizes_without_their_unit_are_malformed() {
        let text = b"MemTotal: 8000000\nMemFree: 100 kB\nHugePages_Total: 4 kB\nHugePages_Free: 2\nHugepagesize: 2048 kB\n";
        assert_eq!(
            parse_meminfo(text),
            Err(ParseError::MissingField("MemTotal"))
        );
        let m = parse_meminfo(
            b"MemTotal: 8 kB\nMemFree: 100\nHugePages_Total: 4 kB\nHugePages_Free: 2\n",
        )
        .unwrap();
        assert_eq!(m.mem_free, None);
        assert_eq!(m.hugepages_total, None);
        assert_eq!(m.hugepages_free, Some(2));
        // The cached-layout path agrees (it falls back to the keyed parse).
        let mut p = MeminfoParser::new();
        let text = b"MemTotal: 8 kB\nMemFree: 100\n";
        assert_eq!(p.parse(text).unwrap().mem_free, None);
        assert_eq!(p.parse(text).unwrap().mem_free, None);
    }
}
