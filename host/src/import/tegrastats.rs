//! `jetmem import tegrastats`: tegrastats logs → a trace, streaming, in bounded memory.
//!
//! Each line that parses (`core::parse::tegrastats`) becomes one sample holding
//! only the `Tegrastats*` counters (docs/trace-format.md §5.1): tegrastats'
//! figures keep their own definition and are never mixed with the
//! meminfo-based ones. Lines that do not parse are counted and the first few
//! named; a file none of whose first lines parse is not tegrastats output.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use jetmem_core::parse::tegrastats::{Stamp, TegrastatsLine, parse_tegrastats_line};
use jetmem_core::record::{Architecture, Counter, Counters, End, Header, Platform, Record, Sample};
use jetmem_core::text::truncated;
use jetmem_core::wire::TraceWriter;

use super::lines::Lines;
use super::timeline::Timeline;
use crate::config::TegrastatsConfig;
use crate::error::CliError;
use crate::output::{create_output, write_stdout};

/// A file whose first this many non-blank lines hold no sample is not tegrastats output.
const SNIFF_LINES: u64 = 100;
/// How many bad lines are named in the summary.
const NAMED_BAD_LINES: usize = 5;
/// Records written per frame.
const BATCH: usize = 256;

/// Why the GPU figure of an imported trace is unknown.
pub const GPU_REASON: &str = "imported from tegrastats, which prints no GPU memory figure";

/// A line that did not parse: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub file: PathBuf,
    pub number: u64,
    pub why: String,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Summary {
    pub samples: u64,
    pub bad_lines: u64,
    pub first_bad: Vec<BadLine>,
    pub stamped: bool,
}

impl Summary {
    fn bad(&mut self, file: &Path, number: u64, why: String) {
        self.bad_lines += 1;
        if self.first_bad.len() < NAMED_BAD_LINES {
            self.first_bad.push(BadLine {
                file: file.to_path_buf(),
                number,
                why,
            });
        }
    }
}

/// Runs the import: writes beside the output and renames on success, so a bad
/// log never leaves a half trace (nor replaces a good one).
pub fn run(cfg: &TegrastatsConfig) -> Result<(), CliError> {
    if !cfg.force && cfg.output.exists() {
        return Err(CliError::Exists {
            path: cfg.output.clone(),
        });
    }
    let partial = cfg.output.with_extension("jetmem.partial");
    let result = import(cfg, &partial).and_then(|s| {
        std::fs::rename(&partial, &cfg.output).map_err(|source| CliError::Write {
            path: cfg.output.clone(),
            source,
        })?;
        Ok(s)
    });
    match result {
        Ok(s) => write_stdout(summary_text(cfg, &s).as_bytes()),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// What the user reads after an import.
pub fn summary_text(cfg: &TegrastatsConfig, s: &Summary) -> String {
    let mut o = format!(
        "Imported {} samples from {} file{} into {} (tegrastats figures, whole MiB; {}).\n",
        s.samples,
        cfg.logs.len(),
        if cfg.logs.len() == 1 { "" } else { "s" },
        cfg.output.display(),
        if s.stamped {
            "times from the lines' own stamps, the board's local time read as UTC"
        } else {
            "lines without stamps, spaced by --interval"
        }
    );
    if s.bad_lines > 0 {
        o.push_str(&format!("{} lines did not parse:\n", s.bad_lines));
        for b in &s.first_bad {
            o.push_str(&format!("  {}:{}: {}\n", b.file.display(), b.number, b.why));
        }
        if s.bad_lines > s.first_bad.len() as u64 {
            o.push_str("  …\n");
        }
    }
    o
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |source| CliError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Streams every log into `out`.
fn import(cfg: &TegrastatsConfig, out: &Path) -> Result<Summary, CliError> {
    let file = create_output(out, true)?;
    let mut w = TraceWriter::new(
        BufWriter::new(file),
        TraceWriter::<BufWriter<File>>::DEFAULT_FRAME_CAPACITY,
    )
    .map_err(write_err(out))?;
    let mut timeline = Timeline::new(cfg.interval.as_nanos());
    let mut summary = Summary::default();
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    let mut header_written = false;
    let mut last_t = 0;
    for log in &cfg.logs {
        let f = File::open(log).map_err(|source| CliError::Open {
            path: log.clone(),
            source,
        })?;
        let mut lines = Lines::new(BufReader::with_capacity(256 * 1024, f));
        let mut in_file = 0u64;
        let mut non_blank = 0u64;
        while let Some(line) = lines.next_line().map_err(|source| CliError::Read {
            path: log.clone(),
            source,
        })? {
            if line.bytes.trim_ascii().is_empty() {
                continue;
            }
            non_blank += 1;
            let parsed = match (line.cut, parse_tegrastats_line(line.bytes)) {
                (true, _) => Err("longer than 64 KiB".to_owned()),
                (false, Ok(t)) => stamp_secs(&t).map(|s| (t, s)),
                (false, Err(e)) => Err(e.to_string()),
            };
            match parsed {
                Ok((t, stamp)) => {
                    in_file += 1;
                    summary.stamped |= stamp.is_some();
                    let t_ns = timeline.next(stamp);
                    if !header_written {
                        w.write_header(&header(cfg, &timeline))
                            .map_err(write_err(out))?;
                        header_written = true;
                    }
                    last_t = t_ns;
                    batch.push(Record::Sample(sample(t_ns, &t)));
                    if batch.len() == BATCH {
                        w.write_records(&batch).map_err(write_err(out))?;
                        batch.clear();
                    }
                }
                Err(why) => summary.bad(log, line.number, why),
            }
            if in_file == 0 && non_blank >= SNIFF_LINES {
                break;
            }
        }
        if in_file == 0 {
            return Err(not_tegrastats(log, &summary));
        }
        summary.samples += in_file;
    }
    batch.push(Record::End(End {
        t_ns: last_t,
        samples: summary.samples,
        dropped: 0,
        sampler_cpu_ns: 0,
        writer_cpu_ns: 0,
        lateness_p50_ns: 0,
        lateness_p99_ns: 0,
        lateness_max_ns: 0,
        exit_code: None,
    }));
    w.write_records(&batch).map_err(write_err(out))?;
    let mut inner = w.into_inner();
    inner.flush().map_err(write_err(out))?;
    Ok(summary)
}

fn not_tegrastats(log: &Path, s: &Summary) -> CliError {
    let first = s
        .first_bad
        .iter()
        .find(|b| b.file == log)
        .map(|b| format!(" (line {}: {})", b.number, b.why))
        .unwrap_or_else(|| " (no non-blank line)".to_owned());
    CliError::BadInput {
        path: log.to_path_buf(),
        detail: format!(
            "not tegrastats output: no line among the first {SNIFF_LINES} has `RAM used/totalMB`{first}"
        ),
    }
}

/// The line's stamp in Unix seconds, read as UTC; an impossible date is an error.
fn stamp_secs(t: &TegrastatsLine) -> Result<Option<i64>, String> {
    let Some(Stamp {
        year,
        month,
        day,
        hour,
        minute,
        second,
    }) = t.stamp
    else {
        return Ok(None);
    };
    let n = |v: u8| v as i8;
    jiff::civil::DateTime::new(
        year as i16,
        n(month),
        n(day),
        n(hour),
        n(minute),
        n(second.min(59)),
        0,
    )
    .and_then(|d| jiff::tz::Offset::UTC.to_timestamp(d))
    .map(|ts| Some(ts.as_second()))
    .map_err(|e| format!("impossible timestamp: {e}"))
}

/// The trace header: a unified (Jetson) machine whose GPU memory is unknown.
fn header(cfg: &TegrastatsConfig, timeline: &Timeline) -> Header {
    let start = cfg
        .start
        .map(|s| u64::try_from(s.as_nanosecond()).unwrap_or(0))
        .or_else(|| timeline.start_unix_ns())
        .unwrap_or(0);
    let command = cfg
        .logs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    Header {
        platform: Platform {
            architecture: Architecture::Unified,
            mem_total_bytes: cfg.mem_total,
            gpu_reason: truncated(GPU_REASON),
            ..Platform::default()
        },
        interval_ns: cfg.interval.as_nanos(),
        start_unix_ns: start,
        command: truncated(&format!("tegrastats (imported): {command}")),
        label: truncated(&cfg.label),
        pressure_threshold_permille: 200,
        ..Header::default()
    }
}

/// One sample of the `Tegrastats*` counters.
pub fn sample(t_ns: u64, t: &TegrastatsLine) -> Sample {
    let mut c = Counters::new();
    c.set(Counter::TegrastatsRamUsed, Some(t.ram_used));
    c.set(Counter::TegrastatsRamTotal, Some(t.ram_total));
    c.set(Counter::TegrastatsSwapUsed, t.swap_used);
    c.set(Counter::TegrastatsSwapTotal, t.swap_total);
    c.set(Counter::TegrastatsSwapCached, t.swap_cached);
    c.set(Counter::TegrastatsLfbBytes, t.lfb.map(|l| l.block_bytes));
    c.set(Counter::TegrastatsLfbBlocks, t.lfb.map(|l| l.blocks));
    let gpu = t.gpu.unwrap_or_default();
    c.set(
        Counter::TegrastatsGpuLoadPercent,
        gpu.load_percent.map(u64::from),
    );
    c.set(Counter::TegrastatsGpuFreqMhz, gpu.freq_mhz.map(u64::from));
    c.set(
        Counter::TegrastatsEmcLoadPercent,
        t.emc.and_then(|e| e.load_percent).map(u64::from),
    );
    Sample { t_ns, counters: c }
}
