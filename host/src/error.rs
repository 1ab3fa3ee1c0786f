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
    /// The trace has no header frame nor copy (too damaged or empty).
    #[error("{}: no trace header found ({skipped} bytes skipped, {records} records without a header)", path.display())]
    NoHeader {
        path: PathBuf,
        skipped: u64,
        records: u64,
    },
    /// The file holds more than one trace (another header than the first's).
    #[error(
        "{}: holds several traces concatenated (a second, different header); \
         split the file at the second trace's preamble and report each part",
        path.display()
    )]
    Concatenated { path: PathBuf },
    /// Writing an output file failed.
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// An output file exists and `--force` was not given.
    #[error("{}: already exists (use --force to overwrite)", path.display())]
    Exists { path: PathBuf },
    /// `--force` replaces only a regular file, never a device, a FIFO, a directory or a link's target.
    #[error("{}: not replaced: it is {what}, and --force replaces only a regular file", path.display())]
    NotReplaceable { path: PathBuf, what: &'static str },
    /// Drawing a plot failed.
    #[error("{}: plot failed: {message}", path.display())]
    Plot { path: PathBuf, message: String },
    /// The sampler failed.
    #[error("sampler: {0}")]
    Sampler(String),
    /// Starting the traced command failed.
    #[error("{program}: cannot start: {source}")]
    Spawn { program: String, source: io::Error },
    /// A setting clap could not check (a time, a size); exit code 1 like every other error.
    #[error("{0}")]
    Usage(String),
    /// An input file is not what the command reads.
    #[error("{}: {detail}", path.display())]
    BadInput { path: PathBuf, detail: String },
    /// `jetmem serve` could not listen on its address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: io::Error,
    },
    /// `--cuda-hook` cannot be used (the interposer library is missing).
    #[error("--cuda-hook: {0}")]
    CudaHook(String),
    /// Writing to stdout failed (other than a closed pipe).
    #[error("stdout: {0}")]
    Stdout(io::Error),
}

impl CliError {
    /// The exit status for this error, as shells give it: 127 for a command
    /// that cannot be found, 126 for one that cannot be executed, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Spawn { source, .. } => match source.kind() {
                io::ErrorKind::NotFound => 127,
                _ => 126,
            },
            _ => 1,
        }
    }

    /// Wraps an error writing to standard output.
    pub fn stdout(e: io::Error) -> Self {
        CliError::Stdout(e)
    }
}
