//! Telling a forked child's copy of a tracer from the tracer itself.
//!
//! After `fork` the child has a copy of the tracer's memory but none of its
//! threads: its marks would go to a queue nobody drains, and stopping it would
//! wait for threads that do not exist. A `pthread_atfork` child handler bumps
//! a generation counter; a tracer remembers the generation it started in and
//! compares it with one relaxed atomic load (no syscall on the mark path).

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The current fork generation (registers the `pthread_atfork` handler on the first call).
pub fn fork_generation() -> u64 {
    REGISTER.call_once(|| {
        // SAFETY: `in_child` is an `extern "C" fn()` that only touches an
        // atomic, which is async-signal-safe as a fork child handler must be.
        let _ = unsafe { nix::libc::pthread_atfork(None, None, Some(in_child)) };
    });
    GENERATION.load(Ordering::Relaxed)
}

/// Whether this process is a fork of the one where `generation` was taken.
#[inline]
pub fn forked_since(generation: u64) -> bool {
    GENERATION.load(Ordering::Relaxed) != generation
}
