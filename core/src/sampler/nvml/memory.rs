//! NVML device-wide memory: `nvmlDeviceGetMemoryInfo_v2`, else the v1
//! `nvmlDeviceGetMemoryInfo`, of the one GPU that is CUDA device 0.
//!
//! What nvml.h says of the two structs: `free` is "Unallocated device
//! memory"; v1's `used` is the "Sum of Reserved and Allocated device memory"
//! and "the total amount is equal to the sum of the amounts of free and used
//! memory"; v2 adds `reserved` ("reserved for system use (driver or
//! firmware)") and a `version` word, `NVML_STRUCT_VERSION(Memory, 2)` = the
//! struct's size | 2 << 24. The two headers disagree on whether v2's `used`
//! includes `reserved`, so jetmem keeps total, free and (v2) reserved, and
//! "used" is total − free (`accounting::nvml_used`), the same in both versions.

use super::{Device, Nvml, NvmlUnavailable, sym};
use std::ffi::{CStr, c_char, c_int, c_uint, c_ulonglong};
use std::fmt::Write;

const NVML_ERROR_ARGUMENT_VERSION_MISMATCH: c_int = 25;
/// `NVML_DEVICE_UUID_V2_BUFFER_SIZE`.
const UUID_BUFFER: usize = 96;
const V2_CALL: &str = "nvmlDeviceGetMemoryInfo_v2";
const V1_CALL: &str = "nvmlDeviceGetMemoryInfo";

type MemV1Fn = unsafe extern "C" fn(Device, *mut MemV1) -> c_int;
type MemV2Fn = unsafe extern "C" fn(Device, *mut MemV2) -> c_int;
type UuidFn = unsafe extern "C" fn(Device, *mut c_char, c_uint) -> c_int;

/// `nvmlMemory_t`.
#[repr(C)]
#[derive(Default)]
struct MemV1 {
    total: c_ulonglong,
    free: c_ulonglong,
    _used: c_ulonglong,
}

/// `nvmlMemory_v2_t`.
#[repr(C)]
#[derive(Default)]
struct MemV2 {
    version: c_uint,
    total: c_ulonglong,
    reserved: c_ulonglong,
    free: c_ulonglong,
    _used: c_ulonglong,
}

/// `nvmlMemory_v2`: `NVML_STRUCT_VERSION(Memory, 2)`.
const MEMORY_V2: c_uint = (size_of::<MemV2>() as c_uint) | (2 << 24);

/// Which `nvmlDeviceGetMemoryInfo` the driver offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NvmlMemoryVersion {
    /// `nvmlDeviceGetMemoryInfo_v2` (`reserved` known).
    V2,
    /// The unversioned v1 symbol.
    V1,
}

/// One GPU's memory as NVML reports it, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmlMemory {
    /// `total`: "Total physical device memory".
    pub total_bytes: u64,
    /// `free`: "Unallocated device memory".
    pub free_bytes: u64,
    /// `reserved` (v2 only): "reserved for system use (driver or firmware)".
    pub reserved_bytes: Option<u64>,
}

/// A failed read on the sample path: the call and NVML's return code, kept
/// without allocating; [`Nvml::read_error`] puts it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmlReadError {
    /// The NVML function.
    pub call: &'static str,
    /// Its `nvmlReturn_t`.
    pub code: i32,
}

#[derive(Clone, Copy)]
enum MemFn {
    V2(MemV2Fn),
    V1(MemV1Fn),
}

/// The memory call and the device it reads.
#[derive(Clone, Copy)]
pub(super) struct MemoryRead {
    f: MemFn,
    device: Device,
    index: usize,
}

impl MemFn {
    fn version(self) -> NvmlMemoryVersion {
        match self {
            MemFn::V2(_) => NvmlMemoryVersion::V2,
            MemFn::V1(_) => NvmlMemoryVersion::V1,
        }
    }

    /// One read of `dev`, a handle NVML gave.
    fn read(self, dev: Device) -> Result<NvmlMemory, NvmlReadError> {
        let (call, rc, m) = match self {
            MemFn::V2(f) => {
                let mut m = MemV2 {
                    version: MEMORY_V2,
                    ..MemV2::default()
                };
                // SAFETY: `m` is an nvmlMemory_v2_t with its version word set.
                let rc = unsafe { f(dev, &mut m) };
                let got = NvmlMemory {
                    total_bytes: m.total,
                    free_bytes: m.free,
                    reserved_bytes: Some(m.reserved),
                };
                (V2_CALL, rc, got)
            }
            MemFn::V1(f) => {
                let mut m = MemV1::default();
                // SAFETY: `m` is an nvmlMemory_t.
                let rc = unsafe { f(dev, &mut m) };
                let got = NvmlMemory {
                    total_bytes: m.total,
                    free_bytes: m.free,
                    reserved_bytes: None,
                };
                (V1_CALL, rc, got)
            }
        };
        match rc {
            0 => Ok(m),
            code => Err(NvmlReadError { call, code }),
        }
    }
}

/// A GPU's UUID as NVML (`nvmlDeviceGetUUID`) and nvidia-smi print it,
/// `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, from CUDA's 16 bytes
/// (`cuDeviceGetUuid`) in order, in the 8-4-4-4-12 grouping of a UUID.
pub fn cuda_uuid_text(bytes: &[u8; 16]) -> String {
    let mut s = String::from("GPU-");
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Which of NVML's `count` devices is CUDA device 0: the only one, else the
/// one whose UUID (`uuid_of`) is `cuda_uuid`. NVML numbers GPUs by PCI bus,
/// CUDA fastest first and after `CUDA_VISIBLE_DEVICES`, so an index is no match.
pub(super) fn cuda_device_index(
    count: usize,
    cuda_uuid: Option<&str>,
    uuid_of: impl Fn(usize) -> Option<String>,
) -> Result<usize, NvmlUnavailable> {
    match count {
        0 => Err(NvmlUnavailable::NoDevice),
        1 => Ok(0),
        n => {
            let want = cuda_uuid.ok_or(NvmlUnavailable::NoCudaMatch(n))?;
            (0..n)
                .find(|&i| uuid_of(i).is_some_and(|u| u.eq_ignore_ascii_case(want)))
                .ok_or(NvmlUnavailable::NoCudaMatch(n))
        }
    }
}

impl Nvml {
    /// Opens device-wide memory of the GPU that is CUDA device 0
    /// (`cuda_uuid` is asked for only when NVML reports several GPUs):
    /// `nvmlDeviceGetMemoryInfo_v2`, else v1 (drivers without `_v2`, or a
    /// `_v2` that refuses the version word). One read checks that it works:
    /// Not Supported (Jetson JetPack 5/6, some Thor BSPs) is an error here,
    /// and [`Nvml::memory`] then stays `None`.
    pub fn open_memory(
        &mut self,
        cuda_uuid: impl FnOnce() -> Option<[u8; 16]>,
    ) -> Result<NvmlMemoryVersion, NvmlUnavailable> {
        let index = self.cuda_device(cuda_uuid)?;
        let device = *self.devices.get(index).ok_or(NvmlUnavailable::NoDevice)?;
        // SAFETY: the nvml.h signatures of both symbols.
        let (v2, v1) = unsafe {
            (
                sym::<MemV2Fn>(&self.lib, V2_CALL),
                sym::<MemV1Fn>(&self.lib, V1_CALL),
            )
        };
        let mut f =
            v2.map(MemFn::V2)
                .or(v1.map(MemFn::V1))
                .ok_or(NvmlUnavailable::MissingSymbol(
                    "nvmlDeviceGetMemoryInfo(_v2)",
                ))?;
        let mut first = f.read(device);
        if let (Err(e), MemFn::V2(_), Some(v1)) = (first, f, v1) {
            if e.code == NVML_ERROR_ARGUMENT_VERSION_MISMATCH {
                f = MemFn::V1(v1);
                first = f.read(device);
            }
        }
        first.map_err(|e| self.read_error(e))?;
        self.memory = Some(MemoryRead { f, device, index });
        Ok(f.version())
    }

    /// The index (NVML's numbering) of the GPU that is CUDA device 0.
    fn cuda_device(
        &self,
        cuda_uuid: impl FnOnce() -> Option<[u8; 16]>,
    ) -> Result<usize, NvmlUnavailable> {
        let n = self.devices.len();
        if n <= 1 {
            return cuda_device_index(n, None, |_| None);
        }
        // SAFETY: the nvml.h signature of nvmlDeviceGetUUID.
        let uuid = unsafe { sym::<UuidFn>(&self.lib, "nvmlDeviceGetUUID") }
            .ok_or(NvmlUnavailable::MissingSymbol("nvmlDeviceGetUUID"))?;
        let cuda = cuda_uuid().map(|b| cuda_uuid_text(&b));
        cuda_device_index(n, cuda.as_deref(), |i| {
            let dev = *self.devices.get(i)?;
            let mut buf = [0u8; UUID_BUFFER];
            // SAFETY: `buf` holds the UUID_BUFFER bytes passed as its length;
            // `dev` is a handle NVML gave.
            let rc = unsafe { uuid(dev, buf.as_mut_ptr().cast(), UUID_BUFFER as c_uint) };
            if rc != 0 {
                return None;
            }
            let text = CStr::from_bytes_until_nul(&buf).ok()?.to_str().ok()?;
            Some(text.to_owned())
        })
    }

    /// Device-wide memory of CUDA device 0's GPU, one read; `None` unless
    /// [`Nvml::open_memory`] succeeded. Never allocates (the sampler's hot path).
    pub fn memory(&self) -> Option<Result<NvmlMemory, NvmlReadError>> {
        self.memory.map(|m| m.f.read(m.device))
    }

    /// Which memory call [`Nvml::memory`] uses, once opened.
    pub fn memory_version(&self) -> Option<NvmlMemoryVersion> {
        self.memory.map(|m| m.f.version())
    }

    /// The NVML index of the GPU [`Nvml::memory`] reads, once opened.
    pub fn memory_device(&self) -> Option<usize> {
        self.memory.map(|m| m.index)
    }

    /// A failed read in words.
    pub fn read_error(&self, e: NvmlReadError) -> NvmlUnavailable {
        self.unavailable(e.call, e.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_v2_version_word_is_nvmls() {
        // NVML_STRUCT_VERSION(Memory, 2) on LP64: sizeof 40 (4 + 4 padding + 4 × 8), version 2.
        assert_eq!(MEMORY_V2, 0x0200_0028);
    }

    #[test]
    fn cuda_uuid_in_nvml_words() {
        let b = [
            0x5a, 0x4e, 0x01, 0x02, 0xab, 0xcd, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
            0x88, 0x99,
        ];
        assert_eq!(
            cuda_uuid_text(&b),
            "GPU-5a4e0102-abcd-0011-2233-445566778899"
        );
    }

    #[test]
    fn the_device_is_the_only_one_or_cudas_by_uuid() {
        let uuids = ["GPU-aaaa", "GPU-BBBB", "GPU-cccc"];
        let of = |i: usize| uuids.get(i).map(|u| (*u).to_owned());
        assert_eq!(cuda_device_index(1, None, |_| None), Ok(0));
        assert_eq!(
            cuda_device_index(0, Some("GPU-aaaa"), of),
            Err(NvmlUnavailable::NoDevice)
        );
        // NVML's text may be upper case; CUDA's is written lower case.
        assert_eq!(cuda_device_index(3, Some("GPU-bbbb"), of), Ok(1));
        assert_eq!(cuda_device_index(3, Some("GPU-cccc"), of), Ok(2));
        assert_eq!(
            cuda_device_index(3, Some("GPU-dddd"), of),
            Err(NvmlUnavailable::NoCudaMatch(3))
        );
        assert_eq!(
            cuda_device_index(3, None, of),
            Err(NvmlUnavailable::NoCudaMatch(3)),
            "several GPUs and no CUDA UUID: never guess index 0"
        );
        assert_eq!(
            cuda_device_index(2, Some("GPU-aaaa"), |_| None),
            Err(NvmlUnavailable::NoCudaMatch(2)),
            "UUIDs NVML cannot give match nothing"
        );
    }
}
