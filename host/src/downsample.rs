//! A series kept in bounded memory whatever the trace's length: the minimum and
//! the maximum of each time bucket, so every peak (and every trough) survives.
//!
//! Buckets start one nanosecond wide, so a short series keeps every point. When
//! more than `2 × target` buckets exist, the bucket width grows to the next power
//! of two at or above `span / target` and neighbouring buckets merge: memory
//! stays under `2 × target` buckets, and a long series keeps between
//! `target / 2` and `2 × target` of them. Each bucket holds exactly the points
//! of its time range `[k × width, (k + 1) × width)`. Used by `plot` (one bucket per pixel
//! column) and by `export --format perfetto` (counter tracks above a limit).

/// One point of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pt {
    pub t_ns: u64,
    pub v: u64,
}

/// The lowest and highest point of one bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    min: Pt,
    max: Pt,
}

impl Bucket {
    fn first(&self) -> u64 {
        self.min.t_ns.min(self.max.t_ns)
    }

    fn absorb(&mut self, p: Pt) {
        if p.v < self.min.v {
            self.min = p;
        }
        if p.v > self.max.v {
            self.max = p;
        }
    }
}

/// Min/max buckets of one series.
#[derive(Debug, Clone)]
pub struct MinMax {
    target: usize,
    width_ns: u64,
    buckets: Vec<Bucket>,
    points_in: u64,
}

impl MinMax {
    /// Keeps at most `2 × target` buckets (`target` at least 1).
    pub fn new(target: usize) -> Self {
        MinMax {
            target: target.max(1),
            width_ns: 1,
            buckets: Vec::new(),
            points_in: 0,
        }
    }

    /// Adds a point; points come in time order.
    pub fn push(&mut self, t_ns: u64, v: u64) {
        self.points_in += 1;
        let p = Pt { t_ns, v };
        let w = self.width_ns;
        match self.buckets.last_mut() {
            Some(b) if b.first() / w == t_ns / w => b.absorb(p),
            _ => {
                self.buckets.push(Bucket { min: p, max: p });
                if self.buckets.len() > 2 * self.target {
                    self.widen();
                }
            }
        }
    }

    /// Widens the buckets and merges those that now share one.
    fn widen(&mut self) {
        let (Some(first), Some(last)) = (self.buckets.first(), self.buckets.last()) else {
            return;
        };
        let span = last.first().saturating_sub(first.first());
        let want = (span / self.target as u64).max(1);
        self.width_ns = want
            .checked_next_power_of_two()
            .unwrap_or(1 << 63)
            .max(self.width_ns.saturating_mul(2));
        let w = self.width_ns;
        let mut merged: Vec<Bucket> = Vec::with_capacity(2 * self.target + 1);
        for b in self.buckets.drain(..) {
            match merged.last_mut() {
                Some(m) if m.first() / w == b.first() / w => {
                    m.absorb(b.min);
                    m.absorb(b.max);
                }
                _ => merged.push(b),
            }
        }
        self.buckets = merged;
    }

    /// Whether every point added is still there (no bucket holds two).
    pub fn is_exact(&self) -> bool {
        self.points_in == self.buckets.len() as u64
    }

    /// The width of a bucket (1 ns while nothing was merged).
    pub fn width_ns(&self) -> u64 {
        self.width_ns
    }

    /// The kept points in time order: each bucket's minimum and maximum (one point when they coincide).
    pub fn points(&self) -> impl Iterator<Item = Pt> + '_ {
        self.buckets.iter().flat_map(|b| {
            let (a, z) = if b.min.t_ns <= b.max.t_ns {
                (b.min, b.max)
            } else {
                (b.max, b.min)
            };
            std::iter::once(a).chain((a != z).then_some(z))
        })
    }

    /// The highest value kept (the series' maximum).
    #[cfg(test)]
    pub fn max(&self) -> Option<u64> {
        self.buckets.iter().map(|b| b.max.v).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_keep_every_point() {
        let mut s = MinMax::new(100);
        for k in 0..150u64 {
            s.push(k * 10_000_000, k % 7);
        }
        assert!(s.is_exact());
        let pts: Vec<Pt> = s.points().collect();
        assert_eq!(pts.len(), 150);
        assert_eq!(
            pts[3],
            Pt {
                t_ns: 30_000_000,
                v: 3
            }
        );
    }

    #[test]
    fn long_series_are_bounded_and_keep_every_peak() {
        let target = 1000;
        let mut s = MinMax::new(target);
        let n = 1_000_000u64;
        // A slow wave with one-sample spikes up and down.
        let value = |k: u64| {
            if k == 123_457 {
                10_000
            } else if k == 765_431 {
                0
            } else {
                100 + (k / 1000) % 50
            }
        };
        for k in 0..n {
            s.push(k * 10_000_000, value(k));
        }
        assert!(!s.is_exact());
        assert_eq!(s.points_in, n);
        let pts: Vec<Pt> = s.points().collect();
        assert!(pts.len() <= 4 * target, "{}", pts.len());
        assert!(pts.len() >= target, "{}", pts.len());
        assert!(pts.windows(2).all(|w| w[0].t_ns < w[1].t_ns));
        assert!(pts.contains(&Pt {
            t_ns: 123_457 * 10_000_000,
            v: 10_000
        }));
        assert!(pts.contains(&Pt {
            t_ns: 765_431 * 10_000_000,
            v: 0
        }));
        assert_eq!(s.max(), Some(10_000));
        // Each bucket's minimum and maximum are the true ones of its time range.
        let w = s.width_ns();
        for p in &pts {
            let first = p.t_ns / w * w;
            let ks = (first.div_ceil(10_000_000))..((first + w).div_ceil(10_000_000)).min(n);
            let (lo, hi) = ks
                .clone()
                .map(value)
                .fold((u64::MAX, 0), |(l, h), v| (l.min(v), h.max(v)));
            assert!(
                p.v == lo || p.v == hi,
                "{p:?} not the min {lo} or max {hi} of its bucket"
            );
        }
    }
}
