//! Platform detection: unified (Jetson/Tegra, or an integrated CUDA device),
//! discrete GPU, or CPU only, as a pure function of what the sampler read.
//!
//! The rules, and the [`Evidence`] bit each sets:
//! * unified when `/etc/nv_tegra_release` parses, the device-tree model names
//!   a Jetson or Tegra board, `compatible` lists `nvidia,tegra…`, `/proc/meminfo`
//!   has NvMap lines (only Tegra 4.9 kernels print them), the CUDA device name
//!   names a Tegra part (Orin, Xavier, Thor, Tegra), or CUDA reports `integrated = 1`;
//! * otherwise discrete when CUDA reports a device with `integrated = 0`;
//! * otherwise CPU only.

use crate::parse::devicetree::{compatible_is_tegra, parse_model, soc_from_compatible};
use crate::parse::kernel::parse_osrelease;
use crate::parse::nv_tegra_release::{jetpack_for, parse_nv_tegra_release};
use crate::record::{Architecture, Evidence, Platform};
use crate::text::truncated;

/// The CUDA device 0 as the driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CudaDevice<'a> {
    /// `cuDeviceGetName`.
    pub name: &'a str,
    /// `CU_DEVICE_ATTRIBUTE_INTEGRATED`.
    pub integrated: bool,
    /// `cuDeviceTotalMem` / `cuMemGetInfo` total, bytes.
    pub total_bytes: Option<u64>,
}

/// What platform detection looks at; `None` for a file that was not readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlatformInputs<'a> {
    /// `/etc/nv_tegra_release`.
    pub nv_tegra_release: Option<&'a [u8]>,
    /// `/sys/firmware/devicetree/base/model`.
    pub dt_model: Option<&'a [u8]>,
    /// `/sys/firmware/devicetree/base/compatible`.
    pub dt_compatible: Option<&'a [u8]>,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel_release: Option<&'a [u8]>,
    /// Whether `/proc/meminfo` has `NvMapMemUsed`.
    pub meminfo_has_nvmap: bool,
    /// CUDA device 0, when a driver and a device were found.
    pub cuda: Option<CudaDevice<'a>>,
    /// `sysconf(_SC_PAGESIZE)`.
    pub page_size: u32,
    /// `MemTotal` in bytes.
    pub mem_total_bytes: Option<u64>,
}

/// Part names that only NVIDIA's integrated GPUs carry.
const TEGRA_CUDA_NAMES: [&str; 4] = ["orin", "xavier", "thor", "tegra"];

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let n = needle.len();
    haystack
        .as_bytes()
        .windows(n)
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Decides the platform. Leaves `gpu_source` and `gpu_reason` to the caller.
pub fn detect(inputs: &PlatformInputs) -> Platform {
    let mut p = Platform {
        page_size: inputs.page_size,
        mem_total_bytes: inputs.mem_total_bytes,
        ..Platform::default()
    };
    let mut ev = Evidence::default();

    if let Some(l4t) = inputs
        .nv_tegra_release
        .and_then(|t| parse_nv_tegra_release(t).ok())
    {
        ev = ev.with(Evidence::NV_TEGRA_RELEASE);
        p.l4t = Some(l4t);
        if let Some(jp) = jetpack_for(l4t) {
            p.jetpack = truncated(jp);
        }
    }
    if let Some(model) = inputs.dt_model {
        p.model = parse_model(model);
        if contains_ignore_case(&p.model, "jetson") || contains_ignore_case(&p.model, "tegra") {
            ev = ev.with(Evidence::DT_MODEL_JETSON);
        }
    }
    if let Some(compat) = inputs.dt_compatible {
        if compatible_is_tegra(compat) {
            ev = ev.with(Evidence::DT_COMPATIBLE_TEGRA);
        }
        if let Some(soc) = soc_from_compatible(compat) {
            p.soc = soc;
        }
    }
    if let Some(k) = inputs.kernel_release {
        p.kernel = parse_osrelease(k);
    }
    if inputs.meminfo_has_nvmap {
        ev = ev.with(Evidence::MEMINFO_NVMAP);
    }
    match inputs.cuda {
        None => ev = ev.with(Evidence::NO_CUDA),
        Some(cuda) => {
            p.cuda_device = truncated(cuda.name);
            p.cuda_integrated = Some(cuda.integrated);
            p.gpu_total_bytes = cuda.total_bytes;
            if TEGRA_CUDA_NAMES
                .iter()
                .any(|n| contains_ignore_case(cuda.name, n))
            {
                ev = ev.with(Evidence::CUDA_NAME_TEGRA);
            }
            ev = ev.with(if cuda.integrated {
                Evidence::CUDA_INTEGRATED
            } else {
                Evidence::CUDA_DISCRETE
            });
        }
    }

    let unified = Evidence::NV_TEGRA_RELEASE
        | Evidence::DT_MODEL_JETSON
        | Evidence::DT_COMPATIBLE_TEGRA
        | Evidence::MEMINFO_NVMAP
        | Evidence::CUDA_NAME_TEGRA
        | Evidence::CUDA_INTEGRATED;
    p.architecture = if ev.has(unified) {
        // One DRAM: the GPU can use up to all of it.
        if p.gpu_total_bytes.is_none() {
            p.gpu_total_bytes = inputs.mem_total_bytes;
        }
        Architecture::Unified
    } else if ev.has(Evidence::CUDA_DISCRETE) {
        Architecture::Discrete
    } else {
        Architecture::CpuOnly
    };
    p.evidence = ev;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::L4tRelease;

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/");

    fn read(rel: &str) -> std::vec::Vec<u8> {
        std::fs::read(std::format!("{FIX}{rel}")).unwrap()
    }

    fn base() -> PlatformInputs<'static> {
        PlatformInputs {
            page_size: 4096,
            ..PlatformInputs::default()
        }
    }

    #[test]
    fn orin_nano_super_fixture_is_unified_jp621() {
        let rel = read("orin-nano-super-jp6.2.1-r36.4.7/etc/nv_tegra_release");
        let model = read("orin-nano-super-jp6.2.1-r36.4.7/sys/firmware/devicetree/base/model");
        let p = detect(&PlatformInputs {
            nv_tegra_release: Some(&rel),
            dt_model: Some(&model),
            kernel_release: Some(b"5.15.148-tegra\n"),
            mem_total_bytes: Some(7_802_880 * 1024),
            ..base()
        });
        assert_eq!(p.architecture, Architecture::Unified);
        assert!(p.evidence.has(Evidence::NV_TEGRA_RELEASE));
        assert!(p.evidence.has(Evidence::DT_MODEL_JETSON));
        assert!(p.evidence.has(Evidence::NO_CUDA));
        assert!(!p.evidence.has(Evidence::DT_COMPATIBLE_TEGRA));
        assert_eq!(
            p.l4t,
            Some(L4tRelease {
                release: 36,
                revision: 4,
                minor: 7
            })
        );
        assert_eq!(p.jetpack.as_str(), "6.2.1");
        assert_eq!(p.kernel.as_str(), "5.15.148-tegra");
        assert_eq!(
            p.model.as_str(),
            "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
        );
        assert_eq!(
            p.gpu_total_bytes,
            Some(7_802_880 * 1024),
            "GPU total = MemTotal"
        );
        assert_eq!(p.page_size, 4096);
    }

    #[test]
    fn compatible_alone_is_enough_and_gives_the_soc() {
        let compat = read("orin-agx-64gb-compatible/sys/firmware/devicetree/base/compatible");
        let p = detect(&PlatformInputs {
            dt_compatible: Some(&compat),
            ..base()
        });
        assert_eq!(p.architecture, Architecture::Unified);
        assert_eq!(p.soc.as_str(), "tegra234");
        assert_eq!(
            p.evidence.0,
            Evidence::DT_COMPATIBLE_TEGRA | Evidence::NO_CUDA
        );
    }

    #[test]
    fn every_release_fixture_alone_is_unified() {
        for (dir, jp) in [
            ("l4t-r32.7.6-nano", "4.6.6"),
            ("l4t-r35.2.1-orin-nx", "5.1"),
            ("l4t-r36.3.0", "6.0"),
        ] {
            let rel = read(&std::format!("{dir}/etc/nv_tegra_release"));
            let p = detect(&PlatformInputs {
                nv_tegra_release: Some(&rel),
                ..base()
            });
            assert_eq!(p.architecture, Architecture::Unified, "{dir}");
            assert_eq!(p.jetpack.as_str(), jp, "{dir}");
        }
    }

    #[test]
    fn cuda_rules() {
        // The JP6 nvidia-smi fixture names the GPU "Orin (nvgpu)".
        let orin = detect(&PlatformInputs {
            cuda: Some(CudaDevice {
                name: "Orin (nvgpu)",
                integrated: true,
                total_bytes: Some(7_990_000_000),
            }),
            ..base()
        });
        assert_eq!(orin.architecture, Architecture::Unified);
        assert!(orin.evidence.has(Evidence::CUDA_NAME_TEGRA));
        assert!(orin.evidence.has(Evidence::CUDA_INTEGRATED));
        assert_eq!(orin.gpu_total_bytes, Some(7_990_000_000));

        // DGX Spark-like: integrated = 1 with a non-Tegra name.
        let spark = detect(&PlatformInputs {
            cuda: Some(CudaDevice {
                name: "NVIDIA GB10",
                integrated: true,
                total_bytes: None,
            }),
            mem_total_bytes: Some(1 << 37),
            ..base()
        });
        assert_eq!(spark.architecture, Architecture::Unified);
        assert!(!spark.evidence.has(Evidence::CUDA_NAME_TEGRA));
        assert_eq!(spark.gpu_total_bytes, Some(1 << 37));

        let discrete = detect(&PlatformInputs {
            cuda: Some(CudaDevice {
                name: "NVIDIA GeForce RTX 4090",
                integrated: false,
                total_bytes: Some(25_757_220_864),
            }),
            kernel_release: Some(b"6.8.0-45-generic\n"),
            mem_total_bytes: Some(64 << 30),
            ..base()
        });
        assert_eq!(discrete.architecture, Architecture::Discrete);
        assert_eq!(discrete.evidence.0, Evidence::CUDA_DISCRETE);
        assert_eq!(discrete.gpu_total_bytes, Some(25_757_220_864));
        assert_eq!(discrete.cuda_integrated, Some(false));
        assert_eq!(discrete.cuda_device.as_str(), "NVIDIA GeForce RTX 4090");

        let cpu = detect(&PlatformInputs {
            dt_model: Some(b"Raspberry Pi 4 Model B Rev 1.4\0"),
            ..base()
        });
        assert_eq!(cpu.architecture, Architecture::CpuOnly);
        assert_eq!(cpu.evidence.0, Evidence::NO_CUDA);
        assert_eq!(cpu.gpu_total_bytes, None);
    }

    #[test]
    fn meminfo_nvmap_and_garbage_release() {
        let p = detect(&PlatformInputs {
            meminfo_has_nvmap: true,
            nv_tegra_release: Some(b"garbage"),
            ..base()
        });
        assert_eq!(p.architecture, Architecture::Unified);
        assert_eq!(p.evidence.0, Evidence::MEMINFO_NVMAP | Evidence::NO_CUDA);
        assert_eq!(p.l4t, None, "an unparsable release file is not evidence");
    }
}
