//! Test traces written with the real encoder from realistic counters.
//!
//! The unified trace starts from the Jetson Nano's captured `/proc/meminfo`
//! (tests/fixtures/nano-4gb-jp4.6-meminfo) and runs a workload on top of it.

use std::path::{Path, PathBuf};

use jetmem_core::record::{
    Allocator, Architecture, Counter, Counters, End, Event, EventKind, GpuSource, Header,
    L4tRelease, Mark, MarkKind, Platform, ProcessChange, ProcessEvent, ProcessMemory, Record,
    Sample,
};
use jetmem_core::text::truncated;
use jetmem_core::wire::{PREAMBLE_LEN, TraceWriter};

pub const MIB: u64 = 1 << 20;
pub const KIB: u64 = 1024;
/// Sampling interval of the test traces: 10 ms.
pub const DT_NS: u64 = 10_000_000;
/// Samples in each test trace.
pub const N: u64 = 100;

/// Reads `Key: value kB` lines of a meminfo file into bytes.
pub fn meminfo(path: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let mut it = v.split_whitespace();
            let n: u64 = it.next()?.parse().ok()?;
            let scale = if it.next() == Some("kB") { KIB } else { 1 };
            Some((k.trim().to_owned(), n * scale))
        })
        .collect()
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel)
}

pub fn nano_meminfo() -> Vec<(String, u64)> {
    meminfo(&fixture("nano-4gb-jp4.6-meminfo/proc/meminfo"))
}

pub fn get(m: &[(String, u64)], key: &str) -> u64 {
    m.iter().find(|(k, _)| k == key).map(|(_, v)| *v).unwrap()
}

/// Writes a trace: preamble, header frame, then frames of at most 32 records.
pub fn write_trace(path: &Path, header: &Header, records: &[Record]) -> Vec<u8> {
    let mut w =
        TraceWriter::new(Vec::new(), TraceWriter::<Vec<u8>>::DEFAULT_FRAME_CAPACITY).unwrap();
    w.write_header(header).unwrap();
    for chunk in records.chunks(32) {
        w.write_records(chunk).unwrap();
    }
    let out = w.into_inner();
    std::fs::write(path, &out).unwrap();
    out
}

/// A triangle 0 → 1 → 0 over the trace, peaking at sample `N / 2`.
pub fn ramp(i: u64) -> f64 {
    let half = N / 2;
    if i <= half {
        i as f64 / half as f64
    } else {
        (N - i) as f64 / half as f64
    }
}

pub fn scaled(max: u64, i: u64) -> u64 {
    // Whole pages, as the kernel reports them.
    ((max as f64 * ramp(i)) as u64) / 4096 * 4096
}

/// The unified-memory workload on the Nano: available drops by 400 MiB,
/// nvmap grows by 300 MiB, the tree's RSS by 250 MiB, all peaking at 0.5 s.
pub struct Unified {
    pub avail_drop: u64,
    pub nvmap_growth: u64,
    pub rss_max: u64,
    pub pinned: u64,
}

pub const UNIFIED: Unified = Unified {
    avail_drop: 400 * MIB,
    nvmap_growth: 300 * MIB,
    rss_max: 250 * MIB,
    pinned: 128 * MIB,
};

pub fn unified_header() -> Header {
    let m = nano_meminfo();
    Header {
        platform: Platform {
            architecture: Architecture::Unified,
            evidence: jetmem_core::record::Evidence(0b1000_0111),
            model: truncated("NVIDIA Jetson Nano Developer Kit"),
            soc: truncated("tegra210"),
            l4t: Some(L4tRelease {
                release: 32,
                revision: 7,
                minor: 1,
            }),
            jetpack: truncated("4.6.1"),
            kernel: truncated("4.9.253-tegra"),
            page_size: 4096,
            cuda_device: truncated("NVIDIA Tegra X1"),
            cuda_integrated: Some(true),
            mem_total_bytes: Some(get(&m, "MemTotal")),
            gpu_total_bytes: Some(get(&m, "MemTotal")),
            gpu_source: GpuSource::MeminfoNvmap,
            gpu_reason: truncated(""),
        },
        interval_ns: DT_NS,
        start_unix_ns: 1_795_721_951_000_000_000,
        start_monotonic_ns: 1_000_000_000,
        boot_id: [7; 16],
        pid: Some(4242),
        command: truncated("python3 infer.py --model resnet50"),
        label: truncated("nano-resnet50"),
        pressure_threshold_permille: 200,
        budget_bytes: None,
    }
}

pub fn unified_sample(i: u64) -> Sample {
    let m = nano_meminfo();
    let w = UNIFIED;
    let mut c = Counters::new();
    let drop = scaled(w.avail_drop, i);
    c.set(Counter::MemTotal, Some(get(&m, "MemTotal")));
    c.set(Counter::MemAvailable, Some(get(&m, "MemAvailable") - drop));
    c.set(Counter::MemFree, Some(get(&m, "MemFree") - drop / 2));
    c.set(Counter::Buffers, Some(get(&m, "Buffers")));
    c.set(Counter::Cached, Some(get(&m, "Cached") - drop / 2));
    c.set(Counter::SwapTotal, Some(get(&m, "SwapTotal")));
    c.set(Counter::SwapFree, Some(get(&m, "SwapFree")));
    c.set(Counter::SwapCached, Some(get(&m, "SwapCached")));
    c.set(Counter::Mlocked, Some(get(&m, "Mlocked")));
    c.set(Counter::CmaTotal, Some(get(&m, "CmaTotal")));
    c.set(Counter::CmaFree, Some(get(&m, "CmaFree")));
    let nvmap = get(&m, "NvMapMemUsed") + scaled(w.nvmap_growth, i);
    c.set(Counter::NvMapMemUsed, Some(nvmap));
    c.set(Counter::NvMapMemFree, Some(get(&m, "NvMapMemFree")));
    c.set(Counter::GpuUsed, Some(nvmap));
    c.set(
        Counter::TreeRss,
        Some(20 * MIB + scaled(w.rss_max - 20 * MIB, i)),
    );
    c.set(Counter::TreeProcesses, Some(if i < 20 { 1 } else { 3 }));
    c.set(Counter::TreePinned, Some(if i < 30 { 0 } else { w.pinned }));
    c.set(Counter::TreeLocked, Some(0));
    // zram in use: what the swapped pages take compressed.
    let swap_used = get(&m, "SwapTotal") - get(&m, "SwapFree");
    c.set(Counter::ZramUsed, Some(swap_used / 3 / 4096 * 4096));
    // cuMemGetInfo's "free" on Tegra tracks MemFree.
    c.set(Counter::CudaTotal, Some(get(&m, "MemTotal")));
    c.set(
        Counter::CudaFree,
        Some(get(&m, "MemFree") - drop / 2 + 8 * MIB),
    );
    Sample {
        t_ns: i * DT_NS,
        counters: c,
    }
}

pub fn mark(t_ns: u64, kind: MarkKind, label: &str) -> Record {
    Record::Mark(Mark {
        t_ns,
        kind,
        label: truncated(label),
    })
}

/// Samples, phases (`load` 0.1–0.3 s, `infer` 0.3–0.8 s), allocator figures and pressure events.
pub fn unified_records(with_end: bool) -> Vec<Record> {
    let m = nano_meminfo();
    let total = get(&m, "MemTotal");
    let mut r = Vec::new();
    r.push(Record::Event(Event {
        t_ns: 0,
        kind: EventKind::PressureEntered,
        value: get(&m, "MemAvailable"),
        threshold: total / 5,
    }));
    for i in 0..N {
        if i == 10 {
            r.push(mark(i * DT_NS, MarkKind::Begin, "load"));
        }
        if i == 30 {
            r.push(mark(i * DT_NS, MarkKind::End, "load"));
            r.push(mark(i * DT_NS, MarkKind::Begin, "infer"));
        }
        if i == 80 {
            r.push(mark(i * DT_NS, MarkKind::End, "infer"));
        }
        if i == 20 {
            for pid in [4301, 4302] {
                r.push(Record::Process(ProcessEvent {
                    t_ns: i * DT_NS,
                    pid,
                    ppid: 4242,
                    change: ProcessChange::Joined,
                    name: truncated("pt_data_worker"),
                }));
            }
        }
        if i % 10 == 0 {
            // The slow path: per-process RSS. Workers hold 40 % of the tree beyond the root's base.
            let tree = 20 * MIB + scaled(UNIFIED.rss_max - 20 * MIB, i);
            let worker = if i < 20 {
                0
            } else {
                (tree - 20 * MIB) / 5 / 4096 * 4096
            };
            let root = tree - 2 * worker;
            let mut procs = vec![(4242u32, root)];
            if i >= 20 {
                procs.extend([(4301, worker), (4302, worker)]);
            }
            for (pid, rss) in procs {
                r.push(Record::ProcessMemory(ProcessMemory {
                    t_ns: i * DT_NS,
                    pid,
                    rss_bytes: Some(rss),
                    hwm_bytes: Some(rss),
                    swap_bytes: Some(0),
                    locked_bytes: Some(0),
                }));
            }
        }
        if i % 10 == 5 {
            let alloc = scaled(200 * MIB, i);
            r.push(Record::Allocator(Allocator {
                t_ns: i * DT_NS,
                device: 0,
                allocated: Some(alloc),
                reserved: Some(alloc + 64 * MIB),
                peak_allocated: None,
                peak_reserved: None,
            }));
        }
        r.push(Record::Sample(unified_sample(i)));
    }
    if with_end {
        r.push(Record::End(End {
            t_ns: N * DT_NS,
            samples: N,
            dropped: 0,
            sampler_cpu_ns: 4_000_000,
            writer_cpu_ns: 1_000_000,
            lateness_p50_ns: 20_000,
            lateness_p99_ns: 200_000,
            lateness_max_ns: 900_000,
            exit_code: Some(0),
        }));
    }
    r
}

/// A desktop with a 24 GiB discrete GPU: VRAM 1 → 17 GiB, RAM used 6 → 9 GiB.
pub fn discrete_header() -> Header {
    Header {
        platform: Platform {
            architecture: Architecture::Discrete,
            evidence: jetmem_core::record::Evidence(1 << 5),
            cuda_device: truncated("NVIDIA GeForce RTX 4090"),
            cuda_integrated: Some(false),
            kernel: truncated("6.8.0-45-generic"),
            page_size: 4096,
            mem_total_bytes: Some(32 * 1024 * MIB),
            gpu_total_bytes: Some(24 * 1024 * MIB),
            gpu_source: GpuSource::Cuda,
            ..Platform::default()
        },
        interval_ns: DT_NS,
        start_unix_ns: 1_795_721_951_000_000_000,
        start_monotonic_ns: 5,
        pid: Some(777),
        command: truncated("python3 train.py"),
        label: truncated("rtx4090-train"),
        pressure_threshold_permille: 200,
        ..Header::default()
    }
}

pub const DISCRETE_RAM_BASE: u64 = 6 * 1024 * MIB;
pub const DISCRETE_RAM_GROWTH: u64 = 3 * 1024 * MIB;
pub const DISCRETE_VRAM_BASE: u64 = 1024 * MIB;
pub const DISCRETE_VRAM_GROWTH: u64 = 16 * 1024 * MIB;

pub fn discrete_records() -> Vec<Record> {
    let total = 32 * 1024 * MIB;
    let vram_total = 24 * 1024 * MIB;
    let mut r = Vec::new();
    for i in 0..N {
        let mut c = Counters::new();
        let used = DISCRETE_RAM_BASE + scaled(DISCRETE_RAM_GROWTH, i);
        let vram = DISCRETE_VRAM_BASE + scaled(DISCRETE_VRAM_GROWTH, i);
        c.set(Counter::MemTotal, Some(total));
        c.set(Counter::MemAvailable, Some(total - used));
        c.set(Counter::MemFree, Some(total - used - 8 * 1024 * MIB));
        c.set(Counter::Buffers, Some(512 * MIB));
        c.set(Counter::Cached, Some(7 * 1024 * MIB));
        c.set(Counter::SwapTotal, Some(2048 * MIB));
        c.set(Counter::SwapFree, Some(2048 * MIB));
        c.set(Counter::CudaTotal, Some(vram_total));
        c.set(Counter::CudaFree, Some(vram_total - vram));
        c.set(Counter::GpuUsed, Some(vram));
        c.set(Counter::TreeRss, Some(2048 * MIB + scaled(1024 * MIB, i)));
        c.set(Counter::TreeProcesses, Some(1));
        r.push(Record::Sample(Sample {
            t_ns: i * DT_NS,
            counters: c,
        }));
    }
    r.push(Record::End(End {
        t_ns: N * DT_NS,
        samples: N,
        exit_code: Some(0),
        ..End::default()
    }));
    r
}

/// A CPU-only laptop: 16 GiB, 3 → 5 GiB used, no GPU.
pub fn cpu_header() -> Header {
    Header {
        platform: Platform {
            architecture: Architecture::CpuOnly,
            evidence: jetmem_core::record::Evidence(1 << 6),
            kernel: truncated("6.1.0-26-amd64"),
            page_size: 4096,
            mem_total_bytes: Some(16 * 1024 * MIB),
            gpu_reason: truncated("no CUDA driver"),
            ..Platform::default()
        },
        interval_ns: DT_NS,
        label: truncated("laptop-cpu"),
        command: truncated("./bench"),
        pressure_threshold_permille: 200,
        ..Header::default()
    }
}

pub fn cpu_records() -> Vec<Record> {
    let total = 16 * 1024 * MIB;
    let mut r = Vec::new();
    for i in 0..N {
        let mut c = Counters::new();
        let used = 3 * 1024 * MIB + scaled(2 * 1024 * MIB, i);
        c.set(Counter::MemTotal, Some(total));
        c.set(Counter::MemAvailable, Some(total - used));
        c.set(Counter::MemFree, Some(total - used - 1024 * MIB));
        c.set(Counter::TreeRss, Some(used / 2 / 4096 * 4096));
        c.set(Counter::TreeProcesses, Some(1));
        r.push(Record::Sample(Sample {
            t_ns: i * DT_NS,
            counters: c,
        }));
    }
    r.push(Record::End(End {
        t_ns: N * DT_NS,
        samples: N,
        ..End::default()
    }));
    r
}

/// The test traces in a fresh directory.
pub struct Traces {
    pub dir: PathBuf,
    pub unified: PathBuf,
    pub discrete: PathBuf,
    pub cpu: PathBuf,
    pub damaged: PathBuf,
    /// Bytes of the damaged trace's flipped frame plus its cut tail.
    pub damaged_bytes: Vec<u8>,
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn traces(name: &str) -> Traces {
    let dir = scratch(name);
    let unified = dir.join("nano.jetmem");
    write_trace(&unified, &unified_header(), &unified_records(true));
    let discrete = dir.join("rtx.jetmem");
    write_trace(&discrete, &discrete_header(), &discrete_records());
    let cpu = dir.join("cpu.jetmem");
    write_trace(&cpu, &cpu_header(), &cpu_records());
    // Damage: a flipped byte inside frame 2 and the last frame cut in half, no End record.
    let damaged = dir.join("damaged.jetmem");
    let mut bytes = write_trace(&damaged, &unified_header(), &unified_records(false));
    let frames = frame_offsets(&bytes);
    let (f2, f3) = (frames[2], frames[3]);
    bytes[(f2 + f3) / 2] ^= 0x40;
    let last = *frames.last().unwrap();
    let cut = last + (bytes.len() - last) / 2;
    bytes.truncate(cut);
    std::fs::write(&damaged, &bytes).unwrap();
    Traces {
        dir,
        unified,
        discrete,
        cpu,
        damaged,
        damaged_bytes: bytes,
    }
}

/// Offsets of every frame (found by walking the length fields).
pub fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut at = PREAMBLE_LEN;
    let mut out = Vec::new();
    while at + 12 <= bytes.len() {
        out.push(at);
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 12 + len;
    }
    out
}

/// An Orin Nano Super on JetPack 6.2.1 recorded without root: no NvMap lines in its meminfo
/// (the reconstructed JP5/JP6 layout), nvmap debugfs root-only, so the GPU share is unknown.
pub fn orin_nonroot(dir: &Path) -> PathBuf {
    let m = meminfo(&fixture("orin-jp5-jp6-meminfo-RECONSTRUCTED/proc/meminfo"));
    let header = Header {
        platform: Platform {
            architecture: Architecture::Unified,
            evidence: jetmem_core::record::Evidence(0b111),
            model: truncated("NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"),
            soc: truncated("tegra234"),
            l4t: Some(L4tRelease {
                release: 36,
                revision: 4,
                minor: 7,
            }),
            jetpack: truncated("6.2.1"),
            kernel: truncated("5.15.148-tegra"),
            page_size: 4096,
            mem_total_bytes: Some(get(&m, "MemTotal")),
            gpu_source: GpuSource::None,
            gpu_reason: truncated("needs root: /sys/kernel/debug/nvmap"),
            ..Platform::default()
        },
        interval_ns: DT_NS,
        label: truncated("orin-nonroot"),
        command: truncated("./detect"),
        pressure_threshold_permille: 200,
        ..Header::default()
    };
    let mut r = Vec::new();
    for i in 0..N {
        let mut c = Counters::new();
        let drop = scaled(1024 * MIB, i);
        c.set(Counter::MemTotal, Some(get(&m, "MemTotal")));
        c.set(Counter::MemAvailable, Some(get(&m, "MemAvailable") - drop));
        c.set(Counter::MemFree, Some(get(&m, "MemFree") - drop));
        c.set(Counter::SwapTotal, Some(get(&m, "SwapTotal")));
        c.set(Counter::SwapFree, Some(get(&m, "SwapFree")));
        c.set(Counter::TreeRss, Some(100 * MIB + drop / 2 / 4096 * 4096));
        c.set(Counter::TreeProcesses, Some(1));
        r.push(Record::Sample(Sample {
            t_ns: i * DT_NS,
            counters: c,
        }));
    }
    r.push(Record::End(End {
        t_ns: N * DT_NS,
        samples: N,
        exit_code: Some(0),
        ..End::default()
    }));
    let path = dir.join("orin-nonroot.jetmem");
    write_trace(&path, &header, &r);
    path
}
