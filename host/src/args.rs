//! The command line, as clap derive types; the doc comments are the help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::budget::{Budget, parse_budget};
use crate::duration::{parse_count, parse_interval, parse_monitor_interval, parse_run_duration};

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
    /// Print sizes in this unit (mb, gb: decimal, as MB-based tools do);
    /// default: binary MiB/GiB by size, one unit per table column.
    #[arg(long, global = true, value_enum, value_name = "UNIT")]
    pub units: Option<crate::units::Units>,
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
    /// Turn another tool's output into a jetmem trace.
    Import(ImportArgs),
    /// Serve live figures to Prometheus (/metrics), keeping each peak between scrapes.
    Serve(ServeArgs),
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
    #[arg(short, long, value_name = "DURATION", default_value = "10ms", value_parser = parse_interval)]
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
    /// Stop after this long, e.g. 30s; a command still running then is left running
    /// (the report says so).
    #[arg(long, value_name = "DURATION", value_parser = parse_run_duration)]
    pub duration: Option<Duration>,
    /// Memory budget: a size (6GiB, 6000MB) or a percent of MemTotal (75%);
    /// default 80 % of MemTotal. Headroom and budget events are measured against it.
    #[arg(long, value_name = "SIZE|PERCENT", value_parser = parse_budget)]
    pub budget: Option<Budget>,
    /// Do not probe CUDA or NVML (no driver load in the recorder).
    #[arg(long)]
    pub no_cuda: bool,
    /// Keep recording after the command exits until its descendants (daemons it started) exit too.
    #[arg(long, conflicts_with_all = ["system", "pid"])]
    pub wait_descendants: bool,
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
    /// One self-contained page: tables and interactive timelines (docs/report-html.md).
    Html,
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
    /// With several traces, the one the others are compared against (default:
    /// the first); a trace not in the list is added first.
    #[arg(long, value_name = "TRACE")]
    pub baseline: Option<PathBuf>,
    /// Write the report to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
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
    /// The baseline's index in `traces`, adding `--baseline` first when it is
    /// not one of them.
    pub fn baseline_index(&mut self) -> usize {
        let Some(b) = self.baseline.clone() else {
            return 0;
        };
        match self.traces.iter().position(|t| *t == b) {
            Some(i) => i,
            None => {
                self.traces.insert(0, b);
                0
            }
        }
    }

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
    #[arg(short, long, value_name = "DURATION", default_value = "500ms", value_parser = parse_monitor_interval)]
    pub interval: Duration,
    /// Also write every reading to this CSV file (columns: docs/cli.md); appends when the file
    /// exists with the same header, refuses a different one.
    #[arg(long, value_name = "FILE.csv")]
    pub log: Option<PathBuf>,
    /// Truncate the log file if it exists instead of appending to it.
    #[arg(long)]
    pub force: bool,
    /// Stop after N readings.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub count: Option<u64>,
    /// Read /proc and /sys under this directory instead of /.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Also show this process tree's RSS (repeatable: one column per PID).
    #[arg(long = "pid", value_name = "PID", conflicts_with = "command")]
    pub pids: Vec<u32>,
    /// Run this command and show its process tree's RSS until it exits (after `--`).
    #[arg(
        value_name = "CMD",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
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
    /// The file to write: SVG when it ends in .svg, PNG when it ends in .png.
    #[arg(short, long, value_name = "FILE.svg|FILE.png")]
    pub output: PathBuf,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Draw from this time into the run (10s, 2m) [default: its start].
    #[arg(long, value_name = "DURATION", value_parser = parse_offset)]
    pub from: Option<Duration>,
    /// Draw up to this time into the run [default: its end].
    #[arg(long, value_name = "DURATION", value_parser = parse_offset)]
    pub to: Option<Duration>,
    /// Budget line: a size (6GiB) or a percent of MemTotal (75%)
    /// [default: the report's budget, 80 % of MemTotal unless the trace set one].
    #[arg(long, value_name = "SIZE|PERCENT", value_parser = parse_budget)]
    pub budget: Option<Budget>,
}

/// A time into the run for `plot --from/--to`: zero up to a year.
fn parse_offset(s: &str) -> Result<Duration, String> {
    crate::duration::parse_duration_in(s, Duration::ZERO, Duration::from_secs(366 * 86_400))
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// tegrastats output (`tegrastats --logfile`), L4T R28 to JetPack 7, with or without timestamps.
    Tegrastats(TegrastatsArgs),
}

#[derive(Debug, Args)]
pub struct TegrastatsArgs {
    /// tegrastats log files, read in this order as one run.
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// Trace file to write [default: the first LOG with the extension .jetmem].
    #[arg(short, long, value_name = "TRACE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Spacing of lines that carry no timestamp (tegrastats --interval; its default is 1 s).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
    /// A label for this run, shown in reports and comparisons [default: the first LOG's name].
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// Wall-clock time of the first line: RFC 3339 (2025-04-11T10:36:27+02:00), or
    /// "YYYY-MM-DD HH:MM:SS" read as UTC [default: the first line's own timestamp, as UTC].
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// The board's MemTotal (tegrastats rounds its total to MiB), e.g. 4059240kB, 7620MiB, 8GiB;
    /// kB/MB/GB are KiB/MiB/GiB as in /proc/meminfo and tegrastats.
    #[arg(long, value_name = "SIZE")]
    pub mem_total: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; give 0.0.0.0:PORT (or [::]:PORT) to serve other machines.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9101")]
    pub listen: std::net::SocketAddr,
    /// Sampling interval, e.g. 100ms (independent of the scrape interval).
    #[arg(short, long, value_name = "DURATION", default_value = "100ms", value_parser = parse_interval)]
    pub interval: Duration,
    /// The `_max` / `_min` metrics cover at least this much time back (set it to the scrape interval or more).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_interval)]
    pub window: Duration,
    /// Also expose this process's resident memory (repeatable).
    #[arg(long, value_name = "PID", conflicts_with = "match_name")]
    pub pid: Vec<u32>,
    /// Also expose the resident memory of every process whose name (comm) is NAME.
    #[arg(long = "match", value_name = "NAME")]
    pub match_name: Option<String>,
    /// Read /proc, /sys and /etc under this directory instead of / (recorded device files).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}
