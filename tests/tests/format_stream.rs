//! The streaming decoder against damaged, cut, padded, newer and foreign inputs.
//! Expected figures are computed from the frame boundaries the test wrote.

mod format_support;

use format_support::{
    Entry, Trace, Trickle, header, read_all, read_all_fast, read_from, sample, trace,
};
use jetmem_core::record::{Mark, MarkKind, Record};
use jetmem_core::text::truncated;
use jetmem_core::wire::stream::{OpenError, TraceReader};
use jetmem_core::wire::{FORMAT_MAJOR, FORMAT_MINOR, Item, MAGIC};

/// A header frame, then 12 frames of 10 samples (100 ms at 10 ms) with a mark each.
fn ten_ms_trace() -> Trace {
    let mut frames = vec![vec![Entry::Header(header())]];
    for f in 0..12u64 {
        let mut entries: Vec<Entry> = (0..10)
            .map(|i| Entry::Record(Record::Sample(sample(f * 10 + i))))
            .collect();
        entries.insert(
            4,
            Entry::Record(Record::Mark(Mark {
                t_ns: f * 100_000_000 + 45_000_000,
                kind: MarkKind::Instant,
                label: truncated(&format!("frame {f}")),
                pid: None,
            })),
        );
        frames.push(entries);
    }
    trace(&frames)
}

fn items_of(t: &Trace, frames: impl IntoIterator<Item = usize>) -> Vec<Item> {
    frames
        .into_iter()
        .flat_map(|f| t.items[f].clone())
        .collect()
}

#[test]
fn intact_trace_decodes_exactly() {
    let t = ten_ms_trace();
    let (items, stats) = read_all(&t.bytes);
    assert_eq!(items, items_of(&t, 0..t.frames.len()));
    assert_eq!(stats.frames, t.frames.len() as u64);
    assert_eq!(stats.records, items.len() as u64);
    assert_eq!(stats.skipped_bytes, 0);
    assert_eq!(stats.skipped_frames, 0);
    assert_eq!(read_all_fast(&t.bytes), (items, stats));
}

/// The "done when": bytes flipped in the middle and the last 7 bytes cut.
#[test]
fn flipped_middle_and_cut_tail_lose_only_those_frames() {
    let t = ten_ms_trace();
    let mid = t.frames.len() / 2;
    let last = t.frames.len() - 1;
    let mut bytes = t.bytes.clone();
    let m = t.frames[mid].clone();
    // Flip bytes in the middle frame's payload and one in its CRC.
    for at in [m.start + 20, m.start + m.len() / 2, m.end - 1, m.start + 9] {
        bytes[at] ^= 0x5A;
    }
    bytes.truncate(bytes.len() - 7);

    let (items, stats) = read_all(&bytes);
    let kept = (0..t.frames.len()).filter(|&f| f != mid && f != last);
    assert_eq!(items, items_of(&t, kept.clone()));
    let tail = t.frames[last].len() - 7;
    assert_eq!(stats.skipped_bytes, (m.len() + tail) as u64);
    assert_eq!(stats.truncated_tail_bytes, tail as u64);
    assert_eq!(stats.skipped_frames, 2);
    assert_eq!(stats.frames, kept.count() as u64);
    assert_eq!(stats.records, items.len() as u64);
    assert_eq!(stats.malformed_frames, 0);
    // The fast path and a reader that returns 1–7 bytes per call agree.
    assert_eq!(read_all_fast(&bytes), (items.clone(), stats));
    let trickled = read_from(Trickle {
        bytes: &bytes,
        step: 3,
    });
    assert_eq!(trickled, (items, stats));
}

#[test]
fn damaged_length_field_costs_that_frame() {
    let t = ten_ms_trace();
    for (k, flip) in [(3usize, 0x80u8), (5, 0x01), (7, 0x40)] {
        let mut bytes = t.bytes.clone();
        // Byte 6 of a frame is the length's third byte: the length becomes huge
        // (0x80, 0x40: past the end or over the limit) or 64 KiB longer (0x01).
        bytes[t.frames[k].start + 6] ^= flip;
        let (items, stats) = read_all(&bytes);
        let kept: Vec<usize> = (0..t.frames.len()).filter(|&f| f != k).collect();
        assert_eq!(items, items_of(&t, kept), "flip {flip:#x} in frame {k}");
        assert_eq!(stats.skipped_bytes, t.frames[k].len() as u64);
        assert_eq!(stats.skipped_frames, 1);
        assert_eq!(stats.truncated_tail_bytes, 0);
    }
}

#[test]
fn lost_frame_is_counted_from_the_sequence_gap() {
    let t = ten_ms_trace();
    let mut bytes = t.bytes.clone();
    bytes.drain(t.frames[4].clone());
    bytes.drain(t.frames[2].clone());
    let (items, stats) = read_all(&bytes);
    let kept = (0..t.frames.len()).filter(|&f| f != 2 && f != 4);
    assert_eq!(items, items_of(&t, kept));
    assert_eq!(stats.skipped_frames, 2);
    assert_eq!(stats.skipped_bytes, 0);
}

#[test]
fn damaged_last_frame_is_counted() {
    let t = ten_ms_trace();
    let last = t.frames.len() - 1;
    let mut bytes = t.bytes.clone();
    let at = t.frames[last].start + 30;
    bytes[at] ^= 0xFF;
    let (items, stats) = read_all(&bytes);
    assert_eq!(items, items_of(&t, 0..last));
    assert_eq!(stats.skipped_frames, 1);
    assert_eq!(stats.skipped_bytes, t.frames[last].len() as u64);
    assert_eq!(stats.truncated_tail_bytes, 0);
}

#[test]
fn garbage_between_frames_is_skipped_and_counted() {
    let t = ten_ms_trace();
    // Includes a lone first sync byte and a partial sync to tempt the resync.
    let garbage: Vec<u8> = b"\x00\xA5junk\xA5\x4A\x4D from a bad SD card \xA5"
        .iter()
        .copied()
        .chain((0..200u32).map(|i| (i * 37 % 251) as u8))
        .collect();
    let mut bytes = t.bytes.clone();
    let at = t.frames[6].start;
    bytes.splice(at..at, garbage.iter().copied());
    let at = t.frames[1].start;
    bytes.splice(at..at, garbage.iter().copied());
    let (items, stats) = read_all(&bytes);
    assert_eq!(items, items_of(&t, 0..t.frames.len()));
    assert_eq!(stats.skipped_bytes, 2 * garbage.len() as u64);
    assert_eq!(stats.skipped_frames, 0);
    let trickled = read_from(Trickle {
        bytes: &bytes,
        step: 11,
    });
    assert_eq!(trickled, (items, stats));
}

#[test]
fn newer_major_is_rejected_naming_both_versions() {
    let t = ten_ms_trace();
    let mut bytes = t.bytes.clone();
    let newer = FORMAT_MAJOR + 1;
    bytes[8..10].copy_from_slice(&newer.to_le_bytes());
    bytes[10..12].copy_from_slice(&3u16.to_le_bytes());
    let err = TraceReader::new(&bytes[..]).unwrap_err();
    assert!(matches!(
        err,
        OpenError::NewerMajor { found, supported }
            if found == (newer, 3) && supported == (FORMAT_MAJOR, FORMAT_MINOR)
    ));
    let msg = err.to_string();
    assert!(msg.contains(&format!("{newer}.3")), "{msg}");
    assert!(
        msg.contains(&format!("{FORMAT_MAJOR}.{FORMAT_MINOR}")),
        "{msg}"
    );
}

#[test]
fn newer_minor_record_kind_is_skipped_and_counted() {
    let mark = Record::Mark(Mark {
        t_ns: 7,
        kind: MarkKind::End,
        label: truncated("warmup"),
        pid: None,
    });
    let mut t = trace(&[
        vec![Entry::Header(header())],
        vec![
            Entry::Record(Record::Sample(sample(0))),
            Entry::Raw(10, b"a record kind from v1.1".to_vec()),
            Entry::Record(Record::Sample(sample(1))),
            Entry::Raw(300, vec![]),
            Entry::Record(mark),
        ],
    ]);
    // Written by a newer minor of the same major.
    t.bytes[10..12].copy_from_slice(&(FORMAT_MINOR + 1).to_le_bytes());
    let r = TraceReader::new(&t.bytes[..]).unwrap();
    assert_eq!(r.version(), (FORMAT_MAJOR, FORMAT_MINOR + 1));
    let (items, stats) = read_all(&t.bytes);
    assert_eq!(items, items_of(&t, 0..2));
    assert_eq!(stats.unknown_records, 2);
    assert_eq!(stats.malformed_frames, 0);
    assert_eq!(read_all_fast(&t.bytes), (items, stats));
}

#[test]
fn one_to_seven_bytes_per_read_gives_the_same_result() {
    let t = ten_ms_trace();
    let whole = read_all(&t.bytes);
    for step in [0, 1, 5, 99] {
        assert_eq!(
            read_from(Trickle {
                bytes: &t.bytes,
                step
            }),
            whole
        );
    }
}

#[test]
fn empty_short_and_foreign_inputs_give_clear_errors() {
    let err = TraceReader::new(&b""[..]).unwrap_err();
    assert!(matches!(err, OpenError::TooShort(0)));
    assert!(err.to_string().contains("0 bytes"), "{err}");

    let err = TraceReader::new(&MAGIC[..5]).unwrap_err();
    assert!(matches!(err, OpenError::TooShort(5)));
    assert!(err.to_string().contains("not a jetmem trace"), "{err}");

    let err = TraceReader::new(&b"MemTotal:  7990000 kB\nMemFree: 1 kB\n"[..]).unwrap_err();
    assert!(matches!(err, OpenError::NotATrace));
    assert!(err.to_string().contains("not a jetmem trace"), "{err}");

    // A bare preamble is a valid, empty trace.
    let t = trace(&[]);
    let (items, stats) = read_all(&t.bytes);
    assert!(items.is_empty());
    assert_eq!(stats, Default::default());

    // A preamble followed by a cut-off frame header is a truncated tail.
    let full = ten_ms_trace();
    let cut = &full.bytes[..full.frames[0].start + 5];
    let (items, stats) = read_all(cut);
    assert!(items.is_empty());
    assert_eq!(stats.truncated_tail_bytes, 5);
    assert_eq!(stats.skipped_frames, 1);
}
