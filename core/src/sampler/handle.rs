//! What the tracer's threads share, and [`TraceHandle`]: markers and allocator
//! figures pushed from any thread through a lock-free queue.

use super::clock::mono_ns;
use crate::record::{Allocator, Mark, MarkKind, Record};
use crate::text::truncated;
use heapless::mpmc;
use nix::sys::eventfd::{EfdFlags, EventFd};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;

/// Capacity of the marker queue (marks and allocator figures from any thread).
const EVENTS: usize = 1024;
/// `Shared::exit_code` before the caller gave one.
pub(super) const NO_EXIT_CODE: i64 = i64::MIN;

/// What other threads push into the trace.
#[derive(Debug, Clone)]
pub(super) enum Pushed {
    Mark(Mark),
    Allocator(Allocator),
}

impl From<Pushed> for Record {
    fn from(p: Pushed) -> Record {
        match p {
            Pushed::Mark(m) => Record::Mark(m),
            Pushed::Allocator(a) => Record::Allocator(a),
        }
    }
}

/// The state the caller, the writer (supervisor) and the sampler thread share.
pub(super) struct Shared {
    pub(super) stop: AtomicBool,
    pub(super) running: AtomicBool,
    pub(super) sampler_done: AtomicBool,
    pub(super) target_gone: AtomicBool,
    pub(super) events: mpmc::Queue<Pushed, EVENTS>,
    pub(super) events_lost: AtomicU64,
    /// Markers queued since the writer last drained the queue.
    pub(super) events_pending: AtomicUsize,
    pub(super) start_mono_ns: u64,
    pub(super) exit_code: AtomicI64,
    /// The marker channel the sampler drains at each sample, if any.
    pub(super) channel: Option<Arc<crate::channel::shm::Owned>>,
    /// The writer thread, which sleeps until [`Shared::wake_writer`] or its next flush.
    pub(super) writer: OnceLock<Thread>,
    /// Set by the sampler when a flush is due (every `FLUSH_NS`, right after
    /// a sample): the writer wakes while the sampler's CPU is awake, not on a
    /// timer of its own.
    pub(super) flush_due: AtomicBool,
    /// Set while the writer thread drains and writes: the sampler then takes
    /// the writer's ticks itself (`sample_loop::Schedule`).
    pub(super) writer_busy: AtomicBool,
    /// Readable once sampling ended or the traced root is gone
    /// ([`TraceHandle::ended_fd`]); `None` where no eventfd could be made.
    pub(super) ended: Option<EventFd>,
}

impl Shared {
    /// A running tracer's state, its clock starting at `start_mono_ns`.
    pub(super) fn new(
        start_mono_ns: u64,
        channel: Option<Arc<crate::channel::shm::Owned>>,
    ) -> Shared {
        // heapless deprecates mpmc::Queue::new because a producer pre-empted in the
        // middle of an enqueue makes others see the queue full until it resumes. Here
        // that costs at worst a `QueueFull` marker (counted), never a block or UB.
        #[expect(deprecated)]
        let events = mpmc::Queue::new();
        Shared {
            stop: AtomicBool::new(false),
            running: AtomicBool::new(true),
            sampler_done: AtomicBool::new(false),
            target_gone: AtomicBool::new(false),
            events,
            events_lost: AtomicU64::new(0),
            events_pending: AtomicUsize::new(0),
            start_mono_ns,
            exit_code: AtomicI64::new(NO_EXIT_CODE),
            channel,
            writer: OnceLock::new(),
            flush_due: AtomicBool::new(false),
            writer_busy: AtomicBool::new(false),
            ended: EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK).ok(),
        }
    }

    /// Asks the writer for a flush and wakes it (never blocks).
    pub(super) fn request_flush(&self) {
        self.flush_due.store(true, Ordering::Release);
        self.wake_writer();
    }

    /// Makes [`TraceHandle::ended_fd`] readable (never blocks: the eventfd
    /// is non-blocking, and its counter cannot reach its limit from ones).
    pub(super) fn signal_ended(&self) {
        if let Some(fd) = &self.ended {
            let _ = fd.write(1);
        }
    }

    /// Wakes the writer thread (never blocks: an atomic, and a futex wake when it sleeps).
    pub(super) fn wake_writer(&self) {
        if let Some(t) = self.writer.get() {
            t.unpark();
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("running", &self.running.load(Ordering::Relaxed))
            .finish_non_exhaustive()
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
    pub(super) shared: Arc<Shared>,
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
        })?;
        // Half full: wake the writer once rather than wait for its next flush.
        if self.shared.events_pending.fetch_add(1, Ordering::Relaxed) + 1 == EVENTS / 2 {
            self.shared.wake_writer();
        }
        Ok(())
    }

    /// Records a marker now. Never blocks, never allocates; the label is cut to
    /// [`crate::record::MARK_LABEL_LEN`] bytes on a character boundary.
    pub fn mark(&self, kind: MarkKind, label: &str) -> Result<(), MarkError> {
        self.push(Pushed::Mark(Mark {
            t_ns: self.now_ns(),
            kind,
            label: truncated(label),
            pid: None,
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
            pid: None,
        }))
    }

    /// Whether the tracer is still recording.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// A descriptor that becomes readable once the tracer stopped sampling
    /// (a write error, or [`super::Tracer::stop`]) or the traced root exited,
    /// for a caller that sleeps in `poll` instead of asking
    /// [`Self::is_running`] and [`Self::target_exited`] on a timer. `None`
    /// where the kernel gave no eventfd; it is never read, so it stays readable.
    pub fn ended_fd(&self) -> Option<BorrowedFd<'_>> {
        self.shared.ended.as_ref().map(AsFd::as_fd)
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
