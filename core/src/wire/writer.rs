//! [`TraceWriter`] (feature `std`): a whole trace onto any [`std::io::Write`]:
//! the preamble, the header frame, then records packed into numbered frames.
//!
//! The one way jetmem writes traces: the sampler's writer thread, the tests'
//! trace builders, the benchmarks and the fuzz harness all use it, so every
//! trace is laid out as `docs/trace-format.md` says. Frames are built with
//! [`FrameBuilder`] (which adds the CRC); a frame is written whole, then `out`
//! is flushed, so a reader never sees half a frame from a live writer.

use super::{EncodeError, FrameBuilder, PREAMBLE_LEN, write_preamble};
use crate::record::{Header, Record, Sample};
use std::io::{self, Write};

/// Writes a trace: preamble on creation, then a header frame and record frames.
#[derive(Debug)]
pub struct TraceWriter<W> {
    out: W,
    buf: Vec<u8>,
    seq: u32,
    frames: u64,
    skipped: u64,
}

impl<W: Write> TraceWriter<W> {
    /// The frame buffer the tests and tools use: 64 KiB.
    pub const DEFAULT_FRAME_CAPACITY: usize = 64 * 1024;

    /// Writes the preamble to `out`. Frames are built in a buffer of
    /// `frame_capacity` bytes, allocated once here.
    pub fn new(mut out: W, frame_capacity: usize) -> io::Result<Self> {
        let mut pre = [0u8; PREAMBLE_LEN];
        write_preamble(&mut pre);
        out.write_all(&pre)?;
        Ok(TraceWriter {
            out,
            buf: vec![0u8; frame_capacity],
            seq: 0,
            frames: 0,
            skipped: 0,
        })
    }

    /// Writes the header frame. It must come first: it takes frame number 0.
    pub fn write_header(&mut self, header: &Header) -> io::Result<()> {
        self.write_frame_with(|fb| fb.push_header(header))
    }

    /// Writes one frame holding whatever `fill` pushes (several kinds of
    /// record, raw records of a newer minor version, a second header: for
    /// tests and tools). A `fill` error writes nothing and is returned.
    pub fn write_frame_with(
        &mut self,
        fill: impl FnOnce(&mut FrameBuilder<'_>) -> Result<(), EncodeError>,
    ) -> io::Result<()> {
        let mut fb = FrameBuilder::new(&mut self.buf, self.seq).map_err(invalid)?;
        fill(&mut fb).map_err(invalid)?;
        write_frame(&mut self.out, fb.finish())?;
        self.seq = self.seq.wrapping_add(1);
        self.frames += 1;
        Ok(())
    }

    /// Writes `records` in order, starting a new frame whenever one is full.
    /// A record that cannot be encoded even in an empty frame is skipped and
    /// counted ([`TraceWriter::skipped`]).
    pub fn write_records(&mut self, records: &[Record]) -> io::Result<()> {
        self.write_items(records, |fb, r| fb.push(r))
    }

    /// Writes `samples` in order, as [`TraceWriter::write_records`] does.
    pub fn write_samples(&mut self, samples: &[Sample]) -> io::Result<()> {
        self.write_items(samples, |fb, s| fb.push_sample(s))
    }

    /// Writes `samples` as the live writer lays them out: a new frame for
    /// every `span_ns` of sample time (the sampler flushes every 100 ms).
    pub fn write_samples_spanning(&mut self, samples: &[Sample], span_ns: u64) -> io::Result<()> {
        let mut rest = samples;
        while let Some(first) = rest.first() {
            let n = rest
                .iter()
                .take_while(|s| s.t_ns.wrapping_sub(first.t_ns) < span_ns)
                .count();
            let (frame, tail) = rest.split_at(n);
            self.write_samples(frame)?;
            rest = tail;
        }
        Ok(())
    }

    fn write_items<T>(
        &mut self,
        items: &[T],
        push: impl Fn(&mut FrameBuilder<'_>, &T) -> Result<(), EncodeError>,
    ) -> io::Result<()> {
        let mut rest = items;
        while !rest.is_empty() {
            let mut fb = FrameBuilder::new(&mut self.buf, self.seq).map_err(invalid)?;
            while let Some((item, tail)) = rest.split_first() {
                match push(&mut fb, item) {
                    Ok(()) => rest = tail,
                    Err(EncodeError::BufferFull) if !fb.is_empty() => break,
                    Err(_) => {
                        self.skipped += 1;
                        rest = tail;
                    }
                }
            }
            if !fb.is_empty() {
                write_frame(&mut self.out, fb.finish())?;
                self.seq = self.seq.wrapping_add(1);
                self.frames += 1;
            }
        }
        Ok(())
    }

    /// Frames written so far, the header frame included.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Records skipped because they could not be encoded.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Gives the output back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

fn write_frame<W: Write>(out: &mut W, frame: &[u8]) -> io::Result<()> {
    out.write_all(frame)?;
    out.flush()
}

fn invalid(e: EncodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}
