//! `jetmem record` with NVML, against the fake `libnvidia-ml.so.1` and
//! `libcuda.so.1` (tests/fakecuda/) found through `LD_LIBRARY_PATH`.
//!
//! Per process: the traced command writes its own pids into the file the
//! fake reads on every process-list call, and the report's `gpu.processes`
//! must list exactly the traced ones, with an unknown figure as `null`.
//! Device-wide: NVML's total − free is the report's GPU figure
//! (`gpu.source` `"nvml"`), VRAM added to RAM on a discrete GPU, part of
//! system used on a unified one; where NVML says Not Supported, CUDA's.
//!
//! `JETMEM_FAKECUDA_DIR` names a directory built by tests/fakecuda/build.sh (CI
//! sets it, also for aarch64 under qemu); otherwise the fakes are built here.

use std::path::{Path, PathBuf};

use jetmem_core::accounting::REASON_CUDA_FOR_NVML;
use serde_json::{Value, json};

use crate::record::record_cmd;
use crate::report_json;
use crate::traces::scratch;

#[path = "../support/fakelib.rs"]
mod fakelib;

fn fake_nvml_dir(scratch_dir: &Path) -> PathBuf {
    if let Ok(dir) = std::env::var("JETMEM_FAKECUDA_DIR") {
        return PathBuf::from(dir);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    fakelib::build(&repo, "fakenvml.c", "libnvidia-ml.so.1", &[], scratch_dir);
    fakelib::build(&repo, "fakecuda.c", "libcuda.so.1", &[], scratch_dir);
    scratch_dir.to_path_buf()
}

/// The shell's pid with 1 MiB, its `sleep` child's with "not available", and
/// pid 1 (not traced) with 5 bytes; the child must be seen before the list
/// names it, so the shell waits for it.
const SCRIPT: &str = "sleep 2 & echo \"$$:1048576,$!:na,1:5\" > \"$1\"; echo \"$$ $!\"; wait";

#[test]
fn nvml_per_process_figures_of_the_traced_tree_reach_the_report() {
    let dir = scratch("record-nvml");
    let fake = fake_nvml_dir(&dir);
    let trace = dir.join("nvml.jetmem");
    let procs = dir.join("procs");
    // Unlike `record_cmd`, without --no-cuda: this run probes the GPU.
    let mut cmd = crate::jetmem_command();
    cmd.env("NO_COLOR", "1")
        .env("LD_LIBRARY_PATH", &fake)
        .env("FAKENVML_PROCS_FILE", &procs)
        .arg("record")
        .arg("-o")
        .arg(&trace)
        .args(["--no-report", "-i", "20ms", "--", "sh", "-c", SCRIPT, "sh"])
        .arg(&procs);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let pids: Vec<u64> = stdout
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let [shell, child] = pids[..] else {
        panic!("pids: {stdout:?}")
    };

    let j = report_json(&trace);
    assert_eq!(
        j["gpu"]["processes"],
        json!([
            {"pid": shell, "name": "sh", "used_bytes": 1_048_576},
            {"pid": child, "name": "sleep", "used_bytes": null},
        ]),
        "{}",
        j["gpu"]
    );
}

/// The fake libcuda's defaults (tests/fakecuda/fakecuda.c): 8 GiB, 6 GiB free.
const CUDA_TOTAL: u64 = 8 << 30;
const CUDA_FREE: u64 = 6 << 30;

/// Records `sleep 0.3` with GPU probing on, the fakes and `env`; the report.
fn record_with_fakes(name: &str, env: &[(&str, &str)]) -> Value {
    let dir = scratch(name);
    let fake = fake_nvml_dir(&dir);
    let trace = dir.join("gpu.jetmem");
    let mut cmd = crate::jetmem_command();
    cmd.env("NO_COLOR", "1")
        .env("LD_LIBRARY_PATH", &fake)
        .env_remove("FAKENVML_PROCS_FILE")
        .envs(env.iter().copied())
        .arg("record")
        .arg("-o")
        .arg(&trace)
        .args(["--no-report", "-i", "20ms", "--", "sleep", "0.3"]);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report_json(&trace)
}

fn bytes(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not a byte count: {v}"))
}

/// NVML `total:reserved:free` for the fake, and the GPU used it means.
fn nvml_knob(total: u64, reserved: u64, free: u64) -> (String, u64) {
    (format!("{total}:{reserved}:{free}"), total - free)
}

#[test]
fn discrete_nvml_figure_is_vram_added_to_ram() {
    let (knob, used) = nvml_knob(24 << 30, 512 << 20, (19 << 30) - 4096);
    let j = record_with_fakes("record-nvml-discrete", &[("FAKENVML_MEMORY", &knob)]);
    assert_eq!(j["architecture"], "discrete");
    let gpu = &j["gpu"];
    assert_eq!(gpu["source"], "nvml", "{gpu}");
    assert_eq!(gpu["reason"], Value::Null, "{gpu}");
    assert_eq!(bytes(&gpu["used_peak_bytes"]), used, "{gpu}");
    assert_eq!(gpu["subset_of_system"], false, "{gpu}");
    let t = &j["total_peak"];
    assert_eq!(bytes(&t["vram_bytes"]), used, "{t}");
    assert_eq!(
        bytes(&j["total_peak_bytes"]),
        bytes(&t["ram_bytes"]) + used,
        "VRAM is added to RAM: {t}"
    );
    // NVML serves the figure, so the recorder made no CUDA context (whose
    // own device memory NVML would count as the workload's): no CUDA figure.
    assert_eq!(j["cuda"], Value::Null, "{}", j["cuda"]);
}

#[test]
fn unified_nvml_figure_is_part_of_system_used() {
    let (knob, used) = nvml_knob(16 << 30, 0, (16 << 30) - (256 << 20));
    let j = record_with_fakes(
        "record-nvml-unified",
        &[
            ("FAKENVML_MEMORY", &knob),
            ("FAKECUDA_INTEGRATED", "1"),
            ("FAKECUDA_NAME", "NVIDIA Thor"),
        ],
    );
    assert_eq!(j["architecture"], "unified");
    let gpu = &j["gpu"];
    assert_eq!(gpu["source"], "nvml", "{gpu}");
    assert_eq!(bytes(&gpu["used_peak_bytes"]), used, "{gpu}");
    assert_eq!(gpu["subset_of_system"], true, "{gpu}");
    let system_peak = bytes(&j["system"]["used_peak_bytes"]);
    assert_eq!(bytes(&gpu["used_at_system_peak_bytes"]), used, "{gpu}");
    assert_eq!(
        bytes(&gpu["cpu_os_at_system_peak_bytes"]),
        system_peak.saturating_sub(used),
        "{gpu}"
    );
    assert_eq!(gpu["sources_disagree"], used > system_peak, "{gpu}");
    assert_eq!(
        bytes(&j["total_peak_bytes"]),
        system_peak,
        "never system + GPU"
    );
    assert_eq!(j["total_peak"]["vram_bytes"], Value::Null);
    // No CUDA context is kept where NVML serves unified memory.
    assert_eq!(j["cuda"], Value::Null, "{}", j["cuda"]);
}

#[test]
fn nvml_not_supported_falls_back_to_cuda_with_the_reason() {
    let j = record_with_fakes("record-nvml-unsupported", &[("FAKENVML_MEMORY", "ns")]);
    let gpu = &j["gpu"];
    assert_eq!(gpu["source"], "cuda", "{gpu}");
    assert_eq!(gpu["reason"], REASON_CUDA_FOR_NVML, "{gpu}");
    assert_eq!(
        bytes(&gpu["used_peak_bytes"]),
        CUDA_TOTAL - CUDA_FREE,
        "{gpu}"
    );
}

#[test]
fn without_nvml_the_report_has_no_gpu_processes() {
    let dir = scratch("record-no-nvml");
    let trace = dir.join("plain.jetmem");
    let out = record_cmd(&trace, &[], &["true"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = report_json(&trace);
    assert!(j["gpu"].get("processes").is_none(), "{}", j["gpu"]);
}
