//! The sampler against its real alternatives, side by side in one run.
//!
//! `cargo bench -p jetmem-core --features std --bench sampler_vs_peers`
//!
//! Each repetition interleaves, on the same 6-process tree:
//! - the C `pread` floor (`benches/peers/floor.c`, built with the system `cc`):
//!   meminfo + cgroup (system sample) and meminfo + statm of every pid (tree sample);
//! - jetmem's `Collector::fast` for the same files (system target, and the tree);
//! - psutil's "seed" sample (`virtual_memory()` + `children(recursive=True)` +
//!   `memory_info()` of each), run by `python3` in the same repetition.
//!
//! Ratios are computed per repetition against the floor measured in that same
//! repetition, then the median is taken (the method docs/PERFORMANCE.md describes).
//! Then the tracer runs at 1 kHz for `JETMEM_BENCH_SUSTAIN_S` seconds (default 60)
//! and reports its own CPU time and drops from the `End` record.

#[path = "support/floor.rs"]
mod floor;

use floor::{build_floor, cgroup_file, median};
use jetmem_core::record::Sample;
use jetmem_core::sampler::{Collector, SamplerConfig, Target, Tracer};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

type SampleNs = unsafe extern "C" fn(i64, *const i32, i32) -> f64;
type SystemNs = unsafe extern "C" fn(i64, *const std::ffi::c_char) -> f64;
type TickFloor = unsafe extern "C" fn(i64, *const i32, i32, *const std::ffi::c_char) -> f64;

fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    let reps: usize = std::env::var("JETMEM_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(21);
    let sustain_s: u64 = std::env::var("JETMEM_BENCH_SUSTAIN_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = std::env::temp_dir().join(format!("jetmem-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lib_path = build_floor(&dir);
    // SAFETY: loading our own freshly built C library with no initialisers.
    let lib = unsafe { libloading::Library::new(&lib_path) }.unwrap();
    // SAFETY: the symbols have exactly these signatures in floor.c.
    let sample_ns: libloading::Symbol<SampleNs> = unsafe { lib.get(b"sample_ns") }.unwrap();
    // SAFETY: as above.
    let system_ns: libloading::Symbol<SystemNs> = unsafe { lib.get(b"system_sample_ns") }.unwrap();
    // SAFETY: as above.
    let tick_floor: libloading::Symbol<TickFloor> =
        unsafe { lib.get(b"tick_floor_cpu_pct") }.unwrap();

    // bash root -> {sleep, sleep, bash -> {sleep, sleep}}: 6 processes, as in docs/PERFORMANCE.md.
    let mut tree = Command::new("bash")
        .process_group(0)
        .arg("-c")
        .arg("sleep 1000 & sleep 1000 & bash -c \"sleep 1000 & sleep 1000 & wait\" & wait")
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let root = Path::new("/");
    let mut sys_c = Collector::open(root, Target::System, false).unwrap();
    let mut tree_c = Collector::open(root, Target::Tree { pid: tree.id() }, false).unwrap();
    tree_c.slow(|_| {});
    let pids: Vec<i32> = tree_c.processes().map(|p| p.pid as i32).collect();
    assert_eq!(pids.len(), 6, "the benchmark tree has 6 processes");
    let cg = cgroup_file().filter(|p| p.exists());
    let cg_c = cg
        .as_ref()
        .map(|p| std::ffi::CString::new(p.to_str().unwrap()).unwrap());
    let cg_ptr = cg_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let python = Command::new("python3")
        .args(["-c", "import psutil"])
        .status()
        .is_ok_and(|s| s.success());
    let psutil_script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/psutil_sample.py");

    let n = 2000u32;
    let mut s = Sample::default();
    let (
        mut f_sys,
        mut j_sys,
        mut f_tree,
        mut j_tree,
        mut r_sys,
        mut r_tree,
        mut per_proc,
        mut ps,
        mut r_ps,
    ) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    for _ in 0..reps {
        // SAFETY: valid C string or null; the floor handles both.
        let fs = unsafe { system_ns(i64::from(n), cg_ptr) };
        let js = per_call(n, || sys_c.fast(1, &mut s));
        // SAFETY: `pids` outlives the call; the count matches.
        let ft = unsafe { sample_ns(i64::from(n), pids.as_ptr(), pids.len() as i32) };
        let jt = per_call(n, || tree_c.fast(1, &mut s));
        f_sys.push(fs);
        j_sys.push(js);
        f_tree.push(ft);
        j_tree.push(jt);
        r_sys.push(js / fs);
        r_tree.push(jt / ft);
        per_proc.push((jt - js) / pids.len() as f64);
        if python {
            let out = Command::new("python3")
                .arg(&psutil_script)
                .arg("50")
                .arg(tree.id().to_string())
                .output()
                .unwrap();
            if let Ok(v) = String::from_utf8_lossy(&out.stdout).trim().parse::<f64>() {
                ps.push(v);
                r_ps.push(v / jt);
            }
        }
    }
    // The whole process group: the sleeps must not outlive the benchmark.
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(tree.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = tree.wait();
    println!("# sampler vs peers: {reps} repetitions x {n} samples, medians (ns per sample)");
    println!(
        "cgroup file: {}",
        cg.as_ref()
            .map_or("none".into(), |p| p.display().to_string())
    );
    println!("| what | median ns | ratio (same repetition) |");
    println!("|---|---|---|");
    println!(
        "| C floor: meminfo + cgroup | {:.0} | 1 |",
        median(&mut f_sys)
    );
    println!(
        "| jetmem system sample (meminfo + cgroup) | {:.0} | {:.3} x floor |",
        median(&mut j_sys),
        median(&mut r_sys)
    );
    println!(
        "| C floor: meminfo + statm x6 | {:.0} | 1 |",
        median(&mut f_tree)
    );
    println!(
        "| jetmem tree sample (meminfo + cgroup + statm x6) | {:.0} | {:.3} x floor |",
        median(&mut j_tree),
        median(&mut r_tree)
    );
    println!(
        "| jetmem cost per traced process | {:.0} | |",
        median(&mut per_proc)
    );
    if ps.is_empty() {
        println!("| psutil seed sample | not run (python3 with psutil not found) | |");
    } else {
        println!(
            "| psutil seed sample (6 pids) | {:.0} | {:.0} x jetmem tree sample |",
            median(&mut ps),
            median(&mut r_ps)
        );
    }

    if sustain_s > 0 {
        let mut child = Command::new("sleep")
            .arg((2 * sustain_s + 5).to_string())
            .spawn()
            .unwrap();
        let pid = [child.id() as i32];
        // The same-run floor: a C loop waking at the same absolute 1 ms deadlines and
        // reading the same files (meminfo, the cgroup file, statm of the one process).
        // SAFETY: `pid` and `cg_ptr` outlive the call; the count matches.
        let floor_pct = unsafe { tick_floor(sustain_s as i64, pid.as_ptr(), 1, cg_ptr) };
        let path = dir.join("sustain.jmt");
        let cfg = SamplerConfig {
            interval: Duration::from_millis(1),
            target: Target::Tree { pid: child.id() },
            probe_cuda: false,
            ..SamplerConfig::default()
        };
        let tracer = Tracer::start(cfg, std::fs::File::create(&path).unwrap()).unwrap();
        std::thread::sleep(Duration::from_secs(sustain_s));
        let r = tracer.stop(None).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        let secs = r.end.t_ns as f64 / 1e9;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let pct = r.end.sampler_cpu_ns as f64 / 1e9 / secs * 100.0;
        println!();
        println!("# 1 kHz for {sustain_s} s (tree of one process, CUDA off)");
        println!("| what | CPU, % of one core |");
        println!("|---|---|");
        println!(
            "| C floor: wake at each 1 ms deadline + the same preads and parses | {floor_pct:.2} |"
        );
        println!(
            "| jetmem sampler thread (End record) | {pct:.2} ({:.2} x floor) |",
            pct / floor_pct
        );
        println!(
            "| jetmem writer thread | {:.2} |",
            r.end.writer_cpu_ns as f64 / 1e9 / secs * 100.0
        );
        println!(
            "samples {} dropped {} | lateness p50 {:.1} us p99 {:.1} us max {:.1} us | {:.1} bytes/sample on disk",
            r.end.samples,
            r.end.dropped,
            r.end.lateness_p50_ns as f64 / 1e3,
            r.end.lateness_p99_ns as f64 / 1e3,
            r.end.lateness_max_ns as f64 / 1e3,
            bytes as f64 / r.end.samples.max(1) as f64,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
