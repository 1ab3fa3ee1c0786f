//! A streamed output: a file (created on the first write, never overwritten
//! without `--force`) or stdout. Writers push into it as they decode; the first
//! error is kept and reported by [`Sink::finish`], later writes are dropped, so
//! a decode loop needs no error path of its own.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::CliError;
use crate::output::create_output;

const BUF: usize = 1 << 16;

enum Out {
    /// Not opened yet: nothing was written.
    Pending,
    File(BufWriter<File>),
    Stdout(BufWriter<io::Stdout>),
    /// A write failed; the first error is in `Sink::error`.
    Failed,
}

/// Where `export` and `plot` write.
pub struct Sink {
    path: Option<PathBuf>,
    force: bool,
    out: Out,
    error: Option<CliError>,
    created: bool,
}

impl Sink {
    /// Writes to `path` (nothing is created until the first write), or stdout when `None`.
    pub fn new(path: Option<&Path>, force: bool) -> Sink {
        Sink {
            path: path.map(Path::to_path_buf),
            force,
            out: Out::Pending,
            error: None,
            created: false,
        }
    }

    fn open(&mut self) {
        self.out = match &self.path {
            None => Out::Stdout(BufWriter::with_capacity(BUF, io::stdout())),
            Some(p) => match create_output(p, self.force) {
                Ok(f) => {
                    self.created = true;
                    Out::File(BufWriter::with_capacity(BUF, f))
                }
                Err(e) => {
                    self.error = Some(e);
                    Out::Failed
                }
            },
        };
    }

    fn fail(&mut self, source: io::Error) {
        self.error = Some(match &self.path {
            Some(p) => CliError::Write {
                path: p.clone(),
                source,
            },
            None => CliError::stdout(source),
        });
        self.out = Out::Failed;
    }

    /// Whether writing stopped (an error, or a closed stdout): the caller may stop early.
    pub fn failed(&self) -> bool {
        matches!(self.out, Out::Failed)
    }

    /// Flushes; the first error, if any. A closed pipe on stdout (`| head`) is not
    /// an error. A file this sink created is removed when writing it failed.
    pub fn finish(mut self) -> Result<(), CliError> {
        if matches!(self.out, Out::Pending) {
            self.open();
        }
        let flushed = match &mut self.out {
            Out::File(w) => w.flush(),
            Out::Stdout(w) => w.flush(),
            Out::Pending | Out::Failed => Ok(()),
        };
        if let Err(e) = flushed {
            self.fail(e);
        }
        match self.error.take() {
            None => Ok(()),
            Some(CliError::Stdout(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Some(e) => {
                if let (true, Some(p)) = (self.created, &self.path) {
                    let _ = std::fs::remove_file(p);
                }
                Err(e)
            }
        }
    }
}

impl Sink {
    /// Gives up after a failed decode: a file this sink created is removed, so
    /// no half-written output is left behind.
    pub fn abandon(self) {
        if let (true, Some(p)) = (self.created, &self.path) {
            drop(self.out);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Write for Sink {
    /// Always "succeeds": an error is kept for [`Sink::finish`].
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if matches!(self.out, Out::Pending) {
            self.open();
        }
        let r = match &mut self.out {
            Out::File(w) => w.write_all(buf),
            Out::Stdout(w) => w.write_all(buf),
            Out::Pending | Out::Failed => Ok(()),
        };
        if let Err(e) = r {
            self.fail(e);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
