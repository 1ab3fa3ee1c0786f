//! The timeline data embedded in the HTML report: one series per trace,
//! columns of seconds and bytes, downsampled to at most [`MAX_BUCKETS`]
//! buckets keeping each bucket's lowest and highest system-used point (so
//! every peak survives and a 24 h trace stays small).

use jetmem_core::accounting::PressureConfig;
use serde::Serialize;

use crate::analyze::{Analysis, Point};

/// Buckets a series is reduced to; each keeps at most two points.
pub const MAX_BUCKETS: usize = 2000;

/// One trace's timeline: parallel columns (`null` where unknown).
#[derive(Debug, Serialize)]
pub struct Timeline {
    pub label: String,
    /// Points in the trace before downsampling.
    pub points_total: usize,
    pub t_s: Vec<f64>,
    pub system_used: Vec<Option<u64>>,
    pub gpu_used: Vec<Option<u64>>,
    pub vram_used: Vec<Option<u64>>,
    pub rss: Vec<Option<u64>>,
    pub cuda_used: Vec<Option<u64>>,
    /// System used at which pressure enters (available under the threshold).
    pub pressure_used_bytes: Option<u64>,
    pub threshold_permille: u16,
    /// Where the budget came from, in the words of the text report.
    pub budget_words: &'static str,
}

impl Timeline {
    pub fn new(a: &Analysis) -> Self {
        let kept = downsample(&a.points, MAX_BUCKETS);
        let col = |f: fn(&Point) -> Option<u64>| kept.iter().map(f).collect();
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
            points_total: a.points.len(),
            t_s: kept.iter().map(|p| p.t_ns as f64 / 1e9).collect(),
            system_used: col(|p| p.figures.used),
            gpu_used: col(|p| p.figures.gpu_used),
            vram_used: col(|p| p.figures.vram_used),
            rss: col(|p| p.rss),
            cuda_used: col(|p| p.figures.cuda_used),
            pressure_used_bytes,
            threshold_permille: a.threshold_permille,
            budget_words: a.report.headroom.budget_source.describe(),
        }
    }
}

/// The points of each of `buckets` equal slices of `points` with the lowest
/// and the highest system used (and any point whose RSS or VRAM is the
/// slice's highest), in time order; all points when there are few.
pub fn downsample(points: &[Point], buckets: usize) -> Vec<Point> {
    if points.len() <= buckets.saturating_mul(2) || buckets == 0 {
        return points.to_vec();
    }
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * 3);
    for chunk in points.chunks(size) {
        let key = |f: fn(&Point) -> Option<u64>| {
            let max = chunk
                .iter()
                .enumerate()
                .max_by_key(|(_, p)| f(p))
                .map(|(i, _)| i);
            let min = chunk
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| f(p))
                .map(|(i, _)| i);
            [min, max]
        };
        let mut idx: Vec<usize> = key(|p| p.figures.used)
            .into_iter()
            .chain(key(|p| p.rss).into_iter().skip(1))
            .chain(key(|p| p.figures.vram_used).into_iter().skip(1))
            .chain(key(|p| p.figures.gpu_used).into_iter().skip(1))
            .flatten()
            .collect();
        idx.sort_unstable();
        idx.dedup();
        out.extend(idx.into_iter().map(|i| chunk[i]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetmem_core::accounting::Figures;

    fn point(i: u64, used: u64) -> Point {
        Point {
            t_ns: i * 10_000_000,
            figures: Figures {
                used: Some(used),
                ..Figures::default()
            },
            rss: Some(used / 2),
        }
    }

    #[test]
    fn few_points_are_kept_as_they_are() {
        let pts: Vec<Point> = (0..100).map(|i| point(i, 1000 + i)).collect();
        let kept = downsample(&pts, 100);
        assert_eq!(kept.len(), 100);
        assert_eq!(kept[99].t_ns, pts[99].t_ns);
    }

    #[test]
    fn a_long_series_shrinks_but_keeps_its_peak_and_dip_in_time_order() {
        // A day at 10 ms would be 8.64 M points; 200 000 shows the bound.
        let n = 200_000u64;
        let mut pts: Vec<Point> = (0..n)
            .map(|i| point(i, 5_000 + (i * 7919) % 1000))
            .collect();
        pts[123_457].figures.used = Some(1 << 40);
        pts[7].figures.used = Some(3);
        let kept = downsample(&pts, MAX_BUCKETS);
        // At most two points for used plus one each for RSS, VRAM, GPU per bucket.
        assert!(kept.len() <= 5 * MAX_BUCKETS, "{}", kept.len());
        assert!(kept.len() >= MAX_BUCKETS);
        let used: Vec<u64> = kept.iter().filter_map(|p| p.figures.used).collect();
        assert_eq!(used.iter().max(), Some(&(1 << 40)));
        assert_eq!(used.iter().min(), Some(&3));
        assert!(kept.windows(2).all(|w| w[0].t_ns < w[1].t_ns));
    }
}
