//! JSON: the stable keys of `docs/report-json.md`.

use serde::Serialize;

use crate::report::model::{REPORT_FORMAT_VERSION, Report};

#[derive(Serialize)]
struct Comparison<'a> {
    format_version: u32,
    traces: &'a [Report],
}

/// One report as a JSON object, or several as `{"format_version", "traces": [...]}`.
pub fn render(reports: &[Report]) -> String {
    let text = match reports {
        [one] => serde_json::to_string_pretty(one),
        many => serde_json::to_string_pretty(&Comparison {
            format_version: REPORT_FORMAT_VERSION,
            traces: many,
        }),
    };
    // Serialising plain structs of numbers and strings cannot fail.
    let mut text = text.unwrap_or_default();
    text.push('\n');
    text
}
