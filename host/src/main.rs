//! `jetmem`: record, watch and report memory on Jetson (unified) and discrete-GPU machines.
//!
//! Arguments ([`args`]) → validated settings ([`config`]) → one-pass analysis ([`analyze`]) → model ([`report::model`])
//! → renderers. Exit codes: 0 ok, 1 error, 2 usage; `record` passes the child's on.

mod analyze;
mod args;
mod config;
mod cuda_hook;
mod error;
mod export;
mod info;
mod logger;
mod monitor;
mod output;
mod plot;
mod record;
mod report;
mod signals;
mod style;
mod trace;
mod units;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::analyze::analyze;
use crate::args::{Cli, Command, ReportArgs, ReportFormat};
use crate::error::CliError;
use crate::output::write_stdout;
use crate::style::Style;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::install(logger::level(
        std::env::var("JETMEM_LOG").ok().as_deref(),
        cli.verbose,
    ));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Each CliError message already names its cause; the chain would repeat it.
            eprintln!("jetmem: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Info(a) => info::run(&a)?,
        Command::Record(a) => return Ok(record::run(a)?),
        Command::Report(mut a) => report_cmd(&mut a)?,
        Command::Monitor(a) => monitor::run(&a)?,
        Command::Export(a) => export::run(&a)?,
        Command::Plot(a) => plot::run(&a)?,
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
    let mut reports = Vec::with_capacity(a.traces.len());
    for path in &a.traces {
        reports.push(analyze(path, false)?.report);
    }
    let style = Style::for_stdout();
    let text = match (a.format, reports.as_slice()) {
        (ReportFormat::Json, rs) => report::json::render(rs),
        (ReportFormat::Csv, rs) => report::csv::render(rs),
        (ReportFormat::Text, [one]) => report::text::render(one, view, style),
        (ReportFormat::Text, rs) => report::comparison_text(rs, view),
        (ReportFormat::Markdown, [one]) => report::markdown::render(one, view),
        (ReportFormat::Markdown, rs) => report::markdown::comparison(rs, view),
    };
    write_stdout(text.as_bytes())
}
