//! Trace size on a real 10 ms capture (issue 2's target: ≤ 25 bytes per sample,
//! uncompressed), encoded as the writer does with one frame per 100 ms, and the
//! same trace decodes back exactly.

mod format_support;

use format_support::{encode_like_writer, header, read_all};
use jetmem_core::record::{Counter, Record};
use jetmem_core::wire::Item;
use jetmem_tests::capture::{CAPTURE_CSV as CAPTURE, read_capture_csv};

#[test]
fn real_10ms_capture_stays_under_25_bytes_per_sample() {
    let samples = read_capture_csv(CAPTURE);
    assert!(samples.len() >= 300, "capture too short: {}", samples.len());
    // It is a real trace: memory moved while it was taken.
    let free: Vec<u64> = samples
        .iter()
        .filter_map(|s| s.counters.get(Counter::MemFree))
        .collect();
    assert!(free.iter().max() > free.iter().min());
    let (bytes, header_bytes) = encode_like_writer(&header(), &samples);
    let per_sample = (bytes.len() - header_bytes) as f64 / samples.len() as f64;
    println!(
        "{} samples, {} bytes of sample frames: {per_sample:.2} bytes/sample",
        samples.len(),
        bytes.len() - header_bytes
    );
    assert!(per_sample <= 25.0, "{per_sample:.2} bytes/sample");

    let (items, stats) = read_all(&bytes);
    assert_eq!(stats.skipped_bytes, 0);
    let decoded: Vec<_> = items
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(Record::Sample(s)) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(decoded, samples);
}
