//! The report model: what a trace says, computed from the trace file alone by
//! `crate::analyze`. Its serde form is the stable JSON of `docs/report-json.md`:
//! the enums serialize to exactly the strings that contract names.

use jetmem_core::record::{Architecture, EventKind, GpuSource};
use serde::{Serialize, Serializer};

/// Version of the report JSON; bumped only when a key changes meaning or goes away.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// The whole report of one trace.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format_version: u32,
    pub label: String,
    pub command: String,
    #[serde(serialize_with = "architecture_name")]
    pub architecture: Architecture,
    pub platform: PlatformInfo,
    pub duration_s: f64,
    pub samples: u64,
    pub dropped: u64,
    pub skipped_bytes: u64,
    pub damage: Damage,
    pub exit_code: Option<i32>,
    pub system: System,
    pub gpu: Gpu,
    /// `null` in JSON when the trace has no CUDA figure at all (the report-json contract).
    #[serde(serialize_with = "cuda_or_null")]
    pub cuda: Cuda,
    pub process: Process,
    /// `null` in JSON unless the trace was imported from tegrastats.
    pub tegrastats: Option<Tegrastats>,
    pub total_peak_bytes: Option<u64>,
    pub total_peak: TotalPeak,
    pub headroom: Headroom,
    pub pressure_events: Vec<PressureEvent>,
    pub phases: Vec<Phase>,
    /// One row per phase label: counts, writer pids, durations and peaks.
    pub phase_summary: Vec<PhaseSummary>,
    /// `--cuda-hook` figures; `null` when the run was not hooked.
    pub cuda_hook: Option<CudaHookReport>,
    pub advice: Vec<Advice>,
    pub tracer: TracerCost,
    /// Values left out of every figure as implausible; absent from JSON when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub implausible: Vec<ImplausibleValue>,
    /// What the bounded analysis left out; absent from JSON when nothing was.
    #[serde(skip_serializing_if = "Omitted::is_empty")]
    pub omitted: Omitted,
}

/// A value found implausible (`core::accounting::plausible`): never a figure.
#[derive(Debug, Clone, Serialize)]
pub struct ImplausibleValue {
    /// Its source: the counter's key (`nvmap_mem_used_bytes`) or `budget_bytes`.
    pub source: &'static str,
    /// The largest such value seen.
    pub max_value: u64,
    /// The rule it broke (`above MemTotal`, `above 2^50 bytes`).
    pub rule: &'static str,
}

/// What a report leaves out to stay bounded on any trace (docs/report-json.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Omitted {
    /// Begin marks not tracked because the most phases were open at once (`unclosed`).
    pub unclosed_phases: u64,
    /// Closed phases beyond the most a report lists.
    pub phases: u64,
    /// Pressure/budget events beyond the most a report lists.
    pub pressure_events: u64,
    /// Processes beyond the most a report follows.
    pub processes: u64,
}

impl Omitted {
    /// Whether nothing was left out.
    pub fn is_empty(&self) -> bool {
        *self == Omitted::default()
    }
}

/// The recorder's own cost and cadence (`core::accounting::Cadence` and the `End` record).
#[derive(Debug, Clone, Serialize)]
pub struct TracerCost {
    pub interval_s: f64,
    pub samples_scheduled: u64,
    pub samples_taken: u64,
    pub deadlines_missed: u64,
    /// Stalls longer than 5 intervals (the first 32; `gaps_not_listed` counts the rest).
    pub gaps: Vec<TracerGap>,
    pub gaps_not_listed: u64,
    /// The lateness and CPU figures come from the `End` record: `null` without one.
    pub lateness_p50_s: Option<f64>,
    pub lateness_p99_s: Option<f64>,
    pub lateness_max_s: Option<f64>,
    pub cpu_percent_sampler: Option<f64>,
    pub cpu_percent_writer: Option<f64>,
    /// Sampler and writer threads together (the main thread only waits for the command).
    pub cpu_percent_total: Option<f64>,
    pub bytes_per_sample: Option<f64>,
}

/// A stall of the recorder: no sample for `length_s` after `t_s`.
#[derive(Debug, Clone, Serialize)]
pub struct TracerGap {
    pub t_s: f64,
    pub length_s: f64,
}

/// The CUDA allocations the `--cuda-hook` interposer counted (docs/cuda-hook.md).
#[derive(Debug, Clone, Serialize)]
pub struct CudaHookReport {
    /// Tree totals at their peak moment, per kind.
    pub device_peak_bytes: u64,
    pub managed_peak_bytes: u64,
    pub pinned_peak_bytes: u64,
    pub vmm_peak_bytes: u64,
    /// Allocations the hook's pointer table had no room for (then not in the figures).
    pub table_overflow: u64,
    /// Processes where the hook counted at least one call, by pid.
    pub processes: Vec<CudaHookProcess>,
}

/// One process's `--cuda-hook` figures.
#[derive(Debug, Clone, Serialize)]
pub struct CudaHookProcess {
    pub pid: u32,
    pub name: Option<String>,
    pub device_peak_bytes: u64,
    /// Device bytes still allocated at the process's last snapshot (its exit).
    pub device_end_bytes: u64,
    pub managed_peak_bytes: u64,
    pub pinned_peak_bytes: u64,
    pub vmm_peak_bytes: u64,
    pub allocations: u64,
    pub frees: u64,
}

/// The machine.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformInfo {
    pub model: Option<String>,
    pub soc: Option<String>,
    pub l4t: Option<String>,
    pub jetpack: Option<String>,
    pub cuda_device: Option<String>,
    pub kernel: Option<String>,
    pub page_size: Option<u32>,
}

impl From<&jetmem_core::record::Platform> for PlatformInfo {
    /// The JSON form: `l4t` as release.revision.minor, empty strings as `null`.
    fn from(p: &jetmem_core::record::Platform) -> Self {
        PlatformInfo {
            model: non_empty(&p.model),
            soc: non_empty(&p.soc),
            l4t: p
                .l4t
                .map(|l| format!("{}.{}.{}", l.release, l.revision, l.minor)),
            jetpack: non_empty(&p.jetpack),
            cuda_device: non_empty(&p.cuda_device),
            kernel: non_empty(&p.kernel),
            page_size: (p.page_size != 0).then_some(p.page_size),
        }
    }
}

/// How much of the file could not be decoded.
#[derive(Debug, Clone, Serialize)]
pub struct Damage {
    pub skipped_bytes: u64,
    pub skipped_frames: u64,
    pub truncated_tail_bytes: u64,
    pub malformed_frames: u64,
    pub unknown_records: u64,
    pub clean_end: bool,
}

/// System memory (all DRAM on unified memory).
#[derive(Debug, Clone, Serialize)]
pub struct System {
    pub total_bytes: Option<u64>,
    pub used_peak_bytes: Option<u64>,
    pub used_peak_t_s: Option<f64>,
    pub used_definition: &'static str,
    /// Highest `MemTotal − MemFree − Buffers − Cached` (tegrastats' and jtop's "used").
    pub used_tegrastats_peak_bytes: Option<u64>,
    pub used_tegrastats_definition: &'static str,
    pub available_min_bytes: Option<u64>,
    pub swap_used_peak_bytes: Option<u64>,
    pub swap_is_zram: bool,
}

/// Figures imported from tegrastats (`jetmem import tegrastats`), with its own
/// definition of "used" and its resolution of 1 MiB.
#[derive(Debug, Clone, Serialize)]
pub struct Tegrastats {
    pub used_definition: &'static str,
    pub resolution_bytes: u64,
    pub ram_used_peak_bytes: Option<u64>,
    pub ram_used_peak_t_s: Option<f64>,
    pub ram_total_bytes: Option<u64>,
    pub swap_used_peak_bytes: Option<u64>,
    pub swap_total_bytes: Option<u64>,
    pub swap_cached_peak_bytes: Option<u64>,
    pub lfb_min_bytes: Option<u64>,
    pub lfb_min_blocks: Option<u64>,
    pub gpu_load_peak_percent: Option<u64>,
    pub gpu_freq_peak_mhz: Option<u64>,
    pub emc_load_peak_percent: Option<u64>,
}

/// GPU memory: a subset of system memory on unified, VRAM on discrete.
#[derive(Debug, Clone, Serialize)]
pub struct Gpu {
    pub used_peak_bytes: Option<u64>,
    /// `null` when no source was found (`GpuSource::None`).
    #[serde(serialize_with = "gpu_source_name")]
    pub source: GpuSource,
    pub reason: Option<String>,
    pub subset_of_system: bool,
    pub used_at_system_peak_bytes: Option<u64>,
    pub cpu_os_at_system_peak_bytes: Option<u64>,
    pub sources_disagree: bool,
    /// NVML's per-process GPU memory of the traced tree (docs/report-json.md);
    /// left out when NVML gave no figures (no NVML, or no traced process on a GPU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processes: Option<Vec<GpuProcessReport>>,
}

/// One traced process NVML listed on a GPU.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GpuProcessReport {
    pub pid: u32,
    /// The process's name from the trace's process records; `null` if unknown.
    pub name: Option<String>,
    /// The largest `usedGpuMemory` NVML reported for it during the run;
    /// `null` when NVML never gave a number (not available), never 0.
    pub used_bytes: Option<u64>,
}

impl Cuda {
    /// Whether the trace holds any CUDA figure.
    pub fn is_empty(&self) -> bool {
        self.alloc_peak_bytes.is_none()
            && self.reserved_peak_bytes.is_none()
            && self.device_used_peak_bytes.is_none()
            && self.device_free_min_bytes.is_none()
    }
}

fn cuda_or_null<S: serde::Serializer>(cuda: &Cuda, s: S) -> Result<S::Ok, S::Error> {
    if cuda.is_empty() {
        s.serialize_none()
    } else {
        s.serialize_some(cuda)
    }
}

/// CUDA figures: the framework allocator's, and the device's (`cuMemGetInfo`).
#[derive(Debug, Clone, Serialize)]
pub struct Cuda {
    pub alloc_peak_bytes: Option<u64>,
    pub reserved_peak_bytes: Option<u64>,
    pub device_used_peak_bytes: Option<u64>,
    pub device_free_min_bytes: Option<u64>,
}

/// The traced process tree.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    pub pid: Option<u32>,
    pub rss_peak_bytes: Option<u64>,
    pub processes_peak: Option<u64>,
    pub pinned_peak_bytes: Option<u64>,
    pub locked_peak_bytes: Option<u64>,
    pub swap_peak_bytes: Option<u64>,
    /// The processes with the highest RSS (from the slow path), largest first, at most 5.
    pub top: Vec<ProcessPeak>,
}

/// One process's peak from `ProcessMemory` records.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessPeak {
    pub pid: u32,
    pub name: Option<String>,
    pub root: bool,
    pub rss_peak_bytes: Option<u64>,
    pub hwm_bytes: Option<u64>,
}

/// The moment the total (unified: system used; discrete: VRAM + RAM) was highest, split.
#[derive(Debug, Clone, Serialize)]
pub struct TotalPeak {
    pub t_s: Option<f64>,
    pub ram_bytes: Option<u64>,
    pub vram_bytes: Option<u64>,
}

/// Headroom against the budget.
#[derive(Debug, Clone, Serialize)]
pub struct Headroom {
    pub budget_bytes: Option<u64>,
    pub budget_source: BudgetSource,
    pub min_bytes: Option<i64>,
    pub exceeded: bool,
}

/// A threshold crossing recorded in the trace.
#[derive(Debug, Clone, Serialize)]
pub struct PressureEvent {
    pub t_s: f64,
    #[serde(serialize_with = "event_kind_name")]
    pub kind: EventKind,
    pub value_bytes: u64,
    pub threshold_bytes: u64,
}

/// A phase from `Mark` records, with its peaks.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub label: String,
    pub start_s: f64,
    pub end_s: f64,
    pub duration_s: f64,
    pub closed: bool,
    pub system_used_peak_bytes: Option<u64>,
    pub gpu_used_peak_bytes: Option<u64>,
    pub rss_peak_bytes: Option<u64>,
    /// The writer's pid (marker channel), else the traced pid; not in the JSON `phases`.
    #[serde(skip)]
    pub pid: Option<u32>,
    /// Largest `allocated` pushed by the allocator during the phase; not in the JSON `phases`.
    #[serde(skip)]
    pub cuda_alloc_peak_bytes: Option<u64>,
}

/// Every occurrence of one phase label, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseSummary {
    pub label: String,
    /// Occurrences (closed or not).
    pub count: u64,
    /// Distinct writer pids, ascending.
    pub pids: Vec<u32>,
    /// Over closed occurrences; `null` when none closed.
    pub duration_mean_s: Option<f64>,
    pub duration_p95_s: Option<f64>,
    pub duration_max_s: Option<f64>,
    pub system_used_peak_bytes: Option<u64>,
    pub gpu_used_peak_bytes: Option<u64>,
    pub rss_peak_bytes: Option<u64>,
    pub cuda_alloc_peak_bytes: Option<u64>,
    /// Begins without an end.
    pub unclosed: u64,
}

/// One advice line with the evidence behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    pub code: AdviceCode,
    pub message: String,
}

pub(crate) fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Where the budget came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BudgetSource {
    /// Set with `record --budget`.
    #[serde(rename = "trace")]
    Trace,
    /// 80 % of MemTotal (`jetmem_core::accounting::DEFAULT_BUDGET_PERMILLE`).
    #[serde(rename = "default-80-percent")]
    Default80Percent,
}

impl BudgetSource {
    /// How text and Markdown name it.
    pub const fn describe(self) -> &'static str {
        match self {
            BudgetSource::Trace => "set with record --budget",
            BudgetSource::Default80Percent => "default: 80 % of MemTotal",
        }
    }
}

/// Which advice an [`Advice`] line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdviceCode {
    PinnedOnUnified,
    WorkerProcesses,
    CudaFreeIsMemfree,
    HeadroomExceeded,
    GpuSourceDisagrees,
    ZramSwap,
    DamagedTrace,
    CudaMemoryAtExit,
}

/// `Architecture` as its stable name (`"unified"`, `"discrete"`, `"cpu-only"`).
pub fn architecture_name<S: Serializer>(a: &Architecture, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(a.as_str())
}

/// `GpuSource` as its stable name, `null` for none.
pub fn gpu_source_name<S: Serializer>(g: &GpuSource, s: S) -> Result<S::Ok, S::Error> {
    match g.as_str() {
        Some(name) => s.serialize_str(name),
        None => s.serialize_none(),
    }
}

/// `EventKind` as its stable name (`"pressure-entered"`, …).
pub fn event_kind_name<S: Serializer>(k: &EventKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}
