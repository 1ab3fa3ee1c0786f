//! NVML per-process GPU memory: `nvmlDeviceGetComputeRunningProcesses`
//! (`_v3`, else `_v2`, else the unversioned v1 symbol) for every device.

use super::{Device, Nvml, NvmlUnavailable};
use libloading::Library;
use std::ffi::{c_int, c_uint, c_ulonglong, c_void};

const NVML_ERROR_INSUFFICIENT_SIZE: c_int = 7;
/// `NVML_VALUE_NOT_AVAILABLE`: `usedGpuMemory` is unknown (e.g. under WDDM or MIG).
const NVML_VALUE_NOT_AVAILABLE: c_ulonglong = c_ulonglong::MAX;
/// Processes asked for per device and call, and kept per read: NVML's own
/// tools use 64..1024.
pub const MAX_PROCS: usize = 256;

/// A fixed buffer of per-process figures (no allocation).
pub type NvmlProcesses = heapless::Vec<NvmlProcess, MAX_PROCS>;

pub(super) type ProcsFn = unsafe extern "C" fn(Device, *mut c_uint, *mut c_void) -> c_int;

/// `nvmlProcessInfo_v1_t` (unversioned symbol).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ProcV1 {
    pid: c_uint,
    used: c_ulonglong,
}

/// `nvmlProcessInfo_t` / `_v2_t` (the `_v2` and `_v3` symbols).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ProcV2 {
    pid: c_uint,
    used: c_ulonglong,
    _gpu_instance: c_uint,
    _compute_instance: c_uint,
}

/// The two fields jetmem reads from either struct layout.
trait ProcInfo: Copy + Default {
    fn pid_used(&self) -> (c_uint, c_ulonglong);
}

impl ProcInfo for ProcV1 {
    fn pid_used(&self) -> (c_uint, c_ulonglong) {
        (self.pid, self.used)
    }
}

impl ProcInfo for ProcV2 {
    fn pid_used(&self) -> (c_uint, c_ulonglong) {
        (self.pid, self.used)
    }
}

/// Which `nvmlDeviceGetComputeRunningProcesses` the driver offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NvmlProcsVersion {
    /// `_v3`.
    V3,
    /// `_v2`.
    V2,
    /// The unversioned symbol (v1 struct).
    V1,
}

/// One process on a GPU, as NVML reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmlProcess {
    /// The process id (host pid namespace).
    pub pid: u32,
    /// `usedGpuMemory`, bytes; `None` when NVML says it is not available.
    pub used_bytes: Option<u64>,
}

/// The process-list symbol the driver offers, and its struct version.
#[derive(Clone, Copy)]
pub(super) struct ProcList {
    f: ProcsFn,
    version: NvmlProcsVersion,
}

/// The newest process-list symbol `lib` exports.
pub(super) fn find(lib: &Library) -> Result<ProcList, NvmlUnavailable> {
    // SAFETY: all three take (device, *count, *infos) as nvml.h declares.
    unsafe {
        [
            (
                "nvmlDeviceGetComputeRunningProcesses_v3",
                NvmlProcsVersion::V3,
            ),
            (
                "nvmlDeviceGetComputeRunningProcesses_v2",
                NvmlProcsVersion::V2,
            ),
            ("nvmlDeviceGetComputeRunningProcesses", NvmlProcsVersion::V1),
        ]
        .into_iter()
        .find_map(|(name, version)| {
            super::sym::<ProcsFn>(lib, name).map(|f| ProcList { f, version })
        })
        .ok_or(NvmlUnavailable::MissingSymbol(
            "nvmlDeviceGetComputeRunningProcesses(_v3/_v2)",
        ))
    }
}

impl Nvml {
    /// Which process-list symbol is used; `None` when NVML lists no
    /// processes here (see [`Nvml::processes_unavailable`]).
    pub fn version(&self) -> Option<NvmlProcsVersion> {
        self.procs.as_ref().ok().map(|p| p.version)
    }

    /// Why NVML gives no per-process figures here (Jetson JetPack 5/6: Not
    /// Supported), or `None` when it does.
    pub fn processes_unavailable(&self) -> Option<&NvmlUnavailable> {
        self.procs.as_ref().err()
    }

    /// The compute processes on every device whose pid `keep` accepts, by
    /// pid; a pid on several devices has its bytes summed (unknown if any is).
    pub fn processes(
        &self,
        keep: impl Fn(u32) -> bool,
    ) -> Result<Vec<NvmlProcess>, NvmlUnavailable> {
        let mut out = NvmlProcesses::new();
        self.processes_into(keep, &mut out)?;
        Ok(out.to_vec())
    }

    /// Like [`Nvml::processes`] into a fixed buffer, without allocating (the
    /// sampler thread's slow path); sorted by pid. More than [`MAX_PROCS`]
    /// kept processes is an error, never a silently short list.
    pub fn processes_into(
        &self,
        keep: impl Fn(u32) -> bool,
        out: &mut NvmlProcesses,
    ) -> Result<(), NvmlUnavailable> {
        out.clear();
        let list = self.procs.as_ref().map_err(Clone::clone)?;
        self.list_into(*list, keep, out)
    }

    /// The read behind [`Nvml::processes_into`], with the symbol to call.
    pub(super) fn list_into(
        &self,
        list: ProcList,
        keep: impl Fn(u32) -> bool,
        out: &mut NvmlProcesses,
    ) -> Result<(), NvmlUnavailable> {
        out.clear();
        for &dev in &self.devices {
            let mut full = false;
            self.device_processes(list, dev, |p| {
                if !keep(p.pid) {
                    return;
                }
                match out.iter_mut().find(|q| q.pid == p.pid) {
                    Some(q) => {
                        q.used_bytes = q
                            .used_bytes
                            .zip(p.used_bytes)
                            .map(|(a, b)| a.saturating_add(b))
                    }
                    None => full |= out.push(p).is_err(),
                }
            })?;
            if full {
                return Err(too_many());
            }
        }
        out.sort_unstable_by_key(|p| p.pid);
        Ok(())
    }

    fn device_processes(
        &self,
        list: ProcList,
        dev: Device,
        f: impl FnMut(NvmlProcess),
    ) -> Result<(), NvmlUnavailable> {
        match list.version {
            NvmlProcsVersion::V1 => self.read_list::<ProcV1>(list.f, dev, f),
            NvmlProcsVersion::V2 | NvmlProcsVersion::V3 => self.read_list::<ProcV2>(list.f, dev, f),
        }
    }

    /// One call of the process-list symbol `procs` with a buffer of `P`, the
    /// struct layout that symbol's version expects.
    fn read_list<P: ProcInfo>(
        &self,
        procs: ProcsFn,
        dev: Device,
        mut f: impl FnMut(NvmlProcess),
    ) -> Result<(), NvmlUnavailable> {
        let mut n = MAX_PROCS as c_uint;
        let mut buf = [P::default(); MAX_PROCS];
        // SAFETY: `buf` holds `n` structs of the layout the symbol's version expects.
        let rc = unsafe { procs(dev, &mut n, buf.as_mut_ptr().cast()) };
        self.list_rc(rc)?;
        for p in buf.iter().take(n as usize) {
            let (pid, used) = p.pid_used();
            f(NvmlProcess {
                pid,
                used_bytes: (used != NVML_VALUE_NOT_AVAILABLE).then_some(used),
            });
        }
        Ok(())
    }

    /// More than `MAX_PROCS` processes: NVML filled none, so say so rather
    /// than show a partial list.
    fn list_rc(&self, rc: c_int) -> Result<(), NvmlUnavailable> {
        if rc == NVML_ERROR_INSUFFICIENT_SIZE {
            return Err(too_many());
        }
        self.check("nvmlDeviceGetComputeRunningProcesses", rc)
    }
}

fn too_many() -> NvmlUnavailable {
    NvmlUnavailable::Error(
        "nvmlDeviceGetComputeRunningProcesses",
        format!("more than {MAX_PROCS} GPU processes"),
    )
}
