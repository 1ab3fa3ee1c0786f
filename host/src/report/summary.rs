//! One summary row per trace: the comparison table's columns, shared by text, CSV and Markdown.

use jetmem_core::record::Architecture;

use crate::escape::printable;
use crate::report::model::Report;
use crate::units::bytes;

/// Column names of the CSV summary (units in the names).
pub const CSV_COLUMNS: &[&str] = &[
    "label",
    "architecture",
    "system_total_bytes",
    "system_used_peak_bytes",
    "gpu_used_peak_bytes",
    "gpu_source",
    "cuda_alloc_peak_bytes",
    "cuda_reserved_peak_bytes",
    "process_rss_peak_bytes",
    "total_peak_bytes",
    "duration_s",
    "samples",
    "dropped",
    "skipped_bytes",
];

/// Column headings of the human tables.
pub const TABLE_COLUMNS: &[&str] = &[
    "label",
    "architecture",
    "system peak",
    "GPU/CUDA peak",
    "process-tree peak",
    "duration",
    "samples",
];

/// Exact bytes, as the JSON has them; an empty cell when unknown.
fn bytes_cell(v: Option<u64>) -> String {
    v.map(|b| b.to_string()).unwrap_or_default()
}

/// The CSV cells of one report, in [`CSV_COLUMNS`] order.
pub fn csv_cells(r: &Report) -> Vec<String> {
    vec![
        r.label.clone(),
        r.architecture.as_str().to_owned(),
        bytes_cell(r.system.total_bytes),
        bytes_cell(r.system.used_peak_bytes),
        bytes_cell(r.gpu.used_peak_bytes),
        r.gpu.source.as_str().unwrap_or_default().to_owned(),
        bytes_cell(r.cuda.alloc_peak_bytes),
        bytes_cell(r.cuda.reserved_peak_bytes),
        bytes_cell(r.process.rss_peak_bytes),
        bytes_cell(r.total_peak_bytes),
        format!("{:.3}", r.duration_s),
        r.samples.to_string(),
        r.dropped.to_string(),
        r.skipped_bytes.to_string(),
    ]
}

/// The GPU/CUDA cell: GPU used (marked as a subset on unified memory), else the CUDA allocator.
fn gpu_cell(r: &Report) -> String {
    match (r.gpu.used_peak_bytes, r.cuda.alloc_peak_bytes) {
        (Some(g), _) if r.gpu.subset_of_system => format!("{} (in system)", bytes(g)),
        (Some(g), _) => format!("{} VRAM", bytes(g)),
        (None, Some(a)) => format!("{} CUDA alloc", bytes(a)),
        (None, None) => "unknown".to_owned(),
    }
}

/// The human cells of one report, in [`TABLE_COLUMNS`] order.
pub fn table_cells(r: &Report) -> Vec<String> {
    vec![
        printable(&r.label).into_owned(),
        r.architecture.as_str().to_owned(),
        match r.architecture {
            Architecture::Discrete => r
                .total_peak_bytes
                .map(|t| format!("{} (RAM+VRAM)", bytes(t)))
                .unwrap_or_else(|| "unknown".to_owned()),
            _ => match (r.system.used_peak_bytes, &r.tegrastats) {
                (Some(u), _) => bytes(u),
                // An imported tegrastats log: its own "used", named as such.
                (None, Some(t)) => t
                    .ram_used_peak_bytes
                    .map(|u| format!("{} (tegrastats)", bytes(u)))
                    .unwrap_or_else(|| "unknown".to_owned()),
                (None, None) => "unknown".to_owned(),
            },
        },
        gpu_cell(r),
        r.process
            .rss_peak_bytes
            .map(bytes)
            .unwrap_or_else(|| "-".to_owned()),
        format!("{:.1} s", r.duration_s),
        r.samples.to_string(),
    ]
}
