//! Integration tests of the `jetmem` binary: one test binary, modules by command.

mod channel;
mod export;
mod hostile;
mod import;
mod info;
mod monitor;
mod nvml;
mod plot;
mod record;
mod recorder_self;
mod report;
mod report_html;
mod serve;
mod traces;
mod usage;

use std::path::Path;
use std::process::{Command, Output};

#[path = "../support/runner.rs"]
mod runner;
#[path = "../support/thread_sleeps.rs"]
mod thread_sleeps;

/// A `Command` for the built `jetmem` (through `JETMEM_TEST_RUNNER` when set).
pub fn jetmem_command() -> Command {
    runner::command(Path::new(env!("CARGO_BIN_EXE_jetmem")))
}

/// Runs the built `jetmem` with `args`, colour off.
pub fn jetmem<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    jetmem_command()
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Stdout of a run that must succeed.
pub fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "jetmem failed: {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `report --format json` of one trace, parsed.
pub fn report_json(path: &Path) -> serde_json::Value {
    let out = jetmem([
        "report".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    serde_json::from_str(&ok_stdout(&out)).unwrap()
}
