//! `libjetmem_cudahook.so`: the interposer `jetmem record --cuda-hook` puts in
//! `LD_PRELOAD`. It counts this process's CUDA allocations by kind (device,
//! managed, pinned host, virtual-memory handles) and pushes a snapshot into
//! the marker channel (`JETMEM_CHANNEL`) after each counted call. What is
//! intercepted and how: docs/cuda-hook.md.
//!
//! Rules: a call's arguments and result are passed through unchanged; after
//! the library is loaded, the call path takes no lock and allocates nothing
//! (atomics, the fixed [`table`], one channel push); a process without
//! libcuda, or a libcuda lacking a symbol, sees exactly what it would see
//! without the hook.

#![allow(non_snake_case, reason = "the exported names are the CUDA driver's")]

pub mod counts;
mod resolve;
pub mod table;

use counts::{CHANNEL, COUNTS};
use jetmem_core::channel::shm::Mapped;
use jetmem_core::record::CudaHookKind;
use resolve::{CUDA_SUCCESS, CUresult};
use std::ffi::{c_char, c_int, c_uint, c_void};

pub use resolve::dlsym;

/// At load: maps the channel named in the environment (the only allocation)
/// and resolves the real `dlsym`.
extern "C" fn init() {
    resolve::init();
    if let Ok(Some(ch)) = Mapped::from_env() {
        let _ = CHANNEL.set(ch);
    }
    // An all-zero snapshot: the recorder learns the hook was loaded here.
    COUNTS.publish();
    // SAFETY: registers a child-side handler that only stores atomics.
    let _ = unsafe { libc::pthread_atfork(None, None, Some(after_fork)) };
}

/// In the child of `fork`: the parent's allocations are not the child's.
extern "C" fn after_fork() {
    COUNTS.reset();
}

/// At unload (process exit): one last snapshot, in case the last push found
/// the channel full.
extern "C" fn fini() {
    COUNTS.publish();
}

#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = init;

#[used]
#[unsafe(link_section = ".fini_array")]
static FINI: extern "C" fn() = fini;

/// The driver's function behind hook `name`, once a lookup found it (for
/// benchmarks and tests: the call without the hook).
#[doc(hidden)]
pub fn driver_function(name: &std::ffi::CStr) -> Option<usize> {
    let i = NAMES.iter().position(|n| *n == name)?;
    Some(resolve::real(i)).filter(|p| *p != 0)
}

/// Reads the out-parameter the driver filled (0 if null).
fn out<T: Copy + Into<u64>>(p: *const T) -> u64 {
    if p.is_null() {
        return 0;
    }
    // SAFETY: the driver just returned CUDA_SUCCESS after writing through this
    // caller-provided pointer, so it points at a valid `T`.
    unsafe { p.read() }.into()
}

fn alloc(key: u64, size: u64, kind: CudaHookKind) {
    COUNTS.allocated(key, size, kind);
    COUNTS.publish();
}

fn free(key: u64) {
    COUNTS.freed(key);
    COUNTS.publish();
}

/// Virtual-memory handles share the table with pointers: tagged in bit 63.
const VMM_TAG: u64 = 1 << 63;

resolve::hooks! {
    MemAlloc = cuMemAlloc_v2(dptr: *mut u64, size: usize) => {
        alloc(out(dptr), size as u64, CudaHookKind::Device)
    };
    MemAllocPitch = cuMemAllocPitch_v2(dptr: *mut u64, pitch: *mut usize, width: usize, height: usize, elem: c_uint) => {
        let _ = (width, elem);
        alloc(out(dptr), out(pitch as *const u64).saturating_mul(height as u64), CudaHookKind::Device)
    };
    MemAllocAsync = cuMemAllocAsync(dptr: *mut u64, size: usize, stream: *mut c_void) => {
        let _ = stream;
        alloc(out(dptr), size as u64, CudaHookKind::Device)
    };
    MemAllocAsyncPtsz = cuMemAllocAsync_ptsz(dptr: *mut u64, size: usize, stream: *mut c_void) => {
        let _ = stream;
        alloc(out(dptr), size as u64, CudaHookKind::Device)
    };
    MemAllocFromPool = cuMemAllocFromPoolAsync(dptr: *mut u64, size: usize, pool: *mut c_void, stream: *mut c_void) => {
        let _ = (pool, stream);
        alloc(out(dptr), size as u64, CudaHookKind::Device)
    };
    MemAllocFromPoolPtsz = cuMemAllocFromPoolAsync_ptsz(dptr: *mut u64, size: usize, pool: *mut c_void, stream: *mut c_void) => {
        let _ = (pool, stream);
        alloc(out(dptr), size as u64, CudaHookKind::Device)
    };
    MemAllocManaged = cuMemAllocManaged(dptr: *mut u64, size: usize, flags: c_uint) => {
        let _ = flags;
        alloc(out(dptr), size as u64, CudaHookKind::Managed)
    };
    MemFree = cuMemFree_v2(dptr: u64) => free(dptr);
    MemFreeAsync = cuMemFreeAsync(dptr: u64, stream: *mut c_void) => {
        let _ = stream;
        free(dptr)
    };
    MemFreeAsyncPtsz = cuMemFreeAsync_ptsz(dptr: u64, stream: *mut c_void) => {
        let _ = stream;
        free(dptr)
    };
    MemAllocHost = cuMemAllocHost_v2(pp: *mut *mut c_void, size: usize) => {
        alloc(out(pp as *const u64), size as u64, CudaHookKind::Pinned)
    };
    MemHostAlloc = cuMemHostAlloc(pp: *mut *mut c_void, size: usize, flags: c_uint) => {
        let _ = flags;
        alloc(out(pp as *const u64), size as u64, CudaHookKind::Pinned)
    };
    MemFreeHost = cuMemFreeHost(p: *mut c_void) => free(p as u64);
    MemHostRegister = cuMemHostRegister_v2(p: *mut c_void, size: usize, flags: c_uint) => {
        let _ = flags;
        alloc(p as u64, size as u64, CudaHookKind::Pinned)
    };
    MemHostUnregister = cuMemHostUnregister(p: *mut c_void) => free(p as u64);
    MemCreate = cuMemCreate(handle: *mut u64, size: usize, prop: *const c_void, flags: u64) => {
        let _ = (prop, flags);
        alloc(out(handle) | VMM_TAG, size as u64, CudaHookKind::Vmm)
    };
    MemRelease = cuMemRelease(handle: u64) => free(handle | VMM_TAG);
    GetProcAddress = cuGetProcAddress(symbol: *const c_char, pfn: *mut *mut c_void, version: c_int, flags: u64) => {
        let _ = (symbol, version, flags);
        resolve::substitute(pfn)
    };
    GetProcAddressV2 = cuGetProcAddress_v2(symbol: *const c_char, pfn: *mut *mut c_void, version: c_int, flags: u64, status: *mut c_int) => {
        let _ = (symbol, version, flags, status);
        resolve::substitute(pfn)
    };
}
