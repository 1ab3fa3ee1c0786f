//! Timestamped running minimums and peaks: one [`Peak`] primitive, and [`Peaks`]
//! of every figure and counter, used by the sampler, `jetmem monitor` and the
//! report analysis alike.

use super::figures::Figures;
use crate::record::{Counter, Counters};

/// A running maximum (or minimum) of optional values, with the time it was reached.
/// Ties keep the earliest time; unknown values leave it unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Peak {
    /// The value, unknown until one was seen.
    pub value: Option<u64>,
    /// When `value` was first reached, in ns since the trace started.
    pub t_ns: u64,
}

impl Peak {
    /// Takes `v` at `t_ns` if it is higher; returns whether it was.
    pub fn raise(&mut self, v: Option<u64>, t_ns: u64) -> bool {
        self.take_if(v, t_ns, |v, cur| v > cur)
    }

    /// Takes `v` at `t_ns` if it is lower; returns whether it was.
    pub fn lower(&mut self, v: Option<u64>, t_ns: u64) -> bool {
        self.take_if(v, t_ns, |v, cur| v < cur)
    }

    fn take_if(&mut self, v: Option<u64>, t_ns: u64, better: fn(u64, u64) -> bool) -> bool {
        let Some(v) = v else { return false };
        if self.value.is_some_and(|cur| !better(v, cur)) {
            return false;
        }
        self.value = Some(v);
        self.t_ns = t_ns;
        true
    }
}

/// The smallest and largest value seen, each with when it was first reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Smallest value seen.
    pub min: u64,
    /// When `min` was first reached (ns).
    pub min_t_ns: u64,
    /// Largest value seen.
    pub max: u64,
    /// When `max` was first reached (ns).
    pub max_t_ns: u64,
}

/// Widens `e` by `v` at `t_ns`; returns whether `v` is a new maximum.
fn widen(e: &mut Option<Extent>, v: Option<u64>, t_ns: u64) -> bool {
    let Some(v) = v else { return false };
    let Some(x) = e else {
        *e = Some(Extent {
            min: v,
            min_t_ns: t_ns,
            max: v,
            max_t_ns: t_ns,
        });
        return true;
    };
    if v < x.min {
        x.min = v;
        x.min_t_ns = t_ns;
    }
    if v > x.max {
        x.max = v;
        x.max_t_ns = t_ns;
        return true;
    }
    false
}

/// Which peaks one [`Peaks::update`] raised: callers keep the figures of those moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Raised {
    /// [`Peaks::used`] has a new maximum.
    pub used: bool,
    /// [`Peaks::total_used`] has a new maximum.
    pub total_used: bool,
}

/// Running minimums and peaks of every figure and counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Peaks {
    /// Samples seen.
    pub samples: u64,
    /// Samples whose GPU figure exceeded system used.
    pub disagreements: u64,
    /// Some sample's swap was zram.
    pub swap_is_zram: bool,
    /// [`Figures::total`].
    pub total: Option<Extent>,
    /// [`Figures::used`].
    pub used: Option<Extent>,
    /// [`Figures::used_tfbc`].
    pub used_tfbc: Option<Extent>,
    /// [`Figures::available`].
    pub available: Option<Extent>,
    /// [`Figures::gpu_used`].
    pub gpu_used: Option<Extent>,
    /// [`Figures::cpu_os_used`].
    pub cpu_os_used: Option<Extent>,
    /// [`Figures::vram_used`].
    pub vram_used: Option<Extent>,
    /// [`Figures::total_used`].
    pub total_used: Option<Extent>,
    /// [`Figures::swap_used`].
    pub swap_used: Option<Extent>,
    /// [`Figures::cuda_used`].
    pub cuda_used: Option<Extent>,
    /// [`Figures::tegrastats_used`].
    pub tegrastats_used: Option<Extent>,
    /// The traced tree's RSS ([`Counter::TreeRss`]), with when.
    pub tree_rss: Option<Extent>,
    /// Largest value of each counter (absent: never seen).
    pub counters_max: Counters,
    /// Smallest value of each counter (absent: never seen).
    pub counters_min: Counters,
}

impl Peaks {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one sample taken at `t_ns`.
    pub fn update(&mut self, t_ns: u64, f: &Figures, c: &Counters) -> Raised {
        self.samples = self.samples.saturating_add(1);
        if f.sources_disagree {
            self.disagreements = self.disagreements.saturating_add(1);
        }
        self.swap_is_zram |= f.swap_is_zram;
        widen(&mut self.total, f.total, t_ns);
        let used = widen(&mut self.used, f.used, t_ns);
        widen(&mut self.used_tfbc, f.used_tfbc, t_ns);
        widen(&mut self.available, f.available, t_ns);
        widen(&mut self.gpu_used, f.gpu_used, t_ns);
        widen(&mut self.cpu_os_used, f.cpu_os_used, t_ns);
        widen(&mut self.vram_used, f.vram_used, t_ns);
        let total_used = widen(&mut self.total_used, f.total_used, t_ns);
        widen(&mut self.swap_used, f.swap_used, t_ns);
        widen(&mut self.cuda_used, f.cuda_used, t_ns);
        widen(&mut self.tegrastats_used, f.tegrastats_used, t_ns);
        widen(&mut self.tree_rss, c.get(Counter::TreeRss), t_ns);
        for (counter, v) in c.iter() {
            let hi = self.counters_max.get(counter).map_or(v, |m| m.max(v));
            let lo = self.counters_min.get(counter).map_or(v, |m| m.min(v));
            self.counters_max.set(counter, Some(hi));
            self.counters_min.set(counter, Some(lo));
        }
        Raised { used, total_used }
    }

    /// The peak of an extent as a [`Peak`] (its maximum).
    pub fn max_of(e: Option<Extent>) -> Peak {
        e.map_or_else(Peak::default, |x| Peak {
            value: Some(x.max),
            t_ns: x.max_t_ns,
        })
    }

    /// The minimum of an extent as a [`Peak`].
    pub fn min_of(e: Option<Extent>) -> Peak {
        e.map_or_else(Peak::default, |x| Peak {
            value: Some(x.min),
            t_ns: x.min_t_ns,
        })
    }
}
