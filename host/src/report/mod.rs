//! Reports of traces: the model and its renderers.

pub mod advice;
pub mod csv;
pub mod json;
pub mod markdown;
pub mod model;
pub mod summary;
pub mod text;

use std::fmt::Write;

use crate::report::model::Report;
use crate::report::summary::{TABLE_COLUMNS, table_cells};

/// The text comparison table of several traces, columns aligned.
pub fn comparison_text(reports: &[Report]) -> String {
    let rows: Vec<Vec<String>> = reports.iter().map(table_cells).collect();
    let widths: Vec<usize> = TABLE_COLUMNS
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
        let _ = writeln!(o, "{}", parts.join("  ").trim_end());
    };
    let head: Vec<String> = TABLE_COLUMNS.iter().map(|s| (*s).to_owned()).collect();
    line(&mut o, &head);
    for r in &rows {
        line(&mut o, r);
    }
    o
}
