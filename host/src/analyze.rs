//! The analysis of a trace: one pass over its records that keeps what the report
//! and its advice need, then [`Analyzer::finish`] builds the [`Report`].
//!
//! Every figure, peak, headroom and phase pairing comes from
//! `jetmem_core::accounting`; this file only gathers them per trace.

use std::collections::BTreeMap;
use std::path::Path;

use jetmem_core::accounting::{
    Figures, Peak, Peaks, PhaseTracker, PressureConfig, USED_DEFINITION, figures, headroom,
};
use jetmem_core::record::{
    Architecture, Counter, End, Header, Mark, MarkKind, Platform, Record, Sample,
};
use jetmem_core::wire::Item;
use jetmem_core::wire::stream::DecodeStats;

use crate::error::CliError;
use crate::report::advice;
use crate::report::model::{
    BudgetSource, Cuda, Damage, Gpu, Headroom, Phase, PlatformInfo, PressureEvent, Process,
    ProcessPeak, REPORT_FORMAT_VERSION, Report, System, TotalPeak, non_empty,
};
use crate::trace;
use crate::units::secs;

/// One point of the memory-over-time series kept for plots.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub t_ns: u64,
    pub figures: Figures,
    pub rss: Option<u64>,
}

/// What one pass over a trace gives: the report, the series kept for plots, and
/// the recorder's pressure threshold (for the plot's threshold line).
#[derive(Debug)]
pub struct Analysis {
    pub report: Report,
    pub points: Vec<Point>,
    pub threshold_permille: u16,
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
    keep_points: bool,
    points: Vec<Point>,
    procs: BTreeMap<u32, ProcessPeak>,
    /// Marker-channel records lost, per writer pid (`ChannelLost`).
    channel_lost: BTreeMap<u32, u64>,
    /// `--cuda-hook` snapshots (`None`: the run was not hooked).
    cuda_hook: Option<HookState>,
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
            keep_points,
            points: Vec::new(),
            procs: BTreeMap::new(),
            channel_lost: BTreeMap::new(),
            cuda_hook: None,
        }
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
            Record::Event(e) => self.events.push(PressureEvent {
                t_s: secs(e.t_ns),
                kind: e.kind,
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
            Record::ChannelLost(c) => *self.channel_lost.entry(c.pid).or_default() += c.records,
            Record::CudaHook(c) => self.cuda_hook.get_or_insert_default().push(c),
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
                    if !p.sampled {
                        self.unsampled.push(self.phases.len());
                    }
                    self.phases.push(close_phase(p, m.t_ns, true));
                }
            }
            _ => {}
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

    fn sample(&mut self, s: &Sample) {
        let f = figures(self.platform(), &s.counters);
        let c = &s.counters;
        let t = s.t_ns;
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
        if self.keep_points {
            self.points.push(Point {
                t_ns: t,
                figures: f,
                rss,
            });
        }
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
        };
        report.advice = advice::advise(&report, &self.evidence);
        Analysis {
            report,
            points: self.points,
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
        self.phases
            .extend(self.open.drain().map(|p| close_phase(p, end_ns, false)));
        self.phases.sort_by_key(|p| (p.start_s * 1e3) as u64);
        if self.open.overflowed() > 0 {
            log::warn!(
                "{} phases were not tracked: more than {} were open at once",
                self.open.overflowed(),
                jetmem_core::accounting::MAX_OPEN_PHASES
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
            available_min_bytes: Peaks::min_of(self.peaks.available).value,
            swap_used_peak_bytes: Peaks::max_of(self.peaks.swap_used).value,
            swap_is_zram: self.peaks.swap_is_zram,
        }
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
        let budget = self.total_bytes().map(|t| pressure.budget_for(t));
        let min = budget
            .zip(Peaks::max_of(self.peaks.used).value)
            .map(|(b, u)| headroom(b, u));
        Headroom {
            budget_bytes: budget,
            budget_source: if self.header.budget_bytes.is_some() {
                BudgetSource::Trace
            } else {
                BudgetSource::Default80Percent
            },
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
pub fn analyze(path: &Path, keep_points: bool) -> Result<Analysis, CliError> {
    let mut analyzer: Option<Analyzer> = None;
    let decoded = trace::read(path, |h, item| {
        analyzer
            .get_or_insert_with(|| Analyzer::new(h, keep_points))
            .push(item)
    })?;
    let analyzer = analyzer.unwrap_or_else(|| Analyzer::new(&decoded.header, keep_points));
    let label = trace::display_label(analyzer.header(), path);
    Ok(analyzer.finish(label, &decoded.stats))
}

mod cuda_hook;
use cuda_hook::HookState;
mod phase_summary;
use phase_summary::summarise;

#[cfg(test)]
mod tests;
