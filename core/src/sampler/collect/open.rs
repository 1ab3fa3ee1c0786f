//! [`Collector::open`]: every source opened once, the CUDA device probed, and
//! the platform detected, in named steps.

use super::super::cgroup_path::{CgroupFiles, memory_cgroup, root_cgroup};
use super::super::cuda::{Cuda, CudaUnavailable};
use super::super::nvml::{NVML_LIBRARY, Nvml, NvmlProcesses, NvmlUnavailable};
use super::super::source::{
    FileSource, SourceState, SourceStatus, open_optional, open_optional_bounded, open_recorded,
    read_small, under,
};
use super::super::tree::ProcessTree;
use super::super::{SamplerError, Target};
use super::{Collector, NVMAP_CLIENTS, NVMAP_CLIENTS_MAX_BYTES, NVMAP_TOTAL, Sticky, page_size};
use crate::accounting::{Access, GpuAvailability, select_gpu_source};
use crate::parse::gpu_load::GPU_LOAD_PATHS;
use crate::parse::kernel::parse_version_release;
use crate::parse::meminfo::MeminfoParser;
use crate::platform::{CudaDevice, PlatformInputs, detect};
use crate::record::{Architecture, GpuSource, Platform};
use crate::text::truncated;
use std::path::{Path, PathBuf};

/// The cgroup sources: usage, peak, limit.
type CgroupSources = (Option<FileSource>, Option<FileSource>, Option<FileSource>);

fn access_of(sources: &[SourceStatus], name: &str) -> Access {
    match sources.iter().find(|s| s.name == name).map(|s| &s.state) {
        Some(SourceState::Ok) => Access::Readable,
        Some(SourceState::NeedsRoot) => Access::NeedsRoot,
        _ => Access::Missing,
    }
}

/// The kernel release: `/proc/sys/kernel/osrelease`, else the third word of `/proc/version`.
fn kernel_release(root: &Path) -> Option<Vec<u8>> {
    if let Some(r) = read_small(root, "/proc/sys/kernel/osrelease") {
        return Some(r);
    }
    let v = read_small(root, "/proc/version")?;
    parse_version_release(&v).map(<[u8]>::to_vec)
}

/// A missing sysroot is a typo, not a machine whose every source is missing.
fn check_root(root: &Path) -> Result<(), SamplerError> {
    match std::fs::read_dir(root) {
        Ok(_) => Ok(()),
        Err(source) => Err(SamplerError::Io {
            path: root.to_path_buf(),
            source,
        }),
    }
}

/// The traced tree (none for whole-system traces).
fn open_tree(root: &Path, target: Target) -> Result<Option<ProcessTree>, SamplerError> {
    Ok(match target {
        Target::System => None,
        Target::Tree { pid } => Some(ProcessTree::new(root, pid).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                SamplerError::NoSuchProcess(pid)
            } else {
                SamplerError::Io {
                    path: under(root, &format!("/proc/{pid}/statm")),
                    source: e,
                }
            }
        })?),
    })
}

/// The memory cgroup's files: the root cgroup's for the whole system, else the traced process's.
fn open_cgroup(root: &Path, target: Target, sources: &mut Vec<SourceStatus>) -> CgroupSources {
    let cgroup: Option<CgroupFiles> = match target {
        Target::System => Some(root_cgroup(root)),
        Target::Tree { pid } => read_small(root, &format!("/proc/{pid}/cgroup"))
            .and_then(|text| memory_cgroup(root, &text)),
    };
    match &cgroup {
        Some(c) => (
            open_recorded("cgroup-current", c.current.clone(), 64, sources),
            open_recorded("cgroup-peak", c.peak.clone(), 64, sources),
            open_recorded("cgroup-max", c.max.clone(), 64, sources),
        ),
        None => (None, None, None),
    }
}

/// The first GPU load file that exists, read once.
fn open_gpu_load(root: &Path, sources: &mut Vec<SourceStatus>) -> Option<FileSource> {
    let gpu_load = GPU_LOAD_PATHS.iter().find_map(|rel| {
        FileSource::open(&root.join(rel), 32).ok().map(|mut s| {
            let _ = s.read();
            s
        })
    });
    sources.push(SourceStatus {
        name: "gpu-load",
        path: root.join(GPU_LOAD_PATHS.first().copied().unwrap_or("")),
        state: if gpu_load.is_some() {
            SourceState::Ok
        } else {
            SourceState::Missing
        },
    });
    gpu_load
}

/// `mm_stat` of every zram device, from `zram0` up to the first missing one.
fn open_zram(root: &Path) -> Vec<FileSource> {
    let mut zram = Vec::new();
    for i in 0..16 {
        let abs = format!("/sys/block/zram{i}/mm_stat");
        match FileSource::open(&under(root, &abs), 256) {
            Ok(s) => zram.push(s),
            Err(_) => break,
        }
    }
    zram
}

/// The CUDA device, or why there is none (no context yet: see [`keep_cuda_context`]).
fn probe_cuda_source(
    probe: bool,
    sources: &mut Vec<SourceStatus>,
) -> (Option<Cuda>, Option<String>) {
    let (cuda, cuda_reason) = if probe {
        match Cuda::open(0, false) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e.reason())),
        }
    } else {
        (None, Some(CudaUnavailable::Disabled.reason()))
    };
    sources.push(SourceStatus {
        name: "cuda",
        path: PathBuf::from("libcuda.so.1"),
        state: match &cuda {
            Some(_) => SourceState::Ok,
            None => SourceState::Unreadable(cuda_reason.clone().unwrap_or_default()),
        },
    });
    (cuda, cuda_reason)
}

/// Retains CUDA's context, so that `cuMemGetInfo` works, only where it is
/// the GPU figure: with nvmap or NVML device memory readable it would only
/// add its own footprint to what is measured (a primary context holds
/// device memory of its own, which NVML and the traced GPU's "used" would
/// count as the workload's).
fn keep_cuda_context(cuda: Option<&mut Cuda>, other_source_ok: bool) {
    if let Some(c) = cuda {
        if !other_source_ok {
            if let Err(e) = c.retain_context() {
                log::warn!("CUDA memory figures unavailable: {}", e.reason());
            }
        }
    }
}

/// What probing NVML found.
struct NvmlProbe {
    /// NVML, while it serves per-process or device-wide figures.
    nvml: Option<Nvml>,
    /// Why there are no per-process figures.
    procs_reason: Option<String>,
    /// Whether device-wide memory is a GPU source.
    memory: Access,
}

/// NVML for the traced tree's per-process GPU memory (only with a traced
/// tree) and for device-wide memory of CUDA device 0's GPU (only where no
/// nvmap source is readable: it comes after nvmap in the source order).
/// Both need GPU probing on. A device-wide "Not Supported" (Jetson JetPack
/// 5/6) is [`Access::Unsupported`]; every attempt is listed as the `nvml`
/// source with its reason.
fn probe_nvml(
    probe: bool,
    tree: bool,
    want_memory: bool,
    cuda: Option<&Cuda>,
    sources: &mut Vec<SourceStatus>,
) -> NvmlProbe {
    let not_probed = |why: &str| NvmlProbe {
        nvml: None,
        procs_reason: Some(why.into()),
        memory: Access::Missing,
    };
    if !probe {
        sources.push(nvml_status(Err("NVML probing disabled".into())));
        return not_probed("NVML not probed (GPU probing off)");
    }
    if !tree && !want_memory {
        return not_probed("NVML not probed (no traced tree, and nvmap is the GPU source)");
    }
    let mut nvml = match Nvml::open() {
        Ok(n) => n,
        Err(e) => {
            log::info!("NVML GPU memory unavailable: {}", e.reason());
            if want_memory {
                sources.push(nvml_status(Err(e.reason())));
            }
            return NvmlProbe {
                memory: access_of_nvml(&e),
                ..not_probed(&e.reason())
            };
        }
    };
    let mut memory = Access::Missing;
    if want_memory {
        let opened = nvml.open_memory(|| cuda.and_then(Cuda::uuid));
        if let Err(e) = &opened {
            log::info!("NVML device memory unavailable: {}", e.reason());
            memory = access_of_nvml(e);
        } else {
            memory = Access::Readable;
        }
        sources.push(nvml_status(opened.map(|_| ()).map_err(|e| e.reason())));
    }
    let procs_reason = match (tree, nvml.processes_unavailable()) {
        (false, _) => Some("NVML per-process figures not read (no traced tree)".into()),
        (true, Some(e)) => {
            log::info!("NVML per-process GPU memory unavailable: {}", e.reason());
            Some(e.reason())
        }
        (true, None) => None,
    };
    let used = memory == Access::Readable || procs_reason.is_none();
    NvmlProbe {
        nvml: used.then_some(nvml),
        procs_reason,
        memory,
    }
}

/// How a failed NVML counts as a GPU source.
fn access_of_nvml(e: &NvmlUnavailable) -> Access {
    match e {
        NvmlUnavailable::NotSupported(_) => Access::Unsupported,
        _ => Access::Missing,
    }
}

fn nvml_status(state: Result<(), String>) -> SourceStatus {
    SourceStatus {
        name: "nvml",
        path: PathBuf::from(NVML_LIBRARY),
        state: match state {
            Ok(()) => SourceState::Ok,
            Err(why) => SourceState::Unreadable(why),
        },
    }
}

/// The machine, from its release files, device tree, kernel and CUDA device.
fn detect_platform(
    root: &Path,
    page_size: u64,
    meminfo_has_nvmap: bool,
    mem_total_bytes: Option<u64>,
    cuda: Option<&Cuda>,
) -> Platform {
    let nv = read_small(root, "/etc/nv_tegra_release");
    let model = read_small(root, "/sys/firmware/devicetree/base/model")
        .or_else(|| read_small(root, "/proc/device-tree/model"));
    let compatible = read_small(root, "/sys/firmware/devicetree/base/compatible")
        .or_else(|| read_small(root, "/proc/device-tree/compatible"));
    let kernel = kernel_release(root);
    let cuda_dev = cuda.map(|c| CudaDevice {
        name: c.info.name.as_str(),
        integrated: c.info.integrated,
        total_bytes: Some(c.info.total_bytes),
    });
    let inputs = PlatformInputs {
        nv_tegra_release: nv.as_deref(),
        dt_model: model.as_deref(),
        dt_compatible: compatible.as_deref(),
        kernel_release: kernel.as_deref(),
        meminfo_has_nvmap,
        cuda: cuda_dev,
        page_size: page_size as u32,
        mem_total_bytes,
    };
    detect(&inputs)
}

/// Picks the GPU source from what could be opened, and says why where there is none.
fn choose_gpu_source(
    platform: &mut Platform,
    meminfo_has_nvmap: bool,
    sources: &[SourceStatus],
    cuda: Option<&Cuda>,
    cuda_reason: Option<&String>,
    nvml: Access,
) {
    let avail = GpuAvailability {
        meminfo_nvmap: meminfo_has_nvmap,
        nvmap_total: access_of(sources, "nvmap-total"),
        nvmap_clients: access_of(sources, "nvmap-clients"),
        cuda: match cuda {
            Some(c) if c.has_context() => Access::Readable,
            _ => Access::Missing,
        },
        nvml,
    };
    let (source, reason) = select_gpu_source(avail);
    platform.gpu_source = source;
    platform.gpu_reason = truncated(reason.unwrap_or(""));
    // Off Jetson, the nvmap reasons do not apply: say why CUDA gave nothing.
    if source == GpuSource::None && platform.architecture != Architecture::Unified {
        if let Some(r) = cuda_reason {
            platform.gpu_reason = truncated(r);
        }
    }
}

impl Collector {
    /// Opens every source under `root` for `target`. With `probe_cuda`, looks for a CUDA device.
    pub fn open(root: &Path, target: Target, probe_cuda: bool) -> Result<Self, SamplerError> {
        check_root(root)?;
        let mut sources = Vec::new();
        let meminfo = open_optional(root, "meminfo", "/proc/meminfo", 4096, &mut sources);
        let mut meminfo_parser = MeminfoParser::new();
        let first = match &meminfo {
            Some(m) => meminfo_parser.parse(m.last()).ok(),
            None => None,
        };
        let meminfo_has_nvmap = first.as_ref().is_some_and(|m| m.nvmap_mem_used.is_some());
        let tree = open_tree(root, target)?;
        let (cgroup_current, cgroup_peak, cgroup_max) = open_cgroup(root, target, &mut sources);
        let psi = open_optional(
            root,
            "psi-memory",
            "/proc/pressure/memory",
            256,
            &mut sources,
        );
        let nvmap_total = open_optional(root, "nvmap-total", NVMAP_TOTAL, 64, &mut sources);
        let nvmap_clients = open_optional_bounded(
            root,
            "nvmap-clients",
            NVMAP_CLIENTS,
            8192,
            NVMAP_CLIENTS_MAX_BYTES,
            &mut sources,
        );
        let gpu_load = open_gpu_load(root, &mut sources);
        let zram = open_zram(root);
        let nvmap_ok = meminfo_has_nvmap || nvmap_total.is_some() || nvmap_clients.is_some();
        let (mut cuda, cuda_reason) = probe_cuda_source(probe_cuda, &mut sources);
        let nv = probe_nvml(
            probe_cuda,
            tree.is_some(),
            !nvmap_ok,
            cuda.as_ref(),
            &mut sources,
        );
        keep_cuda_context(cuda.as_mut(), nvmap_ok || nv.memory == Access::Readable);

        let page_size = page_size();
        let mut platform = detect_platform(
            root,
            page_size,
            meminfo_has_nvmap,
            first.as_ref().and_then(|m| m.mem_total),
            cuda.as_ref(),
        );
        choose_gpu_source(
            &mut platform,
            meminfo_has_nvmap,
            &sources,
            cuda.as_ref(),
            cuda_reason.as_ref(),
            nv.memory,
        );

        let mut c = Collector {
            root: root.to_path_buf(),
            page_size,
            platform,
            sources,
            meminfo,
            meminfo_parser,
            cgroup_current,
            cgroup_peak,
            cgroup_max,
            psi,
            nvmap_total,
            nvmap_clients,
            gpu_load,
            zram,
            tree,
            cuda,
            cuda_reason,
            nvml: nv.nvml,
            nvml_reason: nv.procs_reason,
            nvml_buf: NvmlProcesses::new(),
            nvml_read_failed: false,
            sticky: Sticky::default(),
        };
        c.slow(|_| {});
        Ok(c)
    }
}
