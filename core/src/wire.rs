//! Trace format v1: framing, record encoding and frame decoding.
//!
//! The byte-by-byte description is `docs/trace-format.md`; this module is the
//! reference implementation. In short:
//!
//! ```text
//! file    := preamble frame*
//! preamble:= "\x89JETMEM\n" major:u16le minor:u16le            (12 bytes)
//! frame   := sync:[A5 4A 4D 5A] len:u32le crc:u32le payload     (12 + len bytes)
//!            crc = CRC-32C over the 4 len bytes and the payload
//! payload := seq:varint record*
//! record  := 0x00 key-sample | 0x01 delta-sample | tag:varint len:varint postcard-body
//! ```
//!
//! Every frame starts its samples with a key sample, so a frame decodes on its
//! own: damage costs exactly the frames it touches.

use crate::record::{Header, Record, Sample};
use crate::varint;
use serde::Serialize;

/// The first 8 bytes of every trace file.
pub const MAGIC: [u8; 8] = *b"\x89JETMEM\n";
/// Format major version: a reader rejects a newer major.
pub const FORMAT_MAJOR: u16 = 1;
/// Format minor version: a newer minor only adds record kinds, counters and trailing fields.
/// 1.1: the header record may be repeated (a copy is identical to the first).
pub const FORMAT_MINOR: u16 = 1;
/// A writer of 1.1 repeats the header at least every this many frames
/// (10 s at the 100 ms flush) and once more just before the end.
pub const HEADER_COPY_FRAMES: u64 = 100;
/// Length of the preamble (magic + major + minor).
pub const PREAMBLE_LEN: usize = 12;
/// The 4 bytes that open every frame.
pub const SYNC: [u8; 4] = [0xA5, 0x4A, 0x4D, 0x5A];
/// Length of a frame's header (sync + len + crc).
pub const FRAME_HEADER_LEN: usize = 12;
/// Largest payload a reader accepts; anything larger is damage.
pub const MAX_PAYLOAD_LEN: usize = 1 << 20;

/// Record tags. 0 and 1 carry no length (the two sample forms); every other
/// tag is followed by the body's length, so readers skip tags they do not know.
pub mod tag {
    /// A sample with absolute values.
    pub const KEY_SAMPLE: u8 = 0;
    /// A sample as deltas against the previous sample of the same frame.
    pub const DELTA_SAMPLE: u8 = 1;
    /// The trace header.
    pub const HEADER: u8 = 2;
    /// A phase / frame marker.
    pub const MARK: u8 = 3;
    /// A process joined or left.
    pub const PROCESS: u8 = 4;
    /// Per-process slow-path memory.
    pub const PROCESS_MEMORY: u8 = 5;
    /// Framework allocator figures.
    pub const ALLOCATOR: u8 = 6;
    /// A threshold crossed.
    pub const EVENT: u8 = 7;
    /// Samples lost to ring overflow.
    pub const DROPPED: u8 = 8;
    /// Clean end.
    pub const END: u8 = 9;
    /// Marker-channel records one writer lost (format 1.1). Tags 10–15 are
    /// left to other 1.1 additions.
    pub const CHANNEL_LOST: u8 = 16;
    /// One process's CUDA allocations from the `--cuda-hook` interposer
    /// (format 1.1). Tags 17–19 are left to other 1.1 additions.
    pub const CUDA_HOOK: u8 = 20;
    /// One traced process's GPU memory from NVML (format 1.1).
    pub const GPU_PROCESS: u8 = 21;
}

/// Why encoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The caller's buffer has no room for this record; the frame is unchanged.
    BufferFull,
    /// A counter value is not representable (≥ 2^61 and not a whole KiB).
    ValueOutOfRange,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::BufferFull => f.write_str("frame buffer full"),
            EncodeError::ValueOutOfRange => f.write_str("counter value out of range"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Why a frame's payload could not be decoded although its CRC was right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The payload ended inside a record.
    UnexpectedEnd,
    /// A varint was longer than 64 bits.
    BadVarint,
    /// A delta sample came without a sample before it in the frame.
    DeltaWithoutKey,
    /// A record body did not deserialize.
    BadBody,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DecodeError::UnexpectedEnd => "payload ends inside a record",
            DecodeError::BadVarint => "malformed varint",
            DecodeError::DeltaWithoutKey => "delta sample without a key sample",
            DecodeError::BadBody => "record body does not decode",
        })
    }
}

impl core::error::Error for DecodeError {}

/// Writes the 12-byte preamble into `buf`.
pub fn write_preamble(buf: &mut [u8; PREAMBLE_LEN]) {
    let [a, b] = FORMAT_MAJOR.to_le_bytes();
    let [c, d] = FORMAT_MINOR.to_le_bytes();
    let mut out = [0u8; PREAMBLE_LEN];
    for (slot, byte) in out.iter_mut().zip(MAGIC.iter().chain([a, b, c, d].iter())) {
        *slot = *byte;
    }
    *buf = out;
}

/// What a preamble says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preamble {
    /// A jetmem trace of this format version.
    Version {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// The bytes are not a jetmem trace.
    NotATrace,
}

/// Reads a preamble.
pub fn read_preamble(buf: &[u8; PREAMBLE_LEN]) -> Preamble {
    let (magic, rest) = buf.split_at(MAGIC.len());
    if magic != MAGIC {
        return Preamble::NotATrace;
    }
    match rest {
        [a, b, c, d] => Preamble::Version {
            major: u16::from_le_bytes([*a, *b]),
            minor: u16::from_le_bytes([*c, *d]),
        },
        _ => Preamble::NotATrace,
    }
}

/// Builds one frame in a caller-provided buffer. No allocation.
///
/// Push records, then [`FrameBuilder::finish`] to get the frame's bytes. A push
/// that does not fit returns [`EncodeError::BufferFull`] and leaves the frame
/// as it was, so the caller can finish it and start the next.
#[derive(Debug)]
pub struct FrameBuilder<'a> {
    buf: &'a mut [u8],
    pos: usize,
    records: u32,
    prev: Option<Sample>,
    prev_dt: u64,
}

impl<'a> FrameBuilder<'a> {
    /// Starts frame number `seq` in `buf`.
    pub fn new(buf: &'a mut [u8], seq: u32) -> Result<Self, EncodeError> {
        let mut pos = FRAME_HEADER_LEN;
        if buf.len() < FRAME_HEADER_LEN {
            return Err(EncodeError::BufferFull);
        }
        varint::put(buf, &mut pos, u64::from(seq)).ok_or(EncodeError::BufferFull)?;
        Ok(FrameBuilder {
            buf,
            pos,
            records: 0,
            prev: None,
            prev_dt: 0,
        })
    }

    /// Records pushed so far.
    pub fn records(&self) -> u32 {
        self.records
    }

    /// Bytes the frame would take if finished now.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Appends the trace header.
    pub fn push_header(&mut self, header: &Header) -> Result<(), EncodeError> {
        self.push_body(tag::HEADER, header)
    }

    /// Appends one record.
    pub fn push(&mut self, record: &Record) -> Result<(), EncodeError> {
        match record {
            Record::Sample(s) => self.push_sample(s),
            // A writer's pid is a 1.1 trailing field, written only when known,
            // so a mark without one keeps its 1.0 bytes.
            Record::Mark(m) => match m.pid {
                Some(pid) => self.push_body(tag::MARK, &(m, Some(pid))),
                None => self.push_body(tag::MARK, m),
            },
            Record::Process(p) => self.push_body(tag::PROCESS, p),
            Record::ProcessMemory(p) => self.push_body(tag::PROCESS_MEMORY, p),
            Record::Allocator(a) => match a.pid {
                Some(pid) => self.push_body(tag::ALLOCATOR, &(a, Some(pid))),
                None => self.push_body(tag::ALLOCATOR, a),
            },
            Record::Event(e) => self.push_body(tag::EVENT, e),
            Record::Dropped(d) => self.push_body(tag::DROPPED, d),
            Record::ChannelLost(c) => self.push_body(tag::CHANNEL_LOST, c),
            Record::CudaHook(c) => self.push_body(tag::CUDA_HOOK, c),
            Record::GpuProcess(g) => self.push_body(tag::GPU_PROCESS, g),
            Record::End(e) => self.push_body(tag::END, e),
        }
    }

    /// Appends a sample: a delta against the previous sample of this frame
    /// when the same counters are present, else a key sample.
    pub fn push_sample(&mut self, s: &Sample) -> Result<(), EncodeError> {
        let start = self.pos;
        let result = match self.prev {
            Some(prev)
                if prev.counters.present_mask() == s.counters.present_mask()
                    && s.t_ns >= prev.t_ns =>
            {
                match self.put_delta(&prev, s) {
                    Err(EncodeError::ValueOutOfRange) => {
                        self.pos = start;
                        self.put_key(s)
                    }
                    other => other,
                }
            }
            _ => self.put_key(s),
        };
        match result {
            Ok(()) => {
                self.prev_dt = match self.prev {
                    Some(p) if s.t_ns >= p.t_ns => s.t_ns - p.t_ns,
                    _ => 0,
                };
                self.prev = Some(*s);
                self.records += 1;
                Ok(())
            }
            Err(e) => {
                self.pos = start;
                Err(e)
            }
        }
    }

    fn put(&mut self, v: u64) -> Result<(), EncodeError> {
        varint::put(self.buf, &mut self.pos, v).ok_or(EncodeError::BufferFull)
    }

    fn put_key(&mut self, s: &Sample) -> Result<(), EncodeError> {
        self.put(u64::from(tag::KEY_SAMPLE))?;
        self.put(s.t_ns)?;
        let mask = s.counters.present_mask();
        self.put(mask)?;
        let mut bits = mask;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let w = varint::scaled_delta(s.counters.raw(i) as i64)
                .ok_or(EncodeError::ValueOutOfRange)?;
            self.put(w)?;
        }
        Ok(())
    }

    fn put_delta(&mut self, prev: &Sample, s: &Sample) -> Result<(), EncodeError> {
        let dt = s.t_ns - prev.t_ns;
        let mut changed = 0u64;
        let mut bits = s.counters.present_mask();
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if s.counters.raw(i) != prev.counters.raw(i) {
                changed |= 1 << i;
            }
        }
        self.put(u64::from(tag::DELTA_SAMPLE))?;
        self.put(varint::zigzag(dt.wrapping_sub(self.prev_dt) as i64))?;
        self.put(changed)?;
        let mut bits = changed;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let d = s.counters.raw(i).wrapping_sub(prev.counters.raw(i)) as i64;
            let w = varint::scaled_delta(d).ok_or(EncodeError::ValueOutOfRange)?;
            self.put(w)?;
        }
        Ok(())
    }

    /// Appends a length-prefixed record with any tag ≥ 2 and an opaque body,
    /// as a newer minor version writes a kind this one does not know. For
    /// tests and tools; tags 0 and 1 (samples) are refused as out of range.
    pub fn push_raw(&mut self, tag: u64, body: &[u8]) -> Result<(), EncodeError> {
        if tag <= u64::from(tag::DELTA_SAMPLE) {
            return Err(EncodeError::ValueOutOfRange);
        }
        let start = self.pos;
        let r = self
            .put(tag)
            .and_then(|()| self.put(body.len() as u64))
            .and_then(|()| {
                let end = self.pos + body.len();
                let slot = self
                    .buf
                    .get_mut(self.pos..end)
                    .ok_or(EncodeError::BufferFull)?;
                slot.copy_from_slice(body);
                self.pos = end;
                Ok(())
            });
        match r {
            Ok(()) => self.records += 1,
            Err(_) => self.pos = start,
        }
        r
    }

    fn push_body<T: Serialize>(&mut self, tag: u8, body: &T) -> Result<(), EncodeError> {
        let start = self.pos;
        let r = self.put_body(tag, body);
        if r.is_err() {
            self.pos = start;
        } else {
            self.records += 1;
        }
        r
    }

    fn put_body<T: Serialize>(&mut self, tag: u8, body: &T) -> Result<(), EncodeError> {
        self.put(u64::from(tag))?;
        // Serialise after a one-byte length slot, then widen the slot if needed.
        let body_at = self.pos + 1;
        let tail = self.buf.get_mut(body_at..).ok_or(EncodeError::BufferFull)?;
        let n = postcard::to_slice(body, tail)
            .map_err(|_| EncodeError::BufferFull)?
            .len();
        let mut len_bytes = [0u8; varint::MAX_VARINT_LEN];
        let mut len_n = 0;
        varint::put(&mut len_bytes, &mut len_n, n as u64).ok_or(EncodeError::BufferFull)?;
        if len_n > 1 {
            let end = body_at + n + (len_n - 1);
            if end > self.buf.len() {
                return Err(EncodeError::BufferFull);
            }
            self.buf
                .copy_within(body_at..body_at + n, body_at + len_n - 1);
        }
        let slot = self
            .buf
            .get_mut(self.pos..self.pos + len_n)
            .ok_or(EncodeError::BufferFull)?;
        slot.copy_from_slice(len_bytes.get(..len_n).ok_or(EncodeError::BufferFull)?);
        self.pos += len_n + n;
        Ok(())
    }

    /// Writes the frame header (length and CRC) and returns the frame's bytes.
    pub fn finish(self) -> &'a [u8] {
        let buf = self.buf;
        let (head, rest) = buf.split_at_mut(FRAME_HEADER_LEN);
        let payload = rest.get(..self.pos - FRAME_HEADER_LEN).unwrap_or(&[]);
        head.copy_from_slice(&frame_header(payload));
        let frame: &'a [u8] = buf;
        frame.get(..self.pos).unwrap_or(&[])
    }
}

/// The 12-byte frame header (sync, length, CRC) of a frame carrying `payload`.
///
/// [`FrameBuilder::finish`] writes it; tests and the fuzz harness use it to
/// frame arbitrary payloads with a correct CRC, as a buggy (not damaged)
/// writer would.
pub fn frame_header(payload: &[u8]) -> [u8; FRAME_HEADER_LEN] {
    let len_bytes = (payload.len() as u32).to_le_bytes();
    let crc = crc::crc32c(&len_bytes, payload).to_le_bytes();
    let mut head = [0u8; FRAME_HEADER_LEN];
    for (slot, byte) in head
        .iter_mut()
        .zip(SYNC.iter().chain(len_bytes.iter()).chain(crc.iter()))
    {
        *slot = *byte;
    }
    head
}

/// The result of looking for a frame at the start of some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameCheck<'a> {
    /// A whole, intact frame: its payload and the bytes it took.
    Frame {
        /// The payload (starting with the frame's sequence number).
        payload: &'a [u8],
        /// Bytes the frame takes, header included.
        len: usize,
    },
    /// The bytes start like a frame but end before it does; `needed` is its full length
    /// (or the header length while the header itself is incomplete).
    Incomplete {
        /// Total bytes the frame would need.
        needed: usize,
    },
    /// No intact frame starts here (wrong sync, impossible length, or CRC mismatch).
    Damaged,
}

/// Checks whether an intact frame starts at `bytes[0]`.
pub fn check_frame(bytes: &[u8]) -> FrameCheck<'_> {
    check_frame_with(bytes, |len, a, b| {
        crc::crc32c(len, bytes.get(a..b).unwrap_or(&[]))
    })
}

/// [`check_frame`] with the frame's CRC computed by `crc_of(len_bytes, a, b)`:
/// the CRC-32C of the 4 length bytes followed by the payload `bytes[a..b]`.
/// A reader can so check a candidate without reading its payload again
/// (`stream::TraceReader`'s resync search). `crc_of` is called at most once,
/// and only for a frame whose sync and length check out and whose bytes are
/// all present.
pub fn check_frame_with(
    bytes: &[u8],
    crc_of: impl FnOnce(&[u8], usize, usize) -> u32,
) -> FrameCheck<'_> {
    let Some(head) = bytes.get(..FRAME_HEADER_LEN) else {
        let n = bytes.len().min(SYNC.len());
        if bytes.get(..n) == SYNC.get(..n) {
            return FrameCheck::Incomplete {
                needed: FRAME_HEADER_LEN,
            };
        }
        return FrameCheck::Damaged;
    };
    let (sync, rest) = head.split_at(4);
    let (len_bytes, crc_bytes) = rest.split_at(4);
    if sync != SYNC {
        return FrameCheck::Damaged;
    }
    let len = le_u32(len_bytes) as usize;
    if len > MAX_PAYLOAD_LEN || len == 0 {
        return FrameCheck::Damaged;
    }
    let total = FRAME_HEADER_LEN + len;
    let Some(payload) = bytes.get(FRAME_HEADER_LEN..total) else {
        return FrameCheck::Incomplete { needed: total };
    };
    if crc_of(len_bytes, FRAME_HEADER_LEN, total) != le_u32(crc_bytes) {
        return FrameCheck::Damaged;
    }
    FrameCheck::Frame {
        payload,
        len: total,
    }
}

/// Position of the next possible frame start in `bytes` after index 0
/// (a full sync, or a partial sync at the very end).
pub fn next_sync(bytes: &[u8]) -> Option<usize> {
    let mut from = 1;
    while let Some(rest) = bytes.get(from..) {
        let at = from + rest.iter().position(|&b| b == SYNC[0])?;
        let n = (bytes.len() - at).min(SYNC.len());
        if bytes.get(at..at + n) == SYNC.get(..n) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    u32::from_le_bytes(a)
}

mod crc;
pub(crate) mod decode;
#[cfg(feature = "std")]
mod span_crc;
pub use decode::{Cursor, CursorState, Decoded, DecoderState, Item, PayloadDecoder};

#[cfg(feature = "std")]
pub mod stream;
#[cfg(feature = "std")]
mod writer;
#[cfg(feature = "std")]
pub use writer::TraceWriter;

#[cfg(test)]
mod tests;
