//! Several traces against a baseline: the figures people compare runs by and
//! each one's difference from the baseline's. The one place deltas are
//! derived; text, Markdown and HTML print them.

use jetmem_core::record::Architecture;
use serde::Serialize;

use crate::report::model::{PhaseSummary, Report};
use crate::units::ColumnUnit;

/// The comparison of `reports` against `reports[baseline]`.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Index of the baseline in `rows` (the first trace unless `--baseline`).
    pub baseline: usize,
    pub rows: Vec<Row>,
}

/// One trace's compared figures (bytes, `null` when unknown) and deltas.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub label: String,
    pub architecture: &'static str,
    pub system_used_peak_bytes: Option<u64>,
    /// Unified: the GPU's peak (inside system used); discrete: peak VRAM.
    pub gpu_peak_bytes: Option<u64>,
    pub rss_peak_bytes: Option<u64>,
    pub cuda_alloc_peak_bytes: Option<u64>,
    pub duration_s: f64,
    /// The per-frame phase: the label with the most occurrences (at least 2;
    /// the first such label on a tie).
    pub frame_phase: Option<String>,
    /// Its closed occurrences per second of the span from the first one's
    /// start to the last one's end.
    pub frames_per_s: Option<f64>,
    /// Against the baseline; `None` on the baseline's own row.
    pub delta: Option<Deltas>,
}

/// Row − baseline for each compared figure.
#[derive(Debug, Clone, Serialize)]
pub struct Deltas {
    pub system_used_peak: Option<Delta>,
    pub gpu_peak: Option<Delta>,
    pub rss_peak: Option<Delta>,
    pub cuda_alloc_peak: Option<Delta>,
    pub duration_s: f64,
    /// Frames/s as a percent change from the baseline's (`None` when either
    /// is unknown or the phases' labels differ).
    pub frames_per_s_percent: Option<f64>,
}

/// A difference in bytes and as a percent of the baseline (`None` when the
/// baseline is 0); `None` as a whole when either figure is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delta {
    pub bytes: i64,
    pub percent: Option<f64>,
}

impl Delta {
    fn between(value: Option<u64>, base: Option<u64>) -> Option<Delta> {
        let (v, b) = (value?, base?);
        let bytes = i64::try_from(i128::from(v) - i128::from(b)).ok()?;
        let percent = (b > 0).then(|| (bytes as f64 / b as f64 * 1000.0).round() / 10.0);
        Some(Delta { bytes, percent })
    }
}

/// The per-frame phase of `r` and its rate (see [`Row::frames_per_s`]).
fn frame_rate(r: &Report) -> (Option<String>, Option<f64>) {
    let mut top: Option<&PhaseSummary> = None;
    for p in r.phase_summary.iter().filter(|p| p.count >= 2) {
        if top.is_none_or(|t| p.count > t.count) {
            top = Some(p);
        }
    }
    let Some(top) = top else {
        return (None, None);
    };
    let closed = r.phases.iter().filter(|p| p.label == top.label && p.closed);
    let (n, start, end) = closed.fold((0u64, f64::INFINITY, 0.0f64), |(n, s, e), p| {
        (n + 1, s.min(p.start_s), e.max(p.end_s))
    });
    let rate = (n > 0 && end > start).then(|| round(n as f64 / (end - start), 1000.0));
    (Some(top.label.clone()), rate)
}

/// `value` against `base` in percent, one decimal; `None` when either is
/// unknown or the base is not positive.
pub fn percent_change(value: Option<f64>, base: Option<f64>) -> Option<f64> {
    let (v, b) = (value?, base?);
    (b > 0.0).then(|| round((v - b) / b * 100.0, 10.0))
}

fn round(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

fn gpu_peak(r: &Report) -> Option<u64> {
    match r.architecture {
        Architecture::Discrete => r.total_peak.vram_bytes.or(r.gpu.used_peak_bytes),
        _ => r.gpu.used_peak_bytes,
    }
}

impl Comparison {
    pub fn new(reports: &[Report], baseline: usize) -> Self {
        let rows: Vec<Row> = reports
            .iter()
            .map(|r| Row {
                label: r.label.clone(),
                architecture: r.architecture.as_str(),
                system_used_peak_bytes: r.system.used_peak_bytes,
                gpu_peak_bytes: gpu_peak(r),
                rss_peak_bytes: r.process.rss_peak_bytes,
                cuda_alloc_peak_bytes: r.cuda.alloc_peak_bytes,
                duration_s: r.duration_s,
                frame_phase: frame_rate(r).0,
                frames_per_s: frame_rate(r).1,
                delta: None,
            })
            .collect();
        let Some(base) = rows.get(baseline).cloned() else {
            return Comparison { baseline: 0, rows };
        };
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, mut row)| {
                if i != baseline {
                    row.delta = Some(Deltas {
                        system_used_peak: Delta::between(
                            row.system_used_peak_bytes,
                            base.system_used_peak_bytes,
                        ),
                        gpu_peak: Delta::between(row.gpu_peak_bytes, base.gpu_peak_bytes),
                        rss_peak: Delta::between(row.rss_peak_bytes, base.rss_peak_bytes),
                        cuda_alloc_peak: Delta::between(
                            row.cuda_alloc_peak_bytes,
                            base.cuda_alloc_peak_bytes,
                        ),
                        duration_s: round(row.duration_s - base.duration_s, 1000.0),
                        frames_per_s_percent: if row.frame_phase == base.frame_phase {
                            percent_change(row.frames_per_s, base.frames_per_s)
                        } else {
                            None
                        },
                    });
                }
                row
            })
            .collect();
        Comparison { baseline, rows }
    }

    pub fn baseline_label(&self) -> &str {
        self.rows
            .get(self.baseline)
            .map_or("", |r| r.label.as_str())
    }
}

/// The delta table's figures: heading and how to read each from a row.
type Figure = (&'static str, fn(&Deltas) -> Option<Delta>);
const FIGURES: [Figure; 4] = [
    ("system/RAM peak", |d| d.system_used_peak),
    ("GPU/VRAM peak", |d| d.gpu_peak),
    ("process-tree peak", |d| d.rss_peak),
    ("CUDA alloc peak", |d| d.cuda_alloc_peak),
];

impl Comparison {
    /// The human delta table against the baseline: headings (each byte
    /// column in one unit, named) and one row per trace.
    pub fn delta_table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let units: Vec<ColumnUnit> = FIGURES
            .iter()
            .map(|(_, get)| {
                let max = self
                    .rows
                    .iter()
                    .filter_map(|r| r.delta.as_ref().and_then(get))
                    .map(|d| d.bytes.unsigned_abs())
                    .max()
                    .unwrap_or(0);
                ColumnUnit::for_max(max)
            })
            .collect();
        let mut head = vec!["label".to_owned()];
        head.extend(
            FIGURES
                .iter()
                .zip(&units)
                .map(|((name, _), u)| format!("Δ {name} ({})", u.name())),
        );
        head.push("Δ duration".to_owned());
        head.push("frames/s (Δ)".to_owned());
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut cells = vec![crate::escape::printable(&r.label).into_owned()];
                match &r.delta {
                    None => cells.extend((0..=FIGURES.len()).map(|_| "baseline".to_owned())),
                    Some(d) => {
                        cells.extend(FIGURES.iter().zip(&units).map(|((_, get), u)| {
                            get(d).map_or_else(
                                || "unknown".to_owned(),
                                |x| match x.percent {
                                    Some(p) => format!("{} ({p:+.1} %)", u.signed(x.bytes)),
                                    None => u.signed(x.bytes),
                                },
                            )
                        }));
                        cells.push(format!("{:+.3} s", d.duration_s));
                    }
                }
                cells.push(match (&r.frame_phase, r.frames_per_s) {
                    (Some(label), Some(fps)) => {
                        let pct = r.delta.as_ref().and_then(|d| d.frames_per_s_percent);
                        let label = crate::escape::printable(label);
                        match (pct, &r.delta) {
                            (Some(p), _) => format!("{fps:.1} {label} ({p:+.1} %)"),
                            (None, None) => format!("{fps:.1} {label} (baseline)"),
                            (None, Some(_)) => format!("{fps:.1} {label}"),
                        }
                    }
                    _ => "-".to_owned(),
                });
                cells
            })
            .collect();
        (head, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_is_the_difference_and_its_share_of_the_baseline() {
        let d = Delta::between(Some(1536 << 20), Some(1 << 30)).unwrap();
        assert_eq!(d.bytes, 512 << 20);
        assert_eq!(d.percent, Some(50.0));
        let d = Delta::between(Some(0), Some(3)).unwrap();
        assert_eq!((d.bytes, d.percent), (-3, Some(-100.0)));
        assert_eq!(Delta::between(Some(5), Some(0)).unwrap().percent, None);
        assert_eq!(Delta::between(None, Some(1)), None);
        assert_eq!(Delta::between(Some(1), None), None);
    }
}
