//! HTML: one self-contained page (`jetmem report --format html`). The page
//! embeds the JSON report of `docs/report-json.md` and each trace's
//! downsampled timeline as one JSON block; its inline script (plain JS and
//! SVG, no library) builds the tables and the interactive timelines from it.
//! A Content-Security-Policy of `default-src 'none'` forbids every network
//! request. See docs/report-html.md.

pub mod timeline;

use serde::Serialize;

use crate::analyze::Analysis;
use crate::report::comparison::Comparison;
use crate::report::model::Report;
use timeline::Timeline;

const PAGE: &str = include_str!("html/page.html");
const CSS: &str = include_str!("html/page.css");
const JS: &str = include_str!("html/page.js");

/// Phase occurrences embedded per trace (shaded on the timeline); the
/// per-label summary always covers them all. Keeps a trace of per-frame
/// phases small.
pub const MAX_PHASES: usize = 2000;

#[derive(Serialize)]
struct Data {
    version: &'static str,
    reports: Vec<Report>,
    /// The figures compared and their deltas against the baseline.
    comparison: Comparison,
    /// Per trace: phase occurrences left out of `reports[i].phases`.
    phases_not_embedded: Vec<usize>,
    timelines: Vec<Timeline>,
}

/// The page for one trace, or for several (a comparison against `baseline`).
pub fn render(analyses: &[Analysis], baseline: usize) -> String {
    let mut reports: Vec<Report> = analyses.iter().map(|a| a.report.clone()).collect();
    // Before the phases are cut: frames/s reads every occurrence.
    let comparison = Comparison::new(&reports, baseline);
    let phases_not_embedded = reports
        .iter_mut()
        .map(|r| {
            let left_out = r.phases.len().saturating_sub(MAX_PHASES);
            r.phases.truncate(MAX_PHASES);
            left_out
        })
        .collect();
    let data = Data {
        version: env!("CARGO_PKG_VERSION"),
        comparison,
        reports,
        phases_not_embedded,
        timelines: analyses.iter().map(Timeline::new).collect(),
    };
    // Serialising plain structs of numbers and strings cannot fail.
    let json = serde_json::to_string(&data).unwrap_or_default();
    PAGE.replace("{{VERSION}}", env!("CARGO_PKG_VERSION"))
        .replace("{{CSS}}", CSS)
        .replace("{{JS}}", JS)
        .replace("{{DATA}}", &script_safe(&json))
}

/// JSON that can sit inside a `<script>` element: `<`, `>` and `&` as JSON
/// escapes, so no string in a trace (a label, a command) can close the
/// element or open markup.
fn script_safe(json: &str) -> String {
    let mut o = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => o.push_str("\\u003c"),
            '>' => o.push_str("\\u003e"),
            '&' => o.push_str("\\u0026"),
            c => o.push(c),
        }
    }
    o
}
