//! Trace and report outputs that never destroy what they must not: the one
//! rule the CLI and the FFI share.
//!
//! An existing output is replaced only when asked (`--force`, `force=True`,
//! `JETMEM_FLAG_FORCE`), and then only if it is a regular file: never a
//! device, a FIFO, a directory or a symbolic link (nor the link's target).
//! The new output is written to a temporary file in the same directory
//! (`.NAME.PID-N.tmp`) and renamed into place by [`PendingOutput::commit`]; a
//! pending output dropped without a commit removes its temporary file, so a
//! failure leaves the old output as it was.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::source::not_regular;

/// Why an output may not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum OutputError {
    /// It exists, and replacing it was not asked for.
    Exists,
    /// It exists and is not a regular file (what it is).
    NotReplaceable(&'static str),
    /// Checking, creating or renaming failed.
    Io(io::Error),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputError::Exists => f.write_str("already exists"),
            OutputError::NotReplaceable(what) => {
                write!(
                    f,
                    "not replaced: it is {what}, and only a regular file is replaced"
                )
            }
            OutputError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OutputError {}

/// Checks that `path` may be written: absent, or (with `force`) a regular file.
pub fn check_replaceable(path: &Path, force: bool) -> Result<(), OutputError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(OutputError::Io(e)),
    };
    if !force {
        return Err(OutputError::Exists);
    }
    match not_regular(meta.file_type()) {
        None => Ok(()),
        Some(what) => Err(OutputError::NotReplaceable(what)),
    }
}

/// An output written to a temporary file beside its path until [`Self::commit`].
#[derive(Debug)]
pub struct PendingOutput {
    path: PathBuf,
    tmp: PathBuf,
    force: bool,
    committed: bool,
}

impl PendingOutput {
    /// Checks `path` ([`check_replaceable`]) and creates its temporary file.
    pub fn create(path: &Path, force: bool) -> Result<(PendingOutput, File), OutputError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        check_replaceable(path, force)?;
        let name = path.file_name().ok_or_else(|| {
            OutputError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path names no file",
            ))
        })?;
        let tmp = path.with_file_name(format!(
            ".{}.{}-{}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(OutputError::Io)?;
        let pending = PendingOutput {
            path: path.to_path_buf(),
            tmp,
            force,
            committed: false,
        };
        Ok((pending, file))
    }

    /// The output's final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temporary file over the output, checked again first: a
    /// path that became something else meanwhile is not replaced.
    pub fn commit(mut self) -> Result<(), OutputError> {
        check_replaceable(&self.path, self.force)?;
        std::fs::rename(&self.tmp, &self.path).map_err(OutputError::Io)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
