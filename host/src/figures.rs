//! Memory figures of one sample, per contract C (`docs/accounting.md`).
//!
//! Local adapter until `jetmem_core::accounting` lands: the field names and
//! definitions are the contract's, so switching is a one-line change here and
//! nowhere else.

use jetmem_core::record::{Architecture, Counter, Counters, Platform};

/// The figures of contract C's `accounting::Figures`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Unified, discrete or CPU only.
    pub architecture: Architecture,
    /// `MemTotal`.
    pub total: Option<u64>,
    /// `MemTotal − MemAvailable`.
    pub used: Option<u64>,
    /// `MemTotal − MemFree − Buffers − Cached` (what `free`/tegrastats call used).
    pub used_tfbc: Option<u64>,
    /// `MemAvailable`.
    pub available: Option<u64>,
    /// GPU memory used (a subset of `used` on unified memory).
    pub gpu_used: Option<u64>,
    /// Unified: `used − gpu_used`, clamped at 0.
    pub cpu_os_used: Option<u64>,
    /// The GPU figure is larger than system used (two sources disagree).
    pub sources_disagree: bool,
    /// Discrete: CUDA total − free.
    pub vram_used: Option<u64>,
    /// Unified: used; discrete: VRAM + RAM; CPU only: RAM.
    pub total_used: Option<u64>,
    /// `SwapTotal − SwapFree`.
    pub swap_used: Option<u64>,
    /// Swap lives in zram (compressed, in the same DRAM).
    pub swap_is_zram: bool,
    /// How much more could be allocated, roughly.
    pub allocatable_estimate: Option<u64>,
}

/// Computes the figures of one sample.
pub fn figures(platform: &Platform, c: &Counters) -> Figures {
    let total = c.get(Counter::MemTotal).or(platform.mem_total_bytes);
    let available = c.get(Counter::MemAvailable);
    let used = total.zip(available).map(|(t, a)| t.saturating_sub(a));
    let used_tfbc = match (
        total,
        c.get(Counter::MemFree),
        c.get(Counter::Buffers),
        c.get(Counter::Cached),
    ) {
        (Some(t), Some(f), Some(b), Some(ca)) => Some(t.saturating_sub(f + b + ca)),
        _ => None,
    };
    let cuda_total = c.get(Counter::CudaTotal).or(platform.gpu_total_bytes);
    let vram_used = match platform.architecture {
        Architecture::Discrete => cuda_total
            .zip(c.get(Counter::CudaFree))
            .map(|(t, f)| t.saturating_sub(f)),
        _ => None,
    };
    let gpu_used = match platform.architecture {
        Architecture::Unified => c
            .get(Counter::GpuUsed)
            .or_else(|| c.get(Counter::NvMapMemUsed))
            .or_else(|| c.get(Counter::NvmapTotal))
            .or_else(|| c.get(Counter::NvmapClientsTotal)),
        Architecture::Discrete => c.get(Counter::GpuUsed).or(vram_used),
        _ => c.get(Counter::GpuUsed),
    };
    let (cpu_os_used, sources_disagree) = match (platform.architecture, used, gpu_used) {
        (Architecture::Unified, Some(u), Some(g)) => (Some(u.saturating_sub(g)), g > u),
        _ => (None, false),
    };
    let total_used = match platform.architecture {
        Architecture::Discrete => used.zip(vram_used).map(|(r, v)| r + v),
        _ => used,
    };
    let swap_used = c
        .get(Counter::SwapTotal)
        .zip(c.get(Counter::SwapFree))
        .map(|(t, f)| t.saturating_sub(f));
    let allocatable_estimate = match platform.architecture {
        Architecture::Discrete => c.get(Counter::CudaFree),
        _ => available,
    };
    Figures {
        architecture: platform.architecture,
        total,
        used,
        used_tfbc,
        available,
        gpu_used,
        cpu_os_used,
        sources_disagree,
        vram_used,
        total_used,
        swap_used,
        swap_is_zram: c.get(Counter::ZramUsed).is_some(),
        allocatable_estimate,
    }
}

/// How `used` is defined, for reports.
pub const USED_DEFINITION: &str = "MemTotal - MemAvailable";
