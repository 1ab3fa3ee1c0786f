//! The ring on ordinary memory: order, wrap-around, overflow per writer, labels.

use super::*;
use crate::record::MarkKind;

fn zero() -> AtomicU64 {
    AtomicU64::new(0)
}

/// A ring on the heap, all zero as a fresh `ftruncate`d object is, then `init`.
fn ring<const N: usize>() -> std::boxed::Box<Ring<N>> {
    let r = std::boxed::Box::new(Ring::<N> {
        magic: zero(),
        version: AtomicU32::new(0),
        slots: AtomicU32::new(0),
        recorder_pid: AtomicU32::new(0),
        _pad: AtomicU32::new(0),
        lost_unlisted: zero(),
        _pad2: core::array::from_fn(|_| zero()),
        tail: zero(),
        _pad3: core::array::from_fn(|_| zero()),
        writers: core::array::from_fn(|_| WriterRow {
            pid: AtomicU32::new(0),
            _pad: AtomicU32::new(0),
            lost: zero(),
        }),
        ring: core::array::from_fn(|_| Slot {
            words: core::array::from_fn(|_| zero()),
        }),
    });
    r.init(7);
    r
}

fn mark(e: Entry) -> Mark {
    match e {
        Entry::Mark(m) => m,
        other => panic!("not a mark: {other:?}"),
    }
}

#[test]
fn records_come_out_in_order_with_pid_time_kind_and_label() {
    let r = ring::<8>();
    assert!(r.is_valid());
    assert_eq!(r.recorder_pid(), 7);
    let mut rd = Reader::new();
    for round in 0..5u64 {
        // Five laps of 6 records through 8 slots: the sequence numbers wrap.
        for i in 0..6u64 {
            let label = std::format!("frame {}", round * 6 + i);
            r.push(
                100 + i as u32,
                1000 * i,
                Push::Mark(MarkKind::Begin, &label),
            )
            .unwrap();
        }
        for i in 0..6u64 {
            let m = mark(rd.pop(&r).unwrap());
            assert_eq!(m.pid, Some(100 + i as u32));
            assert_eq!(m.t_ns, 1000 * i);
            assert_eq!(m.kind, MarkKind::Begin);
            assert_eq!(m.label.as_str(), std::format!("frame {}", round * 6 + i));
        }
        assert!(rd.pop(&r).is_none());
    }
}

#[test]
fn allocator_figures_keep_unknown_apart_from_zero() {
    let r = ring::<4>();
    let mut rd = Reader::new();
    r.push(
        5,
        9,
        Push::Allocator(2, [Some(0), None, Some(3 << 30), None]),
    )
    .unwrap();
    match rd.pop(&r).unwrap() {
        Entry::Allocator(a) => {
            assert_eq!((a.pid, a.t_ns, a.device), (Some(5), 9, 2));
            assert_eq!(a.allocated, Some(0));
            assert_eq!(a.reserved, None);
            assert_eq!(a.peak_allocated, Some(3 << 30));
            assert_eq!(a.peak_reserved, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_full_ring_counts_each_writers_losses() {
    let r = ring::<4>();
    for _ in 0..4 {
        r.push(1, 0, Push::Mark(MarkKind::Instant, "x")).unwrap();
    }
    assert_eq!(
        r.push(1, 0, Push::Mark(MarkKind::Instant, "x")),
        Err(PushError::Full)
    );
    for _ in 0..3 {
        assert!(r.push(2, 0, Push::Mark(MarkKind::Instant, "y")).is_err());
    }
    let mut rd = Reader::new();
    let mut lost = std::vec::Vec::new();
    rd.losses(&r, |pid, n| {
        lost.push((pid, n));
        pid == 1 // pid 2's loss is not taken: offered again
    });
    assert_eq!(lost, [(1, 1), (2, 3)]);
    lost.clear();
    rd.losses(&r, |pid, n| {
        lost.push((pid, n));
        true
    });
    assert_eq!(lost, [(2, 3)], "losses are reported until taken, once");
    lost.clear();
    rd.losses(&r, |pid, n| {
        lost.push((pid, n));
        true
    });
    assert!(lost.is_empty());
    // Draining frees the slots for the writers again.
    while rd.pop(&r).is_some() {}
    r.push(2, 0, Push::Mark(MarkKind::Instant, "y")).unwrap();
}

#[test]
fn long_labels_are_cut_on_a_character_boundary() {
    let r = ring::<4>();
    let mut rd = Reader::new();
    let long = "é".repeat(40); // 80 bytes
    r.push(1, 0, Push::Mark(MarkKind::End, &long)).unwrap();
    let m = mark(rd.pop(&r).unwrap());
    assert_eq!(m.label.as_str(), "é".repeat(24));
    assert_eq!(m.kind, MarkKind::End);
}

#[test]
fn many_threads_write_at_once_and_nothing_is_lost_or_torn() {
    let r: std::sync::Arc<Ring<1024>> = std::sync::Arc::from(ring::<1024>());
    let threads: std::vec::Vec<_> = (0..4u32)
        .map(|w| {
            let r = std::sync::Arc::clone(&r);
            std::thread::spawn(move || {
                for i in 0..200u64 {
                    let label = std::format!("w{w}-{i}");
                    r.push(w + 1, i, Push::Mark(MarkKind::Instant, &label))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut rd = Reader::new();
    let mut next = [0u64; 4];
    while let Some(e) = rd.pop(&r) {
        let m = mark(e);
        let w = m.pid.unwrap() - 1;
        let i = &mut next[w as usize];
        assert_eq!(
            m.label.as_str(),
            std::format!("w{w}-{i}"),
            "per-writer order"
        );
        assert_eq!(m.t_ns, *i);
        *i += 1;
    }
    assert_eq!(next, [200; 4]);
}

/// The layout docs/marker-channel.md describes (a version-1 contract).
#[test]
fn layout_matches_the_documented_offsets() {
    use core::mem::{offset_of, size_of};
    assert_eq!(offset_of!(Ring, magic), 0);
    assert_eq!(offset_of!(Ring, version), 8);
    assert_eq!(offset_of!(Ring, slots), 12);
    assert_eq!(offset_of!(Ring, recorder_pid), 16);
    assert_eq!(offset_of!(Ring, lost_unlisted), 24);
    assert_eq!(offset_of!(Ring, tail), 128);
    assert_eq!(offset_of!(Ring, writers), 256);
    assert_eq!(size_of::<WriterRow>(), 16);
    assert_eq!(offset_of!(Ring, ring), 1280);
    assert_eq!(size_of::<Slot>(), 128);
    assert_eq!(size_of::<Ring>(), 1280 + SLOTS * 128);
    assert_eq!(size_of::<Ring>(), 525_568);
    assert_eq!(MAGIC.to_le_bytes(), *b"JMCHAN\0\x01");
}

/// A `--cuda-hook` snapshot keeps every figure, with the push's pid and time.
#[test]
fn cuda_hook_snapshot_round_trips() {
    let r = ring::<8>();
    let c = CudaHook {
        t_ns: 1,
        pid: 2,
        live: [1 << 20, 3 << 20, 5 << 20, 7 << 20],
        peak: [2 << 20, 4 << 20, 6 << 20, 8 << 20],
        allocations: 9,
        frees: 4,
        table_overflow: 3,
    };
    r.push(4243, 77, Push::CudaHook(&c)).unwrap();
    let mut rd = Reader::new();
    let Some(Entry::CudaHook(got)) = rd.pop(&r) else {
        panic!("not a cuda hook entry");
    };
    assert_eq!(
        got,
        CudaHook {
            t_ns: 77,
            pid: 4243,
            ..c
        }
    );
    assert!(rd.pop(&r).is_none());
}
