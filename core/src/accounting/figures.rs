//! One sample's figures from its counters (`docs/accounting.md` §2–§4, §7).

use crate::record::{Architecture, Counter, Counters, Platform};

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
    /// Discrete: VRAM used, from the GPU source (NVML or CUDA total − free).
    pub vram_used: Option<u64>,
    /// Unified: `used`; discrete: `vram_used + used`; CPU only: `used`.
    pub total_used: Option<u64>,
    /// `SwapTotal − SwapFree`.
    pub swap_used: Option<u64>,
    /// Swap is zram (it lives in the same DRAM: not extra capacity).
    pub swap_is_zram: bool,
    /// CUDA device used: `cuMemGetInfo` total − free (on Tegra ≈ `MemTotal − MemFree`,
    /// page cache included: never "GPU used" unless CUDA is the selected source).
    pub cuda_used: Option<u64>,
    /// Imported from tegrastats (`RAM x/…`): its own "used", whole MiB; never
    /// mixed with the meminfo-based figures above (`docs/accounting.md` §2.2).
    pub tegrastats_used: Option<u64>,
    /// Counters left out of every figure as implausible (bit = counter
    /// index; `plausible.rs`): the figures they feed are unknown.
    pub implausible: u64,
}

/// How [`Figures::used`] is defined, for reports.
pub const USED_DEFINITION: &str = "MemTotal - MemAvailable";

/// How [`Figures::used_tfbc`] is defined: tegrastats' and jtop's "used", shown
/// beside [`USED_DEFINITION`] (`docs/accounting.md` §2).
pub const USED_TEGRASTATS_DEFINITION: &str = "MemTotal - MemFree - Buffers - Cached";

/// What an imported tegrastats "RAM used" is: tegrastats' own figure, in whole
/// MiB; NVIDIA documents no formula, and it tracks [`USED_TEGRASTATS_DEFINITION`].
pub const TEGRASTATS_USED_DEFINITION: &str =
    "tegrastats RAM used (its own figure, whole MiB; tracks MemTotal - MemFree - Buffers - Cached)";

/// The one-line reason the two "used" figures differ, for every renderer.
pub const USED_DIFFERENCE: &str = "tegrastats/jtop count all of Buffers and Cached as free; MemAvailable only what the kernel can reclaim";

/// CUDA device used: `CudaTotal − CudaFree`, unknown when either is.
pub fn cuda_used(counters: &Counters) -> Option<u64> {
    sub(
        counters.get(Counter::CudaTotal),
        counters.get(Counter::CudaFree),
    )
}

/// NVML device used: `NvmlTotal − NvmlFree` (allocations and the driver's
/// reservation: all that is not free), unknown when either is.
pub fn nvml_used(counters: &Counters) -> Option<u64> {
    sub(
        counters.get(Counter::NvmlTotal),
        counters.get(Counter::NvmlFree),
    )
}

fn sub(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a?.checked_sub(b?)
}

/// Turns one sample's counters into figures for `platform`.
pub fn figures(platform: &Platform, counters: &Counters) -> Figures {
    let (screened, implausible) = super::plausible::screen(counters, platform.architecture);
    let counters = &screened;
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
    let cuda_used = cuda_used(counters);

    let mut f = Figures {
        architecture: platform.architecture,
        total,
        used,
        used_tfbc,
        available,
        swap_used,
        swap_is_zram,
        cuda_used,
        tegrastats_used: g(Counter::TegrastatsRamUsed),
        implausible,
        ..Figures::default()
    };
    match platform.architecture {
        Architecture::Unified => {
            // The sampler stores the selected source in GpuUsed; fall back
            // along the same order if it did not.
            let gpu = super::gpu_source::gpu_used_fallback(counters);
            f.gpu_used = gpu;
            if let (Some(u), Some(gpu)) = (used, gpu) {
                f.cpu_os_used = Some(u.saturating_sub(gpu));
                f.sources_disagree = gpu > u;
            }
            f.total_used = used;
        }
        Architecture::Discrete => {
            // The sampler's GpuUsed, else the first device figure in source
            // order: what is VRAM used is what is GPU used.
            f.vram_used = g(Counter::GpuUsed)
                .or_else(|| nvml_used(counters))
                .or(cuda_used);
            f.gpu_used = f.vram_used;
            f.cpu_os_used = used;
            f.total_used = f.vram_used.and_then(|v| v.checked_add(used?));
        }
        _ => {
            f.cpu_os_used = used;
            f.total_used = used;
        }
    }
    f
}
