//! How `jetmem record`'s main thread waits: asleep until something happens,
//! never polling. SIGINT, SIGTERM and SIGCHLD are blocked in the recorder's
//! threads ([`Gate::close`], after the command started, which keeps the
//! default mask, and before the tracer's threads start) and let through only
//! while the main thread sleeps in `ppoll` (atomically, so none is lost
//! between a check and the sleep), with the traced pid's pidfd when there is
//! one and a deadline when there is one.
//!
//! As a child subreaper (`PR_SET_CHILD_SUBREAPER`) the recorder adopts the
//! command's orphans (a daemon that double-forked), so the sampler still sees
//! them (see `core/src/sampler/tree.rs`) and the recorder can reap them and
//! wait for them (`--wait-descendants`).

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// Signals that wake the main thread.
fn wake_set() -> SigSet {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGCHLD] {
        set.add(s);
    }
    set
}

extern "C" fn on_child(_: libc::c_int) {}

/// The recorder's signal mask: wake-up signals blocked except while asleep.
pub struct Gate {
    asleep_mask: SigSet,
}

impl Gate {
    /// Blocks the wake-up signals in this thread (threads started later
    /// inherit it) and catches SIGCHLD, so that it interrupts the sleep.
    pub fn close() -> nix::Result<Gate> {
        let action = SigAction::new(
            SigHandler::Handler(on_child),
            SaFlags::SA_NOCLDSTOP | SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: the handler does nothing, which is async-signal-safe.
        unsafe { sigaction(Signal::SIGCHLD, &action) }?;
        let mut old = SigSet::empty();
        nix::sys::signal::pthread_sigmask(
            SigmaskHow::SIG_BLOCK,
            Some(&wake_set()),
            Some(&mut old),
        )?;
        Ok(Gate { asleep_mask: old })
    }

    /// Sleeps until a wake-up signal arrives, one of `fds` becomes readable
    /// (a pidfd: the process ended; the tracer's `ended_fd`) or `deadline`
    /// passes. At most two descriptors are watched.
    pub fn sleep(&self, fds: &[Option<BorrowedFd<'_>>], deadline: Option<Instant>) {
        let mut pfd = [-1, -1].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        for (p, fd) in pfd.iter_mut().zip(fds) {
            p.fd = fd.map_or(-1, |f| f.as_raw_fd());
        }
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            libc::timespec {
                tv_sec: left.as_secs() as libc::time_t,
                tv_nsec: left.subsec_nanos() as libc::c_long,
            }
        });
        let ts = timeout.as_ref().map_or(std::ptr::null(), |t| t as *const _);
        // SAFETY: `pfd` (two entries), `ts` and the mask live across the
        // call; a negative fd is ignored by ppoll.
        unsafe { libc::ppoll(pfd.as_mut_ptr(), 2, ts, self.asleep_mask.as_ref()) };
    }
}

/// Makes this process a child subreaper: orphaned descendants are re-parented to it.
pub fn become_subreaper() -> nix::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes a plain integer argument.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) };
    Errno::result(rc).map(drop)
}

/// A pidfd for `pid` (Linux 5.3+), to sleep until it ends; `None` where unsupported.
pub fn pidfd(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: a non-negative return is a fresh fd owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// What reaping found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    /// The root's status, once it ended: its exit code, or 128 + the signal that killed it.
    pub root: Option<i32>,
    /// Whether other children (adopted descendants) are still running.
    pub others_running: bool,
}

/// Reaps every child that ended (the root and adopted orphans), without blocking.
pub fn reap(root: Pid, mut found: Reaped) -> Reaped {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == root => found.root = Some(code),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == root => {
                found.root = Some(128 + sig as i32);
            }
            Ok(WaitStatus::StillAlive) => {
                found.others_running = found.root.is_some();
                return found;
            }
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => {
                // ECHILD: no child left at all.
                found.others_running = false;
                return found;
            }
        }
    }
}
