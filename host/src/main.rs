//! `jetmem`: record, watch and report memory on Jetson (unified) and discrete-GPU machines.
//!
//! Arguments ([`args`]) → validated settings ([`config`]) → one-pass analysis ([`analyze`]) → model ([`report::model`])
//! → renderers. Exit codes: 0 ok, 1 error, 2 usage; `record` passes the child's on.

mod analyze;
mod args;
mod budget;
mod config;
mod cuda_hook;
mod downsample;
mod duration;
mod error;
mod escape;
mod export;
mod fd_limit;
mod import;
mod info;
mod launch;
mod logger;
mod monitor;
mod output;
mod plot;
mod reaper;
mod record;
mod report;
mod serve;
mod signals;
mod sink;
mod style;
mod trace;
mod units;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::analyze::analyze;
use crate::args::{Cli, Command, ReportArgs, ReportFormat};
use crate::error::CliError;
use crate::output::{write_output, write_stdout};
use crate::style::Style;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One prefix for every error: `jetmem: error: …`, as warnings are `jetmem: warning: …`.
            eprint!("jetmem: {}", e.render());
            return ExitCode::from(2);
        }
    };
    if let Some(u) = cli.units {
        units::choose(u);
    }
    logger::install(logger::level(
        std::env::var("JETMEM_LOG").ok().as_deref(),
        cli.verbose,
    ));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Each CliError message already names its cause; the chain would repeat it.
            eprintln!("jetmem: error: {e}");
            ExitCode::from(e.downcast_ref::<CliError>().map_or(1, CliError::exit_code))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Info(a) => info::run(&a)?,
        Command::Record(a) => return Ok(record::run(a)?),
        Command::Report(mut a) => report_cmd(&mut a)?,
        Command::Monitor(a) => monitor::run(&config::MonitorConfig::from_args(a)?)?,
        Command::Export(a) => export::run(&a)?,
        Command::Plot(a) => plot::run(&a)?,
        Command::Import(a) => import::run(a)?,
        Command::Serve(a) => serve::run(&a)?,
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            write_stdout(&out)?;
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "jetmem", &mut out);
            write_stdout(&out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report_cmd(a: &mut ReportArgs) -> Result<(), CliError> {
    let view = a.phase_view();
    let baseline = a.baseline_index();
    // The HTML timelines need every point; the other formats only the report.
    let keep_points = a.format == ReportFormat::Html;
    let mut analyses = Vec::with_capacity(a.traces.len());
    for path in &a.traces {
        analyses.push(analyze(path, keep_points)?);
    }
    let reports: Vec<_> = analyses.iter().map(|x| x.report.clone()).collect();
    let style = Style::for_stdout();
    let text = match (a.format, reports.as_slice()) {
        (ReportFormat::Html, _) => report::html::render(&analyses, baseline),
        (ReportFormat::Json, rs) => report::json::render(rs),
        (ReportFormat::Csv, rs) => report::csv::render(rs),
        (ReportFormat::Text, [one]) => report::text::render(one, view, style),
        (ReportFormat::Text, rs) => report::comparison_text(rs, view, baseline),
        (ReportFormat::Markdown, [one]) => report::markdown::render(one, view),
        (ReportFormat::Markdown, rs) => report::markdown::comparison(rs, view, baseline),
    };
    write_output(a.output.as_deref(), a.force, text.as_bytes())
}
