//! The live sampler (feature `std`): fixed-interval, allocation-free sampling
//! of a process tree or the whole system into a trace.
//!
//! [`Tracer::start`] opens every source once, writes the trace header, and
//! starts two threads: the *sampler* reads counters at absolute deadlines and
//! pushes records into a fixed-capacity SPSC ring (never blocking; overflow is
//! counted and written as `Dropped`), and the *writer* encodes them into frames
//! and writes a frame at least every 100 ms. Markers and allocator figures from
//! any thread go through a lock-free MPMC queue ([`TraceHandle`]).
//!
//! # The public API (what `jetmem` and `jetmem-ffi` use)
//!
//! - Recording: [`SamplerConfig`] (with [`Target`] and a validated
//!   [`Interval`], and optionally a marker channel,
//!   [`crate::channel::shm::Owned`]) → [`Tracer::start`] → [`Tracer::handle`] for
//!   [`TraceHandle::mark`] / [`TraceHandle::record_allocator`] from any thread
//!   → [`Tracer::stop`] → [`StopReport`]. Errors: [`SamplerError`],
//!   [`MarkError`].
//! - Watching: [`LiveSampler`] (opens once, [`LiveSampler::sample`] on demand)
//!   and [`snapshot`] (one [`Snapshot`], for `jetmem info`), with the sources'
//!   [`SourceStatus`] / [`SourceState`].
//! - Processes: [`process_alive`] (under a sysroot).
//! - Lower level, for tests and benchmarks: [`Collector`], [`ProcessTree`],
//!   [`FileSource`], [`Cuda`], [`Lateness`], [`page_size`].
//!
//! # Files, one job each
//!
//! - `source.rs`: a kernel file kept open and re-read with `pread`; `alive.rs`:
//!   whether a process lives;
//!   `dir.rs`: numeric directory entries without allocation.
//! - `collect/open.rs`: opening every source, probing CUDA, detecting the
//!   platform; `collect.rs`: collecting one sample (fast and slow paths).
//! - `tree.rs`: the traced process tree and its per-process reads;
//!   `tree/discover.rs`: finding joins and leaves; `cgroup_path.rs`: where a
//!   cgroup's files lie.
//! - `cuda.rs`: the CUDA driver (device, memory info); `nvml.rs`: NVML
//!   (loading, devices), `nvml/procs.rs`: its per-process GPU memory,
//!   `nvml/memory.rs`: its device-wide memory.
//! - `clock.rs`: clocks and absolute deadlines; `lateness.rs`: how late ticks were.
//! - `sample_loop.rs`: the sampler thread; `handle.rs`: what the threads share
//!   and [`TraceHandle`]; `writer.rs`: the writer's pending records;
//!   `supervisor.rs`: the writer thread; `tracer.rs`: [`Tracer`]'s lifecycle
//!   and the trace header.
//!
//! Every kernel file is parsed by [`crate::parse`], every figure derived by
//! [`crate::accounting`], every frame written by [`crate::wire::TraceWriter`];
//! the no-`std` part of the crate never imports from here.

mod alive;
mod cgroup_path;
mod clock;
mod collect;
mod cuda;
mod dir;
mod fork;
mod handle;
mod lateness;
mod nvml;
mod output;
mod sample_loop;
mod source;
mod supervisor;
mod tracer;
mod tree;
mod writer;

pub use alive::process_alive;
pub(crate) use clock::mono_ns;
pub use collect::{Collector, page_size};
pub use cuda::{Cuda, CudaDeviceInfo, CudaUnavailable};
pub use dir::{numeric_entries, numeric_entries_fd, open_dir};
pub use fork::{fork_generation, forked_since};
pub use handle::{MarkError, TraceHandle};
pub use lateness::Lateness;
pub use nvml::{
    MAX_PROCS as NVML_MAX_PROCS, NVML_LIBRARY, Nvml, NvmlMemory, NvmlMemoryVersion, NvmlProcess,
    NvmlProcesses, NvmlProcsVersion, NvmlReadError, NvmlUnavailable, cuda_uuid_text,
};
pub use output::{OutputError, PendingOutput, check_replaceable};
pub use source::{FileSource, SourceState, SourceStatus};
pub use tracer::{StopReport, Tracer};
pub use tree::{Change, MAX_PROCESSES, ProcessTree, Tracked};

use crate::accounting::PressureConfig;
use crate::record::{Platform, Sample};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A sampling interval, checked to lie in [`Interval::MIN`]..=[`Interval::MAX`]
/// (10 µs to 1 h): the one place the bounds are checked, for the CLI and the FFI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval(Duration);

impl Interval {
    /// The shortest interval: 10 µs.
    pub const MIN: Duration = Duration::from_micros(10);
    /// The longest interval: 1 h.
    pub const MAX: Duration = Duration::from_secs(3600);

    /// `d`, if it lies within the bounds; else [`SamplerError::BadInterval`].
    pub fn new(d: Duration) -> Result<Interval, SamplerError> {
        if (Self::MIN..=Self::MAX).contains(&d) {
            Ok(Interval(d))
        } else {
            Err(SamplerError::BadInterval(d))
        }
    }

    /// The interval.
    pub fn get(self) -> Duration {
        self.0
    }

    /// The interval in nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.0.as_nanos() as u64
    }
}

/// What to trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The whole system: system counters only.
    System,
    /// A process and all its descendants (plus the system counters).
    Tree {
        /// The root process.
        pid: u32,
    },
}

/// How to trace.
#[derive(Debug, Clone)]
pub struct SamplerConfig {
    /// The sysroot every path is read under (`/` for the live system, e.g. `/host` in a container).
    pub root: PathBuf,
    /// The sampling interval.
    pub interval: Duration,
    /// What to trace.
    pub target: Target,
    /// The user's label.
    pub label: String,
    /// The traced command line, for the header.
    pub command: String,
    /// Whether to look for a CUDA device.
    pub probe_cuda: bool,
    /// Pressure threshold and budget.
    pub pressure: PressureConfig,
    /// The marker channel the traced tree writes into (`jetmem record` of a
    /// command); drained into the trace at each sample.
    pub channel: Option<std::sync::Arc<crate::channel::shm::Owned>>,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            root: PathBuf::from("/"),
            interval: Duration::from_millis(10),
            target: Target::System,
            label: String::new(),
            command: String::new(),
            probe_cuda: true,
            pressure: PressureConfig::default(),
            channel: None,
        }
    }
}

/// Why the sampler could not start or finish.
#[derive(Debug)]
#[non_exhaustive]
pub enum SamplerError {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing the trace failed.
    Write(io::Error),
    /// The process to trace does not exist.
    NoSuchProcess(u32),
    /// The interval is zero or too large.
    BadInterval(Duration),
    /// The tracer was already stopped.
    AlreadyStopped,
    /// A sampler thread could not be started or panicked.
    Thread(String),
}

impl std::fmt::Display for SamplerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SamplerError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            SamplerError::Write(e) => write!(f, "writing the trace failed: {e}"),
            SamplerError::NoSuchProcess(pid) => write!(f, "no process with pid {pid}"),
            SamplerError::BadInterval(d) => {
                write!(f, "sampling interval {d:?} is out of range (10 µs to 1 h)")
            }
            SamplerError::AlreadyStopped => f.write_str("the tracer is already stopped"),
            SamplerError::Thread(e) => write!(f, "sampler thread failed: {e}"),
        }
    }
}

impl std::error::Error for SamplerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SamplerError::Io { source, .. } | SamplerError::Write(source) => Some(source),
            _ => None,
        }
    }
}

/// One reading of a machine, for `jetmem info` and `monitor`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The machine.
    pub platform: Platform,
    /// Its counters now.
    pub sample: Sample,
    /// Which sources could be read, and why not.
    pub sources: Vec<SourceStatus>,
}

/// Opens sources once and samples repeatedly (the `monitor` command).
#[derive(Debug)]
pub struct LiveSampler {
    collector: Collector,
    start: std::time::Instant,
    last_slow: std::time::Instant,
}

impl LiveSampler {
    /// Opens every source under `root` for `target`.
    pub fn open(root: &Path, target: Target, probe_cuda: bool) -> Result<Self, SamplerError> {
        let collector = Collector::open(root, target, probe_cuda)?;
        collector.bind_thread();
        let now = std::time::Instant::now();
        Ok(LiveSampler {
            collector,
            start: now,
            last_slow: now,
        })
    }

    /// The machine.
    pub fn platform(&self) -> &Platform {
        self.collector.platform()
    }

    /// Which sources could be read.
    pub fn sources(&self) -> &[SourceStatus] {
        self.collector.sources()
    }

    /// Makes the calling thread the one that reads CUDA figures: call it before
    /// [`LiveSampler::sample`] when samples are taken from another thread than
    /// the one that opened the sampler (the FFI's in-program queries).
    pub fn bind_thread(&self) {
        self.collector.bind_thread();
    }

    /// Reads the counters now (slow-path files at most every 100 ms).
    pub fn sample(&mut self) -> Sample {
        let now = std::time::Instant::now();
        if now.duration_since(self.last_slow) >= Duration::from_millis(100) {
            self.collector.slow(|_| {});
            self.last_slow = now;
        }
        let mut s = Sample::default();
        let t = now.duration_since(self.start).as_nanos() as u64;
        self.collector.fast(t, &mut s);
        s
    }
}

/// Reads a machine once: its platform, counters and source statuses.
pub fn snapshot(root: &Path, probe_cuda: bool) -> Result<Snapshot, SamplerError> {
    let mut live = LiveSampler::open(root, Target::System, probe_cuda)?;
    let sample = live.sample();
    Ok(Snapshot {
        platform: live.platform().clone(),
        sample,
        sources: live.sources().to_vec(),
    })
}
