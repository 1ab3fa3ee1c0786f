//! The whole `jetmem record` process against a C floor, back to back in one run.
//!
//! ```text
//! cargo build --release -p jetmem
//! JETMEM_BENCH_SECS=10 cargo bench -p jetmem-core --features std --bench record_cost
//! ```
//!
//! For each case (a 6-process tree and `--system`, at 10 ms and at 1 ms; a
//! 500-process tree at 10 ms), the C floor (`benches/peers/floor.c`:
//! `tick_floor_every_pct`, a loop waking at the same absolute deadlines and
//! preading meminfo, the cgroup file and every statm of the tree) runs for
//! `JETMEM_BENCH_SECS`, then `jetmem record --pid ROOT` (or `--system`) with
//! `--duration` the same, one after the other so that each has the machine
//! to itself (run at the same time, the two wake each other's CPUs and the
//! ratio follows their relative phase, ±20 %). The recorder's CPU is the
//! whole process's (all threads, `wait4`'s rusage: user + system), start-up
//! and end included (`--no-report`: no report). A record of the same case
//! lasting `SHORT_S` gives the fixed cost (exec, dynamic loading, opening
//! the sources, the header, the end): the steady-state figure is (long −
//! short) CPU over (long − short) time. Each case runs
//! `JETMEM_BENCH_ROUNDS` times (default 3) of floor, short and long record;
//! the table shows the round with the median steady-state ratio, every
//! round's ratio (a 2-vCPU VM's load drifts between rounds) and the pooled
//! ratio, Σ steady-state CPU / Σ floor CPU over the rounds.
//! `JETMEM_BENCH_CASES=1,3` runs only those rows (1-based).
//! Per traced process: (500-tree − 6-tree) / 494 per sample, jetmem and
//! floor, from the median rounds. Deadlines missed come from `jetmem report
//! --format json`'s `tracer`. `JETMEM_BIN` names the recorder (default:
//! target/release/jetmem).

#[path = "support/floor.rs"]
mod floor;

use floor::{build_floor, cgroup_file};
use jetmem_core::sampler::{Collector, Target};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

type TickEvery = unsafe extern "C" fn(i64, i64, *const i32, i32, *const std::ffi::c_char) -> f64;

/// A process tree of `n` processes: bash and `n − 1` sleeps (in its own group).
fn tree(n: usize) -> (Child, Vec<i32>) {
    let script = format!("for i in $(seq {}); do sleep 1000 & done; wait", n - 1);
    let child = Command::new("bash")
        .process_group(0)
        .args(["-c", &script])
        .spawn()
        .unwrap();
    let mut pids = Vec::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        let mut c =
            Collector::open(Path::new("/"), Target::Tree { pid: child.id() }, false).unwrap();
        c.slow(|_| {});
        pids = c.processes().map(|p| p.pid as i32).collect();
        if pids.len() >= n {
            break;
        }
    }
    assert_eq!(pids.len(), n, "the benchmark tree did not start");
    (child, pids)
}

fn kill_tree(mut child: Child) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = child.wait();
}

/// CPU seconds (user + system, all threads) of a child, waited for with wait4.
#[allow(clippy::zombie_processes, reason = "wait4 reaps it")]
fn run_measured(mut cmd: Command) -> f64 {
    wait_measured(cmd.spawn().expect("jetmem"))
}

/// CPU seconds (user + system, all threads) of a running child, reaped with wait4.
fn wait_measured(child: Child) -> f64 {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it for our own child.
    let mut ru: nix::libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `ru` outlive the call; the pid is our child's.
    let pid = unsafe { nix::libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(pid, child.id() as i32, "wait4");
    assert_eq!(status, 0, "jetmem record failed");
    let tv = |t: nix::libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn deadlines_missed(bin: &Path, trace: &Path) -> String {
    let out = Command::new(bin)
        .args(["report", "--format", "json"])
        .arg(trace)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |key: &str| {
        text.split(&format!("\"{key}\": "))
            .nth(1)
            .and_then(|r| r.split([',', '\n']).next())
            .unwrap_or("?")
            .to_owned()
    };
    format!(
        "{} of {} (lateness p99 {} s)",
        field("deadlines_missed"),
        field("samples_scheduled"),
        field("lateness_p99_s")
    )
}

/// The short record whose CPU is the fixed cost of a record.
const SHORT_S: f64 = 0.2;

struct Case {
    name: &'static str,
    interval_ms: u64,
    processes: Option<usize>,
}

fn main() {
    let secs: i64 = std::env::var("JETMEM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let rounds_n: usize = std::env::var("JETMEM_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let bin = std::env::var_os("JETMEM_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/jetmem"),
        PathBuf::from,
    );
    assert!(
        bin.exists(),
        "{}: build it with cargo build --release -p jetmem",
        bin.display()
    );
    let dir = std::env::temp_dir().join(format!("jetmem-record-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lib_path = build_floor(&dir);
    // SAFETY: loading our own freshly built C library with no initialisers.
    let lib = unsafe { libloading::Library::new(&lib_path) }.unwrap();
    // SAFETY: the symbol has exactly this signature in floor.c.
    let tick: libloading::Symbol<TickEvery> = unsafe { lib.get(b"tick_floor_every_pct") }.unwrap();
    let cg = cgroup_file().filter(|p| p.exists());
    let cg_c = cg
        .as_ref()
        .map(|p| std::ffi::CString::new(p.to_str().unwrap()).unwrap());
    let cg_ptr = cg_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let cases = [
        Case {
            name: "6-process tree",
            interval_ms: 10,
            processes: Some(6),
        },
        Case {
            name: "6-process tree",
            interval_ms: 1,
            processes: Some(6),
        },
        Case {
            name: "--system",
            interval_ms: 10,
            processes: None,
        },
        Case {
            name: "--system",
            interval_ms: 1,
            processes: None,
        },
        Case {
            name: "500-process tree",
            interval_ms: 10,
            processes: Some(500),
        },
    ];
    println!(
        "# whole `jetmem record` process vs the same-run C floor, {secs} s per run, median of {rounds_n} rounds"
    );
    println!(
        "| case | interval | C floor, % of a core | jetmem record, whole process, % (ratio) | fixed cost ({SHORT_S} s record) | steady state, % (ratio) | deadlines missed |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut per_sample: Vec<(usize, u64, f64, f64)> = Vec::new();
    // JETMEM_BENCH_CASES=1,3 runs only those rows (1-based), e.g. to give one
    // case more rounds.
    let only: Option<Vec<usize>> = std::env::var("JETMEM_BENCH_CASES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    for (i, c) in cases.iter().enumerate() {
        if only.as_ref().is_some_and(|o| !o.contains(&(i + 1))) {
            continue;
        }
        let (child, pids) = match c.processes {
            Some(n) => {
                let (child, pids) = tree(n);
                (Some(child), pids)
            }
            None => (None, Vec::new()),
        };
        let interval_ns = (c.interval_ms * 1_000_000) as i64;
        let trace = dir.join(format!("{}-{}.jetmem", c.interval_ms, pids.len()));
        let record = |duration_s: f64| {
            let mut cmd = Command::new(&bin);
            cmd.args(["record", "--no-report", "--no-cuda", "--force", "-o"])
                .arg(&trace)
                .args(["-i", &format!("{}ms", c.interval_ms)])
                .args(["--duration", &format!("{duration_s}s")]);
            match (&child, pids.first()) {
                (Some(_), Some(root)) => cmd.args(["--pid", &root.to_string()]),
                _ => cmd.arg("--system"),
            };
            cmd.stderr(std::process::Stdio::null());
            cmd
        };
        // (steady ratio, floor %, whole %, steady %, cpu s, deadlines, fixed s)
        let mut rounds: Vec<(f64, f64, f64, f64, f64, String, f64)> = (0..rounds_n)
            .map(|_| {
                // SAFETY: `pids` and `cg_ptr` outlive the call; the count matches.
                let floor_pct =
                    unsafe { tick(secs, interval_ns, pids.as_ptr(), pids.len() as i32, cg_ptr) };
                let fixed = run_measured(record(SHORT_S));
                let cpu = run_measured(record(secs as f64));
                let pct = cpu / secs as f64 * 100.0;
                let steady = (cpu - fixed).max(0.0) / (secs as f64 - SHORT_S) * 100.0;
                (
                    steady / floor_pct,
                    floor_pct,
                    pct,
                    steady,
                    cpu,
                    deadlines_missed(&bin, &trace),
                    fixed,
                )
            })
            .collect();
        rounds.sort_by(|a, b| a.0.total_cmp(&b.0));
        let all: Vec<String> = rounds.iter().map(|r| format!("{:.2}", r.0)).collect();
        // Pooled over the rounds: Σ steady / Σ floor (a ratio of sums is less
        // biased by one noisy floor than the median of per-round ratios).
        let pooled =
            rounds.iter().map(|r| r.3).sum::<f64>() / rounds.iter().map(|r| r.1).sum::<f64>();
        let (ratio, floor_pct, pct, steady, cpu, missed, fixed) =
            rounds.swap_remove(rounds.len() / 2);
        println!(
            "| {} | {} ms | {floor_pct:.2} | {pct:.2} (**{:.2} ×**) | {:.0} ms | {steady:.2} (**{ratio:.2} ×**; rounds {}; pooled **{pooled:.2} ×**) | {missed} |",
            c.name,
            c.interval_ms,
            pct / floor_pct,
            fixed * 1e3,
            all.join(", "),
        );
        if c.interval_ms == 10 && !pids.is_empty() {
            let samples = (secs * 100) as f64;
            per_sample.push((
                pids.len(),
                c.interval_ms,
                floor_pct / 100.0 * secs as f64 / samples,
                (cpu - fixed).max(0.0) / samples,
            ));
        }
        if let Some(child) = child {
            kill_tree(child);
        }
    }
    if let [(n0, _, f0, j0), (n1, _, f1, j1)] = per_sample[..] {
        let d = (n1 - n0) as f64;
        let (f, j) = ((f1 - f0) / d * 1e6, (j1 - j0) / d * 1e6);
        println!();
        println!(
            "per traced process per sample at 10 ms ({n1} − {n0} processes): C floor {f:.2} µs, jetmem {j:.2} µs (**{:.2} ×**)",
            j / f
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
