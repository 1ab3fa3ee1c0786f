//! Typed errors of the CLI; each names the file it is about and the cause.

use std::io;
use std::path::PathBuf;

use jetmem_core::wire::stream::OpenError;

/// Everything a jetmem command can fail with (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A trace file could not be opened.
    #[error("{}: cannot open: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    /// The file is not a trace this version reads.
    #[error("{}: {source}", path.display())]
    NotATrace { path: PathBuf, source: OpenError },
    /// Reading a trace failed part-way.
    #[error("{}: read error: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The trace has no header frame (too damaged or empty).
    #[error("{}: no trace header found ({skipped} bytes skipped)", path.display())]
    NoHeader { path: PathBuf, skipped: u64 },
    /// Writing an output file failed.
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// An output file exists and `--force` was not given.
    #[error("{}: already exists (use --force to overwrite)", path.display())]
    Exists { path: PathBuf },
    /// Drawing a plot failed.
    #[error("{}: plot failed: {message}", path.display())]
    Plot { path: PathBuf, message: String },
    /// The sampler failed.
    #[error("sampler: {0}")]
    Sampler(String),
    /// Starting the traced command failed.
    #[error("{program}: cannot start: {source}")]
    Spawn { program: String, source: io::Error },
    /// `--cuda-hook` cannot be used (the interposer library is missing).
    #[error("--cuda-hook: {0}")]
    CudaHook(String),
    /// Writing to stdout failed (other than a closed pipe).
    #[error("stdout: {0}")]
    Stdout(io::Error),
}

impl CliError {
    /// Wraps an error writing to standard output.
    pub fn stdout(e: io::Error) -> Self {
        CliError::Stdout(e)
    }
}
