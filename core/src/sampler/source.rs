//! A kernel file opened once and re-read with `pread` into a fixed buffer.
//!
//! Reopening a `/proc` file costs about 5 µs per read (docs/PERFORMANCE.md); a kept
//! file descriptor re-read at offset 0 returns a fresh snapshot each time.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// How a source could (not) be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceState {
    /// Opened and readable.
    Ok,
    /// The file does not exist on this kernel / machine.
    Missing,
    /// The file exists but only root may read it.
    NeedsRoot,
    /// Any other error, with its text.
    Unreadable(String),
}

impl SourceState {
    /// Classifies an I/O error.
    pub fn from_error(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => SourceState::Missing,
            io::ErrorKind::PermissionDenied => SourceState::NeedsRoot,
            _ => match e.raw_os_error() {
                Some(libc_enoent) if libc_enoent == 2 || libc_enoent == 20 => SourceState::Missing,
                Some(13) | Some(1) => SourceState::NeedsRoot,
                _ => SourceState::Unreadable(e.to_string()),
            },
        }
    }

    /// Short words for reports ("ok", "missing", "needs root", or the error).
    pub fn describe(&self) -> String {
        match self {
            SourceState::Ok => "ok".into(),
            SourceState::Missing => "missing".into(),
            SourceState::NeedsRoot => "needs root".into(),
            SourceState::Unreadable(e) => e.clone(),
        }
    }
}

/// A named input of the sampler and whether it could be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    /// Stable short name ("meminfo", "nvmap-total", …).
    pub name: &'static str,
    /// The path that was tried (under the sysroot).
    pub path: PathBuf,
    /// What happened.
    pub state: SourceState,
}

/// A file kept open for cheap repeated reads.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    buf: Vec<u8>,
    len: usize,
}

impl FileSource {
    /// Opens `path` read-only with a buffer of `capacity` bytes (it grows if a read fills it).
    pub fn open(path: &Path, capacity: usize) -> io::Result<Self> {
        let file = File::open(path)?;
        Ok(FileSource {
            file,
            buf: vec![0; capacity.max(64)],
            len: 0,
        })
    }

    /// Re-reads the whole file from offset 0 and returns its bytes.
    ///
    /// The buffer is reused; it grows (once, amortised) only if the file is
    /// larger than it, so the steady state allocates nothing.
    pub fn read(&mut self) -> io::Result<&[u8]> {
        let mut total = 0;
        loop {
            let free = self.buf.get_mut(total..).unwrap_or(&mut []);
            if free.is_empty() {
                let new_len = self.buf.len() * 2;
                self.buf.resize(new_len, 0);
                continue;
            }
            match self.file.read_at(free, total as u64) {
                Ok(0) => break,
                Ok(n) => {
                    total += n;
                    // procfs text files are produced whole by the first read when
                    // the buffer is large enough; only go round again if it was full.
                    if total < self.buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.len = total;
        Ok(self.buf.get(..total).unwrap_or(&[]))
    }

    /// The bytes of the last read.
    pub fn last(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// Joins a path that is absolute on the traced machine (`/proc/meminfo`) onto a sysroot.
pub fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// Opens an optional source under the sysroot and records its status.
pub fn open_optional(
    root: &Path,
    name: &'static str,
    abs: &str,
    capacity: usize,
    statuses: &mut Vec<SourceStatus>,
) -> Option<FileSource> {
    open_recorded(name, under(root, abs), capacity, statuses)
}

/// Opens `path` and reads it once; records whether that worked, and why not.
pub fn open_recorded(
    name: &'static str,
    path: PathBuf,
    capacity: usize,
    statuses: &mut Vec<SourceStatus>,
) -> Option<FileSource> {
    let opened =
        FileSource::open(&path, capacity).and_then(|mut src| src.read().map(|_| ()).map(|()| src));
    let state = match &opened {
        Ok(_) => SourceState::Ok,
        Err(e) => SourceState::from_error(e),
    };
    statuses.push(SourceStatus { name, path, state });
    opened.ok()
}

/// Reads a small file whole (for one-shot platform facts), `None` when unreadable.
pub fn read_small(root: &Path, abs: &str) -> Option<Vec<u8>> {
    std::fs::read(under(root, abs)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_fresh_content_and_grows() {
        let dir = std::env::temp_dir().join(format!("jetmem-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        std::fs::write(&p, b"hello").unwrap();
        let mut s = FileSource::open(&p, 2).unwrap();
        assert_eq!(s.read().unwrap(), b"hello");
        std::fs::write(&p, b"a much longer content than before").unwrap();
        assert_eq!(s.read().unwrap(), b"a much longer content than before");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn classifies_missing() {
        let mut st = Vec::new();
        assert!(
            open_optional(
                Path::new("/nonexistent-root"),
                "x",
                "/proc/meminfo",
                64,
                &mut st
            )
            .is_none()
        );
        assert_eq!(st[0].state, SourceState::Missing);
        assert_eq!(st[0].path, Path::new("/nonexistent-root/proc/meminfo"));
    }
}
