//! The sampler and writer threads behind [`Tracer`].

use super::collect::Collector;
use super::lateness::Lateness;
use super::source::read_small;
use super::{SamplerConfig, SamplerError, Target};
use crate::accounting::{Peaks, PressureTracker, default_budget, figures};
use crate::record::{
    Allocator, Dropped, End, Header, Mark, MarkKind, ProcessEvent, ProcessMemory, Record, Sample,
};
use crate::text::truncated;
use crate::wire::{EncodeError, FrameBuilder, PREAMBLE_LEN, write_preamble};
use heapless::{mpmc, spsc};
use nix::time::{ClockId, ClockNanosleepFlags, clock_gettime, clock_nanosleep};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Capacity of the sampler → writer ring (records).
const RING: usize = 1024;
/// Capacity of the marker queue (marks and allocator figures from any thread).
const EVENTS: usize = 1024;
/// The writer writes a frame at least this often, so a killed recorder loses at most this much.
const FLUSH_NS: u64 = 100_000_000;
/// How often the writer wakes to drain the queues.
const WRITER_TICK: Duration = Duration::from_millis(5);
/// Slow-path period: process discovery, `status`, zram, PSI.
const SLOW_NS: u64 = 100_000_000;
/// Per-process memory records are written at most this often.
const PROCESS_MEMORY_NS: u64 = 1_000_000_000;
/// Records kept between two flushes before a flush is forced.
const PENDING: usize = 8192;
/// Size of one frame's buffer.
const FRAME_BUF: usize = 256 * 1024;
const NO_EXIT_CODE: i64 = i64::MIN;

/// What other threads push into the trace.
#[derive(Debug, Clone)]
enum Pushed {
    Mark(Mark),
    Allocator(Allocator),
}

struct Shared {
    stop: AtomicBool,
    running: AtomicBool,
    sampler_done: AtomicBool,
    target_gone: AtomicBool,
    events: mpmc::Queue<Pushed, EVENTS>,
    events_lost: AtomicU64,
    start_mono_ns: u64,
    exit_code: AtomicI64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("running", &self.running.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn clock_ns(id: ClockId) -> u64 {
    clock_gettime(id)
        .map(|t| (t.tv_sec() as u64).saturating_mul(1_000_000_000) + t.tv_nsec() as u64)
        .unwrap_or(0)
}

fn mono_ns() -> u64 {
    clock_ns(ClockId::CLOCK_MONOTONIC)
}

fn sleep_until(deadline_ns: u64, stop: &AtomicBool) {
    loop {
        let now = mono_ns();
        if now >= deadline_ns || stop.load(Ordering::Relaxed) {
            return;
        }
        let wake = deadline_ns.min(now + 50_000_000);
        let ts =
            nix::sys::time::TimeSpec::new((wake / 1_000_000_000) as _, (wake % 1_000_000_000) as _);
        let _ = clock_nanosleep(
            ClockId::CLOCK_MONOTONIC,
            ClockNanosleepFlags::TIMER_ABSTIME,
            &ts,
        );
    }
}

/// Why a marker or allocator figure was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MarkError {
    /// The tracer has stopped.
    Stopped,
    /// The marker queue is full (the writer is behind); the marker was dropped and counted.
    QueueFull,
}

impl std::fmt::Display for MarkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MarkError::Stopped => "the tracer has stopped",
            MarkError::QueueFull => "the marker queue is full; marker dropped",
        })
    }
}

impl std::error::Error for MarkError {}

/// A cheap, cloneable handle for pushing markers and allocator figures from any thread.
#[derive(Debug, Clone)]
pub struct TraceHandle {
    shared: Arc<Shared>,
}

impl TraceHandle {
    fn now_ns(&self) -> u64 {
        mono_ns().saturating_sub(self.shared.start_mono_ns)
    }

    fn push(&self, item: Pushed) -> Result<(), MarkError> {
        if !self.shared.running.load(Ordering::Acquire) {
            return Err(MarkError::Stopped);
        }
        self.shared.events.enqueue(item).map_err(|_| {
            self.shared.events_lost.fetch_add(1, Ordering::Relaxed);
            MarkError::QueueFull
        })
    }

    /// Records a marker now. Never blocks, never allocates; the label is cut to
    /// [`crate::record::MARK_LABEL_LEN`] bytes on a character boundary.
    pub fn mark(&self, kind: MarkKind, label: &str) -> Result<(), MarkError> {
        self.push(Pushed::Mark(Mark {
            t_ns: self.now_ns(),
            kind,
            label: truncated(label),
        }))
    }

    /// Records a framework allocator's figures now.
    pub fn record_allocator(
        &self,
        device: u8,
        allocated: Option<u64>,
        reserved: Option<u64>,
        peak_allocated: Option<u64>,
        peak_reserved: Option<u64>,
    ) -> Result<(), MarkError> {
        self.push(Pushed::Allocator(Allocator {
            t_ns: self.now_ns(),
            device,
            allocated,
            reserved,
            peak_allocated,
            peak_reserved,
        }))
    }

    /// Whether the tracer is still recording.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Whether the traced root process has exited (never true for whole-system traces).
    pub fn target_exited(&self) -> bool {
        self.shared.target_gone.load(Ordering::Acquire)
    }

    /// Markers dropped because the queue was full.
    pub fn markers_lost(&self) -> u64 {
        self.shared.events_lost.load(Ordering::Relaxed)
    }
}

/// How a trace ended.
#[derive(Debug)]
pub struct StopReport {
    /// The `End` record written (or that would have been written, after a write error).
    pub end: End,
    /// The first write error, if writing failed; the trace up to it stays decodable.
    pub write_error: Option<io::Error>,
    /// Markers dropped because the queue was full.
    pub markers_lost: u64,
    /// Frames written.
    pub frames: u64,
    /// Running peaks (and minimums) of every figure and counter, kept as samples arrived.
    pub peaks: Peaks,
}

struct SamplerOutcome {
    peaks: Peaks,
    samples: u64,
    dropped: u64,
    cpu_ns: u64,
    lateness: Lateness,
}

/// A running trace: a sampler thread and a writer thread.
#[derive(Debug)]
pub struct Tracer {
    header: Header,
    shared: Arc<Shared>,
    supervisor: Option<JoinHandle<Result<StopReport, SamplerError>>>,
}

fn boot_id(root: &std::path::Path) -> [u8; 16] {
    let mut out = [0u8; 16];
    let Some(text) = read_small(root, "/proc/sys/kernel/random/boot_id") else {
        return out;
    };
    let hex: Vec<u8> = text.iter().copied().filter(u8::is_ascii_hexdigit).collect();
    for (i, pair) in hex.chunks(2).take(16).enumerate() {
        if let (Some(slot), Ok(s)) = (out.get_mut(i), std::str::from_utf8(pair)) {
            *slot = u8::from_str_radix(s, 16).unwrap_or(0);
        }
    }
    out
}

impl Tracer {
    /// Opens the sources, writes the preamble and header to `out`, and starts sampling.
    pub fn start<W: Write + Send + 'static>(
        cfg: SamplerConfig,
        mut out: W,
    ) -> Result<Tracer, SamplerError> {
        let interval_ns = cfg.interval.as_nanos();
        if !(10_000..=3_600_000_000_000).contains(&interval_ns) {
            return Err(SamplerError::BadInterval(cfg.interval));
        }
        let interval_ns = interval_ns as u64;
        let collector = Collector::open(&cfg.root, cfg.target, cfg.probe_cuda)?;
        let start_mono_ns = mono_ns();
        let start_unix_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let platform = collector.platform().clone();
        let mut pressure = cfg.pressure;
        if pressure.budget_bytes.is_none() {
            pressure.budget_bytes = platform.mem_total_bytes.map(default_budget);
        }
        let header = Header {
            platform,
            interval_ns,
            start_unix_ns,
            start_monotonic_ns: start_mono_ns,
            boot_id: boot_id(&cfg.root),
            pid: match cfg.target {
                Target::System => None,
                Target::Tree { pid } => Some(pid),
            },
            command: truncated(&cfg.command),
            label: truncated(&cfg.label),
            pressure_threshold_permille: pressure.threshold_permille,
            budget_bytes: pressure.budget_bytes,
        };

        let mut pre = [0u8; PREAMBLE_LEN];
        write_preamble(&mut pre);
        let mut buf = vec![0u8; 16 * 1024];
        let mut fb =
            FrameBuilder::new(&mut buf, 0).map_err(|e| SamplerError::Thread(e.to_string()))?;
        fb.push_header(&header)
            .map_err(|e| SamplerError::Thread(format!("header: {e}")))?;
        out.write_all(&pre)
            .and_then(|()| out.write_all(fb.finish()))
            .and_then(|()| out.flush())
            .map_err(SamplerError::Write)?;

        // heapless deprecates mpmc::Queue::new because a producer pre-empted in the
        // middle of an enqueue makes others see the queue full until it resumes. Here
        // that costs at worst a `QueueFull` marker (counted), never a block or UB.
        #[expect(deprecated)]
        let events = mpmc::Queue::new();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            running: AtomicBool::new(true),
            sampler_done: AtomicBool::new(false),
            target_gone: AtomicBool::new(false),
            events,
            events_lost: AtomicU64::new(0),
            start_mono_ns,
            exit_code: AtomicI64::new(NO_EXIT_CODE),
        });
        let sup_shared = Arc::clone(&shared);
        let sup_header = header.clone();
        let supervisor = std::thread::Builder::new()
            .name("jetmem-writer".into())
            .stack_size(8 << 20)
            .spawn(move || {
                supervise(
                    collector,
                    out,
                    sup_shared,
                    sup_header,
                    interval_ns,
                    PressureTracker::new(pressure),
                )
            })
            .map_err(|e| SamplerError::Thread(e.to_string()))?;
        Ok(Tracer {
            header,
            shared,
            supervisor: Some(supervisor),
        })
    }

    /// The header written at the start of the trace.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// A handle for markers and allocator figures.
    pub fn handle(&self) -> TraceHandle {
        TraceHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Whether the sampler is still running (false after a write error or when the traced tree is gone).
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire) && !self.shared.stop.load(Ordering::Acquire)
    }

    /// Stops sampling, writes the `End` record, flushes and joins the threads.
    pub fn stop(mut self, exit_code: Option<i32>) -> Result<StopReport, SamplerError> {
        self.finish(exit_code)
    }

    fn finish(&mut self, exit_code: Option<i32>) -> Result<StopReport, SamplerError> {
        let Some(sup) = self.supervisor.take() else {
            return Err(SamplerError::AlreadyStopped);
        };
        if let Some(code) = exit_code {
            self.shared
                .exit_code
                .store(i64::from(code), Ordering::Release);
        }
        self.shared.stop.store(true, Ordering::Release);
        sup.join()
            .map_err(|_| SamplerError::Thread("writer thread panicked".into()))?
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        if self.supervisor.is_some() {
            let _ = self.finish(None);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn sample_loop(
    mut collector: Collector,
    mut ring: spsc::Producer<'_, Record>,
    shared: &Shared,
    interval_ns: u64,
    mut pressure: PressureTracker,
    tree_target: bool,
) -> SamplerOutcome {
    collector.bind_thread();
    let platform = collector.platform().clone();
    let mut out = SamplerOutcome {
        peaks: Peaks::new(),
        samples: 0,
        dropped: 0,
        cpu_ns: 0,
        lateness: Lateness::new(),
    };
    let mut pending_dropped = 0u64;
    let start = shared.start_mono_ns;
    let mut k: u64 = 0;
    let mut next_slow = start + SLOW_NS;
    let mut next_proc_mem = start;
    let mut sample = Sample::default();
    let push = |ring: &mut spsc::Producer<'_, Record>,
                rec: Record,
                pending: &mut u64,
                out: &mut SamplerOutcome| {
        let t = rec.t_ns();
        if *pending > 0
            && ring
                .enqueue(Record::Dropped(Dropped {
                    t_ns: t,
                    samples: *pending,
                }))
                .is_ok()
        {
            *pending = 0;
        }
        let is_sample = matches!(rec, Record::Sample(_));
        if ring.enqueue(rec).is_err() && is_sample {
            *pending += 1;
            out.dropped += 1;
        }
    };
    while !shared.stop.load(Ordering::Acquire) {
        let deadline = start + k * interval_ns;
        sleep_until(deadline, &shared.stop);
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        let now = mono_ns();
        out.lateness.record(now.saturating_sub(deadline));
        let t = now.saturating_sub(start);
        if now >= next_slow {
            let mut changes: heapless::Vec<ProcessEvent, 64> = heapless::Vec::new();
            collector.slow(|c| {
                let _ = changes.push(ProcessEvent {
                    t_ns: t,
                    pid: c.pid,
                    ppid: c.ppid,
                    change: c.change,
                    name: c.name.clone(),
                });
            });
            for ev in changes {
                push(
                    &mut ring,
                    Record::Process(ev),
                    &mut pending_dropped,
                    &mut out,
                );
            }
            if now >= next_proc_mem {
                for p in collector.processes() {
                    let rec = Record::ProcessMemory(ProcessMemory {
                        t_ns: t,
                        pid: p.pid,
                        rss_bytes: p.status_rss_bytes,
                        hwm_bytes: p.hwm_bytes,
                        swap_bytes: p.swap_bytes,
                        locked_bytes: match (p.locked_bytes, p.pinned_bytes) {
                            (Some(a), Some(b)) => Some(a.saturating_add(b)),
                            (a, b) => a.or(b),
                        },
                    });
                    let _ = ring.enqueue(rec);
                }
                next_proc_mem = now + PROCESS_MEMORY_NS;
            }
            next_slow = now + SLOW_NS;
        }
        let f = read_sample(&mut collector, &platform, t, &mut sample, &mut out.peaks);
        if let Some(ev) = pressure.update(t, &f) {
            push(&mut ring, Record::Event(ev), &mut pending_dropped, &mut out);
        }
        push(
            &mut ring,
            Record::Sample(sample),
            &mut pending_dropped,
            &mut out,
        );
        out.samples += 1;
        // Skip ticks already missed instead of bursting to catch up.
        let after = mono_ns().saturating_sub(start);
        k = (after / interval_ns + 1).max(k + 1);
        if tree_target && collector.target_exited() {
            // The traced root is gone; the caller decides when to stop.
            shared.target_gone.store(true, Ordering::Release);
        }
    }
    // A last sample at the stop, so that every trace ends with the state it ended in
    // (and a very short one has a sample at all).
    let t = mono_ns().saturating_sub(start);
    read_sample(&mut collector, &platform, t, &mut sample, &mut out.peaks);
    push(
        &mut ring,
        Record::Sample(sample),
        &mut pending_dropped,
        &mut out,
    );
    out.samples += 1;
    if pending_dropped > 0 {
        let t = mono_ns().saturating_sub(start);
        for _ in 0..1000 {
            if ring
                .enqueue(Record::Dropped(Dropped {
                    t_ns: t,
                    samples: pending_dropped,
                }))
                .is_ok()
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    out.cpu_ns = clock_ns(ClockId::CLOCK_THREAD_CPUTIME_ID);
    out
}

/// Reads one sample at `t` and folds it into the running peaks; returns its figures.
fn read_sample(
    collector: &mut Collector,
    platform: &crate::record::Platform,
    t: u64,
    sample: &mut Sample,
    peaks: &mut Peaks,
) -> crate::accounting::Figures {
    collector.fast(t, sample);
    let f = figures(platform, &sample.counters);
    let _ = peaks.update(t, &f, &sample.counters);
    f
}

struct Writer<W> {
    out: W,
    buf: Vec<u8>,
    pending: Vec<Record>,
    seq: u32,
    frames: u64,
    error: Option<io::Error>,
    last_flush: u64,
}

impl<W: Write> Writer<W> {
    fn add(&mut self, rec: Record) {
        if self.pending.len() >= PENDING {
            self.flush();
        }
        self.pending.push(rec);
    }

    fn flush(&mut self) {
        self.last_flush = mono_ns();
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_unstable_by_key(Record::t_ns);
        let mut i = 0;
        while i < self.pending.len() {
            let Ok(mut fb) = FrameBuilder::new(&mut self.buf, self.seq) else {
                break;
            };
            while let Some(rec) = self.pending.get(i) {
                match fb.push(rec) {
                    Ok(()) => i += 1,
                    Err(EncodeError::BufferFull) if !fb.is_empty() => break,
                    Err(_) => {
                        log::warn!("jetmem: a record could not be encoded and was skipped");
                        i += 1;
                    }
                }
            }
            if !fb.is_empty() {
                let bytes = fb.finish();
                if self.error.is_none() {
                    if let Err(e) = self.out.write_all(bytes).and_then(|()| self.out.flush()) {
                        self.error = Some(e);
                    }
                }
                self.seq = self.seq.wrapping_add(1);
                self.frames += 1;
            }
        }
        self.pending.clear();
    }
}

fn supervise<W: Write>(
    collector: Collector,
    out: W,
    shared: Arc<Shared>,
    header: Header,
    interval_ns: u64,
    pressure: PressureTracker,
) -> Result<StopReport, SamplerError> {
    let mut ring: Box<spsc::Queue<Record, RING>> = Box::new(spsc::Queue::new());
    let (producer, mut consumer) = ring.split();
    let tree_target = header.pid.is_some();
    let mut writer = Writer {
        out,
        buf: vec![0u8; FRAME_BUF],
        pending: Vec::with_capacity(PENDING),
        seq: 1,
        frames: 0,
        error: None,
        last_flush: mono_ns(),
    };
    let outcome = std::thread::scope(|scope| {
        let sampler = std::thread::Builder::new()
            .name("jetmem-sampler".into())
            .spawn_scoped(scope, || {
                let o = sample_loop(
                    collector,
                    producer,
                    &shared,
                    interval_ns,
                    pressure,
                    tree_target,
                );
                shared.sampler_done.store(true, Ordering::Release);
                o
            });
        let sampler = match sampler {
            Ok(h) => h,
            Err(e) => return Err(SamplerError::Thread(e.to_string())),
        };
        loop {
            let done = shared.sampler_done.load(Ordering::Acquire);
            while let Some(rec) = consumer.dequeue() {
                writer.add(rec);
            }
            while let Some(p) = shared.events.dequeue() {
                writer.add(match p {
                    Pushed::Mark(m) => Record::Mark(m),
                    Pushed::Allocator(a) => Record::Allocator(a),
                });
            }
            if mono_ns().saturating_sub(writer.last_flush) >= FLUSH_NS {
                writer.flush();
            }
            if writer.error.is_some() {
                // Stop sampling; the traced program is left alone.
                shared.stop.store(true, Ordering::Release);
            }
            if done && consumer.peek().is_none() {
                break;
            }
            std::thread::sleep(WRITER_TICK);
        }
        sampler
            .join()
            .map_err(|_| SamplerError::Thread("sampler thread panicked".into()))
    })?;
    shared.running.store(false, Ordering::Release);
    while let Some(p) = shared.events.dequeue() {
        writer.add(match p {
            Pushed::Mark(m) => Record::Mark(m),
            Pushed::Allocator(a) => Record::Allocator(a),
        });
    }
    let code = shared.exit_code.load(Ordering::Acquire);
    let end = End {
        t_ns: mono_ns().saturating_sub(shared.start_mono_ns),
        samples: outcome.samples,
        dropped: outcome.dropped,
        sampler_cpu_ns: outcome.cpu_ns,
        writer_cpu_ns: clock_ns(ClockId::CLOCK_THREAD_CPUTIME_ID),
        lateness_p50_ns: outcome.lateness.percentile(50.0),
        lateness_p99_ns: outcome.lateness.percentile(99.0),
        lateness_max_ns: outcome.lateness.max(),
        exit_code: if code == NO_EXIT_CODE {
            None
        } else {
            i32::try_from(code).ok()
        },
    };
    writer.add(Record::End(end));
    writer.flush();
    Ok(StopReport {
        end,
        write_error: writer.error,
        markers_lost: shared.events_lost.load(Ordering::Relaxed),
        frames: writer.frames,
        peaks: outcome.peaks,
    })
}
