//! Decoding one frame's payload.
//!
//! [`Cursor`] is the fast path: it decodes samples *in place* into a caller's
//! [`Sample`] (a delta sample only touches the counters it changes), so a
//! 296-byte sample is never copied. [`PayloadDecoder`] wraps it as an
//! iterator of owned [`Item`]s for convenience.

use super::{DecodeError, tag};
use crate::record::{
    Allocator, COUNTER_COUNT, ChannelLost, Counter, CudaHook, Dropped, End, Event, GpuProcess,
    Header, Mark, ProcessEvent, ProcessMemory, Record, Sample,
};
use crate::varint;
use serde::de::DeserializeOwned;

/// One decoded item of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// The trace header.
    Header(Header),
    /// A record.
    Record(Record),
    /// A length-prefixed record of a kind this version does not know (a newer minor's).
    Unknown {
        /// Its tag.
        tag: u64,
        /// Its body's length.
        len: usize,
    },
}

/// What [`Cursor::next_record`] decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Decoded {
    /// A sample, written into the caller's sample slot.
    Sample,
    /// Any other item (header, record, or a skipped unknown kind).
    Item(Item),
}

/// Where a [`Cursor`] stands, to resume it over the same payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CursorState {
    pos: usize,
    prev_dt: u64,
    has_prev: bool,
}

/// Decodes the records of one payload, samples in place.
///
/// The caller owns the sample slot and must pass the same slot, untouched, to
/// every call on one payload: it is the base the next delta sample applies to.
#[derive(Debug)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    st: CursorState,
}

impl<'a> Cursor<'a> {
    /// Starts at the first record of `payload` (as returned by
    /// [`super::check_frame`]); also returns the frame's sequence number.
    pub fn new(payload: &'a [u8]) -> Result<(Self, u32), DecodeError> {
        let mut pos = 0;
        let seq = get(payload, &mut pos)?;
        let st = CursorState {
            pos,
            prev_dt: 0,
            has_prev: false,
        };
        Ok((Cursor { buf: payload, st }, seq as u32))
    }

    /// Continues over `payload` (the same bytes) from a saved state.
    pub fn resume(payload: &'a [u8], st: CursorState) -> Self {
        Cursor { buf: payload, st }
    }

    /// The position to resume from.
    pub fn state(&self) -> CursorState {
        self.st
    }

    /// Bytes of the payload not yet decoded.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.st.pos)
    }

    /// Decodes the next record; `Ok(None)` at the end of the payload.
    ///
    /// After an error the rest of the payload cannot be trusted and the sample
    /// slot may hold a half-applied delta: stop decoding this payload.
    #[inline]
    pub fn next_record(&mut self, sample: &mut Sample) -> Result<Option<Decoded>, DecodeError> {
        let Some(&t) = self.buf.get(self.st.pos) else {
            return Ok(None);
        };
        if t == tag::DELTA_SAMPLE {
            self.st.pos += 1;
            self.delta(sample)?;
            return Ok(Some(Decoded::Sample));
        }
        if t == tag::KEY_SAMPLE {
            self.st.pos += 1;
            self.key(sample)?;
            return Ok(Some(Decoded::Sample));
        }
        let t = get(self.buf, &mut self.st.pos)?;
        self.body_record(t).map(|i| Some(Decoded::Item(i)))
    }

    #[inline(always)]
    fn get(&mut self) -> Result<u64, DecodeError> {
        get(self.buf, &mut self.st.pos)
    }

    fn key(&mut self, s: &mut Sample) -> Result<(), DecodeError> {
        let t_ns = self.get()?;
        let mask = self.get()?;
        let prev_t = s.t_ns;
        // Overwrite the slot instead of building a fresh 296-byte sample:
        // clear the counters the key does not carry, then set the rest.
        let mut gone = s.counters.present_mask() & !mask;
        while gone != 0 {
            let i = gone.trailing_zeros();
            gone &= gone - 1;
            if let Some(c) = Counter::from_index(i as u8) {
                s.counters.set(c, None);
            }
        }
        let mut bits = mask;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let w = self.get()?;
            if i < COUNTER_COUNT {
                s.counters.set_raw(i, varint::unscaled_delta(w) as u64);
            }
        }
        // The encoder's rule: the time step carried to the next delta is the
        // step from the previous sample, or 0 when time went backwards.
        self.st.prev_dt = if self.st.has_prev && t_ns >= prev_t {
            t_ns - prev_t
        } else {
            0
        };
        self.st.has_prev = true;
        s.t_ns = t_ns;
        Ok(())
    }

    #[inline]
    fn delta(&mut self, s: &mut Sample) -> Result<(), DecodeError> {
        if !self.st.has_prev {
            return Err(DecodeError::DeltaWithoutKey);
        }
        let ddt = varint::unzigzag(self.get()?);
        let dt = self.st.prev_dt.wrapping_add(ddt as u64);
        let mut bits = self.get()?;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let d = varint::unscaled_delta(self.get()?) as u64;
            if i < COUNTER_COUNT {
                s.counters.set_raw(i, s.counters.raw(i).wrapping_add(d));
            }
        }
        s.t_ns = s.t_ns.wrapping_add(dt);
        self.st.prev_dt = dt;
        Ok(())
    }

    fn body<T: DeserializeOwned>(&mut self) -> Result<T, DecodeError> {
        let bytes = self.skip_body()?;
        postcard::from_bytes(bytes).map_err(|_| DecodeError::BadBody)
    }

    /// A body with a trailing `pid: Option<u32>` (format 1.1): absent when the
    /// body ends before it.
    fn body_with_pid<T: DeserializeOwned>(&mut self) -> Result<(T, Option<u32>), DecodeError> {
        let bytes = self.skip_body()?;
        let (v, rest) = postcard::take_from_bytes(bytes).map_err(|_| DecodeError::BadBody)?;
        if rest.is_empty() {
            return Ok((v, None));
        }
        let (pid, _) = postcard::take_from_bytes(rest).map_err(|_| DecodeError::BadBody)?;
        Ok((v, pid))
    }

    fn skip_body(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.get()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::UnexpectedEnd)?;
        let end = self
            .st
            .pos
            .checked_add(len)
            .ok_or(DecodeError::UnexpectedEnd)?;
        let bytes = self
            .buf
            .get(self.st.pos..end)
            .ok_or(DecodeError::UnexpectedEnd)?;
        self.st.pos = end;
        Ok(bytes)
    }

    fn body_record(&mut self, t: u64) -> Result<Item, DecodeError> {
        let Ok(t8) = u8::try_from(t) else {
            let len = self.skip_body()?.len();
            return Ok(Item::Unknown { tag: t, len });
        };
        Ok(match t8 {
            tag::HEADER => Item::Header(self.body::<Header>()?),
            tag::MARK => {
                let (m, pid) = self.body_with_pid::<Mark>()?;
                Item::Record(Record::Mark(Mark { pid, ..m }))
            }
            tag::PROCESS => Item::Record(Record::Process(self.body::<ProcessEvent>()?)),
            tag::PROCESS_MEMORY => {
                Item::Record(Record::ProcessMemory(self.body::<ProcessMemory>()?))
            }
            tag::ALLOCATOR => {
                let (a, pid) = self.body_with_pid::<Allocator>()?;
                Item::Record(Record::Allocator(Allocator { pid, ..a }))
            }
            tag::CHANNEL_LOST => Item::Record(Record::ChannelLost(self.body::<ChannelLost>()?)),
            tag::CUDA_HOOK => Item::Record(Record::CudaHook(self.body::<CudaHook>()?)),
            tag::GPU_PROCESS => Item::Record(Record::GpuProcess(self.body::<GpuProcess>()?)),
            tag::EVENT => Item::Record(Record::Event(self.body::<Event>()?)),
            tag::DROPPED => Item::Record(Record::Dropped(self.body::<Dropped>()?)),
            tag::END => Item::Record(Record::End(self.body::<End>()?)),
            _ => {
                let len = self.skip_body()?.len();
                Item::Unknown { tag: t, len }
            }
        })
    }
}

/// Decodes the records of one frame's payload as owned [`Item`]s.
#[derive(Debug)]
pub struct PayloadDecoder<'a> {
    cursor: Cursor<'a>,
    seq: u32,
    last: Sample,
    failed: bool,
}

/// Where a [`PayloadDecoder`] stopped, to resume it later over the same payload.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecoderState {
    cursor: CursorState,
    seq: u32,
    last: Sample,
    failed: bool,
}

impl<'a> PayloadDecoder<'a> {
    /// Starts decoding `payload` (as returned by [`super::check_frame`]).
    pub fn new(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let (cursor, seq) = Cursor::new(payload)?;
        Ok(PayloadDecoder {
            cursor,
            seq,
            last: Sample::default(),
            failed: false,
        })
    }

    /// Saves the position, to [`PayloadDecoder::resume`] later.
    pub fn state(&self) -> DecoderState {
        DecoderState {
            cursor: self.cursor.state(),
            seq: self.seq,
            last: self.last,
            failed: self.failed,
        }
    }

    /// Continues decoding `payload` (the same bytes) from a saved state.
    pub fn resume(payload: &'a [u8], state: DecoderState) -> Self {
        PayloadDecoder {
            cursor: Cursor::resume(payload, state.cursor),
            seq: state.seq,
            last: state.last,
            failed: state.failed,
        }
    }

    /// The frame's sequence number.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// Bytes of the payload not yet decoded.
    pub fn remaining(&self) -> usize {
        self.cursor.remaining()
    }
}

impl Iterator for PayloadDecoder<'_> {
    type Item = Result<Item, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.cursor.next_record(&mut self.last) {
            Ok(None) => None,
            Ok(Some(Decoded::Sample)) => Some(Ok(Item::Record(Record::Sample(self.last)))),
            Ok(Some(Decoded::Item(item))) => Some(Ok(item)),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Reads a varint, telling a cut-off payload from a malformed varint.
#[inline(always)]
pub(super) fn get(buf: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
    let Some(rest) = buf.get(*pos..) else {
        return Err(DecodeError::UnexpectedEnd);
    };
    match rest.first() {
        Some(&b) if b < 0x80 => {
            *pos += 1;
            return Ok(u64::from(b));
        }
        None => return Err(DecodeError::UnexpectedEnd),
        Some(&b0) => {
            // Two bytes: most scaled deltas of a steady trace.
            if let Some(&b1) = rest.get(1) {
                if b1 < 0x80 {
                    *pos += 2;
                    return Ok(u64::from(b0 & 0x7f) | (u64::from(b1) << 7));
                }
            }
        }
    }
    // Up to 8 bytes (56 bits) at once, without a branch per byte: find the
    // first byte without the continuation bit, mask the bytes after it off,
    // then squeeze out the continuation bits.
    if let Some(w) = rest.first_chunk::<8>() {
        let word = u64::from_le_bytes(*w);
        let stops = !word & 0x8080_8080_8080_8080;
        if stops != 0 {
            let bits = stops.trailing_zeros() + 1;
            let x = word & (u64::MAX >> (64 - bits)) & 0x7f7f_7f7f_7f7f_7f7f;
            let x = ((x & 0x7f00_7f00_7f00_7f00) >> 1) | (x & 0x007f_007f_007f_007f);
            let x = ((x & 0x3fff_0000_3fff_0000) >> 2) | (x & 0x0000_3fff_0000_3fff);
            let x = ((x & 0x0fff_ffff_0000_0000) >> 4) | (x & 0x0000_0000_0fff_ffff);
            *pos += (bits / 8) as usize;
            return Ok(x);
        }
    }
    get_long(buf, pos)
}

#[inline]
fn get_long(buf: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
    // Fast path: the whole varint is in a 10-byte window, so no per-byte end check.
    if let Some(w) = buf.get(*pos..).and_then(|r| r.first_chunk::<10>()) {
        let mut out = 0u64;
        for (k, &b) in w.iter().enumerate() {
            out |= u64::from(b & 0x7f) << (7 * k);
            if b < 0x80 {
                if k == 9 && b > 1 {
                    break;
                }
                *pos += k + 1;
                return Ok(out);
            }
        }
        return Err(DecodeError::BadVarint);
    }
    varint::get(buf, pos).ok_or(if *pos >= buf.len() {
        DecodeError::UnexpectedEnd
    } else {
        DecodeError::BadVarint
    })
}
