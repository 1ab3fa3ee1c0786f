//! The phase summary table (`phase_summary`) and the per-occurrence table
//! (`phases`), as cells that the text and Markdown renderers lay out.

use crate::report::model::Report;
use crate::units::opt_bytes;

/// Columns of the summary table.
pub const SUMMARY_COLUMNS: &[&str] = &[
    "phase",
    "count",
    "pids",
    "mean s",
    "p95 s",
    "max s",
    "system peak",
    "GPU peak",
    "RSS peak",
    "CUDA alloc peak",
    "unclosed",
];

/// Columns of the per-occurrence table.
pub const OCCURRENCE_COLUMNS: &[&str] = &[
    "phase",
    "start s",
    "length s",
    "system peak",
    "GPU peak",
    "RSS peak",
];

/// Up to this many pids are listed; more are counted.
const PIDS_SHOWN: usize = 4;

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |s| format!("{s:.3}"))
}

/// One row per phase label.
pub fn summary_rows(r: &Report) -> Vec<Vec<String>> {
    r.phase_summary
        .iter()
        .map(|p| {
            let mut pids: Vec<String> =
                p.pids.iter().take(PIDS_SHOWN).map(u32::to_string).collect();
            if p.pids.len() > PIDS_SHOWN {
                pids.push(format!("+{}", p.pids.len() - PIDS_SHOWN));
            }
            vec![
                crate::escape::printable(&p.label).into_owned(),
                p.count.to_string(),
                if pids.is_empty() {
                    "-".to_owned()
                } else {
                    pids.join(",")
                },
                secs(p.duration_mean_s),
                secs(p.duration_p95_s),
                secs(p.duration_max_s),
                opt_bytes(p.system_used_peak_bytes),
                opt_bytes(p.gpu_used_peak_bytes),
                opt_bytes(p.rss_peak_bytes),
                opt_bytes(p.cuda_alloc_peak_bytes),
                p.unclosed.to_string(),
            ]
        })
        .collect()
}

/// One row per occurrence, in start order; an unclosed one says so.
pub fn occurrence_rows(r: &Report) -> Vec<Vec<String>> {
    r.phases
        .iter()
        .map(|p| {
            vec![
                if p.closed {
                    crate::escape::printable(&p.label).into_owned()
                } else {
                    format!("{} (not closed)", crate::escape::printable(&p.label))
                },
                format!("{:.3}", p.start_s),
                format!("{:.3}", p.duration_s),
                opt_bytes(p.system_used_peak_bytes),
                opt_bytes(p.gpu_used_peak_bytes),
                opt_bytes(p.rss_peak_bytes),
            ]
        })
        .collect()
}
