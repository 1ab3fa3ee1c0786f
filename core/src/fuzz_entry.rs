//! Entry points for the fuzz targets in `fuzz/` and the no-panic property
//! tests: each feeds arbitrary bytes to a group of parsers (and, for `misc`,
//! platform detection and the accounting model on top). Kept outside `parse`
//! so that `parse` depends on nothing but itself, `record` and `text`.
//!
//! Not part of the stable API. Each returns whether the invariants it checks
//! held; the callers assert on that (core itself never panics).

use crate::accounting::{Peaks, PressureConfig, PressureTracker, figures};
use crate::parse::{
    boot_id, cgroup, children, devicetree, gpu_load, kernel, meminfo, nv_tegra_release, nvmap,
    pressure, proc_cgroup, stat, statm, status, tegrastats, zram,
};
use crate::platform::{CudaDevice, PlatformInputs, detect};
use crate::record::Counters;

/// Keyed meminfo parse, and the cached-layout parser learning then reusing
/// the same bytes; both must agree with the keyed result.
pub fn meminfo(data: &[u8]) -> bool {
    let keyed = meminfo::parse_meminfo(data);
    let mut p = meminfo::MeminfoParser::new();
    let first = p.parse(data);
    let second = p.parse(data);
    if let Ok(m) = &keyed {
        let mut c = Counters::new();
        m.apply(&mut c);
    }
    first == keyed && second == keyed
}

/// `status`, `statm` (two page sizes) and `children`.
pub fn status(data: &[u8]) -> bool {
    let s = status::parse_status(data);
    let a = statm::parse_statm(data, 4096);
    let b = statm::parse_statm(data, 1 << 16);
    let n = children::children(data).count();
    // A statm that parses with 64 KiB pages parses with 4 KiB pages too.
    let statm_ok = b.is_err() || a.is_ok();
    let name_ok = s.map_or(true, |s| s.name.len() <= crate::record::PROCESS_NAME_LEN);
    statm_ok && name_ok && n <= data.len()
}

/// nvmap `stats/total_memory` and `iovmm/clients`.
pub fn nvmap(data: &[u8]) -> bool {
    let _ = nvmap::parse_nvmap_total(data);
    let _ = nvmap::nvmap_clients_total(data);
    let mut rows = 0usize;
    for c in nvmap::nvmap_clients(data) {
        rows += 1;
        if c.process.is_empty() || c.client == "total" {
            return false;
        }
    }
    rows <= data.len()
}

/// Every other parser, platform detection with the bytes as every input, and
/// the accounting model on top.
pub fn misc(data: &[u8]) -> bool {
    let _ = cgroup::parse_cgroup_value(data);
    let _ = proc_cgroup::parse_memory_cgroup(data);
    let _ = stat::parse_stat_ppid(data);
    let _ = boot_id::parse_boot_id(data);
    let _ = kernel::parse_version_release(data);
    let _ = pressure::parse_psi(data);
    if let Ok(l4t) = nv_tegra_release::parse_nv_tegra_release(data) {
        let _ = nv_tegra_release::jetpack_for(l4t);
    }
    let _ = devicetree::parse_model(data);
    let _ = devicetree::soc_from_compatible(data);
    let _ = gpu_load::parse_gpu_load(data);
    let _ = zram::parse_zram_mm_stat(data);
    let _ = kernel::parse_osrelease(data);
    // tegrastats sizes are whole KiB or MiB.
    let tegrastats_ok = tegrastats::parse_tegrastats_line(data)
        .map_or(true, |t| t.ram_used % 1024 == 0 && t.ram_total % 1024 == 0);
    let name = core::str::from_utf8(data).unwrap_or("");
    let mem = meminfo::parse_meminfo(data).ok();
    let platform = detect(&PlatformInputs {
        nv_tegra_release: Some(data),
        dt_model: Some(data),
        dt_compatible: Some(data),
        kernel_release: Some(data),
        meminfo_has_nvmap: mem.is_some_and(|m| m.nvmap_mem_used.is_some()),
        cuda: Some(CudaDevice {
            name,
            integrated: data.first().is_some_and(|b| b & 1 == 1),
            total_bytes: mem.and_then(|m| m.mem_total),
        }),
        page_size: 4096,
        mem_total_bytes: mem.and_then(|m| m.mem_total),
    });
    let mut c = Counters::new();
    if let Some(m) = mem {
        m.apply(&mut c);
    }
    let f = figures(&platform, &c);
    let mut t = PressureTracker::new(PressureConfig::default());
    let _ = t.update(0, &f);
    let mut peaks = Peaks::new();
    let _ = peaks.update(0, &f, &c);
    // Unified CPU/OS never exceeds used.
    let cpu_ok = match (f.cpu_os_used, f.used) {
        (Some(cpu), Some(used)) => cpu <= used,
        _ => true,
    };
    cpu_ok && tegrastats_ok
}
