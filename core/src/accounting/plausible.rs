//! Which counter values are plausible (`docs/accounting.md` §11).
//!
//! A counter that cannot be true is flagged and left out of every figure,
//! never shown as one: jetmem reads files a crafted `--root`, a buggy kernel
//! or a damaged trace can fill with anything. Two rules:
//!
//! * no size is above [`MAX_PLAUSIBLE_BYTES`] (2^50 B = 1 PiB);
//! * a counter that measures part of the machine's DRAM is not above
//!   `MemTotal`: the `/proc/meminfo` parts, nvmap, zram, and on unified
//!   memory the GPU figure. Sums over processes (shared pages counted once
//!   per process), swap, cgroup and CUDA counters have only the first rule.
//!
//! Counts and ratios (processes, PSI, GPU load) are not sizes and are not
//! checked here.

use crate::record::{Architecture, Counter, Counters};

/// The largest size jetmem believes: 2^50 bytes (1 PiB).
pub const MAX_PLAUSIBLE_BYTES: u64 = 1 << 50;

/// Why a counter was found implausible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implausible {
    /// Above [`MAX_PLAUSIBLE_BYTES`].
    AboveMaxSize,
    /// Above `MemTotal`, although it measures part of the same DRAM.
    AboveMemTotal,
}

impl Implausible {
    /// The rule, for reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Implausible::AboveMaxSize => "above 2^50 bytes",
            Implausible::AboveMemTotal => "above MemTotal",
        }
    }
}

/// Whether `c` is a size in bytes (not a count or a ratio).
const fn is_size(c: Counter) -> bool {
    !matches!(
        c,
        Counter::TreeProcesses
            | Counter::PsiSomeAvg10
            | Counter::PsiFullAvg10
            | Counter::GpuLoadPermille
    )
}

/// Whether `c` measures part of the DRAM that `MemTotal` counts.
fn is_part_of_dram(c: Counter, architecture: Architecture) -> bool {
    match c {
        Counter::MemFree
        | Counter::MemAvailable
        | Counter::Cached
        | Counter::Buffers
        | Counter::SReclaimable
        | Counter::Shmem
        | Counter::Mlocked
        | Counter::CmaFree
        | Counter::CmaTotal
        | Counter::HugePagesTotal
        | Counter::HugePagesFree
        | Counter::ZramUsed
        | Counter::NvMapMemUsed
        | Counter::NvMapMemFree
        | Counter::NvmapTotal
        | Counter::NvmapClientsTotal => true,
        Counter::GpuUsed => architecture == Architecture::Unified,
        _ => false,
    }
}

/// Whether `value` of `c` is implausible, given `MemTotal` (when plausible itself).
pub fn check(
    c: Counter,
    value: u64,
    mem_total: Option<u64>,
    architecture: Architecture,
) -> Option<Implausible> {
    if !is_size(c) {
        return None;
    }
    if !is_plausible_size(value) {
        return Some(Implausible::AboveMaxSize);
    }
    match mem_total {
        Some(total) if value > total && is_part_of_dram(c, architecture) => {
            Some(Implausible::AboveMemTotal)
        }
        _ => None,
    }
}

/// Whether `bytes` is a plausible size (at most [`MAX_PLAUSIBLE_BYTES`]): for
/// sizes that are not counters, such as a budget.
pub const fn is_plausible_size(bytes: u64) -> bool {
    bytes <= MAX_PLAUSIBLE_BYTES
}

/// The counters flagged in `mask` (as [`screen`] returned it), with their
/// values and the rule each broke.
pub fn flagged(
    counters: &Counters,
    mask: u64,
    architecture: Architecture,
) -> impl Iterator<Item = (Counter, u64, Implausible)> + '_ {
    let total = counters
        .get(Counter::MemTotal)
        .filter(|&t| is_plausible_size(t));
    Counter::ALL.iter().filter_map(move |&c| {
        if mask & (1 << c as u64) == 0 {
            return None;
        }
        let v = counters.get(c)?;
        Some((c, v, check(c, v, total, architecture)?))
    })
}

/// `counters` without their implausible values, and the mask (bit = counter
/// index) of those left out.
pub fn screen(counters: &Counters, architecture: Architecture) -> (Counters, u64) {
    let total = counters
        .get(Counter::MemTotal)
        .filter(|&t| t <= MAX_PLAUSIBLE_BYTES);
    let mut out = *counters;
    let mut flagged = 0u64;
    let mut bits = counters.present_mask();
    while bits != 0 {
        let i = bits.trailing_zeros();
        bits &= bits - 1;
        let Some(c) = Counter::from_index(i as u8) else {
            continue;
        };
        if check(c, counters.raw(i as usize), total, architecture).is_some() {
            out.set(c, None);
            flagged |= 1 << i;
        }
    }
    (out, flagged)
}
