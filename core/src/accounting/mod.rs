//! The memory accounting model: the one place that turns counters into the
//! figures a report shows, and the only place a figure is derived: used, CUDA
//! used, the GPU source, headroom, the default budget, pressure with its
//! hysteresis, timestamped peaks and Begin/End phase pairing. One small file per
//! rule: [`figures`](figures()), `cadence` (the tracer's own missed deadlines and stalls), `gpu_source`, `pressure`, `peaks`, `phases`, `window`,
//! `cuda_hook` (the `--cuda-hook` tree totals). Every definition, with its source, is in
//! `docs/accounting.md`; the short form:
//!
//! * system used = `MemTotal − MemAvailable` (primary); `MemTotal − MemFree −
//!   Buffers − Cached` (jtop/tegrastats style) alongside;
//! * unified memory: GPU memory is a *subset* of system used, never added;
//!   CPU/OS = used − GPU, clamped at 0 with [`Figures::sources_disagree`];
//! * discrete GPU: total = VRAM used + RAM used;
//! * CUDA free on Tegra ≈ `MemFree`: never shown as "available".

mod cadence;
mod cuda_hook;
mod figures;
mod gpu_source;
mod peaks;
mod phases;
mod plausible;
mod pressure;
mod window;

pub use cadence::{Cadence, GAP_INTERVALS, Gap, MAX_GAPS, cpu_percent};
pub use cuda_hook::{HOOK_PROCESSES, HookTotals};
pub use figures::{
    Figures, TEGRASTATS_USED_DEFINITION, USED_DEFINITION, USED_DIFFERENCE,
    USED_TEGRASTATS_DEFINITION, cuda_used, figures, nvml_used,
};
pub use gpu_source::{
    Access, GpuAvailability, REASON_CUDA_FOR_NVMAP, REASON_CUDA_FOR_NVML, REASON_NEEDS_ROOT,
    REASON_NO_SOURCE, gpu_used_from, select_gpu_source,
};
pub use peaks::{Extent, Peak, Peaks, Raised};
pub use phases::{MAX_OPEN_PHASES, PhaseTracker};
pub use plausible::{
    Implausible, MAX_PLAUSIBLE_BYTES, check as check_plausible, flagged as flagged_implausible,
    is_plausible_size, screen,
};
pub use pressure::{
    DEFAULT_BUDGET_PERMILLE, PressureConfig, PressureTracker, default_budget, headroom,
};
pub use window::{WINDOW_BUCKETS, WindowExtent};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_nvml;
