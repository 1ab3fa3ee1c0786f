//! The traced process set: a root pid and its descendants.
//!
//! Descendants are found on the slow path from `/proc/PID/task/TID/children`
//! (one kept-open-free read per thread, no allocation), with a `/proc` scan of
//! parent pids where the kernel lacks `CONFIG_PROC_CHILDREN`. On the hot path
//! only `statm` is read, through file descriptors kept open per process. A
//! process that vanishes mid-read is normal: it leaves the set.

use super::dir::numeric_entries;
use super::source::FileSource;
use crate::parse::children::children;
use crate::parse::statm::parse_statm;
use crate::parse::status::parse_status;
use crate::record::{PROCESS_NAME_LEN, ProcessChange};
use heapless::String;
use std::io::Read;
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

    /// Slow path: re-reads `status` of every process and returns the sums.
    pub fn sample_status(&mut self) -> SlowSums {
        let mut sums = SlowSums::default();
        for p in &mut self.procs {
            if !p.alive {
                continue;
            }
            let Some(src) = p.status.as_mut() else {
                continue;
            };
            let Ok(text) = src.read() else {
                p.alive = false;
                continue;
            };
            if let Ok(st) = parse_status(text) {
                p.hwm_bytes = st.vm_hwm;
                p.swap_bytes = st.vm_swap;
                p.locked_bytes = st.vm_lck;
                p.pinned_bytes = st.vm_pin;
                p.status_rss_bytes = st.vm_rss;
                sums.hwm = add(sums.hwm, st.vm_hwm);
                sums.swap = add(sums.swap, st.vm_swap);
                sums.locked = add(sums.locked, st.vm_lck);
                sums.pinned = add(sums.pinned, st.vm_pin);
            }
        }
        sums
    }

    /// Reads a small file at `self.path` into `buf`; the number of bytes, or None.
    fn read_path(&self, buf: &mut [u8]) -> Option<usize> {
        let mut f = std::fs::File::open(&self.path).ok()?;
        let mut n = 0;
        while n < buf.len() {
            match f.read(buf.get_mut(n..)?) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(_) => return None,
            }
        }
        Some(n)
    }

    /// Finds the children of `pid` from every thread's `children` file.
    /// Returns false when the kernel has no `children` files.
    fn children_of(&mut self, pid: u32, buf: &mut [u8]) -> bool {
        self.set_path(pid, &[Part::Name("task")]);
        let mut tids: heapless::Vec<u32, 256> = heapless::Vec::new();
        if !numeric_entries(&self.path, |tid| {
            let _ = tids.push(tid);
        }) {
            return true;
        }
        let mut any_file = false;
        for tid in tids {
            self.set_path(
                pid,
                &[Part::Name("task"), Part::Id(tid), Part::Name("children")],
            );
            if let Some(n) = self.read_path(buf) {
                any_file = true;
                for child in children(buf.get(..n).unwrap_or(&[])) {
                    if self.found.len() < MAX_PROCESSES {
                        self.found.push((child, pid));
                    } else {
                        self.note_overflow();
                    }
                }
            }
        }
        any_file
    }

    /// Counts a process left untracked; the first one is reported (`log`).
    fn note_overflow(&mut self) {
        self.overflowed += 1;
        if self.overflowed == 1 {
            log::warn!(
                "more than {MAX_PROCESSES} processes in the traced tree: the rest are not summed"
            );
        }
    }

    /// The /proc scan fallback: every process whose parent is in `parents`.
    fn scan_proc(&mut self, buf: &mut [u8]) {
        // Fixpoint: a grandchild is found once its parent is in `found`.
        let mut all: Vec<u32> = Vec::new();
        numeric_entries(&self.proc_dir, |pid| all.push(pid));
        let mut pids: Vec<(u32, u32)> = Vec::new();
        for pid in all {
            self.set_path(pid, &[Part::Name("stat")]);
            let Some(n) = self.read_path(buf) else {
                continue;
            };
            if let Some(ppid) = stat_ppid(buf.get(..n).unwrap_or(&[])) {
                pids.push((pid, ppid));
            }
        }
        let mut changed = true;
        while changed {
            changed = false;
            for &(pid, ppid) in &pids {
                let parent_in = ppid == self.root_pid || self.found.iter().any(|&(p, _)| p == ppid);
                if parent_in && pid != self.root_pid && !self.found.iter().any(|&(p, _)| p == pid) {
                    if self.found.len() < MAX_PROCESSES {
                        self.found.push((pid, ppid));
                        changed = true;
                    } else {
                        self.note_overflow();
                    }
                }
            }
        }
    }

    /// Slow path: discovers joins and leaves; calls `on_change` for each.
    pub fn refresh(&mut self, mut on_change: impl FnMut(&Change)) {
        let mut buf = [0u8; 4096];
        self.found.clear();
        if self.children_file != Some(false) {
            // Walk breadth-first from the root over live processes.
            let mut i = 0;
            let root = self.root_pid;
            let root_alive = self.root_alive();
            let mut supported = true;
            if root_alive {
                supported = self.children_of(root, &mut buf);
            }
            while supported && i < self.found.len() {
                let (pid, _) = self.found.get(i).copied().unwrap_or((0, 0));
                self.children_of(pid, &mut buf);
                i += 1;
            }
            if root_alive && self.children_file.is_none() {
                self.children_file = Some(supported);
            }
        }
        if self.children_file == Some(false) {
            self.found.clear();
            self.scan_proc(&mut buf);
        }
        for p in &mut self.procs {
            p.seen = p.pid == self.root_pid;
        }
        let mut k = 0;
        while k < self.found.len() {
            let (pid, ppid) = self.found.get(k).copied().unwrap_or((0, 0));
            k += 1;
            if let Some(p) = self.procs.iter_mut().find(|p| p.pid == pid && p.alive) {
                p.seen = true;
                continue;
            }
            if let Ok(mut t) = self.open_process(pid, ppid) {
                if t.alive {
                    t.seen = true;
                    on_change(&Change {
                        pid,
                        ppid: t.ppid,
                        change: ProcessChange::Joined,
                        name: t.name.clone(),
                    });
                    self.procs.push(t);
                }
            }
        }
        // Leaves: dead processes, and processes no longer under the root.
        let root_pid = self.root_pid;
        self.procs.retain_mut(|p| {
            let keep = p.alive && (p.seen || p.pid == root_pid);
            let gone_root = p.pid == root_pid && !p.alive;
            if !keep && (p.pid != root_pid || gone_root) {
                on_change(&Change {
                    pid: p.pid,
                    ppid: p.ppid,
                    change: ProcessChange::Left,
                    name: p.name.clone(),
                });
                return false;
            }
            true
        });
    }
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

/// The parent pid (4th field) of `/proc/PID/stat`; the command may contain spaces and ')'.
fn stat_ppid(text: &[u8]) -> Option<u32> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = text.get(close + 1..)?;
    let mut fields = rest.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let _state = fields.next()?;
    let ppid = fields.next()?;
    std::str::from_utf8(ppid).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ppid_handles_odd_names() {
        assert_eq!(stat_ppid(b"123 (a b) c)) S 77 123 123 0"), Some(77));
        assert_eq!(stat_ppid(b"garbage"), None);
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
