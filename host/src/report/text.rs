//! The text report of one trace.

use std::fmt::Write;

use jetmem_core::accounting::USED_DIFFERENCE;
use jetmem_core::record::{Architecture, GpuSource};

use crate::args::PhaseView;
use crate::escape::printable;
use crate::report::aligned;
use crate::report::cuda_hook_table;
use crate::report::model::{Report, Tegrastats};
use crate::report::phase_table::{
    OCCURRENCE_COLUMNS, SUMMARY_COLUMNS, occurrence_rows, summary_rows,
};
use crate::style::Style;
use crate::units::{bytes, count, grouped, opt_bytes, percent, signed_bytes};

/// Renders `r` as the text report; `phases` says how much of the phases to show.
pub fn render(r: &Report, phases: PhaseView, style: Style) -> String {
    let mut o = summary(r, style);
    phase_section(&mut o, r, phases);
    cuda_hook_section(&mut o, r);
    events(&mut o, r, style);
    advice(&mut o, r, style);
    o
}

/// The figures part of the report, without phases, events and advice.
pub fn summary(r: &Report, style: Style) -> String {
    let mut o = String::new();
    let title = format!("jetmem report: {}", printable(&r.label));
    let _ = writeln!(o, "{}", style.bold(&title));
    if !r.command.is_empty() {
        // One line, whatever the arguments hold (`python3 -c` scripts have newlines).
        let _ = writeln!(o, "Command: {}", printable(&r.command));
    }
    match r.architecture {
        Architecture::Unified => unified(&mut o, r),
        Architecture::Discrete => discrete(&mut o, r),
        _ => cpu_only(&mut o, r),
    }
    common(&mut o, r, style);
    for v in &r.implausible {
        let _ = writeln!(
            o,
            "Implausible: {} reached {} B ({}); left out of every figure",
            v.source, v.max_value, v.rule
        );
    }
    o
}

fn peak_line(r: &Report, what: &str) -> String {
    match (r.system.used_peak_bytes, r.system.total_bytes) {
        (Some(u), Some(t)) => format!(
            "{what} peak: {} of {} ({} %)",
            bytes(u),
            bytes(t),
            percent(u, t)
        ),
        (Some(u), None) => format!("{what} peak: {}", bytes(u)),
        _ => format!("{what} peak: unknown (no MemTotal/MemAvailable in the trace)"),
    }
}

fn gpu_label(r: &Report) -> &'static str {
    match r.gpu.source {
        GpuSource::MeminfoNvmap | GpuSource::NvmapTotal | GpuSource::NvmapClients => {
            "GPU (nvmap, subset)"
        }
        GpuSource::Cuda => "GPU (CUDA, subset)",
        GpuSource::Nvml => "GPU (NVML, subset)",
        _ => "GPU (subset)",
    }
}

fn machine(r: &Report) -> String {
    let mut parts = Vec::new();
    if let Some(m) = &r.platform.model {
        parts.push(m.clone());
    } else if let Some(d) = &r.platform.cuda_device {
        parts.push(d.clone());
    }
    if let Some(j) = &r.platform.jetpack {
        parts.push(format!("JetPack {j}"));
    } else if let Some(l) = &r.platform.l4t {
        parts.push(format!("L4T {l}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", printable(&parts.join(", ")))
    }
}

fn unified(o: &mut String, r: &Report) {
    let _ = writeln!(o, "{}", peak_line(r, "System memory"));
    let label = gpu_label(r);
    match (
        r.gpu.used_at_system_peak_bytes,
        r.gpu.cpu_os_at_system_peak_bytes,
    ) {
        (Some(g), Some(c)) => {
            let w = label.len().max("CPU / OS (rest)".len()) + 1;
            let _ = writeln!(o, "  ├─ {:<w$} {}", format!("{label}:"), bytes(g));
            let _ = writeln!(o, "  └─ {:<w$} {}", "CPU / OS (rest):", bytes(c));
        }
        _ => {
            let why = r
                .gpu
                .reason
                .as_deref()
                .unwrap_or("no GPU source in the trace");
            let _ = writeln!(o, "  └─ GPU share unknown: {why}");
        }
    }
    let _ = writeln!(o, "Architecture: unified memory{}", machine(r));
    if let Some(g) = r.gpu.used_peak_bytes {
        let _ = writeln!(
            o,
            "GPU peak: {} (part of system memory, never added to it)",
            bytes(g)
        );
    }
}

fn discrete(o: &mut String, r: &Report) {
    let _ = writeln!(o, "{}", peak_line(r, "System memory (RAM)"));
    let _ = writeln!(
        o,
        "GPU memory (VRAM) peak: {}",
        opt_bytes(r.gpu.used_peak_bytes)
    );
    match (
        r.total_peak_bytes,
        r.total_peak.vram_bytes,
        r.total_peak.ram_bytes,
    ) {
        (Some(t), Some(v), Some(ram)) => {
            let _ = writeln!(
                o,
                "Total peak: {} = VRAM {} + RAM {} (at {:.3} s)",
                bytes(t),
                bytes(v),
                bytes(ram),
                r.total_peak.t_s.unwrap_or(0.0)
            );
        }
        _ => {
            let why = r.gpu.reason.as_deref().unwrap_or("VRAM not in the trace");
            let _ = writeln!(o, "Total peak: unknown ({why})");
        }
    }
    let _ = writeln!(o, "Architecture: discrete GPU{}", machine(r));
}

fn cpu_only(o: &mut String, r: &Report) {
    let _ = writeln!(o, "{}", peak_line(r, "System memory"));
    let _ = writeln!(o, "Architecture: CPU only, no GPU seen{}", machine(r));
}

/// tegrastats/jtop's "used" and why it differs from ours: the same two lines in
/// `report` and `info`.
pub fn used_tegrastats_lines(
    o: &mut String,
    head: &str,
    value: u64,
    definition: &str,
    indent: &str,
) {
    let _ = writeln!(o, "{head}: {} ({definition})", bytes(value));
    let _ = writeln!(o, "{indent}differs: {USED_DIFFERENCE}");
}

fn common(o: &mut String, r: &Report, style: Style) {
    let s = &r.system;
    let _ = writeln!(o, "Used = {}", s.used_definition);
    if let Some(t) = s.used_tegrastats_peak_bytes {
        used_tegrastats_lines(
            o,
            "Used (tegrastats/jtop definition) peak",
            t,
            s.used_tegrastats_definition,
            "  ",
        );
    }
    if let Some(a) = s.available_min_bytes {
        let _ = writeln!(o, "Available minimum: {}", bytes(a));
    }
    if let Some(sw) = s.swap_used_peak_bytes {
        let zram = if s.swap_is_zram {
            " (zram: compressed into the same DRAM)"
        } else {
            ""
        };
        let _ = writeln!(o, "Swap used peak: {}{zram}", bytes(sw));
    }
    if let Some(t) = &r.tegrastats {
        tegrastats(o, t);
    }
    let p = &r.process;
    if let Some(rss) = p.rss_peak_bytes {
        let n = p
            .processes_peak
            .map(|n| format!(" ({n} process{})", if n == 1 { "" } else { "es" }))
            .unwrap_or_default();
        let _ = writeln!(o, "Process tree peak (RSS): {}{n}", bytes(rss));
        if p.top.len() > 1 {
            let list: Vec<String> = p
                .top
                .iter()
                .map(|t| {
                    format!(
                        "{} ({}) {}",
                        printable(t.name.as_deref().unwrap_or("?")),
                        t.pid,
                        opt_bytes(t.rss_peak_bytes)
                    )
                })
                .collect();
            let _ = writeln!(o, "  largest: {}", list.join(", "));
        }
    }
    if p.pinned_peak_bytes.is_some() || p.locked_peak_bytes.is_some() {
        let _ = writeln!(
            o,
            "Pinned / locked peak: {} / {}",
            opt_bytes(p.pinned_peak_bytes),
            opt_bytes(p.locked_peak_bytes)
        );
    }
    let c = &r.cuda;
    if c.alloc_peak_bytes.is_some() || c.reserved_peak_bytes.is_some() {
        let _ = writeln!(
            o,
            "CUDA allocator peak: allocated {}, reserved {}",
            opt_bytes(c.alloc_peak_bytes),
            opt_bytes(c.reserved_peak_bytes)
        );
    }
    // On unified memory cuMemGetInfo's total − free counts page cache as used: not shown.
    if let (Some(d), Architecture::Discrete) = (c.device_used_peak_bytes, r.architecture) {
        let _ = writeln!(o, "CUDA device used peak (cuMemGetInfo): {}", bytes(d));
    }
    let h = &r.headroom;
    if let (Some(b), Some(m)) = (h.budget_bytes, h.min_bytes) {
        let src = h.budget_source.describe();
        let line = format!(
            "Headroom: {} at the peak against a budget of {} ({src})",
            signed_bytes(m),
            bytes(b)
        );
        let _ = writeln!(o, "{}", if h.exceeded { style.warn(&line) } else { line });
    }
    let _ = writeln!(
        o,
        "Duration: {:.3} s, {}, {} dropped",
        r.duration_s,
        count(r.samples, "sample", "samples"),
        r.dropped
    );
    tracer_line(o, r, style);
    if let Some(code) = r.exit_code {
        let _ = writeln!(o, "Exit code: {code}");
    }
    let d = &r.damage;
    if d.skipped_bytes > 0 || !d.clean_end {
        let line = format!(
            "Damage: {} skipped ({} lost, {} truncated at the end){}",
            count(d.skipped_bytes, "byte", "bytes"),
            count(d.skipped_frames, "frame", "frames"),
            count(d.truncated_tail_bytes, "byte", "bytes"),
            if d.clean_end { "" } else { "; no end record" }
        );
        let _ = writeln!(o, "{}", style.warn(&line));
    }
}

/// "Tracer: 0.9 % of a core, 15 000 of 15 000 samples, lateness p99 0.3 ms";
/// a missed deadline or a stall turns it into a warning that says so.
fn tracer_line(o: &mut String, r: &Report, style: Style) {
    let t = &r.tracer;
    let cost = t.cpu_percent_total.map_or_else(
        || "cost unknown (no end record)".to_owned(),
        |p| format!("{p:.1} % of a core"),
    );
    let mut line = format!(
        "Tracer: {cost}, {} of {} samples",
        grouped(t.samples_taken),
        grouped(t.samples_scheduled)
    );
    if let Some(p99) = t.lateness_p99_s {
        let _ = write!(line, ", lateness p99 {:.1} ms", p99 * 1e3);
    }
    let stalls = t.gaps.len() as u64 + t.gaps_not_listed;
    if t.deadlines_missed == 0 && stalls == 0 {
        let _ = writeln!(o, "{line}");
        return;
    }
    let _ = write!(line, "; {} deadlines missed", grouped(t.deadlines_missed));
    if let Some(longest) = t
        .gaps
        .iter()
        .max_by(|a, b| a.length_s.total_cmp(&b.length_s))
    {
        let _ = write!(
            line,
            ", {stalls} stall{} (longest {:.3} s at {:.3} s)",
            if stalls == 1 { "" } else { "s" },
            longest.length_s,
            longest.t_s
        );
    }
    let _ = writeln!(o, "{}", style.warn(&line));
}

fn phase_section(o: &mut String, r: &Report, view: PhaseView) {
    if r.phases.is_empty() {
        return;
    }
    if view == PhaseView::Count {
        let _ = writeln!(o, "Phases: {} (--phases for the table)", r.phases.len());
        return;
    }
    let _ = writeln!(o, "Phase summary:");
    o.push_str(&aligned(SUMMARY_COLUMNS, &summary_rows(r), "  "));
    if view == PhaseView::All {
        let _ = writeln!(o, "Phases:");
        o.push_str(&aligned(OCCURRENCE_COLUMNS, &occurrence_rows(r), "  "));
    }
}

fn cuda_hook_section(o: &mut String, r: &Report) {
    let Some(line) = cuda_hook_table::totals_line(r) else {
        return;
    };
    let _ = writeln!(o, "{line}");
    let rows = cuda_hook_table::rows(r);
    if !rows.is_empty() {
        o.push_str(&aligned(cuda_hook_table::COLUMNS, &rows, "  "));
    }
}

fn events(o: &mut String, r: &Report, style: Style) {
    if r.pressure_events.is_empty() {
        return;
    }
    let _ = writeln!(o, "Pressure events:");
    for e in &r.pressure_events {
        let what = if e.kind.is_pressure() {
            "available"
        } else {
            "used"
        };
        let line = format!(
            "  {:>9.3} s  {:<17} {what} {} / threshold {}",
            e.t_s,
            e.kind.as_str(),
            bytes(e.value_bytes),
            bytes(e.threshold_bytes)
        );
        let _ = writeln!(o, "{}", style.warn(&line));
    }
}

fn advice(o: &mut String, r: &Report, style: Style) {
    if r.advice.is_empty() {
        return;
    }
    let _ = writeln!(o, "{}", style.bold("Advice:"));
    for a in &r.advice {
        let _ = writeln!(o, "  - {}", a.message);
    }
}

/// The figures imported from tegrastats, named as its own.
fn tegrastats(o: &mut String, t: &Tegrastats) {
    let _ = writeln!(
        o,
        "Imported from tegrastats (its own \"used\", {} resolution; not MemTotal - MemAvailable):",
        bytes(t.resolution_bytes)
    );
    if let Some(u) = t.ram_used_peak_bytes {
        let of = t
            .ram_total_bytes
            .map(|total| format!(" of {} ({} %)", bytes(total), percent(u, total)))
            .unwrap_or_default();
        let at = t
            .ram_used_peak_t_s
            .map(|s| format!(" at {s:.3} s"))
            .unwrap_or_default();
        let _ = writeln!(o, "  RAM used peak: {}{of}{at}", bytes(u));
    }
    if let Some(sw) = t.swap_used_peak_bytes {
        let _ = writeln!(
            o,
            "  swap used peak: {} of {} (cached peak {})",
            bytes(sw),
            opt_bytes(t.swap_total_bytes),
            opt_bytes(t.swap_cached_peak_bytes)
        );
    }
    if let (Some(b), Some(n)) = (t.lfb_min_bytes, t.lfb_min_blocks) {
        let _ = writeln!(
            o,
            "  largest free block, smallest seen: {} (fewest blocks of that size: {n})",
            bytes(b)
        );
    }
    let pct = |v: Option<u64>| v.map_or_else(|| "unknown".to_owned(), |v| format!("{v} %"));
    let _ = writeln!(
        o,
        "  GPU load peak: {}, GPU clock peak: {}, EMC load peak: {}",
        pct(t.gpu_load_peak_percent),
        t.gpu_freq_peak_mhz
            .map_or_else(|| "unknown".to_owned(), |f| format!("{f} MHz")),
        pct(t.emc_load_peak_percent)
    );
}
