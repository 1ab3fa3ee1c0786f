//! One summary row per trace: the comparison table's columns, shared by text, CSV and Markdown.

use jetmem_core::record::Architecture;

use crate::escape::printable;
use crate::report::model::Report;
use crate::units::{bytes, mib};

/// Column names of the CSV summary (units in the names).
pub const CSV_COLUMNS: &[&str] = &[
    "label",
    "architecture",
    "system_total_mib",
    "system_used_peak_mib",
    "gpu_used_peak_mib",
    "gpu_source",
    "cuda_alloc_peak_mib",
    "cuda_reserved_peak_mib",
    "process_rss_peak_mib",
    "total_peak_mib",
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

fn mib_cell(v: Option<u64>) -> String {
    v.map(|b| format!("{:.2}", mib(b))).unwrap_or_default()
}

/// The CSV cells of one report, in [`CSV_COLUMNS`] order.
pub fn csv_cells(r: &Report) -> Vec<String> {
    vec![
        r.label.clone(),
        r.architecture.as_str().to_owned(),
        mib_cell(r.system.total_bytes),
        mib_cell(r.system.used_peak_bytes),
        mib_cell(r.gpu.used_peak_bytes),
        r.gpu.source.as_str().unwrap_or_default().to_owned(),
        mib_cell(r.cuda.alloc_peak_bytes),
        mib_cell(r.cuda.reserved_peak_bytes),
        mib_cell(r.process.rss_peak_bytes),
        mib_cell(r.total_peak_bytes),
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
            _ => r
                .system
                .used_peak_bytes
                .map(bytes)
                .unwrap_or_else(|| "unknown".to_owned()),
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
