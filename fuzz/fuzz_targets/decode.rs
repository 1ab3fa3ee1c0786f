//! Feeds arbitrary bytes to the streaming trace decoder, through both its
//! item-by-item and its in-place paths, and with the preamble forced valid so
//! the fuzzer spends its time on frames. Neither may panic, and both must agree.
//!
//! `cargo +nightly fuzz run decode` (from the repository root).
#![no_main]

use jetmem_core::wire::stream::TraceReader;
use jetmem_core::wire::{PREAMBLE_LEN, write_preamble};
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
});
