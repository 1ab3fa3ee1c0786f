//! Validated settings: what the command line asks for, checked once (the
//! sampling interval's bounds by [`Interval::new`], in core, as for the FFI).

use std::path::PathBuf;
use std::time::Duration;

use jetmem_core::accounting::PressureConfig;
use jetmem_core::sampler::{Interval, SamplerConfig};

use crate::args::{MonitorArgs, RecordArgs, TegrastatsArgs};
use crate::error::CliError;
use crate::output::default_trace_name;

/// What `jetmem record` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Runs this command line and traces its process tree.
    Command(Vec<String>),
    /// Traces a running process and its descendants.
    Pid(u32),
    /// Traces the whole system.
    System,
}

/// `jetmem record`'s settings, checked.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    /// What to record.
    pub mode: Mode,
    /// The trace file.
    pub output: PathBuf,
    /// Whether an existing trace file may be overwritten.
    pub force: bool,
    /// The sampler's settings (the target is set when the process is known).
    pub sampler: SamplerConfig,
    /// Stop after this long (with `--system` or `--pid`).
    pub duration: Option<Duration>,
    /// Whether to print the report when recording ends.
    pub report: bool,
    /// Whether the record lasts until the command's descendants exit too.
    pub wait_descendants: bool,
    /// Whether to preload the CUDA allocation hook into the command (`--cuda-hook`).
    pub cuda_hook: bool,
}

impl RecordConfig {
    /// Checks the arguments; `unix_secs` names the default trace file.
    pub fn from_args(a: RecordArgs, unix_secs: u64) -> Result<RecordConfig, CliError> {
        let interval = Interval::new(a.interval).map_err(|e| CliError::Sampler(e.to_string()))?;
        let mode = match (a.pid, a.system, a.command.is_empty()) {
            (Some(pid), _, _) => Mode::Pid(pid),
            (None, false, false) => Mode::Command(a.command),
            _ => Mode::System,
        };
        let name_from: Vec<String> = match &mode {
            Mode::Command(c) => c.clone(),
            Mode::Pid(pid) => vec![format!("pid{pid}")],
            Mode::System => Vec::new(),
        };
        let output = a
            .output
            .unwrap_or_else(|| default_trace_name(&name_from, unix_secs));
        // The output file's stem tells runs of one program apart (three runs
        // of `python3` are three rows, not three `python3`).
        let label = a.label.unwrap_or_else(|| {
            output
                .file_stem()
                .map(|f| f.to_string_lossy().into_owned())
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| "system".to_owned())
        });
        let budget = match a.budget {
            Some(b) => Some(b.bytes(&a.root).map_err(CliError::Sampler)?),
            None => None,
        };
        let sampler = SamplerConfig {
            root: a.root,
            interval: interval.get(),
            label,
            command: shell_words(&name_from),
            probe_cuda: !a.no_cuda,
            pressure: PressureConfig {
                budget_bytes: budget,
                ..PressureConfig::default()
            },
            ..SamplerConfig::default()
        };
        Ok(RecordConfig {
            mode,
            output,
            force: a.force,
            sampler,
            duration: a.duration,
            report: !a.no_report,
            wait_descendants: a.wait_descendants,
            cuda_hook: a.cuda_hook,
        })
    }
}

/// What `jetmem monitor` watches besides the whole system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// The system only.
    System,
    /// These running process trees, one RSS column each.
    Pids(Vec<u32>),
    /// A command it starts; it stops when the command exits.
    Command(Vec<String>),
}

/// `jetmem monitor`'s CSV log: where, and whether an existing file is truncated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub path: PathBuf,
    pub truncate: bool,
}

/// `jetmem monitor`'s settings, checked.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Time between readings, within core's [`Interval`] bounds.
    pub interval: Interval,
    /// The CSV log, if asked for.
    pub log: Option<LogConfig>,
    /// Stop after this many readings.
    pub count: Option<u64>,
    /// The sysroot.
    pub root: PathBuf,
    /// What else to watch.
    pub watched: Watched,
}

impl MonitorConfig {
    /// Checks the arguments (the interval's bounds by [`Interval::new`], as for `record`).
    pub fn from_args(a: MonitorArgs) -> Result<MonitorConfig, CliError> {
        let interval = Interval::new(a.interval).map_err(|e| CliError::Sampler(e.to_string()))?;
        let watched = match (a.pids.is_empty(), a.command.is_empty()) {
            (false, _) => Watched::Pids(a.pids),
            (true, false) => Watched::Command(a.command),
            (true, true) => Watched::System,
        };
        Ok(MonitorConfig {
            interval,
            log: a.log.map(|path| LogConfig {
                path,
                truncate: a.force,
            }),
            count: a.count,
            root: a.root,
            watched,
        })
    }
}

/// Parses a size: bytes, or with `kB`/`KiB`, `MB`/`MiB`, `GB`/`GiB` (binary, as in
/// /proc/meminfo and tegrastats).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (try 4059240kB, 7620MiB, 8GiB)"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "k" | "kB" | "KB" | "KiB" => 10,
        "M" | "MB" | "MiB" => 20,
        "G" | "GB" | "GiB" => 30,
        other => return Err(format!("unknown unit `{other}` in `{s}` (use kB, MB, GB)")),
    };
    n.checked_mul(1 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("`{s}` must be larger than zero and fit in 64 bits"))
}

/// Parses a wall-clock time: RFC 3339 with an offset, or a civil
/// `YYYY-MM-DD HH:MM:SS` (or `…T…`) read as UTC.
pub fn parse_start(s: &str) -> Result<jiff::Timestamp, String> {
    s.parse::<jiff::Timestamp>()
        .or_else(|_| {
            s.parse::<jiff::civil::DateTime>()
                .and_then(|d| jiff::tz::Offset::UTC.to_timestamp(d))
        })
        .map_err(|e| format!("`{s}` is not a time (try 2025-04-11T10:36:27Z): {e}"))
}

/// `jetmem import tegrastats`'s settings, checked.
#[derive(Debug, Clone)]
pub struct TegrastatsConfig {
    /// The logs, in order.
    pub logs: Vec<PathBuf>,
    /// The trace file.
    pub output: PathBuf,
    /// Whether an existing trace file may be overwritten.
    pub force: bool,
    /// Spacing of lines without a timestamp.
    pub interval: Interval,
    /// The run's label.
    pub label: String,
    /// Wall-clock time of the first line, when given.
    pub start: Option<jiff::Timestamp>,
    /// The board's `MemTotal` in bytes, when given.
    pub mem_total: Option<u64>,
}

impl TegrastatsConfig {
    /// Checks the arguments: the interval's bounds (core's [`Interval`]), the time and size.
    pub fn from_args(a: TegrastatsArgs) -> Result<TegrastatsConfig, CliError> {
        let interval = Interval::new(a.interval).map_err(|e| CliError::Sampler(e.to_string()))?;
        let first = a.logs.first().cloned().unwrap_or_default();
        let start = a.start.as_deref().map(parse_start).transpose();
        let mem_total = a.mem_total.as_deref().map(parse_size).transpose();
        Ok(TegrastatsConfig {
            output: a.output.unwrap_or_else(|| first.with_extension("jetmem")),
            label: a.label.unwrap_or_else(|| {
                first.file_stem().map_or_else(
                    || "tegrastats".to_owned(),
                    |f| f.to_string_lossy().into_owned(),
                )
            }),
            logs: a.logs,
            force: a.force,
            interval,
            start: start.map_err(CliError::Usage)?,
            mem_total: mem_total.map_err(CliError::Usage)?,
        })
    }
}

/// The command line as a shell would need it typed: `sh -c 'kill -9 $$'`.
pub fn shell_words(words: &[String]) -> String {
    shlex::try_join(words.iter().map(String::as_str))
        // Only a word with a NUL byte cannot be quoted; no argv holds one.
        .unwrap_or_else(|_| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_as_in_meminfo() {
        assert_eq!(parse_size("4059240kB"), Ok(4_059_240 * 1024));
        assert_eq!(parse_size("7620MiB"), Ok(7620 << 20));
        assert_eq!(parse_size("8GB"), Ok(8 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }

    #[test]
    fn start_times() {
        // 2025-04-11 10:36:27 UTC = 1744367787 s.
        let want = 1_744_367_787;
        assert_eq!(
            parse_start("2025-04-11T10:36:27Z").unwrap().as_second(),
            want
        );
        assert_eq!(
            parse_start("2025-04-11 10:36:27").unwrap().as_second(),
            want
        );
        assert_eq!(
            parse_start("2025-04-11T12:36:27+02:00")
                .unwrap()
                .as_second(),
            want
        );
        assert!(parse_start("yesterday").is_err());
    }

    #[test]
    fn commands_are_shell_quoted() {
        let w = |s: &[&str]| shell_words(&s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>());
        assert_eq!(w(&["sh", "-c", "kill -9 $$"]), "sh -c 'kill -9 $$'");
        assert_eq!(w(&["python3", "train.py"]), "python3 train.py");
        assert_eq!(w(&["echo", ""]), "echo ''");
    }
}
