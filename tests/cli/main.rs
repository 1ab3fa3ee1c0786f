//! Integration tests of the `jetmem` binary: one test binary, modules by command.

mod export;
mod info;
mod monitor;
mod record;
mod report;
mod traces;
mod usage;

use std::path::Path;
use std::process::{Command, Output};

/// A `Command` for the built `jetmem`. Under cross-architecture testing there is no
/// binfmt_misc, so `JETMEM_TEST_RUNNER` (e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu`)
/// names the program that runs it.
pub fn jetmem_command() -> Command {
    let bin = env!("CARGO_BIN_EXE_jetmem");
    match std::env::var("JETMEM_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut words = runner.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or("env"));
            c.args(words).arg(bin);
            c
        }
        _ => Command::new(bin),
    }
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
