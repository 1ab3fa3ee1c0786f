//! What each per-process `/proc` file costs to read, kept open or by path:
//! the figures behind the tree's read periods (docs/sampler.md).
//!
//! ```text
//! cargo bench -p jetmem-core --features std --bench proc_files
//! ```
//!
//! For a single-threaded `sleep` with no children, a `bash` parent of two
//! `sleep`s, and a Python process of 21 threads: a `pread` at offset 0 on a
//! kept descriptor of `statm`, `status`, `comm`, `stat` and the main thread's
//! `children` (through [`FileSource`], as the sampler reads them); listing
//! `task/` with `getdents64` on a kept descriptor ([`numeric_entries_fd`]) and
//! by path (`opendir`, [`numeric_entries`]); and every thread's `children`
//! file, opened, read and closed by path, or re-read on kept descriptors.
//! Mean of 20 000 reads, hot.

use jetmem_core::sampler::{FileSource, numeric_entries, numeric_entries_fd, open_dir};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Instant;

const N: u32 = 20_000;

fn mean_ns(mut f: impl FnMut()) -> f64 {
    for _ in 0..100 {
        f();
    }
    let t = Instant::now();
    for _ in 0..N {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(N)
}

fn measure(what: &str, pid: u32) {
    let proc_dir = format!("/proc/{pid}");
    print!("| {what} |");
    for file in ["statm", "status", "comm", "stat"] {
        let mut src = FileSource::open(Path::new(&format!("{proc_dir}/{file}")), 4096).unwrap();
        print!(
            " {:.0} |",
            mean_ns(|| {
                std::hint::black_box(src.read().unwrap().len());
            })
        );
    }
    let children = format!("{proc_dir}/task/{pid}/children");
    let mut src = FileSource::open(Path::new(&children), 4096).unwrap();
    print!(
        " {:.0} |",
        mean_ns(|| {
            std::hint::black_box(src.read().unwrap().len());
        })
    );
    let task = format!("{proc_dir}/task");
    let dir = open_dir(Path::new(&task)).unwrap();
    let mut tids = Vec::new();
    print!(
        " {:.0} |",
        mean_ns(|| {
            tids.clear();
            numeric_entries_fd(&dir, |t| tids.push(t));
        })
    );
    print!(
        " {:.0} |",
        mean_ns(|| {
            tids.clear();
            numeric_entries(Path::new(&task), |t| tids.push(t));
        })
    );
    let mut buf = [0u8; 4096];
    let by_path = mean_ns(|| {
        for tid in &tids {
            let path = format!("{task}/{tid}/children");
            let mut f = std::fs::File::open(path).unwrap();
            let _ = f.read(&mut buf).unwrap();
        }
    });
    let mut kept: Vec<FileSource> = tids
        .iter()
        .map(|tid| FileSource::open(Path::new(&format!("{task}/{tid}/children")), 64).unwrap())
        .collect();
    let all_kept = mean_ns(|| {
        for src in &mut kept {
            std::hint::black_box(src.read().unwrap().len());
        }
    });
    println!(" {by_path:.0} | {all_kept:.0} | {} |", tids.len());
}

fn spawn(cmd: &str, args: &[&str]) -> Child {
    Command::new(cmd).args(args).spawn().unwrap()
}

fn main() {
    let mut sleep = spawn("sleep", &["1000"]);
    let mut bash = spawn("bash", &["-c", "sleep 1000 & sleep 1000 & wait"]);
    let mut py = spawn(
        "python3",
        &[
            "-c",
            "import threading,time\n\
             for _ in range(20): threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()\n\
             time.sleep(1000)",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    println!("# ns per read, mean of {N}, hot");
    println!(
        "| process | statm | status | comm | stat | children (main thread, kept) | task/ getdents64 (kept) | task/ opendir by path | every thread's children by path | every thread's children, kept | threads |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    measure("sleep (1 thread, no children)", sleep.id());
    measure("bash (1 thread, 2 children)", bash.id());
    measure("python3 (21 threads)", py.id());
    let _ = Command::new("pkill")
        .arg("-P")
        .arg(bash.id().to_string())
        .status();
    for c in [&mut sleep, &mut bash, &mut py] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
