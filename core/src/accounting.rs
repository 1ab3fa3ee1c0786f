//! The memory accounting model: the one place that turns counters into the
//! figures a report shows. Every definition, with its source, is in
//! `docs/accounting.md`; the short form:
//!
//! * system used = `MemTotal − MemAvailable` (primary); `MemTotal − MemFree −
//!   Buffers − Cached` (jtop/tegrastats style) alongside;
//! * unified memory: GPU memory is a *subset* of system used, never added;
//!   CPU/OS = used − GPU, clamped at 0 with [`Figures::sources_disagree`];
//! * discrete GPU: total = VRAM used + RAM used;
//! * CUDA free on Tegra ≈ `MemFree`: never shown as "available".

use crate::record::{Architecture, Counter, Counters, Event, EventKind, GpuSource, Platform};

/// Whether a GPU memory source could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Access {
    /// The source exists and was read.
    Readable,
    /// The source does not exist on this machine.
    #[default]
    Missing,
    /// The source exists but needs root (debugfs).
    NeedsRoot,
}

/// Which GPU memory sources the sampler found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GpuAvailability {
    /// `/proc/meminfo` has `NvMapMemUsed` (JetPack 4).
    pub meminfo_nvmap: bool,
    /// `/sys/kernel/debug/nvmap/stats/total_memory`.
    pub nvmap_total: Access,
    /// `/sys/kernel/debug/nvmap/iovmm/clients`.
    pub nvmap_clients: Access,
    /// CUDA `cuMemGetInfo` on device 0.
    pub cuda: Access,
    /// NVML per-process memory (Thor / JetPack 7).
    pub thor_nvml: Access,
}

/// Reason given when nvmap debugfs exists but is root-only.
pub const REASON_NEEDS_ROOT: &str = "needs root: /sys/kernel/debug/nvmap";
/// Reason given when CUDA stands in for a root-only nvmap.
pub const REASON_CUDA_FOR_NVMAP: &str =
    "needs root: /sys/kernel/debug/nvmap; CUDA total - free used instead";
/// Reason given when no source exists at all.
pub const REASON_NO_SOURCE: &str =
    "no NvMap lines in this kernel's meminfo, no nvmap debugfs, no CUDA or NVML";

/// Picks where "GPU memory used" comes from, in order: `NvMapMemUsed` →
/// nvmap `stats/total_memory` → `iovmm/clients` total → NVML (Thor) → CUDA
/// total − free → unknown. The string says why the figure is unknown, or
/// what caveat its source carries.
pub fn select_gpu_source(avail: GpuAvailability) -> (GpuSource, Option<&'static str>) {
    let nvmap_root =
        avail.nvmap_total == Access::NeedsRoot || avail.nvmap_clients == Access::NeedsRoot;
    if avail.meminfo_nvmap {
        (GpuSource::MeminfoNvmap, None)
    } else if avail.nvmap_total == Access::Readable {
        (GpuSource::NvmapTotal, None)
    } else if avail.nvmap_clients == Access::Readable {
        (GpuSource::NvmapClients, None)
    } else if avail.thor_nvml == Access::Readable {
        (GpuSource::Nvml, None)
    } else if avail.cuda == Access::Readable {
        (GpuSource::Cuda, nvmap_root.then_some(REASON_CUDA_FOR_NVMAP))
    } else if nvmap_root {
        (GpuSource::None, Some(REASON_NEEDS_ROOT))
    } else {
        (GpuSource::None, Some(REASON_NO_SOURCE))
    }
}

/// How [`Figures::used`] is defined, in the words reports print.
pub const USED_DEFINITION: &str = "MemTotal - MemAvailable";

/// The figures of one sample. All in bytes; `None` is unknown, never 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Figures {
    /// Unified, discrete or CPU only (from the platform).
    pub architecture: Architecture,
    /// `MemTotal`.
    pub total: Option<u64>,
    /// System memory used: `MemTotal − MemAvailable`.
    pub used: Option<u64>,
    /// `MemTotal − MemFree − Buffers − Cached` (jtop's "used"), for comparison.
    pub used_tfbc: Option<u64>,
    /// `MemAvailable`.
    pub available: Option<u64>,
    /// GPU memory used, from the platform's GPU source.
    pub gpu_used: Option<u64>,
    /// Memory used by CPU and OS: unified: `used − gpu_used` clamped at 0;
    /// discrete and CPU only: `used`.
    pub cpu_os_used: Option<u64>,
    /// Unified: the GPU figure was larger than system used (sources disagree).
    pub sources_disagree: bool,
    /// Discrete: CUDA total − free (VRAM used).
    pub vram_used: Option<u64>,
    /// Unified: `used`; discrete: `vram_used + used`; CPU only: `used`.
    pub total_used: Option<u64>,
    /// `SwapTotal − SwapFree`.
    pub swap_used: Option<u64>,
    /// Swap is zram (it lives in the same DRAM: not extra capacity).
    pub swap_is_zram: bool,
    /// Unified: device memory that could still be allocated, per the CUDA for
    /// Tegra app note; discrete: CUDA free.
    pub allocatable_estimate: Option<u64>,
}

fn sub(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a?.checked_sub(b?)
}

/// Turns one sample's counters into figures for `platform`.
pub fn figures(platform: &Platform, counters: &Counters) -> Figures {
    let g = |c| counters.get(c);
    let total = g(Counter::MemTotal);
    let available = g(Counter::MemAvailable);
    let used = sub(total, available);
    let used_tfbc = sub(
        sub(sub(total, g(Counter::MemFree)), g(Counter::Buffers)),
        g(Counter::Cached),
    );
    let swap_total = g(Counter::SwapTotal);
    let swap_used = sub(swap_total, g(Counter::SwapFree));
    let swap_is_zram = g(Counter::ZramUsed).is_some() && swap_total.is_some_and(|t| t > 0);
    let cuda_used = sub(g(Counter::CudaTotal), g(Counter::CudaFree));

    let mut f = Figures {
        architecture: platform.architecture,
        total,
        used,
        used_tfbc,
        available,
        swap_used,
        swap_is_zram,
        ..Figures::default()
    };
    match platform.architecture {
        Architecture::Unified => {
            // The sampler stores the selected source in GpuUsed; fall back
            // along the same order if it did not.
            let gpu = g(Counter::GpuUsed)
                .or(g(Counter::NvMapMemUsed))
                .or(g(Counter::NvmapTotal))
                .or(g(Counter::NvmapClientsTotal));
            f.gpu_used = gpu;
            if let (Some(u), Some(gpu)) = (used, gpu) {
                f.cpu_os_used = Some(u.saturating_sub(gpu));
                f.sources_disagree = gpu > u;
            }
            f.total_used = used;
            f.allocatable_estimate = unified_allocatable(&f, g(Counter::SwapFree));
        }
        Architecture::Discrete => {
            f.vram_used = cuda_used.or(g(Counter::GpuUsed));
            f.gpu_used = g(Counter::GpuUsed).or(f.vram_used);
            f.cpu_os_used = used;
            f.total_used = f.vram_used.and_then(|v| v.checked_add(used?));
            f.allocatable_estimate = g(Counter::CudaFree);
        }
        _ => {
            f.cpu_os_used = used;
            f.total_used = used;
        }
    }
    f
}

/// The CUDA for Tegra app note's estimate (jetson-memory.md §6), as the
/// additional device memory that can still be allocated:
/// `T − D − max(0, H − S)` with `H = used − D` (host allocated) and `S` the
/// free swap, taken as 0 when swap is zram (it lives in the same DRAM).
/// With `S = 0` this is `T − used = MemAvailable` whatever `D` is.
fn unified_allocatable(f: &Figures, swap_free: Option<u64>) -> Option<u64> {
    let t = f.total?;
    let used = f.used?;
    let s = if f.swap_is_zram { 0 } else { swap_free? };
    if s == 0 {
        return t.checked_sub(used);
    }
    let d = f.gpu_used?.min(used);
    let host = used.saturating_sub(d);
    Some(t.saturating_sub(d).saturating_sub(host.saturating_sub(s)))
}

/// Thresholds for pressure and budget events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PressureConfig {
    /// Pressure starts when available / total falls under this, per mille (200 = 20 %).
    pub threshold_permille: u16,
    /// Pressure ends at threshold + this; the budget recovers at budget − this
    /// share of MemTotal. Per mille.
    pub hysteresis_permille: u16,
    /// The memory budget for system used; `None` = 80 % of MemTotal.
    pub budget_bytes: Option<u64>,
}

impl Default for PressureConfig {
    fn default() -> Self {
        PressureConfig {
            threshold_permille: 200,
            hysteresis_permille: 50,
            budget_bytes: None,
        }
    }
}

/// `total × permille / 1000`, without overflow.
fn permille_of(total: u64, permille: u32) -> u64 {
    let v = u128::from(total) * u128::from(permille) / 1000;
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// The default budget: 80 % of MemTotal.
pub const DEFAULT_BUDGET_PERMILLE: u32 = 800;

impl PressureConfig {
    /// The budget in bytes for a machine with `total` bytes of MemTotal.
    pub fn budget_for(&self, total: u64) -> u64 {
        self.budget_bytes
            .unwrap_or_else(|| permille_of(total, DEFAULT_BUDGET_PERMILLE))
    }

    /// Budget − system used: positive is room left, negative is over budget.
    pub fn headroom(&self, f: &Figures) -> Option<i64> {
        let budget = i128::from(self.budget_for(f.total?));
        let v = budget - i128::from(f.used?);
        Some(i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }))
    }
}

/// Turns a stream of figures into pressure and budget events, with hysteresis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PressureTracker {
    cfg: PressureConfig,
    in_pressure: bool,
    over_budget: bool,
}

impl PressureTracker {
    /// A tracker that starts outside pressure and under budget.
    pub const fn new(cfg: PressureConfig) -> Self {
        PressureTracker {
            cfg,
            in_pressure: false,
            over_budget: false,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &PressureConfig {
        &self.cfg
    }

    /// Whether available memory is under the threshold now.
    pub const fn in_pressure(&self) -> bool {
        self.in_pressure
    }

    /// Whether system used is over the budget now.
    pub const fn over_budget(&self) -> bool {
        self.over_budget
    }

    /// Feeds one sample's figures; returns at most one event (a pending
    /// budget change is reported on the next call).
    pub fn update(&mut self, t_ns: u64, f: &Figures) -> Option<Event> {
        let total = f.total?;
        let enter = permille_of(total, u32::from(self.cfg.threshold_permille));
        let band = permille_of(total, u32::from(self.cfg.hysteresis_permille));
        if let Some(avail) = f.available {
            if !self.in_pressure && avail < enter {
                self.in_pressure = true;
                return Some(event(t_ns, EventKind::PressureEntered, avail, enter));
            }
            let leave = enter.saturating_add(band);
            if self.in_pressure && avail >= leave {
                self.in_pressure = false;
                return Some(event(t_ns, EventKind::PressureLeft, avail, leave));
            }
        }
        let used = f.used?;
        let budget = self.cfg.budget_for(total);
        if !self.over_budget && used > budget {
            self.over_budget = true;
            return Some(event(t_ns, EventKind::BudgetExceeded, used, budget));
        }
        let recover = budget.saturating_sub(band);
        if self.over_budget && used <= recover {
            self.over_budget = false;
            return Some(event(t_ns, EventKind::BudgetRecovered, used, recover));
        }
        None
    }
}

fn event(t_ns: u64, kind: EventKind, value: u64, threshold: u64) -> Event {
    Event {
        t_ns,
        kind,
        value,
        threshold,
    }
}

/// The smallest and largest value seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Smallest value seen.
    pub min: u64,
    /// Largest value seen.
    pub max: u64,
}

fn widen(e: &mut Option<Extent>, v: Option<u64>) {
    if let Some(v) = v {
        *e = Some(match *e {
            None => Extent { min: v, max: v },
            Some(x) => Extent {
                min: x.min.min(v),
                max: x.max.max(v),
            },
        });
    }
}

/// Running minimums and peaks of every figure and counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Peaks {
    /// Samples seen.
    pub samples: u64,
    /// Samples whose GPU figure exceeded system used.
    pub disagreements: u64,
    /// [`Figures::total`].
    pub total: Option<Extent>,
    /// [`Figures::used`].
    pub used: Option<Extent>,
    /// [`Figures::used_tfbc`].
    pub used_tfbc: Option<Extent>,
    /// [`Figures::available`].
    pub available: Option<Extent>,
    /// [`Figures::gpu_used`].
    pub gpu_used: Option<Extent>,
    /// [`Figures::cpu_os_used`].
    pub cpu_os_used: Option<Extent>,
    /// [`Figures::vram_used`].
    pub vram_used: Option<Extent>,
    /// [`Figures::total_used`].
    pub total_used: Option<Extent>,
    /// [`Figures::swap_used`].
    pub swap_used: Option<Extent>,
    /// [`Figures::allocatable_estimate`].
    pub allocatable_estimate: Option<Extent>,
    /// Largest value of each counter (absent: never seen).
    pub counters_max: Counters,
    /// Smallest value of each counter (absent: never seen).
    pub counters_min: Counters,
}

impl Peaks {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one sample.
    pub fn update(&mut self, f: &Figures, c: &Counters) {
        self.samples = self.samples.saturating_add(1);
        if f.sources_disagree {
            self.disagreements = self.disagreements.saturating_add(1);
        }
        widen(&mut self.total, f.total);
        widen(&mut self.used, f.used);
        widen(&mut self.used_tfbc, f.used_tfbc);
        widen(&mut self.available, f.available);
        widen(&mut self.gpu_used, f.gpu_used);
        widen(&mut self.cpu_os_used, f.cpu_os_used);
        widen(&mut self.vram_used, f.vram_used);
        widen(&mut self.total_used, f.total_used);
        widen(&mut self.swap_used, f.swap_used);
        widen(&mut self.allocatable_estimate, f.allocatable_estimate);
        for (counter, v) in c.iter() {
            let hi = self.counters_max.get(counter).map_or(v, |m| m.max(v));
            let lo = self.counters_min.get(counter).map_or(v, |m| m.min(v));
            self.counters_max.set(counter, Some(hi));
            self.counters_min.set(counter, Some(lo));
        }
    }
}

#[cfg(test)]
mod tests;
