//! Golden bytes of trace format v1, one file per record kind plus the preamble.
//!
//! CHANGING ANY OF THESE BYTES CHANGES THE FORMAT. A change that old readers
//! cannot read needs a FORMAT_MAJOR bump; an addition they skip (a new tag ≥ 10,
//! a new counter, a trailing body field) needs a FORMAT_MINOR bump. Either way
//! the golden files live in `tests/golden/v{MAJOR}.{MINOR}/`, so bumping the
//! version means writing a new directory (`JETMEM_BLESS_GOLDEN=1 cargo test -p
//! jetmem-tests --test format_golden`) and keeping the old ones, which must
//! still decode. See docs/trace-format.md.

mod format_support;

use format_support::{Entry, frame, header, preamble, read_all};
use jetmem_core::record::{
    Allocator, ChannelLost, Counter, Counters, CudaHook, Dropped, End, Event, EventKind,
    GpuProcess, Mark, MarkKind, ProcessChange, ProcessEvent, ProcessMemory, Record, Sample,
};
use jetmem_core::text::truncated;
use jetmem_core::wire::{FORMAT_MAJOR, FORMAT_MINOR, Item, tag};
use std::path::PathBuf;

/// Every golden file of a version directory, without the `.hex` extension.
const NAMES: &[&str] = &[
    "preamble",
    "header",
    "key-sample",
    "delta-sample",
    "mark",
    "process",
    "process-memory",
    "allocator",
    "event",
    "dropped",
    "end",
    // 1.1: the marker channel's records.
    "mark-pid",
    "allocator-pid",
    "channel-overflow",
    "tegrastats-sample",
    "header-copy",
    // 1.1: the --cuda-hook snapshot (issue 12).
    "cuda-hook",
    // 1.1: NVML per-process GPU memory (issue 12); one figure unknown.
    "gpu-process",
    // 1.1: NVML device-wide memory counters (bits 45-47, issue 12).
    "nvml-sample",
];

fn golden_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

fn version_dir(major: u16, minor: u16) -> PathBuf {
    golden_root().join(format!("v{major}.{minor}"))
}

fn key_sample() -> Sample {
    let mut c = Counters::new();
    c.set(Counter::MemFree, Some(1 << 30)); // 1 GiB: scaled, 1 048 576 KiB
    c.set(Counter::MemAvailable, Some(2 << 30));
    c.set(Counter::TreeRss, Some((100 << 20) + 4096));
    c.set(Counter::GpuUsed, Some(12_345)); // not whole KiB: unscaled
    Sample {
        t_ns: 10_000_000,
        counters: c,
    }
}

fn delta_sample() -> Sample {
    let mut s = key_sample();
    s.t_ns = 20_000_250;
    s.counters.set(Counter::MemFree, Some((1 << 30) - 8192));
    s.counters
        .set(Counter::TreeRss, Some((100 << 20) + 3 * 4096));
    s
}

/// A sample imported from tegrastats (format 1.1): the JetPack 7.2 line of
/// tests/fixtures/tegrastats/orin-agx-jp7.2-r39.2.txt, counter by counter.
fn tegrastats_sample() -> Sample {
    let mut c = Counters::new();
    c.set(Counter::TegrastatsRamUsed, Some(20642 << 20));
    c.set(Counter::TegrastatsRamTotal, Some(62817 << 20));
    c.set(Counter::TegrastatsLfbBytes, Some(2 << 20));
    c.set(Counter::TegrastatsLfbBlocks, Some(1));
    c.set(Counter::TegrastatsGpuLoadPercent, Some(12));
    c.set(Counter::TegrastatsGpuFreqMhz, Some(1300));
    c.set(Counter::TegrastatsEmcLoadPercent, Some(3));
    Sample {
        t_ns: 1_000_000_000,
        counters: c,
    }
}

/// A discrete-GPU sample with NVML as the GPU source (format 1.1): the NVML
/// counters (bits 45-47) beside CUDA's, made-up figures of a 24 GiB card;
/// GpuUsed is NVML total − free, and free is not whole KiB (unscaled).
fn nvml_sample() -> Sample {
    let (total, free, reserved) = (24u64 << 30, (19u64 << 30) - 1000, 512u64 << 20);
    let mut c = Counters::new();
    c.set(Counter::MemAvailable, Some(48 << 30));
    c.set(Counter::GpuUsed, Some(total - free));
    c.set(Counter::CudaFree, Some((19 << 30) - (300 << 20)));
    c.set(Counter::CudaTotal, Some((23 << 30) + (512 << 20)));
    c.set(Counter::MemTotal, Some(64 << 30));
    c.set(Counter::NvmlTotal, Some(total));
    c.set(Counter::NvmlFree, Some(free));
    c.set(Counter::NvmlReserved, Some(reserved));
    Sample {
        t_ns: 2_000_000_000,
        counters: c,
    }
}

/// The entries of each golden frame (all frames are sequence number 0).
fn entries(name: &str) -> Vec<Entry> {
    let r = |rec| Entry::Record(rec);
    match name {
        "header" => vec![Entry::Header(header())],
        "key-sample" => vec![r(Record::Sample(key_sample()))],
        "delta-sample" => vec![
            r(Record::Sample(key_sample())),
            r(Record::Sample(delta_sample())),
        ],
        "tegrastats-sample" => vec![r(Record::Sample(tegrastats_sample()))],
        "nvml-sample" => vec![r(Record::Sample(nvml_sample()))],
        "mark" => vec![r(Record::Mark(Mark {
            t_ns: 1_500_000,
            kind: MarkKind::Begin,
            label: truncated("inference"),
            pid: None,
        }))],
        "process" => vec![r(Record::Process(ProcessEvent {
            t_ns: 2_000_000,
            pid: 4243,
            ppid: 4242,
            change: ProcessChange::Joined,
            name: truncated("trtexec"),
        }))],
        "process-memory" => vec![r(Record::ProcessMemory(ProcessMemory {
            t_ns: 1_000_000_000,
            pid: 4243,
            rss_bytes: Some(300 << 20),
            hwm_bytes: Some(310 << 20),
            swap_bytes: None,
            locked_bytes: Some(0),
        }))],
        "allocator" => vec![r(Record::Allocator(Allocator {
            t_ns: 1_250_000_000,
            device: 0,
            allocated: Some((512 << 20) + 512),
            reserved: Some(1 << 30),
            peak_allocated: Some(600 << 20),
            peak_reserved: None,
            pid: None,
        }))],
        "event" => vec![r(Record::Event(Event {
            t_ns: 3_000_000_000,
            kind: EventKind::PressureEntered,
            value: 1_500_000 * 1024,
            threshold: 1_598_000 * 1024,
        }))],
        "dropped" => vec![r(Record::Dropped(Dropped {
            t_ns: 4_000_000_000,
            samples: 3,
        }))],
        "end" => vec![r(Record::End(End {
            t_ns: 5_000_000_000,
            samples: 500,
            dropped: 3,
            sampler_cpu_ns: 4_200_000,
            writer_cpu_ns: 1_100_000,
            lateness_p50_ns: 21_000,
            lateness_p99_ns: 180_000,
            lateness_max_ns: 2_500_000,
            exit_code: Some(0),
        }))],
        "mark-pid" => vec![r(Record::Mark(Mark {
            t_ns: 1_500_000,
            kind: MarkKind::End,
            label: truncated("inference"),
            pid: Some(4243),
        }))],
        "allocator-pid" => vec![r(Record::Allocator(Allocator {
            t_ns: 1_250_000_000,
            device: 1,
            allocated: Some(300 << 20),
            reserved: None,
            peak_allocated: None,
            peak_reserved: Some(1 << 30),
            pid: Some(70_000),
        }))],
        "channel-overflow" => vec![r(Record::ChannelLost(ChannelLost {
            t_ns: 2_000_000_000,
            pid: 4243,
            records: 17,
        }))],
        // 1.1: a copy of the header after other records (the writer's copy
        // every 100 frames and before the end); the bytes of the header record
        // are the same as in `header`.
        "header-copy" => vec![r(Record::Sample(key_sample())), Entry::Header(header())],
        "cuda-hook" => vec![r(Record::CudaHook(CudaHook {
            t_ns: 3_000_000_000,
            pid: 4243,
            live: [768 << 20, 0, 64 << 20, 2 << 20],
            peak: [1 << 30, 16 << 20, 128 << 20, 2 << 20],
            allocations: 12,
            frees: 7,
            table_overflow: 0,
        }))],
        "gpu-process" => vec![
            r(Record::GpuProcess(GpuProcess {
                t_ns: 3_100_000_000,
                pid: 4243,
                used_bytes: Some(768 << 20),
            })),
            r(Record::GpuProcess(GpuProcess {
                t_ns: 3_100_000_000,
                pid: 4244,
                used_bytes: None,
            })),
        ],
        other => panic!("no golden entries for {other}"),
    }
}

fn encode(name: &str) -> Vec<u8> {
    if name == "preamble" {
        preamble()
    } else {
        frame(0, &entries(name))
    }
}

fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for line in bytes.chunks(16) {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&hex.join(" "));
        out.push('\n');
    }
    out
}

fn from_hex(text: &str) -> Vec<u8> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_ascii_whitespace())
        .map(|h| u8::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad hex byte {h:?}")))
        .collect()
}

fn read_golden(major: u16, minor: u16, name: &str) -> Vec<u8> {
    let path = version_dir(major, minor).join(format!("{name}.hex"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (a new version needs its golden files)",
            path.display()
        )
    });
    from_hex(&text)
}

/// Writes the current version's files when `JETMEM_BLESS_GOLDEN=1`.
fn bless() {
    if std::env::var_os("JETMEM_BLESS_GOLDEN").is_none() {
        return;
    }
    let dir = version_dir(FORMAT_MAJOR, FORMAT_MINOR);
    std::fs::create_dir_all(&dir).unwrap();
    for name in NAMES {
        let text = format!(
            "# jetmem trace format v{FORMAT_MAJOR}.{FORMAT_MINOR}: golden {name} ({}).\n\
             # Changing these bytes requires bumping FORMAT_MAJOR/FORMAT_MINOR: see\n\
             # tests/tests/format_golden.rs and docs/trace-format.md.\n{}",
            if *name == "preamble" {
                "the 12-byte preamble"
            } else {
                "one frame, sequence number 0"
            },
            to_hex(&encode(name))
        );
        std::fs::write(dir.join(format!("{name}.hex")), text).unwrap();
    }
}

fn check_exact(name: &str) {
    bless();
    let golden = read_golden(FORMAT_MAJOR, FORMAT_MINOR, name);
    let ours = encode(name);
    assert_eq!(
        to_hex(&ours),
        to_hex(&golden),
        "{name}: the encoder's bytes differ from tests/golden/v{FORMAT_MAJOR}.{FORMAT_MINOR}/{name}.hex; \
         a format change requires bumping FORMAT_MAJOR or FORMAT_MINOR"
    );
    if name != "preamble" {
        // And the golden bytes decode back to exactly the records they hold.
        let mut trace = preamble();
        trace.extend_from_slice(&golden);
        let (items, stats) = read_all(&trace);
        let want: Vec<Item> = entries(name)
            .into_iter()
            .map(|e| match e {
                Entry::Header(h) => Item::Header(h),
                Entry::Record(r) => Item::Record(r),
                Entry::Raw(..) => unreachable!(),
            })
            .collect();
        assert_eq!(items, want, "{name}");
        assert_eq!(stats.skipped_bytes, 0);
    }
}

#[test]
fn golden_preamble() {
    check_exact("preamble");
    let g = read_golden(FORMAT_MAJOR, FORMAT_MINOR, "preamble");
    assert_eq!(&g[..8], b"\x89JETMEM\n");
    assert_eq!(g[8..10], FORMAT_MAJOR.to_le_bytes());
    assert_eq!(g[10..12], FORMAT_MINOR.to_le_bytes());
}

#[test]
fn golden_header() {
    check_exact("header");
}

#[test]
fn golden_key_sample() {
    check_exact("key-sample");
    // Spot-check the layout docs/trace-format.md walks through: after the
    // 12-byte frame header and the sequence number 0 comes tag 0, then the
    // time (10 000 000 ns) as a varint.
    let g = read_golden(FORMAT_MAJOR, FORMAT_MINOR, "key-sample");
    assert_eq!(&g[..4], &[0xA5, 0x4A, 0x4D, 0x5A]);
    assert_eq!(
        u32::from_le_bytes(g[4..8].try_into().unwrap()) as usize,
        g.len() - 12
    );
    assert_eq!(&g[12..14], &[0x00, tag::KEY_SAMPLE]);
    assert_eq!(&g[14..18], &[0x80, 0xAD, 0xE2, 0x04]);
}

#[test]
fn golden_delta_sample() {
    check_exact("delta-sample");
    let key = frame(0, &entries("key-sample"));
    let g = read_golden(FORMAT_MAJOR, FORMAT_MINOR, "delta-sample");
    // The delta record follows the key record unchanged and opens with tag 1.
    assert_eq!(g[12..key.len()], key[12..]);
    assert_eq!(g[key.len()], tag::DELTA_SAMPLE);
}

#[test]
fn golden_mark() {
    check_exact("mark");
}

#[test]
fn golden_process() {
    check_exact("process");
}

#[test]
fn golden_process_memory() {
    check_exact("process-memory");
}

#[test]
fn golden_allocator() {
    check_exact("allocator");
}

#[test]
fn golden_event() {
    check_exact("event");
}

#[test]
fn golden_dropped() {
    check_exact("dropped");
}

#[test]
fn golden_end() {
    check_exact("end");
}

#[test]
fn golden_tegrastats_sample() {
    check_exact("tegrastats-sample");
}

#[test]
fn golden_header_copy() {
    check_exact("header-copy");
}

#[test]
fn golden_nvml_sample() {
    check_exact("nvml-sample");
    // The mask has bits 45-47 (NvmlTotal, NvmlFree, NvmlReserved) and a 1.1
    // reader reads them back; a reader of 45 counters drops them
    // (wire::tests::counters_of_a_newer_minor_are_skipped).
    let mask = nvml_sample().counters.present_mask();
    assert_eq!(mask >> 45, 0b111);
}

/// Every golden file of this version, not only those with a test of their
/// own above, holds exactly the encoder's bytes.
#[test]
fn every_golden_file_is_the_encoders_bytes() {
    for name in NAMES {
        check_exact(name);
    }
}

/// Ties the golden files to the version constants: the current version has
/// exactly the expected files, no directory claims a newer version than the
/// code, and every older directory of the same major still decodes.
#[test]
fn golden_set_matches_version_constants() {
    bless();
    let dir = version_dir(FORMAT_MAJOR, FORMAT_MINOR);
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: FORMAT_MAJOR/MINOR changed without golden files",
                dir.display()
            )
        })
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    found.sort();
    let mut want: Vec<String> = NAMES.iter().map(|n| format!("{n}.hex")).collect();
    want.sort();
    assert_eq!(
        found, want,
        "golden files of v{FORMAT_MAJOR}.{FORMAT_MINOR}"
    );

    for entry in std::fs::read_dir(golden_root()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let (major, minor) = name
            .strip_prefix('v')
            .and_then(|v| v.split_once('.'))
            .map(|(a, b)| (a.parse::<u16>().unwrap(), b.parse::<u16>().unwrap()))
            .unwrap_or_else(|| panic!("golden/{name}: not a vMAJOR.MINOR directory"));
        assert!(
            (major, minor) <= (FORMAT_MAJOR, FORMAT_MINOR),
            "golden/{name} is newer than FORMAT {FORMAT_MAJOR}.{FORMAT_MINOR}"
        );
        if major != FORMAT_MAJOR {
            continue;
        }
        // Same major: this reader must still read every old record kind
        // (an older directory holds the kinds of its own version).
        let in_dir: Vec<String> = std::fs::read_dir(golden_root().join(&name))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter_map(|f| f.strip_suffix(".hex").map(str::to_owned))
            .collect();
        for n in in_dir.iter().filter(|n| *n != "preamble") {
            let mut trace = read_golden(major, minor, "preamble");
            trace.extend_from_slice(&read_golden(major, minor, n));
            let (items, stats) = read_all(&trace);
            assert!(!items.is_empty(), "golden/{name}/{n} decodes to nothing");
            assert_eq!(stats.skipped_bytes, 0, "golden/{name}/{n}");
            assert_eq!(stats.malformed_frames, 0, "golden/{name}/{n}");
        }
    }
}
