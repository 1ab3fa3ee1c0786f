//! Unit tests of the frame encoder and payload decoder.

use super::*;
use crate::record::{Counter, Counters, Mark, MarkKind};

fn sample(t_ns: u64, free: u64, rss: u64) -> Sample {
    let mut c = Counters::new();
    c.set(Counter::MemTotal, Some(8 << 30));
    c.set(Counter::MemFree, Some(free));
    c.set(Counter::MemAvailable, Some(free + (1 << 30)));
    c.set(Counter::TreeRss, Some(rss));
    Sample { t_ns, counters: c }
}

fn decode_all(frame: &[u8]) -> std::vec::Vec<Item> {
    let FrameCheck::Frame { payload, len } = check_frame(frame) else {
        panic!("not a frame");
    };
    assert_eq!(len, frame.len());
    PayloadDecoder::new(payload)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn samples_round_trip_as_key_then_deltas() {
    let mut buf = [0u8; 4096];
    let mut fb = FrameBuilder::new(&mut buf, 7).unwrap();
    let samples = [
        sample(0, 4 << 30, 100 << 20),
        sample(10_000_000, (4 << 30) - 4096, 100 << 20),
        sample(20_000_123, (4 << 30) - 8192, (100 << 20) + 4096),
        sample(30_000_000, (4 << 30) - 8192, 5),
    ];
    for s in &samples {
        fb.push_sample(s).unwrap();
    }
    fb.push(&Record::Mark(Mark {
        t_ns: 30_000_001,
        kind: MarkKind::Begin,
        label: crate::text::truncated("inference"),
    }))
    .unwrap();
    let frame = fb.finish();
    let items = decode_all(frame);
    assert_eq!(items.len(), 5);
    for (item, s) in items.iter().zip(samples.iter()) {
        assert_eq!(item, &Item::Record(Record::Sample(*s)));
    }
}

#[test]
fn buffer_full_leaves_frame_intact() {
    let mut buf = [0u8; 40];
    let mut fb = FrameBuilder::new(&mut buf, 0).unwrap();
    fb.push_sample(&sample(0, 1 << 30, 1 << 20)).unwrap();
    let before = fb.len();
    assert_eq!(
        fb.push_sample(&sample(1, 1 << 29, 3)),
        Err(EncodeError::BufferFull)
    );
    assert_eq!(fb.len(), before);
    let items = decode_all(fb.finish());
    assert_eq!(items.len(), 1);
}

#[test]
fn flipped_byte_fails_crc_and_sync_is_found_again() {
    let mut buf = [0u8; 256];
    let mut fb = FrameBuilder::new(&mut buf, 0).unwrap();
    fb.push_sample(&sample(0, 1 << 30, 1 << 20)).unwrap();
    let mut frame = fb.finish().to_vec();
    frame[FRAME_HEADER_LEN + 3] ^= 0x10;
    assert_eq!(check_frame(&frame), FrameCheck::Damaged);
    let mut two = frame.clone();
    two.extend_from_slice(&frame);
    assert_eq!(next_sync(&two), Some(frame.len()));
}
