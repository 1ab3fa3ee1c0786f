//! The smallest and largest value over a sliding time window (`docs/accounting.md`
//! §9): what `jetmem serve` exposes as `_max` / `_min` so that a peak between two
//! scrapes is still there at the next one.
//!
//! The window is cut into [`WINDOW_BUCKETS`] buckets of equal width; each keeps
//! the extremes of the samples that fell in it, and a query takes the extremes
//! of the buckets still in the window. A value stays visible for at least the
//! whole window and at most one bucket longer (the window ÷ 15): a peak is never
//! dropped early, which is what a scrape every `window` needs. Fixed size, no
//! allocation, O(buckets) per query.

/// How many buckets a window is cut into.
pub const WINDOW_BUCKETS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Bucket {
    /// `t_ns / width` of the samples in it; `None` while empty.
    epoch: Option<u64>,
    min: u64,
    max: u64,
}

/// The extremes of one figure over the last `window` nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowExtent {
    width_ns: u64,
    buckets: [Bucket; WINDOW_BUCKETS],
}

impl WindowExtent {
    /// A window of `window_ns` nanoseconds (at least 15 ns, so each bucket is ≥ 1 ns).
    pub const fn new(window_ns: u64) -> Self {
        let n = (WINDOW_BUCKETS - 1) as u64;
        let w = window_ns.div_ceil(n);
        WindowExtent {
            width_ns: if w == 0 { 1 } else { w },
            buckets: [Bucket {
                epoch: None,
                min: 0,
                max: 0,
            }; WINDOW_BUCKETS],
        }
    }

    /// Takes in `v` seen at `t_ns` (unknown values change nothing). Times must
    /// not go backwards by more than a bucket.
    pub fn push(&mut self, t_ns: u64, v: Option<u64>) {
        let Some(v) = v else { return };
        let epoch = t_ns / self.width_ns;
        let slot = (epoch % WINDOW_BUCKETS as u64) as usize;
        let Some(b) = self.buckets.get_mut(slot) else {
            return;
        };
        if b.epoch == Some(epoch) {
            b.min = b.min.min(v);
            b.max = b.max.max(v);
        } else {
            *b = Bucket {
                epoch: Some(epoch),
                min: v,
                max: v,
            };
        }
    }

    fn live(&self, now_ns: u64) -> impl Iterator<Item = &Bucket> {
        let now = now_ns / self.width_ns;
        let oldest = now.saturating_sub(WINDOW_BUCKETS as u64 - 1);
        self.buckets
            .iter()
            .filter(move |b| b.epoch.is_some_and(|e| e >= oldest && e <= now))
    }

    /// The largest value of the window ending at `now_ns`; unknown when it saw none.
    pub fn max(&self, now_ns: u64) -> Option<u64> {
        self.live(now_ns).map(|b| b.max).max()
    }

    /// The smallest value of the window ending at `now_ns`; unknown when it saw none.
    pub fn min(&self, now_ns: u64) -> Option<u64> {
        self.live(now_ns).map(|b| b.min).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;
    const MS: u64 = 1_000_000;

    /// A 15 s window sampled every 100 ms: a 1.5 s spike is kept for the whole
    /// window after it, and gone once the window (plus one bucket) has passed.
    #[test]
    fn spike_between_scrapes_is_kept_for_the_window() {
        let mut w = WindowExtent::new(15 * S);
        let base = 3_000 * MS;
        let mut t = 0;
        while t <= 60 * S {
            let spike = (20 * S..21 * S + 500 * MS).contains(&t);
            w.push(t, Some(if spike { base + 500 * MS } else { base }));
            if (20 * S..=35 * S).contains(&t) && t >= 20 * S {
                assert_eq!(w.max(t), Some(base + 500 * MS), "at {t}");
            }
            if t >= 21 * S + 500 * MS + 16 * S {
                assert_eq!(w.max(t), Some(base), "at {t}");
            }
            assert_eq!(w.min(t), Some(base), "at {t}");
            t += 100 * MS;
        }
    }

    #[test]
    fn unknown_values_leave_it_unknown_and_minimum_follows_dips() {
        let mut w = WindowExtent::new(15 * S);
        w.push(0, None);
        assert_eq!((w.max(0), w.min(0)), (None, None));
        w.push(S, Some(700));
        w.push(2 * S, Some(300));
        w.push(3 * S, None);
        w.push(4 * S, Some(900));
        assert_eq!((w.min(4 * S), w.max(4 * S)), (Some(300), Some(900)));
        // Nothing pushed for longer than the window: nothing left.
        assert_eq!((w.min(40 * S), w.max(40 * S)), (None, None));
    }

    #[test]
    fn tiny_windows_do_not_divide_by_zero() {
        let mut w = WindowExtent::new(0);
        w.push(5, Some(1));
        assert_eq!(w.max(5), Some(1));
        assert_eq!(w.max(u64::MAX), None);
    }
}
