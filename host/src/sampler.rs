//! The live sampler of contract D (`jetmem_core::sampler`), seen from the CLI.
//!
//! Until the lead's sampler lands on `main`, this file mirrors the contract's
//! names and every entry point fails with [`SamplerError::Unavailable`]; after
//! `git merge main` it becomes `pub use jetmem_core::sampler::*;`.
#![allow(dead_code)] // Mirrors the whole contract; the CLI uses part of it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jetmem_core::record::{End, Header, MarkKind, Platform, Sample};

/// What to trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The whole system.
    System,
    /// A process and its descendants.
    Tree { pid: u32 },
}

pub use jetmem_core::accounting::PressureConfig;

/// Settings of a recording.
#[derive(Debug, Clone)]
pub struct SamplerConfig {
    pub root: PathBuf,
    pub interval: Duration,
    pub target: Target,
    pub label: String,
    pub command: String,
    pub probe_cuda: bool,
    pub pressure: PressureConfig,
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
        }
    }
}

/// Why the sampler failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SamplerError {
    Io {
        path: PathBuf,
        source: io::Error,
    },
    NoSuchProcess(u32),
    AlreadyStopped,
    /// This build has no sampler yet.
    Unavailable,
}

impl fmt::Display for SamplerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SamplerError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            SamplerError::NoSuchProcess(pid) => write!(f, "no process with pid {pid}"),
            SamplerError::AlreadyStopped => f.write_str("the tracer was already stopped"),
            SamplerError::Unavailable => f.write_str("this build of jetmem has no live sampler"),
        }
    }
}

impl std::error::Error for SamplerError {}

/// Why a mark was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MarkError {
    Stopped,
    QueueFull,
}

/// What stopping a tracer returns.
#[derive(Debug)]
pub struct StopReport {
    pub end: End,
    pub write_error: Option<io::Error>,
}

/// A running recording.
#[derive(Debug)]
pub struct Tracer {
    header: Header,
}

/// A cheap handle to push marks into a running recording.
#[derive(Debug, Clone)]
pub struct TraceHandle;

impl Tracer {
    pub fn start<W: io::Write + Send + 'static>(
        _cfg: SamplerConfig,
        _out: W,
    ) -> Result<Tracer, SamplerError> {
        Err(SamplerError::Unavailable)
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn handle(&self) -> TraceHandle {
        TraceHandle
    }

    pub fn stop(self, _exit_code: Option<i32>) -> Result<StopReport, SamplerError> {
        Err(SamplerError::Unavailable)
    }
}

impl TraceHandle {
    pub fn mark(&self, _kind: MarkKind, _label: &str) -> Result<(), MarkError> {
        Err(MarkError::Stopped)
    }

    pub fn is_running(&self) -> bool {
        false
    }
}

/// A one-shot reading.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub platform: Platform,
    pub sample: Sample,
    pub sources: Vec<SourceStatus>,
}

/// Whether one source file could be read.
#[derive(Debug, Clone)]
pub struct SourceStatus {
    pub name: &'static str,
    pub path: PathBuf,
    pub state: SourceState,
}

/// The state of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    Ok,
    Missing,
    NeedsRoot,
    Unreadable(String),
}

/// A sampler opened once and read repeatedly (monitor).
#[derive(Debug)]
pub struct LiveSampler {
    platform: Platform,
    sources: Vec<SourceStatus>,
}

impl LiveSampler {
    pub fn open(_root: &Path, _target: Target, _probe_cuda: bool) -> Result<Self, SamplerError> {
        Err(SamplerError::Unavailable)
    }

    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    pub fn sources(&self) -> &[SourceStatus] {
        &self.sources
    }

    pub fn sample(&mut self) -> Sample {
        Sample::default()
    }
}

/// Reads the platform and one sample.
pub fn snapshot(_root: &Path, _probe_cuda: bool) -> Result<Snapshot, SamplerError> {
    Err(SamplerError::Unavailable)
}
