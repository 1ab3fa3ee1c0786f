//! The Rust value behind a `jetmem_tracer *`: the core's tracer plus a handle
//! for lock-free marks.

use crate::config::Checked;
use crate::handle::Castable;
use crate::status::jetmem_status;
use jetmem_core::channel::shm::Mapped;
use jetmem_core::channel::{Push, PushError};
use jetmem_core::record::MarkKind;
use jetmem_core::sampler::{
    MarkError, OutputError, PendingOutput, SamplerError, TraceHandle, Tracer as CoreTracer,
    fork_generation, forked_since,
};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// An opaque tracer handle. Created by `jetmem_tracer_start`, destroyed by
/// `jetmem_tracer_free`.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct jetmem_tracer {
    _private: [u8; 0],
}

/// A running (or stopped) in-process tracer, or a handle on the recorder's
/// marker channel (`jetmem_attach`).
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one boxed value per C handle; boxing the variant would add a second allocation"
)]
pub(crate) enum Tracer {
    /// This process's own tracer.
    Own {
        /// Marks and allocator figures go through this; it never blocks.
        handle: TraceHandle,
        /// `Some` until stopped; the lock is taken only by stop and free.
        core: Mutex<Option<CoreTracer>>,
        /// The fork generation it started in: a forked child's copy differs.
        generation: u64,
    },
    /// The channel of the `jetmem record` this process runs under.
    Attached {
        /// The mapped ring.
        channel: Mapped,
        /// Set by stop: later marks give `AlreadyStopped`.
        detached: AtomicBool,
        /// Records the channel had no room for (`QueueFull`).
        lost: AtomicU64,
    },
}

impl Castable for jetmem_tracer {
    type RustType = Tracer;
}

fn sampler_status(e: &SamplerError) -> jetmem_status {
    match e {
        SamplerError::Io { .. } | SamplerError::Write(_) => jetmem_status::IoError,
        SamplerError::NoSuchProcess(_) => jetmem_status::NoSuchProcess,
        SamplerError::BadInterval(_) => jetmem_status::InvalidArgument,
        SamplerError::AlreadyStopped => jetmem_status::AlreadyStopped,
        _ => jetmem_status::SamplerError,
    }
}

fn mark_status(e: &MarkError) -> jetmem_status {
    match e {
        MarkError::Stopped => jetmem_status::AlreadyStopped,
        MarkError::QueueFull => jetmem_status::QueueFull,
        _ => jetmem_status::SamplerError,
    }
}

impl Tracer {
    /// Starts the core's sampler and writer threads on a temporary file
    /// beside the output (`jetmem_core::sampler::PendingOutput`, the CLI's
    /// rule), renamed into place once the tracer runs. An existing output is
    /// replaced only with `JETMEM_FLAG_FORCE` and only if it is a regular
    /// file; a failed start leaves it untouched.
    pub(crate) fn start(cfg: Checked) -> Result<Tracer, jetmem_status> {
        let generation = fork_generation();
        let (pending, file) =
            PendingOutput::create(&cfg.output, cfg.force).map_err(|e| match e {
                OutputError::Io(_) => jetmem_status::IoError,
                _ => jetmem_status::Exists,
            })?;
        let core = CoreTracer::start(cfg.sampler, file).map_err(|e| sampler_status(&e))?;
        if pending.commit().is_err() {
            let _ = core.stop(None);
            return Err(jetmem_status::IoError);
        }
        Ok(Tracer::Own {
            handle: core.handle(),
            core: Mutex::new(Some(core)),
            generation,
        })
    }

    /// `Forked` in a forked child's copy of this process's own tracer (an
    /// attached handle works in a fork: the channel takes the child's pid).
    #[inline]
    fn owned(&self) -> Result<(), jetmem_status> {
        match self {
            Tracer::Own { generation, .. } if forked_since(*generation) => {
                Err(jetmem_status::Forked)
            }
            _ => Ok(()),
        }
    }

    /// Binds to the marker channel named in `JETMEM_CHANNEL`.
    pub(crate) fn attach() -> Result<Tracer, jetmem_status> {
        match Mapped::from_env() {
            Ok(Some(channel)) => Ok(Tracer::Attached {
                channel,
                detached: AtomicBool::new(false),
                lost: AtomicU64::new(0),
            }),
            Ok(None) => Err(jetmem_status::NotRecording),
            Err(_) => Err(jetmem_status::IoError),
        }
    }

    /// Pushes to the channel: no lock, no syscall, no allocation.
    #[inline]
    fn push(
        channel: &Mapped,
        detached: &AtomicBool,
        lost: &AtomicU64,
        what: Push<'_>,
    ) -> Result<(), jetmem_status> {
        if detached.load(Ordering::Relaxed) {
            return Err(jetmem_status::AlreadyStopped);
        }
        channel.push(what).map_err(|PushError::Full| {
            lost.fetch_add(1, Ordering::Relaxed);
            jetmem_status::QueueFull
        })
    }

    /// Pushes a marker: no lock, no syscall, no allocation here.
    #[inline]
    pub(crate) fn mark(&self, kind: MarkKind, label: &str) -> Result<(), jetmem_status> {
        self.owned()?;
        match self {
            Tracer::Own { handle, .. } => handle.mark(kind, label).map_err(|e| mark_status(&e)),
            Tracer::Attached {
                channel,
                detached,
                lost,
            } => Self::push(channel, detached, lost, Push::Mark(kind, label)),
        }
    }

    /// Pushes allocator figures (`None` = unknown).
    pub(crate) fn record_allocator(
        &self,
        device: u8,
        figures: [Option<u64>; 4],
    ) -> Result<(), jetmem_status> {
        self.owned()?;
        let [allocated, reserved, peak_allocated, peak_reserved] = figures;
        match self {
            Tracer::Own { handle, .. } => handle
                .record_allocator(device, allocated, reserved, peak_allocated, peak_reserved)
                .map_err(|e| mark_status(&e)),
            Tracer::Attached {
                channel,
                detached,
                lost,
            } => Self::push(channel, detached, lost, Push::Allocator(device, figures)),
        }
    }

    /// Markers and allocator records dropped so far because the queue was full.
    pub(crate) fn markers_lost(&self) -> u64 {
        match self {
            Tracer::Own { handle, .. } => handle.markers_lost(),
            Tracer::Attached { lost, .. } => lost.load(Ordering::Relaxed),
        }
    }

    /// Writes the trace's end, flushes it and joins the threads (an attached
    /// handle only stops writing). A second call gives `AlreadyStopped`.
    pub(crate) fn stop(&self) -> Result<(), jetmem_status> {
        self.owned()?;
        let core = match self {
            Tracer::Own { core, .. } => core,
            Tracer::Attached { detached, .. } => {
                return match detached.swap(true, Ordering::Relaxed) {
                    false => Ok(()),
                    true => Err(jetmem_status::AlreadyStopped),
                };
            }
        };
        let core = {
            let mut slot = core.lock().map_err(|_| jetmem_status::Panic)?;
            slot.take().ok_or(jetmem_status::AlreadyStopped)?
        };
        let report = core.stop(None).map_err(|e| sampler_status(&e))?;
        match report.write_error {
            Some(_) => Err(jetmem_status::IoError),
            None => Ok(()),
        }
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        // A tracer freed while running still finishes its file.
        let Tracer::Own {
            core, generation, ..
        } = self
        else {
            return;
        };
        let core = match core.get_mut() {
            Ok(slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(core) = core {
            if forked_since(*generation) {
                // A fork's copy: the threads are the parent's; stopping would
                // wait for threads this process does not have. Leak the copy.
                std::mem::forget(core);
                return;
            }
            let _ = core.stop(None);
        }
    }
}
