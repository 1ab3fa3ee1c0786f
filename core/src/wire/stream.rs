//! Streaming trace reader: decodes a file or stdin incrementally, survives damage.
//!
//! The reader never holds more than one frame (at most [`MAX_PAYLOAD_LEN`]
//! plus a read chunk) in memory. A damaged frame is skipped to the next sync
//! that starts an intact frame; the bytes and frames skipped are counted in
//! [`DecodeStats`]. A trace cut off mid-frame ends with a truncated tail, which
//! is counted too.

use super::span_crc::SpanCrc;
use super::{
    Cursor, CursorState, Decoded, FORMAT_MAJOR, FORMAT_MINOR, FRAME_HEADER_LEN, FrameCheck, Item,
    MAX_PAYLOAD_LEN, PREAMBLE_LEN, Preamble, SYNC, check_frame_with, crc, next_sync, read_preamble,
};
use crate::record::{Record, Sample};
use std::io::{self, Read};

const CHUNK: usize = 64 * 1024;

/// Bytes a reader may check by reading them again before it has moved past
/// as many: beyond this credit, candidates are checked through [`SpanCrc`].
const CRC_CREDIT: u64 = 2 * (FRAME_HEADER_LEN + MAX_PAYLOAD_LEN) as u64;

/// Why a trace could not be opened or read.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// Reading failed.
    Io(io::Error),
    /// The input is shorter than the 12-byte preamble.
    TooShort(usize),
    /// The input does not start with the jetmem magic.
    NotATrace,
    /// The trace was written by a newer major format version.
    NewerMajor {
        /// The trace's version.
        found: (u16, u16),
        /// The newest version this reader supports.
        supported: (u16, u16),
    },
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Io(e) => write!(f, "read error: {e}"),
            OpenError::TooShort(n) => write!(
                f,
                "not a jetmem trace: {n} bytes, shorter than the {PREAMBLE_LEN}-byte preamble"
            ),
            OpenError::NotATrace => f.write_str("not a jetmem trace (bad magic bytes)"),
            OpenError::NewerMajor { found, supported } => write!(
                f,
                "trace format {}.{} is newer than this jetmem reads ({}.{}); upgrade jetmem",
                found.0, found.1, supported.0, supported.1
            ),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// What the reader had to skip or could not read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Intact frames decoded.
    pub frames: u64,
    /// Records decoded (header included).
    pub records: u64,
    /// Bytes skipped because they were not part of an intact frame (tail included).
    pub skipped_bytes: u64,
    /// Frames lost: gaps in the frame sequence numbers, plus frames that start
    /// (with a sync) after the last intact frame but are damaged or cut off.
    pub skipped_frames: u64,
    /// Bytes of an incomplete frame at the end of the input.
    pub truncated_tail_bytes: u64,
    /// Records of kinds this version does not know (skipped).
    pub unknown_records: u64,
    /// Intact frames whose payload did not decode to the end (records after the fault lost).
    pub malformed_frames: u64,
}

/// Decodes a trace from any reader, one item at a time.
#[derive(Debug)]
pub struct TraceReader<R> {
    input: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    version: (u16, u16),
    stats: DecodeStats,
    last_seq: Option<u32>,
    /// Damaged regions that began with a full sync since the last intact frame:
    /// lost frames that no later sequence number will account for at the end.
    damaged_since_frame: u64,
    /// The frame being decoded: payload offset and length in `buf`, and where decoding stands.
    frame: Option<(usize, usize, CursorState)>,
    /// The current frame's latest sample: the base of its next delta sample.
    sample: Sample,
    /// CRC states of the buffer, for checking candidates in O(1) during a resync.
    span: SpanCrc,
    /// Bytes that may still be checked directly: earned by every byte the
    /// reader moves past, spent by every byte it checks by reading it again.
    credit: u64,
    /// Bytes checked directly so far.
    direct_crc_bytes: u64,
}

impl<R: Read> TraceReader<R> {
    /// Reads the preamble and checks the version.
    pub fn new(mut input: R) -> Result<Self, OpenError> {
        let mut pre = [0u8; PREAMBLE_LEN];
        let mut got = 0;
        while got < PREAMBLE_LEN {
            match input.read(pre.get_mut(got..).unwrap_or(&mut [])) {
                Ok(0) => return Err(OpenError::TooShort(got)),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(OpenError::Io(e)),
            }
        }
        let version = match read_preamble(&pre) {
            Preamble::NotATrace => return Err(OpenError::NotATrace),
            Preamble::Version { major, minor } => (major, minor),
        };
        if version.0 > FORMAT_MAJOR {
            return Err(OpenError::NewerMajor {
                found: version,
                supported: (FORMAT_MAJOR, FORMAT_MINOR),
            });
        }
        Ok(TraceReader {
            input,
            buf: vec![0; CHUNK * 2],
            start: 0,
            end: 0,
            eof: false,
            version,
            stats: DecodeStats::default(),
            last_seq: None,
            damaged_since_frame: 0,
            frame: None,
            sample: Sample::default(),
            span: SpanCrc::default(),
            credit: CRC_CREDIT,
            direct_crc_bytes: 0,
        })
    }

    /// The trace's format version (major, minor).
    pub fn version(&self) -> (u16, u16) {
        self.version
    }

    /// What was decoded and skipped so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Bytes of CRC work so far: bytes checked by reading them again, plus
    /// bytes stepped for the resync search. At most about three times the
    /// input's length, whatever the input (docs/trace-format.md, section 7.1).
    pub fn crc_work_bytes(&self) -> u64 {
        self.direct_crc_bytes + self.span.stepped()
    }

    /// Makes sure at least `want` bytes are buffered from `start`, unless the input ends.
    ///
    /// The buffered bytes move to the front only when fewer than a chunk
    /// fits after `want`, and the buffer grows to twice `want`, so every
    /// byte is moved a bounded number of times (linear time on any input).
    fn fill(&mut self, want: usize) -> io::Result<()> {
        if self.end - self.start >= want || self.eof {
            return Ok(());
        }
        if self.start + want + CHUNK > self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.span.shift(self.start);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() < want + CHUNK {
                self.buf.resize(2 * want + CHUNK, 0);
            }
        }
        // Read at least `want`, and opportunistically fill the buffer.
        while self.end < self.buf.len() && !self.eof {
            let free = self.buf.get_mut(self.end..).unwrap_or(&mut []);
            match self.input.read(free) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.end += n;
                    if self.end - self.start >= want {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn skip(&mut self, n: usize) {
        self.start += n;
        self.credit += n as u64;
        self.stats.skipped_bytes += n as u64;
    }

    /// Skips a damaged region; one that starts with a full sync was a frame.
    fn skip_damaged(&mut self, n: usize) {
        if self.buf.get(self.start..self.start + SYNC.len()) == Some(&SYNC[..]) {
            self.damaged_since_frame += 1;
        }
        self.skip(n);
    }

    /// At the end of the input: frames that began after the last intact one are lost.
    fn finish(&mut self) {
        self.stats.skipped_frames += self.damaged_since_frame;
        self.damaged_since_frame = 0;
    }

    /// Finds the next intact frame and makes it current. `Ok(false)` at the end of input.
    fn next_frame(&mut self) -> io::Result<bool> {
        self.frame = None;
        loop {
            self.fill(FRAME_HEADER_LEN)?;
            let avail = self.end - self.start;
            if avail == 0 {
                self.finish();
                return Ok(false);
            }
            let window = self.buf.get(self.start..self.end).unwrap_or(&[]);
            let (start, buf, span) = (self.start, &self.buf, &mut self.span);
            let (credit, direct) = (&mut self.credit, &mut self.direct_crc_bytes);
            let check = check_frame_with(window, |len, a, b| {
                // Read the payload again while that stays linear in the bytes
                // passed; otherwise (a run of fake headers) check it in O(1).
                let n = (b - a) as u64;
                if n <= *credit {
                    *credit -= n;
                    *direct += n;
                    crc::crc32c(len, window.get(a..b).unwrap_or(&[]))
                } else {
                    span.crc(buf, len, start + a, start + b)
                }
            });
            match check {
                FrameCheck::Frame { payload, len } => {
                    let at = self.start + FRAME_HEADER_LEN;
                    let payload_len = payload.len();
                    self.start += len;
                    self.credit += len as u64;
                    if self.begin_frame(at, payload_len) {
                        return Ok(true);
                    }
                }
                FrameCheck::Incomplete { needed } => {
                    if !self.eof {
                        self.fill(needed.min(FRAME_HEADER_LEN + MAX_PAYLOAD_LEN))?;
                        continue;
                    }
                    if let Some(off) = next_sync(window) {
                        // A damaged length that points past the end: resynchronise.
                        self.skip_damaged(off);
                        continue;
                    }
                    // A frame cut off by the end of the input.
                    self.stats.truncated_tail_bytes += avail as u64;
                    self.skip_damaged(avail);
                    self.finish();
                    return Ok(false);
                }
                FrameCheck::Damaged => match next_sync(window) {
                    Some(off) => self.skip_damaged(off),
                    None => self.skip_damaged(avail),
                },
            }
        }
    }

    /// Starts decoding the payload at `buf[at..at + len]`; false if it does not even have a sequence number.
    fn begin_frame(&mut self, at: usize, len: usize) -> bool {
        let payload = self.buf.get(at..at + len).unwrap_or(&[]);
        let (cursor, seq) = match Cursor::new(payload) {
            Ok(c) => c,
            Err(_) => {
                self.stats.malformed_frames += 1;
                return false;
            }
        };
        let expected = self.last_seq.map_or(0, |s| s.wrapping_add(1));
        if seq > expected {
            self.stats.skipped_frames += u64::from(seq - expected);
        }
        self.damaged_since_frame = 0;
        self.last_seq = Some(seq);
        self.stats.frames += 1;
        self.frame = Some((at, len, cursor.state()));
        true
    }

    /// The next header or record; `None` at the end of the input.
    pub fn next_item(&mut self) -> io::Result<Option<Item>> {
        loop {
            if let Some((at, len, state)) = self.frame.take() {
                let payload = self.buf.get(at..at + len).unwrap_or(&[]);
                let mut cursor = Cursor::resume(payload, state);
                match cursor.next_record(&mut self.sample) {
                    Ok(Some(Decoded::Item(Item::Unknown { .. }))) => {
                        self.stats.unknown_records += 1;
                        self.frame = Some((at, len, cursor.state()));
                        continue;
                    }
                    Ok(Some(decoded)) => {
                        self.stats.records += 1;
                        self.frame = Some((at, len, cursor.state()));
                        return Ok(Some(match decoded {
                            Decoded::Sample => Item::Record(Record::Sample(self.sample)),
                            Decoded::Item(item) => item,
                        }));
                    }
                    Err(_) => self.stats.malformed_frames += 1,
                    Ok(None) => {}
                }
            }
            if !self.next_frame()? {
                return Ok(None);
            }
        }
    }

    /// Calls `f` with every item by reference until the input ends. Faster than
    /// [`Self::next_item`] for large traces: samples are decoded in place and
    /// never copied.
    /// (Named apart from [`Iterator::for_each`], which would consume the reader.)
    pub fn for_each_item(&mut self, mut f: impl FnMut(&Item)) -> io::Result<()> {
        let mut slot = Item::Record(Record::Sample(self.sample));
        loop {
            if let Some((at, len, state)) = self.frame.take() {
                let payload = self.buf.get(at..at + len).unwrap_or(&[]);
                let mut cursor = Cursor::resume(payload, state);
                let mut samples = 0u64;
                while let Item::Record(Record::Sample(sample)) = &mut slot {
                    match cursor.next_record(sample) {
                        Ok(Some(Decoded::Sample)) => {
                            samples += 1;
                            f(&slot);
                        }
                        Ok(Some(Decoded::Item(Item::Unknown { .. }))) => {
                            self.stats.unknown_records += 1;
                        }
                        Ok(Some(Decoded::Item(item))) => {
                            self.stats.records += 1;
                            f(&item);
                        }
                        Ok(None) => break,
                        Err(_) => {
                            self.stats.malformed_frames += 1;
                            break;
                        }
                    }
                }
                self.stats.records += samples;
            }
            if !self.next_frame()? {
                if let Item::Record(Record::Sample(sample)) = slot {
                    self.sample = sample;
                }
                return Ok(());
            }
        }
    }
}

impl<R: Read> Iterator for TraceReader<R> {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

/// Convenience: the records of an item, skipping the header.
pub fn as_record(item: &Item) -> Option<&Record> {
    match item {
        Item::Record(r) => Some(r),
        _ => None,
    }
}
