//! This process's counters: live and peak bytes per kind, allocation and free
//! counts, table overflows. Atomics only; a snapshot of them is pushed into
//! the marker channel after every counted call (a full channel counts the
//! loss there; the next snapshot carries the peaks and counts again).

use crate::table::Table;
use jetmem_core::channel::Push;
use jetmem_core::channel::shm::Mapped;
use jetmem_core::record::{CUDA_HOOK_KINDS, CudaHook, CudaHookKind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The process's counters (one instance, [`COUNTS`]).
#[derive(Debug)]
pub struct Counts {
    live: [AtomicU64; CUDA_HOOK_KINDS],
    peak: [AtomicU64; CUDA_HOOK_KINDS],
    allocations: AtomicU64,
    frees: AtomicU64,
    overflow: AtomicU64,
    table: Table,
}

#[allow(
    clippy::declare_interior_mutable_const,
    reason = "array initialiser of the static"
)]
const ZERO: AtomicU64 = AtomicU64::new(0);

/// The counters of this process.
pub static COUNTS: Counts = Counts::new();
/// The channel, mapped once at load (unset: not under `jetmem record`).
pub static CHANNEL: OnceLock<Mapped> = OnceLock::new();

impl Counts {
    /// All zero.
    pub const fn new() -> Counts {
        Counts {
            live: [ZERO; CUDA_HOOK_KINDS],
            peak: [ZERO; CUDA_HOOK_KINDS],
            allocations: ZERO,
            frees: ZERO,
            overflow: ZERO,
            table: Table::new(),
        }
    }

    /// A successful allocation of `size` bytes at `key`.
    pub fn allocated(&self, key: u64, size: u64, kind: CudaHookKind) {
        let i = kind as usize;
        if !self.table.insert(key, size, kind) {
            self.overflow.fetch_add(1, Ordering::Relaxed);
        } else if let (Some(live), Some(peak)) = (self.live.get(i), self.peak.get(i)) {
            let now = live.fetch_add(size, Ordering::Relaxed).wrapping_add(size);
            peak.fetch_max(now, Ordering::Relaxed);
        }
        self.allocations.fetch_add(1, Ordering::Relaxed);
    }

    /// A successful free of `key` (unknown keys are counted, not subtracted).
    pub fn freed(&self, key: u64) {
        if let Some((size, i)) = self.table.remove(key)
            && let Some(live) = self.live.get(i)
        {
            live.fetch_sub(size, Ordering::Relaxed);
        }
        self.frees.fetch_add(1, Ordering::Relaxed);
    }

    /// The figures now (pid and time are the channel's).
    pub fn snapshot(&self) -> CudaHook {
        let load = |a: &[AtomicU64; CUDA_HOOK_KINDS]| {
            core::array::from_fn(|i| a.get(i).map_or(0, |v| v.load(Ordering::Relaxed)))
        };
        CudaHook {
            t_ns: 0,
            pid: 0,
            live: load(&self.live),
            peak: load(&self.peak),
            allocations: self.allocations.load(Ordering::Relaxed),
            frees: self.frees.load(Ordering::Relaxed),
            table_overflow: self.overflow.load(Ordering::Relaxed),
        }
    }

    /// Pushes a snapshot into the channel, if there is one. No lock, no allocation.
    pub fn publish(&self) {
        if let Some(ch) = CHANNEL.get() {
            let _ = ch.push(Push::CudaHook(&self.snapshot()));
        }
    }

    /// Zeroes everything: called in the child of `fork`.
    pub fn reset(&self) {
        for a in self.live.iter().chain(&self.peak) {
            a.store(0, Ordering::Relaxed);
        }
        for a in [&self.allocations, &self.frees, &self.overflow] {
            a.store(0, Ordering::Relaxed);
        }
        self.table.clear();
    }
}

impl Default for Counts {
    fn default() -> Self {
        Counts::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_stay_and_unknown_frees_are_only_counted() {
        static C: Counts = Counts::new();
        let c = &C;
        c.allocated(0x1000, 300, CudaHookKind::Device);
        c.allocated(0x2000, 200, CudaHookKind::Device);
        c.freed(0x1000);
        c.allocated(0x3000, 50, CudaHookKind::Pinned);
        c.freed(0x9999);
        let s = c.snapshot();
        assert_eq!(s.live, [200, 0, 50, 0]);
        assert_eq!(s.peak, [500, 0, 50, 0]);
        assert_eq!((s.allocations, s.frees, s.table_overflow), (3, 2, 0));
        c.reset();
        assert_eq!(c.snapshot(), CudaHook::default());
    }
}
