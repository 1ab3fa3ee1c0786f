//! Validated settings: what the command line asks for, checked once (the
//! sampling interval's bounds by [`Interval::new`], in core, as for the FFI).

use std::path::{Path, PathBuf};
use std::time::Duration;

use jetmem_core::sampler::{Interval, SamplerConfig};

use crate::args::RecordArgs;
use crate::error::CliError;
use crate::output::default_trace_name;

/// Parses `10ms`, `0.5s`, `2m`, `1h`, `250us`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 10ms, 0.5s, 2m)"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{s}` (use ns, us, ms, s, m, h)"
            ));
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("`{s}` must be longer than zero"));
    }
    Ok(Duration::from_secs_f64(secs))
}

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
        let label = a.label.unwrap_or_else(|| {
            name_from
                .first()
                .map(|p| {
                    Path::new(p)
                        .file_name()
                        .map_or_else(|| p.clone(), |f| f.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| "system".to_owned())
        });
        let sampler = SamplerConfig {
            root: a.root,
            interval: interval.get(),
            label,
            command: name_from.join(" "),
            probe_cuda: !a.no_cuda,
            ..SamplerConfig::default()
        };
        Ok(RecordConfig {
            mode,
            output,
            force: a.force,
            sampler,
            duration: a.duration,
            report: !a.no_report,
            cuda_hook: a.cuda_hook,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("ms").is_err());
    }
}
