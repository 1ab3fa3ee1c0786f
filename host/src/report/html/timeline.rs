//! The timeline data embedded in the HTML report: per trace, one line per
//! figure (its own times and bytes; a figure unknown at a sample has no point
//! there), each downsampled to at most [`MAX_BUCKETS`] buckets keeping the
//! bucket's lowest and highest value, so every peak survives and a 24 h trace
//! stays small. (The plot's streaming min/max buckets, issue 13, keep the
//! same points; this reads them from the analysis's kept samples.)

use jetmem_core::accounting::PressureConfig;
use serde::Serialize;

use crate::analyze::{Analysis, InstantMark, Point};

/// Buckets a line is reduced to; each keeps at most two points.
pub const MAX_BUCKETS: usize = 2000;

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
        let pts = &a.points;
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
            points_total: pts.len(),
            system_used: line(pts, |p| p.figures.used, MAX_BUCKETS),
            gpu_used: line(pts, |p| p.figures.gpu_used, MAX_BUCKETS),
            vram_used: line(pts, |p| p.figures.vram_used, MAX_BUCKETS),
            total_used: line(pts, |p| p.figures.total_used, MAX_BUCKETS),
            rss: line(pts, |p| p.rss, MAX_BUCKETS),
            cuda_used: line(pts, |p| p.figures.cuda_used, MAX_BUCKETS),
            pressure_used_bytes,
            threshold_permille: a.threshold_permille,
            budget_words: a.report.headroom.budget_source.describe(),
            marks: a.instants.clone(),
            marks_not_kept: a.instants_not_kept,
        }
    }
}

/// The known values of `get` over `points`: all of them when there are at
/// most two per bucket, else each of `buckets` equal slices' lowest and
/// highest, in time order.
pub fn line(points: &[Point], get: fn(&Point) -> Option<u64>, buckets: usize) -> Line {
    let known: Vec<(u64, u64)> = points
        .iter()
        .filter_map(|p| get(p).map(|v| (p.t_ns, v)))
        .collect();
    let mut out = Line::default();
    let mut keep = |(t, v): (u64, u64)| {
        out.t_s.push(t as f64 / 1e9);
        out.bytes.push(v);
    };
    if known.len() <= buckets.saturating_mul(2) || buckets == 0 {
        known.into_iter().for_each(keep);
        return out;
    }
    for chunk in known.chunks(known.len().div_ceil(buckets)) {
        let lo = (0..chunk.len()).min_by_key(|&i| chunk[i].1).unwrap_or(0);
        let hi = (0..chunk.len()).max_by_key(|&i| chunk[i].1).unwrap_or(0);
        keep(chunk[lo.min(hi)]);
        if lo != hi {
            keep(chunk[lo.max(hi)]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetmem_core::accounting::Figures;

    fn point(i: u64, used: Option<u64>) -> Point {
        Point {
            t_ns: i * 10_000_000,
            figures: Figures {
                used,
                ..Figures::default()
            },
            rss: None,
        }
    }

    #[test]
    fn few_points_are_kept_and_unknown_ones_left_out() {
        let pts: Vec<Point> = (0..100)
            .map(|i| point(i, (i != 50).then_some(1000 + i)))
            .collect();
        let l = line(&pts, |p| p.figures.used, 100);
        assert_eq!(l.bytes.len(), 99);
        assert!(!l.bytes.contains(&1050));
        assert_eq!(l.t_s[98], 0.99);
        assert!(line(&pts, |p| p.rss, 100).bytes.is_empty());
    }

    #[test]
    fn a_long_line_shrinks_but_keeps_its_peak_and_dip_in_time_order() {
        // A day at 10 ms would be 8.64 M points; 200 000 shows the bound.
        let n = 200_000u64;
        let mut pts: Vec<Point> = (0..n)
            .map(|i| point(i, Some(5_000 + (i * 7919) % 1000)))
            .collect();
        pts[123_457].figures.used = Some(1 << 40);
        pts[7].figures.used = Some(3);
        let l = line(&pts, |p| p.figures.used, MAX_BUCKETS);
        assert!(l.bytes.len() <= 2 * MAX_BUCKETS, "{}", l.bytes.len());
        assert!(l.bytes.len() >= MAX_BUCKETS);
        assert_eq!(l.bytes.iter().max(), Some(&(1 << 40)));
        assert_eq!(l.bytes.iter().min(), Some(&3));
        assert!(l.t_s.windows(2).all(|w| w[0] < w[1]));
    }
}
