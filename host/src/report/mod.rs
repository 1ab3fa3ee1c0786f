//! Reports of traces: the model and its renderers.

pub mod advice;
pub mod comparison;
pub mod csv;
pub mod cuda_hook_table;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod phase_compare;
pub mod phase_table;
pub mod summary;
pub mod text;

use std::fmt::Write;

use crate::args::PhaseView;
use crate::report::comparison::Comparison;
use crate::report::model::Report;
use crate::report::summary::{TABLE_COLUMNS, table_cells};

/// The text comparison table of several traces, columns aligned; with
/// `--phases`, then each trace's phase summary table.
pub fn comparison_text(reports: &[Report], view: PhaseView, baseline: usize) -> String {
    let rows: Vec<Vec<String>> = reports.iter().map(table_cells).collect();
    let mut o = aligned(TABLE_COLUMNS, &rows, "");
    let c = Comparison::new(reports, baseline);
    let (head, rows) = c.delta_table();
    let _ = writeln!(
        o,
        "\nAgainst the baseline: {}",
        crate::escape::printable(c.baseline_label())
    );
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    o.push_str(&aligned(&head, &rows, ""));
    if view != PhaseView::Count {
        for r in reports.iter().filter(|r| !r.phase_summary.is_empty()) {
            let _ = writeln!(o, "\nPhase summary: {}", r.label);
            o.push_str(&aligned(
                phase_table::SUMMARY_COLUMNS,
                &phase_table::summary_rows(r),
                "  ",
            ));
        }
        let (head, rows) = phase_compare::table(reports, baseline);
        if !rows.is_empty() {
            let _ = writeln!(
                o,
                "\nPhases across traces (Δ against {})",
                crate::escape::printable(c.baseline_label())
            );
            let head: Vec<&str> = head.iter().map(String::as_str).collect();
            o.push_str(&aligned(&head, &rows, ""));
        }
    }
    o
}

/// Rows under a header, columns aligned and separated by two spaces, each
/// line starting with `indent`.
pub fn aligned(head: &[&str], rows: &[Vec<String>], indent: &str) -> String {
    let widths: Vec<usize> = head
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut o = String::new();
    let line = |o: &mut String, cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(o, "{indent}{}", parts.join("  ").trim_end());
    };
    let head: Vec<String> = head.iter().map(|s| (*s).to_owned()).collect();
    line(&mut o, &head);
    for r in rows {
        line(&mut o, r);
    }
    o
}
