//! Gathers the `--cuda-hook` snapshots of a trace: the latest per process
//! (its peaks are the hook's own, cumulative) and the tree totals from
//! `jetmem_core::accounting::HookTotals`.

use std::collections::BTreeMap;

use jetmem_core::accounting::HookTotals;
use jetmem_core::record::{CudaHook, CudaHookKind};

use crate::report::model::{CudaHookProcess, CudaHookReport};

/// What the snapshots said so far; `None` in the analyzer until the first one.
#[derive(Debug, Default)]
pub struct HookState {
    totals: HookTotals,
    last: BTreeMap<u32, CudaHook>,
}

impl HookState {
    /// Takes one snapshot (in time order).
    pub fn push(&mut self, c: &CudaHook) {
        self.totals.update(c);
        let e = self.last.entry(c.pid).or_default();
        let peak = std::array::from_fn(|i| e.peak[i].max(c.peak[i]));
        *e = CudaHook { peak, ..*c };
    }

    /// The report section; `name` gives a pid's process name when known.
    /// Processes where the hook counted no call are left out of the list.
    pub fn report(&self, name: impl Fn(u32) -> Option<String>) -> CudaHookReport {
        let k = |a: &[u64; 4], kind: CudaHookKind| a[kind as usize];
        let processes = self
            .last
            .values()
            .filter(|c| c.allocations > 0 || c.frees > 0)
            .map(|c| CudaHookProcess {
                pid: c.pid,
                name: name(c.pid),
                device_peak_bytes: k(&c.peak, CudaHookKind::Device),
                device_end_bytes: k(&c.live, CudaHookKind::Device),
                managed_peak_bytes: k(&c.peak, CudaHookKind::Managed),
                pinned_peak_bytes: k(&c.peak, CudaHookKind::Pinned),
                vmm_peak_bytes: k(&c.peak, CudaHookKind::Vmm),
                allocations: c.allocations,
                frees: c.frees,
            })
            .collect();
        let t = &self.totals.peak;
        CudaHookReport {
            device_peak_bytes: k(t, CudaHookKind::Device),
            managed_peak_bytes: k(t, CudaHookKind::Managed),
            pinned_peak_bytes: k(t, CudaHookKind::Pinned),
            vmm_peak_bytes: k(t, CudaHookKind::Vmm),
            table_overflow: self.last.values().map(|c| c.table_overflow).sum(),
            processes,
        }
    }
}
