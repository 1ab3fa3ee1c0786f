//! `jetmem record` with NVML per-process figures, against the fake
//! `libnvidia-ml.so.1` (tests/fakecuda/fakenvml.c) found through
//! `LD_LIBRARY_PATH`: the traced command writes its own pids into the file the
//! fake reads on every process-list call, and the report's `gpu.processes`
//! must list exactly the traced ones, with an unknown figure as `null`.
//!
//! `JETMEM_FAKECUDA_DIR` names a directory built by tests/fakecuda/build.sh (CI
//! sets it, also for aarch64 under qemu); otherwise the fake is built here.

use std::path::{Path, PathBuf};

use serde_json::json;

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
