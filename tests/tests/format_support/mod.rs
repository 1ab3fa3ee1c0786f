//! Shared helpers of the format tests: writing traces with known frame boundaries
//! and reading them back.
#![allow(dead_code)]

use jetmem_core::record::{Counter, Counters, Header, Record, Sample};
use jetmem_core::wire::stream::{DecodeStats, TraceReader};
use jetmem_core::wire::{
    EncodeError, FrameBuilder, Item, PREAMBLE_LEN, TraceWriter, frame_header, write_preamble,
};
use std::ops::Range;

/// What one frame holds.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // test data, built a few hundred times
pub enum Entry {
    Header(Header),
    Record(Record),
    /// A record kind of a newer minor version: tag and opaque body.
    Raw(u64, Vec<u8>),
}

/// The 12-byte preamble of this version.
pub fn preamble() -> Vec<u8> {
    let mut pre = [0u8; PREAMBLE_LEN];
    write_preamble(&mut pre);
    pre.to_vec()
}

/// Pushes `entries` into a frame.
fn push_entries(fb: &mut FrameBuilder<'_>, entries: &[Entry]) -> Result<(), EncodeError> {
    for e in entries {
        match e {
            Entry::Header(h) => fb.push_header(h)?,
            Entry::Record(r) => fb.push(r)?,
            Entry::Raw(tag, body) => fb.push_raw(*tag, body)?,
        }
    }
    Ok(())
}

/// Encodes one frame.
pub fn frame(seq: u32, entries: &[Entry]) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let mut fb = FrameBuilder::new(&mut buf, seq).unwrap();
    push_entries(&mut fb, entries).unwrap();
    fb.finish().to_vec()
}

/// A trace: its bytes and where each frame lies in them.
#[derive(Debug, Clone)]
pub struct Trace {
    pub bytes: Vec<u8>,
    pub frames: Vec<Range<usize>>,
    /// The items each frame decodes to (unknown kinds excluded).
    pub items: Vec<Vec<Item>>,
}

/// Preamble, then one frame per element of `frames`, numbered from 0.
pub fn trace(frames: &[Vec<Entry>]) -> Trace {
    let mut w = TraceWriter::new(Vec::new(), 1 << 16).unwrap();
    let mut ranges = Vec::new();
    let mut items = Vec::new();
    for entries in frames {
        let start = w.get_ref().len();
        w.write_frame_with(|fb| push_entries(fb, entries)).unwrap();
        ranges.push(start..w.get_ref().len());
        items.push(
            entries
                .iter()
                .filter_map(|e| match e {
                    Entry::Header(h) => Some(Item::Header(h.clone())),
                    Entry::Record(r) => Some(Item::Record(r.clone())),
                    Entry::Raw(..) => None,
                })
                .collect(),
        );
    }
    Trace {
        bytes: w.into_inner(),
        frames: ranges,
        items,
    }
}

/// A sample with a realistic set of counters that drift by whole pages.
pub fn sample(i: u64) -> Sample {
    let mut c = Counters::new();
    let page = 4096;
    c.set(Counter::MemTotal, Some(7_990_000 * 1024));
    c.set(Counter::MemFree, Some((2_000_000 - 37 * i) * 1024));
    c.set(Counter::MemAvailable, Some((5_000_000 - 29 * i) * 1024));
    c.set(Counter::Cached, Some((2_500_000 + (i % 7)) * 1024));
    c.set(Counter::TreeRss, Some((25_000 + 3 * i) * page));
    c.set(Counter::TreeProcesses, Some(1 + i % 3));
    c.set(
        Counter::CgroupCurrent,
        Some(3_796_094_976 + 4096 * i + (i % 2)),
    );
    c.set(
        Counter::GpuUsed,
        if i % 5 == 4 { None } else { Some(i << 20) },
    );
    Sample {
        t_ns: i * 10_000_000 + (i * 7919) % 90_000,
        counters: c,
    }
}

/// A header with every field set.
pub fn header() -> Header {
    use jetmem_core::record::{Architecture, Evidence, GpuSource, L4tRelease, Platform};
    use jetmem_core::text::truncated;
    Header {
        platform: Platform {
            architecture: Architecture::Unified,
            evidence: Evidence(Evidence::NV_TEGRA_RELEASE | Evidence::DT_COMPATIBLE_TEGRA),
            model: truncated("NVIDIA Jetson Orin Nano Developer Kit"),
            soc: truncated("tegra234"),
            l4t: Some(L4tRelease {
                release: 36,
                revision: 4,
                minor: 3,
            }),
            jetpack: truncated("6.2"),
            kernel: truncated("5.15.148-tegra"),
            page_size: 4096,
            cuda_device: truncated("Orin"),
            cuda_integrated: Some(true),
            mem_total_bytes: Some(7_990_000 * 1024),
            gpu_total_bytes: Some(7_990_000 * 1024),
            gpu_source: GpuSource::NvmapClients,
            gpu_reason: truncated(""),
        },
        interval_ns: 10_000_000,
        start_unix_ns: 1_764_180_000_123_456_789,
        start_monotonic_ns: 86_400_000_000_042,
        boot_id: *b"\x3c\x1f\x9a\x01\x44\x5e\x4b\x7d\x8a\x22\x91\x0e\xbe\xef\x10\x07",
        pid: Some(4242),
        command: truncated("python3 infer.py --model yolov8n.engine"),
        label: truncated("yolo-int8"),
        pressure_threshold_permille: 200,
        budget_bytes: Some(6 << 30),
    }
}

/// Everything a reader gives back from `bytes`, item by item.
pub fn read_all(bytes: &[u8]) -> (Vec<Item>, DecodeStats) {
    read_from(bytes)
}

/// Like [`read_all`] over any reader.
pub fn read_from(input: impl std::io::Read) -> (Vec<Item>, DecodeStats) {
    let mut r = TraceReader::new(input).unwrap();
    let mut items = Vec::new();
    while let Some(item) = r.next_item().unwrap() {
        items.push(item);
    }
    (items, r.stats())
}

/// The same through the fast `for_each` path.
pub fn read_all_fast(bytes: &[u8]) -> (Vec<Item>, DecodeStats) {
    let mut r = TraceReader::new(bytes).unwrap();
    let mut items = Vec::new();
    TraceReader::for_each_item(&mut r, |i| items.push(i.clone())).unwrap();
    (items, r.stats())
}

/// A reader that hands out 1–7 bytes per `read` call.
pub struct Trickle<'a> {
    pub bytes: &'a [u8],
    pub step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step.wrapping_mul(31).wrapping_add(17);
        let n = (1 + self.step % 7).min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// Encodes samples as jetmem's writer does: preamble, a header frame, then a new
/// frame at least every 100 ms of sample time.
pub fn encode_like_writer(h: &Header, samples: &[Sample]) -> (Vec<u8>, usize) {
    const FRAME_NS: u64 = 100_000_000;
    let mut w = TraceWriter::new(Vec::new(), 64 * 1024).unwrap();
    w.write_header(h).unwrap();
    let header_bytes = w.get_ref().len();
    w.write_samples_spanning(samples, FRAME_NS).unwrap();
    (w.into_inner(), header_bytes)
}

/// A frame around any payload bytes, with a correct length and CRC: what a
/// buggy (not damaged) writer would produce.
pub fn frame_around(payload: &[u8]) -> Vec<u8> {
    let mut f = frame_header(payload).to_vec();
    f.extend_from_slice(payload);
    f
}
