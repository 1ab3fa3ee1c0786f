//! NVML as the GPU source: where it stands in the source order, what "GPU
//! used" it gives, and how unified and discrete machines count it.

use super::*;
use crate::parse::meminfo::parse_meminfo;
use crate::platform::{CudaDevice, PlatformInputs, detect};
use crate::record::{Architecture, Counter, Counters, GpuSource, Platform, REASON_LEN};

/// A reconstructed JP5/6 meminfo (no Thor capture exists: jetson-memory.md §11);
/// only its MemTotal and MemAvailable matter here.
const MEMINFO: &[u8] =
    include_bytes!("../../../tests/fixtures/orin-jp5-jp6-meminfo-RECONSTRUCTED/proc/meminfo");
const KIB: u64 = 1024;
const GIB: u64 = 1 << 30;

fn platform(name: &'static str, integrated: bool) -> Platform {
    detect(&PlatformInputs {
        cuda: Some(CudaDevice {
            name,
            integrated,
            total_bytes: Some(24 * GIB),
        }),
        page_size: 4096,
        ..PlatformInputs::default()
    })
}

/// System counters of the fixture plus NVML's total and free.
fn counters(nvml_total: u64, nvml_free: u64) -> Counters {
    let mut c = Counters::new();
    parse_meminfo(MEMINFO).unwrap().apply(&mut c);
    c.set(Counter::NvmlTotal, Some(nvml_total));
    c.set(Counter::NvmlFree, Some(nvml_free));
    c
}

#[test]
fn nvml_comes_after_nvmap_and_before_cuda() {
    let nvml = GpuAvailability {
        nvml: Access::Readable,
        cuda: Access::Readable,
        ..GpuAvailability::default()
    };
    assert_eq!(select_gpu_source(nvml), (GpuSource::Nvml, None));
    let with_nvmap = GpuAvailability {
        nvmap_total: Access::Readable,
        ..nvml
    };
    assert_eq!(select_gpu_source(with_nvmap), (GpuSource::NvmapTotal, None));
    let jp4 = GpuAvailability {
        meminfo_nvmap: true,
        ..nvml
    };
    assert_eq!(select_gpu_source(jp4), (GpuSource::MeminfoNvmap, None));
    // A root-only nvmap does not stop NVML (Thor with debugfs, say).
    let root_only = GpuAvailability {
        nvmap_total: Access::NeedsRoot,
        ..nvml
    };
    assert_eq!(select_gpu_source(root_only), (GpuSource::Nvml, None));
}

#[test]
fn without_nvml_cuda_stands_in_with_the_reason() {
    let unsupported = GpuAvailability {
        nvml: Access::Unsupported,
        cuda: Access::Readable,
        ..GpuAvailability::default()
    };
    assert_eq!(
        select_gpu_source(unsupported),
        (GpuSource::Cuda, Some(REASON_CUDA_FOR_NVML))
    );
    // Jetson Orin JP6 without root: NVML is never supported there, nvmap
    // would be with root, so the root reason is the one to give.
    let orin_user = GpuAvailability {
        nvmap_total: Access::NeedsRoot,
        nvmap_clients: Access::NeedsRoot,
        ..unsupported
    };
    assert_eq!(
        select_gpu_source(orin_user),
        (GpuSource::Cuda, Some(REASON_CUDA_FOR_NVMAP))
    );
    // No NVML library at all (a container without the utility capability):
    // CUDA as before, no caveat.
    let missing = GpuAvailability {
        nvml: Access::Missing,
        ..unsupported
    };
    assert_eq!(select_gpu_source(missing), (GpuSource::Cuda, None));
    let nothing = GpuAvailability {
        cuda: Access::Missing,
        ..unsupported
    };
    assert_eq!(
        select_gpu_source(nothing),
        (GpuSource::None, Some(REASON_NO_SOURCE))
    );
    assert!(REASON_CUDA_FOR_NVML.len() <= REASON_LEN);
}

#[test]
fn nvml_used_is_total_minus_free() {
    let (total, free, reserved) = (24 * GIB, 19 * GIB, 512 << 20);
    let mut c = Counters::new();
    c.set(Counter::NvmlTotal, Some(total));
    assert_eq!(gpu_used_from(GpuSource::Nvml, &c), None, "free unknown");
    c.set(Counter::NvmlFree, Some(free));
    c.set(Counter::NvmlReserved, Some(reserved));
    assert_eq!(gpu_used_from(GpuSource::Nvml, &c), Some(total - free));
    assert_eq!(nvml_used(&c), Some(total - free), "reserved is inside it");
    c.set(Counter::NvmlFree, Some(total + 1));
    assert_eq!(
        nvml_used(&c),
        None,
        "free above total: unknown, never wrapped"
    );
    // NVML's counters never stand for CUDA's, nor CUDA's for NVML's.
    let mut cuda = Counters::new();
    cuda.set(Counter::CudaTotal, Some(total));
    cuda.set(Counter::CudaFree, Some(free));
    assert_eq!(gpu_used_from(GpuSource::Nvml, &cuda), None);
    assert_eq!(gpu_used_from(GpuSource::Cuda, &counters(total, free)), None);
}

/// Thor (unified): the NVML figure is part of system used, never added.
#[test]
fn unified_nvml_is_a_subset_of_system_used() {
    let p = platform("NVIDIA Thor", true);
    assert_eq!(p.architecture, Architecture::Unified);
    let (total, free) = (24 * GIB, 22 * GIB);
    let mut c = counters(total, free);
    let used = (7_802_880 - 5_023_744) * KIB; // the fixture's MemTotal − MemAvailable
    c.set(Counter::GpuUsed, gpu_used_from(GpuSource::Nvml, &c));
    let f = figures(&p, &c);
    assert_eq!(f.used, Some(used));
    assert_eq!(f.gpu_used, Some(total - free));
    assert_eq!(f.cpu_os_used, Some(used - (total - free)));
    assert_eq!(f.total_used, Some(used), "never used + GPU");
    assert_eq!(f.vram_used, None);
    // An older reader's way, without GpuUsed: the NVML counters, never CUDA's
    // (≈ MemTotal − MemFree on Tegra).
    c.set(Counter::GpuUsed, None);
    c.set(Counter::CudaTotal, Some(total));
    c.set(Counter::CudaFree, Some(GIB));
    assert_eq!(figures(&p, &c).gpu_used, Some(total - free));
    c.set(Counter::NvmlFree, None);
    assert_eq!(figures(&p, &c).gpu_used, None, "unknown, not CUDA's");
}

/// A discrete GPU: the NVML figure is VRAM, added to RAM; CUDA's own figure
/// stays beside it as `cuda_used`.
#[test]
fn discrete_nvml_is_vram_added_to_ram() {
    let p = platform("NVIDIA GeForce RTX 4090", false);
    assert_eq!(p.architecture, Architecture::Discrete);
    let (total, free) = (24 * GIB, 19 * GIB);
    let (cuda_total, cuda_free) = (23 * GIB + (512 << 20), 19 * GIB);
    let mut c = counters(total, free);
    c.set(Counter::CudaTotal, Some(cuda_total));
    c.set(Counter::CudaFree, Some(cuda_free));
    let ram = (7_802_880 - 5_023_744) * KIB;
    c.set(Counter::GpuUsed, gpu_used_from(GpuSource::Nvml, &c));
    let f = figures(&p, &c);
    assert_eq!(f.vram_used, Some(total - free));
    assert_eq!(f.gpu_used, Some(total - free));
    assert_eq!(f.cuda_used, Some(cuda_total - cuda_free));
    assert_eq!(f.cpu_os_used, Some(ram));
    assert_eq!(f.total_used, Some(total - free + ram));
    // Without GpuUsed: NVML before CUDA, as in the source order.
    c.set(Counter::GpuUsed, None);
    assert_eq!(figures(&p, &c).vram_used, Some(total - free));
    c.set(Counter::NvmlTotal, None);
    let f = figures(&p, &c);
    assert_eq!(f.vram_used, Some(cuda_total - cuda_free));
    assert_eq!(f.total_used, Some(cuda_total - cuda_free + ram));
}
