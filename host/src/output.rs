//! Output files: never overwritten without `--force`, and `--force` replaces
//! only a regular file (never a device, a FIFO, a directory or a symbolic
//! link's target); whole outputs are written to a temporary file in the same
//! directory and renamed over the old one, so a failure leaves the old file.
//! Stdout where a closed pipe is not an error; the default trace name.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::CliError;

/// What a path that `--force` must not replace is.
fn kind_of(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
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

/// Checks that `path` may be written: absent, or (with `force`) a regular file.
pub fn check_replaceable(path: &Path, force: bool) -> Result<(), CliError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CliError::Write {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if !force {
        return Err(CliError::Exists {
            path: path.to_path_buf(),
        });
    }
    match kind_of(&meta) {
        None => Ok(()),
        Some(what) => Err(CliError::NotReplaceable {
            path: path.to_path_buf(),
            what,
        }),
    }
}

/// Creates `path` for writing in place (for outputs written as they go, such
/// as `monitor --log`); fails if it exists unless `force`, and `force`
/// truncates only a regular file (opened without following a link).
pub fn create_output(path: &Path, force: bool) -> Result<File, CliError> {
    check_replaceable(path, force)?;
    let mut opts = OpenOptions::new();
    opts.write(true).custom_flags(nix::libc::O_NOFOLLOW);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    opts.open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            CliError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            CliError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// An output being written to a temporary file beside its path; [`Self::commit`]
/// renames it into place. Dropped without a commit, the temporary file is
/// removed and the old output (if any) is untouched.
#[derive(Debug)]
pub struct PendingOutput {
    path: PathBuf,
    tmp: PathBuf,
    force: bool,
    committed: bool,
}

impl PendingOutput {
    /// Checks `path` ([`check_replaceable`]) and creates the temporary file
    /// `.NAME.PID-N.tmp` in its directory.
    pub fn create(path: &Path, force: bool) -> Result<(PendingOutput, File), CliError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        check_replaceable(path, force)?;
        let name = path.file_name().ok_or_else(|| CliError::Write {
            path: path.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
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
            .map_err(|source| CliError::Write {
                path: path.to_path_buf(),
                source,
            })?;
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

    /// Renames the temporary file over the output (checked again first: a
    /// path that became something else meanwhile is not replaced).
    pub fn commit(mut self) -> Result<(), CliError> {
        check_replaceable(&self.path, self.force)?;
        std::fs::rename(&self.tmp, &self.path).map_err(|source| CliError::Write {
            path: self.path.clone(),
            source,
        })?;
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

/// Writes `text` to `path` (never overwriting without `force`, through a
/// temporary file renamed into place), or to stdout when `path` is `None`.
pub fn write_output(path: Option<&Path>, force: bool, text: &[u8]) -> Result<(), CliError> {
    match path {
        Some(p) => {
            let (pending, file) = PendingOutput::create(p, force)?;
            let mut w = BufWriter::new(file);
            w.write_all(text)
                .and_then(|()| w.flush())
                .map_err(|source| CliError::Write {
                    path: p.to_path_buf(),
                    source,
                })?;
            drop(w);
            pending.commit()
        }
        None => write_stdout(text),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(text: &[u8]) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(CliError::stdout),
    }
}

/// The default trace name: `<program>-<YYYYmmdd-HHMMSS>.jetmem` in the current directory.
pub fn default_trace_name(command: &[String], unix_secs: u64) -> PathBuf {
    let program = command
        .first()
        .map(|c| {
            Path::new(c)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| c.clone())
        })
        .unwrap_or_else(|| "system".to_owned());
    let safe: String = program
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    PathBuf::from(format!("{safe}-{}.jetmem", utc_stamp(unix_secs)))
}

/// `YYYYmmdd-HHMMSS` in UTC (civil-from-days, no time-zone database needed).
pub fn utc_stamp(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_from_command_and_time() {
        let cmd = vec!["/usr/bin/python3".to_owned(), "train.py".to_owned()];
        // 2026-11-26 19:39:11 UTC
        assert_eq!(
            default_trace_name(&cmd, 1_795_721_951),
            PathBuf::from("python3-20261126-193911.jetmem")
        );
        assert_eq!(
            default_trace_name(&[], 0),
            PathBuf::from("system-19700101-000000.jetmem")
        );
    }
}
