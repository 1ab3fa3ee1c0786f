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

/// Records decoded before any header (its frame damaged or moved) that are
/// kept until a copy of the header arrives (format 1.1 repeats it every 100
/// frames, about 1000 samples); beyond this they are counted as skipped.
const MAX_BEFORE_HEADER: usize = 20_000;

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
    // Records before the first header, replayed when it (or a copy) arrives.
    let mut early: Vec<Item> = Vec::new();
    let mut early_skipped = 0u64;
    // A header that is not a copy of the first: another trace appended.
    let mut other_trace = false;
    // The inherent streaming `for_each`, not `Iterator::for_each`.
    TraceReader::for_each_item(&mut reader, |item| match (item, &header) {
        _ if other_trace => {}
        (Item::Header(h), None) => {
            header = Some(h.clone());
            visit(h, item);
            for e in early.drain(..) {
                visit(h, &e);
            }
        }
        (Item::Header(h), Some(first)) => other_trace = h != first,
        (_, Some(h)) => visit(h, item),
        (_, None) if early.len() < MAX_BEFORE_HEADER => early.push(item.clone()),
        (_, None) => early_skipped += 1,
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
        records: early.len() as u64 + early_skipped,
    })?;
    if other_trace {
        return Err(CliError::Concatenated {
            path: path.to_path_buf(),
        });
    }
    if early_skipped > 0 {
        log::warn!(
            "{}: {early_skipped} records came before any copy of the header and were skipped",
            path.display()
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use jetmem_core::record::{Counter, Record, Sample};
    use jetmem_core::wire::TraceWriter;

    const FRAMES: u64 = 6;
    const PER_FRAME: u64 = 3;

    /// A 1.1 trace as the writer lays it out: header, sample frames, a header
    /// copy, the end. `label` tells traces apart.
    fn small_trace(label: &str) -> Vec<u8> {
        let header = Header {
            label: jetmem_core::text::truncated(label),
            start_monotonic_ns: 42,
            ..Header::default()
        };
        let mut w = TraceWriter::new(Vec::new(), 4096).unwrap();
        w.write_header(&header).unwrap();
        for f in 0..FRAMES {
            let records: Vec<Record> = (0..PER_FRAME)
                .map(|i| {
                    let mut s = Sample {
                        t_ns: (f * PER_FRAME + i) * 10_000_000,
                        ..Sample::default()
                    };
                    s.counters
                        .set(Counter::MemFree, Some((1000 + f * 10 + i) << 10));
                    Record::Sample(s)
                })
                .collect();
            w.write_records(&records).unwrap();
        }
        w.write_header(&header).unwrap();
        w.into_inner()
    }

    fn samples_read(bytes: &[u8], name: &str) -> Result<u64, CliError> {
        let path =
            std::env::temp_dir().join(format!("jetmem-trace-{}-{name}.jmt", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let mut n = 0;
        let r = read(&path, |_, item| {
            if matches!(item, Item::Record(Record::Sample(_))) {
                n += 1;
            }
        });
        let _ = std::fs::remove_file(&path);
        r.map(|_| n)
    }

    /// The target: one flipped byte anywhere loses at most one frame
    /// (here 3 samples), and never the whole trace: the header frame itself
    /// is no single point of failure, thanks to its copy.
    #[test]
    fn one_flipped_byte_anywhere_loses_at_most_one_frame() {
        let bytes = small_trace("flip");
        let all = FRAMES * PER_FRAME;
        assert_eq!(samples_read(&bytes, "intact").unwrap(), all);
        for at in 12..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[at] ^= bit;
                let n = samples_read(&b, "flipped")
                    .unwrap_or_else(|e| panic!("byte {at} bit {bit:#x}: {e}"));
                assert!(n + PER_FRAME >= all, "byte {at}: {n} of {all} samples");
            }
        }
    }

    /// Frames reordered (the header frame last): the samples before it are
    /// kept, not dropped; a trace with no header at all is an error that
    /// counts them.
    #[test]
    fn samples_before_the_header_are_kept_or_counted() {
        let bytes = small_trace("moved");
        let offsets = frame_starts(&bytes);
        let (first, second) = (offsets[0], offsets[1]);
        let mut moved = bytes[..12].to_vec();
        moved.extend_from_slice(&bytes[second..]);
        moved.extend_from_slice(&bytes[first..second]);
        assert_eq!(samples_read(&moved, "moved").unwrap(), FRAMES * PER_FRAME);
        // Without any header (the first and the copy cut away).
        let last = *offsets.last().unwrap();
        let mut headless = bytes[..12].to_vec();
        headless.extend_from_slice(&bytes[second..last]);
        match samples_read(&headless, "headless") {
            Err(CliError::NoHeader { records, .. }) => assert_eq!(records, FRAMES * PER_FRAME),
            other => panic!("{other:?}"),
        }
    }

    /// Two traces concatenated are refused, never merged under the first header.
    #[test]
    fn concatenated_traces_are_refused() {
        let mut both = small_trace("first");
        both.extend_from_slice(&small_trace("second"));
        assert!(matches!(
            samples_read(&both, "concat"),
            Err(CliError::Concatenated { .. })
        ));
        // The same trace twice (a replayed copy) is one trace.
        let one = small_trace("same");
        let mut twice = one.clone();
        twice.extend_from_slice(&one[12..]);
        assert!(samples_read(&twice, "twice").is_ok());
    }

    /// Where each (intact) frame starts, after the preamble.
    fn frame_starts(bytes: &[u8]) -> Vec<usize> {
        let mut starts = vec![jetmem_core::wire::PREAMBLE_LEN];
        while let Some(&at) = starts.last() {
            match jetmem_core::wire::check_frame(&bytes[at..]) {
                jetmem_core::wire::FrameCheck::Frame { len, .. } => starts.push(at + len),
                _ => break,
            }
        }
        starts.pop();
        starts
    }
}
