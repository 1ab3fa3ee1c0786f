//! SIGINT / SIGTERM caught into flags, so that `record` and `monitor` can finish cleanly.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::libc;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

static RECEIVED: AtomicI32 = AtomicI32::new(0);
static FROM_PROCESS: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO handlers; null is checked.
    let code = unsafe { info.as_ref() }.map_or(0, |i| i.si_code);
    // SI_USER (0) and SI_QUEUE (< 0): sent by kill(); SI_KERNEL (> 0): the terminal's Ctrl+C,
    // which the whole foreground process group (the child included) already got.
    FROM_PROCESS.store(code <= 0, Ordering::SeqCst);
    RECEIVED.store(sig, Ordering::SeqCst);
}

/// Installs the handlers for SIGINT and SIGTERM.
pub fn install() -> nix::Result<()> {
    let action = SigAction::new(
        SigHandler::SigAction(on_signal),
        SaFlags::SA_SIGINFO | SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to atomics, which is async-signal-safe.
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(())
}

/// The signal received since the last call, with whether another process sent it.
pub fn take() -> Option<(Signal, bool)> {
    let sig = RECEIVED.swap(0, Ordering::SeqCst);
    if sig == 0 {
        return None;
    }
    Signal::try_from(sig)
        .ok()
        .map(|s| (s, FROM_PROCESS.load(Ordering::SeqCst)))
}
