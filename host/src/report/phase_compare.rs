//! `report A B … --phases`: the phases of several traces side by side, one
//! row per label and trace (labels in the order they first appear, the
//! baseline's first), with the p95 duration's change against the baseline's
//! same label.

use crate::report::comparison::percent_change;
use crate::report::model::{PhaseSummary, Report};
use crate::units::ColumnUnit;

/// Headings (byte columns in one unit, named) and rows.
pub fn table(reports: &[Report], baseline: usize) -> (Vec<String>, Vec<Vec<String>>) {
    let order = reports
        .get(baseline)
        .into_iter()
        .chain(reports.iter())
        .flat_map(|r| r.phase_summary.iter().map(|p| p.label.as_str()));
    let mut labels: Vec<&str> = Vec::new();
    for l in order {
        if !labels.contains(&l) {
            labels.push(l);
        }
    }
    let find = |r: &Report, l: &str| r.phase_summary.iter().find(|p| p.label == l).cloned();
    let all: Vec<(&str, &Report, Option<PhaseSummary>)> = labels
        .iter()
        .flat_map(|l| reports.iter().map(move |r| (*l, r, find(r, l))))
        .collect();
    let unit = |get: fn(&PhaseSummary) -> Option<u64>| {
        ColumnUnit::for_max(
            all.iter()
                .filter_map(|(_, _, p)| p.as_ref().and_then(get))
                .max()
                .unwrap_or(0),
        )
    };
    let sys = unit(|p| p.system_used_peak_bytes);
    let cuda = unit(|p| p.cuda_alloc_peak_bytes);
    let head = vec![
        "phase".to_owned(),
        "trace".to_owned(),
        "count".to_owned(),
        "p95 s".to_owned(),
        "Δ p95".to_owned(),
        format!("peak system ({})", sys.name()),
        format!("CUDA alloc peak ({})", cuda.name()),
    ];
    let base = reports.get(baseline);
    let rows = all
        .iter()
        .map(|(label, r, p)| {
            let Some(p) = p else {
                let mut row = vec![
                    crate::escape::printable(label).into_owned(),
                    crate::escape::printable(&r.label).into_owned(),
                    "0".to_owned(),
                ];
                row.extend((0..4).map(|_| "-".to_owned()));
                return row;
            };
            let base_p95 = base
                .and_then(|b| find(b, label))
                .and_then(|b| b.duration_p95_s);
            let delta = if base.is_some_and(|b| std::ptr::eq(b, *r)) {
                "baseline".to_owned()
            } else {
                percent_change(p.duration_p95_s, base_p95)
                    .map_or_else(|| "-".to_owned(), |d| format!("{d:+.1} %"))
            };
            let cell =
                |u: ColumnUnit, v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| u.plain(v));
            vec![
                crate::escape::printable(label).into_owned(),
                crate::escape::printable(&r.label).into_owned(),
                p.count.to_string(),
                p.duration_p95_s
                    .map_or_else(|| "-".to_owned(), |s| format!("{s:.3}")),
                delta,
                cell(sys, p.system_used_peak_bytes),
                cell(cuda, p.cuda_alloc_peak_bytes),
            ]
        })
        .collect();
    (head, rows)
}
