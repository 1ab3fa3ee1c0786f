//! Feeds arbitrary bytes to the streaming trace decoder, through both its
//! item-by-item and its in-place paths: as they are, after a valid preamble (so
//! the fuzzer spends its time on frames), and as the payload of a frame with a
//! correct CRC (so it reaches the record decoder, which random bytes behind a
//! CRC almost never do). Nothing may panic, and both paths must agree.
//!
//! `cargo +nightly fuzz run decode` (from the repository root).
#![no_main]

use jetmem_core::wire::stream::TraceReader;
use jetmem_core::wire::{TraceWriter, frame_header};
use libfuzzer_sys::fuzz_target;

fn decode(bytes: &[u8]) {
    let Ok(mut r) = TraceReader::new(bytes) else {
        return;
    };
    let mut items = Vec::new();
    while let Ok(Some(item)) = r.next_item() {
        items.push(item);
    }
    let slow = r.stats();
    let Ok(mut r) = TraceReader::new(bytes) else {
        panic!("the preamble was accepted once");
    };
    let mut fast = Vec::new();
    let _ = r.for_each_item(|i| fast.push(i.clone()));
    assert_eq!(items, fast);
    assert_eq!(slow, r.stats());
    assert!(slow.skipped_bytes <= bytes.len() as u64);
}

fuzz_target!(|data: &[u8]| {
    decode(data);
    let preamble = TraceWriter::new(Vec::new(), 0)
        .expect("a Vec takes the preamble")
        .into_inner();
    let mut valid = preamble.clone();
    valid.extend_from_slice(data);
    decode(&valid);

    if !data.is_empty() {
        let mut framed = preamble;
        framed.extend_from_slice(&frame_header(data));
        framed.extend_from_slice(data);
        decode(&framed);
    }
});
