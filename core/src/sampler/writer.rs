//! The writer thread's buffer: records from the ring and the marker queue
//! wait here, sorted by time, until a flush writes them as frames through
//! [`TraceWriter`].

use super::clock::mono_ns;
use crate::record::{Header, Record};
use crate::wire::{HEADER_COPY_FRAMES, TraceWriter};
use std::io::{self, Write};

/// Records kept between two flushes before a flush is forced.
const PENDING: usize = 8192;

/// Pending records and the trace they go to.
pub(super) struct Writer<W> {
    trace: TraceWriter<W>,
    /// The header, repeated every [`HEADER_COPY_FRAMES`] frames and before
    /// the end (format 1.1, docs/trace-format.md §7.2).
    header: Header,
    /// Header copies written.
    copies: u64,
    /// `trace.frames()` at the last header (or copy).
    last_header_frame: u64,
    pending: Vec<Record>,
    /// The first write error; nothing is written after it.
    pub(super) error: Option<io::Error>,
    /// When the last flush began (monotonic ns).
    pub(super) last_flush: u64,
}

impl<W: Write> Writer<W> {
    /// Takes over a trace whose `header` is written.
    pub(super) fn new(trace: TraceWriter<W>, header: Header) -> Writer<W> {
        Writer {
            last_header_frame: trace.frames(),
            trace,
            header,
            copies: 0,
            pending: Vec::with_capacity(PENDING),
            error: None,
            last_flush: mono_ns(),
        }
    }

    /// Record frames written (the header frame and its copies not counted).
    pub(super) fn record_frames(&self) -> u64 {
        self.trace.frames().saturating_sub(1 + self.copies)
    }

    /// Writes a frame holding a copy of the header.
    pub(super) fn write_header_copy(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.trace.write_header(&self.header) {
                self.error = Some(e);
            }
            self.copies += 1;
            self.last_header_frame = self.trace.frames();
        }
    }

    /// Queues a record, flushing first if the buffer is full.
    pub(super) fn add(&mut self, rec: Record) {
        if self.pending.len() >= PENDING {
            self.flush();
        }
        self.pending.push(rec);
    }

    /// Writes every pending record, in time order.
    pub(super) fn flush(&mut self) {
        self.last_flush = mono_ns();
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_unstable_by_key(Record::t_ns);
        if self.error.is_none() {
            let skipped = self.trace.skipped();
            if let Err(e) = self.trace.write_records(&self.pending) {
                self.error = Some(e);
            }
            if self.trace.skipped() > skipped {
                log::warn!("jetmem: a record could not be encoded and was skipped");
            }
        }
        self.pending.clear();
        if self.trace.frames() - self.last_header_frame >= HEADER_COPY_FRAMES {
            self.write_header_copy();
        }
    }
}
