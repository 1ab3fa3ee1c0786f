//! TEMPORARY stand-in for the accounting model (replaced by the parse branch's).
#![allow(missing_docs)]
use crate::record::{Architecture, Counter, Counters, Event, EventKind, GpuSource, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access { Readable, Missing, NeedsRoot }

#[derive(Debug, Clone, Copy)]
pub struct GpuAvailability { pub meminfo_nvmap: bool, pub nvmap_total: Access, pub nvmap_clients: Access, pub cuda: Access, pub thor_nvml: Access }

pub fn select_gpu_source(a: GpuAvailability) -> (GpuSource, Option<&'static str>) {
    if a.meminfo_nvmap { return (GpuSource::MeminfoNvmap, None); }
    if a.nvmap_total == Access::Readable { return (GpuSource::NvmapTotal, None); }
    if a.nvmap_clients == Access::Readable { return (GpuSource::NvmapClients, None); }
    if a.cuda == Access::Readable { return (GpuSource::Cuda, None); }
    (GpuSource::None, None)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Figures { pub architecture: Architecture, pub total: Option<u64>, pub used: Option<u64>, pub available: Option<u64> }

pub fn figures(p: &Platform, c: &Counters) -> Figures {
    let total = c.get(Counter::MemTotal);
    let available = c.get(Counter::MemAvailable);
    Figures { architecture: p.architecture, total, available, used: match (total, available) { (Some(t), Some(a)) => Some(t.saturating_sub(a)), _ => None } }
}

#[derive(Debug, Clone, Copy)]
pub struct PressureConfig { pub threshold_permille: u16, pub hysteresis_permille: u16, pub budget_bytes: Option<u64> }
impl Default for PressureConfig { fn default() -> Self { PressureConfig { threshold_permille: 200, hysteresis_permille: 20, budget_bytes: None } } }

#[derive(Debug, Clone)]
pub struct PressureTracker { cfg: PressureConfig, under: bool }
impl PressureTracker {
    pub fn new(cfg: PressureConfig) -> Self { PressureTracker { cfg, under: false } }
    pub fn update(&mut self, t_ns: u64, f: &Figures) -> Option<Event> {
        let (Some(t), Some(a)) = (f.total, f.available) else { return None };
        let thr = t / 1000 * u64::from(self.cfg.threshold_permille);
        if !self.under && a < thr { self.under = true; return Some(Event { t_ns, kind: EventKind::PressureEntered, value: a, threshold: thr }); }
        None
    }
}
