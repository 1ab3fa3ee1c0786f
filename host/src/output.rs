//! Output files: never overwritten without `--force`, and `--force` replaces
//! only a regular file (never a device, a FIFO, a directory or a symbolic
//! link's target); whole outputs are written to a temporary file in the same
//! directory and renamed over the old one, so a failure leaves the old file
//! (the rule: `jetmem_core::sampler::PendingOutput`, shared with the FFI).
//! Stdout where a closed pipe is not an error; the default trace name.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub use jetmem_core::sampler::PendingOutput;
use jetmem_core::sampler::{OutputError, check_replaceable};

use crate::error::CliError;

/// The CLI's error for an output that may not be written.
pub fn output_error(path: &Path, e: OutputError) -> CliError {
    let path = path.to_path_buf();
    match e {
        OutputError::Exists => CliError::Exists { path },
        OutputError::NotReplaceable(what) => CliError::NotReplaceable { path, what },
        OutputError::Io(source) => CliError::Write { path, source },
        other => CliError::Write {
            path,
            source: io::Error::other(other.to_string()),
        },
    }
}

/// [`PendingOutput::create`] with the CLI's errors.
pub fn create_pending(path: &Path, force: bool) -> Result<(PendingOutput, File), CliError> {
    PendingOutput::create(path, force).map_err(|e| output_error(path, e))
}

/// [`PendingOutput::commit`] with the CLI's errors.
pub fn commit(pending: PendingOutput) -> Result<(), CliError> {
    let path = pending.path().to_path_buf();
    pending.commit().map_err(|e| output_error(&path, e))
}

/// Creates `path` for writing in place (for outputs written as they go, such
/// as `monitor --log`); fails if it exists unless `force`, and `force`
/// truncates only a regular file (opened without following a link).
pub fn create_output(path: &Path, force: bool) -> Result<File, CliError> {
    check_replaceable(path, force).map_err(|e| output_error(path, e))?;
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

/// Writes `text` to `path` (never overwriting without `force`, through a
/// temporary file renamed into place), or to stdout when `path` is `None`.
pub fn write_output(path: Option<&Path>, force: bool, text: &[u8]) -> Result<(), CliError> {
    match path {
        Some(p) => {
            let (pending, file) = create_pending(p, force)?;
            let mut w = BufWriter::new(file);
            w.write_all(text)
                .and_then(|()| w.flush())
                .map_err(|source| CliError::Write {
                    path: p.to_path_buf(),
                    source,
                })?;
            drop(w);
            commit(pending)
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
