//! Markdown: a report for issues and pull requests, or a comparison table.

use std::fmt::Write;

use crate::escape::printable;
use crate::report::model::Report;
use crate::report::summary::{TABLE_COLUMNS, table_cells};
use crate::report::text;
use crate::style::Style;
use crate::units::{bytes, opt_bytes};

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

/// The comparison table of several traces.
pub fn comparison(reports: &[Report]) -> String {
    let mut o = String::new();
    let rows: Vec<Vec<String>> = reports.iter().map(table_cells).collect();
    table(&mut o, TABLE_COLUMNS, &rows);
    o
}

/// The full report of one trace: the figures in a code block, then phases, events and advice.
pub fn render(r: &Report) -> String {
    let text_report = text::summary(r, Style::PLAIN);
    let mut o = String::new();
    let _ = writeln!(o, "## jetmem report: {}\n", cell(&r.label));
    let _ = writeln!(o, "```text\n{}```\n", text_report);
    if !r.phases.is_empty() {
        let _ = writeln!(o, "### Phases\n");
        let rows: Vec<Vec<String>> = r
            .phases
            .iter()
            .map(|p| {
                vec![
                    p.label.clone(),
                    format!("{:.3}", p.start_s),
                    format!("{:.3}", p.duration_s),
                    opt_bytes(p.system_used_peak_bytes),
                    opt_bytes(p.gpu_used_peak_bytes),
                    opt_bytes(p.rss_peak_bytes),
                ]
            })
            .collect();
        table(
            &mut o,
            &[
                "phase",
                "start s",
                "length s",
                "system peak",
                "GPU peak",
                "RSS peak",
            ],
            &rows,
        );
        o.push('\n');
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
