//! The tree on a fake `/proc` (a sysroot of regular files): a parent whose
//! `children` files are longer than one read, through kept per-thread
//! descriptors and, past [`MAX_KEPT_THREADS`], by path; threads that end; and
//! an exec seen through `comm`.

use super::*;
use std::fs;

/// Writes `/proc/PID/{statm,status,comm}` and the main thread's empty `children`.
fn fake_process(proc_dir: &Path, pid: u32, ppid: u32, name: &str) {
    let dir = proc_dir.join(pid.to_string());
    fs::create_dir_all(dir.join(format!("task/{pid}"))).unwrap();
    fs::write(dir.join("statm"), "1000 50 10 1 0 100 0\n").unwrap();
    fs::write(
        dir.join("status"),
        format!("Name:\t{name}\nPPid:\t{ppid}\nVmRSS:\t     200 kB\nVmHWM:\t     300 kB\n"),
    )
    .unwrap();
    fs::write(dir.join("comm"), format!("{name}\n")).unwrap();
    fs::write(dir.join(format!("task/{pid}/children")), "").unwrap();
}

/// Enough descriptors for five per process (the soft limit may be 1024).
fn raise_fd_limit() {
    let mut lim = nix::libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct that `lim` owns.
    unsafe {
        if nix::libc::getrlimit(nix::libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            nix::libc::setrlimit(nix::libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[test]
fn long_children_files_exec_and_the_pid_index() {
    raise_fd_limit();
    let root = std::env::temp_dir().join(format!("jetmem-fake-proc-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let proc_dir = root.join("proc");
    let parent = 100;
    fake_process(&proc_dir, parent, 1, "launcher");
    // Threads 100 (main) to 230: the first MAX_KEPT_THREADS are kept open,
    // the last three read by path. The main thread's children: 300
    // four-digit pids (1 500 bytes, past the kept source's first buffer);
    // thread 230's (by path): 700 six-digit pids (4 900 bytes, past one
    // 4 096-byte read, so a pid is cut between reads).
    let main_kids: Vec<u32> = (1000..1300).collect();
    let thread_kids: Vec<u32> = (100_000..100_700).collect();
    let list = |pids: &[u32]| {
        pids.iter()
            .map(|p| format!("{p} "))
            .collect::<std::string::String>()
    };
    let last_thread = 100 + MAX_KEPT_THREADS as u32 + 2;
    for tid in 101..=last_thread {
        fs::create_dir_all(proc_dir.join(format!("100/task/{tid}"))).unwrap();
        fs::write(proc_dir.join(format!("100/task/{tid}/children")), "").unwrap();
    }
    let by_path = proc_dir.join(format!("100/task/{last_thread}/children"));
    fs::write(proc_dir.join("100/task/100/children"), list(&main_kids)).unwrap();
    fs::write(&by_path, list(&thread_kids)).unwrap();
    for &pid in main_kids.iter().chain(&thread_kids) {
        fake_process(&proc_dir, pid, parent, "worker");
    }

    let mut tree = ProcessTree::new(&root, parent).unwrap();
    let mut joined = Vec::new();
    tree.refresh(|c| {
        assert_eq!(c.change, ProcessChange::Joined);
        joined.push((c.pid, c.ppid));
    });
    joined.sort_unstable();
    let mut want: Vec<(u32, u32)> = main_kids
        .iter()
        .chain(&thread_kids)
        .map(|&p| (p, parent))
        .collect();
    want.sort_unstable();
    assert_eq!(joined.len(), 1000, "every child of both threads joined");
    assert_eq!(joined, want);
    assert_eq!(tree.overflowed, 0);
    let kept = |tree: &ProcessTree| tree.procs.first().map(|p| p.threads.len());
    assert_eq!(kept(&tree), Some(MAX_KEPT_THREADS));
    let all_kept = |tree: &ProcessTree| tree.procs.iter().map(|p| p.threads.len()).sum::<usize>();
    assert_eq!(
        tree.thread_fds,
        all_kept(&tree),
        "the count follows the kept files"
    );

    // A tracer inside a program with a low open-file limit keeps at most its
    // budget of thread files open and reads the rest by path: same tree.
    let mut lean = ProcessTree::new(&root, parent).unwrap();
    lean.thread_fd_budget = 40;
    let mut lean_joined = Vec::new();
    lean.refresh(|c| lean_joined.push((c.pid, c.ppid)));
    lean_joined.sort_unstable();
    assert_eq!(lean_joined, want, "every child found with 40 kept files");
    assert_eq!(lean.thread_fds, 40);
    assert_eq!(all_kept(&lean), 40);
    drop(lean);
    // statm: 50 pages resident each, for the parent and its 1 000 children.
    let (rss, live) = tree.sample_rss(4096);
    assert_eq!(live, 1001);
    assert_eq!(rss, 1001 * 50 * 4096);

    // A second cycle finds the same set: no change, through the pid index.
    let mut changes = 0;
    tree.refresh(|_| changes += 1);
    assert_eq!(changes, 0);

    // Process 1000 exec'd: statm's text size changed, so its comm is re-read
    // on the next cycle.
    fs::write(proc_dir.join("1000/statm"), "2000 60 10 7 0 100 0\n").unwrap();
    fs::write(proc_dir.join("1000/comm"), "python3\n").unwrap();
    tree.sample_rss(4096);
    let mut renamed = Vec::new();
    tree.refresh(|c| renamed.push((c.pid, c.change, c.name.clone())));
    assert_eq!(
        renamed,
        [(
            1000,
            ProcessChange::Joined,
            String::try_from("python3").unwrap()
        )]
    );
    let p = tree.processes().iter().find(|p| p.pid == 1000).unwrap();
    assert_eq!(p.name.as_str(), "python3");

    // Process 1001 exec'd a program of the same text size: its comm is read
    // on the once-a-second relisting cycle all the same.
    fs::write(proc_dir.join("1001/comm"), "same-size\n").unwrap();
    let mut renamed = Vec::new();
    for _ in 0..RELIST_CYCLES {
        tree.sample_rss(4096);
        tree.refresh(|c| renamed.push((c.pid, c.name.clone())));
    }
    assert_eq!(renamed, [(1001, String::try_from("same-size").unwrap())]);

    // Thread 101 ends: its descriptor is dropped (and one of the threads read
    // by path takes its place).
    fs::remove_dir_all(proc_dir.join("100/task/101")).unwrap();
    let mut changes = 0;
    tree.refresh(|_| changes += 1);
    assert_eq!(changes, 0);
    let p = tree.procs.first().unwrap();
    assert!(p.threads.iter().all(|(tid, _)| *tid != 101));
    assert_eq!(p.threads.len(), MAX_KEPT_THREADS);
    assert!(
        p.threads.windows(2).all(|w| w[0].0 < w[1].0),
        "sorted by tid"
    );

    // The last thread's children leave: each is announced once, the index follows.
    fs::write(&by_path, "").unwrap();
    let mut left = 0;
    tree.refresh(|c| {
        assert_eq!(c.change, ProcessChange::Left);
        assert!(c.pid >= 100_000, "{}", c.pid);
        left += 1;
    });
    assert_eq!(left, 700);
    assert_eq!(tree.processes().len(), 301);
    assert_eq!(
        tree.thread_fds,
        all_kept(&tree),
        "leavers' files are uncounted"
    );
    let mut changes = 0;
    tree.refresh(|_| changes += 1);
    assert_eq!(changes, 0, "the index was rebuilt after the leaves");
    // status once: VmHWM 300 KiB each over the 301 left.
    let sums = tree.sample_status();
    assert_eq!(sums.hwm, Some(301 * 300 * 1024));
    fs::remove_dir_all(&root).unwrap();
}
