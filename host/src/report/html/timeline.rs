//! The timeline data embedded in the HTML report: per trace, one line per
//! figure (its own times and bytes; a figure unknown at a sample has no point
//! there). Each line is the analysis's streaming min/max buckets
//! (`crate::plot::data::PlotData`, about one bucket per plot column, each
//! keeping its lowest and highest point), so every peak survives and a 24 h
//! trace stays small, in bounded memory.

use jetmem_core::accounting::PressureConfig;
use serde::Serialize;

use crate::analyze::{Analysis, InstantMark};
use crate::downsample::{MinMax, Pt};
use crate::plot::data::PlotData;

/// One figure over time: parallel `t_s` (seconds since the start) and `bytes`.
#[derive(Debug, Default, Serialize)]
pub struct Line {
    pub t_s: Vec<f64>,
    pub bytes: Vec<u64>,
}

/// One trace's timeline.
#[derive(Debug, Serialize)]
pub struct Timeline {
    pub label: String,
    /// Samples in the trace before downsampling.
    pub points_total: usize,
    /// MemTotal − MemAvailable.
    pub system_used: Line,
    /// Unified: the GPU's share of system used.
    pub gpu_used: Line,
    /// Discrete: VRAM used.
    pub vram_used: Line,
    /// Discrete: RAM used + VRAM used.
    pub total_used: Line,
    /// The process tree's RSS.
    pub rss: Line,
    /// The CUDA device's used memory.
    pub cuda_used: Line,
    /// System used at which pressure enters (available under the threshold).
    pub pressure_used_bytes: Option<u64>,
    pub threshold_permille: u16,
    /// Where the budget came from, in the words of the text report.
    pub budget_words: &'static str,
    /// The program's instant marks (the first 2000) and how many more there were.
    pub marks: Vec<InstantMark>,
    pub marks_not_kept: u64,
}

impl Timeline {
    pub fn new(a: &Analysis) -> Self {
        let empty;
        let d = match &a.series {
            Some(d) => d,
            None => {
                empty = PlotData::new(1);
                &empty
            }
        };
        let pressure_used_bytes = a
            .report
            .system
            .total_bytes
            .filter(|_| a.threshold_permille > 0)
            .map(|total| {
                let enter = PressureConfig {
                    threshold_permille: a.threshold_permille,
                    ..PressureConfig::default()
                }
                .enter_bytes(total);
                total.saturating_sub(enter)
            });
        Timeline {
            label: a.report.label.clone(),
            points_total: a.report.samples as usize,
            system_used: line(&d.used),
            gpu_used: line(&d.gpu_used),
            vram_used: line(&d.vram_used),
            total_used: line(&d.total_used),
            rss: line(&d.rss),
            cuda_used: line(&d.cuda_used),
            pressure_used_bytes,
            threshold_permille: a.threshold_permille,
            budget_words: a.report.headroom.budget_source.describe(),
            marks: a.instants.clone(),
            marks_not_kept: a.instants_not_kept,
        }
    }
}

/// A series' kept points (each bucket's lowest and highest, in time order).
pub fn line(series: &MinMax) -> Line {
    let mut out = Line::default();
    for Pt { t_ns, v } in series.points() {
        out.t_s.push(t_ns as f64 / 1e9);
        out.bytes.push(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_shrinks_but_keeps_its_peak_and_dip_in_time_order() {
        // A day at 10 ms would be 8.64 M points; 200 000 shows the bound.
        let columns = crate::plot::COLUMNS;
        let mut m = MinMax::new(columns);
        for i in 0..200_000u64 {
            let v = match i {
                123_457 => 1 << 40,
                7 => 3,
                _ => 5_000 + (i * 7919) % 1000,
            };
            m.push(i * 10_000_000, v);
        }
        let l = line(&m);
        assert!(l.bytes.len() <= 4 * columns, "{}", l.bytes.len());
        assert!(l.bytes.len() >= columns / 2);
        assert_eq!(l.bytes.iter().max(), Some(&(1 << 40)));
        assert_eq!(l.bytes.iter().min(), Some(&3));
        assert!(l.t_s.windows(2).all(|w| w[0] <= w[1]));
    }
}
