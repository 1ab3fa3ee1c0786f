//! `--pid` / `--match`: the resident memory of chosen processes, each from its
//! `/proc/PID/statm` kept open (`sampler::FileSource`, parsed by
//! `parse::statm`), with its largest value over the window.

use std::path::{Path, PathBuf};

use jetmem_core::accounting::WindowExtent;
use jetmem_core::parse::statm::parse_statm;
use jetmem_core::record::PROCESS_NAME_LEN;
use jetmem_core::sampler::FileSource;
use jetmem_core::text::from_utf8_lossy;

use super::state::{MAX_SERVED_PROCESSES, ProcessView};
use crate::error::CliError;

/// Which processes to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    None,
    /// These pids (each must exist at the start).
    Pids(Vec<u32>),
    /// Every process whose `comm` is this name (found again every second).
    Name(String),
}

#[derive(Debug)]
struct Watched {
    pid: u32,
    name: heapless::String<PROCESS_NAME_LEN>,
    statm: FileSource,
    rss: Option<u64>,
    window: WindowExtent,
}

/// The watched processes.
#[derive(Debug)]
pub struct Processes {
    root: PathBuf,
    selection: Selection,
    page_size: u64,
    window_ns: u64,
    watched: Vec<Watched>,
    warned_full: bool,
}

impl Processes {
    /// Opens the `--pid` processes (an error names a pid that does not exist) or scans for `--match`.
    pub fn open(
        root: &Path,
        selection: Selection,
        page_size: u64,
        window_ns: u64,
    ) -> Result<Self, CliError> {
        let mut p = Processes {
            root: root.to_path_buf(),
            selection,
            page_size,
            window_ns,
            watched: Vec::new(),
            warned_full: false,
        };
        if let Selection::Pids(pids) = p.selection.clone() {
            for pid in pids {
                if !p.watch(pid) {
                    return Err(CliError::Sampler(format!("no process with pid {pid}")));
                }
            }
        }
        p.rescan();
        Ok(p)
    }

    fn proc_path(&self, pid: u32, file: &str) -> PathBuf {
        self.root.join("proc").join(pid.to_string()).join(file)
    }

    fn comm(&self, pid: u32) -> Option<heapless::String<PROCESS_NAME_LEN>> {
        let bytes = std::fs::read(self.proc_path(pid, "comm")).ok()?;
        Some(from_utf8_lossy(bytes.strip_suffix(b"\n").unwrap_or(&bytes)))
    }

    /// Starts watching `pid`; false when it cannot be read.
    fn watch(&mut self, pid: u32) -> bool {
        if self.watched.len() >= MAX_SERVED_PROCESSES {
            if !self.warned_full {
                log::warn!(
                    "more than {MAX_SERVED_PROCESSES} processes match: the others are not exposed"
                );
                self.warned_full = true;
            }
            return false;
        }
        let (Some(name), Ok(statm)) = (
            self.comm(pid),
            FileSource::open(&self.proc_path(pid, "statm"), 128),
        ) else {
            return false;
        };
        self.watched.push(Watched {
            pid,
            name,
            statm,
            rss: None,
            window: WindowExtent::new(self.window_ns),
        });
        true
    }

    /// `--match`: adds the processes named NAME that are not watched yet (the slow path, every second).
    pub fn rescan(&mut self) {
        let Selection::Name(want) = &self.selection else {
            return;
        };
        let want: heapless::String<PROCESS_NAME_LEN> = from_utf8_lossy(want.as_bytes());
        let Ok(dir) = std::fs::read_dir(self.root.join("proc")) else {
            return;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if self.watched.iter().any(|w| w.pid == pid) {
                continue;
            }
            if self.comm(pid).is_some_and(|c| c == want) {
                self.watch(pid);
            }
        }
    }

    /// Re-reads every watched `statm` at `t_ns`; a process that is gone leaves the set.
    pub fn sample(&mut self, t_ns: u64) {
        let page = self.page_size;
        self.watched.retain_mut(|w| {
            let rss = w
                .statm
                .read()
                .ok()
                .and_then(|text| parse_statm(text, page).ok())
                .map(|s| s.resident_bytes);
            w.rss = rss;
            w.window.push(t_ns, rss);
            rss.is_some()
        });
    }

    /// The watched processes as of `now_ns`, into `out`.
    pub fn views(&self, now_ns: u64, out: &mut heapless::Vec<ProcessView, MAX_SERVED_PROCESSES>) {
        out.clear();
        for w in &self.watched {
            let _ = out.push(ProcessView {
                pid: w.pid,
                name: w.name.clone(),
                rss: w.rss,
                rss_max: w.window.max(now_ns),
            });
        }
    }
}
