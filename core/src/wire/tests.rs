//! Unit tests of the frame encoder and payload decoder.

use super::*;
use crate::record::{Counter, Counters, Dropped, Mark, MarkKind};

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
        pid: None,
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

#[test]
fn fast_varint_reader_matches_the_plain_one() {
    for bits in 0..=64u32 {
        for v in [
            if bits == 0 { 0 } else { 1u64 << (bits - 1) },
            u64::MAX >> (64 - bits.max(1)),
        ] {
            let mut enc = [0u8; varint::MAX_VARINT_LEN];
            let mut n = 0;
            varint::put(&mut enc, &mut n, v).unwrap();
            for pad in [0usize, 1, 3, 9] {
                let mut buf = std::vec![0x55u8; 2];
                buf.extend_from_slice(&enc[..n]);
                buf.extend(std::iter::repeat_n(0xFFu8, pad));
                let mut pos = 2;
                assert_eq!(decode::get(&buf, &mut pos), Ok(v), "{v:#x} pad {pad}");
                assert_eq!(pos, 2 + n);
                // Cut short: the end, not a bad varint.
                let mut pos = 2;
                assert_eq!(
                    decode::get(&buf[..1 + n], &mut pos),
                    Err(DecodeError::UnexpectedEnd)
                );
            }
        }
    }
    let mut pos = 0;
    assert_eq!(
        decode::get(&[0xFF; 12], &mut pos),
        Err(DecodeError::BadVarint)
    );
}

/// Builds a frame around a hand-written payload (sequence number included).
fn frame_of(payload: &[u8]) -> std::vec::Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let crc = crc::crc32c(&len, payload).to_le_bytes();
    let mut f = SYNC.to_vec();
    f.extend_from_slice(&len);
    f.extend_from_slice(&crc);
    f.extend_from_slice(payload);
    f
}

/// A newer minor may add counters (indices ≥ COUNTER_COUNT): this version
/// reads past their values and keeps the counters it knows.
#[test]
fn counters_of_a_newer_minor_are_skipped() {
    let unknown = 1u64 << 50;
    let mask = (1 << Counter::MemFree as u64) | unknown | (1 << 63);
    let mut p = std::vec::Vec::new();
    let mut put = |v: u64| {
        let mut b = [0u8; 10];
        let mut n = 0;
        varint::put(&mut b, &mut n, v).unwrap();
        p.extend_from_slice(&b[..n]);
    };
    put(0); // seq
    put(0); // key sample
    put(5); // t_ns
    put(mask);
    put(varint::scaled_delta(1 << 30).unwrap()); // MemFree
    put(varint::scaled_delta(123_456_789).unwrap()); // counter 50
    put(varint::scaled_delta(7).unwrap()); // counter 63
    put(1); // delta sample
    put(varint::zigzag(10)); // time step 10 ns
    put((1 << Counter::MemFree as u64) | unknown);
    put(varint::scaled_delta(-4096).unwrap());
    put(varint::scaled_delta(99).unwrap());
    let items = decode_all(&frame_of(&p));
    let mut c = Counters::new();
    c.set(Counter::MemFree, Some(1 << 30));
    let first = Sample {
        t_ns: 5,
        counters: c,
    };
    c.set(Counter::MemFree, Some((1 << 30) - 4096));
    let second = Sample {
        t_ns: 15,
        counters: c,
    };
    assert_eq!(
        items,
        [
            Item::Record(Record::Sample(first)),
            Item::Record(Record::Sample(second))
        ]
    );
}

/// A newer minor may append fields to a body: this version decodes the fields
/// it knows and ignores the rest, because every body carries its length.
#[test]
fn trailing_body_fields_of_a_newer_minor_are_ignored() {
    let mark = Mark {
        t_ns: 42,
        kind: MarkKind::Instant,
        label: crate::text::truncated("frame"),
        pid: None,
    };
    let mut body = postcard::to_slice(&mark, &mut [0u8; 64]).unwrap().to_vec();
    // The 1.1 pid (Some(150)), then a field this version does not know.
    body.extend_from_slice(&[0x01, 0x96, 0x01, 0xAA]);
    let mut buf = [0u8; 256];
    let mut fb = FrameBuilder::new(&mut buf, 0).unwrap();
    fb.push_raw(u64::from(tag::MARK), &body).unwrap();
    fb.push(&Record::Dropped(Dropped {
        t_ns: 43,
        samples: 2,
    }))
    .unwrap();
    let items = decode_all(fb.finish());
    assert_eq!(
        items,
        [
            Item::Record(Record::Mark(Mark {
                pid: Some(150),
                ..mark
            })),
            Item::Record(Record::Dropped(Dropped {
                t_ns: 43,
                samples: 2
            }))
        ]
    );
}
