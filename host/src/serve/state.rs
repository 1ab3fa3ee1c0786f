//! What a scrape reads: the fixed facts of the machine, and the last sample's
//! figures with their window extremes, replaced by the sampler thread after
//! every sample. A scrape copies nothing out and reads no file: it renders
//! from here under the lock (microseconds), so the sampler never waits on a
//! client.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use heapless::{String, Vec};
use jetmem_core::accounting::Figures;
use jetmem_core::record::{PROCESS_NAME_LEN, Platform};
use jetmem_core::sampler::SourceStatus;

/// Most processes `--pid` / `--match` expose at once; more are left out (with a warning).
pub const MAX_SERVED_PROCESSES: usize = 64;

/// One watched process as of the last sample.
#[derive(Debug, Clone, Default)]
pub struct ProcessView {
    pub pid: u32,
    /// `comm`.
    pub name: String<PROCESS_NAME_LEN>,
    /// Resident bytes (`statm` resident × page size); unknown when the read failed.
    pub rss: Option<u64>,
    /// Largest resident bytes over the window.
    pub rss_max: Option<u64>,
}

/// The last sample and what the sampler kept across samples.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The last sample's figures (`core::accounting::figures`).
    pub figures: Figures,
    /// Largest system used over the window.
    pub used_max: Option<u64>,
    /// Smallest available over the window.
    pub available_min: Option<u64>,
    /// Largest GPU used over the window.
    pub gpu_used_max: Option<u64>,
    /// Under pressure now (the recorder's hysteresis).
    pub in_pressure: bool,
    /// Times pressure was entered since the start.
    pub pressure_events: u64,
    /// Budget − used (`PressureConfig::headroom`).
    pub headroom: Option<i64>,
    /// PSI memory `some avg10`, hundredths of a percent.
    pub psi_some_avg10_centi: Option<u64>,
    /// Samples taken.
    pub samples: u64,
    /// Ticks skipped because a sample ended past the next deadline.
    pub deadlines_missed: u64,
    /// CPU time of this process (sampler and server), nanoseconds.
    pub cpu_ns: u64,
    /// `--pid` / `--match` processes.
    pub processes: Vec<ProcessView, MAX_SERVED_PROCESSES>,
}

/// Shared by the sampler thread (writer) and the server (readers).
#[derive(Debug)]
pub struct Shared {
    /// The machine (fixed at start).
    pub platform: Platform,
    /// Which sources could be opened, and why not (fixed at start).
    pub sources: std::vec::Vec<SourceStatus>,
    live: Mutex<Live>,
    /// Cleared when the sampler thread ends (even by a panic): the server then
    /// stops rather than serve figures that no longer move.
    sampling: AtomicBool,
}

impl Shared {
    pub fn new(platform: Platform, sources: std::vec::Vec<SourceStatus>, first: Live) -> Self {
        Shared {
            platform,
            sources,
            live: Mutex::new(first),
            sampling: AtomicBool::new(true),
        }
    }

    /// The last sample (a panic elsewhere cannot leave it half-written: it is replaced whole).
    pub fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the sampler thread still runs.
    pub fn sampling(&self) -> bool {
        self.sampling.load(Ordering::Relaxed)
    }

    /// Marks the sampler thread as ended (see [`SamplerRunning`]).
    fn ended(&self) {
        self.sampling.store(false, Ordering::Relaxed);
    }

    /// Replaces the last sample.
    pub fn publish(&self, live: &Live) {
        self.live().clone_from(live);
    }
}

/// Held by the sampler thread: dropping it (return or unwinding) tells the server.
#[derive(Debug)]
pub struct SamplerRunning<'a>(pub &'a Shared);

impl Drop for SamplerRunning<'_> {
    fn drop(&mut self) {
        self.0.ended();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server learns that the sampler thread ended, also when it panicked.
    #[test]
    fn a_sampler_that_ends_or_panics_is_noticed() {
        let shared = Shared::new(Platform::default(), std::vec::Vec::new(), Live::default());
        assert!(shared.sampling());
        let panicked = std::thread::scope(|s| {
            s.spawn(|| {
                let _running = SamplerRunning(&shared);
                assert!(shared.sampling());
                panic!("a sampler bug");
            })
            .join()
            .is_err()
        });
        assert!(panicked);
        assert!(!shared.sampling());
    }
}
