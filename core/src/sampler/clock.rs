//! Clocks and deadlines of the sampler: `CLOCK_MONOTONIC` for sample times,
//! absolute-deadline sleeps, and per-thread CPU time for the `End` record.

use nix::time::{ClockId, ClockNanosleepFlags, clock_gettime, clock_nanosleep};
use std::sync::atomic::{AtomicBool, Ordering};

/// Nanoseconds on clock `id` (0 if it cannot be read).
fn clock_ns(id: ClockId) -> u64 {
    clock_gettime(id)
        .map(|t| (t.tv_sec() as u64).saturating_mul(1_000_000_000) + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Nanoseconds on `CLOCK_MONOTONIC`.
pub(crate) fn mono_ns() -> u64 {
    clock_ns(ClockId::CLOCK_MONOTONIC)
}

/// CPU time the calling thread has used, in nanoseconds.
pub(super) fn thread_cpu_ns() -> u64 {
    clock_ns(ClockId::CLOCK_THREAD_CPUTIME_ID)
}

/// Sleeps until `deadline_ns` on the monotonic clock, waking at least every
/// 50 ms to notice `stop`.
pub(super) fn sleep_until(deadline_ns: u64, stop: &AtomicBool) {
    loop {
        let now = mono_ns();
        if now >= deadline_ns || stop.load(Ordering::Relaxed) {
            return;
        }
        let wake = deadline_ns.min(now + 50_000_000);
        let ts =
            nix::sys::time::TimeSpec::new((wake / 1_000_000_000) as _, (wake % 1_000_000_000) as _);
        let _ = clock_nanosleep(
            ClockId::CLOCK_MONOTONIC,
            ClockNanosleepFlags::TIMER_ABSTIME,
            &ts,
        );
    }
}
