//! NVML per-process and device-wide figures against the fake
//! `libnvidia-ml.so.1` (tests/fakecuda/fakenvml.c): known per-pid bytes,
//! `NVML_VALUE_NOT_AVAILABLE` as unknown, the v1 symbol fallbacks, Jetson's
//! "Not Supported", the GPU that is CUDA device 0 among several, no device,
//! and a missing library — each absent with its reason, never a panic.
//!
//! `JETMEM_FAKECUDA_DIR` names a directory built by tests/fakecuda/build.sh (CI
//! sets it, also for aarch64 under qemu); otherwise the fakes are built here.
//! The fake reads its knobs from the environment at `nvmlInit_v2`, so the
//! tests take turns ([`env_lock`]) and each runs its cases one after the other.

use jetmem_core::sampler::{
    Nvml, NvmlMemory, NvmlMemoryVersion, NvmlProcess, NvmlProcsVersion, NvmlUnavailable,
};
use std::path::{Path, PathBuf};

#[path = "../../tests/support/fakelib.rs"]
mod fakelib;

fn fake_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("JETMEM_FAKECUDA_DIR") {
        return PathBuf::from(dir);
    }
    // Built once per test process: a library rewritten while loaded is a crash.
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_fakes).clone()
}

fn build_fakes() -> PathBuf {
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

/// Held by every test of this binary: the environment is the fake's input.
fn env_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sets the fake's knobs to `vars` alone; call with [`env_lock`] held.
fn set(vars: &[(&str, &str)]) {
    for k in [
        "FAKENVML_PROCS",
        "FAKENVML_NOT_SUPPORTED",
        "FAKENVML_NO_DEVICE",
        "FAKENVML_UUIDS",
        "FAKENVML_MEMORY",
        "FAKENVML_MEMORY_V2_MISMATCH",
    ] {
        // SAFETY: every test of this binary holds `env_lock` while it touches
        // the environment or NVML, so no other thread reads it meanwhile.
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
    let _env = env_lock();
    let dir = fake_dir();
    let lib = dir.join("libnvidia-ml.so.1");

    // Known figures; the traced tree is {100, 300}; pid 300 on the GPU with
    // usedGpuMemory not available is unknown, not 0.
    set(&[("FAKENVML_PROCS", "100:1048576,200:5,300:na")]);
    let nvml = Nvml::open_at(&lib).expect("fake NVML opens");
    assert_eq!(nvml.version(), Some(NvmlProcsVersion::V3));
    assert_eq!(nvml.processes_unavailable(), None);
    let got = nvml.processes(|pid| pid == 100 || pid == 300).unwrap();
    assert_eq!(got, vec![proc(100, Some(1_048_576)), proc(300, None)]);
    assert_eq!(nvml.processes(|_| true).unwrap().len(), 3);
    drop(nvml);

    // A driver with only the unversioned symbol: the v1 struct layout.
    set(&[("FAKENVML_PROCS", "7:4096,8:8192")]);
    let nvml = Nvml::open_at(&dir.join("nvml-v1/libnvidia-ml.so.1")).unwrap();
    assert_eq!(nvml.version(), Some(NvmlProcsVersion::V1));
    assert_eq!(
        nvml.processes(|_| true).unwrap(),
        vec![proc(7, Some(4096)), proc(8, Some(8192))]
    );
    drop(nvml);

    // Jetson JetPack 5/6: the list is "Not Supported", so NVML lists no
    // processes (it still opens: the memory call is checked on its own).
    set(&[("FAKENVML_NOT_SUPPORTED", "1")]);
    let nvml = Nvml::open_at(&lib).unwrap();
    let not_supported = NvmlUnavailable::NotSupported("nvmlDeviceGetComputeRunningProcesses");
    assert_eq!(nvml.processes_unavailable(), Some(&not_supported));
    assert_eq!(nvml.version(), None);
    assert_eq!(nvml.processes(|_| true), Err(not_supported.clone()));
    let reason = not_supported.reason();
    assert!(reason.contains("Not Supported"), "{reason}");
    drop(nvml);

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

fn no_uuid() -> Option<[u8; 16]> {
    None
}

fn memory(total: u64, reserved: Option<u64>, free: u64) -> NvmlMemory {
    NvmlMemory {
        total_bytes: total,
        free_bytes: free,
        reserved_bytes: reserved,
    }
}

#[test]
fn nvml_device_memory_and_reasons() {
    let _env = env_lock();
    let dir = fake_dir();
    let lib = dir.join("libnvidia-ml.so.1");
    let (total, reserved, free) = (25_769_803_776u64, 536_870_912u64, 20_401_094_656u64);
    let knob = format!("{total}:{reserved}:{free}");

    // nvmlDeviceGetMemoryInfo_v2: total, free and reserved as the driver gave them.
    set(&[("FAKENVML_MEMORY", &knob)]);
    let mut nvml = Nvml::open_at(&lib).unwrap();
    assert_eq!(nvml.memory(), None, "not read before open_memory");
    assert_eq!(nvml.open_memory(no_uuid), Ok(NvmlMemoryVersion::V2));
    assert_eq!(nvml.memory_device(), Some(0));
    assert_eq!(nvml.memory(), Some(Ok(memory(total, Some(reserved), free))));
    drop(nvml);

    // A `_v2` that refuses the version word: the v1 call, without reserved.
    set(&[
        ("FAKENVML_MEMORY", &knob),
        ("FAKENVML_MEMORY_V2_MISMATCH", "1"),
    ]);
    let mut nvml = Nvml::open_at(&lib).unwrap();
    assert_eq!(nvml.open_memory(no_uuid), Ok(NvmlMemoryVersion::V1));
    assert_eq!(nvml.memory(), Some(Ok(memory(total, None, free))));
    drop(nvml);

    // A driver without `_v2`.
    set(&[("FAKENVML_MEMORY", &knob)]);
    let mut nvml = Nvml::open_at(&dir.join("nvml-v1/libnvidia-ml.so.1")).unwrap();
    assert_eq!(nvml.open_memory(no_uuid), Ok(NvmlMemoryVersion::V1));
    assert_eq!(nvml.memory(), Some(Ok(memory(total, None, free))));
    drop(nvml);

    // Jetson Orin: Not Supported, so no memory figures, with the call named.
    set(&[("FAKENVML_MEMORY", "ns")]);
    let mut nvml = Nvml::open_at(&lib).unwrap();
    assert_eq!(
        nvml.open_memory(no_uuid),
        Err(NvmlUnavailable::NotSupported("nvmlDeviceGetMemoryInfo_v2"))
    );
    assert_eq!(nvml.memory(), None);
    assert_eq!(nvml.memory_version(), None);
    drop(nvml);

    // Three GPUs: the one with CUDA device 0's UUID is read, whatever its
    // NVML index; the CUDA UUID is asked for only when there are several.
    let uuids = "GPU-00000000-0000-0000-0000-000000000001,\
                 GPU-5a4e0102-abcd-0011-2233-445566778899,\
                 GPU-00000000-0000-0000-0000-000000000003";
    set(&[
        ("FAKENVML_UUIDS", uuids),
        ("FAKENVML_MEMORY", "1000:0:1000,2048:1024:512,ns"),
    ]);
    let cuda_uuid = [
        0x5a, 0x4e, 0x01, 0x02, 0xab, 0xcd, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        0x99,
    ];
    let mut nvml = Nvml::open_at(&lib).unwrap();
    assert_eq!(nvml.device_count(), 3);
    assert_eq!(
        nvml.open_memory(|| Some(cuda_uuid)),
        Ok(NvmlMemoryVersion::V2)
    );
    assert_eq!(nvml.memory_device(), Some(1));
    assert_eq!(nvml.memory(), Some(Ok(memory(2048, Some(1024), 512))));
    // Without CUDA's UUID there is no telling which GPU it is: never index 0.
    let mut nvml = Nvml::open_at(&lib).unwrap();
    assert_eq!(
        nvml.open_memory(no_uuid),
        Err(NvmlUnavailable::NoCudaMatch(3))
    );
    let mut other = cuda_uuid;
    other[15] = 0;
    assert_eq!(
        nvml.open_memory(|| Some(other)),
        Err(NvmlUnavailable::NoCudaMatch(3))
    );
    assert_eq!(nvml.memory(), None);
    drop(nvml);

    // A memory knob that does not fit its device count is the fake's error.
    set(&[("FAKENVML_MEMORY", "1:0:1,2:0:2")]);
    assert_eq!(
        Nvml::open_at(&lib).unwrap_err(),
        NvmlUnavailable::Error("nvmlInit_v2", "Invalid Argument (2)".into())
    );
    set(&[]);
}

#[test]
fn missing_nvml_is_absent_with_its_reason() {
    let _env = env_lock();
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
