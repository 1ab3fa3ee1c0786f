//! CSV: one summary row per trace, pandas-ready (units in column names).

use crate::escape::printable;
use crate::report::model::Report;
use crate::report::summary::{CSV_COLUMNS, csv_cells};

/// Escapes control characters (`escape::printable`), then quotes a CSV field
/// when it needs it (RFC 4180).
pub fn field(s: &str) -> String {
    let s = printable(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

/// Renders the header line and one row per report.
pub fn render(reports: &[Report]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for r in reports {
        let cells: Vec<String> = csv_cells(r).iter().map(|c| field(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
