//! The collector: every source opened once, read into one [`Sample`].
//!
//! The hot path ([`Collector::fast`]) reads only cheap files through kept file
//! descriptors: `/proc/meminfo`, the cgroup's usage, `statm` of each traced
//! process, the O(1) nvmap total, GPU load and `cuMemGetInfo`. The slow path
//! ([`Collector::slow`], about every 100 ms) discovers processes, reads
//! `status`, zram, PSI, the cgroup peak and limit, and nvmap's client table;
//! its values are carried into every sample until the next slow read.

use super::cgroup_path::{CgroupFiles, memory_cgroup, root_cgroup};
use super::cuda::{Cuda, CudaUnavailable};
use super::source::{
    FileSource, SourceState, SourceStatus, open_optional, open_recorded, read_small, under,
};
use super::tree::{Change, ProcessTree, SlowSums};
use super::{SamplerError, Target};
use crate::accounting::{Access, GpuAvailability, gpu_used_from, select_gpu_source};
use crate::parse::cgroup::{CgroupValue, parse_cgroup_value};
use crate::parse::gpu_load::{GPU_LOAD_PATHS, parse_gpu_load};
use crate::parse::meminfo::MeminfoParser;
use crate::parse::nvmap::{nvmap_clients_total, parse_nvmap_total};
use crate::parse::pressure::parse_psi;
use crate::parse::zram::parse_zram_mm_stat;
use crate::platform::{CudaDevice, PlatformInputs, detect};
use crate::record::{Architecture, Counter, Counters, GpuSource, Platform, Sample};
use crate::text::truncated;
use std::path::{Path, PathBuf};

const NVMAP_TOTAL: &str = "/sys/kernel/debug/nvmap/stats/total_memory";
const NVMAP_CLIENTS: &str = "/sys/kernel/debug/nvmap/iovmm/clients";

/// Values read on the slow path and carried into every sample.
#[derive(Debug, Clone, Copy, Default)]
struct Sticky {
    sums: SlowSums,
    zram_used: Option<u64>,
    psi_some: Option<u64>,
    psi_full: Option<u64>,
    cgroup_peak: Option<u64>,
    cgroup_max: Option<u64>,
    nvmap_clients_total: Option<u64>,
}

/// Opens and reads every memory source of one machine (or sysroot).
#[derive(Debug)]
pub struct Collector {
    root: PathBuf,
    page_size: u64,
    platform: Platform,
    sources: Vec<SourceStatus>,
    meminfo: Option<FileSource>,
    meminfo_parser: MeminfoParser,
    cgroup_current: Option<FileSource>,
    cgroup_peak: Option<FileSource>,
    cgroup_max: Option<FileSource>,
    psi: Option<FileSource>,
    nvmap_total: Option<FileSource>,
    nvmap_clients: Option<FileSource>,
    gpu_load: Option<FileSource>,
    zram: Vec<FileSource>,
    tree: Option<ProcessTree>,
    cuda: Option<Cuda>,
    cuda_reason: Option<String>,
    sticky: Sticky,
}

/// The page size of this machine, from `sysconf(_SC_PAGESIZE)`.
pub fn page_size() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(n)) if n > 0 => n as u64,
        _ => 4096,
    }
}

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
    let word = v
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .nth(2)?;
    Some(word.to_vec())
}

impl Collector {
    /// Opens every source under `root` for `target`. With `probe_cuda`, looks for a CUDA device.
    pub fn open(root: &Path, target: Target, probe_cuda: bool) -> Result<Self, SamplerError> {
        // A missing sysroot is a typo, not a machine whose every source is missing.
        if let Err(source) = std::fs::read_dir(root) {
            return Err(SamplerError::Io {
                path: root.to_path_buf(),
                source,
            });
        }
        let mut sources = Vec::new();
        let meminfo = open_optional(root, "meminfo", "/proc/meminfo", 4096, &mut sources);
        let mut meminfo_parser = MeminfoParser::new();
        let first = match &meminfo {
            Some(m) => meminfo_parser.parse(m.last()).ok(),
            None => None,
        };
        let meminfo_has_nvmap = first.as_ref().is_some_and(|m| m.nvmap_mem_used.is_some());

        let tree = match target {
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
        };
        let cgroup: Option<CgroupFiles> = match target {
            Target::System => Some(root_cgroup(root)),
            Target::Tree { pid } => read_small(root, &format!("/proc/{pid}/cgroup"))
                .and_then(|text| memory_cgroup(root, &text)),
        };
        let (cgroup_current, cgroup_peak, cgroup_max) = match &cgroup {
            Some(c) => (
                open_recorded("cgroup-current", c.current.clone(), 64, &mut sources),
                open_recorded("cgroup-peak", c.peak.clone(), 64, &mut sources),
                open_recorded("cgroup-max", c.max.clone(), 64, &mut sources),
            ),
            None => (None, None, None),
        };
        let psi = open_optional(
            root,
            "psi-memory",
            "/proc/pressure/memory",
            256,
            &mut sources,
        );
        let nvmap_total = open_optional(root, "nvmap-total", NVMAP_TOTAL, 64, &mut sources);
        let nvmap_clients = open_optional(root, "nvmap-clients", NVMAP_CLIENTS, 8192, &mut sources);
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
        let mut zram = Vec::new();
        for i in 0..16 {
            let abs = format!("/sys/block/zram{i}/mm_stat");
            match FileSource::open(&under(root, &abs), 256) {
                Ok(s) => zram.push(s),
                Err(_) => break,
            }
        }

        let (cuda, cuda_reason) = if probe_cuda {
            // A context is only needed for cuMemGetInfo; on unified memory with
            // nvmap readable it would only add its own footprint.
            let nvmap_ok = meminfo_has_nvmap || nvmap_total.is_some() || nvmap_clients.is_some();
            match Cuda::open(0, false) {
                Ok(mut c) => {
                    if !(c.info.integrated && nvmap_ok) {
                        if let Err(e) = c.retain_context() {
                            log::warn!("CUDA memory figures unavailable: {}", e.reason());
                        }
                    }
                    (Some(c), None)
                }
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

        let page_size = page_size();
        let nv = read_small(root, "/etc/nv_tegra_release");
        let model = read_small(root, "/sys/firmware/devicetree/base/model")
            .or_else(|| read_small(root, "/proc/device-tree/model"));
        let compatible = read_small(root, "/sys/firmware/devicetree/base/compatible")
            .or_else(|| read_small(root, "/proc/device-tree/compatible"));
        let kernel = kernel_release(root);
        let cuda_dev = cuda.as_ref().map(|c| CudaDevice {
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
            mem_total_bytes: first.as_ref().and_then(|m| m.mem_total),
        };
        let mut platform = detect(&inputs);
        let avail = GpuAvailability {
            meminfo_nvmap: meminfo_has_nvmap,
            nvmap_total: access_of(&sources, "nvmap-total"),
            nvmap_clients: access_of(&sources, "nvmap-clients"),
            cuda: match &cuda {
                Some(c) if c.has_context() => Access::Readable,
                _ => Access::Missing,
            },
            thor_nvml: Access::Missing,
        };
        let (source, reason) = select_gpu_source(avail);
        platform.gpu_source = source;
        platform.gpu_reason = truncated(reason.unwrap_or(""));
        // Off Jetson, the nvmap reasons do not apply: say why CUDA gave nothing.
        if source == GpuSource::None && platform.architecture != Architecture::Unified {
            if let Some(r) = &cuda_reason {
                platform.gpu_reason = truncated(r);
            }
        }

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
            sticky: Sticky::default(),
        };
        c.slow(|_| {});
        Ok(c)
    }

    /// The sysroot this collector reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The detected platform (architecture, board, GPU source).
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// Which sources could be opened, and why not.
    pub fn sources(&self) -> &[SourceStatus] {
        &self.sources
    }

    /// Why CUDA figures are absent, if they are.
    pub fn cuda_reason(&self) -> Option<&str> {
        self.cuda_reason.as_deref()
    }

    /// The page size used for `statm`.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// The traced tree, if any.
    pub fn tree(&self) -> Option<&ProcessTree> {
        self.tree.as_ref()
    }

    /// Whether the traced root process is gone (always false for whole-system traces).
    pub fn target_exited(&self) -> bool {
        self.tree.as_ref().is_some_and(|t| !t.root_alive())
    }

    /// Must be called on the thread that calls [`Collector::fast`] (binds the CUDA context).
    pub fn bind_thread(&self) {
        if let Some(c) = &self.cuda {
            c.bind();
        }
    }

    /// The hot path: fills `out` with this instant's counters.
    pub fn fast(&mut self, t_ns: u64, out: &mut Sample) {
        out.t_ns = t_ns;
        let c = &mut out.counters;
        *c = Counters::new();
        if let Some(src) = self.meminfo.as_mut() {
            if let Ok(text) = src.read() {
                if let Ok(m) = self.meminfo_parser.parse(text) {
                    m.apply(c);
                }
            }
        }
        c.set(
            Counter::CgroupCurrent,
            read_cgroup(self.cgroup_current.as_mut()),
        );
        if let Some(tree) = self.tree.as_mut() {
            let (rss, n) = tree.sample_rss(self.page_size);
            if n > 0 {
                c.set(Counter::TreeRss, Some(rss));
            }
            c.set(Counter::TreeProcesses, Some(u64::from(n)));
        }
        if let Some(src) = self.nvmap_total.as_mut() {
            let v = src.read().ok().and_then(|t| parse_nvmap_total(t).ok());
            c.set(Counter::NvmapTotal, v);
        }
        if let Some(src) = self.gpu_load.as_mut() {
            let v = src.read().ok().and_then(|t| parse_gpu_load(t).ok());
            c.set(Counter::GpuLoadPermille, v.map(u64::from));
        }
        if let Some(cuda) = &self.cuda {
            if let Some((free, total)) = cuda.mem_info() {
                c.set(Counter::CudaFree, Some(free));
                c.set(Counter::CudaTotal, Some(total));
            }
        }
        let s = &self.sticky;
        c.set(Counter::TreeHwm, s.sums.hwm);
        c.set(Counter::TreeSwap, s.sums.swap);
        c.set(Counter::TreeLocked, s.sums.locked);
        c.set(Counter::TreePinned, s.sums.pinned);
        c.set(Counter::ZramUsed, s.zram_used);
        c.set(Counter::PsiSomeAvg10, s.psi_some);
        c.set(Counter::PsiFullAvg10, s.psi_full);
        c.set(Counter::CgroupPeak, s.cgroup_peak);
        c.set(Counter::CgroupMax, s.cgroup_max);
        c.set(Counter::NvmapClientsTotal, s.nvmap_clients_total);
        c.set(Counter::GpuUsed, gpu_used_from(self.platform.gpu_source, c));
    }

    /// The slow path: process discovery, `status` sums and the slower files.
    pub fn slow(&mut self, on_change: impl FnMut(&Change)) {
        if let Some(tree) = self.tree.as_mut() {
            tree.refresh(on_change);
            self.sticky.sums = tree.sample_status();
        }
        let mut zram_total: Option<u64> = None;
        for z in &mut self.zram {
            if let Some(st) = z.read().ok().and_then(|t| parse_zram_mm_stat(t).ok()) {
                zram_total = Some(zram_total.unwrap_or(0).saturating_add(st.mem_used_total));
            }
        }
        self.sticky.zram_used = zram_total;
        if let Some(p) = self
            .psi
            .as_mut()
            .and_then(|s| s.read().ok().and_then(|t| parse_psi(t).ok()))
        {
            self.sticky.psi_some = Some(u64::from(p.some_avg10_centi));
            self.sticky.psi_full = p.full_avg10_centi.map(u64::from);
        }
        self.sticky.cgroup_peak = read_cgroup(self.cgroup_peak.as_mut());
        self.sticky.cgroup_max = read_cgroup(self.cgroup_max.as_mut());
        if self.platform.gpu_source == GpuSource::NvmapClients {
            self.sticky.nvmap_clients_total = self
                .nvmap_clients
                .as_mut()
                .and_then(|s| s.read().ok().and_then(|t| nvmap_clients_total(t).ok()));
        }
    }

    /// The slow-path view of each tracked process (for `ProcessMemory` records).
    pub fn processes(&self) -> impl Iterator<Item = &super::tree::Tracked> {
        self.tree.iter().flat_map(|t| t.processes().iter())
    }
}

fn read_cgroup(src: Option<&mut FileSource>) -> Option<u64> {
    let text = src?.read().ok()?;
    match parse_cgroup_value(text).ok()? {
        CgroupValue::Bytes(b) => Some(b),
        CgroupValue::Max => None,
    }
}
