//! `jetmem record`: run a command (or watch a pid, or the whole system) and write a trace.
//!
//! The child keeps jetmem's stdin, stdout and stderr. SIGINT and SIGTERM sent to
//! jetmem are passed on to the child (a terminal's Ctrl+C already reaches it);
//! the trace is finished cleanly and jetmem exits with the child's code, or
//! 128 + signal when the child was killed.
//!
//! The main thread sleeps until a signal, the end of a process or a deadline
//! wakes it (`reaper.rs`); recording a command, jetmem is a child subreaper, so
//! descendants that daemonize stay traced, and the record ends when the command
//! exits, or with `--wait-descendants` when its descendants have exited too
//! (without it, a warning says that some were still running).

use std::ffi::OsString;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::analyze::analyze;
use crate::args::RecordArgs;
use crate::config::{Mode, RecordConfig};
use crate::error::CliError;
use crate::launch::spawn_held;
use crate::output::{PendingOutput, commit, create_pending};
use crate::reaper::{Gate, Reaped, become_subreaper, pidfd, reap};
use crate::signals;
use crate::style::Style;
use jetmem_core::channel;
use jetmem_core::sampler::{SamplerConfig, Target, Tracer, process_alive};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

/// Whole-system recordings without --duration last this long.
const DEFAULT_SYSTEM_DURATION: Duration = Duration::from_secs(10);
/// The warning when jetmem cannot become a child subreaper (e.g. under qemu-user).
pub const NO_SUBREAPER: &str = "descendants that daemonize will not be traced (no child subreaper)";
/// Without a pidfd (Linux < 5.3), how often `--pid` looks whether the process is alive.
const ALIVE_CHECK: Duration = Duration::from_millis(100);
/// Without the tracer's `ended_fd` (no eventfd), how often the main thread
/// checks that the tracer still runs (a write error stops it).
const IDLE_CHECK: Duration = Duration::from_secs(1);

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
        wait_descendants,
        cuda_hook,
    } = RecordConfig::from_args(a, unix)?;
    let hook = cuda_hook.then(crate::cuda_hook::library).transpose()?;
    // The trace goes to a temporary file, renamed into place as soon as the
    // tracer has started (from then on a crash leaves the trace readable up to
    // its last flush); a failed start leaves the old file, and no empty trace.
    let (pending, file) = create_pending(&output, force)?;
    signals::install().map_err(|e| CliError::Sampler(format!("cannot catch signals: {e}")))?;

    // The command's pid when --duration passed before it exited.
    let mut still_running = None;
    let code = match mode {
        Mode::Command(argv) => {
            let program = argv
                .first()
                .ok_or_else(|| CliError::Sampler("no command given".to_owned()))?;
            let spawn_error = |source| CliError::Spawn {
                program: program.clone(),
                source,
            };
            // A command that cannot start is the one error, before any warning.
            let path = find_program(program).map_err(spawn_error)?;
            if let Err(e) = become_subreaper() {
                log::warn!("{NO_SUBREAPER}: {e}");
            }
            // The marker channel: created before the child so that it finds
            // its name in JETMEM_CHANNEL; removed when `channel` drops.
            let channel = open_channel();
            let mut env: Vec<(OsString, OsString)> = Vec::new();
            if let Some(ch) = &channel {
                env.push((channel::shm::ENV.into(), ch.name().into()));
                if let Some(lib) = &hook {
                    let old = std::env::var_os("LD_PRELOAD");
                    env.push(("LD_PRELOAD".into(), crate::cuda_hook::preload(lib, old)));
                }
            } else if hook.is_some() {
                log::warn!("--cuda-hook: no marker channel, so the hook is not loaded");
            }
            cfg.channel = channel;
            // Held before exec until the tracer runs: a failed start never
            // launches the command (dropping `held` ends the held process).
            let held = spawn_held(&path, &argv, &env).map_err(spawn_error)?;
            cfg.target = Target::Tree { pid: held.pid() };
            // After the fork (the held child clears its own mask before exec),
            // before the tracer's threads, which inherit the blocked mask.
            let gate = close_gate()?;
            let tracer = start(cfg, file, pending)?;
            let pid = held.release().map_err(spawn_error)?;
            let deadline = duration.map(|d| Instant::now() + d);
            match wait_command(&gate, pid.as_raw() as u32, wait_descendants, deadline) {
                Waited::Ended(reaped) => {
                    let code = reaped.root.unwrap_or(1);
                    finish(tracer, Some(code), &output)?;
                    if reaped.others_running {
                        log::warn!(
                            "descendants of the command were still running when it exited; \
                             they were traced until then (--wait-descendants waits for them)"
                        );
                    }
                    code
                }
                Waited::StillRunning => {
                    // No exit code: the trace's end says the command had not exited.
                    finish(tracer, None, &output)?;
                    still_running = Some(pid.as_raw());
                    0
                }
            }
        }
        Mode::Pid(pid) => {
            cfg.target = Target::Tree { pid };
            let root = cfg.root.clone();
            let gate = close_gate()?;
            let tracer = start(cfg, file, pending)?;
            let handle = tracer.handle();
            let fd = pidfd(pid);
            let ended = handle.ended_fd();
            // Woken by the pidfd and the tracer's end, the main thread never
            // needs to look on a timer.
            let check = match (&fd, ended) {
                (None, _) => Some(ALIVE_CHECK),
                (Some(_), None) => Some(IDLE_CHECK),
                (Some(_), Some(_)) => None,
            };
            let fds = [fd.as_ref().map(|f| f.as_fd()), ended];
            wait_until(&gate, duration, &fds, check, || {
                handle.is_running() && !handle.target_exited() && process_alive(&root, pid)
            });
            finish(tracer, None, &output)?;
            0
        }
        Mode::System => {
            cfg.target = Target::System;
            let gate = close_gate()?;
            let tracer = start(cfg, file, pending)?;
            let handle = tracer.handle();
            let limit = Some(duration.unwrap_or(DEFAULT_SYSTEM_DURATION));
            let ended = handle.ended_fd();
            let check = ended.is_none().then_some(IDLE_CHECK);
            wait_until(&gate, limit, &[ended], check, || handle.is_running());
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
    if let Some(pid) = still_running {
        eprintln!(
            "jetmem: the command (pid {pid}) was still running when --duration ended the \
             recording; it was left running"
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

/// Blocks the wake-up signals in the main thread; the tracer's threads, started
/// next, inherit the mask (and never take a signal meant for the main thread).
fn close_gate() -> Result<Gate, CliError> {
    Gate::close().map_err(|e| CliError::Sampler(format!("cannot block signals: {e}")))
}

/// Starts the tracer on the pending output and, once it runs, renames the
/// output into place. A failed start drops `pending`: the old file stays.
fn start(
    cfg: SamplerConfig,
    file: std::fs::File,
    pending: PendingOutput,
) -> Result<Tracer, CliError> {
    // After the command's fork: the command keeps the limit it was given.
    crate::fd_limit::raise();
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

/// How waiting for a recorded command ended.
enum Waited {
    Ended(Reaped),
    /// `--duration` passed first; the command is left running.
    StillRunning,
}

/// Waits for the command (and with `wait_descendants` for every descendant it
/// left behind), passing SIGINT/SIGTERM sent to jetmem on to it, until
/// `deadline` (`--duration`) at the latest. A signal that arrives after the
/// command ended stops the wait for its descendants.
fn wait_command(
    gate: &Gate,
    pid: u32,
    wait_descendants: bool,
    deadline: Option<Instant>,
) -> Waited {
    let root = Pid::from_raw(pid as i32);
    let mut reaped = Reaped::default();
    loop {
        if let Some((sig, from_process)) = signals::take() {
            if reaped.root.is_some() {
                return Waited::Ended(reaped);
            }
            if from_process || sig == Signal::SIGTERM {
                let _ = kill(root, sig);
            }
        }
        reaped = reap(root, reaped);
        if reaped.root.is_some() && !(wait_descendants && reaped.others_running) {
            return Waited::Ended(reaped);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return match reaped.root {
                // Only descendants were left (--wait-descendants): the command itself exited.
                Some(_) => Waited::Ended(reaped),
                None => Waited::StillRunning,
            };
        }
        gate.sleep(&[], deadline);
    }
}

/// Waits until `limit` passes, a signal arrives, one of `fds` becomes
/// readable (a pidfd: the process ended; the tracer ended), or `alive` says
/// stop (asked after each wake, and every `check` if given).
fn wait_until(
    gate: &Gate,
    limit: Option<Duration>,
    fds: &[Option<BorrowedFd<'_>>],
    check: Option<Duration>,
    mut alive: impl FnMut() -> bool,
) {
    let end = limit.map(|l| Instant::now() + l);
    loop {
        if signals::take().is_some() || !alive() {
            return;
        }
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
            return;
        }
        let next = check.map(|c| now + c);
        let wake = match (end, next) {
            (Some(e), Some(n)) => Some(e.min(n)),
            (e, n) => e.or(n),
        };
        gate.sleep(fds, wake);
    }
}
