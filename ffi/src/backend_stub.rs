//! TEMPORARY stand-in for `jetmem_core::sampler` (contract D) until the lead's
//! sampler lands on main. It writes a real v1 trace (header, marks, allocator
//! records, end) but takes no samples. Removed when main is merged.
#![allow(dead_code, missing_docs)]

use jetmem_core::record::{Allocator, End, Header, Mark, MarkKind, Record};
use jetmem_core::wire::{FrameBuilder, PREAMBLE_LEN, write_preamble};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    System,
    Tree { pid: u32 },
}

#[derive(Debug, Clone)]
pub struct SamplerConfig {
    pub root: PathBuf,
    pub interval: Duration,
    pub target: Target,
    pub label: String,
    pub command: String,
    pub probe_cuda: bool,
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
        }
    }
}

#[derive(Debug)]
#[non_exhaustive]
pub enum MarkError {
    Stopped,
    QueueFull,
}

#[derive(Debug)]
#[non_exhaustive]
pub enum SamplerError {
    Io { path: PathBuf, source: io::Error },
    Write(io::Error),
    NoSuchProcess(u32),
    BadInterval(Duration),
    AlreadyStopped,
    Thread(String),
}

impl std::fmt::Display for SamplerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SamplerError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            SamplerError::NoSuchProcess(p) => write!(f, "no such process: {p}"),
            SamplerError::AlreadyStopped => f.write_str("already stopped"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug)]
pub struct StopReport {
    pub end: End,
    pub write_error: Option<io::Error>,
}

#[derive(Debug, Clone)]
pub struct TraceHandle {
    tx: SyncSender<Record>,
    running: Arc<AtomicBool>,
    start: Instant,
}

impl TraceHandle {
    fn t_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn send(&self, r: Record) -> Result<(), MarkError> {
        if !self.running.load(Ordering::Acquire) {
            return Err(MarkError::Stopped);
        }
        self.tx.try_send(r).map_err(|e| match e {
            TrySendError::Full(_) => MarkError::QueueFull,
            TrySendError::Disconnected(_) => MarkError::Stopped,
        })
    }

    pub fn mark(&self, kind: MarkKind, label: &str) -> Result<(), MarkError> {
        let mut l = heapless::String::new();
        for c in label.chars() {
            if l.push(c).is_err() {
                break;
            }
        }
        self.send(Record::Mark(Mark {
            t_ns: self.t_ns(),
            kind,
            label: l,
        }))
    }

    pub fn record_allocator(
        &self,
        device: u8,
        allocated: Option<u64>,
        reserved: Option<u64>,
        peak_allocated: Option<u64>,
        peak_reserved: Option<u64>,
    ) -> Result<(), MarkError> {
        self.send(Record::Allocator(Allocator {
            t_ns: self.t_ns(),
            device,
            allocated,
            reserved,
            peak_allocated,
            peak_reserved,
        }))
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }
}

#[derive(Debug)]
pub struct Tracer {
    header: Header,
    handle: TraceHandle,
    writer: JoinHandle<io::Result<()>>,
}

fn write_all<W: Write>(out: &mut W, header: &Header, rx: Receiver<Record>) -> io::Result<()> {
    let mut pre = [0u8; PREAMBLE_LEN];
    write_preamble(&mut pre);
    out.write_all(&pre)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut seq = 0u32;
    let mut first = true;
    let mut pending: Vec<Record> = Vec::new();
    loop {
        if let Ok(r) = rx.recv_timeout(Duration::from_millis(20)) {
            pending.push(r);
            pending.extend(rx.try_iter());
        }
        let done = pending.iter().any(|r| matches!(r, Record::End(_)));
        if first || !pending.is_empty() {
            let mut fb = FrameBuilder::new(&mut buf, seq).map_err(io::Error::other)?;
            if first {
                fb.push_header(header).map_err(io::Error::other)?;
                first = false;
            }
            for r in pending.drain(..) {
                if fb.push(&r).is_err() {
                    out.write_all(fb.finish())?;
                    seq += 1;
                    fb = FrameBuilder::new(&mut buf, seq).map_err(io::Error::other)?;
                    fb.push(&r).map_err(io::Error::other)?;
                }
            }
            out.write_all(fb.finish())?;
            seq += 1;
        }
        if done {
            return out.flush();
        }
    }
}

impl Tracer {
    pub fn start<W: Write + Send + 'static>(
        cfg: SamplerConfig,
        mut out: W,
    ) -> Result<Tracer, SamplerError> {
        if let Target::Tree { pid } = cfg.target
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            return Err(SamplerError::NoSuchProcess(pid));
        }
        let mut header = Header {
            interval_ns: u64::try_from(cfg.interval.as_nanos()).unwrap_or(u64::MAX),
            ..Header::default()
        };
        for c in cfg.label.chars() {
            if header.label.push(c).is_err() {
                break;
            }
        }
        if let Target::Tree { pid } = cfg.target {
            header.pid = Some(pid);
        }
        let (tx, rx) = sync_channel(4096);
        let h2 = header.clone();
        let writer = std::thread::spawn(move || write_all(&mut out, &h2, rx));
        Ok(Tracer {
            header,
            handle: TraceHandle {
                tx,
                running: Arc::new(AtomicBool::new(true)),
                start: Instant::now(),
            },
            writer,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn handle(&self) -> TraceHandle {
        self.handle.clone()
    }

    pub fn stop(self, exit_code: Option<i32>) -> Result<StopReport, SamplerError> {
        let end = End {
            t_ns: self.handle.t_ns(),
            exit_code,
            ..End::default()
        };
        self.handle.running.store(false, Ordering::Release);
        let _ = self.handle.tx.send(Record::End(end));
        drop(self.handle);
        let write_error = match self.writer.join() {
            Ok(r) => r.err(),
            Err(_) => Some(io::Error::other("writer thread panicked")),
        };
        Ok(StopReport { end, write_error })
    }
}
