//! The tracer's own cadence, from the samples' times alone: how many deadlines
//! passed without a sample, and the stalls (a stopped or starved recorder).
//!
//! A sample is due every `interval` at `k × interval` from the trace start;
//! the sampler reads it at or after its deadline and skips deadlines it missed
//! rather than bursting to catch up (`sampler/sample_loop.rs`). So a sample at
//! `t` belongs to deadline `⌊t / interval⌋` (while it is less than an interval
//! late), and between samples of deadlines `a` and `b`, `b − a − 1` deadlines
//! got no sample (and before the first sample's deadline `a`, `a` of them). (Rounding `dt / interval` instead would count a late sample
//! followed by an on-time one as a miss.) A step longer than
//! [`GAP_INTERVALS`] intervals is also a [`Gap`].
//! The first [`MAX_GAPS`] gaps are kept, the rest counted. No allocation.

/// A step between samples longer than this many intervals is a gap.
pub const GAP_INTERVALS: u64 = 5;
/// Gaps kept with their times; more are counted in [`Cadence::gaps_overflowed`].
pub const MAX_GAPS: usize = 32;

/// A stall: no sample for `length_ns` after the sample at `t_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gap {
    /// The last sample before the stall (ns since the trace start).
    pub t_ns: u64,
    /// Time to the next sample (ns).
    pub length_ns: u64,
}

/// Counts samples and the deadlines between them that got none.
#[derive(Debug, Clone)]
pub struct Cadence {
    interval_ns: u64,
    last_ns: Option<u64>,
    samples: u64,
    missed: u64,
    gaps: [Gap; MAX_GAPS],
    gaps_len: usize,
    gaps_overflowed: u64,
}

impl Cadence {
    /// No sample yet, one due every `interval_ns` (0: unknown, nothing is counted missed).
    pub const fn new(interval_ns: u64) -> Self {
        Cadence {
            interval_ns,
            last_ns: None,
            samples: 0,
            missed: 0,
            gaps: [Gap {
                t_ns: 0,
                length_ns: 0,
            }; MAX_GAPS],
            gaps_len: 0,
            gaps_overflowed: 0,
        }
    }

    /// Takes the next sample's time (samples come in time order).
    pub fn sample(&mut self, t_ns: u64) {
        self.samples += 1;
        let Some(last) = self.last_ns else {
            // The deadlines from the trace's start to the first sample's got none.
            let before = t_ns.checked_div(self.interval_ns).unwrap_or(0);
            self.missed = self.missed.saturating_add(before);
            self.last_ns = Some(t_ns);
            return;
        };
        let i = self.interval_ns;
        let dt = t_ns.saturating_sub(last);
        if let (Some(a), Some(b)) = (last.checked_div(i), t_ns.checked_div(i)) {
            let between = b.saturating_sub(a).saturating_sub(1);
            self.missed = self.missed.saturating_add(between);
            if dt > i.saturating_mul(GAP_INTERVALS) {
                self.gap(Gap {
                    t_ns: last,
                    length_ns: dt,
                });
            }
        }
        self.last_ns = Some(last.max(t_ns));
    }

    fn gap(&mut self, g: Gap) {
        match self.gaps.get_mut(self.gaps_len) {
            Some(slot) => {
                *slot = g;
                self.gaps_len += 1;
            }
            None => self.gaps_overflowed += 1,
        }
    }

    /// Samples seen.
    pub const fn samples(&self) -> u64 {
        self.samples
    }

    /// Deadlines that passed without a sample in the trace.
    pub const fn missed(&self) -> u64 {
        self.missed
    }

    /// Samples that were due: those seen plus the deadlines without one.
    pub const fn scheduled(&self) -> u64 {
        self.samples.saturating_add(self.missed)
    }

    /// The first [`MAX_GAPS`] stalls, in time order.
    pub fn gaps(&self) -> &[Gap] {
        self.gaps.get(..self.gaps_len).unwrap_or(&[])
    }

    /// Stalls beyond the first [`MAX_GAPS`].
    pub const fn gaps_overflowed(&self) -> u64 {
        self.gaps_overflowed
    }
}

/// Percent of one core: `cpu_ns` of CPU time over `wall_ns` (unknown for an empty trace).
pub fn cpu_percent(cpu_ns: u64, wall_ns: u64) -> Option<f64> {
    (wall_ns > 0).then(|| cpu_ns as f64 * 100.0 / wall_ns as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn steady_samples_miss_nothing() {
        let mut c = Cadence::new(10 * MS);
        // Up to 4 ms late each, never a step of 1.5 intervals.
        for k in 0..100u64 {
            c.sample(k * 10 * MS + (k % 5) * MS);
        }
        assert_eq!((c.samples(), c.missed(), c.scheduled()), (100, 0, 100));
        assert!(c.gaps().is_empty());
    }

    #[test]
    fn deadlines_before_a_late_first_sample_are_missed() {
        let mut c = Cadence::new(10 * MS);
        c.sample(35 * MS);
        c.sample(40 * MS);
        assert_eq!((c.missed(), c.scheduled()), (3, 5));
    }

    #[test]
    fn a_late_sample_is_not_a_miss() {
        let mut c = Cadence::new(10 * MS);
        // 6 ms late, then on time: steps of 16 and 4 ms, no deadline without a sample.
        for t in [0, 16, 20, 36, 40] {
            c.sample(t * MS);
        }
        assert_eq!((c.missed(), c.scheduled()), (0, 5));
    }

    #[test]
    fn skipped_deadlines_and_a_stall() {
        let mut c = Cadence::new(10 * MS);
        for t in [0, 10, 30, 40, 2_040, 2_050] {
            c.sample(t * MS);
        }
        // 10 → 30 skips one deadline; 40 → 2040 skips 199 and is a gap.
        assert_eq!(c.missed(), 1 + 199);
        assert_eq!(c.scheduled(), 6 + 200);
        assert_eq!(
            c.gaps(),
            &[Gap {
                t_ns: 40 * MS,
                length_ns: 2_000 * MS
            }]
        );
    }

    #[test]
    fn gaps_beyond_the_table_are_counted() {
        let mut c = Cadence::new(MS);
        for k in 0..(MAX_GAPS as u64 + 3) {
            c.sample(k * 10 * MS);
        }
        assert_eq!(c.gaps().len(), MAX_GAPS);
        assert_eq!(c.gaps_overflowed(), 2);
        assert_eq!(c.missed(), (MAX_GAPS as u64 + 2) * 9);
    }

    #[test]
    fn cpu_percent_of_a_core() {
        assert_eq!(cpu_percent(90 * MS, 10_000 * MS), Some(0.9));
        assert_eq!(cpu_percent(1, 0), None);
    }

    #[test]
    fn unknown_interval_counts_samples_only() {
        let mut c = Cadence::new(0);
        c.sample(0);
        c.sample(u64::MAX);
        assert_eq!((c.samples(), c.missed(), c.gaps().len()), (2, 0, 0));
    }
}
