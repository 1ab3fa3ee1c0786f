//! NVML, loaded at run time like libcuda: per-process GPU memory
//! ([`procs`]) and device-wide memory ([`memory`]).
//!
//! `libnvidia-ml.so.1` is opened with `dlopen` (never linked): a missing
//! library, a missing symbol or an NVML error makes the figures absent with
//! the reason ([`NvmlUnavailable`]), never a panic. Each part is checked on
//! its own once NVML is initialised: Jetson JetPack 5/6 answers
//! `NVML_ERROR_NOT_SUPPORTED` (3) to both, some Thor BSPs to the memory call
//! only ([`NvmlUnavailable::NotSupported`]).

mod memory;
mod procs;

pub use memory::{NvmlMemory, NvmlMemoryVersion, NvmlReadError, cuda_uuid_text};
pub use procs::{MAX_PROCS, NvmlProcess, NvmlProcesses, NvmlProcsVersion};

use libloading::Library;
use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::path::Path;

/// The library name the NVIDIA driver installs.
pub const NVML_LIBRARY: &str = "libnvidia-ml.so.1";

const NVML_SUCCESS: c_int = 0;
const NVML_ERROR_NOT_SUPPORTED: c_int = 3;
const MAX_DEVICES: c_uint = 64;

type Device = *mut c_void;
type InitFn = unsafe extern "C" fn() -> c_int;
type CountFn = unsafe extern "C" fn(*mut c_uint) -> c_int;
type HandleFn = unsafe extern "C" fn(c_uint, *mut Device) -> c_int;
type ErrorStringFn = unsafe extern "C" fn(c_int) -> *const c_char;

/// Why there are no NVML figures (of one kind, or at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NvmlUnavailable {
    /// `libnvidia-ml.so.1` could not be loaded: the loader's words.
    NoLibrary(String),
    /// The library lacks a symbol jetmem needs.
    MissingSymbol(&'static str),
    /// NVML answers `NVML_ERROR_NOT_SUPPORTED` to this call here (Jetson
    /// JetPack 5/6 to both calls; some Thor BSPs to the memory call).
    NotSupported(&'static str),
    /// NVML reports no device.
    NoDevice,
    /// NVML reports several GPUs and none is known to be CUDA device 0 (the
    /// count): CUDA's UUID is unknown, or no NVML device has it.
    NoCudaMatch(usize),
    /// Any other NVML error: the call and `nvmlErrorString`.
    Error(&'static str, String),
}

impl NvmlUnavailable {
    /// Words for reports.
    pub fn reason(&self) -> String {
        match self {
            NvmlUnavailable::NoLibrary(e) => format!("no NVML ({NVML_LIBRARY} not loaded: {e})"),
            NvmlUnavailable::MissingSymbol(s) => format!("NVML lacks {s}"),
            NvmlUnavailable::NotSupported(call) => {
                format!("NVML answers Not Supported to {call} on this device")
            }
            NvmlUnavailable::NoDevice => "NVML reports no GPU".into(),
            NvmlUnavailable::NoCudaMatch(n) => {
                format!("NVML reports {n} GPUs and none is known to be CUDA device 0")
            }
            NvmlUnavailable::Error(call, e) => format!("NVML error in {call}: {e}"),
        }
    }
}

/// An initialised NVML with the devices it reported.
pub struct Nvml {
    error_string: Option<ErrorStringFn>,
    shutdown: Option<InitFn>,
    /// The process-list call, or why NVML lists no processes here.
    procs: Result<procs::ProcList, NvmlUnavailable>,
    /// The device-wide memory call, once [`Nvml::open_memory`] succeeded.
    memory: Option<memory::MemoryRead>,
    devices: Vec<Device>,
    // Last: the symbols above point into it.
    lib: Library,
}

impl std::fmt::Debug for Nvml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nvml")
            .field("procs", &self.version())
            .field("memory", &self.memory_version())
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

    /// Opens NVML from `path` (a bare name is searched like `dlopen` does),
    /// initialises it and checks whether it lists processes
    /// ([`Nvml::processes_unavailable`]). Device-wide memory is opened on
    /// request ([`Nvml::open_memory`]).
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
        let mut nvml = Nvml {
            error_string,
            shutdown: None,
            procs: procs::find(&lib),
            memory: None,
            devices: Vec::new(),
            lib,
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
        // Jetson JP5/6: the call exists but answers Not Supported; know it now.
        if let Some(list) = nvml.procs.as_ref().ok().copied() {
            let mut probe = NvmlProcesses::new();
            if let Err(e) = nvml.list_into(list, |_| true, &mut probe) {
                nvml.procs = Err(e);
            }
        }
        Ok(nvml)
    }

    /// How many GPUs NVML reports (at most 64 are kept).
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    fn check(&self, call: &'static str, rc: c_int) -> Result<(), NvmlUnavailable> {
        match rc {
            NVML_SUCCESS => Ok(()),
            _ => Err(self.unavailable(call, rc)),
        }
    }

    /// What NVML's return code `rc` (not success) from `call` means.
    fn unavailable(&self, call: &'static str, rc: c_int) -> NvmlUnavailable {
        match rc {
            NVML_ERROR_NOT_SUPPORTED => NvmlUnavailable::NotSupported(call),
            _ => NvmlUnavailable::Error(call, self.error_text(rc)),
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
}

impl Drop for Nvml {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown {
            // SAFETY: nvmlInit_v2 succeeded (shutdown is set only then); once.
            unsafe { shutdown() };
        }
    }
}
