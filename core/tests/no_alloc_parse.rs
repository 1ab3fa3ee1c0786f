//! Proves the parse, detection and accounting paths never touch the heap: a
//! counting global allocator tallies allocations made by this thread while
//! every parser runs many times over the real fixtures.

use std::hint::black_box;

use jetmem_core::accounting::{Peaks, PressureConfig, PressureTracker, figures};
use jetmem_core::parse::{
    cgroup, children, devicetree, gpu_load, kernel, meminfo, nv_tegra_release, nvmap, pressure,
    statm, status, zram,
};
use jetmem_core::platform::{CudaDevice, PlatformInputs, detect};
use jetmem_core::record::{Counter, Counters};

#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

fn allocs() -> u64 {
    counting_alloc::allocations()
}

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/");

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{FIX}{rel}")).unwrap()
}

#[test]
fn parse_paths_allocate_nothing() {
    // Everything that may allocate (file reads, text building) happens first.
    let nano = read("nano-4gb-jp4.6-meminfo/proc/meminfo");
    let orin = read("orin-jp5-jp6-meminfo-RECONSTRUCTED/proc/meminfo");
    let release = read("orin-nano-super-jp6.2.1-r36.4.7/etc/nv_tegra_release");
    let model = read("orin-nano-super-jp6.2.1-r36.4.7/sys/firmware/devicetree/base/model");
    let compat = read("orin-agx-64gb-compatible/sys/firmware/devicetree/base/compatible");
    let clients = read("nvmap-iovmm-clients-gimbal/sys/kernel/debug/nvmap/iovmm/clients");
    let status_text = b"Name:\tpython3\nPPid:\t1731\nVmHWM:\t  812344 kB\nVmRSS:\t  790112 kB\nRssAnon:\t  620400 kB\nVmSwap:\t      12 kB\nThreads:\t42\n";
    let psi = b"some avg10=0.31 avg60=0.12 avg300=0.03 total=1234567\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=456\n";
    let mut parser = meminfo::MeminfoParser::new();
    let mut tracker = PressureTracker::new(PressureConfig::default());
    let mut peaks = Peaks::new();
    let mut sum = 0u64;

    counting_alloc::start();
    let before = allocs();
    for i in 0..2000u64 {
        let text: &[u8] = if i % 3 == 0 { &orin } else { &nano };
        let m = parser.parse(text).unwrap();
        let k = meminfo::parse_meminfo(text).unwrap();
        sum = sum.wrapping_add(m.mem_available.unwrap() ^ k.mem_free.unwrap());
        let s = statm::parse_statm(b"5465 2212 1584 243 0 431 0\n", 4096).unwrap();
        sum = sum.wrapping_add(s.resident_bytes);
        let st = status::parse_status(status_text).unwrap();
        sum = sum.wrapping_add(st.vm_rss.unwrap() + st.name.len() as u64);
        sum = sum.wrapping_add(
            children::children(b"4482 4490 4511 \n")
                .map(u64::from)
                .sum(),
        );
        sum = sum.wrapping_add(
            cgroup::parse_cgroup_value(b"1392578560\n")
                .unwrap()
                .bytes()
                .unwrap(),
        );
        sum = sum.wrapping_add(pressure::parse_psi(psi).unwrap().some_total_us);
        let l4t = nv_tegra_release::parse_nv_tegra_release(&release).unwrap();
        sum = sum.wrapping_add(nv_tegra_release::jetpack_for(l4t).unwrap().len() as u64);
        sum = sum.wrapping_add(devicetree::parse_model(&model).len() as u64);
        sum = sum.wrapping_add(devicetree::soc_from_compatible(&compat).unwrap().len() as u64);
        sum = sum.wrapping_add(nvmap::nvmap_clients(&clients).map(|c| c.size_bytes).sum());
        sum = sum.wrapping_add(nvmap::nvmap_clients_total(&clients).unwrap());
        sum = sum.wrapping_add(nvmap::parse_nvmap_total(b"250630144\n").unwrap());
        sum = sum.wrapping_add(u64::from(gpu_load::parse_gpu_load(b"463\n").unwrap()));
        sum = sum.wrapping_add(
            zram::parse_zram_mm_stat(b"4096 100 8192 0 8192 0 0 0\n")
                .unwrap()
                .mem_used_total,
        );
        sum = sum.wrapping_add(kernel::parse_osrelease(b"5.15.148-tegra\n").len() as u64);
        let platform = detect(&PlatformInputs {
            nv_tegra_release: Some(&release),
            dt_model: Some(&model),
            dt_compatible: Some(&compat),
            kernel_release: Some(b"5.15.148-tegra\n"),
            meminfo_has_nvmap: m.nvmap_mem_used.is_some(),
            cuda: Some(CudaDevice {
                name: "Orin (nvgpu)",
                integrated: true,
                total_bytes: None,
            }),
            page_size: 4096,
            mem_total_bytes: m.mem_total,
        });
        let mut c = Counters::new();
        m.apply(&mut c);
        c.set(Counter::GpuUsed, m.nvmap_mem_used);
        let f = figures(&platform, &c);
        if let Some(e) = tracker.update(i, &f) {
            sum = sum.wrapping_add(e.value);
        }
        let _ = peaks.update(i, &f, &c);
        black_box(&platform);
    }
    let after = allocs();
    black_box(sum);
    assert!(
        parser.fast_hits() > 0,
        "the cached layout path was exercised"
    );
    assert_eq!(peaks.samples, 2000);
    assert_eq!(
        after - before,
        0,
        "parse paths allocated {} times",
        after - before
    );
    // The counter works: a Vec allocates.
    let v = black_box(vec![1u8; 64]);
    assert!(allocs() > after);
    drop(v);
}
