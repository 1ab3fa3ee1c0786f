//! Validated settings: what the command line asks for, checked once (the
//! sampling interval's bounds by [`Interval::new`], in core, as for the FFI).

use std::path::{Path, PathBuf};
use std::time::Duration;

use jetmem_core::sampler::{Interval, SamplerConfig};

use crate::args::RecordArgs;
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
        })
    }
}
