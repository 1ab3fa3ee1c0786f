//! Building a fake driver library of tests/fakecuda/ with the host's `cc`,
//! for test runs without `JETMEM_FAKECUDA_DIR` (tests/fakecuda/build.sh).
//! Included with `#[path]` by the tests that load such a library.

use std::path::Path;
use std::process::Command;

/// Compiles `tests/fakecuda/<src>` (plus `defines`) into the shared library
/// `out_dir/<soname>`; `repo` is the repository root.
pub fn build(repo: &Path, src: &str, soname: &str, defines: &[&str], out_dir: &Path) {
    std::fs::create_dir_all(out_dir).unwrap();
    let ok = Command::new("cc")
        .args(defines)
        .arg("-shared")
        .arg("-fPIC")
        .arg(format!("-Wl,-soname,{soname}"))
        .arg("-o")
        .arg(out_dir.join(soname))
        .arg(repo.join("tests/fakecuda").join(src))
        .status()
        .expect("cc")
        .success();
    assert!(ok, "building the fake {soname} failed");
}
