//! The collector: every source opened once, read into one [`Sample`].
//!
//! The hot path ([`Collector::fast`]) reads only cheap files through kept file
//! descriptors: `/proc/meminfo`, the cgroup's usage, `statm` of each traced
//! process, the O(1) nvmap total, GPU load, `cuMemGetInfo` and NVML's
//! device memory (one driver call each, like CUDA's). The slow path
//! ([`Collector::slow`], about every 100 ms) discovers processes, reads
//! `status`, zram, PSI, the cgroup peak and limit, and nvmap's client table
//! (and NVML's process list, for the sampler's `GpuProcess` records); its
//! values are carried into every sample until the next slow read.

mod open;

use super::cuda::Cuda;
use super::nvml::{Nvml, NvmlProcess, NvmlProcesses};
use super::source::{FileSource, SourceStatus};
use super::tree::{Change, ProcessTree, SlowSums};
use crate::accounting::gpu_used_from;
use crate::parse::cgroup::{CgroupValue, parse_cgroup_value};
use crate::parse::gpu_load::parse_gpu_load;
use crate::parse::meminfo::MeminfoParser;
use crate::parse::nvmap::{nvmap_clients_total, parse_nvmap_total};
use crate::parse::pressure::parse_psi;
use crate::parse::zram::parse_zram_mm_stat;
use crate::record::{Counter, Counters, GpuSource, Platform, Sample};
use std::path::{Path, PathBuf};

const NVMAP_TOTAL: &str = "/sys/kernel/debug/nvmap/stats/total_memory";
const NVMAP_CLIENTS: &str = "/sys/kernel/debug/nvmap/iovmm/clients";
/// The bound on nvmap's client list: one line of about 60 bytes per client
/// process, so 1 MiB holds about 17 000 clients.
const NVMAP_CLIENTS_MAX_BYTES: usize = 1 << 20;

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
    nvml: Option<Nvml>,
    nvml_reason: Option<String>,
    /// The last NVML read, reused so the slow path does not allocate.
    nvml_buf: NvmlProcesses,
    /// An NVML device-memory read failed (logged once, then absent quietly).
    nvml_read_failed: bool,
    sticky: Sticky,
}

/// The page size of this machine, from `sysconf(_SC_PAGESIZE)`.
pub fn page_size() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(n)) if n > 0 => n as u64,
        _ => 4096,
    }
}

impl Collector {
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

    /// Why NVML per-process figures are absent, if they are.
    pub fn nvml_reason(&self) -> Option<&str> {
        self.nvml_reason.as_deref()
    }

    /// NVML's figures for the traced tree's processes (slow path): what
    /// NVML lists for pids the tree tracks, sorted by pid. Empty without
    /// NVML; a failed read is logged and yields nothing this time.
    pub fn gpu_processes(&mut self) -> &[NvmlProcess] {
        self.nvml_buf.clear();
        let lists = self
            .nvml
            .as_ref()
            .filter(|n| n.processes_unavailable().is_none());
        if let (Some(nvml), Some(tree)) = (lists, &self.tree) {
            let tracked = |pid: u32| tree.processes().iter().any(|p| p.pid == pid);
            if let Err(e) = nvml.processes_into(tracked, &mut self.nvml_buf) {
                log::warn!("NVML per-process read failed: {}", e.reason());
            }
        }
        &self.nvml_buf
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
        self.nvml_memory(c);
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

    /// NVML's device memory into `c` (hot path): absent when NVML has none
    /// or the read fails; the first failure is logged with its reason.
    fn nvml_memory(&mut self, c: &mut Counters) {
        let Some(nvml) = &self.nvml else { return };
        match nvml.memory() {
            Some(Ok(m)) => {
                c.set(Counter::NvmlTotal, Some(m.total_bytes));
                c.set(Counter::NvmlFree, Some(m.free_bytes));
                c.set(Counter::NvmlReserved, m.reserved_bytes);
            }
            Some(Err(e)) if !self.nvml_read_failed => {
                self.nvml_read_failed = true;
                log::warn!(
                    "NVML device memory read failed (absent until it works again): {}",
                    nvml.read_error(e).reason()
                );
            }
            _ => {}
        }
    }

    /// The slow path: process discovery, `status` sums and the slower files.
    pub fn slow(&mut self, mut on_change: impl FnMut(&Change)) {
        if let Some(tree) = self.tree.as_mut() {
            tree.refresh(&mut on_change);
            self.sticky.sums = tree.sample_status();
        }
        self.slow_files();
    }

    /// The tree's slow path spread over samples (the sampler's way): discovery
    /// through the `comm` and children files of up to `parents` processes (0:
    /// none), then the `status` of the next `statuses`. Returns true when a discovery
    /// cycle ended in this step.
    pub fn slow_step(
        &mut self,
        parents: usize,
        statuses: usize,
        mut on_change: impl FnMut(&Change),
    ) -> bool {
        let Some(tree) = self.tree.as_mut() else {
            return true;
        };
        let done = parents > 0 && tree.refresh_step(parents, &mut on_change);
        if statuses > 0 {
            self.sticky.sums = tree.status_step(statuses);
        }
        done
    }

    /// Processes tracked (0 for a whole-system collector).
    pub fn tree_len(&self) -> usize {
        self.tree.as_ref().map_or(0, |t| t.processes().len())
    }

    /// The slower files: zram, PSI, the cgroup's peak and limit, nvmap clients.
    pub fn slow_files(&mut self) {
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

    /// Like [`Collector::processes`], to take each one's running peak.
    pub(super) fn processes_mut(&mut self) -> impl Iterator<Item = &mut super::tree::Tracked> {
        self.tree
            .iter_mut()
            .flat_map(|t| t.processes_mut().iter_mut())
    }
}

fn read_cgroup(src: Option<&mut FileSource>) -> Option<u64> {
    let text = src?.read().ok()?;
    match parse_cgroup_value(text).ok()? {
        CgroupValue::Bytes(b) => Some(b),
        CgroupValue::Max => None,
    }
}
