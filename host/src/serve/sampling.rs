//! The sampler thread of `jetmem serve`: reads the machine at absolute
//! deadlines with the live sampler, derives every figure with
//! `core::accounting` (figures, pressure with hysteresis, headroom) and keeps
//! the window extremes, then publishes the result for the next scrape.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jetmem_core::accounting::{PressureConfig, PressureTracker, WindowExtent, figures};
use jetmem_core::record::{Counter, EventKind, Platform};
use jetmem_core::sampler::LiveSampler;
use nix::time::{ClockId, clock_gettime};

use super::procs::Processes;
use super::state::{Live, SamplerRunning, Shared};

/// How often `--match` looks for new processes.
const RESCAN: Duration = Duration::from_secs(1);

/// The window extremes of the system figures.
#[derive(Debug)]
struct Windows {
    used: WindowExtent,
    available: WindowExtent,
    gpu_used: WindowExtent,
}

/// Everything the sampler keeps between samples.
#[derive(Debug)]
pub struct Sampling {
    live: LiveSampler,
    platform: Platform,
    processes: Processes,
    pressure: PressureTracker,
    windows: Windows,
    state: Live,
    start: Instant,
    last_rescan: Instant,
}

impl Sampling {
    pub fn new(live: LiveSampler, processes: Processes, window: Duration) -> Self {
        let w = window.as_nanos() as u64;
        let now = Instant::now();
        Sampling {
            platform: live.platform().clone(),
            live,
            processes,
            pressure: PressureTracker::new(PressureConfig::default()),
            windows: Windows {
                used: WindowExtent::new(w),
                available: WindowExtent::new(w),
                gpu_used: WindowExtent::new(w),
            },
            state: Live::default(),
            start: now,
            last_rescan: now,
        }
    }

    /// The machine and its sources' states (fixed from the start).
    pub fn machine(&self) -> (Platform, Vec<jetmem_core::sampler::SourceStatus>) {
        (self.platform.clone(), self.live.sources().to_vec())
    }

    /// Takes one sample and folds it into the state; returns it.
    pub fn step(&mut self) -> &Live {
        let s = self.live.sample();
        let t = self.start.elapsed().as_nanos() as u64;
        let f = figures(&self.platform, &s.counters);
        let w = &mut self.windows;
        w.used.push(t, f.used);
        w.available.push(t, f.available);
        w.gpu_used.push(t, f.gpu_used);
        if self.last_rescan.elapsed() >= RESCAN {
            self.processes.rescan();
            self.last_rescan = Instant::now();
        }
        self.processes.sample(t);
        let st = &mut self.state;
        if self
            .pressure
            .update(t, &f)
            .is_some_and(|e| e.kind == EventKind::PressureEntered)
        {
            st.pressure_events += 1;
        }
        st.figures = f;
        st.used_max = w.used.max(t);
        st.available_min = w.available.min(t);
        st.gpu_used_max = w.gpu_used.max(t);
        st.in_pressure = self.pressure.in_pressure();
        st.headroom = self.pressure.config().headroom(&f);
        st.psi_some_avg10_centi = s.counters.get(Counter::PsiSomeAvg10);
        st.samples += 1;
        st.cpu_ns = clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID)
            .map(|ts| ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
            .unwrap_or(st.cpu_ns);
        self.processes.views(t, &mut st.processes);
        &self.state
    }

    /// Samples every `interval` at absolute deadlines until `stop`; a sample that
    /// ends past the next deadline skips the ticks it missed and counts them.
    pub fn run(mut self, interval: Duration, shared: &Shared, stop: &AtomicBool) {
        let _running = SamplerRunning(shared);
        let step_ns = interval.as_nanos().max(1);
        let mut tick: u128 = 0;
        while !stop.load(Ordering::Relaxed) {
            let st = self.step();
            shared.publish(st);
            tick += 1;
            let now = self.start.elapsed().as_nanos();
            let due = tick * step_ns;
            if now > due {
                let missed = (now - due) / step_ns + 1;
                self.state.deadlines_missed += missed as u64;
                tick += missed;
            }
            let wait = (tick * step_ns).saturating_sub(self.start.elapsed().as_nanos());
            std::thread::sleep(Duration::from_nanos(wait as u64));
        }
    }
}
