//! Process discovery on the slow path: the children of every traced process
//! from `/proc/PID/task/TID/children`, or a scan of every `/proc/PID/stat`
//! where the kernel lacks `CONFIG_PROC_CHILDREN`.

use super::super::dir::{numeric_entries, numeric_entries_fd};
use super::super::source::FileSource;
use super::{CHILDREN_MAX_BYTES, Change, MAX_KEPT_THREADS, MAX_PROCESSES, Part, ProcessTree};
use crate::parse::children::children;
use crate::parse::stat::parse_stat_ppid;
use crate::record::ProcessChange;
use std::io::Read;

impl ProcessTree {
    /// Reads a small file at `self.path` into `buf`; the number of bytes, or None.
    fn read_path(&self, buf: &mut [u8]) -> Option<usize> {
        let mut f = super::super::source::open_regular(&self.path).ok()?;
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

    /// Finds the children of `pid` (tracked at `slot`, if it is) from every
    /// thread's `children` file: through the tracked process's kept `task/`
    /// and per-thread `children` descriptors (opened for a thread when first
    /// seen, dropped when it ends; at most [`MAX_KEPT_THREADS`]), by path
    /// otherwise. Returns false when the kernel has no `children` files.
    fn children_of(&mut self, slot: Option<usize>, pid: u32, buf: &mut [u8]) -> bool {
        let tracked = slot.and_then(|i| self.procs.get_mut(i));
        let (task, mut kept) = match tracked {
            Some(p) => (p.task.take(), std::mem::take(&mut p.threads)),
            None => (None, Vec::new()),
        };
        self.tids.clear();
        if task.is_none() {
            self.set_path(pid, &[Part::Name("task")]);
        }
        // Still one thread, the main one, as at the last listing: no need to
        // list again (an fstat, 0.4 µs, instead of getdents64, 1–3 µs). A
        // full listing at least every RELIST_CYCLES cycles catches a main
        // thread that ended while a thread it started lives on.
        let relist = slot
            .and_then(|i| self.procs.get_mut(i))
            .is_none_or(|p| p.relist_in_cycles());
        let single = !relist
            && matches!(kept.as_slice(), [(tid, _)] if *tid == pid)
            && task.as_ref().and_then(thread_count) == Some(1);
        let tids = &mut self.tids;
        let listed = if single {
            tids.push(pid);
            true
        } else {
            match &task {
                Some(dir) => numeric_entries_fd(dir, |tid| tids.push(tid)),
                None => numeric_entries(&self.path, |tid| tids.push(tid)),
            }
        };
        self.tids.sort_unstable();
        let tids = &self.tids;
        let before = kept.len();
        kept.retain(|(tid, _)| tids.binary_search(tid).is_ok());
        self.thread_fds = self.thread_fds.saturating_sub(before - kept.len());
        let mut any_file = !listed;
        let mut k = 0;
        while let Some(&tid) = self.tids.get(k) {
            k += 1;
            self.set_path(
                pid,
                &[Part::Name("task"), Part::Id(tid), Part::Name("children")],
            );
            let at = match kept.binary_search_by_key(&tid, |(t, _)| *t) {
                Ok(at) => Some(at),
                Err(at)
                    if slot.is_some()
                        && kept.len() < MAX_KEPT_THREADS
                        && self.thread_fds < self.thread_fd_budget =>
                {
                    FileSource::open_bounded(&self.path, 64, CHILDREN_MAX_BYTES)
                        .ok()
                        .map(|src| {
                            kept.insert(at, (tid, src));
                            self.thread_fds += 1;
                            at
                        })
                }
                Err(_) => None,
            };
            let text = at
                .and_then(|at| kept.get_mut(at))
                .and_then(|(_, src)| src.read().ok());
            if let Some(text) = text {
                any_file = true;
                push_children(&mut self.found, &mut self.overflowed, text, pid);
            } else {
                any_file |= self.read_children_path(pid, buf);
            }
        }
        if let Some(p) = slot.and_then(|i| self.procs.get_mut(i)) {
            p.task = task;
            p.threads = kept;
        }
        any_file
    }

    /// Reads the `children` file at `self.path` in `buf`-sized chunks (a pid
    /// cut by a chunk's end is carried into the next), adding each child of
    /// `parent` to `found`. False when the file could not be opened.
    fn read_children_path(&mut self, parent: u32, buf: &mut [u8]) -> bool {
        let Ok(mut f) = super::super::source::open_regular(&self.path) else {
            return false;
        };
        let mut carried = 0;
        loop {
            let n = match buf.get_mut(carried..).map(|free| f.read(free)) {
                Some(Ok(n)) => n,
                Some(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                _ => 0,
            };
            let filled = carried + n;
            let text = buf.get(..filled).unwrap_or_default();
            // Up to the last separator when more may follow; everything at the end.
            let cut = if n == 0 || carried == buf.len() {
                filled
            } else {
                text.iter()
                    .rposition(|b| b.is_ascii_whitespace())
                    .map_or(0, |i| i + 1)
            };
            push_children(
                &mut self.found,
                &mut self.overflowed,
                text.get(..cut).unwrap_or_default(),
                parent,
            );
            if n == 0 {
                return true;
            }
            buf.copy_within(cut..filled, 0);
            carried = filled - cut;
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
            if let Some(ppid) = parse_stat_ppid(buf.get(..n).unwrap_or(&[])) {
                pids.push((pid, ppid));
            }
        }
        let mut changed = true;
        while changed {
            changed = false;
            for &(pid, ppid) in &pids {
                let parent_in = ppid == self.root_pid
                    || Some(ppid) == self.adopter
                    || self.found.iter().any(|&(p, _)| p == ppid);
                if parent_in && pid != self.root_pid && !self.found.iter().any(|&(p, _)| p == pid) {
                    if self.found.len() < MAX_PROCESSES {
                        self.found.push((pid, ppid));
                        changed = true;
                    } else {
                        self.overflowed += 1;
                    }
                }
            }
        }
    }

    /// Slow path: discovers joins and leaves in one go; calls `on_change` for each.
    pub fn refresh(&mut self, mut on_change: impl FnMut(&Change)) {
        self.discover_cursor = 0;
        while !self.refresh_step(usize::MAX, &mut on_change) {}
    }

    /// Discovery spread over samples: reads the children files of up to
    /// `parents` tracked processes (breadth first from the root; a process found
    /// joins at once and is walked later in the same cycle). Returns true when a
    /// cycle ended: then the processes no child file named are the leaves.
    /// Without `children` files (no `CONFIG_PROC_CHILDREN`), a cycle is one
    /// `/proc` scan.
    pub fn refresh_step(&mut self, parents: usize, mut on_change: impl FnMut(&Change)) -> bool {
        let mut buf = [0u8; 4096];
        if self.children_file == Some(false) {
            self.found.clear();
            self.scan_proc(&mut buf);
            self.start_cycle();
            self.join_found(&mut on_change);
            self.end_cycle(&mut on_change);
            return true;
        }
        if self.discover_cursor == 0 {
            self.start_cycle();
            if let Some(adopter) = self.adopter {
                // The recorder's children: the root itself, and adopted orphans.
                self.found.clear();
                self.children_of(None, adopter, &mut buf);
                let root = self.root_pid;
                self.found.retain(|&(pid, _)| pid != root);
                self.join_found(&mut on_change);
            }
        }
        let mut walked = 0;
        while walked < parents && self.discover_cursor < self.procs.len() {
            let slot = self.discover_cursor;
            let (pid, alive) = self
                .procs
                .get(slot)
                .map_or((0, false), |p| (p.pid, p.alive));
            self.discover_cursor += 1;
            if !alive {
                continue;
            }
            walked += 1;
            // Once a second (the relisting cycle) or when statm's text size
            // changed; `children_of` counts the cycle down.
            if let Some(p) = self.procs.get_mut(slot) {
                if p.exec_suspect || p.relist_countdown == 0 {
                    super::read_comm(p, &mut on_change);
                }
            }
            self.found.clear();
            let supported = self.children_of(Some(slot), pid, &mut buf);
            if pid == self.root_pid && self.children_file.is_none() {
                self.children_file = Some(supported);
                if !supported {
                    // Start over with the /proc scan.
                    self.discover_cursor = 0;
                    return false;
                }
            }
            self.join_found(&mut on_change);
        }
        if self.discover_cursor < self.procs.len() {
            return false;
        }
        self.end_cycle(&mut on_change);
        true
    }

    /// A discovery cycle starts: only the root counts as seen.
    fn start_cycle(&mut self) {
        let root = self.root_pid;
        for p in &mut self.procs {
            p.seen = p.pid == root;
        }
    }

    /// Marks the processes in `found` seen, tracking (and announcing) new ones.
    fn join_found(&mut self, on_change: &mut impl FnMut(&Change)) {
        let mut k = 0;
        while k < self.found.len() {
            let (pid, ppid) = self.found.get(k).copied().unwrap_or((0, 0));
            k += 1;
            if let Some(p) = self.tracked_mut(pid) {
                p.seen = true;
                continue;
            }
            match self.open_process(pid, ppid) {
                Ok(mut t) if t.alive => {
                    t.seen = true;
                    on_change(&Change {
                        pid,
                        ppid: t.ppid,
                        change: ProcessChange::Joined,
                        name: t.name.clone(),
                        rss_peak_bytes: None,
                    });
                    self.track(t);
                }
                // Out of file descriptors: a process not traced is counted, never silent.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(nix::libc::EMFILE | nix::libc::ENFILE)
                    ) =>
                {
                    self.overflowed += 1;
                }
                // It exited before it could be opened.
                _ => {}
            }
        }
    }

    /// A cycle ended: dead processes, and processes no longer under the root, leave.
    fn end_cycle(&mut self, on_change: &mut impl FnMut(&Change)) {
        self.discover_cursor = 0;
        let root_pid = self.root_pid;
        let before = self.procs.len();
        let thread_fds = &mut self.thread_fds;
        self.procs.retain_mut(|p| {
            let keep = p.alive && (p.seen || p.pid == root_pid);
            if !keep {
                *thread_fds = thread_fds.saturating_sub(p.threads.len());
            }
            let gone_root = p.pid == root_pid && !p.alive;
            if !keep && (p.pid != root_pid || gone_root) {
                on_change(&Change {
                    pid: p.pid,
                    ppid: p.ppid,
                    change: ProcessChange::Left,
                    name: p.name.clone(),
                    rss_peak_bytes: p.take_rss_peak(),
                });
                return false;
            }
            true
        });
        if self.procs.len() != before {
            self.reindex();
        }
    }
}

/// Adds the pids listed in a `children` text to `found` as children of
/// `parent`, counting those past [`MAX_PROCESSES`].
fn push_children(found: &mut Vec<(u32, u32)>, overflowed: &mut u64, text: &[u8], parent: u32) {
    for child in children(text) {
        if found.len() < MAX_PROCESSES {
            found.push((child, parent));
        } else {
            *overflowed += 1;
        }
    }
}

/// Threads of a process from its kept `task/` directory: the kernel gives
/// that directory `2 + number of threads` links (`proc_task_getattr`). A
/// plain `fstat` (std's `metadata` goes through `statx`, which costs more).
fn thread_count(task: &std::fs::File) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<nix::libc::stat>::uninit();
    // SAFETY: fstat writes one `struct stat` into `st`, which outlives the
    // call; the descriptor is owned by `task`.
    let rc = unsafe { nix::libc::fstat(task.as_raw_fd(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: fstat returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::useless_conversion, reason = "nlink_t is u32 on aarch64")]
    u64::from(st.st_nlink).checked_sub(2)
}
