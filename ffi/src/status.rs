//! Status codes returned by every fallible export.
//!
//! The numbers are part of the ABI: a number keeps its meaning forever and a
//! retired number is never reused (list it under "Retired" below instead).

use std::ffi::c_int;

/// The result of a jetmem call. `JETMEM_STATUS_OK` (0) is success; every other
/// value says why nothing was done (outputs are written only on success).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum jetmem_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// A string argument (label) was not valid UTF-8.
    InvalidUtf8 = 2,
    /// An argument was out of range (unknown mark kind, flag or status code,
    /// device above 255, interval out of bounds, empty output path).
    InvalidArgument = 3,
    /// The tracer was already stopped: a second stop, or a mark or allocator
    /// record after stop (or after the tracer stopped by itself on a write
    /// error or because the traced process tree exited).
    AlreadyStopped = 4,
    /// The record queue between the caller and the writer thread was full;
    /// this record was dropped (the trace stays valid).
    QueueFull = 5,
    /// Opening or writing the output file failed.
    IoError = 6,
    /// The target pid does not exist.
    NoSuchProcess = 7,
    /// The caller's buffer is too small for the output.
    BufferTooSmall = 8,
    /// jetmem panicked inside this call (a bug); the call had no effect that
    /// can be relied on. The process keeps running.
    Panic = 9,
    /// The sampler failed to start or stop for another reason.
    SamplerError = 10,
    /// `jetmem_attach`: this process does not run under `jetmem record`
    /// (`JETMEM_CHANNEL` is not set).
    NotRecording = 11,
    /// The output file exists and `JETMEM_FLAG_FORCE` was not given, or it is
    /// not a regular file (a device, a FIFO, a directory, a symbolic link),
    /// which is never replaced.
    Exists = 12,
    /// This process is a fork of the one that started the tracer: its copy
    /// of the tracer records nothing and cannot stop the parent's trace.
    Forked = 13,
    // Retired numbers (never reuse): none yet.
}

/// Every status, in number order.
const ALL: [jetmem_status; 14] = [
    jetmem_status::Ok,
    jetmem_status::NullParameter,
    jetmem_status::InvalidUtf8,
    jetmem_status::InvalidArgument,
    jetmem_status::AlreadyStopped,
    jetmem_status::QueueFull,
    jetmem_status::IoError,
    jetmem_status::NoSuchProcess,
    jetmem_status::BufferTooSmall,
    jetmem_status::Panic,
    jetmem_status::SamplerError,
    jetmem_status::NotRecording,
    jetmem_status::Exists,
    jetmem_status::Forked,
];

impl jetmem_status {
    /// Every status, in number order.
    pub fn all() -> [jetmem_status; 14] {
        ALL
    }

    /// The status with number `code`, if there is one.
    pub fn from_code(code: c_int) -> Option<jetmem_status> {
        ALL.iter().copied().find(|s| *s as c_int == code)
    }

    /// A one-line English description (no trailing newline, no NUL).
    pub const fn message(self) -> &'static str {
        match self {
            jetmem_status::Ok => "ok",
            jetmem_status::NullParameter => "a required pointer argument was NULL",
            jetmem_status::InvalidUtf8 => "a string argument is not valid UTF-8",
            jetmem_status::InvalidArgument => "an argument is out of range",
            jetmem_status::AlreadyStopped => "the tracer was already stopped",
            jetmem_status::QueueFull => "the record queue is full; the record was dropped",
            jetmem_status::IoError => "opening or writing the trace file failed",
            jetmem_status::NoSuchProcess => "the target process does not exist",
            jetmem_status::BufferTooSmall => "the output buffer is too small",
            jetmem_status::Panic => "jetmem panicked inside the call (a bug in jetmem)",
            jetmem_status::SamplerError => "the sampler failed",
            jetmem_status::NotRecording => {
                "not running under `jetmem record` (JETMEM_CHANNEL is unset)"
            }
            jetmem_status::Exists => {
                "the output file exists (set the force flag to replace a regular file)"
            }
            jetmem_status::Forked => {
                "this process is a fork of the tracer's: its copy records nothing"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_dense_and_round_trip() {
        for (i, s) in ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
            assert_eq!(jetmem_status::from_code(i as c_int), Some(*s));
            assert!(!s.message().is_empty());
        }
        assert_eq!(jetmem_status::from_code(-1), None);
        assert_eq!(jetmem_status::from_code(ALL.len() as c_int), None);
    }
}
