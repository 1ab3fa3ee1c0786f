//! The `--cuda-hook` section: one line of tree totals and the per-process
//! table, as text the text and Markdown renderers lay out.

use jetmem_core::record::Architecture;

use crate::report::model::Report;
use crate::units::bytes;

/// Columns of the per-process table.
pub const COLUMNS: &[&str] = &[
    "pid",
    "process",
    "device peak",
    "device at end",
    "managed peak",
    "pinned peak",
    "VMM peak",
    "allocs",
    "frees",
];

/// The tree totals line and how they relate to the other figures, if hooked.
pub fn totals_line(r: &Report) -> Option<String> {
    let h = r.cuda_hook.as_ref()?;
    let how = match r.architecture {
        Architecture::Unified => "part of system used, not added",
        Architecture::Discrete => "device bytes are VRAM, pinned bytes are RAM",
        _ => "no GPU detected",
    };
    let mut line = format!(
        "CUDA allocations (--cuda-hook, tree peak; {how}): device {}, managed {}, pinned {}, VMM {}",
        bytes(h.device_peak_bytes),
        bytes(h.managed_peak_bytes),
        bytes(h.pinned_peak_bytes),
        bytes(h.vmm_peak_bytes)
    );
    if h.table_overflow > 0 {
        line.push_str(&format!(
            "; {} allocations not tracked (pointer table full)",
            h.table_overflow
        ));
    }
    Some(line)
}

/// One row per hooked process that made a counted call.
pub fn rows(r: &Report) -> Vec<Vec<String>> {
    let Some(h) = &r.cuda_hook else {
        return Vec::new();
    };
    h.processes
        .iter()
        .map(|p| {
            vec![
                p.pid.to_string(),
                p.name.clone().unwrap_or_else(|| "?".to_owned()),
                bytes(p.device_peak_bytes),
                bytes(p.device_end_bytes),
                bytes(p.managed_peak_bytes),
                bytes(p.pinned_peak_bytes),
                bytes(p.vmm_peak_bytes),
                p.allocations.to_string(),
                p.frees.to_string(),
            ]
        })
        .collect()
}
