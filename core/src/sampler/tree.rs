//! The traced process set: a root pid and its descendants.
//!
//! Descendants are found on the slow path from `/proc/PID/task/TID/children`
//! (one kept-open-free read per thread, no allocation), with a `/proc` scan of
//! parent pids where the kernel lacks `CONFIG_PROC_CHILDREN`. On the hot path
//! only `statm` is read, through file descriptors kept open per process, and
//! each process's highest resident size since its last per-process record is
//! kept from those reads, so a short-lived process has a peak too. A process
//! that vanishes mid-read is normal: it leaves the set (with that peak).
//!
//! When the recording process is a child subreaper (`jetmem record` is), the
//! orphans re-parented to it are descendants of the traced command that
//! double-forked: they are walked from the recorder as well (`adopter`).

mod discover;

use super::source::FileSource;
use crate::parse::statm::parse_statm;
use crate::parse::status::parse_status;
use crate::record::{PROCESS_NAME_LEN, ProcessChange};
use heapless::String;
use std::path::{Path, PathBuf};

/// Most processes tracked at once; more are ignored (and counted).
pub const MAX_PROCESSES: usize = 4096;

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
    found: Vec<(u32, u32)>,
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
            found: Vec::with_capacity(MAX_PROCESSES),
            path: PathBuf::with_capacity(256),
            children_file: None,
            adopter: subreaper_self().filter(|&me| me != pid),
            discover_cursor: 0,
            status_cursor: 0,
            overflowed: 0,
        };
        let t = tree.open_process(pid, 0)?;
        tree.procs.push(t);
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
        let mut statm = FileSource::open(&self.path, 128)?;
        let rss = statm.read().ok().map(|_| ());
        self.set_path(pid, &[Part::Name("status")]);
        let mut status = FileSource::open(&self.path, 2048).ok();
        let mut name = String::new();
        let mut real_ppid = ppid;
        if let Some(st) = status.as_mut() {
            if let Ok(text) = st.read() {
                if let Ok(parsed) = parse_status(text) {
                    name = parsed.name;
                    real_ppid = parsed.ppid.unwrap_or(ppid);
                }
            }
        }
        Ok(Tracked {
            pid,
            ppid: real_ppid,
            name,
            statm: Some(statm),
            status,
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
        for p in &mut self.procs {
            if !p.alive {
                continue;
            }
            let Some(src) = p.statm.as_mut() else {
                continue;
            };
            match src.read() {
                Ok(text) if !text.is_empty() => match parse_statm(text, page_size) {
                    Ok(s) => {
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

    /// Slow path: re-reads `status` of every process and returns the sums. A
    /// process whose `comm` changed (it exec'd) is announced again through
    /// `on_change` as `Joined` with its new name.
    pub fn sample_status(&mut self, on_change: impl FnMut(&Change)) -> SlowSums {
        self.status_cursor = 0;
        self.status_step(self.procs.len(), on_change)
    }

    /// The slow path spread over samples: re-reads `status` of the next
    /// `count` processes (round robin) and returns the sums over every
    /// process's latest figures. Announces exec'd processes as
    /// [`ProcessTree::sample_status`] does.
    pub fn status_step(&mut self, count: usize, mut on_change: impl FnMut(&Change)) -> SlowSums {
        let n = self.procs.len();
        for _ in 0..count.min(n) {
            let i = self.status_cursor % n.max(1);
            self.status_cursor = i + 1;
            if let Some(p) = self.procs.get_mut(i) {
                read_status(p, &mut on_change);
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

/// Re-reads one process's `status`; a changed `comm` is announced as `Joined`.
fn read_status(p: &mut Tracked, on_change: &mut impl FnMut(&Change)) {
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
    if !st.name.is_empty() && st.name != p.name {
        p.name = st.name.clone();
        on_change(&Change {
            pid: p.pid,
            ppid: p.ppid,
            change: ProcessChange::Joined,
            name: p.name.clone(),
            rss_peak_bytes: None,
        });
    }
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
mod tests {
    use super::*;

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
