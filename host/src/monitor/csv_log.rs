//! `monitor --log`: one CSV line per reading. The first seven columns are the
//! original log's, in their order; the rest were added after (docs/cli.md).
//! An existing file with the same header is appended to; a different header is
//! refused; `--force` truncates.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use crate::config::LogConfig;
use crate::error::CliError;
use crate::monitor::view::{Columns, Reading};
use crate::output::create_output;

/// The header line for these columns.
pub fn header(c: &Columns) -> String {
    let mut h = String::from(
        "t_s,system_used_bytes,available_bytes,gpu_used_bytes,vram_used_bytes,swap_used_bytes,pressure,\
         time,used_tegrastats_bytes,gpu_source,gpu_load_permille",
    );
    for pid in &c.trees {
        h.push_str(&format!(",tree_rss_bytes_{pid}"));
    }
    h
}

/// One line for a reading.
pub fn line(c: &Columns, r: &Reading) -> String {
    let o = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let f = &r.figures;
    let mut l = format!(
        "{:.3},{},{},{},{},{},{},{},{},{},{}",
        r.t_ns as f64 / 1e9,
        o(f.used),
        o(f.available),
        o(f.gpu_used),
        o(f.vram_used),
        o(f.swap_used),
        u8::from(r.pressure),
        r.wall.round(jiff::Unit::Millisecond).unwrap_or(r.wall),
        o(f.used_tfbc),
        c.gpu_source.as_str().unwrap_or(""),
        o(r.gpu_load_permille),
    );
    for rss in r.rss.iter().take(c.trees.len()) {
        l.push(',');
        l.push_str(&o(*rss));
    }
    l
}

/// The open log.
pub struct CsvLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl CsvLog {
    /// Opens (appending, truncating or creating) and writes the header when the file is new.
    pub fn open(cfg: &LogConfig, header: &str) -> Result<CsvLog, CliError> {
        let path = cfg.path.clone();
        let existing = if cfg.truncate {
            Existing::No
        } else {
            existing_header(&cfg.path, header)?
        };
        let append = existing != Existing::No;
        let file = if append {
            OpenOptions::new().append(true).open(&path)
        } else {
            create_output(&path, cfg.truncate).map(Ok)?
        }
        .map_err(|source| CliError::Write {
            path: path.clone(),
            source,
        })?;
        let mut log = CsvLog {
            path,
            out: BufWriter::new(file),
        };
        if existing != Existing::SameHeader {
            log.write(header)?;
        }
        Ok(log)
    }

    /// Writes one line and flushes it (a reading is never lost to a kill).
    pub fn write(&mut self, line: &str) -> Result<(), CliError> {
        writeln!(self.out, "{line}")
            .and_then(|()| self.out.flush())
            .map_err(|source| CliError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// What is already at the log's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Existing {
    No,
    Empty,
    SameHeader,
}

/// Whether `path` exists (empty, or with exactly `header` as its first line);
/// an error when it exists with another one.
fn existing_header(path: &std::path::Path, header: &str) -> Result<Existing, CliError> {
    let Ok(f) = File::open(path) else {
        return Ok(Existing::No);
    };
    let mut first = String::new();
    BufReader::new(f)
        .read_line(&mut first)
        .map_err(|source| CliError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if first.is_empty() {
        Ok(Existing::Empty)
    } else if first.trim_end_matches(['\n', '\r']) == header {
        Ok(Existing::SameHeader)
    } else {
        Err(CliError::BadInput {
            path: path.to_path_buf(),
            detail: format!(
                "exists with a different header (not appending; use --force to truncate it)\n  \
                 has:  {}\n  want: {header}",
                first.trim_end()
            ),
        })
    }
}
