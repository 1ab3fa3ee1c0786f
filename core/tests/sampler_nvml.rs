//! NVML per-process figures against the fake `libnvidia-ml.so.1`
//! (tests/fakecuda/fakenvml.c): known per-pid bytes, `NVML_VALUE_NOT_AVAILABLE`
//! as unknown, the v1 symbol fallback, Jetson's "Not Supported", no device, and
//! a missing library — each absent with its reason, never a panic.
//!
//! `JETMEM_FAKECUDA_DIR` names a directory built by tests/fakecuda/build.sh (CI
//! sets it, also for aarch64 under qemu); otherwise the fakes are built here.
//! The fake reads its knobs from the environment at `nvmlInit_v2`, so every
//! case runs in one test, one after the other.

use jetmem_core::sampler::{Nvml, NvmlProcess, NvmlProcsVersion, NvmlUnavailable};
use std::path::{Path, PathBuf};

#[path = "../../tests/support/fakelib.rs"]
mod fakelib;

fn fake_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("JETMEM_FAKECUDA_DIR") {
        return PathBuf::from(dir);
    }
    let dir = std::env::temp_dir().join(format!("jetmem-fakenvml-{}", std::process::id()));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let so = "libnvidia-ml.so.1";
    fakelib::build(&repo, "fakenvml.c", so, &[], &dir);
    fakelib::build(
        &repo,
        "fakenvml.c",
        so,
        &["-DFAKENVML_V1_ONLY"],
        &dir.join("nvml-v1"),
    );
    dir
}

fn set(vars: &[(&str, &str)]) {
    for k in [
        "FAKENVML_PROCS",
        "FAKENVML_NOT_SUPPORTED",
        "FAKENVML_NO_DEVICE",
    ] {
        // SAFETY: the other test of this binary reads no environment, and
        // only this test's own thread calls into the fake.
        unsafe { std::env::remove_var(k) };
    }
    for (k, v) in vars {
        // SAFETY: as above.
        unsafe { std::env::set_var(k, v) };
    }
}

fn proc(pid: u32, used_bytes: Option<u64>) -> NvmlProcess {
    NvmlProcess { pid, used_bytes }
}

#[test]
fn nvml_per_process_figures_and_reasons() {
    let dir = fake_dir();
    let lib = dir.join("libnvidia-ml.so.1");

    // Known figures; the traced tree is {100, 300}; pid 300 on the GPU with
    // usedGpuMemory not available is unknown, not 0.
    set(&[("FAKENVML_PROCS", "100:1048576,200:5,300:na")]);
    let nvml = Nvml::open_at(&lib).expect("fake NVML opens");
    assert_eq!(nvml.version(), NvmlProcsVersion::V3);
    let got = nvml.processes(|pid| pid == 100 || pid == 300).unwrap();
    assert_eq!(got, vec![proc(100, Some(1_048_576)), proc(300, None)]);
    assert_eq!(nvml.processes(|_| true).unwrap().len(), 3);
    drop(nvml);

    // A driver with only the unversioned symbol: the v1 struct layout.
    set(&[("FAKENVML_PROCS", "7:4096,8:8192")]);
    let nvml = Nvml::open_at(&dir.join("nvml-v1/libnvidia-ml.so.1")).unwrap();
    assert_eq!(nvml.version(), NvmlProcsVersion::V1);
    assert_eq!(
        nvml.processes(|_| true).unwrap(),
        vec![proc(7, Some(4096)), proc(8, Some(8192))]
    );
    drop(nvml);

    // Jetson JetPack 5/6: the list is "Not Supported", so NVML is not a source.
    set(&[("FAKENVML_NOT_SUPPORTED", "1")]);
    let err = Nvml::open_at(&lib).unwrap_err();
    assert_eq!(err, NvmlUnavailable::NotSupported);
    assert!(err.reason().contains("Not Supported"), "{}", err.reason());

    set(&[("FAKENVML_NO_DEVICE", "1")]);
    assert_eq!(Nvml::open_at(&lib).unwrap_err(), NvmlUnavailable::NoDevice);

    // A knob that does not parse: NVML's own error words, with the call.
    set(&[("FAKENVML_PROCS", "100:lots")]);
    assert_eq!(
        Nvml::open_at(&lib).unwrap_err(),
        NvmlUnavailable::Error("nvmlInit_v2", "Invalid Argument (2)".into())
    );
    set(&[]);
}

#[test]
fn missing_nvml_is_absent_with_its_reason() {
    let missing = Path::new("/nonexistent/jetmem/libnvidia-ml.so.1");
    let err = Nvml::open_at(missing).unwrap_err();
    assert!(matches!(err, NvmlUnavailable::NoLibrary(_)), "{err:?}");
    let reason = err.reason();
    assert!(
        reason.starts_with("no NVML (libnvidia-ml.so.1 not loaded: "),
        "{reason}"
    );
    assert!(
        reason.contains("/nonexistent/jetmem/libnvidia-ml.so.1"),
        "{reason}"
    );
}
