//! The record model: what a trace holds, in bytes, with unknown values absent.
//!
//! A trace is a [`Header`] followed by [`Record`]s. Every memory figure is in
//! bytes. A counter that could not be read is absent ([`Counters::get`]
//! returns `None`), never 0.

use heapless::String;
use serde::{Deserialize, Serialize};

/// Longest board model string kept (device-tree `model`).
pub const MODEL_LEN: usize = 96;
/// Longest SoC string kept (`tegra234`).
pub const SOC_LEN: usize = 24;
/// Longest JetPack string kept (`6.2.1`, `7.2 GA`, `6.1 (rev1)`).
pub const JETPACK_LEN: usize = 24;
/// Longest kernel release kept (`5.15.148-tegra`).
pub const KERNEL_LEN: usize = 64;
/// Longest CUDA device name kept.
pub const CUDA_NAME_LEN: usize = 96;
/// Longest traced command line kept in the header.
pub const COMMAND_LEN: usize = 512;
/// Longest user label kept.
pub const LABEL_LEN: usize = 64;
/// Longest marker label kept; longer labels are cut on a character boundary.
pub const MARK_LABEL_LEN: usize = 48;
/// Longest process name kept (the kernel's `comm` is at most 15 bytes).
pub const PROCESS_NAME_LEN: usize = 16;
/// Longest free-text reason kept (why a figure is unknown).
pub const REASON_LEN: usize = 96;

/// How CPU and GPU memory relate on the traced machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Architecture {
    /// CPU and GPU share one DRAM (Jetson/Tegra, or a CUDA device that reports
    /// `integrated = 1`). GPU memory is a subset of system memory.
    Unified,
    /// A discrete GPU with its own VRAM: VRAM and RAM add up.
    Discrete,
    /// No GPU seen: system memory only.
    #[default]
    CpuOnly,
}

impl Architecture {
    /// The stable name used in reports and JSON (`"unified"`, `"discrete"`, `"cpu-only"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Architecture::Unified => "unified",
            Architecture::Discrete => "discrete",
            Architecture::CpuOnly => "cpu-only",
        }
    }
}

/// Why the architecture was decided: one bit per piece of evidence seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Evidence(pub u16);

impl Evidence {
    /// `/etc/nv_tegra_release` exists and parsed.
    pub const NV_TEGRA_RELEASE: u16 = 1 << 0;
    /// The device-tree `model` names a Jetson or Tegra board.
    pub const DT_MODEL_JETSON: u16 = 1 << 1;
    /// The device-tree `compatible` list names an `nvidia,tegraNNN` SoC.
    pub const DT_COMPATIBLE_TEGRA: u16 = 1 << 2;
    /// The CUDA device name names a Tegra part (Orin, Xavier, Thor, …).
    pub const CUDA_NAME_TEGRA: u16 = 1 << 3;
    /// The CUDA device reports `integrated = 1`.
    pub const CUDA_INTEGRATED: u16 = 1 << 4;
    /// The CUDA device reports `integrated = 0`.
    pub const CUDA_DISCRETE: u16 = 1 << 5;
    /// No CUDA driver or no CUDA device was found.
    pub const NO_CUDA: u16 = 1 << 6;
    /// `/proc/meminfo` has NvMap lines (a Tegra 4.9 kernel).
    pub const MEMINFO_NVMAP: u16 = 1 << 7;

    /// Whether `bit` (one of the associated constants) is set.
    pub const fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }

    /// This evidence with `bit` added.
    pub const fn with(self, bit: u16) -> Self {
        Evidence(self.0 | bit)
    }
}

/// An L4T release as printed in `/etc/nv_tegra_release` (`R36 … REVISION: 4.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct L4tRelease {
    /// The `R` number (32, 35, 36, …).
    pub release: u16,
    /// The revision's first number.
    pub revision: u16,
    /// The revision's minor number; 0 when the file gives none.
    pub minor: u16,
}

/// Where the trace's "GPU memory used" counter ([`Counter::GpuUsed`]) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum GpuSource {
    /// No source was readable; see [`Platform::gpu_reason`].
    #[default]
    None,
    /// `NvMapMemUsed:` in `/proc/meminfo` (JetPack 4 kernels).
    MeminfoNvmap,
    /// `/sys/kernel/debug/nvmap/stats/total_memory` (root).
    NvmapTotal,
    /// The `total` row of `/sys/kernel/debug/nvmap/iovmm/clients` (root).
    NvmapClients,
    /// CUDA `cuMemGetInfo`: total − free of the device.
    Cuda,
    /// NVML device-wide memory of the GPU that is CUDA device 0:
    /// `NvmlTotal − NvmlFree` (Thor / JetPack 7, discrete GPUs).
    Nvml,
}

impl GpuSource {
    /// The stable name used in JSON (`gpu.source`); `None` for no source.
    pub const fn as_str(self) -> Option<&'static str> {
        match self {
            GpuSource::None => None,
            GpuSource::MeminfoNvmap => Some("meminfo-nvmap"),
            GpuSource::NvmapTotal => Some("nvmap-total"),
            GpuSource::NvmapClients => Some("nvmap-clients"),
            GpuSource::Cuda => Some("cuda"),
            GpuSource::Nvml => Some("nvml"),
        }
    }
}

/// The machine a trace was recorded on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Platform {
    /// Unified, discrete or CPU only.
    pub architecture: Architecture,
    /// What the architecture was decided on.
    pub evidence: Evidence,
    /// Device-tree model without its trailing NUL (`NVIDIA Jetson AGX Orin Developer Kit`), or empty.
    pub model: String<MODEL_LEN>,
    /// SoC from the device-tree `compatible` list (`tegra234`), or empty.
    pub soc: String<SOC_LEN>,
    /// L4T release, when `/etc/nv_tegra_release` was readable.
    pub l4t: Option<L4tRelease>,
    /// JetPack release from the L4T table (`6.2.1`), or empty when unknown.
    pub jetpack: String<JETPACK_LEN>,
    /// `uname -r` / `/proc/sys/kernel/osrelease`.
    pub kernel: String<KERNEL_LEN>,
    /// The page size in bytes, from `sysconf(_SC_PAGESIZE)` on the traced machine.
    pub page_size: u32,
    /// CUDA device name, or empty when there is none.
    pub cuda_device: String<CUDA_NAME_LEN>,
    /// Whether the CUDA device reports `integrated = 1`; `None` without CUDA.
    pub cuda_integrated: Option<bool>,
    /// `MemTotal` in bytes, when known.
    pub mem_total_bytes: Option<u64>,
    /// GPU total memory in bytes (VRAM on discrete, ≈ MemTotal on Tegra), when known.
    pub gpu_total_bytes: Option<u64>,
    /// Where [`Counter::GpuUsed`] comes from.
    pub gpu_source: GpuSource,
    /// Why GPU memory is unknown (or a caveat about its source), or empty.
    pub gpu_reason: String<REASON_LEN>,
}

/// The first record of every trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Header {
    /// The machine.
    pub platform: Platform,
    /// The nominal sampling interval in nanoseconds.
    pub interval_ns: u64,
    /// Wall-clock start, nanoseconds since the Unix epoch.
    pub start_unix_ns: u64,
    /// Monotonic-clock start (`CLOCK_MONOTONIC`), nanoseconds. Sample times are relative to it.
    pub start_monotonic_ns: u64,
    /// `/proc/sys/kernel/random/boot_id` as 16 bytes, all zero when unknown.
    pub boot_id: [u8; 16],
    /// Pid of the traced root process; `None` for a whole-system trace.
    pub pid: Option<u32>,
    /// The traced command line (arguments joined by spaces), cut to [`COMMAND_LEN`].
    pub command: String<COMMAND_LEN>,
    /// The user's label for this run.
    pub label: String<LABEL_LEN>,
    /// Threshold for pressure events: available/total in per mille (200 = 20 %).
    pub pressure_threshold_permille: u16,
    /// The memory budget in bytes that headroom is measured against, when set.
    pub budget_bytes: Option<u64>,
}

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident = $idx:literal, $key:literal; )*) => {
        /// One memory counter of a [`Sample`]. The number is its bit in the wire
        /// format's presence mask and never changes meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum Counter {
            $( $(#[$doc])* $name = $idx, )*
        }

        impl Counter {
            /// Every counter, in index order.
            pub const ALL: &'static [Counter] = &[ $( Counter::$name, )* ];

            /// The counter with wire index `index`, if this version knows it.
            pub const fn from_index(index: u8) -> Option<Counter> {
                match index {
                    $( $idx => Some(Counter::$name), )*
                    _ => None,
                }
            }

            /// A stable snake-case key for exports (`mem_available_bytes`).
            pub const fn key(self) -> &'static str {
                match self {
                    $( Counter::$name => $key, )*
                }
            }
        }
    };
}

counters! {
    /// `MemFree` (bytes). Low indices change most often: they keep masks short.
    MemFree = 0, "mem_free_bytes";
    /// `MemAvailable` (bytes).
    MemAvailable = 1, "mem_available_bytes";
    /// `Cached` (bytes).
    Cached = 2, "cached_bytes";
    /// `Buffers` (bytes).
    Buffers = 3, "buffers_bytes";
    /// Sum of `statm` resident pages × page size over the traced process tree (bytes).
    TreeRss = 4, "tree_rss_bytes";
    /// cgroup `memory.current` (v2) or `memory.usage_in_bytes` (v1) (bytes).
    CgroupCurrent = 5, "cgroup_current_bytes";
    /// GPU memory used, from [`Platform::gpu_source`] (bytes).
    GpuUsed = 6, "gpu_used_bytes";
    /// `SReclaimable` (bytes).
    SReclaimable = 7, "sreclaimable_bytes";
    /// `Shmem` (bytes).
    Shmem = 8, "shmem_bytes";
    /// `SwapFree` (bytes).
    SwapFree = 9, "swap_free_bytes";
    /// `SwapCached` (bytes).
    SwapCached = 10, "swap_cached_bytes";
    /// CUDA `cuMemGetInfo` free (bytes). On Tegra this is close to `MemFree`, not "available".
    CudaFree = 11, "cuda_free_bytes";
    /// `NvMapMemUsed` (bytes; JetPack 4 kernels only).
    NvMapMemUsed = 12, "nvmap_mem_used_bytes";
    /// `NvMapMemFree` (bytes; JetPack 4 kernels only): the nvmap page pool.
    NvMapMemFree = 13, "nvmap_mem_free_bytes";
    /// `Mlocked` (bytes).
    Mlocked = 14, "mlocked_bytes";
    /// `CmaFree` (bytes).
    CmaFree = 15, "cma_free_bytes";
    /// Number of processes in the traced tree.
    TreeProcesses = 16, "tree_processes";
    /// Sum of `VmSwap` over the tree (bytes; slow path).
    TreeSwap = 17, "tree_swap_bytes";
    /// Sum of `VmLck` over the tree (bytes; slow path).
    TreeLocked = 18, "tree_locked_bytes";
    /// Sum of `VmPin` over the tree (bytes; slow path).
    TreePinned = 19, "tree_pinned_bytes";
    /// Sum of `VmHWM` over the tree (bytes; slow path).
    TreeHwm = 20, "tree_hwm_bytes";
    /// zram `mm_stat` mem_used_total summed over devices (bytes of DRAM used by compressed swap).
    ZramUsed = 21, "zram_used_bytes";
    /// PSI `some avg10`, hundredths of a percent.
    PsiSomeAvg10 = 22, "psi_some_avg10_centipercent";
    /// PSI `full avg10`, hundredths of a percent.
    PsiFullAvg10 = 23, "psi_full_avg10_centipercent";
    /// GPU load, per mille.
    GpuLoadPermille = 24, "gpu_load_permille";
    /// cgroup `memory.peak` (v2) or `memory.max_usage_in_bytes` (v1) (bytes).
    CgroupPeak = 25, "cgroup_peak_bytes";
    /// `MemTotal` (bytes).
    MemTotal = 26, "mem_total_bytes";
    /// `SwapTotal` (bytes).
    SwapTotal = 27, "swap_total_bytes";
    /// `CmaTotal` (bytes).
    CmaTotal = 28, "cma_total_bytes";
    /// `HugePages_Total` × `Hugepagesize` (bytes).
    HugePagesTotal = 29, "hugepages_total_bytes";
    /// `HugePages_Free` × `Hugepagesize` (bytes).
    HugePagesFree = 30, "hugepages_free_bytes";
    /// cgroup `memory.max` (v2) or `memory.limit_in_bytes` (v1) (bytes); absent when unlimited.
    CgroupMax = 31, "cgroup_max_bytes";
    /// CUDA `cuMemGetInfo` total (bytes).
    CudaTotal = 32, "cuda_total_bytes";
    /// `NvMapMemUsed`-independent nvmap total from debugfs `stats/total_memory` (bytes).
    NvmapTotal = 33, "nvmap_total_bytes";
    /// The `total` row of nvmap `iovmm/clients` (bytes).
    NvmapClientsTotal = 34, "nvmap_clients_total_bytes";
    /// Format 1.1, `jetmem import tegrastats`: tegrastats' `RAM x/…` "used"
    /// (bytes, whole MiB: its own definition, never `MemTotal − MemAvailable`).
    TegrastatsRamUsed = 35, "tegrastats_ram_used_bytes";
    /// tegrastats' `RAM …/y` total (bytes, whole MiB).
    TegrastatsRamTotal = 36, "tegrastats_ram_total_bytes";
    /// tegrastats' `SWAP x/…` (bytes, whole MiB).
    TegrastatsSwapUsed = 37, "tegrastats_swap_used_bytes";
    /// tegrastats' `SWAP …/y` (bytes, whole MiB).
    TegrastatsSwapTotal = 38, "tegrastats_swap_total_bytes";
    /// tegrastats' `SWAP (cached z)` (bytes, whole MiB).
    TegrastatsSwapCached = 39, "tegrastats_swap_cached_bytes";
    /// tegrastats' largest free block size, `(lfb NxSIZE)`'s SIZE (bytes).
    TegrastatsLfbBytes = 40, "tegrastats_lfb_bytes";
    /// tegrastats' count of free blocks of the largest size, `(lfb NxSIZE)`'s N.
    TegrastatsLfbBlocks = 41, "tegrastats_lfb_blocks";
    /// tegrastats' GPU load (`GR3D_FREQ x%`), percent.
    TegrastatsGpuLoadPercent = 42, "tegrastats_gpu_load_percent";
    /// tegrastats' GPU clock (`GR3D_FREQ …@f`, the highest GPC's), MHz.
    TegrastatsGpuFreqMhz = 43, "tegrastats_gpu_freq_mhz";
    /// tegrastats' memory controller load (`EMC_FREQ x%`), percent.
    TegrastatsEmcLoadPercent = 44, "tegrastats_emc_load_percent";
    /// Format 1.1: NVML `total` of the GPU that is CUDA device 0
    /// (`nvmlDeviceGetMemoryInfo_v2`, else v1; bytes).
    NvmlTotal = 45, "nvml_total_bytes";
    /// NVML `free` of that GPU: unallocated device memory (bytes). GPU used
    /// from NVML is `NvmlTotal − NvmlFree` (`accounting::nvml_used`).
    NvmlFree = 46, "nvml_free_bytes";
    /// NVML `reserved` of that GPU, for the driver and firmware (bytes; only
    /// from `nvmlDeviceGetMemoryInfo_v2`).
    NvmlReserved = 47, "nvml_reserved_bytes";
}

/// Number of counters this format version knows.
pub const COUNTER_COUNT: usize = 48;

/// A fixed set of counter values with a presence mask: absent means unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    present: u64,
    values: [u64; COUNTER_COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Self::new()
    }
}

impl Counters {
    /// No counter known.
    pub const fn new() -> Self {
        Counters {
            present: 0,
            values: [0; COUNTER_COUNT],
        }
    }

    /// The value of `c`, or `None` when it was not read.
    #[inline]
    pub fn get(&self, c: Counter) -> Option<u64> {
        let i = c as usize;
        if self.present & (1u64 << i) != 0 {
            self.values.get(i).copied()
        } else {
            None
        }
    }

    /// Sets `c` to `value`, or marks it unknown with `None`.
    #[inline]
    pub fn set(&mut self, c: Counter, value: Option<u64>) {
        let i = c as usize;
        match value {
            Some(v) => {
                if let Some(slot) = self.values.get_mut(i) {
                    *slot = v;
                    self.present |= 1u64 << i;
                }
            }
            None => {
                if let Some(slot) = self.values.get_mut(i) {
                    *slot = 0;
                }
                self.present &= !(1u64 << i);
            }
        }
    }

    /// The presence mask: bit `i` is set when counter index `i` is known.
    #[inline]
    pub const fn present_mask(&self) -> u64 {
        self.present
    }

    /// The raw value slot of index `i` (0 when absent or out of range).
    #[inline]
    pub fn raw(&self, i: usize) -> u64 {
        self.values.get(i).copied().unwrap_or(0)
    }

    /// Sets the raw slot `i` and its presence bit; indices this version does not know are ignored.
    #[inline]
    pub fn set_raw(&mut self, i: usize, value: u64) {
        if let Some(slot) = self.values.get_mut(i) {
            *slot = value;
            self.present |= 1u64 << i;
        }
    }

    /// Iterates over the known counters and their values.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, u64)> + '_ {
        Counter::ALL
            .iter()
            .filter_map(move |&c| self.get(c).map(|v| (c, v)))
    }
}

/// One sample of memory counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sample {
    /// Nanoseconds since [`Header::start_monotonic_ns`].
    pub t_ns: u64,
    /// The counters read for this sample.
    pub counters: Counters,
}

/// What a [`Mark`] says about a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
#[non_exhaustive]
pub enum MarkKind {
    /// A phase with this label begins.
    Begin = 0,
    /// The innermost open phase with this label ends.
    End = 1,
    /// A point in time (a frame boundary, say).
    Instant = 2,
}

/// A marker pushed by the traced program (frame boundaries, phases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Nanoseconds since the trace start.
    pub t_ns: u64,
    /// Begin, end or instant.
    pub kind: MarkKind,
    /// The label, cut to [`MARK_LABEL_LEN`] bytes on a character boundary.
    pub label: String<MARK_LABEL_LEN>,
    /// The process that wrote it through the marker channel (format 1.1, a
    /// trailing field written only when known; `None` for in-process marks).
    #[serde(skip)]
    pub pid: Option<u32>,
}

/// Whether a process joined or left the traced set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ProcessChange {
    /// The pid joined the traced tree.
    Joined,
    /// The pid left (exited, or was reparented out of the tree).
    Left,
}

/// A process joined or left the traced tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessEvent {
    /// Nanoseconds since the trace start.
    pub t_ns: u64,
    /// The process id.
    pub pid: u32,
    /// Its parent at the time it was seen (0 when unknown).
    pub ppid: u32,
    /// Joined or left.
    pub change: ProcessChange,
    /// The kernel's `comm` of the process.
    pub name: String<PROCESS_NAME_LEN>,
}

/// Per-process memory from the slow path (`/proc/PID/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessMemory {
    /// Nanoseconds since the trace start.
    pub t_ns: u64,
    /// The process id.
    pub pid: u32,
    /// `VmRSS` in bytes.
    pub rss_bytes: Option<u64>,
    /// `VmHWM` in bytes.
    pub hwm_bytes: Option<u64>,
    /// `VmSwap` in bytes.
    pub swap_bytes: Option<u64>,
    /// `VmLck` + `VmPin` in bytes.
    pub locked_bytes: Option<u64>,
}

/// A framework allocator's own figures, pushed from inside the process
/// (PyTorch's `memory_allocated()`, `memory_reserved()` and their peaks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocator {
    /// Nanoseconds since the trace start.
    pub t_ns: u64,
    /// Device ordinal the figures are for.
    pub device: u8,
    /// Bytes handed out to tensors.
    pub allocated: Option<u64>,
    /// Bytes the allocator holds from the driver (allocated + cached).
    pub reserved: Option<u64>,
    /// Peak of `allocated` as the allocator reports it.
    pub peak_allocated: Option<u64>,
    /// Peak of `reserved` as the allocator reports it.
    pub peak_reserved: Option<u64>,
    /// The process that wrote it through the marker channel (format 1.1, as [`Mark::pid`]).
    #[serde(skip)]
    pub pid: Option<u32>,
}

/// Which threshold an [`Event`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EventKind {
    /// Available memory fell under the pressure threshold.
    PressureEntered,
    /// Available memory rose back above the threshold plus hysteresis.
    PressureLeft,
    /// System memory used went over the budget.
    BudgetExceeded,
    /// System memory used fell back under the budget.
    BudgetRecovered,
}

impl EventKind {
    /// The stable name used in reports and JSON (`"pressure-entered"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::PressureEntered => "pressure-entered",
            EventKind::PressureLeft => "pressure-left",
            EventKind::BudgetExceeded => "budget-exceeded",
            EventKind::BudgetRecovered => "budget-recovered",
        }
    }

    /// Whether the event is about available memory (pressure), not about used (budget).
    pub const fn is_pressure(self) -> bool {
        matches!(self, EventKind::PressureEntered | EventKind::PressureLeft)
    }
}

/// A threshold was crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Nanoseconds since the trace start.
    pub t_ns: u64,
    /// What was crossed.
    pub kind: EventKind,
    /// The value that crossed it (bytes available, or bytes used).
    pub value: u64,
    /// The threshold, in the same unit.
    pub threshold: u64,
}

/// Samples lost because the ring between sampler and writer was full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Nanoseconds since the trace start, when the loss was noticed.
    pub t_ns: u64,
    /// How many samples were lost since the previous `Dropped` record.
    pub samples: u64,
}

/// Marks and allocator figures one writer of the marker channel lost because
/// the channel was full (format 1.1, tag 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelLost {
    /// Nanoseconds since the trace start, when the recorder noticed the loss.
    pub t_ns: u64,
    /// The writer's pid (0: a writer the channel's writer table had no room for).
    pub pid: u32,
    /// Records it lost since the previous `ChannelLost` for this pid.
    pub records: u64,
}

/// One process's CUDA allocations as counted by the `--cuda-hook` interposer
/// (format 1.1, tag 20): live and peak bytes by kind since the hook loaded,
/// and counts. Peaks are the process's own, kept between snapshots; docs/cuda-hook.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CudaHook {
    /// Nanoseconds since the trace start (the writer's time, on the trace clock).
    pub t_ns: u64,
    /// The process the figures are for.
    pub pid: u32,
    /// Live and peak bytes, indexed by [`CudaHookKind`].
    pub live: [u64; CUDA_HOOK_KINDS],
    /// Peak of each `live` figure since the hook loaded in this process.
    pub peak: [u64; CUDA_HOOK_KINDS],
    /// Successful allocation calls counted.
    pub allocations: u64,
    /// Successful free calls counted.
    pub frees: u64,
    /// Allocations the hook's fixed pointer table had no room for (their free is not matched).
    pub table_overflow: u64,
}

/// One traced process's GPU memory as NVML reports it
/// (`nvmlDeviceGetComputeRunningProcesses`, format 1.1, tag 21), read on the
/// sampler's slow path; docs/trace-format.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuProcess {
    /// Nanoseconds since the trace start.
    pub t_ns: u64,
    /// The process (host pid namespace).
    pub pid: u32,
    /// `usedGpuMemory` summed over the devices it runs on, bytes; `None` when
    /// NVML says it is not available (never 0 for unknown).
    pub used_bytes: Option<u64>,
}

/// How many kinds of CUDA memory the hook tells apart.
pub const CUDA_HOOK_KINDS: usize = 4;

/// The kinds of CUDA memory the hook counts: the index into [`CudaHook::live`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CudaHookKind {
    /// `cuMemAlloc_v2`, `cuMemAllocPitch_v2`, `cuMemAllocAsync`, `cuMemAllocFromPoolAsync`.
    Device = 0,
    /// `cuMemAllocManaged`.
    Managed = 1,
    /// `cuMemAllocHost_v2`, `cuMemHostAlloc`, `cuMemHostRegister_v2`.
    Pinned = 2,
    /// `cuMemCreate` handles (virtual memory management).
    Vmm = 3,
}

impl CudaHookKind {
    /// All kinds, in index order.
    pub const ALL: [CudaHookKind; CUDA_HOOK_KINDS] = [
        CudaHookKind::Device,
        CudaHookKind::Managed,
        CudaHookKind::Pinned,
        CudaHookKind::Vmm,
    ];
}

/// The clean end of a trace, with what tracing cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct End {
    /// Nanoseconds since the trace start.
    pub t_ns: u64,
    /// Samples taken.
    pub samples: u64,
    /// Samples lost to ring overflow, in all.
    pub dropped: u64,
    /// CPU time of the sampler thread, nanoseconds.
    pub sampler_cpu_ns: u64,
    /// CPU time of the writer thread, nanoseconds.
    pub writer_cpu_ns: u64,
    /// Median lateness of samples against their deadline, nanoseconds.
    pub lateness_p50_ns: u64,
    /// 99th-percentile lateness, nanoseconds.
    pub lateness_p99_ns: u64,
    /// Largest lateness, nanoseconds.
    pub lateness_max_ns: u64,
    /// Exit status of the traced command, when jetmem ran it (128 + signal when killed).
    pub exit_code: Option<i32>,
}

/// One record of a trace after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "samples are the common record; boxing needs an allocator the core does not have"
)]
pub enum Record {
    /// Memory counters.
    Sample(Sample),
    /// A phase or frame marker.
    Mark(Mark),
    /// A process joined or left.
    Process(ProcessEvent),
    /// Per-process memory from the slow path.
    ProcessMemory(ProcessMemory),
    /// Framework allocator figures.
    Allocator(Allocator),
    /// A threshold crossed.
    Event(Event),
    /// Samples lost to ring overflow.
    Dropped(Dropped),
    /// Marker-channel records one writer lost (format 1.1).
    ChannelLost(ChannelLost),
    /// One process's CUDA allocations from the `--cuda-hook` interposer (format 1.1).
    CudaHook(CudaHook),
    /// One traced process's NVML GPU memory (format 1.1).
    GpuProcess(GpuProcess),
    /// Clean end.
    End(End),
}

impl Record {
    /// The record's time, nanoseconds since the trace start.
    pub fn t_ns(&self) -> u64 {
        match self {
            Record::Sample(s) => s.t_ns,
            Record::Mark(m) => m.t_ns,
            Record::Process(p) => p.t_ns,
            Record::ProcessMemory(p) => p.t_ns,
            Record::Allocator(a) => a.t_ns,
            Record::Event(e) => e.t_ns,
            Record::Dropped(d) => d.t_ns,
            Record::ChannelLost(c) => c.t_ns,
            Record::CudaHook(c) => c.t_ns,
            Record::GpuProcess(g) => g.t_ns,
            Record::End(e) => e.t_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_indices_are_dense_and_keys_unique() {
        assert_eq!(Counter::ALL.len(), COUNTER_COUNT);
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(Counter::from_index(i as u8), Some(*c));
        }
        let mut keys: std::vec::Vec<_> = Counter::ALL.iter().map(|c| c.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), COUNTER_COUNT);
        const { assert!(COUNTER_COUNT <= 64, "the presence mask is a u64") };
    }

    #[test]
    fn absent_is_not_zero() {
        let mut c = Counters::new();
        assert_eq!(c.get(Counter::GpuUsed), None);
        c.set(Counter::GpuUsed, Some(0));
        assert_eq!(c.get(Counter::GpuUsed), Some(0));
        c.set(Counter::GpuUsed, None);
        assert_eq!(c.get(Counter::GpuUsed), None);
        assert_eq!(c.present_mask(), 0);
    }
}
