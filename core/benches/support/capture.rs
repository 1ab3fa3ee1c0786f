//! Captures a real 10 ms trace on this machine: `/proc/meminfo`, `/proc/self/statm`
//! and the memory cgroup, sampled while a worker thread allocates, touches and
//! frees 1–64 MiB buffers. Minimal parsing of our own (the real parsers live in
//! `jetmem_core::parse` once merged); every value is in bytes, unreadable is absent.

use jetmem_core::record::{Counter, Counters, Sample};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The page size from the auxiliary vector (`AT_PAGESZ`), never assumed.
pub fn page_size() -> Option<u64> {
    let auxv = std::fs::read("/proc/self/auxv").ok()?;
    let word = std::mem::size_of::<usize>();
    let mut it = auxv.chunks_exact(word).map(|c| {
        let mut b = [0u8; 8];
        b[..word].copy_from_slice(c);
        u64::from_ne_bytes(b)
    });
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if k == 6 {
            return Some(v);
        }
    }
    None
}

const MEMINFO: &[(&str, Counter)] = &[
    ("MemTotal:", Counter::MemTotal),
    ("MemFree:", Counter::MemFree),
    ("MemAvailable:", Counter::MemAvailable),
    ("Buffers:", Counter::Buffers),
    ("Cached:", Counter::Cached),
    ("SwapCached:", Counter::SwapCached),
    ("Mlocked:", Counter::Mlocked),
    ("SwapTotal:", Counter::SwapTotal),
    ("SwapFree:", Counter::SwapFree),
    ("Shmem:", Counter::Shmem),
    ("SReclaimable:", Counter::SReclaimable),
    ("CmaTotal:", Counter::CmaTotal),
    ("CmaFree:", Counter::CmaFree),
];

fn meminfo(text: &str, c: &mut Counters) {
    let mut huge_total = None;
    let mut huge_free = None;
    let mut huge_size = None;
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let (Some(key), Some(num)) = (f.next(), f.next()) else {
            continue;
        };
        let Ok(n) = num.parse::<u64>() else { continue };
        let kib = f.next() == Some("kB");
        let bytes = if kib { n * 1024 } else { n };
        match key {
            "HugePages_Total:" => huge_total = Some(n),
            "HugePages_Free:" => huge_free = Some(n),
            "Hugepagesize:" => huge_size = Some(bytes),
            _ => {
                if let Some((_, counter)) = MEMINFO.iter().find(|(k, _)| *k == key) {
                    c.set(*counter, Some(bytes));
                }
            }
        }
    }
    if let (Some(t), Some(f), Some(s)) = (huge_total, huge_free, huge_size) {
        c.set(Counter::HugePagesTotal, Some(t * s));
        c.set(Counter::HugePagesFree, Some(f * s));
    }
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The memory cgroup's usage, peak and limit files (v2, else v1) for this process.
fn cgroup_paths() -> Option<[String; 3]> {
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in cg.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrl.is_empty() {
            let dir = format!("/sys/fs/cgroup{path}");
            if std::path::Path::new(&format!("{dir}/memory.current")).exists() {
                return Some([
                    format!("{dir}/memory.current"),
                    format!("{dir}/memory.peak"),
                    format!("{dir}/memory.max"),
                ]);
            }
        }
        if ctrl.split(',').any(|c| c == "memory") {
            // In a cgroup namespace the own cgroup is the mount root.
            for dir in [
                format!("/sys/fs/cgroup/memory{path}"),
                "/sys/fs/cgroup/memory".to_string(),
            ] {
                if std::path::Path::new(&format!("{dir}/memory.usage_in_bytes")).exists() {
                    return Some([
                        format!("{dir}/memory.usage_in_bytes"),
                        format!("{dir}/memory.max_usage_in_bytes"),
                        format!("{dir}/memory.limit_in_bytes"),
                    ]);
                }
            }
        }
    }
    None
}

fn read_sample(t_ns: u64, page: u64, cgroup: Option<&[String; 3]>) -> Sample {
    let mut c = Counters::new();
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        meminfo(&text, &mut c);
    }
    if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
        let resident = statm
            .split_ascii_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok());
        c.set(Counter::TreeRss, resident.map(|r| r * page));
        c.set(Counter::TreeProcesses, Some(1));
    }
    if let Some([current, peak, max]) = cgroup {
        c.set(Counter::CgroupCurrent, read_u64(current));
        c.set(Counter::CgroupPeak, read_u64(peak));
        // v1 says "unlimited" with a value near 2^63; v2 says "max": absent either way.
        c.set(Counter::CgroupMax, read_u64(max).filter(|&m| m < 1 << 62));
    }
    Sample { t_ns, counters: c }
}

/// A worker that allocates, touches and frees buffers of 1–64 MiB until told to stop.
fn workload(stop: Arc<AtomicBool>) {
    let mut held: Vec<Vec<u8>> = Vec::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while !stop.load(Ordering::Relaxed) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mib = 1 + (x % 64) as usize;
        if held.len() > 6 || (x >> 32) % 3 == 0 {
            if !held.is_empty() {
                let i = (x >> 8) as usize % held.len();
                held.swap_remove(i);
            }
        } else {
            let mut v = vec![0u8; mib << 20];
            for p in v.iter_mut().step_by(4096) {
                *p = 1;
            }
            held.push(v);
        }
        std::thread::sleep(Duration::from_millis(1 + (x >> 40) % 20));
    }
}

/// Samples every `interval` for `duration` while the workload runs.
pub fn capture(duration: Duration, interval: Duration) -> Vec<Sample> {
    let page = page_size().unwrap_or_else(|| panic!("AT_PAGESZ missing from /proc/self/auxv"));
    let cgroup = cgroup_paths();
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || workload(stop))
    };
    let start = Instant::now();
    let mut out = Vec::new();
    let mut deadline = start;
    while deadline.duration_since(start) < duration {
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        let t_ns = start.elapsed().as_nanos() as u64;
        out.push(read_sample(t_ns, page, cgroup.as_ref()));
        deadline += interval;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = worker.join();
    out
}
