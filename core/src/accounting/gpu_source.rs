//! Where "GPU memory used" comes from: the source order of `docs/accounting.md` §3.1.

use crate::record::{Counter, Counters, GpuSource};

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
    /// The source exists but the driver says it is not supported on this
    /// device (NVML memory on Jetson JetPack 5/6 and some Thor BSPs).
    Unsupported,
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
    /// NVML device-wide memory of the GPU that is CUDA device 0
    /// (`nvmlDeviceGetMemoryInfo(_v2)`; Thor / JetPack 7, discrete GPUs).
    pub nvml: Access,
}

/// Reason given when nvmap debugfs exists but is root-only.
pub const REASON_NEEDS_ROOT: &str = "needs root: /sys/kernel/debug/nvmap";
/// Reason given when CUDA stands in for a root-only nvmap.
pub const REASON_CUDA_FOR_NVMAP: &str =
    "needs root: /sys/kernel/debug/nvmap; CUDA total - free used instead";
/// Reason given when CUDA stands in for NVML, which said Not Supported.
pub const REASON_CUDA_FOR_NVML: &str =
    "NVML device memory: Not Supported; CUDA total - free used instead";
/// Reason given when no source exists at all.
pub const REASON_NO_SOURCE: &str =
    "no NvMap lines in this kernel's meminfo, no nvmap debugfs, no CUDA or NVML";

/// Picks where "GPU memory used" comes from, in order: `NvMapMemUsed` →
/// nvmap `stats/total_memory` → `iovmm/clients` total → NVML → CUDA
/// total − free → unknown. The string says why the figure is unknown, or
/// what caveat its source carries: a root-only nvmap outweighs an NVML that
/// is not supported (it is the one the user can change).
pub fn select_gpu_source(avail: GpuAvailability) -> (GpuSource, Option<&'static str>) {
    let nvmap_root =
        avail.nvmap_total == Access::NeedsRoot || avail.nvmap_clients == Access::NeedsRoot;
    if avail.meminfo_nvmap {
        (GpuSource::MeminfoNvmap, None)
    } else if avail.nvmap_total == Access::Readable {
        (GpuSource::NvmapTotal, None)
    } else if avail.nvmap_clients == Access::Readable {
        (GpuSource::NvmapClients, None)
    } else if avail.nvml == Access::Readable {
        (GpuSource::Nvml, None)
    } else if avail.cuda == Access::Readable {
        let reason = if nvmap_root {
            Some(REASON_CUDA_FOR_NVMAP)
        } else {
            (avail.nvml == Access::Unsupported).then_some(REASON_CUDA_FOR_NVML)
        };
        (GpuSource::Cuda, reason)
    } else if nvmap_root {
        (GpuSource::None, Some(REASON_NEEDS_ROOT))
    } else {
        (GpuSource::None, Some(REASON_NO_SOURCE))
    }
}

/// "GPU memory used" read from the counters of `source`: what the sampler stores as
/// `GpuUsed`. Unknown for [`GpuSource::None`].
pub fn gpu_used_from(source: GpuSource, counters: &Counters) -> Option<u64> {
    match source {
        GpuSource::MeminfoNvmap => counters.get(Counter::NvMapMemUsed),
        GpuSource::NvmapTotal => counters.get(Counter::NvmapTotal),
        GpuSource::NvmapClients => counters.get(Counter::NvmapClientsTotal),
        GpuSource::Nvml => super::nvml_used(counters),
        GpuSource::Cuda => super::cuda_used(counters),
        _ => None,
    }
}

/// The unified GPU figure when the sampler did not store `GpuUsed`: the first
/// nvmap or NVML figure present, in source order. Never CUDA's, which on
/// Tegra is ≈ `MemTotal − MemFree` (docs/accounting.md §5).
pub(super) fn gpu_used_fallback(counters: &Counters) -> Option<u64> {
    counters
        .get(Counter::GpuUsed)
        .or_else(|| gpu_used_from(GpuSource::MeminfoNvmap, counters))
        .or_else(|| gpu_used_from(GpuSource::NvmapTotal, counters))
        .or_else(|| gpu_used_from(GpuSource::NvmapClients, counters))
        .or_else(|| gpu_used_from(GpuSource::Nvml, counters))
}
