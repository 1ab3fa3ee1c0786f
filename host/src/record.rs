//! `jetmem record`: run a command (or watch a pid, or the whole system) and write a trace.
//!
//! The child keeps jetmem's stdin, stdout and stderr. SIGINT and SIGTERM sent to
//! jetmem are passed on to the child (a terminal's Ctrl+C already reaches it);
//! the trace is finished cleanly and jetmem exits with the child's code, or
//! 128 + signal when the child was killed.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::analyze::analyze;
use crate::args::RecordArgs;
use crate::config::{Mode, RecordConfig};
use crate::error::CliError;
use crate::launch::{spawn_held, try_wait};
use crate::output::{PendingOutput, commit, create_pending};
use crate::signals;
use crate::style::Style;
use jetmem_core::sampler::{SamplerConfig, Target, Tracer, process_alive};

/// Whole-system recordings without --duration last this long.
const DEFAULT_SYSTEM_DURATION: Duration = Duration::from_secs(10);
/// How often the wait loop looks at the child and the signal flags.
const POLL: Duration = Duration::from_millis(5);

/// Runs `jetmem record`; the exit code is the child's.
pub fn run(a: RecordArgs) -> Result<ExitCode, CliError> {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let RecordConfig {
        mode,
        output,
        force,
        sampler: mut cfg,
        duration,
        report,
    } = RecordConfig::from_args(a, unix)?;
    // The trace goes to a temporary file, renamed into place as soon as the
    // tracer has started (from then on a crash leaves the trace readable up to
    // its last flush); a failed start leaves the old file, and no empty trace.
    let (pending, file) = create_pending(&output, force)?;
    signals::install().map_err(|e| CliError::Sampler(format!("cannot catch signals: {e}")))?;

    let code = match mode {
        Mode::Command(argv) => {
            let program = argv
                .first()
                .ok_or_else(|| CliError::Sampler("no command given".to_owned()))?;
            let spawn_error = |source| CliError::Spawn {
                program: program.clone(),
                source,
            };
            // Held before exec until the tracer runs: a failed start never
            // launches the command (dropping `held` ends the held process).
            let held = find_program(program)
                .and_then(|path| spawn_held(&path, &argv))
                .map_err(spawn_error)?;
            cfg.target = Target::Tree { pid: held.pid() };
            let tracer = start(cfg, file, pending)?;
            let pid = held.release().map_err(spawn_error)?;
            let code = wait_child(pid)?;
            finish(tracer, Some(code), &output)?;
            code
        }
        Mode::Pid(pid) => {
            cfg.target = Target::Tree { pid };
            let root = cfg.root.clone();
            let tracer = start(cfg, file, pending)?;
            let handle = tracer.handle();
            wait_until(duration, || {
                handle.is_running() && !handle.target_exited() && process_alive(&root, pid)
            });
            finish(tracer, None, &output)?;
            0
        }
        Mode::System => {
            cfg.target = Target::System;
            let tracer = start(cfg, file, pending)?;
            wait_until(Some(duration.unwrap_or(DEFAULT_SYSTEM_DURATION)), || true);
            finish(tracer, None, &output)?;
            0
        }
    };
    eprintln!("jetmem: trace written to {}", output.display());
    if report {
        let report = analyze(&output, false)?.report;
        let style = Style::for_stderr();
        eprint!("{}", crate::report::text::render(&report, false, style));
    }
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Starts the tracer on the pending output and, once it runs, renames the
/// output into place. A failed start drops `pending`: the old file stays.
fn start(
    cfg: SamplerConfig,
    file: std::fs::File,
    pending: PendingOutput,
) -> Result<Tracer, CliError> {
    let tracer = Tracer::start(cfg, BufWriter::new(file)).map_err(|e| match e {
        jetmem_core::sampler::SamplerError::Write(source) => CliError::Write {
            path: pending.path().to_path_buf(),
            source,
        },
        other => CliError::Sampler(other.to_string()),
    })?;
    commit(pending)?;
    Ok(tracer)
}

fn finish(tracer: Tracer, exit_code: Option<i32>, output: &Path) -> Result<(), CliError> {
    let report = tracer
        .stop(exit_code)
        .map_err(|e| CliError::Sampler(e.to_string()))?;
    match report.write_error {
        Some(source) => Err(CliError::Write {
            path: output.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

/// Waits for the child, passing SIGINT/SIGTERM sent to jetmem on to it.
/// Checks that `program` names an executable file (directly, or through `PATH`)
/// before spawning it, so a missing program is always a clear error, also where
/// a failed `exec` would only show up as the child's exit code 127 (an emulator).
fn find_program(program: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable =
        |p: &Path| std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    let not_found = || std::io::Error::from_raw_os_error(nix::libc::ENOENT);
    if program.contains('/') {
        return match executable(Path::new(program))? {
            true => Ok(PathBuf::from(program)),
            false => Err(std::io::Error::from_raw_os_error(nix::libc::EACCES)),
        };
    }
    let path = std::env::var_os("PATH").ok_or_else(not_found)?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| executable(p).unwrap_or(false))
        .ok_or_else(not_found)
}

/// Waits for the released command; its exit code, or 128 + the signal that killed it.
fn wait_child(pid: Pid) -> Result<i32, CliError> {
    loop {
        if let Some((sig, from_process)) = signals::take()
            && (from_process || sig == Signal::SIGTERM)
        {
            let _ = kill(pid, sig);
        }
        match try_wait(pid) {
            Ok(Some(code)) => return Ok(code),
            Ok(None) => sleep(POLL),
            Err(source) => {
                return Err(CliError::Spawn {
                    program: format!("pid {pid}"),
                    source,
                });
            }
        }
    }
}

/// Waits until `limit` passes, a signal arrives or `alive` says stop.
fn wait_until(limit: Option<Duration>, mut alive: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        if signals::take().is_some() || !alive() {
            return;
        }
        if limit.is_some_and(|l| start.elapsed() >= l) {
            return;
        }
        sleep(POLL * 4);
    }
}
