//! The command line, as clap derive types; the doc comments are the help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::parse_duration;

/// Memory tracer for NVIDIA Jetson (unified memory) and discrete-GPU machines.
///
/// On Jetson the GPU's memory is part of system memory: jetmem reports it as a
/// subset, never added on top. Exit codes: 0 ok, 1 error, 2 usage; `record`
/// exits with the traced command's code (128 + signal when it was killed).
#[derive(Debug, Parser)]
#[command(name = "jetmem", version, propagate_version = true)]
pub struct Cli {
    /// Say more on stderr: -v info, -vv debug (warnings are always shown; see also JETMEM_LOG).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the platform (unified / discrete / CPU only, and why) and the current memory.
    Info(InfoArgs),
    /// Run a command (or watch a pid, or the whole system) and record a trace.
    Record(RecordArgs),
    /// Report on one trace, or compare several.
    Report(ReportArgs),
    /// Watch memory live in the terminal.
    Monitor(MonitorArgs),
    /// Export every sample of a trace as CSV, JSON or Perfetto trace-event JSON.
    Export(ExportArgs),
    /// Plot memory over time as SVG.
    Plot(PlotArgs),
    /// Write the man page (roff) to stdout.
    #[command(hide = true)]
    Man,
    /// Write a shell completion script to stdout.
    #[command(hide = true)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Read /proc, /sys and /etc under this directory instead of / (recorded device files).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Print JSON (keys as in docs/report-json.md) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Sampling interval, e.g. 10ms, 0.5s.
    #[arg(short, long, value_name = "DURATION", default_value = "10ms", value_parser = parse_duration)]
    pub interval: Duration,
    /// Trace file to write [default: named after the command and the time].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// A label for this run, shown in reports and comparisons.
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// Read /proc and /sys under this directory instead of /.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Do not print the report when recording ends.
    #[arg(long)]
    pub no_report: bool,
    /// Record a running process and its children instead of starting a command.
    #[arg(long, value_name = "PID", conflicts_with_all = ["system", "command"])]
    pub pid: Option<u32>,
    /// Record the whole system (10 s unless --duration is given).
    #[arg(long, conflicts_with = "command")]
    pub system: bool,
    /// Stop after this long (with --system or --pid), e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Do not probe CUDA (no driver load in the recorder).
    #[arg(long)]
    pub no_cuda: bool,
    /// Count every CUDA allocation of the command and its children, per
    /// process, with the LD_PRELOAD interposer (docs/cuda-hook.md).
    #[arg(long, conflicts_with_all = ["pid", "system"])]
    pub cuda_hook: bool,
    /// The command to run and its arguments (after `--`).
    #[arg(
        value_name = "CMD",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Csv,
    Markdown,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Trace files; several give a comparison table.
    #[arg(required = true, value_name = "TRACE")]
    pub traces: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Add the per-phase summary table (phases come from the traced program's
    /// marks); `--phases all` also lists every occurrence.
    #[arg(long)]
    pub phases: bool,
}

/// How much of the phases a text or Markdown report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseView {
    /// Only how many there are (no `--phases`).
    Count,
    /// One summary row per label (`--phases`).
    Summary,
    /// The summary and every occurrence (`--phases all`).
    All,
}

impl ReportArgs {
    /// The phase view, taking the word `all` (`--phases all`) off the trace
    /// list; with `--phases`, a trace file named `all` is given as `./all`.
    pub fn phase_view(&mut self) -> PhaseView {
        if !self.phases {
            return PhaseView::Count;
        }
        let before = self.traces.len();
        self.traces.retain(|p| p.as_os_str() != "all");
        if self.traces.len() < before {
            PhaseView::All
        } else {
            PhaseView::Summary
        }
    }
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Refresh interval, e.g. 500ms, 1s.
    #[arg(short, long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration)]
    pub interval: Duration,
    /// Also append every reading to this CSV file.
    #[arg(long, value_name = "FILE.csv")]
    pub log: Option<PathBuf>,
    /// Overwrite the log file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Stop after N readings.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Read /proc and /sys under this directory instead of /.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}

/// Output formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
    Perfetto,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The trace file.
    #[arg(value_name = "TRACE")]
    pub trace: PathBuf,
    /// Output format: csv (pandas-ready), json, or perfetto (Chrome / Perfetto trace events).
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Output file [default: stdout].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Trace files; several are drawn on one chart.
    #[arg(required = true, value_name = "TRACE")]
    pub traces: Vec<PathBuf>,
    /// The SVG file to write.
    #[arg(short, long, value_name = "FILE.svg")]
    pub output: PathBuf,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}
