//! Feeds arbitrary bytes to the streaming trace decoder, through both its
//! item-by-item and its in-place paths: as they are, after a valid preamble (so
//! the fuzzer spends its time on frames), and as the payload of a frame with a
//! correct CRC (so it reaches the record decoder, which random bytes behind a
//! CRC almost never do). Nothing may panic, and both paths must agree.
//!
//! `cargo +nightly fuzz run decode` (from the repository root).
#![no_main]

use jetmem_core::wire::stream::TraceReader;
use jetmem_core::wire::{PREAMBLE_LEN, SYNC, write_preamble};
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
    let _ = TraceReader::for_each(&mut r, |i| fast.push(i.clone()));
    assert_eq!(items, fast);
    assert_eq!(slow, r.stats());
    assert!(slow.skipped_bytes <= bytes.len() as u64);
}

fuzz_target!(|data: &[u8]| {
    decode(data);
    let mut pre = [0u8; PREAMBLE_LEN];
    write_preamble(&mut pre);
    let mut valid = pre.to_vec();
    valid.extend_from_slice(data);
    decode(&valid);

    if !data.is_empty() {
        const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
        let len = (data.len() as u32).to_le_bytes();
        let mut digest = CRC32C.digest();
        digest.update(&len);
        digest.update(data);
        let mut framed = pre.to_vec();
        framed.extend_from_slice(&SYNC);
        framed.extend_from_slice(&len);
        framed.extend_from_slice(&digest.finalize().to_le_bytes());
        framed.extend_from_slice(data);
        decode(&framed);
    }
});
