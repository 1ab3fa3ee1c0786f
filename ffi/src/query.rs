//! In-program questions: which machine is this, how much memory is used now,
//! and is it under pressure. The answers fill caller-provided structs (no
//! allocation on the caller's side) from one process-wide sampler, opened on
//! the first call and kept; the figures come from `core::accounting` and the
//! pressure state from its `PressureTracker` (the recorder's rule, with its
//! hysteresis), so a program, `jetmem info` and a trace agree.

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::Mutex;

use jetmem_core::accounting::{PressureConfig, PressureTracker, figures};
use jetmem_core::record::{Architecture, Counter, GpuSource, Platform};
use jetmem_core::sampler::{LiveSampler, Target};

use crate::JETMEM_UNKNOWN;
use crate::config::{JETMEM_FLAG_NO_CUDA, path_from};
use crate::handle::try_write;
use crate::panic::ffi_panic_boundary;
use crate::status::jetmem_status;

/// How CPU and GPU memory relate (`info --json`'s `architecture`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum jetmem_architecture {
    /// One DRAM for CPU and GPU (Jetson): GPU memory is part of `used`.
    Unified = 0,
    /// A discrete GPU with its own VRAM.
    Discrete = 1,
    /// No GPU seen.
    CpuOnly = 2,
}

/// Where the GPU figure comes from (`info --json`'s `gpu.source`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum jetmem_gpu_source {
    /// No readable source.
    None = 0,
    /// `NvMapMemUsed` in /proc/meminfo.
    MeminfoNvmap = 1,
    /// debugfs nvmap `stats/total_memory`.
    NvmapTotal = 2,
    /// debugfs nvmap `iovmm/clients`.
    NvmapClients = 3,
    /// CUDA `cuMemGetInfo`.
    Cuda = 4,
    /// NVML.
    Nvml = 5,
}

/// Bytes of each string field of `jetmem_platform`, NUL included.
pub const JETMEM_PLATFORM_STRING_LEN: usize = 128;

/// The machine, as `info --json`'s `architecture` and `platform` keys. Strings
/// are NUL-terminated UTF-8, empty when unknown (cut to fit).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct jetmem_platform {
    pub architecture: jetmem_architecture,
    pub model: [c_char; JETMEM_PLATFORM_STRING_LEN],
    pub soc: [c_char; JETMEM_PLATFORM_STRING_LEN],
    /// `release.revision.minor` ("36.4.7").
    pub l4t: [c_char; JETMEM_PLATFORM_STRING_LEN],
    pub jetpack: [c_char; JETMEM_PLATFORM_STRING_LEN],
    pub cuda_device: [c_char; JETMEM_PLATFORM_STRING_LEN],
    pub kernel: [c_char; JETMEM_PLATFORM_STRING_LEN],
    /// Bytes; 0 when unknown.
    pub page_size: u32,
}

/// Memory now, as `info --json`'s figures: bytes, `JETMEM_UNKNOWN` when unknown.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct jetmem_memory {
    pub architecture: jetmem_architecture,
    /// `MemTotal`.
    pub total_bytes: u64,
    /// `MemTotal − MemAvailable` (jetmem's primary "used").
    pub used_bytes: u64,
    /// `MemTotal − MemFree − Buffers − Cached` (tegrastats' and jtop's "used").
    pub used_tegrastats_bytes: u64,
    /// `MemAvailable`.
    pub available_bytes: u64,
    /// `MemFree`.
    pub free_bytes: u64,
    /// `SwapTotal − SwapFree`.
    pub swap_used_bytes: u64,
    /// 1 when the swap is zram (in the same DRAM), else 0.
    pub swap_is_zram: u32,
    /// Where `gpu_used_bytes` comes from.
    pub gpu_source: jetmem_gpu_source,
    /// GPU memory used; on unified memory a subset of `used_bytes`.
    pub gpu_used_bytes: u64,
    /// 1 on unified memory: never add `gpu_used_bytes` to `used_bytes`.
    pub gpu_subset_of_system: u32,
    /// Unified: used − GPU (clamped at 0); otherwise used.
    pub cpu_os_used_bytes: u64,
    /// CUDA `cuMemGetInfo` total − free, free and total.
    pub cuda_device_used_bytes: u64,
    pub cuda_device_free_bytes: u64,
    pub cuda_device_total_bytes: u64,
}

/// The process-wide sampler of the queries, with the pressure state it feeds.
struct Query {
    root: PathBuf,
    cuda: bool,
    live: LiveSampler,
    pressure: PressureTracker,
}

static QUERY: Mutex<Option<Query>> = Mutex::new(None);

/// Runs `f` on the query sampler for `root` and `flags`, opening it (again) when
/// either differs from the last call's.
fn with_query<T>(
    root: *const c_char,
    flags: u32,
    f: impl FnOnce(&mut Query) -> T,
) -> Result<T, jetmem_status> {
    if flags & !JETMEM_FLAG_NO_CUDA != 0 {
        return Err(jetmem_status::InvalidArgument);
    }
    let root = path_from(root).unwrap_or_else(|| PathBuf::from("/"));
    let cuda = flags & JETMEM_FLAG_NO_CUDA == 0;
    let mut guard = QUERY.lock().unwrap_or_else(|p| p.into_inner());
    let reopen = guard
        .as_ref()
        .is_none_or(|q| q.root != root || q.cuda != cuda);
    if reopen {
        let live = LiveSampler::open(&root, Target::System, cuda)
            .map_err(|_| jetmem_status::SamplerError)?;
        *guard = Some(Query {
            root,
            cuda,
            live,
            pressure: PressureTracker::new(PressureConfig::default()),
        });
    }
    let q = guard.as_mut().ok_or(jetmem_status::SamplerError)?;
    q.live.bind_thread();
    Ok(f(q))
}

fn copy_str(dst: &mut [c_char; JETMEM_PLATFORM_STRING_LEN], src: &str) {
    let mut end = src.len().min(JETMEM_PLATFORM_STRING_LEN - 1);
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    for (d, s) in dst
        .iter_mut()
        .zip(src.as_bytes().get(..end).unwrap_or_default())
    {
        *d = *s as c_char;
    }
    if let Some(nul) = dst.get_mut(end) {
        *nul = 0;
    }
}

fn architecture(a: Architecture) -> jetmem_architecture {
    match a {
        Architecture::Unified => jetmem_architecture::Unified,
        Architecture::Discrete => jetmem_architecture::Discrete,
        _ => jetmem_architecture::CpuOnly,
    }
}

fn gpu_source(g: GpuSource) -> jetmem_gpu_source {
    match g {
        GpuSource::MeminfoNvmap => jetmem_gpu_source::MeminfoNvmap,
        GpuSource::NvmapTotal => jetmem_gpu_source::NvmapTotal,
        GpuSource::NvmapClients => jetmem_gpu_source::NvmapClients,
        GpuSource::Cuda => jetmem_gpu_source::Cuda,
        GpuSource::Nvml => jetmem_gpu_source::Nvml,
        _ => jetmem_gpu_source::None,
    }
}

/// The platform struct of `p`.
pub(crate) fn platform_of(p: &Platform) -> jetmem_platform {
    let mut out = jetmem_platform {
        architecture: architecture(p.architecture),
        model: [0; JETMEM_PLATFORM_STRING_LEN],
        soc: [0; JETMEM_PLATFORM_STRING_LEN],
        l4t: [0; JETMEM_PLATFORM_STRING_LEN],
        jetpack: [0; JETMEM_PLATFORM_STRING_LEN],
        cuda_device: [0; JETMEM_PLATFORM_STRING_LEN],
        kernel: [0; JETMEM_PLATFORM_STRING_LEN],
        page_size: p.page_size,
    };
    copy_str(&mut out.model, &p.model);
    copy_str(&mut out.soc, &p.soc);
    if let Some(l) = p.l4t {
        copy_str(
            &mut out.l4t,
            &format!("{}.{}.{}", l.release, l.revision, l.minor),
        );
    }
    copy_str(&mut out.jetpack, &p.jetpack);
    copy_str(&mut out.cuda_device, &p.cuda_device);
    copy_str(&mut out.kernel, &p.kernel);
    out
}

/// Samples now: the memory struct, and the pressure state after this sample.
fn sample(q: &mut Query) -> (jetmem_memory, bool) {
    let s = q.live.sample();
    let p = q.live.platform();
    let f = figures(p, &s.counters);
    let _ = q.pressure.update(s.t_ns, &f);
    let u = |v: Option<u64>| v.unwrap_or(JETMEM_UNKNOWN);
    let c = &s.counters;
    let m = jetmem_memory {
        architecture: architecture(p.architecture),
        total_bytes: u(f.total),
        used_bytes: u(f.used),
        used_tegrastats_bytes: u(f.used_tfbc),
        available_bytes: u(f.available),
        free_bytes: u(c.get(Counter::MemFree)),
        swap_used_bytes: u(f.swap_used),
        swap_is_zram: u32::from(f.swap_is_zram),
        gpu_source: gpu_source(p.gpu_source),
        gpu_used_bytes: u(f.gpu_used),
        gpu_subset_of_system: u32::from(p.architecture == Architecture::Unified),
        cpu_os_used_bytes: u(f.cpu_os_used),
        cuda_device_used_bytes: u(f.cuda_used),
        cuda_device_free_bytes: u(c.get(Counter::CudaFree)),
        cuda_device_total_bytes: u(c.get(Counter::CudaTotal)),
    };
    (m, q.pressure.in_pressure())
}

pub(crate) fn platform(root: *const c_char, flags: u32) -> Result<jetmem_platform, jetmem_status> {
    with_query(root, flags, |q| platform_of(q.live.platform()))
}

pub(crate) fn memory(root: *const c_char, flags: u32) -> Result<jetmem_memory, jetmem_status> {
    with_query(root, flags, |q| sample(q).0)
}

pub(crate) fn under_pressure(root: *const c_char, flags: u32) -> Result<bool, jetmem_status> {
    with_query(root, flags, |q| sample(q).1)
}

fn write_result<T>(out: *mut T, r: Result<T, jetmem_status>) -> jetmem_status {
    if out.is_null() {
        return jetmem_status::NullParameter;
    }
    match r {
        Ok(v) => {
            // SAFETY: non-NULL (checked above) and writable per the caller's contract.
            unsafe { try_write(out, v) };
            jetmem_status::Ok
        }
        Err(s) => s,
    }
}

/// Fills `*out` with this machine (`info --json`'s `architecture` and
/// `platform`). `root` is the sysroot to read (`NULL`: "/"); `flags` is 0 or
/// `JETMEM_FLAG_NO_CUDA` (never load the CUDA driver). The first query opens
/// the process-wide query sampler (and, without `JETMEM_FLAG_NO_CUDA`, probes
/// CUDA); later ones with the same `root` and `flags` reuse it.
///
/// # Safety
/// `root` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jetmem_platform_query(
    root: *const c_char,
    flags: u32,
    out: *mut jetmem_platform,
) -> jetmem_status {
    ffi_panic_boundary! {
        write_result(out, platform(root, flags))
    }
}

/// Fills `*out` with memory now (`info --json`'s figures, both "used"
/// definitions, the GPU figure with its source). Unknown figures are
/// `JETMEM_UNKNOWN`. `root` and `flags` as in `jetmem_platform_query`.
/// Allocates nothing after the first call; takes one sample (a few `pread`s).
///
/// # Safety
/// `root` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jetmem_memory_query(
    root: *const c_char,
    flags: u32,
    out: *mut jetmem_memory,
) -> jetmem_status {
    ffi_panic_boundary! {
        write_result(out, memory(root, flags))
    }
}

/// Takes a sample and writes 1 to `*out` when the machine is under memory
/// pressure, else 0: the recorder's rule with its hysteresis (on below 20 %
/// of MemTotal available, off again only at 25 %; docs/accounting.md §8),
/// from the same `core::accounting::PressureTracker`, kept across calls.
///
/// # Safety
/// `root` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jetmem_under_pressure(
    root: *const c_char,
    flags: u32,
    out: *mut i32,
) -> jetmem_status {
    ffi_panic_boundary! {
        write_result(out, under_pressure(root, flags).map(i32::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(a: &[c_char; JETMEM_PLATFORM_STRING_LEN]) -> String {
        let bytes: Vec<u8> = a
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn strings_are_cut_on_a_character_boundary_and_nul_terminated() {
        let mut dst = [1 as c_char; JETMEM_PLATFORM_STRING_LEN];
        copy_str(&mut dst, "tegra234");
        assert_eq!(text(&dst), "tegra234");
        // 126 ASCII bytes then "é" (2 bytes): 128 with the NUL does not fit; "é" is dropped whole.
        let long = format!("{}é", "x".repeat(126));
        copy_str(&mut dst, &long);
        assert_eq!(text(&dst), "x".repeat(126));
        assert_eq!(dst[126], 0);
    }

    #[test]
    fn platform_struct_has_info_json_values() {
        let p = Platform {
            architecture: Architecture::Unified,
            l4t: Some(jetmem_core::record::L4tRelease {
                release: 36,
                revision: 4,
                minor: 7,
            }),
            jetpack: jetmem_core::text::truncated("6.2.1"),
            page_size: 4096,
            ..Platform::default()
        };
        let out = platform_of(&p);
        assert_eq!(out.architecture, jetmem_architecture::Unified);
        assert_eq!(text(&out.l4t), "36.4.7");
        assert_eq!(text(&out.jetpack), "6.2.1");
        assert_eq!(text(&out.model), "");
        assert_eq!(out.page_size, 4096);
    }
}
