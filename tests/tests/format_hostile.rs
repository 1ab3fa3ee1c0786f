//! Crafted (not merely damaged) traces: the decoder's work stays linear in the
//! input however the input is built (docs/trace-format.md, section 7.1).

mod format_support;

use format_support::{Entry, header, read_all, sample, trace};
use jetmem_core::record::Record;
use jetmem_core::wire::stream::TraceReader;
use jetmem_core::wire::{MAX_PAYLOAD_LEN, SYNC};

/// A fake frame header: the sync, a length of `len` and a CRC that is wrong.
fn fake_header(len: u32) -> Vec<u8> {
    let mut h = SYNC.to_vec();
    h.extend_from_slice(&len.to_le_bytes());
    h.extend_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
    h
}

/// A real trace with `fakes` fake 1 MiB headers, 12 bytes apart, after its
/// second frame, and the remaining frames after them.
fn fake_header_run(fakes: usize) -> (Vec<u8>, format_support::Trace) {
    let frames: Vec<Vec<Entry>> = std::iter::once(vec![Entry::Header(header())])
        .chain((0..4u64).map(|f| vec![Entry::Record(Record::Sample(sample(f)))]))
        .collect();
    let t = trace(&frames);
    let cut = t.frames[1].end;
    let mut bytes = t.bytes[..cut].to_vec();
    for _ in 0..fakes {
        bytes.extend(fake_header(MAX_PAYLOAD_LEN as u32));
    }
    bytes.extend_from_slice(&t.bytes[cut..]);
    (bytes, t)
}

/// The quadratic resync: every fake header claimed 1 MiB and was
/// checked by reading 1 MiB again. Now the CRC work is bounded by a small
/// multiple of the input (a count, not a time), and nothing real is lost.
#[test]
fn a_run_of_fake_headers_costs_linear_work_and_loses_nothing() {
    let fakes = 250_000; // 3 MB of fake headers: 63 s before the fix
    let (bytes, t) = fake_header_run(fakes);
    let mut reader = TraceReader::new(&bytes[..]).expect("preamble");
    let mut items = Vec::new();
    reader
        .for_each_item(|i| items.push(i.clone()))
        .expect("read");
    let all: Vec<_> = t.items.iter().flatten().cloned().collect();
    assert_eq!(items, all, "every real frame decoded");
    let stats = reader.stats();
    assert_eq!(stats.skipped_bytes, (fakes * 12) as u64);
    assert_eq!(stats.skipped_frames, 0);
    let work = reader.crc_work_bytes();
    let bound = 3 * bytes.len() as u64 + 2 * (12 + MAX_PAYLOAD_LEN as u64);
    assert!(
        work <= bound,
        "CRC work {work} B for a {} B input (bound {bound})",
        bytes.len()
    );
    // Before the fix the work was about fakes × 1 MiB.
    assert!(work < (fakes as u64) * 1024);
}

/// Fake headers at the end of the input (pointing past it) are as cheap.
#[test]
fn fake_headers_pointing_past_the_end_cost_linear_work() {
    let fakes = 50_000;
    let (mut bytes, t) = fake_header_run(0);
    for _ in 0..fakes {
        bytes.extend(fake_header(MAX_PAYLOAD_LEN as u32 - 7));
    }
    let (items, stats) = read_all(&bytes);
    let all: Vec<_> = t.items.iter().flatten().cloned().collect();
    assert_eq!(items, all);
    assert_eq!(stats.skipped_bytes, (fakes * 12) as u64);
    let mut reader = TraceReader::new(&bytes[..]).expect("preamble");
    reader.for_each_item(|_| {}).expect("read");
    assert!(reader.crc_work_bytes() <= 3 * bytes.len() as u64 + 2 * (12 + MAX_PAYLOAD_LEN as u64));
}
