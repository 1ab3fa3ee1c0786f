//! The `--cuda-hook` tree totals: the sum of every hooked process's live bytes
//! per kind, followed snapshot by snapshot, and its peak ("tree totals at
//! their peak moment", docs/cuda-hook.md). A process's own peak is a lower
//! bound of the tree's (it may have peaked between two of its snapshots).
//! Fixed size, no allocation: processes beyond [`HOOK_PROCESSES`] are counted
//! in `untracked` and only their own peaks count.

use crate::record::{CUDA_HOOK_KINDS, CudaHook};

/// Processes whose live bytes the totals follow.
pub const HOOK_PROCESSES: usize = 256;

/// Tree totals of the hook's figures.
#[derive(Debug, Clone)]
pub struct HookTotals {
    pids: [u32; HOOK_PROCESSES],
    live: [[u64; CUDA_HOOK_KINDS]; HOOK_PROCESSES],
    rows: usize,
    sum: [u64; CUDA_HOOK_KINDS],
    /// Peak of the tree's live bytes per kind.
    pub peak: [u64; CUDA_HOOK_KINDS],
    /// Snapshots of processes the table had no row for.
    pub untracked: u64,
}

impl Default for HookTotals {
    fn default() -> Self {
        HookTotals::new()
    }
}

impl HookTotals {
    /// No process yet.
    pub const fn new() -> HookTotals {
        HookTotals {
            pids: [0; HOOK_PROCESSES],
            live: [[0; CUDA_HOOK_KINDS]; HOOK_PROCESSES],
            rows: 0,
            sum: [0; CUDA_HOOK_KINDS],
            peak: [0; CUDA_HOOK_KINDS],
            untracked: 0,
        }
    }

    /// Takes one process's snapshot (in time order).
    pub fn update(&mut self, c: &CudaHook) {
        let row = match self
            .pids
            .get(..self.rows)
            .and_then(|p| p.iter().position(|&p| p == c.pid))
        {
            Some(r) => Some(r),
            None if self.rows < HOOK_PROCESSES => {
                if let Some(p) = self.pids.get_mut(self.rows) {
                    *p = c.pid;
                }
                self.rows += 1;
                Some(self.rows - 1)
            }
            None => {
                self.untracked += 1;
                None
            }
        };
        if let Some(old) = row.and_then(|r| self.live.get_mut(r)) {
            for ((o, s), n) in old.iter_mut().zip(self.sum.iter_mut()).zip(c.live) {
                *s = s.saturating_sub(*o).saturating_add(n);
                *o = n;
            }
        }
        for ((p, s), own) in self.peak.iter_mut().zip(self.sum).zip(c.peak) {
            *p = (*p).max(s).max(own);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(pid: u32, device_live: u64, device_peak: u64) -> CudaHook {
        CudaHook {
            pid,
            live: [device_live, 0, 0, 0],
            peak: [device_peak, 0, 0, 0],
            ..CudaHook::default()
        }
    }

    #[test]
    fn peak_is_the_tree_sum_at_its_highest_moment() {
        let mut t = HookTotals::new();
        t.update(&snap(1, 300, 300)); // 300
        t.update(&snap(2, 200, 200)); // 500
        t.update(&snap(1, 0, 300)); // 200
        t.update(&snap(2, 250, 250)); // 250
        assert_eq!(t.peak, [500, 0, 0, 0]);
        // A process's own peak between snapshots bounds the tree's from below.
        t.update(&snap(3, 0, 900));
        assert_eq!(t.peak, [900, 0, 0, 0]);
        assert_eq!(t.untracked, 0);
    }
}
