//! The Rust value behind a `jetmem_tracer *`: the core's tracer plus a handle
//! for lock-free marks.

use crate::config::Checked;
use crate::handle::Castable;
use crate::status::jetmem_status;
use jetmem_core::record::MarkKind;
use jetmem_core::sampler::{
    MarkError, OutputError, PendingOutput, SamplerError, TraceHandle, Tracer as CoreTracer,
    fork_generation, forked_since,
};
use std::sync::Mutex;

/// An opaque tracer handle. Created by `jetmem_tracer_start`, destroyed by
/// `jetmem_tracer_free`.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct jetmem_tracer {
    _private: [u8; 0],
}

/// A running (or stopped) in-process tracer.
#[derive(Debug)]
pub(crate) struct Tracer {
    /// Marks and allocator figures go through this; it never blocks.
    handle: TraceHandle,
    /// `Some` until stopped; the lock is taken only by stop and free.
    core: Mutex<Option<CoreTracer>>,
    /// The fork generation it started in: a forked child's copy differs.
    generation: u64,
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
        Ok(Tracer {
            handle: core.handle(),
            core: Mutex::new(Some(core)),
            generation,
        })
    }

    /// `Forked` in a forked child's copy of the tracer.
    #[inline]
    fn owned(&self) -> Result<(), jetmem_status> {
        if forked_since(self.generation) {
            Err(jetmem_status::Forked)
        } else {
            Ok(())
        }
    }

    /// Pushes a marker: no lock, no syscall, no allocation here.
    #[inline]
    pub(crate) fn mark(&self, kind: MarkKind, label: &str) -> Result<(), jetmem_status> {
        self.owned()?;
        self.handle.mark(kind, label).map_err(|e| mark_status(&e))
    }

    /// Pushes allocator figures (`None` = unknown).
    pub(crate) fn record_allocator(
        &self,
        device: u8,
        figures: [Option<u64>; 4],
    ) -> Result<(), jetmem_status> {
        self.owned()?;
        let [allocated, reserved, peak_allocated, peak_reserved] = figures;
        self.handle
            .record_allocator(device, allocated, reserved, peak_allocated, peak_reserved)
            .map_err(|e| mark_status(&e))
    }

    /// Markers and allocator records dropped so far because the queue was full.
    pub(crate) fn markers_lost(&self) -> u64 {
        self.handle.markers_lost()
    }

    /// Writes the trace's end, flushes it and joins the threads. A second call
    /// gives `AlreadyStopped`.
    pub(crate) fn stop(&self) -> Result<(), jetmem_status> {
        self.owned()?;
        let core = {
            let mut slot = self.core.lock().map_err(|_| jetmem_status::Panic)?;
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
        let core = match self.core.get_mut() {
            Ok(slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(core) = core {
            if forked_since(self.generation) {
                // A fork's copy: the threads are the parent's; stopping would
                // wait for threads this process does not have. Leak the copy.
                std::mem::forget(core);
                return;
            }
            let _ = core.stop(None);
        }
    }
}
