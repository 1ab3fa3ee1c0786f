//! The traced process set: a root pid and its descendants.
//!
//! Descendants are found by discovery cycles from each process's
//! `task/TID/children` files (a `/proc` scan of parent pids where the kernel
//! lacks `CONFIG_PROC_CHILDREN`). On the hot path only `statm` is read,
//! through a file descriptor kept open per process, and each process's
//! highest resident size since its last per-process record is kept from those
//! reads, so a short-lived process has a peak too. A process that vanishes
//! mid-read is normal: it leaves the set (with that peak).
//!
//! Every file the sampler reads again is kept open and re-read with `pread`
//! (`statm`; each thread's `children`; `comm`, to see an `exec`, on the
//! discovery cycle after `statm`'s text size changed and at least once a
//! second; `status`, once a second), and `task/` is listed with `getdents64`
//! on a kept descriptor only when the thread count is not one (an `fstat`
//! tells) or once a second: re-opening by path costs 4–9 µs a file, which
//! dominated the recorder's cost for a tree (docs/PERFORMANCE.md).
//!
//! When the recording process is a child subreaper (`jetmem record` is), the
//! orphans re-parented to it are descendants of the traced command that
//! double-forked: they are walked from the recorder as well (`adopter`).

mod discover;

use super::source::FileSource;
use crate::parse::comm::parse_comm;
use crate::parse::statm::parse_statm;
use crate::parse::status::parse_status;
use crate::record::{PROCESS_NAME_LEN, ProcessChange};
use heapless::String;
use std::path::{Path, PathBuf};

/// Most processes tracked at once; more are ignored (and counted).
pub const MAX_PROCESSES: usize = 4096;

/// The bound on one `children` file: every tracked pid (at most 10 digits and
/// a space each) fits.
const CHILDREN_MAX_BYTES: usize = (MAX_PROCESSES + 1) * 11;

/// A single-threaded process's `task/` is listed at least once in this many
/// discovery cycles (one a second at the sampler's 100 ms), and otherwise only
/// when its thread count is not one.
const RELIST_CYCLES: u8 = 10;

/// Threads per process whose `children` file is kept open: one descriptor
/// each. Opening one by path costs about 4 µs; a 21-thread Python process
/// cost about 100 µs a discovery cycle by path, 7 µs kept (docs/PERFORMANCE.md).
const MAX_KEPT_THREADS: usize = 128;

/// One tracked process.
#[derive(Debug)]
pub struct Tracked {
    /// Process id.
    pub pid: u32,
    /// Parent pid when it joined.
    pub ppid: u32,
    /// `comm`.
    pub name: String<PROCESS_NAME_LEN>,
    statm: Option<FileSource>,
    status: Option<FileSource>,
    /// `comm`, re-read on every discovery cycle: a new name is an `exec`.
    comm: Option<FileSource>,
    /// `task/TID/children` of each thread, by tid, kept open (at most
    /// [`MAX_KEPT_THREADS`]; the rest are read by path).
    threads: Vec<(u32, FileSource)>,
    /// `task/`, kept open to list the threads again with `getdents64`.
    task: Option<std::fs::File>,
    /// Discovery cycles left before `task/` is listed even if the process
    /// still seems to have one thread, and `comm` re-read even if its text
    /// size did not change.
    relist_countdown: u8,
    /// The program text size at the last `statm` read (None: not known yet).
    text_bytes: Option<u64>,
    /// The text size changed since `comm` was last read: it may have exec'd.
    exec_suspect: bool,
    /// Resident bytes at the last fast-path read.
    pub rss_bytes: u64,
    /// Highest resident bytes read since the last [`Tracked::take_rss_peak`].
    rss_peak_bytes: Option<u64>,
    /// Slow-path figures: VmHWM, VmSwap, VmLck, VmPin (bytes).
    pub hwm_bytes: Option<u64>,
    /// VmSwap.
    pub swap_bytes: Option<u64>,
    /// VmLck.
    pub locked_bytes: Option<u64>,
    /// VmPin.
    pub pinned_bytes: Option<u64>,
    /// VmRSS from status.
    pub status_rss_bytes: Option<u64>,
    alive: bool,
    seen: bool,
}

/// A change to the set, reported by [`ProcessTree::refresh`].
#[derive(Debug, Clone)]
pub struct Change {
    /// Process id.
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// Joined or left.
    pub change: ProcessChange,
    /// `comm`.
    pub name: String<PROCESS_NAME_LEN>,
    /// For `Left`: the highest resident bytes read since its last per-process record.
    pub rss_peak_bytes: Option<u64>,
}

impl Tracked {
    /// The highest resident bytes read since the last call (statm on every
    /// sample, `VmRSS` on the slow path), and starts over.
    pub fn take_rss_peak(&mut self) -> Option<u64> {
        self.rss_peak_bytes.take()
    }

    /// Whether this discovery cycle must list `task/` (at least every
    /// [`RELIST_CYCLES`] cycles); counts the cycle.
    fn relist_in_cycles(&mut self) -> bool {
        match self.relist_countdown.checked_sub(1) {
            Some(left) => {
                self.relist_countdown = left;
                false
            }
            None => {
                self.relist_countdown = RELIST_CYCLES - 1;
                true
            }
        }
    }

    fn raise_rss_peak(&mut self, v: Option<u64>) {
        self.rss_peak_bytes = match (self.rss_peak_bytes, v) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Sums over the tree from the slow path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlowSums {
    /// Σ VmHWM.
    pub hwm: Option<u64>,
    /// Σ VmSwap.
    pub swap: Option<u64>,
    /// Σ VmLck.
    pub locked: Option<u64>,
    /// Σ VmPin.
    pub pinned: Option<u64>,
}

/// The traced tree.
#[derive(Debug)]
pub struct ProcessTree {
    proc_dir: PathBuf,
    root_pid: u32,
    procs: Vec<Tracked>,
    /// `(pid, index in procs)` of every tracked process, sorted by pid: a
    /// discovery cycle looks each child up in O(log n), not O(n).
    index: Vec<(u32, usize)>,
    found: Vec<(u32, u32)>,
    /// The threads of the process being walked (reused: no allocation once grown).
    tids: Vec<u32>,
    path: PathBuf,
    children_file: Option<bool>,
    /// The recorder's own pid when it is a child subreaper: orphans of the tree land there.
    adopter: Option<u32>,
    /// The next process whose children a spread discovery cycle reads (0: a cycle starts).
    discover_cursor: usize,
    /// The next process whose `status` a spread slow path reads.
    status_cursor: usize,
    /// Processes not tracked because [`MAX_PROCESSES`] was reached.
    pub overflowed: u64,
    /// Threads' `children` files kept open across the tree, and how many may
    /// be: a quarter of the open-file limit, so that a tracer inside the
    /// traced program (the FFI) leaves it most of its own descriptors.
    thread_fds: usize,
    thread_fd_budget: usize,
}

fn add(acc: Option<u64>, v: Option<u64>) -> Option<u64> {
    match (acc, v) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        (None, v) => v,
        (a, None) => a,
    }
}

impl ProcessTree {
    /// Starts tracking `pid` under the sysroot `root`. Fails if the process does not exist.
    pub fn new(root: &Path, pid: u32) -> std::io::Result<Self> {
        let proc_dir = root.join("proc");
        let mut tree = ProcessTree {
            proc_dir,
            root_pid: pid,
            procs: Vec::with_capacity(64),
            index: Vec::with_capacity(64),
            found: Vec::with_capacity(MAX_PROCESSES),
            tids: Vec::with_capacity(64),
            path: PathBuf::with_capacity(256),
            children_file: None,
            adopter: subreaper_self().filter(|&me| me != pid),
            discover_cursor: 0,
            status_cursor: 0,
            overflowed: 0,
            thread_fds: 0,
            thread_fd_budget: thread_fd_budget(),
        };
        let t = tree.open_process(pid, 0)?;
        tree.track(t);
        Ok(tree)
    }

    /// The root pid.
    pub fn root_pid(&self) -> u32 {
        self.root_pid
    }

    /// The tracked processes.
    pub fn processes(&self) -> &[Tracked] {
        &self.procs
    }

    /// The tracked processes, to take their running peaks.
    pub(crate) fn processes_mut(&mut self) -> &mut [Tracked] {
        &mut self.procs
    }

    /// Adds a process to the set and to the pid index.
    fn track(&mut self, t: Tracked) {
        self.thread_fds += t.threads.len();
        let slot = self.procs.len();
        let at = self.index.partition_point(|&(p, _)| p < t.pid);
        self.index.insert(at, (t.pid, slot));
        self.procs.push(t);
    }

    /// The live tracked process with this pid.
    fn tracked_mut(&mut self, pid: u32) -> Option<&mut Tracked> {
        let at = self.index.binary_search_by_key(&pid, |&(p, _)| p).ok()?;
        let slot = self.index.get(at)?.1;
        self.procs.get_mut(slot).filter(|p| p.alive)
    }

    /// Rebuilds the pid index after processes left.
    fn reindex(&mut self) {
        self.index.clear();
        self.index
            .extend(self.procs.iter().enumerate().map(|(i, p)| (p.pid, i)));
        self.index.sort_unstable();
    }

    /// Whether the root process is still alive.
    pub fn root_alive(&self) -> bool {
        self.procs.iter().any(|p| p.pid == self.root_pid && p.alive)
    }

    /// Sets `self.path` to `<proc>/<pid>/<rest…>` without allocating once it has capacity.
    fn set_path(&mut self, pid: u32, rest: &[Part<'_>]) {
        self.path.clear();
        self.path.push(&self.proc_dir);
        push_u32(&mut self.path, pid);
        for part in rest {
            match part {
                Part::Name(s) => self.path.push(s),
                Part::Id(n) => push_u32(&mut self.path, *n),
            }
        }
    }

    fn open_process(&mut self, pid: u32, ppid: u32) -> std::io::Result<Tracked> {
        self.set_path(pid, &[Part::Name("statm")]);
        let mut statm = FileSource::open(&self.path, 64)?;
        let rss = statm.read().ok().map(|_| ());
        self.set_path(pid, &[Part::Name("status")]);
        let mut status = FileSource::open(&self.path, 2048).ok();
        let mut real_ppid = ppid;
        let mut name = String::new();
        if let Some(parsed) = status
            .as_mut()
            .and_then(|st| st.read().ok())
            .and_then(|text| parse_status(text).ok())
        {
            real_ppid = parsed.ppid.unwrap_or(ppid);
            name = parsed.name;
        }
        self.set_path(pid, &[Part::Name("comm")]);
        let mut comm = FileSource::open(&self.path, 32).ok();
        if let Some(n) = comm
            .as_mut()
            .and_then(|c| c.read().ok())
            .and_then(|text| parse_comm(text).ok())
        {
            // comm, not status's escaped `Name`, so a re-read never differs by escaping.
            name = n;
        }
        self.set_path(
            pid,
            &[Part::Name("task"), Part::Id(pid), Part::Name("children")],
        );
        let threads = if self.thread_fds < self.thread_fd_budget {
            FileSource::open_bounded(&self.path, 64, CHILDREN_MAX_BYTES)
                .map(|src| vec![(pid, src)])
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        self.set_path(pid, &[Part::Name("task")]);
        let task = super::dir::open_dir(&self.path).ok();
        Ok(Tracked {
            pid,
            ppid: real_ppid,
            name,
            statm: Some(statm),
            status,
            comm,
            threads,
            task,
            relist_countdown: 0,
            text_bytes: None,
            exec_suspect: false,
            rss_bytes: 0,
            rss_peak_bytes: None,
            hwm_bytes: None,
            swap_bytes: None,
            locked_bytes: None,
            pinned_bytes: None,
            status_rss_bytes: None,
            alive: rss.is_some(),
            seen: true,
        })
    }

    /// Hot path: re-reads `statm` of every process; returns (Σ resident bytes, live processes).
    pub fn sample_rss(&mut self, page_size: u64) -> (u64, u32) {
        let mut sum = 0u64;
        let mut live = 0u32;
        // statm is at most seven numbers of 20 digits: one hot buffer for all.
        let mut buf = [0u8; 256];
        for p in &mut self.procs {
            if !p.alive {
                continue;
            }
            let Some(src) = p.statm.as_ref() else {
                continue;
            };
            match src.read_into(&mut buf) {
                Ok(text) if !text.is_empty() => match parse_statm(text, page_size) {
                    Ok(s) => {
                        if p.text_bytes.is_some() && s.text_bytes != p.text_bytes {
                            p.exec_suspect = true;
                        }
                        p.text_bytes = s.text_bytes;
                        p.rss_bytes = s.resident_bytes;
                        p.raise_rss_peak(Some(s.resident_bytes));
                        sum = sum.saturating_add(s.resident_bytes);
                        live += 1;
                    }
                    Err(_) => p.alive = false,
                },
                _ => p.alive = false,
            }
        }
        (sum, live)
    }

    /// Re-reads `status` of every process and returns the sums.
    pub fn sample_status(&mut self) -> SlowSums {
        self.status_cursor = 0;
        self.status_step(self.procs.len())
    }

    /// `status` spread over samples: re-reads it for the next `count`
    /// processes (round robin) and returns the sums over every process's
    /// latest figures.
    pub fn status_step(&mut self, count: usize) -> SlowSums {
        let n = self.procs.len();
        for _ in 0..count.min(n) {
            let i = self.status_cursor % n.max(1);
            self.status_cursor = i + 1;
            if let Some(p) = self.procs.get_mut(i) {
                read_status(p);
            }
        }
        let mut sums = SlowSums::default();
        for p in self.procs.iter().filter(|p| p.alive) {
            sums.hwm = add(sums.hwm, p.hwm_bytes);
            sums.swap = add(sums.swap, p.swap_bytes);
            sums.locked = add(sums.locked, p.locked_bytes);
            sums.pinned = add(sums.pinned, p.pinned_bytes);
        }
        sums
    }
}

/// Re-reads one process's `status` (VmHWM, VmSwap, VmLck, VmPin, VmRSS).
fn read_status(p: &mut Tracked) {
    if !p.alive {
        return;
    }
    let Some(src) = p.status.as_mut() else {
        return;
    };
    let Ok(text) = src.read() else {
        p.alive = false;
        return;
    };
    let Ok(st) = parse_status(text) else {
        return;
    };
    p.hwm_bytes = st.vm_hwm;
    p.swap_bytes = st.vm_swap;
    p.locked_bytes = st.vm_lck;
    p.pinned_bytes = st.vm_pin;
    p.status_rss_bytes = st.vm_rss;
    p.raise_rss_peak(st.vm_rss);
}

/// Re-reads one process's `comm`; a new name (it exec'd) is announced as `Joined`.
fn read_comm(p: &mut Tracked, on_change: &mut impl FnMut(&Change)) {
    p.exec_suspect = false;
    let Some(name) = p
        .comm
        .as_mut()
        .and_then(|c| c.read().ok())
        .and_then(|text| parse_comm(text).ok())
    else {
        return;
    };
    if name != p.name {
        p.name = name;
        on_change(&Change {
            pid: p.pid,
            ppid: p.ppid,
            change: ProcessChange::Joined,
            name: p.name.clone(),
            rss_peak_bytes: None,
        });
    }
}

/// How many threads' `children` files the tree may keep open: a quarter of
/// the soft `RLIMIT_NOFILE` (`jetmem record` raises it to the hard limit
/// first; a library tracer leaves the host program's limit alone).
fn thread_fd_budget() -> usize {
    let mut lim = nix::libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into `lim`, which outlives the call.
    let rc = unsafe { nix::libc::getrlimit(nix::libc::RLIMIT_NOFILE, &mut lim) };
    if rc != 0 {
        return 64;
    }
    usize::try_from(lim.rlim_cur / 4).unwrap_or(usize::MAX)
}

/// This process's pid when it is a child subreaper (`PR_SET_CHILD_SUBREAPER`).
fn subreaper_self() -> Option<u32> {
    let mut flag: nix::libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int through the pointer, which
    // points at `flag`, alive for the call.
    let rc = unsafe {
        nix::libc::prctl(
            nix::libc::PR_GET_CHILD_SUBREAPER,
            &mut flag as *mut nix::libc::c_int,
        )
    };
    (rc == 0 && flag != 0).then(std::process::id)
}

/// One component of a `/proc` path.
enum Part<'a> {
    Name(&'a str),
    Id(u32),
}

/// Pushes the decimal digits of `n` as a path component, formatted on the stack.
fn push_u32(path: &mut PathBuf, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    if let Some(Ok(s)) = digits.get(i..).map(std::str::from_utf8) {
        path.push(s);
    }
}

#[cfg(test)]
mod fake_proc_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// A single-threaded process is checked with an fstat of `task/`; when it
    /// starts a thread and that thread forks, the next cycle lists the
    /// threads and finds the child under the new thread.
    #[test]
    fn finds_a_child_forked_by_a_thread_started_later() {
        let script = "import subprocess, sys, threading, time\n\
                      time.sleep(0.5)\n\
                      def f():\n    subprocess.Popen(['sleep', '5']).wait()\n\
                      threading.Thread(target=f, daemon=True).start()\n\
                      time.sleep(5)\n";
        let mut child = std::process::Command::new("python3")
            .args(["-c", script])
            .spawn()
            .unwrap();
        let pid = child.id();
        std::thread::sleep(std::time::Duration::from_millis(150));
        let mut tree = ProcessTree::new(Path::new("/"), pid).unwrap();
        let mut joined: Vec<(u32, u32, std::string::String)> = Vec::new();
        // Single-threaded cycles (more than RELIST_CYCLES, so the countdown
        // runs). A `python3` that is a version manager's shim forks helpers
        // and execs first: those joins are not what this test is about.
        for _ in 0..(RELIST_CYCLES + 2) {
            tree.refresh(|c| joined.push((c.pid, c.ppid, c.name.to_string())));
        }
        // The kernel's own view: any child under any thread of the process.
        let forked = || -> Option<u32> {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
            tasks.flatten().find_map(|t| {
                let text = std::fs::read_to_string(t.path().join("children")).ok()?;
                text.split_whitespace().next()?.parse().ok()
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
        let mut seen = None;
        while seen.is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            seen = forked();
            tree.refresh(|c| joined.push((c.pid, c.ppid, c.name.to_string())));
        }
        let _ = child.kill();
        let _ = child.wait();
        let sleep_pid = seen.expect("the thread never forked");
        // Found in the very cycle after the kernel listed it, not at a later relisting.
        let found = joined.iter().find(|j| j.0 == sleep_pid);
        let Some(&(_, ppid, _)) = found else {
            panic!("child {sleep_pid} not found in the next cycle: {joined:?}")
        };
        assert_eq!(ppid, pid, "its parent is the process (the thread's group)");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(sleep_pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }

    #[test]
    fn tracks_a_real_child_tree() {
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("sleep 5 & sleep 5 & wait")
            .spawn()
            .unwrap();
        let pid = child.id();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut tree = ProcessTree::new(Path::new("/"), pid).unwrap();
        let mut joined = Vec::new();
        tree.refresh(|c| joined.push((c.pid, c.change)));
        assert_eq!(joined.len(), 2, "two sleeps: {joined:?}");
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .unwrap()
            .unwrap() as u64;
        let (rss, n) = tree.sample_rss(page);
        assert_eq!(n, 3);
        assert!(rss > 0);
        child.kill().unwrap();
        child.wait().unwrap();
        for p in tree.processes() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        tree.sample_rss(page);
        let mut left = Vec::new();
        tree.refresh(|c| left.push((c.pid, c.change)));
        assert!(
            left.iter()
                .any(|&(p, c)| p == pid && c == ProcessChange::Left)
        );
    }
}
