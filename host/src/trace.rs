//! Opening a trace file and streaming its items, with a progress bar for long decodes.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jetmem_core::record::Header;
use jetmem_core::wire::Item;
use jetmem_core::wire::stream::{DecodeStats, TraceReader};

use crate::error::CliError;
use crate::units::count;

/// Traces at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 4 << 20;

/// Counts the bytes read, to drive the progress bar.
struct Counting<R> {
    inner: R,
    bar: Option<ProgressBar>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
        Ok(n)
    }
}

/// What a pass over a trace found besides its records.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The header (the first one, if the trace has several).
    pub header: Header,
    /// Skipped and decoded counts.
    pub stats: DecodeStats,
}

fn progress_bar(path: &Path, len: u64) -> Option<ProgressBar> {
    if len < PROGRESS_MIN_BYTES {
        return None;
    }
    // indicatif's stderr target draws nothing when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(format!("decoding {}", path.display()));
    Some(bar)
}

/// Decodes `path`, calling `visit` with the header first and then every record in file order.
pub fn read(path: &Path, visit: impl FnMut(&Header, &Item)) -> Result<Decoded, CliError> {
    read_pass(path, true, visit)
}

/// Like [`read`], for a second pass over the same file: the damage was already
/// reported by the first, so `warn` is false there.
pub fn read_pass(
    path: &Path,
    warn: bool,
    mut visit: impl FnMut(&Header, &Item),
) -> Result<Decoded, CliError> {
    let file = File::open(path).map_err(|source| CliError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let file_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(path, file_bytes);
    let counting = Counting {
        inner: BufReader::with_capacity(1 << 16, file),
        bar: bar.clone(),
    };
    let mut reader = TraceReader::new(counting).map_err(|source| CliError::NotATrace {
        path: path.to_path_buf(),
        source,
    })?;
    let mut header: Option<Header> = None;
    let mut before_header = 0u64;
    // The inherent streaming `for_each`, not `Iterator::for_each`.
    TraceReader::for_each_item(&mut reader, |item| match (item, &header) {
        (Item::Header(h), None) => {
            header = Some(h.clone());
            visit(h, item);
        }
        (Item::Header(_), Some(_)) => {}
        (_, Some(h)) => visit(h, item),
        (_, None) => before_header += 1,
    })
    .map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let stats = reader.stats();
    if warn {
        warn_damage(path, &stats);
    }
    let header = header.ok_or_else(|| CliError::NoHeader {
        path: path.to_path_buf(),
        skipped: stats.skipped_bytes,
    })?;
    Ok(Decoded { header, stats })
}

/// Reports on stderr (through `log`) what the decoder had to skip.
fn warn_damage(path: &Path, s: &DecodeStats) {
    if s.skipped_bytes > 0 {
        log::warn!(
            "{}: {} in {} did not decode and were skipped ({} malformed, {} of a cut-off tail)",
            path.display(),
            count(s.skipped_bytes, "byte", "bytes"),
            count(s.skipped_frames, "frame", "frames"),
            s.malformed_frames,
            count(s.truncated_tail_bytes, "byte", "bytes")
        );
    }
    if s.unknown_records > 0 {
        log::warn!(
            "{}: {} records of a newer format were skipped",
            path.display(),
            s.unknown_records
        );
    }
}

/// The label a trace is shown under: its own label, else the file's stem.
pub fn display_label(header: &Header, path: &Path) -> String {
    if header.label.is_empty() {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| PathBuf::from(path).display().to_string())
    } else {
        header.label.to_string()
    }
}
