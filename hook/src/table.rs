//! The fixed-size pointer → (size, kind) table: open addressing over a static
//! array of atomics, no lock and no allocation. A full probe window counts an
//! overflow and the allocation goes unmatched (its free is then not
//! subtracted); it never fails the call.

use jetmem_core::record::CudaHookKind;
use std::sync::atomic::{AtomicU64, Ordering};

/// Rows of the table (a power of two): 1 MiB of zero pages until used.
pub const ROWS: usize = 1 << 16;
/// Rows looked at before an insert gives up.
const PROBES: usize = 64;
/// A row whose allocation was freed (keeps later rows of a probe chain reachable).
const TOMBSTONE: u64 = u64::MAX;

struct Row {
    key: AtomicU64,
    /// size << 2 | kind.
    value: AtomicU64,
}

/// The table. `const`-constructible so it lives in `.bss`.
pub struct Table {
    rows: [Row; ROWS],
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Table")
    }
}

#[allow(
    clippy::declare_interior_mutable_const,
    reason = "used once per row to build the static"
)]
const EMPTY: Row = Row {
    key: AtomicU64::new(0),
    value: AtomicU64::new(0),
};

impl Table {
    /// An empty table.
    pub const fn new() -> Table {
        Table {
            rows: [EMPTY; ROWS],
        }
    }

    fn start(key: u64) -> usize {
        // Fibonacci hashing: device and host pointers differ in their high bits.
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize & (ROWS - 1)
    }

    /// Records `key` (never 0 or `u64::MAX`); false when no row was free.
    pub fn insert(&self, key: u64, size: u64, kind: CudaHookKind) -> bool {
        let s = Table::start(key);
        for i in 0..PROBES {
            let Some(row) = self.rows.get((s + i) & (ROWS - 1)) else {
                return false;
            };
            let k = row.key.load(Ordering::Relaxed);
            if (k == 0 || k == TOMBSTONE)
                && row
                    .key
                    .compare_exchange(k, key, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                row.value.store(size << 2 | kind as u64, Ordering::Release);
                return true;
            }
        }
        false
    }

    /// Takes `key` out; its size and kind index, if it was recorded.
    pub fn remove(&self, key: u64) -> Option<(u64, usize)> {
        let s = Table::start(key);
        for i in 0..PROBES {
            let row = self.rows.get((s + i) & (ROWS - 1))?;
            match row.key.load(Ordering::Acquire) {
                0 => return None,
                k if k == key => {
                    let v = row.value.load(Ordering::Acquire);
                    return row
                        .key
                        .compare_exchange(key, TOMBSTONE, Ordering::AcqRel, Ordering::Relaxed)
                        .ok()
                        .map(|_| (v >> 2, (v & 3) as usize));
                }
                _ => {}
            }
        }
        None
    }

    /// Empties the table (a forked child: its parent's allocations are not its own).
    pub fn clear(&self) {
        for row in &self.rows {
            if row.key.load(Ordering::Relaxed) != 0 {
                row.key.store(0, Ordering::Relaxed);
            }
        }
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_and_overflow() {
        static T: Table = Table::new();
        let t = &T;
        assert!(t.insert(0x7f00_0000_1000, 4096, CudaHookKind::Pinned));
        assert_eq!(t.remove(0x7f00_0000_1000), Some((4096, 2)));
        assert_eq!(
            t.remove(0x7f00_0000_1000),
            None,
            "a double free is not matched"
        );
        // Keys that all start at the same row fill the probe window.
        let same: Vec<u64> = (1..u64::MAX / 2)
            .map(|k| k << 20)
            .filter(|k| Table::start(*k) == Table::start(1 << 20))
            .take(PROBES + 1)
            .collect();
        for (i, k) in same.iter().enumerate() {
            assert_eq!(t.insert(*k, 1, CudaHookKind::Device), i < PROBES, "key {i}");
        }
        assert_eq!(
            t.remove(same[PROBES - 1]),
            Some((1, 0)),
            "found past the others"
        );
        t.clear();
        assert_eq!(t.remove(same[0]), None);
    }
}
