//! The trace file, created on the first write: a start that fails before
//! writing (no such process, bad sources) leaves an existing file untouched.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A file that is created (or truncated) on its first write.
#[derive(Debug)]
pub(crate) struct LazyFile {
    path: PathBuf,
    file: Option<File>,
    created: Arc<AtomicBool>,
}

impl LazyFile {
    /// The file at `path`, and a flag that becomes true once it was created.
    pub(crate) fn new(path: PathBuf) -> (LazyFile, Arc<AtomicBool>) {
        let created = Arc::new(AtomicBool::new(false));
        let file = LazyFile {
            path,
            file: None,
            created: Arc::clone(&created),
        };
        (file, created)
    }

    fn file(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            let f = File::create(&self.path)?;
            self.created.store(true, Ordering::Release);
            self.file = Some(f);
        }
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("trace file not open"))
    }
}

impl Write for LazyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file()?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}
