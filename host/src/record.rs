//! `jetmem record`: run a command (or watch a pid, or the whole system) and write a trace.
//!
//! The child keeps jetmem's stdin, stdout and stderr. SIGINT and SIGTERM sent to
//! jetmem are passed on to the child (a terminal's Ctrl+C already reaches it);
//! the trace is finished cleanly and jetmem exits with the child's code, or
//! 128 + signal when the child was killed.

use std::io::BufWriter;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::analyze::analyze;
use crate::args::RecordArgs;
use crate::config::{Mode, RecordConfig};
use crate::error::CliError;
use crate::output::create_output;
use crate::signals;
use crate::style::Style;
use jetmem_core::channel;
use jetmem_core::sampler::{SamplerConfig, Target, Tracer, process_alive};
use std::sync::Arc;

/// Whole-system recordings without --duration last this long.
const DEFAULT_SYSTEM_DURATION: Duration = Duration::from_secs(10);
/// How often the wait loop looks at the child and the signal flags.
const POLL: Duration = Duration::from_millis(5);

/// The exit code of a child's status: its code, or 128 + the signal that killed it.
pub fn status_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    }
}

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
        cuda_hook,
    } = RecordConfig::from_args(a, unix)?;
    let hook = cuda_hook.then(crate::cuda_hook::library).transpose()?;
    let file = create_output(&output, force)?;
    signals::install().map_err(|e| CliError::Sampler(format!("cannot catch signals: {e}")))?;

    let code = match mode {
        Mode::Command(argv) => {
            let (program, rest) = argv
                .split_first()
                .ok_or_else(|| CliError::Sampler("no command given".to_owned()))?;
            // The marker channel: created before the child so that it finds
            // its name in JETMEM_CHANNEL; removed when `channel` drops.
            let channel = open_channel();
            let mut command = Command::new(program);
            command.args(rest);
            if let Some(ch) = &channel {
                command.env(channel::shm::ENV, ch.name());
                if let Some(lib) = &hook {
                    let old = std::env::var_os("LD_PRELOAD");
                    command.env("LD_PRELOAD", crate::cuda_hook::preload(lib, old));
                }
            } else if hook.is_some() {
                log::warn!("--cuda-hook: no marker channel, so the hook is not loaded");
            }
            cfg.channel = channel;
            let mut child = find_program(program)
                .and_then(|()| command.spawn())
                .map_err(|source| {
                    // Leave no empty trace behind.
                    let _ = std::fs::remove_file(&output);
                    CliError::Spawn {
                        program: program.clone(),
                        source,
                    }
                })?;
            cfg.target = Target::Tree { pid: child.id() };
            let tracer = match Tracer::start(cfg, BufWriter::new(file)) {
                Ok(t) => t,
                Err(e) => {
                    // Do not leave the child running without its recorder.
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = std::fs::remove_file(&output);
                    return Err(CliError::Sampler(e.to_string()));
                }
            };
            let status = wait_child(&mut child)?;
            let code = status_code(status);
            finish(tracer, Some(code), &output)?;
            code
        }
        Mode::Pid(pid) => {
            cfg.target = Target::Tree { pid };
            let root = cfg.root.clone();
            let tracer = start(cfg, file, &output)?;
            let handle = tracer.handle();
            wait_until(duration, || {
                handle.is_running() && !handle.target_exited() && process_alive(&root, pid)
            });
            finish(tracer, None, &output)?;
            0
        }
        Mode::System => {
            cfg.target = Target::System;
            let tracer = start(cfg, file, &output)?;
            wait_until(Some(duration.unwrap_or(DEFAULT_SYSTEM_DURATION)), || true);
            finish(tracer, None, &output)?;
            0
        }
    };
    eprintln!("jetmem: trace written to {}", output.display());
    if report {
        let report = analyze(&output, false)?.report;
        let style = Style::for_stderr();
        eprint!(
            "{}",
            crate::report::text::render(&report, crate::args::PhaseView::Count, style)
        );
    }
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// The marker channel for a recorded command, after removing stale ones; a
/// failure is a warning (the command runs, its marks go nowhere).
fn open_channel() -> Option<Arc<channel::shm::Owned>> {
    match channel::shm::Owned::create() {
        Ok(c) => Some(Arc::new(c)),
        Err(e) => {
            log::warn!("{e}; marks of the traced program are not recorded");
            None
        }
    }
}

fn start(cfg: SamplerConfig, file: std::fs::File, output: &Path) -> Result<Tracer, CliError> {
    Tracer::start(cfg, BufWriter::new(file)).map_err(|e| {
        let _ = std::fs::remove_file(output);
        CliError::Sampler(e.to_string())
    })
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
fn find_program(program: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let executable =
        |p: &Path| std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    let not_found = || std::io::Error::from_raw_os_error(nix::libc::ENOENT);
    if program.contains('/') {
        return match executable(Path::new(program))? {
            true => Ok(()),
            false => Err(std::io::Error::from_raw_os_error(nix::libc::EACCES)),
        };
    }
    let path = std::env::var_os("PATH").ok_or_else(not_found)?;
    std::env::split_paths(&path)
        .any(|dir| executable(&dir.join(program)).unwrap_or(false))
        .then_some(())
        .ok_or_else(not_found)
}

fn wait_child(child: &mut Child) -> Result<ExitStatus, CliError> {
    let pid = Pid::from_raw(child.id() as i32);
    loop {
        if let Some((sig, from_process)) = signals::take()
            && (from_process || sig == Signal::SIGTERM)
        {
            let _ = kill(pid, sig);
        }
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
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
