use super::*;
use crate::parse::meminfo::parse_meminfo;
use crate::parse::nv_tegra_release::parse_nv_tegra_release;
use crate::platform::{CudaDevice, PlatformInputs, detect};
use crate::record::{Architecture, Counter, Counters, EventKind, GpuSource, Platform};

const NANO_MEMINFO: &[u8] =
    include_bytes!("../../../tests/fixtures/nano-4gb-jp4.6-meminfo/proc/meminfo");
const ORIN_MEMINFO: &[u8] =
    include_bytes!("../../../tests/fixtures/orin-jp5-jp6-meminfo-RECONSTRUCTED/proc/meminfo");
const NANO_RELEASE: &[u8] =
    include_bytes!("../../../tests/fixtures/l4t-r32.7.6-nano/etc/nv_tegra_release");
const ORIN_RELEASE: &[u8] =
    include_bytes!("../../../tests/fixtures/orin-nano-super-jp6.2.1-r36.4.7/etc/nv_tegra_release");
const CLIENTS: &[u8] = include_bytes!(
    "../../../tests/fixtures/nvmap-iovmm-clients-gimbal/sys/kernel/debug/nvmap/iovmm/clients"
);
const KIB: u64 = 1024;

fn unified(release: &[u8], meminfo: &[u8]) -> (Platform, Counters) {
    let m = parse_meminfo(meminfo).unwrap();
    assert!(parse_nv_tegra_release(release).is_ok());
    let p = detect(&PlatformInputs {
        nv_tegra_release: Some(release),
        meminfo_has_nvmap: m.nvmap_mem_used.is_some(),
        page_size: 4096,
        mem_total_bytes: m.mem_total,
        ..PlatformInputs::default()
    });
    let mut c = Counters::new();
    m.apply(&mut c);
    (p, c)
}

#[test]
fn source_order_and_reasons() {
    let jp4 = GpuAvailability {
        meminfo_nvmap: true,
        nvmap_total: Access::NeedsRoot,
        ..GpuAvailability::default()
    };
    assert_eq!(select_gpu_source(jp4), (GpuSource::MeminfoNvmap, None));
    let root = GpuAvailability {
        nvmap_total: Access::Readable,
        nvmap_clients: Access::Readable,
        cuda: Access::Readable,
        ..GpuAvailability::default()
    };
    assert_eq!(select_gpu_source(root), (GpuSource::NvmapTotal, None));
    let clients = GpuAvailability {
        nvmap_total: Access::Missing,
        ..root
    };
    assert_eq!(select_gpu_source(clients), (GpuSource::NvmapClients, None));
    let thor = GpuAvailability {
        nvml: Access::Readable,
        cuda: Access::Readable,
        ..GpuAvailability::default()
    };
    assert_eq!(select_gpu_source(thor), (GpuSource::Nvml, None));
    let jp6_user = GpuAvailability {
        nvmap_total: Access::NeedsRoot,
        nvmap_clients: Access::NeedsRoot,
        cuda: Access::Readable,
        ..GpuAvailability::default()
    };
    assert_eq!(
        select_gpu_source(jp6_user),
        (GpuSource::Cuda, Some(REASON_CUDA_FOR_NVMAP))
    );
    let jp6_no_cuda = GpuAvailability {
        cuda: Access::Missing,
        ..jp6_user
    };
    assert_eq!(
        select_gpu_source(jp6_no_cuda),
        (GpuSource::None, Some(REASON_NEEDS_ROOT))
    );
    assert_eq!(
        select_gpu_source(GpuAvailability::default()),
        (GpuSource::None, Some(REASON_NO_SOURCE))
    );
    assert!(REASON_CUDA_FOR_NVMAP.len() <= crate::record::REASON_LEN);
    assert!(REASON_NO_SOURCE.len() <= crate::record::REASON_LEN);
}

/// The Nano JP4.6 capture: every figure from the file's own numbers.
#[test]
fn nano_jp4_unified_figures() {
    let (p, mut c) = unified(NANO_RELEASE, NANO_MEMINFO);
    assert_eq!(p.architecture, Architecture::Unified);
    c.set(Counter::GpuUsed, c.get(Counter::NvMapMemUsed));
    let f = figures(&p, &c);
    assert_eq!(f.total, Some(4_059_240 * KIB));
    assert_eq!(f.used, Some(3_466_544 * KIB), "4059240 − 592696");
    assert_eq!(
        f.used_tfbc,
        Some(3_324_672 * KIB),
        "4059240 − 313692 − 57932 − 362944"
    );
    assert_eq!(f.available, Some(592_696 * KIB));
    assert_eq!(f.gpu_used, Some(244_748 * KIB));
    assert_eq!(f.cpu_os_used, Some(3_221_796 * KIB), "3466544 − 244748");
    assert!(!f.sources_disagree);
    assert_eq!(f.total_used, f.used, "unified total is used, never a sum");
    assert_eq!(f.vram_used, None);
    assert_eq!(f.swap_used, Some(180_776 * KIB), "2029616 − 1848840");
    assert!(!f.swap_is_zram);
    // The Nano's swap is 4 × zram (fixture /proc/partitions).
    c.set(Counter::ZramUsed, Some(60 << 20));
    assert!(figures(&p, &c).swap_is_zram);
}

#[test]
fn gpu_falls_back_along_the_source_order_without_gpu_used() {
    let (p, c) = unified(NANO_RELEASE, NANO_MEMINFO);
    assert_eq!(figures(&p, &c).gpu_used, Some(244_748 * KIB));
}

/// JP5/6 kernel (reconstructed file): no NvMap lines, so without root the GPU
/// share is unknown, and CPU/OS with it.
#[test]
fn orin_jp6_without_root_gpu_unknown() {
    let (p, c) = unified(ORIN_RELEASE, ORIN_MEMINFO);
    assert_eq!(p.architecture, Architecture::Unified);
    let (src, why) = select_gpu_source(GpuAvailability {
        meminfo_nvmap: c.get(Counter::NvMapMemUsed).is_some(),
        nvmap_total: Access::NeedsRoot,
        nvmap_clients: Access::NeedsRoot,
        ..GpuAvailability::default()
    });
    assert_eq!((src, why), (GpuSource::None, Some(REASON_NEEDS_ROOT)));
    let f = figures(&p, &c);
    assert_eq!(f.gpu_used, None);
    assert_eq!(
        f.cpu_os_used, None,
        "unknown GPU leaves CPU/OS unknown, not = used"
    );
    assert_eq!(f.used, Some(2_779_136 * KIB), "7802880 − 5023744");
    assert_eq!(
        f.used_tfbc,
        Some(2_719_744 * KIB),
        "7802880 − 2871296 − 61440 − 2150400"
    );
    assert_eq!(f.swap_used, Some(0));
}

/// As root on the same kernel: the iovmm/clients total is the GPU figure.
#[test]
fn orin_with_nvmap_clients_total() {
    let (p, mut c) = unified(ORIN_RELEASE, ORIN_MEMINFO);
    let total = crate::parse::nvmap::nvmap_clients_total(CLIENTS).unwrap();
    c.set(Counter::NvmapClientsTotal, Some(total));
    let f = figures(&p, &c);
    assert_eq!(f.gpu_used, Some(141_896 * KIB));
    assert_eq!(f.cpu_os_used, Some((2_779_136 - 141_896) * KIB));
}

#[test]
fn gpu_larger_than_used_is_clamped_and_flagged() {
    let (p, mut c) = unified(ORIN_RELEASE, ORIN_MEMINFO);
    // CUDA total − free on Tegra ≈ MemTotal − MemFree: larger than T − MemAvailable.
    let cuda_used = (7_802_880 - 2_871_296) * KIB;
    c.set(Counter::GpuUsed, Some(cuda_used));
    let f = figures(&p, &c);
    assert!(f.sources_disagree);
    assert_eq!(f.cpu_os_used, Some(0));
    assert_eq!(f.total_used, f.used);
}

#[test]
fn discrete_adds_vram_and_ram() {
    let p = detect(&PlatformInputs {
        cuda: Some(CudaDevice {
            name: "NVIDIA GeForce RTX 4090",
            integrated: false,
            total_bytes: Some(24 << 30),
        }),
        page_size: 4096,
        ..PlatformInputs::default()
    });
    let mut c = Counters::new();
    parse_meminfo(ORIN_MEMINFO).unwrap().apply(&mut c);
    c.set(Counter::CudaTotal, Some(24 << 30));
    c.set(Counter::CudaFree, Some(20 << 30));
    let f = figures(&p, &c);
    assert_eq!(f.vram_used, Some(4 << 30));
    assert_eq!(f.gpu_used, Some(4 << 30));
    assert_eq!(f.cpu_os_used, f.used);
    assert_eq!(f.total_used, Some((4 << 30) + 2_779_136 * KIB));
    assert_eq!(f.cuda_used, Some(4 << 30));
    c.set(Counter::CudaFree, None);
    assert_eq!(figures(&p, &c).total_used, None, "unknown VRAM is not 0");
}

#[test]
fn cpu_only() {
    let p = detect(&PlatformInputs::default());
    let mut c = Counters::new();
    parse_meminfo(ORIN_MEMINFO).unwrap().apply(&mut c);
    let f = figures(&p, &c);
    assert_eq!(f.architecture, Architecture::CpuOnly);
    assert_eq!(f.total_used, f.used);
    assert_eq!(f.gpu_used, None);
}

fn fig(total_kib: u64, avail_kib: u64) -> Figures {
    Figures {
        total: Some(total_kib * KIB),
        available: Some(avail_kib * KIB),
        used: Some((total_kib - avail_kib) * KIB),
        ..Figures::default()
    }
}

#[test]
fn pressure_has_hysteresis() {
    let mut t = PressureTracker::new(PressureConfig {
        budget_bytes: Some(u64::MAX),
        ..PressureConfig::default()
    });
    // Nano: 592696 / 4059240 = 14.6 % < 20 %: pressure.
    let e = t.update(1, &fig(4_059_240, 592_696)).unwrap();
    assert_eq!(e.kind, EventKind::PressureEntered);
    assert_eq!(e.value, 592_696 * KIB);
    assert_eq!(e.threshold, 4_059_240 * KIB / 5);
    assert!(t.in_pressure());
    // 22 %: inside the hysteresis band (20–25 %), no event.
    assert_eq!(t.update(2, &fig(1000, 220)), None);
    assert_eq!(t.update(3, &fig(1000, 190)), None, "already in pressure");
    let e = t.update(4, &fig(1000, 250)).unwrap();
    assert_eq!(e.kind, EventKind::PressureLeft);
    assert_eq!(e.threshold, 250 * KIB);
    assert_eq!(t.update(5, &fig(1000, 210)), None);
    assert_eq!(
        t.update(6, &Figures::default()),
        None,
        "unknown total: nothing"
    );
}

#[test]
fn budget_defaults_to_80_percent_and_one_event_per_call() {
    let mut t = PressureTracker::new(PressureConfig::default());
    let f = fig(1000, 100); // 10 % available, 90 % used: both cross at once.
    assert_eq!(t.update(1, &f).unwrap().kind, EventKind::PressureEntered);
    let e = t.update(2, &f).unwrap();
    assert_eq!(e.kind, EventKind::BudgetExceeded);
    assert_eq!(e.threshold, 800 * KIB);
    assert_eq!(t.update(3, &f), None);
    assert_eq!(t.config().headroom(&f), Some(-100 * KIB as i64));
    // 77 % used: under budget but inside the band (75–80 %).
    assert_eq!(t.update(4, &fig(1000, 230)), None);
    let e = t.update(5, &fig(1000, 260)).unwrap();
    assert_eq!(e.kind, EventKind::PressureLeft);
    let e = t.update(6, &fig(1000, 260)).unwrap();
    assert_eq!(e.kind, EventKind::BudgetRecovered);
    assert_eq!(e.threshold, 750 * KIB);
    let cfg = PressureConfig {
        budget_bytes: Some(2 << 30),
        ..PressureConfig::default()
    };
    let (p, c) = unified(NANO_RELEASE, NANO_MEMINFO);
    assert_eq!(
        cfg.headroom(&figures(&p, &c)),
        Some((2 << 30) - 3_466_544 * KIB as i64)
    );
}

#[test]
fn peaks_track_min_and_max() {
    let (p, c1) = unified(NANO_RELEASE, NANO_MEMINFO);
    let mut c2 = c1;
    c2.set(Counter::MemAvailable, Some(1 << 30));
    c2.set(Counter::NvMapMemUsed, None);
    let mut peaks = Peaks::new();
    assert!(peaks.update(10, &figures(&p, &c1), &c1).used);
    assert!(!peaks.update(20, &figures(&p, &c2), &c2).used);
    assert_eq!(peaks.samples, 2);
    let a = peaks.available.unwrap();
    assert_eq!((a.min, a.max), (592_696 * KIB, 1 << 30));
    let u = peaks.used.unwrap();
    assert_eq!(u.max, 3_466_544 * KIB);
    assert_eq!(u.min, 4_059_240 * KIB - (1 << 30));
    assert_eq!((u.max_t_ns, u.min_t_ns, a.min_t_ns), (10, 20, 10));
    assert_eq!(peaks.counters_max.get(Counter::MemAvailable), Some(1 << 30));
    assert_eq!(
        peaks.counters_min.get(Counter::MemAvailable),
        Some(592_696 * KIB)
    );
    assert_eq!(
        peaks.counters_max.get(Counter::NvMapMemUsed),
        Some(244_748 * KIB)
    );
    assert_eq!(peaks.counters_max.get(Counter::CudaFree), None);
    assert_eq!(peaks.vram_used, None);
}

#[test]
fn peak_keeps_the_first_time_of_its_value() {
    let mut p = Peak::default();
    assert!(!p.raise(None, 1), "unknown is not 0");
    assert!(p.raise(Some(5), 2));
    assert!(!p.raise(Some(5), 3), "a tie keeps the earlier time");
    assert_eq!((p.value, p.t_ns), (Some(5), 2));
    let mut m = Peak::default();
    assert!(m.lower(Some(5), 1));
    assert!(m.lower(Some(4), 2));
    assert!(!m.lower(Some(9), 3));
    assert_eq!((m.value, m.t_ns), (Some(4), 2));
}

#[test]
fn budget_and_headroom() {
    assert_eq!(default_budget(1000), 800);
    assert_eq!(default_budget(4_059_240 * KIB), 3_325_329_408);
    assert_eq!(headroom(800, 900), -100);
    assert_eq!(headroom(u64::MAX, 0), i64::MAX);
    assert_eq!(headroom(0, u64::MAX), i64::MIN);
}

#[test]
fn phases_pair_innermost_first_and_bound_open_ones() {
    let mut t: PhaseTracker<(&str, u64), 2> = PhaseTracker::new();
    assert!(t.begin(("a", 1)));
    assert!(t.begin(("b", 2)));
    assert!(!t.begin(("c", 3)), "only two may be open");
    assert_eq!(t.unclosed(), 1);
    assert_eq!(t.innermost(), Some(&("b", 2)));
    assert_eq!(t.end(|p| p.0 == "c"), None);
    assert_eq!(t.unmatched(), 1);
    assert_eq!(t.end(|p| p.0 == "a"), Some(("a", 1)), "interleaved end");
    assert_eq!(t.innermost(), Some(&("b", 2)));
    assert!(t.begin(("a", 4)));
    assert_eq!(t.innermost(), Some(&("a", 4)));
    for p in t.open_mut() {
        p.1 += 10;
    }
    let left: Vec<_> = t.drain().collect();
    assert_eq!(left, [("b", 12), ("a", 14)]);
    assert_eq!(t.innermost(), None);
}

#[test]
fn implausible_counters_are_left_out_of_every_figure() {
    use crate::accounting::{Implausible, MAX_PLAUSIBLE_BYTES, check_plausible, screen};
    let total = 4_059_240 * KIB;
    let mut c = Counters::new();
    c.set(Counter::MemTotal, Some(total));
    c.set(Counter::MemAvailable, Some(total / 2));
    c.set(Counter::NvMapMemUsed, Some(999_999_999_999 * KIB));
    c.set(Counter::TreeRss, Some(total * 2)); // shared pages: a sum may exceed RAM
    c.set(Counter::SwapTotal, Some(MAX_PLAUSIBLE_BYTES + 1));
    c.set(Counter::TreeProcesses, Some(u64::MAX)); // a count, not a size
    let (kept, mask) = screen(&c, Architecture::Unified);
    let flagged = (1 << Counter::NvMapMemUsed as u64) | (1 << Counter::SwapTotal as u64);
    assert_eq!(mask, flagged);
    assert_eq!(kept.get(Counter::NvMapMemUsed), None);
    assert_eq!(kept.get(Counter::TreeRss), Some(total * 2));
    assert_eq!(kept.get(Counter::TreeProcesses), Some(u64::MAX));
    assert_eq!(
        check_plausible(
            Counter::GpuUsed,
            total + 1,
            Some(total),
            Architecture::Unified
        ),
        Some(Implausible::AboveMemTotal)
    );
    assert_eq!(
        check_plausible(
            Counter::GpuUsed,
            total + 1,
            Some(total),
            Architecture::Discrete
        ),
        None,
        "VRAM is not part of MemTotal"
    );
    let platform = Platform {
        architecture: Architecture::Unified,
        gpu_source: GpuSource::MeminfoNvmap,
        ..Platform::default()
    };
    let f = figures(&platform, &c);
    assert_eq!(f.implausible, flagged);
    assert_eq!(f.gpu_used, None, "never a figure");
    assert_eq!(f.used, Some(total - total / 2));
    assert_eq!(f.swap_used, None);
}
