//! CUDA through cudarc's driver API, loaded at run time.
//!
//! `is_culib_present()` is checked before any other call: without libcuda,
//! cudarc panics on its first call. Each call is also kept behind
//! `catch_unwind`, because a libcuda that lacks a symbol panics too; a missing
//! driver or device makes the CUDA figures absent with the reason, never a crash.

use cudarc::driver::{result, sys};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The device found at probe time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaDeviceInfo {
    /// `cuDeviceGetName`.
    pub name: String,
    /// `CU_DEVICE_ATTRIBUTE_INTEGRATED` = 1.
    pub integrated: bool,
    /// `cuDeviceTotalMem`, bytes.
    pub total_bytes: u64,
}

/// Why there are no CUDA figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CudaUnavailable {
    /// CUDA probing was turned off.
    Disabled,
    /// No libcuda.so could be loaded.
    NoDriver,
    /// The driver loaded but reports no device (`CUDA_ERROR_NO_DEVICE`) or none at this ordinal.
    NoDevice,
    /// Any other driver error, with its text.
    Error(String),
}

impl CudaUnavailable {
    /// Words for reports.
    pub fn reason(&self) -> String {
        match self {
            CudaUnavailable::Disabled => "CUDA probing disabled".into(),
            CudaUnavailable::NoDriver => "no CUDA driver (libcuda.so not found)".into(),
            CudaUnavailable::NoDevice => "no CUDA device".into(),
            CudaUnavailable::Error(e) => format!("CUDA driver error: {e}"),
        }
    }
}

fn guarded<T>(f: impl FnOnce() -> Result<T, CudaUnavailable>) -> Result<T, CudaUnavailable> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "libcuda call failed".into());
        Err(CudaUnavailable::Error(msg))
    })
}

fn driver_error(e: result::DriverError) -> CudaUnavailable {
    if e.0 == sys::cudaError_enum::CUDA_ERROR_NO_DEVICE
        || e.0 == sys::cudaError_enum::CUDA_ERROR_INVALID_DEVICE
    {
        CudaUnavailable::NoDevice
    } else {
        CudaUnavailable::Error(format!("{e:?}"))
    }
}

/// An opened CUDA device; with a context when memory figures were asked for.
#[derive(Debug)]
pub struct Cuda {
    /// What the device says of itself.
    pub info: CudaDeviceInfo,
    dev: sys::CUdevice,
    ctx: Option<sys::CUcontext>,
}

// SAFETY: a CUcontext is a driver handle that the CUDA driver API allows to be
// made current on any thread (cuCtxSetCurrent); the sampler uses it from one
// thread at a time.
unsafe impl Send for Cuda {}

impl Cuda {
    /// Finds device `ordinal`. With `memory`, retains its primary context so
    /// that [`Cuda::mem_info`] works (this creates the context's own footprint).
    pub fn open(ordinal: i32, memory: bool) -> Result<Cuda, CudaUnavailable> {
        // SAFETY: is_culib_present only tries to dlopen the library names.
        if !guarded(|| Ok(unsafe { sys::is_culib_present() }))? {
            return Err(CudaUnavailable::NoDriver);
        }
        guarded(|| {
            result::init().map_err(driver_error)?;
            let count = result::device::get_count().map_err(driver_error)?;
            if count <= ordinal {
                return Err(CudaUnavailable::NoDevice);
            }
            let dev = result::device::get(ordinal).map_err(driver_error)?;
            let name = result::device::get_name(dev).map_err(driver_error)?;
            // SAFETY: `dev` was returned by cuDeviceGet above.
            let integrated = unsafe {
                result::device::get_attribute(
                    dev,
                    sys::CUdevice_attribute_enum::CU_DEVICE_ATTRIBUTE_INTEGRATED,
                )
            }
            .map_err(driver_error)?
                == 1;
            // SAFETY: `dev` was returned by cuDeviceGet above.
            let total = unsafe { result::device::total_mem(dev) }.map_err(driver_error)? as u64;
            let ctx = if memory {
                // SAFETY: `dev` is a valid device; the context is released in Drop.
                Some(unsafe { result::primary_ctx::retain(dev) }.map_err(driver_error)?)
            } else {
                None
            };
            Ok(Cuda {
                info: CudaDeviceInfo {
                    name,
                    integrated,
                    total_bytes: total,
                },
                dev,
                ctx,
            })
        })
    }

    /// Retains the device's primary context so that [`Cuda::mem_info`] works.
    pub fn retain_context(&mut self) -> Result<(), CudaUnavailable> {
        if self.ctx.is_some() {
            return Ok(());
        }
        let dev = self.dev;
        let ctx = guarded(|| {
            // SAFETY: `dev` came from cuDeviceGet in `open`; released in Drop.
            unsafe { result::primary_ctx::retain(dev) }.map_err(driver_error)
        })?;
        self.ctx = Some(ctx);
        Ok(())
    }

    /// `cuDeviceGetUuid`: the device's 16-byte UUID, to find the same GPU in
    /// NVML ([`super::cuda_uuid_text`]); `None` when the driver does not say.
    pub fn uuid(&self) -> Option<[u8; 16]> {
        let dev = self.dev;
        guarded(|| result::device::get_uuid(dev).map_err(driver_error))
            .ok()
            .map(|u| u.bytes.map(|b| b as u8))
    }

    /// Whether memory figures can be read.
    pub fn has_context(&self) -> bool {
        self.ctx.is_some()
    }

    /// Makes the context current on the calling thread (the sampler thread).
    pub fn bind(&self) -> bool {
        let Some(ctx) = self.ctx else { return false };
        guarded(|| {
            // SAFETY: `ctx` is the primary context retained in `open`, still retained.
            unsafe { result::ctx::set_current(ctx) }.map_err(driver_error)
        })
        .is_ok()
    }

    /// `cuMemGetInfo`: (free, total) bytes. Call [`Cuda::bind`] on this thread first.
    pub fn mem_info(&self) -> Option<(u64, u64)> {
        self.ctx?;
        guarded(|| result::mem_get_info().map_err(driver_error))
            .ok()
            .map(|(f, t)| (f as u64, t as u64))
    }
}

impl Drop for Cuda {
    fn drop(&mut self) {
        if self.ctx.is_some() {
            let dev = self.dev;
            let _ = guarded(|| {
                // SAFETY: releases the primary context retained in `open`, once.
                unsafe { result::primary_ctx::release(dev) }.map_err(driver_error)
            });
        }
    }
}
