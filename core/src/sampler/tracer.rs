//! [`Tracer`]: the lifecycle of a trace. `start` opens the sources, writes the
//! preamble and header, and starts the writer thread (see `supervisor.rs`);
//! `stop` (or drop) ends it and returns a [`StopReport`].

use super::clock::mono_ns;
use super::collect::Collector;
use super::handle::{Shared, TraceHandle};
use super::source::read_small;
use super::supervisor::supervise;
use super::{Interval, SamplerConfig, SamplerError, Target};
use crate::accounting::{Peaks, PressureConfig, PressureTracker, default_budget};
use crate::parse::boot_id::parse_boot_id;
use crate::record::{End, Header};
use crate::text::truncated;
use crate::wire::TraceWriter;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

/// Size of one frame's buffer.
const FRAME_BUF: usize = 256 * 1024;

/// How a trace ended.
#[derive(Debug)]
pub struct StopReport {
    /// The `End` record written (or that would have been written, after a write error).
    pub end: End,
    /// The first write error, if writing failed; the trace up to it stays decodable.
    pub write_error: Option<io::Error>,
    /// Markers dropped because the queue was full.
    pub markers_lost: u64,
    /// Record frames written (the header frame not counted).
    pub frames: u64,
    /// Processes of the traced tree that were not tracked because the
    /// process table was full (their memory is missing from the trace).
    pub processes_overflowed: u64,
    /// Running peaks (and minimums) of every figure and counter, kept as samples arrived.
    pub peaks: Peaks,
}

/// A running trace: a sampler thread and a writer thread.
#[derive(Debug)]
pub struct Tracer {
    header: Header,
    shared: Arc<Shared>,
    supervisor: Option<JoinHandle<Result<StopReport, SamplerError>>>,
}

/// The machine's boot id (all zeros when unreadable).
fn boot_id(root: &Path) -> [u8; 16] {
    read_small(root, "/proc/sys/kernel/random/boot_id")
        .map_or([0u8; 16], |text| parse_boot_id(&text))
}

/// The trace header of a trace starting now.
fn header(
    cfg: &SamplerConfig,
    collector: &Collector,
    interval: Interval,
    pressure: &PressureConfig,
    start_mono_ns: u64,
) -> Header {
    let start_unix_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    Header {
        platform: collector.platform().clone(),
        interval_ns: interval.as_nanos(),
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
    }
}

impl Tracer {
    /// Opens the sources, writes the preamble and header to `out`, and starts sampling.
    pub fn start<W: Write + Send + 'static>(
        cfg: SamplerConfig,
        out: W,
    ) -> Result<Tracer, SamplerError> {
        let interval = Interval::new(cfg.interval)?;
        let collector = Collector::open(&cfg.root, cfg.target, cfg.probe_cuda)?;
        let start_mono_ns = mono_ns();
        let mut pressure = cfg.pressure;
        if pressure.budget_bytes.is_none() {
            pressure.budget_bytes = collector.platform().mem_total_bytes.map(default_budget);
        }
        let header = header(&cfg, &collector, interval, &pressure, start_mono_ns);
        let mut trace = TraceWriter::new(out, FRAME_BUF).map_err(SamplerError::Write)?;
        trace.write_header(&header).map_err(SamplerError::Write)?;

        let shared = Arc::new(Shared::new(start_mono_ns, cfg.channel.clone()));
        let sup_shared = Arc::clone(&shared);
        let tree_target = header.pid.is_some();
        let header_copy = header.clone();
        let supervisor = std::thread::Builder::new()
            .name("jetmem-writer".into())
            .stack_size(8 << 20)
            .spawn(move || {
                supervise(
                    collector,
                    trace,
                    header_copy,
                    sup_shared,
                    interval.as_nanos(),
                    PressureTracker::new(pressure),
                    tree_target,
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
