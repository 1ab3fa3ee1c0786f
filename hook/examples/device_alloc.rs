//! The real-GPU check of `--cuda-hook` (run by tests/device/run.sh on a
//! machine with an NVIDIA driver, from binaries built elsewhere):
//!
//! * `device_alloc run OUT.json`: through cudarc's driver API (dlopen +
//!   dlsym, as programs do), allocates 4 × 256 MiB of device memory and
//!   128 MiB of pinned host memory, measures cuMemGetInfo's free and total,
//!   NVML's figure for this pid and NVML's device-wide total − free before
//!   and after, frees two device buffers and the pinned one, and writes what
//!   it measured to OUT.json (two device buffers stay allocated at exit).
//! * `device_alloc bench N`: N `cuMemAlloc_v2` + `cuMemFree_v2` pairs of
//!   2 MiB; prints the nanoseconds per pair (run with and without the hook).
//! * `device_alloc bench-mem N`: N `cuMemGetInfo` and N NVML
//!   `nvmlDeviceGetMemoryInfo` calls: the nanoseconds per call of each, what
//!   the recorder pays per sample for the `cuda` and `nvml` GPU sources.
//! * `device_alloc check REPORT.json OUT.json`: checks `jetmem report
//!   --format json` of the `run` against what was allocated and measured.

use cudarc::driver::result;
use serde_json::{Value, json};
use std::ffi::{c_int, c_uint, c_ulonglong, c_void};
use std::time::Instant;

const MIB: u64 = 1 << 20;
const DEVICE: u64 = 256 * MIB;
const PINNED: u64 = 128 * MIB;

type Res<T> = Result<T, String>;

fn cuda<T>(what: &str, r: Result<T, result::DriverError>) -> Res<T> {
    r.map_err(|e| format!("{what}: {e:?}"))
}

fn context() -> Res<()> {
    cuda("cuInit", result::init())?;
    let dev = cuda("cuDeviceGet", result::device::get(0))?;
    // SAFETY: a valid device; the primary context lives until the process exits.
    let ctx = cuda("cuDevicePrimaryCtxRetain", unsafe {
        result::primary_ctx::retain(dev)
    })?;
    // SAFETY: the context just retained.
    cuda("cuCtxSetCurrent", unsafe { result::ctx::set_current(ctx) })
}

/// A symbol of the driver's NVML (`libnvidia-ml.so.1`, loaded on first use).
fn nvml_sym(name: &std::ffi::CStr) -> Option<*mut c_void> {
    // SAFETY: dlopen of the library by name (refcounted, kept loaded) and
    // dlsym of a NUL-terminated name.
    unsafe {
        let h = libc::dlopen(c"libnvidia-ml.so.1".as_ptr(), libc::RTLD_NOW);
        if h.is_null() {
            return None;
        }
        let p = libc::dlsym(h, name.as_ptr());
        (!p.is_null()).then_some(p)
    }
}

/// NVML initialised and the handle of its GPU 0, if it answers; with
/// `only`, only when NVML reports exactly one GPU.
fn nvml_gpu0(only: bool) -> Option<*mut c_void> {
    // SAFETY: NVML's entry points, called with their nvml.h signatures.
    unsafe {
        let init: extern "C" fn() -> c_int = std::mem::transmute(nvml_sym(c"nvmlInit_v2")?);
        let count: extern "C" fn(*mut c_uint) -> c_int =
            std::mem::transmute(nvml_sym(c"nvmlDeviceGetCount_v2")?);
        let handle: extern "C" fn(c_uint, *mut *mut c_void) -> c_int =
            std::mem::transmute(nvml_sym(c"nvmlDeviceGetHandleByIndex_v2")?);
        if init() != 0 {
            return None;
        }
        let mut n: c_uint = 0;
        if only && (count(&mut n) != 0 || n != 1) {
            return None;
        }
        let mut dev = std::ptr::null_mut();
        (handle(0, &mut dev) == 0).then_some(dev)
    }
}

/// NVML's used GPU memory of this pid (`nvmlDeviceGetComputeRunningProcesses_v3`), if NVML answers.
fn nvml_used(pid: u32) -> Option<u64> {
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct ProcessInfo {
        pid: c_uint,
        used: c_ulonglong,
        gpu_instance: c_uint,
        compute_instance: c_uint,
    }
    let dev = nvml_gpu0(false)?;
    // SAFETY: the nvml.h signature of the symbol.
    let procs: extern "C" fn(*mut c_void, *mut c_uint, *mut ProcessInfo) -> c_int =
        unsafe { std::mem::transmute(nvml_sym(c"nvmlDeviceGetComputeRunningProcesses_v3")?) };
    let mut infos = [ProcessInfo::default(); 64];
    let mut n: c_uint = infos.len() as c_uint;
    if procs(dev, &mut n, infos.as_mut_ptr()) != 0 {
        return None;
    }
    infos
        .iter()
        .take(n as usize)
        .find(|i| i.pid == pid)
        .map(|i| i.used)
        .filter(|u| *u != u64::MAX)
}

/// NVML's device-wide memory of its only GPU (`nvmlDeviceGetMemoryInfo`,
/// v1: total − free is "Reserved and Allocated" in nvml.h), read here apart
/// from jetmem's own code; `None` where NVML does not answer or reports
/// several GPUs (which one is CUDA device 0 is then not this check's to guess).
struct NvmlDevice {
    dev: *mut c_void,
    memory: NvmlMemoryFn,
}

/// `nvmlDeviceGetMemoryInfo(device, nvmlMemory_t *)`; the struct is three u64s.
type NvmlMemoryFn = unsafe extern "C" fn(*mut c_void, *mut [c_ulonglong; 3]) -> c_int;

impl NvmlDevice {
    fn open() -> Option<NvmlDevice> {
        let dev = nvml_gpu0(true)?;
        // SAFETY: the nvml.h signature of the symbol.
        let memory: NvmlMemoryFn =
            unsafe { std::mem::transmute(nvml_sym(c"nvmlDeviceGetMemoryInfo")?) };
        let d = NvmlDevice { dev, memory };
        d.total_free().map(|_| d)
    }

    /// (total, free) bytes.
    fn total_free(&self) -> Option<(u64, u64)> {
        let mut m: [c_ulonglong; 3] = [0; 3]; // nvmlMemory_t: total, free, used
        // SAFETY: `dev` came from nvmlDeviceGetHandleByIndex_v2; `m` has nvmlMemory_t's layout.
        let rc = unsafe { (self.memory)(self.dev, &mut m) };
        (rc == 0).then_some((m[0], m[1]))
    }

    fn used(&self) -> Option<u64> {
        self.total_free().and_then(|(t, f)| t.checked_sub(f))
    }
}

fn free_bytes() -> Res<u64> {
    Ok(cuda("cuMemGetInfo", result::mem_get_info())?.0 as u64)
}

fn run(out: &str) -> Res<()> {
    context()?;
    let pid = std::process::id();
    let device = NvmlDevice::open();
    let device_used = || device.as_ref().and_then(NvmlDevice::used);
    let (free0, nvml0, dev0) = (free_bytes()?, nvml_used(pid), device_used());
    let mut dev = Vec::new();
    for _ in 0..4 {
        // SAFETY: a plain device allocation in the current context.
        dev.push(cuda("cuMemAlloc", unsafe {
            result::malloc_sync(DEVICE as usize)
        })?);
    }
    // SAFETY: a plain pinned host allocation in the current context.
    let pinned = cuda("cuMemHostAlloc", unsafe {
        result::malloc_host(PINNED as usize, 0)
    })?;
    // SAFETY: `pinned` holds PINNED bytes; touching them makes them resident.
    unsafe { std::ptr::write_bytes(pinned.cast::<u8>(), 1, PINNED as usize) };
    let (free1, nvml1, dev1) = (free_bytes()?, nvml_used(pid), device_used());
    let cuda_total = cuda("cuMemGetInfo", result::mem_get_info())?.1 as u64;
    let nvml_total = device.as_ref().and_then(|d| d.total_free()).map(|m| m.0);
    std::thread::sleep(std::time::Duration::from_millis(300)); // seen by the sampler
    for d in dev.drain(..2) {
        // SAFETY: allocated above, freed once.
        cuda("cuMemFree", unsafe { result::free_sync(d) })?;
    }
    // SAFETY: allocated above, freed once.
    cuda("cuMemFreeHost", unsafe { result::free_host(pinned) })?;
    let m = json!({
        "pid": pid,
        "free_before": free0, "free_after": free1,
        "nvml_before": nvml0, "nvml_after": nvml1,
        "cuda_total": cuda_total, "nvml_total": nvml_total,
        "nvml_device_before": dev0, "nvml_device_after": dev1,
    });
    std::fs::write(out, m.to_string()).map_err(|e| format!("{out}: {e}"))
}

fn bench(n: u32) -> Res<()> {
    context()?;
    let t = Instant::now();
    for _ in 0..n {
        // SAFETY: allocate and free at once, in the current context.
        let d = cuda("cuMemAlloc", unsafe {
            result::malloc_sync(2 * MIB as usize)
        })?;
        // SAFETY: allocated just above.
        cuda("cuMemFree", unsafe { result::free_sync(d) })?;
    }
    println!("{:.1}", t.elapsed().as_nanos() as f64 / f64::from(n));
    Ok(())
}

fn bench_mem(n: u32) -> Res<()> {
    context()?;
    let t = Instant::now();
    for _ in 0..n {
        free_bytes()?;
    }
    let cuda_ns = t.elapsed().as_nanos() as f64 / f64::from(n);
    println!("cuMemGetInfo: {cuda_ns:.0} ns per call");
    let Some(d) = NvmlDevice::open() else {
        println!("nvmlDeviceGetMemoryInfo: NVML does not answer here (or several GPUs)");
        return Ok(());
    };
    let t = Instant::now();
    for _ in 0..n {
        d.total_free().ok_or("nvmlDeviceGetMemoryInfo failed")?;
    }
    let nvml_ns = t.elapsed().as_nanos() as f64 / f64::from(n);
    println!("nvmlDeviceGetMemoryInfo: {nvml_ns:.0} ns per call");
    Ok(())
}

fn within(what: &str, got: u64, want: u64, permille: u64) -> Res<()> {
    let diff = got.abs_diff(want);
    println!(
        "{what}: {got} bytes, expected {want} (±{}.{} %)",
        permille / 10,
        permille % 10
    );
    if diff * 1000 > want * permille {
        return Err(format!("{what}: {got} is not within {permille}‰ of {want}"));
    }
    Ok(())
}

fn check(report: &str, measured: &str) -> Res<()> {
    let read = |p: &str| -> Res<Value> {
        let t = std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))?;
        serde_json::from_str(&t).map_err(|e| format!("{p}: {e}"))
    };
    let (r, m) = (read(report)?, read(measured)?);
    let hook = &r["cuda_hook"];
    let p = hook["processes"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["pid"] == m["pid"]))
        .ok_or("the report has no cuda_hook entry for the test process")?;
    let exact = [
        ("device_peak_bytes", 4 * DEVICE),
        ("device_end_bytes", 2 * DEVICE),
        ("pinned_peak_bytes", PINNED),
        ("allocations", 5),
        ("frees", 3),
    ];
    for (k, want) in exact {
        let got = p[k].as_u64().ok_or(format!("{k} missing"))?;
        println!("hook {k}: {got} (expected {want})");
        if got != want {
            return Err(format!("hook {k}: {got}, expected {want}"));
        }
    }
    let u = |v: &Value| v.as_u64().ok_or("not a number".to_owned());
    let got = u(&m["free_before"])?.saturating_sub(u(&m["free_after"])?);
    within("cuMemGetInfo free change", got, 4 * DEVICE, 50)?;
    match (m["nvml_before"].as_u64(), m["nvml_after"].as_u64()) {
        (Some(a), Some(b)) => within(
            "NVML per-process change",
            b.saturating_sub(a),
            4 * DEVICE,
            50,
        )?,
        _ => println!("NVML per-process figure: not available on this driver, not compared"),
    }
    // jetmem's own NVML reading (report gpu.processes, the pid's largest
    // usedGpuMemory) against what this process read from NVML at its peak.
    let own = r["gpu"]["processes"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["pid"] == m["pid"]))
        .and_then(|p| p["used_bytes"].as_u64());
    match (own, m["nvml_after"].as_u64()) {
        (Some(got), Some(want)) => {
            within("jetmem gpu.processes vs NVML at the peak", got, want, 50)?
        }
        (got, want) => println!(
            "jetmem gpu.processes: {got:?}, NVML at the peak: {want:?}; not compared \
             (printed only when jetmem's report has a figure for this pid)"
        ),
    }
    nvml_device_checks(&r, &m)?;
    if r["architecture"] != "discrete" {
        println!(
            "architecture {}: the discrete checks do not apply",
            r["architecture"]
        );
        return Ok(());
    }
    let t = &r["total_peak"];
    let (ram, vram) = (u(&t["ram_bytes"])?, u(&t["vram_bytes"])?);
    println!(
        "discrete: total peak {} = RAM {ram} + VRAM {vram}",
        r["total_peak_bytes"]
    );
    if u(&r["total_peak_bytes"])? != ram + vram || vram < 4 * DEVICE {
        return Err("discrete report: VRAM is not additive to RAM, or misses the 1 GiB".into());
    }
    if r["gpu"]["subset_of_system"] != false {
        return Err("discrete report: GPU memory shown as part of system memory".into());
    }
    Ok(())
}

/// jetmem's NVML device-wide figure (the `nvml` GPU source) against what
/// this process read from NVML itself, and both beside cuMemGetInfo.
fn nvml_device_checks(r: &Value, m: &Value) -> Res<()> {
    let (Some(before), Some(after)) = (
        m["nvml_device_before"].as_u64(),
        m["nvml_device_after"].as_u64(),
    ) else {
        println!(
            "NVML device memory: not available here (or several GPUs), not compared; \
             report gpu.source {}",
            r["gpu"]["source"]
        );
        return Ok(());
    };
    within(
        "NVML device-wide used (total - free) change",
        after.saturating_sub(before),
        4 * DEVICE,
        50,
    )?;
    let u = |v: &Value| v.as_u64();
    let free = (u(&m["free_before"]), u(&m["free_after"]));
    if let (Some(ct), Some(nt), Some(fa)) = (u(&m["cuda_total"]), u(&m["nvml_total"]), free.1) {
        println!(
            "at the peak: NVML total {nt}, used {after}; cuMemGetInfo total {ct}, used {} \
             (totals differ by {} bytes)",
            ct.saturating_sub(fa),
            nt.abs_diff(ct)
        );
    }
    let source = r["gpu"]["source"].as_str().unwrap_or("null");
    if source.starts_with("nvmap") || source == "meminfo-nvmap" {
        println!("report gpu.source {source}: nvmap comes before NVML; not compared");
        return Ok(());
    }
    if source != "nvml" {
        return Err(format!(
            "NVML answers here but the report's gpu.source is {} (reason {})",
            r["gpu"]["source"], r["gpu"]["reason"]
        ));
    }
    let peak = u(&r["gpu"]["used_peak_bytes"]).ok_or("report gpu.used_peak_bytes missing")?;
    within(
        "jetmem gpu.used_peak_bytes vs NVML at the peak",
        peak,
        after,
        50,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let r = match args.get(1..).unwrap_or(&[]) {
        [cmd, out] if cmd == "run" => run(out),
        [cmd, n] if cmd == "bench" => n.parse().map_err(|e| format!("{e}")).and_then(bench),
        [cmd, n] if cmd == "bench-mem" => n.parse().map_err(|e| format!("{e}")).and_then(bench_mem),
        [cmd, report, m] if cmd == "check" => check(report, m),
        _ => Err(
            "usage: device_alloc run OUT.json | bench N | bench-mem N | check REPORT.json OUT.json"
                .into(),
        ),
    };
    if let Err(e) = r {
        eprintln!("device_alloc: {e}");
        std::process::exit(1);
    }
}
