//! The GPU sources against a fake `libcuda.so.1` (tests/fakecuda/fakecuda.c)
//! and a fake `libnvidia-ml.so.1` (fakenvml.c) side by side: CUDA on a
//! discrete device, an integrated (Tegra-like) device, and
//! `CUDA_ERROR_NO_DEVICE`; NVML's device memory chosen before CUDA on both,
//! of the GPU that is CUDA device 0, and CUDA standing in when NVML says Not
//! Supported. The libraries are found through `LD_LIBRARY_PATH`, so each case
//! runs this test binary again as a child with that environment.
//!
//! `JETMEM_FAKECUDA_DIR` names a directory holding prebuilt fakes (CI sets it,
//! also for aarch64 under qemu); otherwise they are built here with `cc`. The
//! fake NVML answers Not Supported to the memory call unless `FAKENVML_MEMORY`
//! is set, so the CUDA cases see CUDA chosen.

use jetmem_core::accounting::REASON_CUDA_FOR_NVML;
use jetmem_core::record::{Architecture, Counter, GpuSource};
use jetmem_core::sampler::{NvmlUnavailable, snapshot};
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../tests/support/runner.rs"]
mod runner;

#[path = "../../tests/support/fakelib.rs"]
mod fakelib;

fn fake_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("JETMEM_FAKECUDA_DIR") {
        return PathBuf::from(dir);
    }
    // Built once per test process: tests run in parallel, and two `cc` writing
    // the same file let a child load a half-written library.
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_fake).clone()
}

fn build_fake() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jetmem-fakecuda-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fakecuda/fakecuda.c");
    let ok = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o"])
        .arg(dir.join("libcuda.so.1"))
        .arg(&src)
        .status()
        .expect("cc")
        .success();
    assert!(ok, "building the fake libcuda failed");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    fakelib::build(&repo, "fakenvml.c", "libnvidia-ml.so.1", &[], &dir);
    dir
}

/// Runs `probe_in_child` in a child process with the fake libcuda and `env`.
fn probe(env: &[(&str, &str)]) -> String {
    let dir = fake_dir();
    let mut cmd = runner::command(&std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        "probe_in_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("LD_LIBRARY_PATH", &dir)
    .env("JETMEM_CUDA_CHILD", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.split("PROBE ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no PROBE line in {text}"))
        .to_string()
}

#[test]
#[ignore = "entry point for the child processes of the other tests"]
fn probe_in_child() {
    assert_eq!(std::env::var("JETMEM_CUDA_CHILD").as_deref(), Ok("1"));
    let snap = snapshot(Path::new("/"), true).unwrap();
    let c = &snap.sample.counters;
    let nvml = snap.sources.iter().find(|s| s.name == "nvml");
    println!(
        "PROBE arch={} name={} integrated={:?} source={:?} free={:?} total={:?} gpu_used={:?} \
         nvml_total={:?} nvml_free={:?} nvml_reserved={:?} nvml_source={} reason={}",
        snap.platform.architecture.as_str(),
        snap.platform.cuda_device.as_str().replace(' ', "_"),
        snap.platform.cuda_integrated,
        snap.platform.gpu_source,
        c.get(Counter::CudaFree),
        c.get(Counter::CudaTotal),
        c.get(Counter::GpuUsed),
        c.get(Counter::NvmlTotal),
        c.get(Counter::NvmlFree),
        c.get(Counter::NvmlReserved),
        nvml.map_or("none".into(), |s| s.state.describe().replace(' ', "_")),
        snap.platform.gpu_reason.as_str().replace(' ', "_"),
    );
}

#[test]
fn discrete_device_reports_vram() {
    let free = 3u64 << 30;
    let total = 8u64 << 30;
    let line = probe(&[
        ("FAKECUDA_NAME", "NVIDIA H100 80GB HBM3"),
        ("FAKECUDA_FREE", &free.to_string()),
        ("FAKECUDA_TOTAL", &total.to_string()),
    ]);
    assert!(
        line.contains(&format!("arch={}", Architecture::Discrete.as_str())),
        "{line}"
    );
    assert!(line.contains("name=NVIDIA_H100_80GB_HBM3"), "{line}");
    assert!(line.contains("integrated=Some(false)"), "{line}");
    assert!(
        line.contains(&format!("source={:?}", GpuSource::Cuda)),
        "{line}"
    );
    assert!(line.contains(&format!("free=Some({free})")), "{line}");
    assert!(line.contains(&format!("total=Some({total})")), "{line}");
    assert!(
        line.contains(&format!("gpu_used=Some({})", total - free)),
        "{line}"
    );
}

#[test]
fn integrated_device_is_unified() {
    let line = probe(&[
        ("FAKECUDA_NAME", "Orin (nvgpu)"),
        ("FAKECUDA_INTEGRATED", "1"),
    ]);
    assert!(line.contains("arch=unified"), "{line}");
    assert!(line.contains("integrated=Some(true)"), "{line}");
}

#[test]
fn no_device_gives_absent_figures_and_a_reason() {
    let line = probe(&[("FAKECUDA_NO_DEVICE", "1")]);
    assert!(line.contains("arch=cpu-only"), "{line}");
    assert!(line.contains("free=None"), "{line}");
    assert!(line.contains("gpu_used=None"), "{line}");
    assert!(line.contains("reason=no_CUDA_device"), "{line}");
}

/// Words as the PROBE line writes them (spaces as underscores).
fn words(s: &str) -> String {
    s.replace(' ', "_")
}

#[test]
fn discrete_nvml_is_the_gpu_source_and_needs_no_cuda_context() {
    let (total, reserved, free) = (25_769_803_776u64, 536_870_912u64, 20_401_094_656u64);
    let (cuda_free, cuda_total) = (3u64 << 30, 8u64 << 30);
    let line = probe(&[
        ("FAKECUDA_FREE", &cuda_free.to_string()),
        ("FAKECUDA_TOTAL", &cuda_total.to_string()),
        ("FAKENVML_MEMORY", &format!("{total}:{reserved}:{free}")),
    ]);
    assert!(line.contains("arch=discrete"), "{line}");
    assert!(line.contains("source=Nvml"), "{line}");
    assert!(
        line.contains(&format!("gpu_used=Some({})", total - free)),
        "{line}"
    );
    assert!(
        line.contains(&format!("nvml_total=Some({total})")),
        "{line}"
    );
    assert!(line.contains(&format!("nvml_free=Some({free})")), "{line}");
    assert!(
        line.contains(&format!("nvml_reserved=Some({reserved})")),
        "{line}"
    );
    assert!(line.contains("nvml_source=ok"), "{line}");
    assert!(line.ends_with("reason="), "no caveat: {line}");
    // NVML serves the figure, so no CUDA context is made: its device memory
    // would be counted as the workload's. CUDA still names the device.
    assert!(line.contains("free=None total=None"), "{line}");
    assert!(line.contains("name=FakeCUDA_Device"), "{line}");
    let _ = (cuda_free, cuda_total);
}

#[test]
fn discrete_without_nvml_memory_keeps_the_cuda_context() {
    let (cuda_free, cuda_total) = (3u64 << 30, 8u64 << 30);
    let line = probe(&[
        ("FAKECUDA_FREE", &cuda_free.to_string()),
        ("FAKECUDA_TOTAL", &cuda_total.to_string()),
    ]);
    assert!(line.contains("arch=discrete"), "{line}");
    assert!(line.contains("source=Cuda"), "{line}");
    assert!(line.contains(&format!("free=Some({cuda_free})")), "{line}");
    assert!(
        line.contains(&format!("total=Some({cuda_total})")),
        "{line}"
    );
    assert!(
        line.contains(&format!("gpu_used=Some({})", cuda_total - cuda_free)),
        "{line}"
    );
}

#[test]
fn unified_nvml_needs_no_cuda_context() {
    let (total, free) = (64u64 << 30, 60u64 << 30);
    let line = probe(&[
        ("FAKECUDA_NAME", "NVIDIA Thor"),
        ("FAKECUDA_INTEGRATED", "1"),
        ("FAKENVML_MEMORY", &format!("{total}:0:{free}")),
    ]);
    assert!(line.contains("arch=unified"), "{line}");
    assert!(line.contains("source=Nvml"), "{line}");
    assert!(
        line.contains(&format!("gpu_used=Some({})", total - free)),
        "{line}"
    );
    // With NVML readable on unified memory, no CUDA context is kept: its
    // footprint would land in what is measured, and its figure ≈ MemFree.
    assert!(line.contains("free=None total=None"), "{line}");
}

#[test]
fn nvml_not_supported_leaves_cuda_with_the_reason() {
    let (cuda_free, cuda_total) = (3u64 << 30, 8u64 << 30);
    let line = probe(&[
        ("FAKECUDA_FREE", &cuda_free.to_string()),
        ("FAKECUDA_TOTAL", &cuda_total.to_string()),
        ("FAKENVML_MEMORY", "ns"),
    ]);
    assert!(line.contains("source=Cuda"), "{line}");
    assert!(
        line.contains(&format!("gpu_used=Some({})", cuda_total - cuda_free)),
        "{line}"
    );
    assert!(
        line.contains("nvml_total=None nvml_free=None nvml_reserved=None"),
        "{line}"
    );
    let why = NvmlUnavailable::NotSupported("nvmlDeviceGetMemoryInfo_v2").reason();
    assert!(
        line.contains(&format!("nvml_source={}", words(&why))),
        "{line}"
    );
    assert!(
        line.contains(&format!("reason={}", words(REASON_CUDA_FOR_NVML))),
        "{line}"
    );
}

#[test]
fn nvml_reads_the_gpu_that_is_cuda_device_0() {
    // Two GPUs; CUDA device 0 is NVML's second (index 1).
    let two_gpus = |cuda_uuid| {
        probe(&[
            ("FAKECUDA_UUID", cuda_uuid),
            (
                "FAKENVML_UUIDS",
                "GPU-00000000-0000-0000-0000-000000000001,GPU-5a4e0102-abcd-0011-2233-445566778899",
            ),
            ("FAKENVML_MEMORY", "4096:0:1024,8192:2048:2048"),
        ])
    };
    let line = two_gpus("5a4e0102abcd00112233445566778899");
    assert!(line.contains("source=Nvml"), "{line}");
    assert!(
        line.contains(&format!("gpu_used=Some({})", 8192 - 2048)),
        "{line}"
    );
    assert!(line.contains("nvml_reserved=Some(2048)"), "{line}");
    // No NVML GPU has CUDA's UUID: no NVML figure, CUDA as before.
    let line = two_gpus("ffffffffffffffffffffffffffffffff");
    assert!(line.contains("source=Cuda"), "{line}");
    assert!(line.contains("nvml_total=None"), "{line}");
    let why = NvmlUnavailable::NoCudaMatch(2).reason();
    assert!(
        line.contains(&format!("nvml_source={}", words(&why))),
        "{line}"
    );
}
