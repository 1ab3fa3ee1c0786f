//! Budget, headroom and pressure events with hysteresis (`docs/accounting.md` §8).

use super::figures::Figures;
use crate::record::{Event, EventKind};

/// Thresholds for pressure and budget events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PressureConfig {
    /// Pressure starts when available / total falls under this, per mille (200 = 20 %).
    pub threshold_permille: u16,
    /// Pressure ends at threshold + this; the budget recovers at budget − this
    /// share of MemTotal. Per mille.
    pub hysteresis_permille: u16,
    /// The memory budget for system used; `None` = 80 % of MemTotal.
    pub budget_bytes: Option<u64>,
}

impl Default for PressureConfig {
    fn default() -> Self {
        PressureConfig {
            threshold_permille: 200,
            hysteresis_permille: 50,
            budget_bytes: None,
        }
    }
}

/// `total × permille / 1000`, without overflow.
fn permille_of(total: u64, permille: u32) -> u64 {
    let v = u128::from(total) * u128::from(permille) / 1000;
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// The default budget: 80 % of MemTotal.
pub const DEFAULT_BUDGET_PERMILLE: u32 = 800;

/// The default budget in bytes for a machine with `total` bytes of MemTotal.
pub fn default_budget(total: u64) -> u64 {
    permille_of(total, DEFAULT_BUDGET_PERMILLE)
}

/// Budget − system used: positive is room left, negative is over budget
/// (saturating at the ends of `i64`).
pub fn headroom(budget: u64, used: u64) -> i64 {
    let v = i128::from(budget) - i128::from(used);
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

impl PressureConfig {
    /// The budget in bytes for a machine with `total` bytes of MemTotal.
    pub fn budget_for(&self, total: u64) -> u64 {
        self.budget_bytes.unwrap_or_else(|| default_budget(total))
    }

    /// Available memory under this many bytes is pressure (pressure enters).
    pub fn enter_bytes(&self, total: u64) -> u64 {
        permille_of(total, u32::from(self.threshold_permille))
    }

    /// Budget − system used of one sample: see [`headroom`].
    pub fn headroom(&self, f: &Figures) -> Option<i64> {
        Some(headroom(self.budget_for(f.total?), f.used?))
    }
}

/// Turns a stream of figures into pressure and budget events, with hysteresis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PressureTracker {
    cfg: PressureConfig,
    in_pressure: bool,
    over_budget: bool,
}

impl PressureTracker {
    /// A tracker that starts outside pressure and under budget.
    pub const fn new(cfg: PressureConfig) -> Self {
        PressureTracker {
            cfg,
            in_pressure: false,
            over_budget: false,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &PressureConfig {
        &self.cfg
    }

    /// Whether available memory is under the threshold now.
    pub const fn in_pressure(&self) -> bool {
        self.in_pressure
    }

    /// Whether system used is over the budget now.
    pub const fn over_budget(&self) -> bool {
        self.over_budget
    }

    /// Feeds one sample's figures; returns at most one event (a pending
    /// budget change is reported on the next call).
    pub fn update(&mut self, t_ns: u64, f: &Figures) -> Option<Event> {
        let total = f.total?;
        let enter = self.cfg.enter_bytes(total);
        let band = permille_of(total, u32::from(self.cfg.hysteresis_permille));
        if let Some(avail) = f.available {
            if !self.in_pressure && avail < enter {
                self.in_pressure = true;
                return Some(event(t_ns, EventKind::PressureEntered, avail, enter));
            }
            let leave = enter.saturating_add(band);
            if self.in_pressure && avail >= leave {
                self.in_pressure = false;
                return Some(event(t_ns, EventKind::PressureLeft, avail, leave));
            }
        }
        let used = f.used?;
        let budget = self.cfg.budget_for(total);
        if !self.over_budget && used > budget {
            self.over_budget = true;
            return Some(event(t_ns, EventKind::BudgetExceeded, used, budget));
        }
        let recover = budget.saturating_sub(band);
        if self.over_budget && used <= recover {
            self.over_budget = false;
            return Some(event(t_ns, EventKind::BudgetRecovered, used, recover));
        }
        None
    }
}

fn event(t_ns: u64, kind: EventKind, value: u64, threshold: u64) -> Event {
    Event {
        t_ns,
        kind,
        value,
        threshold,
    }
}
