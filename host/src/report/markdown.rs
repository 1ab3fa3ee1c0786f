//! Markdown: a report for issues and pull requests, or a comparison table.

use std::fmt::Write;

use crate::args::PhaseView;
use crate::escape::printable;
use crate::report::comparison::Comparison;
use crate::report::cuda_hook_table;
use crate::report::model::Report;
use crate::report::phase_compare;
use crate::report::phase_table::{
    OCCURRENCE_COLUMNS, SUMMARY_COLUMNS, occurrence_rows, summary_rows,
};
use crate::report::summary::{TABLE_COLUMNS, table_cells};
use crate::report::text;
use crate::style::Style;
use crate::units::bytes;

fn cell(s: &str) -> String {
    printable(s).replace('|', "\\|")
}

fn table(o: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(o, "| {} |", head.join(" | "));
    let _ = writeln!(o, "|{}", "---|".repeat(head.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
}

/// The comparison table of several traces; with `--phases`, then each
/// trace's phase summary table.
pub fn comparison(reports: &[Report], view: PhaseView, baseline: usize) -> String {
    let mut o = String::new();
    let rows: Vec<Vec<String>> = reports.iter().map(table_cells).collect();
    table(&mut o, TABLE_COLUMNS, &rows);
    let c = Comparison::new(reports, baseline);
    let (head, rows) = c.delta_table();
    let _ = writeln!(
        o,
        "\n### Against the baseline: {}\n",
        cell(c.baseline_label())
    );
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    table(&mut o, &head, &rows);
    if view != PhaseView::Count {
        for r in reports.iter().filter(|r| !r.phase_summary.is_empty()) {
            let _ = writeln!(o, "\n### Phase summary: {}\n", cell(&r.label));
            table(&mut o, SUMMARY_COLUMNS, &summary_rows(r));
        }
        let (head, rows) = phase_compare::table(reports, baseline);
        if !rows.is_empty() {
            let _ = writeln!(
                o,
                "\n### Phases across traces (Δ against {})\n",
                cell(c.baseline_label())
            );
            let head: Vec<&str> = head.iter().map(String::as_str).collect();
            table(&mut o, &head, &rows);
        }
    }
    o
}

/// The phase summary table, and with `--phases all` every occurrence.
fn phases(o: &mut String, r: &Report, view: PhaseView) {
    if r.phases.is_empty() {
        return;
    }
    let _ = writeln!(o, "### Phase summary\n");
    table(o, SUMMARY_COLUMNS, &summary_rows(r));
    o.push('\n');
    if view == PhaseView::All {
        let _ = writeln!(o, "### Phases\n");
        table(o, OCCURRENCE_COLUMNS, &occurrence_rows(r));
        o.push('\n');
    }
}

/// The full report of one trace: the figures in a code block, then phases, events and advice.
pub fn render(r: &Report, view: PhaseView) -> String {
    let text_report = text::summary(r, Style::PLAIN);
    let mut o = String::new();
    let _ = writeln!(o, "## jetmem report: {}\n", cell(&r.label));
    let _ = writeln!(o, "```text\n{}```\n", text_report);
    phases(&mut o, r, view);
    if let Some(line) = cuda_hook_table::totals_line(r) {
        let _ = writeln!(o, "### CUDA allocations\n\n{}\n", cell(&line));
        let rows = cuda_hook_table::rows(r);
        if !rows.is_empty() {
            table(&mut o, cuda_hook_table::COLUMNS, &rows);
            o.push('\n');
        }
    }
    if !r.pressure_events.is_empty() {
        let _ = writeln!(o, "### Pressure events\n");
        let rows: Vec<Vec<String>> = r
            .pressure_events
            .iter()
            .map(|e| {
                vec![
                    format!("{:.3}", e.t_s),
                    e.kind.as_str().to_owned(),
                    bytes(e.value_bytes),
                    bytes(e.threshold_bytes),
                ]
            })
            .collect();
        table(&mut o, &["time s", "event", "value", "threshold"], &rows);
        o.push('\n');
    }
    if !r.advice.is_empty() {
        let _ = writeln!(o, "### Advice\n");
        for a in &r.advice {
            let _ = writeln!(o, "- {}", a.message);
        }
    }
    o
}
