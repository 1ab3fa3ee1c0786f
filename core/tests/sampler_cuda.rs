//! The CUDA path against a fake `libcuda.so.1` (tests/fakecuda/fakecuda.c):
//! success on a discrete device, an integrated (Tegra-like) device, and
//! `CUDA_ERROR_NO_DEVICE`. The library is found through `LD_LIBRARY_PATH`, so
//! each case runs this test binary again as a child with that environment.
//!
//! `JETMEM_FAKECUDA_DIR` names a directory holding a prebuilt fake (CI sets it,
//! also for aarch64 under qemu); otherwise the fake is built here with `cc`.

use jetmem_core::record::{Architecture, Counter, GpuSource};
use jetmem_core::sampler::snapshot;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../tests/support/runner.rs"]
mod runner;

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
    println!(
        "PROBE arch={} name={} integrated={:?} source={:?} free={:?} total={:?} gpu_used={:?} reason={}",
        snap.platform.architecture.as_str(),
        snap.platform.cuda_device.as_str().replace(' ', "_"),
        snap.platform.cuda_integrated,
        snap.platform.gpu_source,
        c.get(Counter::CudaFree),
        c.get(Counter::CudaTotal),
        c.get(Counter::GpuUsed),
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
