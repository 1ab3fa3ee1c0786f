//! The whole `jetmem record` process against a C floor, interleaved in one run.
//!
//! ```text
//! cargo build --release -p jetmem
//! cargo bench -p jetmem-core --features std --bench record_cost
//! ```
//!
//! For each case (a 6-process tree and `--system`, at 10 ms and at 1 ms; a
//! 500-process tree at 10 ms), the C floor (`benches/peers/floor.c`:
//! `tick_floor_all_pct` in a forked child: one thread waking at the same
//! absolute deadlines and reading every file the recorder reads, at the
//! recorder's cadence: meminfo, the cgroup file and every statm each tick;
//! PSI, zram, the cgroup peak and limit, each thread's children file and an
//! fstat of each task directory every 100 ms; each status and comm, and a
//! listing of each task directory, every second; descriptors kept open) and
//! `jetmem record --pid ROOT` (or `--system`) `--no-report --no-cuda` are
//! both started, then take turns: each runs alone for `JETMEM_BENCH_SLICE_MS`
//! (default 250) while the other is stopped (SIGSTOP), `JETMEM_BENCH_SLICES`
//! times each (default 120), the order alternating. Run at the same time,
//! the two wake each other's CPUs and the ratio follows their relative
//! phase; run minutes apart, as a 2-vCPU VM's load drifts, the same case
//! spread from 1.0 × to 1.8 ×. In turns, both see the same machine.
//!
//! A process's CPU is the sum over all its threads of
//! `/proc/PID/task/TID/schedstat`'s run time (ns; what `getrusage` sums as
//! user + system), read `SETTLE_MS` after it is continued (so the wake-up
//! from SIGCONT is not counted) and again at the end of its turn. The ratio
//! is Σ jetmem CPU / Σ jetmem time over Σ floor CPU / Σ floor time (pooled),
//! with a bootstrap 90 % interval over the turn pairs, and the median and
//! spread of the per-pair ratios beside it. jetmem's CPU is also given per
//! thread (sampler, writer, main). Start-up is not in the turns; the whole
//! run's CPU (`wait4`'s rusage, start-up, stops and end included) is
//! printed as well.
//!
//! Deadlines missed come from a separate, unstopped record of
//! `JETMEM_BENCH_SECS` (default 5) and its trace's `tracer` section.
//! `JETMEM_BENCH_CASES=1,3` runs only those rows (1-based);
//! `JETMEM_BENCH_FLOOR=tick` gives the floor only the per-tick files. Per traced
//! process: (500-tree − 6-tree) / 494 per sample, pooled, jetmem and floor.
//! `JETMEM_BIN` names the recorder (default: target/release/jetmem).

#[path = "support/floor.rs"]
mod floor;

use floor::{build_floor, cgroup_file, median};
use jetmem_core::sampler::{Collector, Target};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

type CStr = *const std::ffi::c_char;
type TickAll = unsafe extern "C" fn(
    i64,
    i64,
    *const i32,
    i32,
    CStr,
    *const CStr,
    i32,
    *const CStr,
    i32,
    i64,
) -> f64;

/// The recorder's slow-path period (docs/sampler.md).
const SLOW_NS: i64 = 100_000_000;

/// What the recorder reads besides the per-tick files, as paths for the
/// floor: every 100 ms (PSI, zram, the cgroup peak and limit, each thread's
/// children file; a task directory: its fstat), and every second (each
/// process's status and comm; a task directory: listed). The list follows
/// docs/sampler.md, "What is read, and how often", and matches what strace
/// shows the recorder reading on this machine.
fn slow_reads(pids: &[i32], cg: Option<&Path>) -> (Vec<String>, Vec<String>) {
    let mut slow = Vec::new();
    let mut second = Vec::new();
    if Path::new("/proc/pressure/memory").exists() {
        slow.push("/proc/pressure/memory".to_owned());
    }
    if let Ok(dir) = std::fs::read_dir("/sys/block") {
        for e in dir.flatten() {
            let mm = e.path().join("mm_stat");
            if e.file_name().to_string_lossy().starts_with("zram") && mm.exists() {
                slow.push(mm.display().to_string());
            }
        }
    }
    if let Some(cg) = cg {
        let v1 = cg.ends_with("memory.usage_in_bytes");
        let names = if v1 {
            ["memory.max_usage_in_bytes", "memory.limit_in_bytes"]
        } else {
            ["memory.peak", "memory.max"]
        };
        for n in names {
            let f = cg.with_file_name(n);
            if f.exists() {
                slow.push(f.display().to_string());
            }
        }
    }
    for pid in pids {
        let task = format!("/proc/{pid}/task");
        if let Ok(dir) = std::fs::read_dir(&task) {
            for t in dir.flatten() {
                slow.push(format!(
                    "{task}/{}/children",
                    t.file_name().to_string_lossy()
                ));
            }
        }
        slow.push(task.clone());
        second.push(format!("/proc/{pid}/status"));
        second.push(format!("/proc/{pid}/comm"));
        second.push(task);
    }
    (slow, second)
}

/// The pooled ratio's 90 % interval: 2000 resamples of the turn pairs.
fn bootstrap(pairs: &[(u64, u64, u64, u64)]) -> (f64, f64) {
    let ratio = |idx: &mut dyn Iterator<Item = usize>| {
        let (mut fc, mut fw, mut jc, mut jw) = (0u64, 0u64, 0u64, 0u64);
        for i in idx {
            let p = pairs[i];
            (fc, fw, jc, jw) = (fc + p.0, fw + p.1, jc + p.2, jw + p.3);
        }
        (jc as f64 / jw as f64) / (fc as f64 / fw as f64)
    };
    // xorshift64*: a fixed seed, so a run's interval is reproducible from its pairs.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let n = pairs.len();
    let mut r: Vec<f64> = (0..2000)
        .map(|_| ratio(&mut (0..n).map(|_| (next() % n as u64) as usize)))
        .collect();
    r.sort_by(f64::total_cmp);
    (r[r.len() / 20], r[r.len() * 19 / 20])
}

/// Time a continued process is left to settle before its CPU is read (at
/// most a fifth of a turn).
const SETTLE_MS: u64 = 100;

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
    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    let _ = child.wait();
}

/// Run time (ns) of each thread of `pid`, by thread name.
fn thread_cpu(pid: i32) -> Vec<(String, u64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let p = e.path();
            let ns = std::fs::read_to_string(p.join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            let name = std::fs::read_to_string(p.join("comm")).ok()?;
            Some((name.trim().to_owned(), ns))
        })
        .collect()
}

/// CPU seconds (user + system, all threads) of a child, reaped with wait4.
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

/// The C floor in a forked child, waking for an hour (it is killed before).
fn spawn_floor(tick: TickAll, interval_ns: i64, pids: &[i32], cg: CStr, reads: &Reads) -> i32 {
    // SAFETY: this benchmark is single-threaded here; the child only calls the
    // floor (no locks held across the fork) and leaves with _exit.
    match unsafe { nix::libc::fork() } {
        0 => {
            // SAFETY: every pointer is valid in the child's copy of memory,
            // with the counts given.
            unsafe {
                tick(
                    3600,
                    interval_ns,
                    pids.as_ptr(),
                    pids.len() as i32,
                    cg,
                    reads.slow_ptrs.as_ptr(),
                    reads.slow_ptrs.len() as i32,
                    reads.second_ptrs.as_ptr(),
                    reads.second_ptrs.len() as i32,
                    SLOW_NS,
                )
            };
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { nix::libc::_exit(0) }
        }
        pid if pid > 0 => pid,
        _ => panic!("fork failed"),
    }
}

/// [`slow_reads`] as C strings and pointers to them.
struct Reads {
    _owned: Vec<std::ffi::CString>,
    slow_ptrs: Vec<CStr>,
    second_ptrs: Vec<CStr>,
}

impl Reads {
    fn new(slow: Vec<String>, second: Vec<String>) -> Reads {
        let n = slow.len();
        let owned: Vec<std::ffi::CString> = slow
            .into_iter()
            .chain(second)
            .map(|p| std::ffi::CString::new(p).unwrap())
            .collect();
        let ptrs: Vec<CStr> = owned.iter().map(|c| c.as_ptr()).collect();
        Reads {
            slow_ptrs: ptrs[..n].to_vec(),
            second_ptrs: ptrs[n..].to_vec(),
            _owned: owned,
        }
    }
}

/// One process's turns: CPU ns and wall ns, summed, and per turn.
#[derive(Default)]
struct Turns {
    cpu_ns: u64,
    wall_ns: u64,
    /// (CPU ns, wall ns) of each turn.
    per_turn: Vec<(u64, u64)>,
    /// jetmem's CPU per thread name, summed over its turns.
    threads: Vec<(String, u64)>,
}

impl Turns {
    /// Continues `pid`, lets it settle, measures it for `slice`, stops it.
    fn turn(&mut self, pid: i32, slice: Duration) {
        let p = Pid::from_raw(pid);
        kill(p, Signal::SIGCONT).unwrap();
        std::thread::sleep(Duration::from_millis(SETTLE_MS).min(slice / 5));
        let before = thread_cpu(pid);
        let t0 = Instant::now();
        std::thread::sleep(slice);
        let after = thread_cpu(pid);
        let wall = t0.elapsed().as_nanos() as u64;
        kill(p, Signal::SIGSTOP).unwrap();
        let mut cpu = 0;
        for (name, ns) in &after {
            let was = before.iter().find(|b| &b.0 == name).map_or(0, |b| b.1);
            let d = ns.saturating_sub(was);
            cpu += d;
            match self.threads.iter_mut().find(|t| &t.0 == name) {
                Some(t) => t.1 += d,
                None => self.threads.push((name.clone(), d)),
            }
        }
        self.cpu_ns += cpu;
        self.wall_ns += wall;
        self.per_turn.push((cpu, wall));
    }

    fn pct(&self) -> f64 {
        self.cpu_ns as f64 / self.wall_ns as f64 * 100.0
    }
}

struct Case {
    name: &'static str,
    interval_ms: u64,
    processes: Option<usize>,
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // The floor keeps every descriptor the recorder keeps (≈ 3 000 for the
    // 500-process tree), as the recorder does after raising its own limit.
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    let secs = env_num("JETMEM_BENCH_SECS", 5);
    let slices = env_num("JETMEM_BENCH_SLICES", 120).max(1);
    let slice = Duration::from_millis(env_num("JETMEM_BENCH_SLICE_MS", 250).max(100));
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
    let tick: TickAll = *unsafe { lib.get::<TickAll>(b"tick_floor_all_pct") }.unwrap();
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
        "# whole `jetmem record` process vs the C floor, in turns: {slices} turns of {} ms each",
        slice.as_millis()
    );
    println!(
        "| case | interval | C floor, % of a core | jetmem record, all threads, % | ratio, pooled (90 % interval) | per-turn ratios: median (min–max) | jetmem threads, % (sampler / writer / main) | whole run incl. start-up | deadlines missed ({secs} s unstopped) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut per_sample: Vec<(usize, f64, f64)> = Vec::new();
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
        let record = |duration: &str| {
            let mut cmd = Command::new(&bin);
            cmd.args(["record", "--no-report", "--no-cuda", "--force", "-o"])
                .arg(&trace)
                .args(["-i", &format!("{}ms", c.interval_ms)])
                .args(["--duration", duration]);
            match pids.first() {
                Some(root) => cmd.args(["--pid", &root.to_string()]),
                None => cmd.arg("--system"),
            };
            cmd.stderr(std::process::Stdio::null());
            cmd
        };
        // JETMEM_BENCH_FLOOR=tick: the floor of the benchmark's first method,
        // per-tick files only (to compare with the figures it gave).
        let (slow, second) = if std::env::var("JETMEM_BENCH_FLOOR").as_deref() == Ok("tick") {
            (Vec::new(), Vec::new())
        } else {
            slow_reads(&pids, cg.as_deref())
        };
        let reads = Reads::new(slow, second);
        let floor_pid = spawn_floor(tick, interval_ns, &pids, cg_ptr, &reads);
        let rec = record("1h").spawn().expect("jetmem");
        let rec_pid = rec.id() as i32;
        // Start-up (exec, opening the sources, the header) is not in the turns.
        std::thread::sleep(Duration::from_millis(500));
        for pid in [floor_pid, rec_pid] {
            kill(Pid::from_raw(pid), Signal::SIGSTOP).unwrap();
        }
        let (mut floor, mut jet) = (Turns::default(), Turns::default());
        for s in 0..slices {
            if s % 2 == 0 {
                floor.turn(floor_pid, slice);
                jet.turn(rec_pid, slice);
            } else {
                jet.turn(rec_pid, slice);
                floor.turn(floor_pid, slice);
            }
        }
        let _ = kill(Pid::from_raw(floor_pid), Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(Pid::from_raw(floor_pid), None);
        kill(Pid::from_raw(rec_pid), Signal::SIGCONT).unwrap();
        kill(Pid::from_raw(rec_pid), Signal::SIGINT).unwrap();
        let whole = wait_measured(rec);
        let missed = {
            let ok = record(&format!("{secs}s")).status().unwrap().success();
            assert!(ok, "jetmem record failed");
            deadlines_missed(&bin, &trace)
        };
        let pairs: Vec<(u64, u64, u64, u64)> = floor
            .per_turn
            .iter()
            .zip(&jet.per_turn)
            .map(|(f, j)| (f.0, f.1, j.0, j.1))
            .collect();
        let (ci_lo, ci_hi) = bootstrap(&pairs);
        let mut ratios: Vec<f64> = pairs
            .iter()
            .map(|p| (p.2 as f64 / p.3 as f64) / (p.0 as f64 / p.1 as f64))
            .collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(0.0, f64::max);
        let med = median(&mut ratios);
        let share = |name: &str| {
            jet.threads
                .iter()
                .filter(|t| t.0 == name)
                .map(|t| t.1)
                .sum::<u64>() as f64
                / jet.wall_ns as f64
                * 100.0
        };
        let main_name = bin.file_name().unwrap().to_string_lossy();
        println!(
            "| {} | {} ms | {:.3} | {:.3} | **{:.2} ×** ({ci_lo:.2}–{ci_hi:.2}) | {med:.2} ({lo:.2}–{hi:.2}) | {:.3} / {:.3} / {:.3} | {:.0} ms CPU | {missed} |",
            c.name,
            c.interval_ms,
            floor.pct(),
            jet.pct(),
            jet.pct() / floor.pct(),
            share("jetmem-sampler"),
            share("jetmem-writer"),
            share(&main_name[..main_name.len().min(15)]),
            whole * 1e3,
        );
        if c.interval_ms == 10 && !pids.is_empty() {
            // CPU per sample (µs) at 100 samples a second.
            per_sample.push((pids.len(), floor.pct() * 100.0, jet.pct() * 100.0));
        }
        if let Some(child) = child {
            kill_tree(child);
        }
    }
    if let [(n0, f0, j0), (n1, f1, j1)] = per_sample[..] {
        let d = (n1 - n0) as f64;
        let (f, j) = ((f1 - f0) / d, (j1 - j0) / d);
        println!();
        println!(
            "per traced process per sample at 10 ms ({n1} − {n0} processes): C floor {f:.2} µs, jetmem {j:.2} µs (**{:.2} ×**)",
            j / f
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
