//! NVML per-process GPU memory, loaded at run time like libcuda.
//!
//! `libnvidia-ml.so.1` is opened with `dlopen` (never linked): a missing
//! library, a missing symbol or an NVML error makes the figures absent with
//! the reason ([`NvmlUnavailable`]), never a panic. The per-process list comes
//! from `nvmlDeviceGetComputeRunningProcesses_v3`, falling back to `_v2` and
//! the unversioned (v1) symbol as the driver offers them. Jetson JetPack 5/6
//! answers `NVML_ERROR_NOT_SUPPORTED` (3) there: [`NvmlUnavailable::NotSupported`].

use libloading::Library;
use std::ffi::{CStr, c_char, c_int, c_uint, c_ulonglong, c_void};
use std::path::Path;

/// The library name the NVIDIA driver installs.
pub const NVML_LIBRARY: &str = "libnvidia-ml.so.1";

const NVML_SUCCESS: c_int = 0;
const NVML_ERROR_NOT_SUPPORTED: c_int = 3;
const NVML_ERROR_INSUFFICIENT_SIZE: c_int = 7;
/// `NVML_VALUE_NOT_AVAILABLE`: `usedGpuMemory` is unknown (e.g. under WDDM or MIG).
const NVML_VALUE_NOT_AVAILABLE: c_ulonglong = c_ulonglong::MAX;
/// Processes asked for per device and call, and kept per read: NVML's own
/// tools use 64..1024.
pub const MAX_PROCS: usize = 256;

/// A fixed buffer of per-process figures (no allocation).
pub type NvmlProcesses = heapless::Vec<NvmlProcess, MAX_PROCS>;
const MAX_DEVICES: c_uint = 64;

type Device = *mut c_void;
type InitFn = unsafe extern "C" fn() -> c_int;
type CountFn = unsafe extern "C" fn(*mut c_uint) -> c_int;
type HandleFn = unsafe extern "C" fn(c_uint, *mut Device) -> c_int;
type ErrorStringFn = unsafe extern "C" fn(c_int) -> *const c_char;
type ProcsFn = unsafe extern "C" fn(Device, *mut c_uint, *mut c_void) -> c_int;

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

/// Why there are no NVML per-process figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NvmlUnavailable {
    /// `libnvidia-ml.so.1` could not be loaded: the loader's words.
    NoLibrary(String),
    /// The library lacks a symbol jetmem needs.
    MissingSymbol(&'static str),
    /// NVML does not report per-process memory here (Jetson JetPack 5/6).
    NotSupported,
    /// NVML reports no device.
    NoDevice,
    /// Any other NVML error: the call and `nvmlErrorString`.
    Error(&'static str, String),
}

impl NvmlUnavailable {
    /// Words for reports.
    pub fn reason(&self) -> String {
        match self {
            NvmlUnavailable::NoLibrary(e) => format!("no NVML ({NVML_LIBRARY} not loaded: {e})"),
            NvmlUnavailable::MissingSymbol(s) => format!("NVML lacks {s}"),
            NvmlUnavailable::NotSupported => {
                "NVML does not report per-process memory on this device (Not Supported)".into()
            }
            NvmlUnavailable::NoDevice => "NVML reports no GPU".into(),
            NvmlUnavailable::Error(call, e) => format!("NVML error in {call}: {e}"),
        }
    }
}

/// One process on a GPU, as NVML reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmlProcess {
    /// The process id (host pid namespace).
    pub pid: u32,
    /// `usedGpuMemory`, bytes; `None` when NVML says it is not available.
    pub used_bytes: Option<u64>,
}

/// An initialised NVML with the devices it reported.
pub struct Nvml {
    error_string: Option<ErrorStringFn>,
    shutdown: Option<InitFn>,
    procs: ProcsFn,
    version: NvmlProcsVersion,
    devices: Vec<Device>,
    // Last: the symbols above point into it.
    _lib: Library,
}

impl std::fmt::Debug for Nvml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nvml")
            .field("version", &self.version)
            .field("devices", &self.devices.len())
            .finish()
    }
}

// SAFETY: NVML is thread-safe (documented in nvml.h); device handles are
// opaque driver pointers valid for any thread until nvmlShutdown.
unsafe impl Send for Nvml {}

/// Looks `name` up in `lib` as a function of type `T`.
///
/// # Safety
/// `T` must be the symbol's real C signature.
unsafe fn sym<T: Copy>(lib: &Library, name: &'static str) -> Option<T> {
    // SAFETY: the caller names the symbol's true signature; the copied
    // pointer is used only while `lib` stays loaded (it is kept in `Nvml`).
    unsafe { lib.get::<T>(name.as_bytes()).ok().map(|s| *s) }
}

/// libloading's words and the loader's (`dlerror`) beneath them.
fn load_error(e: &libloading::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

impl Nvml {
    /// Opens the driver's `libnvidia-ml.so.1` (found by the dynamic loader).
    pub fn open() -> Result<Nvml, NvmlUnavailable> {
        Nvml::open_at(Path::new(NVML_LIBRARY))
    }

    /// Opens NVML from `path` (a bare name is searched like `dlopen` does).
    pub fn open_at(path: &Path) -> Result<Nvml, NvmlUnavailable> {
        // SAFETY: loading NVML runs only its initialisers, which take no arguments.
        let lib = unsafe { Library::new(path.as_os_str()) }
            .map_err(|e| NvmlUnavailable::NoLibrary(load_error(&e)))?;
        // SAFETY: each type below is the nvml.h signature of the symbol named.
        let (init, count, handle, error_string, shutdown) = unsafe {
            (
                sym::<InitFn>(&lib, "nvmlInit_v2")
                    .ok_or(NvmlUnavailable::MissingSymbol("nvmlInit_v2"))?,
                sym::<CountFn>(&lib, "nvmlDeviceGetCount_v2")
                    .ok_or(NvmlUnavailable::MissingSymbol("nvmlDeviceGetCount_v2"))?,
                sym::<HandleFn>(&lib, "nvmlDeviceGetHandleByIndex_v2").ok_or(
                    NvmlUnavailable::MissingSymbol("nvmlDeviceGetHandleByIndex_v2"),
                )?,
                sym::<ErrorStringFn>(&lib, "nvmlErrorString"),
                sym::<InitFn>(&lib, "nvmlShutdown"),
            )
        };
        // SAFETY: as above; all three take (device, *count, *infos).
        let (procs, version) = unsafe {
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
            .find_map(|(name, v)| sym::<ProcsFn>(&lib, name).map(|f| (f, v)))
            .ok_or(NvmlUnavailable::MissingSymbol(
                "nvmlDeviceGetComputeRunningProcesses(_v3/_v2)",
            ))?
        };
        let mut nvml = Nvml {
            error_string,
            shutdown: None,
            procs,
            version,
            devices: Vec::new(),
            _lib: lib,
        };
        // SAFETY: nvmlInit_v2 takes no arguments.
        nvml.check("nvmlInit_v2", unsafe { init() })?;
        nvml.shutdown = shutdown;
        let mut n: c_uint = 0;
        // SAFETY: `n` is a valid out-pointer.
        nvml.check("nvmlDeviceGetCount_v2", unsafe { count(&mut n) })?;
        for i in 0..n.min(MAX_DEVICES) {
            let mut dev: Device = std::ptr::null_mut();
            // SAFETY: `i` < the device count; `dev` is a valid out-pointer.
            nvml.check("nvmlDeviceGetHandleByIndex_v2", unsafe {
                handle(i, &mut dev)
            })?;
            nvml.devices.push(dev);
        }
        if nvml.devices.is_empty() {
            return Err(NvmlUnavailable::NoDevice);
        }
        // Jetson JP5/6: the call exists but answers Not Supported; say so now.
        nvml.processes(|_| true)?;
        Ok(nvml)
    }

    /// Which process-list symbol is used.
    pub fn version(&self) -> NvmlProcsVersion {
        self.version
    }

    fn check(&self, call: &'static str, rc: c_int) -> Result<(), NvmlUnavailable> {
        match rc {
            NVML_SUCCESS => Ok(()),
            NVML_ERROR_NOT_SUPPORTED => Err(NvmlUnavailable::NotSupported),
            _ => Err(NvmlUnavailable::Error(call, self.error_text(rc))),
        }
    }

    fn error_text(&self, rc: c_int) -> String {
        let text = self.error_string.map(|f| {
            // SAFETY: nvmlErrorString returns a static C string (or null).
            let p = unsafe { f(rc) };
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: non-null, NUL-terminated, static in the library.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        });
        match text {
            Some(t) if !t.is_empty() => format!("{t} ({rc})"),
            _ => format!("return code {rc}"),
        }
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
        for &dev in &self.devices {
            let mut full = false;
            self.device_processes(dev, |p| {
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
        dev: Device,
        f: impl FnMut(NvmlProcess),
    ) -> Result<(), NvmlUnavailable> {
        match self.version {
            NvmlProcsVersion::V1 => self.read_list::<ProcV1>(dev, f),
            NvmlProcsVersion::V2 | NvmlProcsVersion::V3 => self.read_list::<ProcV2>(dev, f),
        }
    }

    /// One call of the process-list symbol with a buffer of `P`, the struct
    /// layout that symbol's version expects.
    fn read_list<P: ProcInfo>(
        &self,
        dev: Device,
        mut f: impl FnMut(NvmlProcess),
    ) -> Result<(), NvmlUnavailable> {
        let mut n = MAX_PROCS as c_uint;
        let mut buf = [P::default(); MAX_PROCS];
        // SAFETY: `buf` holds `n` structs of the layout `self.version`'s symbol expects.
        let rc = unsafe { (self.procs)(dev, &mut n, buf.as_mut_ptr().cast()) };
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

impl Drop for Nvml {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown {
            // SAFETY: nvmlInit_v2 succeeded (shutdown is set only then); once.
            unsafe { shutdown() };
        }
    }
}
