//! Property tests of the trace format: exact round trips, and no input (random
//! bytes, or valid traces flipped, cut and spliced) panics the decoder or makes
//! it yield a record that was never written.

mod format_support;

use format_support::{Entry, read_all, read_all_fast, trace};
use jetmem_core::record::{
    Allocator, COUNTER_COUNT, Counters, Dropped, End, Event, EventKind, Header, Mark, MarkKind,
    ProcessChange, ProcessEvent, ProcessMemory, Record, Sample,
};
use jetmem_core::text::truncated;
use jetmem_core::wire::stream::TraceReader;
use jetmem_core::wire::{EncodeError, FrameBuilder, Item};
use proptest::prelude::*;

/// Counter values as samplers produce them: mostly whole KiB, some odd, some
/// anywhere in the representable range (< 2^61, or any multiple of 1024).
fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        (0u64..1 << 34).prop_map(|k| k * 1024),
        0u64..1 << 40,
        0u64..1 << 61,
        any::<u64>().prop_map(|v| v & !1023),
        Just(0u64),
    ]
}

fn counters() -> impl Strategy<Value = Counters> {
    (any::<u64>(), prop::collection::vec(value(), COUNTER_COUNT)).prop_map(|(mask, vals)| {
        let mut c = Counters::new();
        for (i, v) in vals.into_iter().enumerate() {
            if mask & (1 << i) != 0 {
                c.set_raw(i, v);
            }
        }
        c
    })
}

/// A run of samples that drift from a base like a real trace, with occasional
/// jumps, time going backwards, and counters appearing or vanishing.
fn samples() -> impl Strategy<Value = Vec<Sample>> {
    (
        counters(),
        any::<u64>(),
        prop::collection::vec((any::<i32>(), any::<u64>(), any::<u8>(), value()), 1..40),
    )
        .prop_map(|(base, t0, steps)| {
            let mut t = t0 >> 8;
            let mut c = base;
            let mut out = Vec::new();
            for (dt, drift, which, v) in steps {
                t = t.wrapping_add(dt as i64 as u64);
                let i = (which as usize) % COUNTER_COUNT;
                match which % 8 {
                    0 => c.set_raw(i, v),
                    1 => {
                        let mut d = Counters::new();
                        for (k, (cc, val)) in c.iter().enumerate() {
                            if k != i {
                                d.set_raw(cc as usize, val);
                            }
                        }
                        c = d;
                    }
                    _ => {
                        if c.present_mask() & (1 << i) != 0 {
                            let old = c.raw(i);
                            let step = (drift % 4096) * 1024;
                            let new = if drift & 1 == 0 {
                                old.wrapping_add(step)
                            } else {
                                old.wrapping_sub(step)
                            };
                            if new < 1 << 61 {
                                c.set_raw(i, new);
                            }
                        }
                    }
                }
                out.push(Sample {
                    t_ns: t,
                    counters: c,
                });
            }
            out
        })
}

fn text<const N: usize>() -> impl Strategy<Value = heapless::String<N>> {
    ".{0,60}".prop_map(|s: String| truncated::<N>(&s))
}

fn other_record() -> impl Strategy<Value = Record> {
    let opt = || prop::option::of(any::<u64>());
    prop_oneof![
        (any::<u64>(), 0u8..3, text()).prop_map(|(t_ns, k, label)| Record::Mark(Mark {
            t_ns,
            kind: [MarkKind::Begin, MarkKind::End, MarkKind::Instant][k as usize],
            label,
            pid: None,
        })),
        (
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            text()
        )
            .prop_map(
                |(t_ns, pid, ppid, joined, name)| Record::Process(ProcessEvent {
                    t_ns,
                    pid,
                    ppid,
                    change: if joined {
                        ProcessChange::Joined
                    } else {
                        ProcessChange::Left
                    },
                    name
                })
            ),
        (any::<u64>(), any::<u32>(), opt(), opt(), opt(), opt()).prop_map(
            |(t_ns, pid, rss_bytes, hwm_bytes, swap_bytes, locked_bytes)| {
                Record::ProcessMemory(ProcessMemory {
                    t_ns,
                    pid,
                    rss_bytes,
                    hwm_bytes,
                    swap_bytes,
                    locked_bytes,
                })
            }
        ),
        (any::<u64>(), any::<u8>(), opt(), opt(), opt(), opt()).prop_map(
            |(t_ns, device, allocated, reserved, peak_allocated, peak_reserved)| {
                Record::Allocator(Allocator {
                    t_ns,
                    device,
                    allocated,
                    reserved,
                    peak_allocated,
                    peak_reserved,
                    pid: None,
                })
            }
        ),
        (any::<u64>(), 0u8..4, any::<u64>(), any::<u64>()).prop_map(
            |(t_ns, k, value, threshold)| {
                Record::Event(Event {
                    t_ns,
                    kind: [
                        EventKind::PressureEntered,
                        EventKind::PressureLeft,
                        EventKind::BudgetExceeded,
                        EventKind::BudgetRecovered,
                    ][k as usize],
                    value,
                    threshold,
                })
            }
        ),
        (any::<u64>(), any::<u64>())
            .prop_map(|(t_ns, samples)| Record::Dropped(Dropped { t_ns, samples })),
        (any::<[u64; 8]>(), prop::option::of(any::<i32>())).prop_map(|(v, exit_code)| {
            Record::End(End {
                t_ns: v[0],
                samples: v[1],
                dropped: v[2],
                sampler_cpu_ns: v[3],
                writer_cpu_ns: v[4],
                lateness_p50_ns: v[5],
                lateness_p99_ns: v[6],
                lateness_max_ns: v[7],
                exit_code,
            })
        }),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    (
        any::<[u64; 3]>(),
        any::<[u8; 16]>(),
        prop::option::of(any::<u32>()),
        text(),
        text(),
        any::<u16>(),
    )
        .prop_map(|(t, boot_id, pid, command, label, permille)| {
            let mut h = format_support::header();
            h.interval_ns = t[0];
            h.start_unix_ns = t[1];
            h.start_monotonic_ns = t[2];
            h.boot_id = boot_id;
            h.pid = pid;
            h.command = command;
            h.label = label;
            h.pressure_threshold_permille = permille;
            h
        })
}

/// Frames of samples with other records mixed in; the first frame is a header.
fn frames() -> impl Strategy<Value = Vec<Vec<Entry>>> {
    (
        header(),
        prop::collection::vec(
            (
                samples(),
                prop::collection::vec((any::<prop::sample::Index>(), other_record()), 0..4),
            ),
            1..6,
        ),
    )
        .prop_map(|(h, frames)| {
            let mut out = vec![vec![Entry::Header(h)]];
            for (samples, others) in frames {
                let mut entries: Vec<Entry> = samples
                    .into_iter()
                    .map(|s| Entry::Record(Record::Sample(s)))
                    .collect();
                for (at, r) in others {
                    let at = at.index(entries.len() + 1);
                    entries.insert(at, Entry::Record(r));
                }
                out.push(entries);
            }
            out
        })
}

fn all_items(frames: &[Vec<Entry>]) -> Vec<Item> {
    trace(frames).items.into_iter().flatten().collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Cut(prop::sample::Index),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    /// Copies a range of the trace to another place (a frame written twice, a
    /// block of the card remapped).
    Splice(prop::sample::Index, usize, prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), 1u8..).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Cut),
        2 => (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..40)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<prop::sample::Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => (any::<prop::sample::Index>(), 1usize..400, any::<prop::sample::Index>()).prop_map(|(a, n, b)| Mutation::Splice(a, n, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    if len == 0 {
        return;
    }
    match m {
        Mutation::Flip(i, x) => bytes[i.index(len)] ^= x,
        Mutation::Cut(i) => bytes.truncate(i.index(len)),
        Mutation::Insert(i, b) => {
            let at = i.index(len + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let at = i.index(len);
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::Splice(a, n, b) => {
            let from = a.index(len);
            let chunk = bytes[from..(from + n).min(len)].to_vec();
            let to = b.index(len + 1);
            bytes.splice(to..to, chunk);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn records_round_trip_exactly(frames in frames()) {
        let t = trace(&frames);
        let want = all_items(&frames);
        let (items, stats) = read_all(&t.bytes);
        prop_assert_eq!(&items, &want);
        prop_assert_eq!(stats.skipped_bytes, 0);
        prop_assert_eq!(stats.frames, frames.len() as u64);
        let (fast, fast_stats) = read_all_fast(&t.bytes);
        prop_assert_eq!(fast, want);
        prop_assert_eq!(fast_stats, stats);
    }

    #[test]
    fn unrepresentable_values_are_refused_not_mangled(v in (1u64 << 61)..(u64::MAX - (1 << 61))) {
        prop_assume!(v % 1024 != 0);
        let mut c = Counters::new();
        c.set_raw(3, v);
        let mut buf = vec![0u8; 512];
        let mut fb = FrameBuilder::new(&mut buf, 0).unwrap();
        prop_assert_eq!(fb.push_sample(&Sample { t_ns: 0, counters: c }), Err(EncodeError::ValueOutOfRange));
        prop_assert!(fb.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000), with_preamble in any::<bool>()) {
        let mut input = if with_preamble { format_support::preamble() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        if let Ok(mut r) = TraceReader::new(&input[..]) {
            while let Some(_item) = r.next_item().unwrap() {}
            let s = r.stats();
            prop_assert!(s.skipped_bytes <= bytes.len() as u64);
        }
        if let Ok(mut r) = TraceReader::new(&input[..]) {
            TraceReader::for_each_item(&mut r, |_| {}).unwrap();
        }
    }

    /// Frames whose CRC is right but whose payload is arbitrary (a writer bug,
    /// or a CRC collision): the payload decoder must stop cleanly, and the
    /// intact frames around it still decode.
    #[test]
    fn arbitrary_payloads_in_valid_frames_never_panic(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 1..4),
        frames in frames(),
    ) {
        let t = trace(&frames);
        let mut bytes = t.bytes.clone();
        for p in &payloads {
            bytes.extend_from_slice(&format_support::frame_around(p));
        }
        let (items, stats) = read_all(&bytes);
        // Everything written before the arbitrary frames is there, in order.
        let written = all_items(&frames);
        prop_assert!(items.len() >= written.len());
        prop_assert_eq!(&items[..written.len()], &written[..]);
        prop_assert_eq!(stats.skipped_bytes, 0);
        let (fast, fast_stats) = read_all_fast(&bytes);
        prop_assert_eq!(fast, items);
        prop_assert_eq!(fast_stats, stats);
    }

    #[test]
    fn mutated_traces_never_panic_nor_invent_records(
        frames in frames(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let t = trace(&frames);
        let written = all_items(&frames);
        let mut bytes = t.bytes.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let Ok(mut r) = TraceReader::new(&bytes[..]) else {
            // Only a mutation of the preamble itself may make the input unreadable.
            return Ok(());
        };
        while let Some(item) = r.next_item().unwrap() {
            prop_assert!(written.contains(&item), "decoded a record never written: {:?}", item);
        }
        let slow = r.stats();
        prop_assert!(slow.skipped_bytes <= bytes.len() as u64);
        let mut r = TraceReader::new(&bytes[..]).unwrap();
        let mut bad = None;
        TraceReader::for_each_item(&mut r, |item| {
            if bad.is_none() && !written.contains(item) {
                bad = Some(item.clone());
            }
        }).unwrap();
        prop_assert!(bad.is_none(), "decoded a record never written: {:?}", bad);
        prop_assert_eq!(r.stats(), slow);
    }
}
