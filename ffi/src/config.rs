//! `jetmem_config`: what a C caller asks to trace, and its checked Rust form.

use crate::handle::try_cstr;
use crate::status::jetmem_status;
use jetmem_core::sampler::{Interval, SamplerConfig, Target};
use std::ffi::{OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

/// Sample the whole system instead of a process tree (`pid` is then ignored).
pub const JETMEM_FLAG_SYSTEM: u32 = 1 << 0;
/// Do not load the CUDA driver to read GPU memory.
pub const JETMEM_FLAG_NO_CUDA: u32 = 1 << 1;
/// Replace an existing trace file (a regular file only, never a device, a
/// FIFO, a directory or a symbolic link); without it an existing file gives
/// `JETMEM_STATUS_EXISTS`.
pub const JETMEM_FLAG_FORCE: u32 = 1 << 2;
/// Every flag this version knows; other bits give `JETMEM_STATUS_INVALID_ARGUMENT`.
pub const JETMEM_FLAGS_ALL: u32 = JETMEM_FLAG_SYSTEM | JETMEM_FLAG_NO_CUDA | JETMEM_FLAG_FORCE;

/// The default sampling interval: 10 ms.
pub const JETMEM_DEFAULT_INTERVAL_NS: u64 = 10_000_000;
/// The shortest sampling interval accepted: 10 us (the core sampler's floor).
pub const JETMEM_MIN_INTERVAL_NS: u64 = 10_000;
/// The longest sampling interval accepted: 1 hour.
pub const JETMEM_MAX_INTERVAL_NS: u64 = 3_600_000_000_000;

// The C header states the bounds as numbers; the check itself is core's `Interval::new`.
const _: () = assert!(JETMEM_MIN_INTERVAL_NS as u128 == Interval::MIN.as_nanos());
const _: () = assert!(JETMEM_MAX_INTERVAL_NS as u128 == Interval::MAX.as_nanos());

/// What to trace and where to write it. Fill it with `jetmem_config_default`
/// first, then set the fields you need. jetmem copies everything it needs
/// during `jetmem_tracer_start`; the strings may be freed afterwards.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct jetmem_config {
    /// Path of the trace file to create (truncated if it exists). Required.
    pub output_path: *const c_char,
    /// Sampling interval in nanoseconds; 0 means the default (10 ms).
    /// Otherwise between `JETMEM_MIN_INTERVAL_NS` and `JETMEM_MAX_INTERVAL_NS`.
    pub interval_ns: u64,
    /// A label stored in the trace header (UTF-8, cut to 64 bytes), or NULL.
    pub label: *const c_char,
    /// The process whose tree is traced; 0 means this process and its descendants.
    pub pid: u32,
    /// `JETMEM_FLAG_*` bits.
    pub flags: u32,
    /// Root of the /proc and /sys tree to read (for tests on captured trees), or NULL for "/".
    pub root: *const c_char,
}

impl Default for jetmem_config {
    fn default() -> Self {
        jetmem_config {
            output_path: std::ptr::null(),
            interval_ns: JETMEM_DEFAULT_INTERVAL_NS,
            label: std::ptr::null(),
            pid: 0,
            flags: 0,
            root: std::ptr::null(),
        }
    }
}

/// A checked configuration: the output path and the sampler's settings.
#[derive(Debug)]
pub(crate) struct Checked {
    pub output: PathBuf,
    /// Whether an existing (regular) file may be replaced.
    pub force: bool,
    pub sampler: SamplerConfig,
}

pub(crate) fn path_from(ptr: *const c_char) -> Option<PathBuf> {
    // SAFETY: the caller of `jetmem_tracer_start` promises that the config's
    // string pointers are NULL or NUL-terminated strings (see the header).
    let s = unsafe { try_cstr(ptr) }?;
    Some(PathBuf::from(OsStr::from_bytes(s.to_bytes())))
}

/// The traced command line of this process, for the header.
fn own_command_line() -> String {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

impl jetmem_config {
    /// Checks every field; nothing is opened or started here.
    pub(crate) fn check(&self) -> Result<Checked, jetmem_status> {
        let output = path_from(self.output_path).ok_or(jetmem_status::NullParameter)?;
        if output.as_os_str().is_empty() {
            return Err(jetmem_status::InvalidArgument);
        }
        let interval_ns = match self.interval_ns {
            0 => JETMEM_DEFAULT_INTERVAL_NS,
            n => n,
        };
        let interval = Interval::new(Duration::from_nanos(interval_ns))
            .map_err(|_| jetmem_status::InvalidArgument)?;
        if self.flags & !JETMEM_FLAGS_ALL != 0 {
            return Err(jetmem_status::InvalidArgument);
        }
        // SAFETY: as in `path_from`.
        let label = match unsafe { try_cstr(self.label) } {
            None => String::new(),
            Some(s) => s
                .to_str()
                .map_err(|_| jetmem_status::InvalidUtf8)?
                .to_owned(),
        };
        let target = if self.flags & JETMEM_FLAG_SYSTEM != 0 {
            Target::System
        } else if self.pid == 0 {
            Target::Tree {
                pid: std::process::id(),
            }
        } else {
            Target::Tree { pid: self.pid }
        };
        let own = std::process::id();
        let command = match target {
            Target::Tree { pid } if pid != own => String::new(),
            _ => own_command_line(),
        };
        let mut sampler = SamplerConfig {
            interval: interval.get(),
            target,
            label,
            command,
            probe_cuda: self.flags & JETMEM_FLAG_NO_CUDA == 0,
            ..SamplerConfig::default()
        };
        if let Some(root) = path_from(self.root) {
            sampler.root = root;
        }
        Ok(Checked {
            output,
            force: self.flags & JETMEM_FLAG_FORCE != 0,
            sampler,
        })
    }
}
