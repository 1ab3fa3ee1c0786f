//! A kernel file opened once and re-read with `pread` into a fixed buffer.
//!
//! Reopening a `/proc` file costs about 5 µs per read (docs/PERFORMANCE.md); a kept
//! file descriptor re-read at offset 0 returns a fresh snapshot each time.
//!
//! Every source is bounded (docs/sampler.md, "Bounded reads"): it is opened
//! non-blocking and must be a regular file (a FIFO, a device such as
//! `/dev/zero` or a directory under `--root` is refused: it could hang or
//! never end), and a read never takes more than [`MAX_READ_BYTES`] (or the
//! source's own bound): a larger file is an error, not an allocation.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The most bytes read from one kernel file: `/proc/meminfo` is about 1.5 KiB,
/// the other files the sampler reads are smaller. Sources that are long by
/// nature (nvmap's client list) give their own bound.
pub const MAX_READ_BYTES: usize = 64 * 1024;

/// Opens `path` for reading without blocking and checks (with `fstat`) that it
/// is a regular file; anything else is an `InvalidInput` error naming its kind.
/// A symbolic-link loop is the kernel's `ELOOP` ("Too many levels of symbolic links").
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)?;
    match not_regular(file.metadata()?.file_type()) {
        None => Ok(file),
        Some(what) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({what}): refused"),
        )),
    }
}

/// What a file that is not a regular file is (`a FIFO`, `a character
/// device`, …); `None` for a regular file. One rule for the sources and the
/// outputs (`sampler::output`).
pub(crate) fn not_regular(t: std::fs::FileType) -> Option<&'static str> {
    Some(if t.is_file() {
        return None;
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    })
}

fn too_large(max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than {max} bytes: refused"),
    )
}

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
                Some(nix::libc::ELOOP) => {
                    SourceState::Unreadable(format!("symbolic link loop ({e})"))
                }
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
    max: usize,
}

impl FileSource {
    /// Opens `path` read-only with a buffer of `capacity` bytes (it grows if a
    /// read fills it, up to [`MAX_READ_BYTES`]).
    pub fn open(path: &Path, capacity: usize) -> io::Result<Self> {
        Self::open_bounded(path, capacity, MAX_READ_BYTES)
    }

    /// [`Self::open`] with its own bound: a read of more than `max` bytes fails.
    pub fn open_bounded(path: &Path, capacity: usize, max: usize) -> io::Result<Self> {
        let file = open_regular(path)?;
        Ok(FileSource {
            file,
            buf: vec![0; capacity.clamp(64, max.max(64))],
            len: 0,
            max: max.max(64),
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
                if self.buf.len() > self.max {
                    self.len = 0;
                    return Err(too_large(self.max));
                }
                // One byte past the bound tells a file of exactly `max` from a larger one.
                let new_len = (self.buf.len() * 2).min(self.max + 1);
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

    /// Re-reads the file from offset 0 into the caller's `buf` (one `pread`,
    /// the source's own buffer untouched): for a small file read on every
    /// sample, such as `statm`, so that the hot loop over many processes
    /// writes into one cache-hot buffer. A file that fills `buf` is an error.
    pub fn read_into<'b>(&self, buf: &'b mut [u8]) -> io::Result<&'b [u8]> {
        loop {
            match self.file.read_at(buf, 0) {
                Ok(n) if n < buf.len() => return Ok(buf.get(..n).unwrap_or_default()),
                Ok(_) => return Err(too_large(buf.len().saturating_sub(1))),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
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

/// [`open_optional`] with the source's own read bound.
pub fn open_optional_bounded(
    root: &Path,
    name: &'static str,
    abs: &str,
    capacity: usize,
    max: usize,
    statuses: &mut Vec<SourceStatus>,
) -> Option<FileSource> {
    open_recorded_bounded(name, under(root, abs), capacity, max, statuses)
}

/// Opens `path` and reads it once; records whether that worked, and why not.
pub fn open_recorded(
    name: &'static str,
    path: PathBuf,
    capacity: usize,
    statuses: &mut Vec<SourceStatus>,
) -> Option<FileSource> {
    open_recorded_bounded(name, path, capacity, MAX_READ_BYTES, statuses)
}

fn open_recorded_bounded(
    name: &'static str,
    path: PathBuf,
    capacity: usize,
    max: usize,
    statuses: &mut Vec<SourceStatus>,
) -> Option<FileSource> {
    let opened = FileSource::open_bounded(&path, capacity, max)
        .and_then(|mut src| src.read().map(|_| ()).map(|()| src));
    let state = match &opened {
        Ok(_) => SourceState::Ok,
        Err(e) => SourceState::from_error(e),
    };
    statuses.push(SourceStatus { name, path, state });
    opened.ok()
}

/// Reads a small file whole (for one-shot platform facts), `None` when
/// unreadable, not a regular file or larger than [`MAX_READ_BYTES`].
pub fn read_small(root: &Path, abs: &str) -> Option<Vec<u8>> {
    read_bounded(&under(root, abs), MAX_READ_BYTES).ok()
}

/// Reads a regular file whole, failing past `max` bytes.
pub fn read_bounded(path: &Path, max: usize) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut out = Vec::new();
    file.take(max as u64 + 1).read_to_end(&mut out)?;
    if out.len() > max {
        return Err(too_large(max));
    }
    Ok(out)
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

    /// The hostile roots: a meminfo that is /dev/zero drove RSS past
    /// 3.5 GB, a FIFO hung. Both are refused at open; a huge regular file
    /// fails its first read without growing past the bound.
    #[test]
    fn devices_fifos_loops_and_huge_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("jetmem-src-hostile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let zero = dir.join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = FileSource::open(&zero, 64).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = FileSource::open(&fifo, 64).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        assert!(read_small(&dir, "/fifo").is_none());
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let e = FileSource::open(&a, 64).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(nix::libc::ELOOP));
        assert!(
            SourceState::from_error(&e)
                .describe()
                .contains("symbolic link loop")
        );
        let big = dir.join("big");
        std::fs::write(&big, vec![b'x'; MAX_READ_BYTES + 1]).unwrap();
        let mut s = FileSource::open(&big, 64).unwrap();
        let e = s.read().unwrap_err();
        assert!(e.to_string().contains("larger than 65536 bytes"), "{e}");
        assert!(s.buf.len() <= MAX_READ_BYTES + 1);
        assert!(read_small(&dir, "/big").is_none());
        std::fs::write(&big, vec![b'x'; MAX_READ_BYTES]).unwrap();
        assert_eq!(
            s.read().unwrap().len(),
            MAX_READ_BYTES,
            "exactly the bound is fine"
        );
        assert_eq!(read_small(&dir, "/big").unwrap().len(), MAX_READ_BYTES);
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
