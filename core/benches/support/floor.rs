//! The C floor shared by the sampler benchmarks: `benches/peers/floor.c` built
//! with the system `cc`, the memory cgroup file it reads, and medians.

#![allow(dead_code, reason = "each benchmark uses part of it")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The median (sorts `v`).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Builds `floor.c` into `dir/libfloor.so`.
pub fn build_floor(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/floor.c");
    let lib = dir.join("libfloor.so");
    let ok = Command::new("cc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .expect("cc")
        .success();
    assert!(ok, "building the C floor failed");
    lib
}

/// This process's memory cgroup usage file (v1 or v2), if any.
pub fn cgroup_file() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in text.lines() {
        let mut p = line.splitn(3, ':');
        let (_, ctl, path) = (p.next()?, p.next()?, p.next()?);
        if ctl.split(',').any(|c| c == "memory") {
            return Some(PathBuf::from(format!(
                "/sys/fs/cgroup/memory{path}/memory.usage_in_bytes"
            )));
        }
        if ctl.is_empty() {
            return Some(PathBuf::from(format!(
                "/sys/fs/cgroup{path}/memory.current"
            )));
        }
    }
    None
}
