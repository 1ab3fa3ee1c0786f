//! What a reading looks like: the line table (a pipe, a file) and the screen
//! that refreshes in place (a terminal).

use jetmem_core::accounting::{Figures, USED_DEFINITION, USED_TEGRASTATS_DEFINITION};
use jetmem_core::record::{Architecture, GpuSource};

use crate::units::opt_bytes;

/// One reading of the system and of each watched tree.
#[derive(Debug, Clone)]
pub struct Reading {
    /// Wall clock (UTC).
    pub wall: jiff::Timestamp,
    /// Since the first reading.
    pub t_ns: u64,
    /// The system's figures (core::accounting).
    pub figures: Figures,
    /// GPU load, per mille, where readable.
    pub gpu_load_permille: Option<u64>,
    /// The recorder's pressure state, with its hysteresis.
    pub pressure: bool,
    /// RSS of each watched tree, in [`Columns::trees`] order.
    pub rss: Vec<Option<u64>>,
}

/// What the columns are for this machine and these trees.
#[derive(Debug, Clone)]
pub struct Columns {
    pub architecture: Architecture,
    pub gpu_source: GpuSource,
    /// One name per watched tree (its root pid).
    pub trees: Vec<u32>,
}

impl Columns {
    /// The GPU column's name: a subset on unified memory, VRAM on discrete.
    pub fn gpu_label(&self) -> &'static str {
        match self.architecture {
            Architecture::Unified => "GPU (subset)",
            Architecture::Discrete => "VRAM used",
            _ => "GPU",
        }
    }

    /// Where the GPU figure comes from, for people.
    pub fn gpu_source(&self) -> &'static str {
        self.gpu_source.as_str().unwrap_or("no source")
    }
}

/// The GPU figure of a reading: VRAM on discrete, the GPU source's otherwise.
pub fn gpu_used(f: &Figures) -> Option<u64> {
    match f.architecture {
        Architecture::Discrete => f.vram_used,
        _ => f.gpu_used,
    }
}

fn load(permille: Option<u64>) -> String {
    permille.map_or_else(|| "-".to_owned(), |p| format!("{}.{} %", p / 10, p % 10))
}

/// `HH:MM:SS` of a wall-clock time (UTC).
pub fn clock(t: jiff::Timestamp) -> String {
    let s = t.as_second().rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// The line table's header.
pub fn table_header(c: &Columns) -> String {
    let mut h = format!(
        "{:>8}  {:>11}  {:>11}  {:>11}  {:>13}  {:>8}  {:>11}  {}",
        "time UTC",
        "used",
        "used (tgr)",
        "available",
        c.gpu_label(),
        "GPU load",
        "swap",
        "pressure"
    );
    for pid in &c.trees {
        h.push_str(&format!("  {:>11}", format!("RSS {pid}")));
    }
    h
}

/// One row of the line table.
pub fn table_row(c: &Columns, r: &Reading) -> String {
    let f = &r.figures;
    let mut row = format!(
        "{:>8}  {:>11}  {:>11}  {:>11}  {:>13}  {:>8}  {:>11}  {}",
        clock(r.wall),
        opt_bytes(f.used),
        opt_bytes(f.used_tfbc),
        opt_bytes(f.available),
        opt_bytes(gpu_used(f)),
        load(r.gpu_load_permille),
        opt_bytes(f.swap_used),
        if r.pressure { "PRESSURE" } else { "-" }
    );
    for rss in r.rss.iter().take(c.trees.len()) {
        row.push_str(&format!("  {:>11}", opt_bytes(*rss)));
    }
    row
}

/// The screen a terminal shows, redrawn in place at every reading.
pub fn screen(c: &Columns, r: &Reading, readings: u64) -> Vec<String> {
    let f = &r.figures;
    let mut l = vec![
        format!(
            "jetmem monitor  {}  reading {readings}  (Ctrl+C: peaks)",
            r.wall.round(jiff::Unit::Second).unwrap_or(r.wall)
        ),
        format!("  used        {:>11}  {USED_DEFINITION}", opt_bytes(f.used)),
        format!(
            "  used (tgr)  {:>11}  tegrastats/jtop: {USED_TEGRASTATS_DEFINITION}",
            opt_bytes(f.used_tfbc)
        ),
        format!("  available   {:>11}", opt_bytes(f.available)),
        format!("  swap        {:>11}", opt_bytes(f.swap_used)),
        format!(
            "  {:<11} {:>11}  from {}{}",
            c.gpu_label(),
            opt_bytes(gpu_used(f)),
            c.gpu_source(),
            if c.architecture == Architecture::Unified {
                ", part of used"
            } else {
                ""
            }
        ),
        format!("  GPU load    {:>11}", load(r.gpu_load_permille)),
        format!(
            "  pressure    {:>11}",
            if r.pressure { "PRESSURE" } else { "-" }
        ),
    ];
    for (pid, rss) in c.trees.iter().zip(&r.rss) {
        l.push(format!(
            "  RSS {pid:<7} {:>11}  process tree",
            opt_bytes(*rss)
        ));
    }
    l
}
