//! The report model: what a trace says, computed from the trace file alone.
//!
//! [`Analyzer`] consumes a trace's records in file order and keeps running
//! peaks; [`Analyzer::finish`] turns them into a [`Report`], whose serde form is
//! the stable JSON of `docs/report-json.md`.

use std::collections::BTreeMap;
use std::path::Path;

use jetmem_core::record::{
    Architecture, Counter, EventKind, Header, MarkKind, Platform, Record, Sample,
};
use jetmem_core::wire::Item;
use jetmem_core::wire::stream::DecodeStats;
use serde::Serialize;

use crate::error::CliError;
use crate::report::advice;
use crate::trace;
use crate::units::secs;
use jetmem_core::accounting::{Figures, PressureConfig, USED_DEFINITION, figures};

/// Version of the report JSON; bumped only when a key changes meaning or goes away.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// The whole report of one trace.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format_version: u32,
    pub label: String,
    pub command: String,
    pub architecture: &'static str,
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
    pub total_peak_bytes: Option<u64>,
    pub total_peak: TotalPeak,
    pub headroom: Headroom,
    pub pressure_events: Vec<PressureEvent>,
    pub phases: Vec<Phase>,
    pub advice: Vec<Advice>,
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
    pub available_min_bytes: Option<u64>,
    pub swap_used_peak_bytes: Option<u64>,
    pub swap_is_zram: bool,
}

/// GPU memory: a subset of system memory on unified, VRAM on discrete.
#[derive(Debug, Clone, Serialize)]
pub struct Gpu {
    pub used_peak_bytes: Option<u64>,
    pub source: Option<&'static str>,
    pub reason: Option<String>,
    pub subset_of_system: bool,
    pub used_at_system_peak_bytes: Option<u64>,
    pub cpu_os_at_system_peak_bytes: Option<u64>,
    pub sources_disagree: bool,
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
    /// `"trace"` (set when recording) or `"default-80-percent"`.
    pub budget_source: &'static str,
    pub min_bytes: Option<i64>,
    pub exceeded: bool,
}

/// A threshold crossing recorded in the trace.
#[derive(Debug, Clone, Serialize)]
pub struct PressureEvent {
    pub t_s: f64,
    pub kind: &'static str,
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
}

/// One advice line with the evidence behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    pub code: &'static str,
    pub message: String,
}

/// A running maximum or minimum of optional values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Peak {
    pub value: Option<u64>,
    pub t_ns: u64,
}

impl Peak {
    fn max(&mut self, v: Option<u64>, t_ns: u64) -> bool {
        match (v, self.value) {
            (Some(v), Some(cur)) if v <= cur => false,
            (Some(v), _) => {
                self.value = Some(v);
                self.t_ns = t_ns;
                true
            }
            (None, _) => false,
        }
    }

    fn min(&mut self, v: Option<u64>, t_ns: u64) {
        match (v, self.value) {
            (Some(v), Some(cur)) if v >= cur => {}
            (Some(v), _) => {
                self.value = Some(v);
                self.t_ns = t_ns;
            }
            (None, _) => {}
        }
    }
}

/// One point of the memory-over-time series kept for plots.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub t_ns: u64,
    pub figures: Figures,
    pub rss: Option<u64>,
}

#[derive(Debug, Clone)]
struct OpenPhase {
    label: String,
    start_ns: u64,
    used: Peak,
    gpu: Peak,
    rss: Peak,
}

/// Peaks of the whole trace, updated sample by sample.
#[derive(Debug, Default)]
pub struct Peaks {
    pub used: Peak,
    pub available_min: Peak,
    pub swap: Peak,
    pub gpu: Peak,
    pub vram: Peak,
    pub total: Peak,
    pub rss: Peak,
    pub processes: Peak,
    pub pinned: Peak,
    pub locked: Peak,
    pub tree_swap: Peak,
    pub mlocked: Peak,
    pub cuda_used: Peak,
    pub cuda_free_min: Peak,
    pub mem_free_at_cuda_free_min: Option<u64>,
    pub available_at_cuda_free_min: Option<u64>,
    pub alloc: Peak,
    pub reserved: Peak,
    /// Figures at the moment of the system-used peak.
    pub at_used_peak: Option<Figures>,
    /// Figures at the moment of the total peak.
    pub at_total_peak: Option<Figures>,
    pub swap_is_zram: bool,
    pub sources_disagree: bool,
}

/// Consumes a trace's records and keeps what the report needs.
#[derive(Debug)]
pub struct Analyzer {
    platform: Platform,
    header: Header,
    pub peaks: Peaks,
    samples: u64,
    last_t_ns: u64,
    dropped: u64,
    end: Option<jetmem_core::record::End>,
    events: Vec<PressureEvent>,
    open: Vec<OpenPhase>,
    phases: Vec<Phase>,
    keep_points: bool,
    pub points: Vec<Point>,
    procs: BTreeMap<u32, ProcessPeak>,
}

/// Processes listed in `process.top`.
const TOP_PROCESSES: usize = 5;

impl Analyzer {
    /// Starts an analysis of a trace with this header; `keep_points` keeps the series for plots.
    pub fn new(header: &Header, keep_points: bool) -> Self {
        Analyzer {
            platform: header.platform.clone(),
            header: header.clone(),
            peaks: Peaks::default(),
            samples: 0,
            last_t_ns: 0,
            dropped: 0,
            end: None,
            events: Vec::new(),
            open: Vec::new(),
            phases: Vec::new(),
            keep_points,
            points: Vec::new(),
            procs: BTreeMap::new(),
        }
    }

    fn proc_entry(&mut self, pid: u32) -> &mut ProcessPeak {
        let root = self.header.pid == Some(pid);
        let root_name = root
            .then(|| {
                self.header
                    .command
                    .split_whitespace()
                    .next()
                    .map(|p| p.rsplit('/').next().unwrap_or(p).to_owned())
            })
            .flatten();
        self.procs.entry(pid).or_insert_with(|| ProcessPeak {
            pid,
            name: root_name,
            root,
            rss_peak_bytes: None,
            hwm_bytes: None,
        })
    }

    /// The trace's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Takes one decoded item.
    pub fn push(&mut self, item: &Item) {
        let Item::Record(r) = item else { return };
        self.last_t_ns = self.last_t_ns.max(r.t_ns());
        match r {
            Record::Sample(s) => self.sample(s),
            Record::Mark(m) => match m.kind {
                MarkKind::Begin => self.open.push(OpenPhase {
                    label: m.label.to_string(),
                    start_ns: m.t_ns,
                    used: Peak::default(),
                    gpu: Peak::default(),
                    rss: Peak::default(),
                }),
                MarkKind::End => {
                    if let Some(i) = self.open.iter().rposition(|p| p.label == m.label.as_str()) {
                        let p = self.open.remove(i);
                        self.phases.push(close_phase(p, m.t_ns, true));
                    }
                }
                _ => {}
            },
            Record::Allocator(a) => {
                let alloc = max_opt(a.allocated, a.peak_allocated);
                let reserved = max_opt(a.reserved, a.peak_reserved);
                self.peaks.alloc.max(alloc, a.t_ns);
                self.peaks.reserved.max(reserved, a.t_ns);
            }
            Record::Event(e) => self.events.push(PressureEvent {
                t_s: secs(e.t_ns),
                kind: event_kind(e.kind),
                value_bytes: e.value,
                threshold_bytes: e.threshold,
            }),
            Record::Process(p) => {
                let e = self.proc_entry(p.pid);
                if !p.name.is_empty() {
                    e.name = Some(p.name.to_string());
                }
            }
            Record::ProcessMemory(pm) => {
                let e = self.proc_entry(pm.pid);
                e.rss_peak_bytes = max_opt(e.rss_peak_bytes, pm.rss_bytes);
                e.hwm_bytes = max_opt(e.hwm_bytes, pm.hwm_bytes);
            }
            Record::Dropped(d) => self.dropped += d.samples,
            Record::End(e) => self.end = Some(*e),
            _ => {}
        }
    }

    fn sample(&mut self, s: &Sample) {
        let f = figures(&self.platform, &s.counters);
        let c = &s.counters;
        let t = s.t_ns;
        self.samples += 1;
        let p = &mut self.peaks;
        if p.used.max(f.used, t) {
            p.at_used_peak = Some(f);
        }
        if p.total.max(f.total_used, t) {
            p.at_total_peak = Some(f);
        }
        p.available_min.min(f.available, t);
        p.swap.max(f.swap_used, t);
        p.gpu.max(f.gpu_used, t);
        p.vram.max(f.vram_used, t);
        p.rss.max(c.get(Counter::TreeRss), t);
        p.processes.max(c.get(Counter::TreeProcesses), t);
        p.pinned.max(c.get(Counter::TreePinned), t);
        p.locked.max(c.get(Counter::TreeLocked), t);
        p.tree_swap.max(c.get(Counter::TreeSwap), t);
        p.mlocked.max(c.get(Counter::Mlocked), t);
        let cuda_used = c
            .get(Counter::CudaTotal)
            .zip(c.get(Counter::CudaFree))
            .map(|(a, b)| a.saturating_sub(b));
        p.cuda_used.max(cuda_used, t);
        let before = p.cuda_free_min.value;
        p.cuda_free_min.min(c.get(Counter::CudaFree), t);
        if p.cuda_free_min.value != before {
            p.mem_free_at_cuda_free_min = c.get(Counter::MemFree);
            p.available_at_cuda_free_min = f.available;
        }
        p.swap_is_zram |= f.swap_is_zram;
        p.sources_disagree |= f.sources_disagree;
        for ph in &mut self.open {
            ph.used.max(f.used, t);
            ph.gpu.max(f.gpu_used, t);
            ph.rss.max(c.get(Counter::TreeRss), t);
        }
        if self.keep_points {
            self.points.push(Point {
                t_ns: t,
                figures: f,
                rss: c.get(Counter::TreeRss),
            });
        }
    }

    /// Closes the analysis into a report.
    pub fn finish(mut self, label: String, stats: &DecodeStats) -> Report {
        let end_ns = self
            .end
            .map_or(self.last_t_ns, |e| e.t_ns.max(self.last_t_ns));
        for p in std::mem::take(&mut self.open) {
            self.phases.push(close_phase(p, end_ns, false));
        }
        self.phases.sort_by_key(|p| (p.start_s * 1e3) as u64);
        let mut top: Vec<ProcessPeak> = std::mem::take(&mut self.procs)
            .into_values()
            .filter(|p| p.rss_peak_bytes.is_some())
            .collect();
        top.sort_by_key(|p| std::cmp::Reverse(p.rss_peak_bytes));
        top.truncate(TOP_PROCESSES);
        let pl = &self.platform;
        let h = &self.header;
        let p = &self.peaks;
        let arch = pl.architecture;
        let total_bytes = pl.mem_total_bytes.or(p.at_used_peak.and_then(|f| f.total));
        let pressure = PressureConfig {
            budget_bytes: h.budget_bytes,
            ..PressureConfig::default()
        };
        let budget = total_bytes.map(|t| pressure.budget_for(t));
        let budget_source = if h.budget_bytes.is_some() {
            "trace"
        } else {
            "default-80-percent"
        };
        let min_headroom = budget.zip(p.used.value).map(|(b, u)| b as i64 - u as i64);
        let at_peak = p.at_used_peak;
        let at_total = p.at_total_peak;
        let dropped = self
            .end
            .map_or(self.dropped, |e| e.dropped.max(self.dropped));
        let mut report = Report {
            format_version: REPORT_FORMAT_VERSION,
            label,
            command: h.command.to_string(),
            architecture: arch.as_str(),
            platform: PlatformInfo::from(pl),
            duration_s: secs(end_ns),
            samples: self.samples,
            dropped,
            skipped_bytes: stats.skipped_bytes,
            damage: Damage {
                skipped_bytes: stats.skipped_bytes,
                skipped_frames: stats.skipped_frames,
                truncated_tail_bytes: stats.truncated_tail_bytes,
                malformed_frames: stats.malformed_frames,
                unknown_records: stats.unknown_records,
                clean_end: self.end.is_some(),
            },
            exit_code: self.end.and_then(|e| e.exit_code),
            system: System {
                total_bytes,
                used_peak_bytes: p.used.value,
                used_peak_t_s: p.used.value.map(|_| secs(p.used.t_ns)),
                used_definition: USED_DEFINITION,
                available_min_bytes: p.available_min.value,
                swap_used_peak_bytes: p.swap.value,
                swap_is_zram: p.swap_is_zram,
            },
            gpu: Gpu {
                used_peak_bytes: p.gpu.value,
                source: pl.gpu_source.as_str(),
                reason: non_empty(&pl.gpu_reason),
                subset_of_system: arch == Architecture::Unified,
                used_at_system_peak_bytes: at_peak.and_then(|f| f.gpu_used),
                cpu_os_at_system_peak_bytes: at_peak.and_then(|f| f.cpu_os_used),
                sources_disagree: p.sources_disagree,
            },
            cuda: Cuda {
                alloc_peak_bytes: p.alloc.value,
                reserved_peak_bytes: p.reserved.value,
                device_used_peak_bytes: p.cuda_used.value,
                device_free_min_bytes: p.cuda_free_min.value,
            },
            process: Process {
                pid: h.pid,
                rss_peak_bytes: p.rss.value,
                processes_peak: p.processes.value,
                pinned_peak_bytes: p.pinned.value,
                locked_peak_bytes: p.locked.value,
                swap_peak_bytes: p.tree_swap.value,
                top,
            },
            total_peak_bytes: p.total.value,
            total_peak: TotalPeak {
                t_s: p.total.value.map(|_| secs(p.total.t_ns)),
                ram_bytes: at_total.and_then(|f| f.used),
                vram_bytes: at_total.and_then(|f| f.vram_used),
            },
            headroom: Headroom {
                budget_bytes: budget,
                budget_source,
                min_bytes: min_headroom,
                exceeded: min_headroom.is_some_and(|m| m < 0),
            },
            pressure_events: self.events,
            phases: self.phases,
            advice: Vec::new(),
        };
        report.advice = advice::advise(&report, &self.peaks);
        report
    }
}

fn close_phase(p: OpenPhase, end_ns: u64, closed: bool) -> Phase {
    Phase {
        label: p.label,
        start_s: secs(p.start_ns),
        end_s: secs(end_ns),
        duration_s: secs(end_ns.saturating_sub(p.start_ns)),
        closed,
        system_used_peak_bytes: p.used.value,
        gpu_used_peak_bytes: p.gpu.value,
        rss_peak_bytes: p.rss.value,
    }
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

pub(crate) fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn event_kind(k: EventKind) -> &'static str {
    match k {
        EventKind::PressureEntered => "pressure-entered",
        EventKind::PressureLeft => "pressure-left",
        EventKind::BudgetExceeded => "budget-exceeded",
        EventKind::BudgetRecovered => "budget-recovered",
        _ => "unknown",
    }
}

/// Reads and analyses one trace file.
pub fn analyze(path: &Path, keep_points: bool) -> Result<(Report, Vec<Point>), CliError> {
    let mut analyzer: Option<Analyzer> = None;
    let decoded = trace::read(path, |h, item| {
        analyzer
            .get_or_insert_with(|| Analyzer::new(h, keep_points))
            .push(item)
    })?;
    let mut analyzer = analyzer.unwrap_or_else(|| Analyzer::new(&decoded.header, keep_points));
    let label = trace::display_label(analyzer.header(), path);
    let points = std::mem::take(&mut analyzer.points);
    let report = analyzer.finish(label, &decoded.stats);
    Ok((report, points))
}
