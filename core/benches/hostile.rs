//! Decoding crafted input: linear time on any bytes (docs/trace-format.md, 7.1).
//!
//! `cargo bench -p jetmem-core --features std --bench hostile`
//!
//! Each input is 100 MB held in memory, so the figure is the decoder's own
//! time per 100 MB of adversarial input (target ≤ 1 s).

use divan::{Bencher, black_box, counter::BytesCount};
use jetmem_core::wire::stream::TraceReader;
use jetmem_core::wire::{FORMAT_MAJOR, FORMAT_MINOR, MAGIC, MAX_PAYLOAD_LEN, SYNC};
use std::sync::OnceLock;

const SIZE: usize = 100_000_000;

fn preamble() -> Vec<u8> {
    let mut v = MAGIC.to_vec();
    v.extend_from_slice(&FORMAT_MAJOR.to_le_bytes());
    v.extend_from_slice(&FORMAT_MINOR.to_le_bytes());
    v
}

/// Fake frame headers every 12 bytes, each claiming the largest payload, with a bad CRC.
fn fake_headers() -> &'static [u8] {
    static INPUT: OnceLock<Vec<u8>> = OnceLock::new();
    INPUT.get_or_init(|| {
        let mut v = preamble();
        while v.len() < SIZE {
            v.extend_from_slice(&SYNC);
            v.extend_from_slice(&(MAX_PAYLOAD_LEN as u32).to_le_bytes());
            v.extend_from_slice(&0u32.to_le_bytes());
        }
        v
    })
}

/// Fake headers 512 bytes apart, each claiming a random length up to the maximum.
fn sparse_fake_headers() -> &'static [u8] {
    static INPUT: OnceLock<Vec<u8>> = OnceLock::new();
    INPUT.get_or_init(|| {
        let mut v = preamble();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        while v.len() < SIZE {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(&SYNC);
            v.extend_from_slice(&((x % MAX_PAYLOAD_LEN as u64) as u32 + 1).to_le_bytes());
            v.extend_from_slice(&(x as u32).to_le_bytes());
            v.resize(v.len() + 500, (x >> 40) as u8 | 1);
        }
        v
    })
}

fn decode(bytes: &[u8]) -> u64 {
    let mut reader = TraceReader::new(bytes).expect("preamble");
    reader.for_each_item(|_| {}).expect("in memory");
    reader.stats().skipped_bytes
}

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn fake_headers_every_12_bytes(bencher: Bencher) {
    let input = fake_headers();
    bencher
        .counter(BytesCount::new(input.len()))
        .bench(|| black_box(decode(black_box(input))));
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn fake_headers_every_512_bytes(bencher: Bencher) {
    let input = sparse_fake_headers();
    bencher
        .counter(BytesCount::new(input.len()))
        .bench(|| black_box(decode(black_box(input))));
}
