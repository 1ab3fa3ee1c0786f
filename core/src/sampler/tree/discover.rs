//! Process discovery on the slow path: the children of every traced process
//! from `/proc/PID/task/TID/children`, or a scan of every `/proc/PID/stat`
//! where the kernel lacks `CONFIG_PROC_CHILDREN`.

use super::super::dir::numeric_entries;
use super::{Change, MAX_PROCESSES, Part, ProcessTree};
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
                        self.overflowed += 1;
                    }
                }
            }
        }
        any_file
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
                let parent_in = ppid == self.root_pid || self.found.iter().any(|&(p, _)| p == ppid);
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
