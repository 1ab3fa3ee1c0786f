//! The analysis of a trace: one pass over its records that keeps what the report
//! and its advice need, then [`Analyzer::finish`] builds the [`Report`].
//!
//! Every figure, peak, headroom and phase pairing comes from
//! `jetmem_core::accounting`; this file only gathers them per trace.

use std::collections::BTreeMap;
use std::path::Path;

use jetmem_core::accounting::{
    Cadence, Figures, Implausible, Peak, Peaks, PhaseTracker, PressureConfig,
    TEGRASTATS_USED_DEFINITION, USED_DEFINITION, USED_TEGRASTATS_DEFINITION, cpu_percent,
    default_budget, figures, flagged_implausible, headroom, is_plausible_size,
};
use jetmem_core::parse::tegrastats::RESOLUTION_BYTES as TEGRASTATS_RESOLUTION;
use jetmem_core::record::{
    Architecture, COUNTER_COUNT, Counter, Counters, End, Header, Mark, MarkKind, Platform, Record,
    Sample,
};
use jetmem_core::sampler::MAX_PROCESSES;
use jetmem_core::wire::Item;
use jetmem_core::wire::stream::DecodeStats;

use crate::error::CliError;
use crate::plot::data::PlotData;
use crate::report::advice;
use crate::report::model::{
    BudgetSource, Cuda, Damage, Gpu, GpuProcessReport, Headroom, ImplausibleValue, Omitted, Phase,
    PlatformInfo, PressureEvent, Process, ProcessPeak, REPORT_FORMAT_VERSION, Report, System,
    Tegrastats, TotalPeak, TracerCost, TracerGap, non_empty,
};
use crate::trace;
use crate::units::{micro_secs, secs};

/// What one pass over a trace gives: the report, the series kept for plots
/// (downsampled, see `plot/data.rs`), and the recorder's pressure threshold
/// (for the plot's threshold line).
#[derive(Debug)]
pub struct Analysis {
    pub report: Report,
    pub series: Option<PlotData>,
    pub threshold_permille: u16,
    /// The program's instant marks (frame boundaries, say), for timelines:
    /// the first [`MAX_INSTANTS`], then only counted in `instants_not_kept`.
    pub instants: Vec<InstantMark>,
    pub instants_not_kept: u64,
}

/// Instant marks kept per trace for timelines.
pub const MAX_INSTANTS: usize = 2000;

/// A point in time the traced program marked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstantMark {
    pub t_s: f64,
    pub label: String,
}

/// What advice needs beyond the report: the moment CUDA free was lowest.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence {
    /// Lowest `cuMemGetInfo` free, and when.
    pub cuda_free_min: Peak,
    /// `MemFree` at that moment.
    pub mem_free_at_cuda_free_min: Option<u64>,
    /// `MemAvailable` at that moment.
    pub available_at_cuda_free_min: Option<u64>,
}

/// A phase opened by a Begin mark, with its running peaks.
#[derive(Debug, Clone)]
struct OpenPhase {
    label: String,
    pid: Option<u32>,
    start_ns: u64,
    used: Peak,
    gpu: Peak,
    rss: Peak,
    alloc: Peak,
    /// Whether a sample fell inside the phase.
    sampled: bool,
}

/// Processes listed in `process.top`.
const TOP_PROCESSES: usize = 5;

/// The most closed phases, pressure events and processes a report keeps, so
/// its memory stays bounded on any trace; the rest are counted in `omitted`.
const MAX_LISTED: usize = 10_000;

/// Pushes `item` unless `list` holds [`MAX_LISTED`]; counts it in `omitted` then.
fn push_bounded<T>(list: &mut Vec<T>, item: T, omitted: &mut u64) {
    if list.len() < MAX_LISTED {
        list.push(item);
    } else {
        *omitted += 1;
    }
}

/// Consumes a trace's records and keeps what the report needs.
#[derive(Debug)]
pub struct Analyzer {
    header: Header,
    peaks: Peaks,
    at_used_peak: Option<Figures>,
    at_total_peak: Option<Figures>,
    evidence: Evidence,
    alloc: Peak,
    reserved: Peak,
    last_t_ns: u64,
    dropped: u64,
    end: Option<End>,
    events: Vec<PressureEvent>,
    open: PhaseTracker<OpenPhase>,
    phases: Vec<Phase>,
    /// Closed phases no sample fell in: they take the next sample (the one at their end).
    unsampled: Vec<usize>,
    /// Marker-channel records lost, per writer pid (`ChannelLost`).
    channel_lost: BTreeMap<u32, u64>,
    series: Option<PlotData>,
    procs: BTreeMap<u32, ProcessPeak>,
    cadence: Cadence,
    file_bytes: Option<u64>,
    instants: Vec<InstantMark>,
    instants_not_kept: u64,
    omitted: Omitted,
    /// Per counter index: the largest implausible value seen and its rule.
    implausible: [Option<(u64, Implausible)>; COUNTER_COUNT],
    /// `--cuda-hook` snapshots (`None`: the run was not hooked).
    cuda_hook: Option<HookState>,
    /// NVML per-process GPU memory: the largest known bytes by pid.
    gpu_processes: BTreeMap<u32, Option<u64>>,
}

impl Analyzer {
    /// Starts an analysis of a trace with this header; `keep_points` keeps the series for plots.
    pub fn new(header: &Header, keep_points: bool) -> Self {
        Analyzer {
            header: header.clone(),
            peaks: Peaks::new(),
            at_used_peak: None,
            at_total_peak: None,
            evidence: Evidence::default(),
            alloc: Peak::default(),
            reserved: Peak::default(),
            last_t_ns: 0,
            dropped: 0,
            end: None,
            events: Vec::new(),
            open: PhaseTracker::new(),
            phases: Vec::new(),
            unsampled: Vec::new(),
            instants: Vec::new(),
            instants_not_kept: 0,
            channel_lost: BTreeMap::new(),
            series: keep_points.then(|| PlotData::new(crate::plot::COLUMNS)),
            procs: BTreeMap::new(),
            cadence: Cadence::new(header.interval_ns),
            file_bytes: None,
            omitted: Omitted::default(),
            implausible: [None; COUNTER_COUNT],
            cuda_hook: None,
            gpu_processes: BTreeMap::new(),
        }
    }

    /// The trace file's size, for the tracer's bytes per sample.
    pub fn set_file_bytes(&mut self, bytes: u64) {
        self.file_bytes = Some(bytes);
    }

    fn platform(&self) -> &Platform {
        &self.header.platform
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
            Record::Mark(m) => self.mark(m),
            Record::Allocator(a) => {
                for ph in self.open.open_mut() {
                    ph.alloc.raise(a.allocated, a.t_ns);
                }
                self.alloc
                    .raise(max_opt(a.allocated, a.peak_allocated), a.t_ns);
                self.reserved
                    .raise(max_opt(a.reserved, a.peak_reserved), a.t_ns);
            }
            Record::Event(e) => push_bounded(
                &mut self.events,
                PressureEvent {
                    t_s: secs(e.t_ns),
                    kind: e.kind,
                    value_bytes: e.value,
                    threshold_bytes: e.threshold,
                },
                &mut self.omitted.pressure_events,
            ),
            Record::Process(p) => {
                if let Some(e) = self.proc_entry(p.pid)
                    && !p.name.is_empty()
                {
                    e.name = Some(p.name.to_string());
                }
            }
            Record::ProcessMemory(pm) => {
                if let Some(e) = self.proc_entry(pm.pid) {
                    e.rss_peak_bytes = max_opt(e.rss_peak_bytes, pm.rss_bytes);
                    e.hwm_bytes = max_opt(e.hwm_bytes, pm.hwm_bytes);
                }
            }
            Record::Dropped(d) => self.dropped += d.samples,
            Record::ChannelLost(c) => *self.channel_lost.entry(c.pid).or_default() += c.records,
            Record::CudaHook(c) => self.cuda_hook.get_or_insert_default().push(c),
            Record::GpuProcess(g) => {
                let e = self.gpu_processes.entry(g.pid).or_default();
                *e = max_opt(*e, g.used_bytes);
            }
            Record::End(e) => self.end = Some(*e),
            _ => {}
        }
    }

    /// A Begin opens a phase of its writer; an End closes the innermost open
    /// phase with its label and writer (marks without a writer pid are the
    /// traced process's).
    fn mark(&mut self, m: &Mark) {
        let pid = m.pid.or(self.header.pid);
        match m.kind {
            MarkKind::Begin => {
                self.open.begin(OpenPhase {
                    label: m.label.to_string(),
                    pid,
                    start_ns: m.t_ns,
                    used: Peak::default(),
                    gpu: Peak::default(),
                    rss: Peak::default(),
                    alloc: Peak::default(),
                    sampled: false,
                });
            }
            MarkKind::End => {
                if let Some(p) = self
                    .open
                    .end(|p| p.label == m.label.as_str() && p.pid == pid)
                {
                    // A phase no sample fell in takes the next one (if it is listed).
                    if !p.sampled && self.phases.len() < MAX_LISTED {
                        self.unsampled.push(self.phases.len());
                    }
                    let phase = close_phase(p, m.t_ns, true);
                    push_bounded(&mut self.phases, phase, &mut self.omitted.phases);
                }
            }
            MarkKind::Instant if self.instants.len() < MAX_INSTANTS => {
                self.instants.push(InstantMark {
                    t_s: secs(m.t_ns),
                    label: m.label.to_string(),
                });
            }
            MarkKind::Instant => self.instants_not_kept += 1,
            _ => {}
        }
    }

    /// The process's entry; `None` (counted) for a new one beyond [`MAX_PROCESSES`].
    fn proc_entry(&mut self, pid: u32) -> Option<&mut ProcessPeak> {
        if self.procs.len() >= MAX_PROCESSES && !self.procs.contains_key(&pid) {
            self.omitted.processes += 1;
            return None;
        }
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
        Some(self.procs.entry(pid).or_insert_with(|| ProcessPeak {
            pid,
            name: root_name,
            root,
            rss_peak_bytes: None,
            hwm_bytes: None,
        }))
    }

    fn sample(&mut self, s: &Sample) {
        let f = figures(self.platform(), &s.counters);
        let c = &s.counters;
        let t = s.t_ns;
        self.cadence.sample(t);
        let raised = self.peaks.update(t, &f, c);
        if raised.used {
            self.at_used_peak = Some(f);
        }
        if raised.total_used {
            self.at_total_peak = Some(f);
        }
        let ev = &mut self.evidence;
        if ev.cuda_free_min.lower(c.get(Counter::CudaFree), t) {
            ev.mem_free_at_cuda_free_min = c.get(Counter::MemFree);
            ev.available_at_cuda_free_min = f.available;
        }
        if f.implausible != 0 {
            self.note_implausible(f.implausible, c);
        }
        let rss = c.get(Counter::TreeRss);
        for ph in self.open.open_mut() {
            ph.used.raise(f.used, t);
            ph.gpu.raise(f.gpu_used, t);
            ph.rss.raise(rss, t);
            ph.sampled = true;
        }
        for i in self.unsampled.drain(..) {
            if let Some(ph) = self.phases.get_mut(i) {
                ph.system_used_peak_bytes = f.used;
                ph.gpu_used_peak_bytes = f.gpu_used;
                ph.rss_peak_bytes = rss;
            }
        }
        if let Some(series) = &mut self.series {
            series.push(t, &f, rss);
        }
    }

    /// Remembers the largest value of each counter flagged in `mask`, with its rule.
    fn note_implausible(&mut self, mask: u64, c: &Counters) {
        let arch = self.platform().architecture;
        for (counter, v, rule) in flagged_implausible(c, mask, arch) {
            if let Some(slot) = self.implausible.get_mut(counter as usize)
                && slot.is_none_or(|(max, _)| v > max)
            {
                *slot = Some((v, rule));
            }
        }
    }

    /// The implausible values seen, counters first, then the budget.
    fn implausible(&self) -> Vec<ImplausibleValue> {
        let mut list: Vec<ImplausibleValue> = self
            .implausible
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| {
                let (max_value, rule) = (*slot)?;
                Some(ImplausibleValue {
                    source: Counter::from_index(i as u8)?.key(),
                    max_value,
                    rule: rule.as_str(),
                })
            })
            .collect();
        if let Some(b) = self.header.budget_bytes.filter(|&b| !is_plausible_size(b)) {
            list.push(ImplausibleValue {
                source: "budget_bytes",
                max_value: b,
                rule: Implausible::AboveMaxSize.as_str(),
            });
        }
        for v in &list {
            log::warn!(
                "implausible {} = {} ({}): left out of every figure",
                v.source,
                v.max_value,
                v.rule
            );
        }
        list
    }

    /// Closes the analysis into a report (with its advice) and the kept series.
    pub fn finish(mut self, label: String, stats: &DecodeStats) -> Analysis {
        let end_ns = self.end_ns();
        self.close_open_phases(end_ns);
        for (pid, records) in &self.channel_lost {
            log::warn!(
                "{records} marks or allocator records of pid {pid} were lost: the marker channel was full"
            );
        }
        let phase_summary = summarise(&self.phases);
        let mut report = Report {
            format_version: REPORT_FORMAT_VERSION,
            label,
            command: self.header.command.to_string(),
            architecture: self.platform().architecture,
            platform: PlatformInfo::from(self.platform()),
            duration_s: secs(end_ns),
            samples: self.peaks.samples,
            dropped: self
                .end
                .map_or(self.dropped, |e| e.dropped.max(self.dropped)),
            skipped_bytes: stats.skipped_bytes,
            damage: self.damage(stats),
            exit_code: self.end.and_then(|e| e.exit_code),
            system: self.system(),
            gpu: self.gpu(),
            cuda: self.cuda(),
            process: self.process(),
            tegrastats: self.tegrastats(),
            total_peak_bytes: Peaks::max_of(self.peaks.total_used).value,
            total_peak: self.total_peak(),
            headroom: self.headroom(),
            pressure_events: std::mem::take(&mut self.events),
            phases: std::mem::take(&mut self.phases),
            phase_summary,
            cuda_hook: self
                .cuda_hook
                .as_ref()
                .map(|h| h.report(|pid| self.procs.get(&pid).and_then(|p| p.name.clone()))),
            advice: Vec::new(),
            tracer: self.tracer(end_ns),
            implausible: self.implausible(),
            omitted: self.omitted,
        };
        report.advice = advice::advise(&report, &self.evidence);
        Analysis {
            report,
            series: self.series,
            instants: self.instants,
            instants_not_kept: self.instants_not_kept,
            threshold_permille: self.header.pressure_threshold_permille,
        }
    }

    /// The end record's time, or the last record's when there is none.
    fn end_ns(&self) -> u64 {
        self.end
            .map_or(self.last_t_ns, |e| e.t_ns.max(self.last_t_ns))
    }

    /// Phases still open at the end close there, unclosed; all sorted by start.
    fn close_open_phases(&mut self, end_ns: u64) {
        let open: Vec<Phase> = self
            .open
            .drain()
            .map(|p| close_phase(p, end_ns, false))
            .collect();
        for phase in open {
            push_bounded(&mut self.phases, phase, &mut self.omitted.phases);
        }
        self.phases.sort_by_key(|p| (p.start_s * 1e3) as u64);
        self.omitted.unclosed_phases = self.open.unclosed();
        if self.open.unclosed() > 0 {
            log::warn!(
                "{} phases were not tracked (unclosed): more than {} were open at once",
                self.open.unclosed(),
                jetmem_core::accounting::MAX_OPEN_PHASES
            );
        }
        let o = self.omitted;
        if o.phases + o.pressure_events + o.processes > 0 {
            log::warn!(
                "the report lists at most {MAX_LISTED} phases and events and {MAX_PROCESSES} processes: \
                 {} phases, {} events and {} processes left out",
                o.phases,
                o.pressure_events,
                o.processes
            );
        }
    }

    fn damage(&self, stats: &DecodeStats) -> Damage {
        Damage {
            skipped_bytes: stats.skipped_bytes,
            skipped_frames: stats.skipped_frames,
            truncated_tail_bytes: stats.truncated_tail_bytes,
            malformed_frames: stats.malformed_frames,
            unknown_records: stats.unknown_records,
            clean_end: self.end.is_some(),
        }
    }

    /// MemTotal from the platform, else from the samples.
    fn total_bytes(&self) -> Option<u64> {
        self.platform()
            .mem_total_bytes
            .or(self.at_used_peak.and_then(|f| f.total))
    }

    fn system(&self) -> System {
        let used = Peaks::max_of(self.peaks.used);
        System {
            total_bytes: self.total_bytes(),
            used_peak_bytes: used.value,
            used_peak_t_s: used.value.map(|_| secs(used.t_ns)),
            used_definition: USED_DEFINITION,
            used_tegrastats_peak_bytes: Peaks::max_of(self.peaks.used_tfbc).value,
            used_tegrastats_definition: USED_TEGRASTATS_DEFINITION,
            available_min_bytes: Peaks::min_of(self.peaks.available).value,
            swap_used_peak_bytes: Peaks::max_of(self.peaks.swap_used).value,
            swap_is_zram: self.peaks.swap_is_zram,
        }
    }

    /// The imported tegrastats figures, when the trace has any.
    fn tegrastats(&self) -> Option<Tegrastats> {
        let used = Peaks::max_of(self.peaks.tegrastats_used);
        used.value?;
        let (hi, lo) = (&self.peaks.counters_max, &self.peaks.counters_min);
        Some(Tegrastats {
            used_definition: TEGRASTATS_USED_DEFINITION,
            resolution_bytes: TEGRASTATS_RESOLUTION,
            ram_used_peak_bytes: used.value,
            ram_used_peak_t_s: Some(secs(used.t_ns)),
            ram_total_bytes: hi.get(Counter::TegrastatsRamTotal),
            swap_used_peak_bytes: hi.get(Counter::TegrastatsSwapUsed),
            swap_total_bytes: hi.get(Counter::TegrastatsSwapTotal),
            swap_cached_peak_bytes: hi.get(Counter::TegrastatsSwapCached),
            lfb_min_bytes: lo.get(Counter::TegrastatsLfbBytes),
            lfb_min_blocks: lo.get(Counter::TegrastatsLfbBlocks),
            gpu_load_peak_percent: hi.get(Counter::TegrastatsGpuLoadPercent),
            gpu_freq_peak_mhz: hi.get(Counter::TegrastatsGpuFreqMhz),
            emc_load_peak_percent: hi.get(Counter::TegrastatsEmcLoadPercent),
        })
    }

    fn gpu(&self) -> Gpu {
        let pl = self.platform();
        Gpu {
            used_peak_bytes: Peaks::max_of(self.peaks.gpu_used).value,
            source: pl.gpu_source,
            reason: non_empty(&pl.gpu_reason),
            subset_of_system: pl.architecture == Architecture::Unified,
            used_at_system_peak_bytes: self.at_used_peak.and_then(|f| f.gpu_used),
            cpu_os_at_system_peak_bytes: self.at_used_peak.and_then(|f| f.cpu_os_used),
            sources_disagree: self.peaks.disagreements > 0,
            processes: (!self.gpu_processes.is_empty()).then(|| {
                self.gpu_processes
                    .iter()
                    .map(|(&pid, &used_bytes)| GpuProcessReport {
                        pid,
                        name: self.procs.get(&pid).and_then(|p| p.name.clone()),
                        used_bytes,
                    })
                    .collect()
            }),
        }
    }

    fn cuda(&self) -> Cuda {
        Cuda {
            alloc_peak_bytes: self.alloc.value,
            reserved_peak_bytes: self.reserved.value,
            device_used_peak_bytes: Peaks::max_of(self.peaks.cuda_used).value,
            device_free_min_bytes: self.evidence.cuda_free_min.value,
        }
    }

    fn process(&self) -> Process {
        let max = |c| self.peaks.counters_max.get(c);
        let mut top: Vec<ProcessPeak> = self
            .procs
            .values()
            .filter(|p| p.rss_peak_bytes.is_some())
            .cloned()
            .collect();
        top.sort_by_key(|p| std::cmp::Reverse(p.rss_peak_bytes));
        top.truncate(TOP_PROCESSES);
        Process {
            pid: self.header.pid,
            rss_peak_bytes: max(Counter::TreeRss),
            processes_peak: max(Counter::TreeProcesses),
            pinned_peak_bytes: max(Counter::TreePinned),
            locked_peak_bytes: max(Counter::TreeLocked),
            swap_peak_bytes: max(Counter::TreeSwap),
            top,
        }
    }

    /// The recorder's cadence from the samples' times, its cost from the `End` record.
    fn tracer(&self, end_ns: u64) -> TracerCost {
        let c = &self.cadence;
        let scheduled = c.scheduled();
        // The sampler's count includes samples lost on a full ring (gaps in the trace).
        let taken = self.end.map_or(c.samples(), |e| e.samples.min(scheduled));
        let pct = |cpu: fn(&End) -> u64| self.end.and_then(|e| cpu_percent(cpu(&e), end_ns));
        let lateness = |ns: fn(&End) -> u64| self.end.map(|e| micro_secs(ns(&e)));
        TracerCost {
            interval_s: micro_secs(self.header.interval_ns),
            samples_scheduled: scheduled,
            samples_taken: taken,
            deadlines_missed: scheduled - taken,
            gaps: c
                .gaps()
                .iter()
                .map(|g| TracerGap {
                    t_s: secs(g.t_ns),
                    length_s: secs(g.length_ns),
                })
                .collect(),
            gaps_not_listed: c.gaps_overflowed(),
            lateness_p50_s: lateness(|e| e.lateness_p50_ns),
            lateness_p99_s: lateness(|e| e.lateness_p99_ns),
            lateness_max_s: lateness(|e| e.lateness_max_ns),
            cpu_percent_sampler: pct(|e| e.sampler_cpu_ns),
            cpu_percent_writer: pct(|e| e.writer_cpu_ns),
            cpu_percent_total: pct(|e| e.sampler_cpu_ns.saturating_add(e.writer_cpu_ns)),
            bytes_per_sample: self
                .file_bytes
                .filter(|_| c.samples() > 0)
                .map(|b| b as f64 / c.samples() as f64),
        }
    }

    fn total_peak(&self) -> TotalPeak {
        let total = Peaks::max_of(self.peaks.total_used);
        TotalPeak {
            t_s: total.value.map(|_| secs(total.t_ns)),
            ram_bytes: self.at_total_peak.and_then(|f| f.used),
            vram_bytes: self.at_total_peak.and_then(|f| f.vram_used),
        }
    }

    fn headroom(&self) -> Headroom {
        let pressure = PressureConfig {
            budget_bytes: self.header.budget_bytes,
            ..PressureConfig::default()
        };
        // An implausible budget is no budget (listed in `implausible`).
        let budget = self
            .total_bytes()
            .map(|t| pressure.budget_for(t))
            .filter(|&b| is_plausible_size(b));
        let min = budget
            .zip(Peaks::max_of(self.peaks.used).value)
            .map(|(b, u)| headroom(b, u));
        Headroom {
            budget_bytes: budget,
            budget_source: budget_source(&self.header),
            min_bytes: min,
            exceeded: min.is_some_and(|m| m < 0),
        }
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
        pid: p.pid,
        cuda_alloc_peak_bytes: p.alloc.value,
    }
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Reads and analyses one trace file.
/// Where the trace's budget came from. The recorder writes the default (80 %
/// of the MemTotal in the header) when none was given, so only a different
/// figure was set with `record --budget`.
fn budget_source(h: &Header) -> BudgetSource {
    let default = h.platform.mem_total_bytes.map(default_budget);
    match h.budget_bytes {
        Some(b) if Some(b) != default => BudgetSource::Trace,
        _ => BudgetSource::Default80Percent,
    }
}

pub fn analyze(path: &Path, keep_points: bool) -> Result<Analysis, CliError> {
    let mut analyzer: Option<Analyzer> = None;
    let decoded = trace::read(path, |h, item| {
        analyzer
            .get_or_insert_with(|| Analyzer::new(h, keep_points))
            .push(item)
    })?;
    let mut analyzer = analyzer.unwrap_or_else(|| Analyzer::new(&decoded.header, keep_points));
    if let Ok(meta) = std::fs::metadata(path) {
        analyzer.set_file_bytes(meta.len());
    }
    let label = trace::display_label(analyzer.header(), path);
    Ok(analyzer.finish(label, &decoded.stats))
}

mod cuda_hook;
use cuda_hook::HookState;
mod phase_summary;
use phase_summary::summarise;

#[cfg(test)]
mod tests;
