//! A fixed-size, allocation-free histogram of sample lateness (ns).
//!
//! Log-linear buckets: exact below 8 ns, then 8 buckets per power of two, so a
//! percentile is within 12.5 % of the true value; the maximum is exact.

const SUB: u32 = 8;
const BUCKETS: usize = 8 * 62;

/// Lateness of samples against their deadlines.
#[derive(Debug, Clone)]
pub struct Lateness {
    counts: [u64; BUCKETS],
    total: u64,
    max: u64,
}

impl Default for Lateness {
    fn default() -> Self {
        Self::new()
    }
}

fn bucket(v: u64) -> usize {
    if v < u64::from(SUB) {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    let sub = (v >> (e - 3)) & u64::from(SUB - 1);
    ((SUB * (e - 2)) as u64 + sub) as usize
}

fn bucket_upper(i: usize) -> u64 {
    if i < SUB as usize {
        return i as u64;
    }
    let e = (i as u32) / SUB + 2;
    let sub = (i as u64) % u64::from(SUB);
    let base = 1u64 << e;
    let step = base / u64::from(SUB);
    base + (sub + 1) * step - 1
}

impl Lateness {
    /// An empty histogram.
    pub const fn new() -> Self {
        Lateness {
            counts: [0; BUCKETS],
            total: 0,
            max: 0,
        }
    }

    /// Adds one observation.
    pub fn record(&mut self, ns: u64) {
        let i = bucket(ns).min(BUCKETS - 1);
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.total += 1;
        self.max = self.max.max(ns);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Largest observation.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `p`-th percentile (0–100), as the upper bound of its bucket, capped at the max.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_upper(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_bucket_error() {
        let mut h = Lateness::new();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.percentile(50.0) as f64;
        let p99 = h.percentile(99.0) as f64;
        assert!((p50 - 5_000_000.0).abs() / 5_000_000.0 < 0.125, "{p50}");
        assert!((p99 - 9_900_000.0).abs() / 9_900_000.0 < 0.125, "{p99}");
        assert_eq!(h.max(), 10_000_000);
        assert_eq!(h.percentile(100.0), 10_000_000);
    }

    #[test]
    fn buckets_are_monotonic() {
        let mut last = 0;
        for v in (0..1_000_000u64).step_by(997) {
            let b = bucket(v);
            assert!(b >= last);
            assert!(bucket_upper(b) >= v);
            last = b;
        }
        assert!(bucket(u64::MAX) < BUCKETS);
    }
}
