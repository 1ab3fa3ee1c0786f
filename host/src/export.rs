//! `jetmem export`: every sample as CSV or JSON, or Chrome / Perfetto trace-event JSON.

use std::fmt::Write as _;
use std::path::Path;

use jetmem_core::accounting::{Figures, PhaseTracker, figures};
use jetmem_core::record::{Counter, Counters, Header, MarkKind, Record};
use jetmem_core::wire::Item;
use serde_json::{Value, json};

use crate::args::{ExportArgs, ExportFormat};
use crate::error::CliError;
use crate::output::write_output;
use crate::report::csv::field;
use crate::trace;
use crate::units::{mib, secs};

/// Runs `jetmem export`.
pub fn run(a: &ExportArgs) -> Result<(), CliError> {
    let text = match a.format {
        ExportFormat::Csv => csv(&a.trace)?,
        ExportFormat::Json => json_export(&a.trace)?,
        ExportFormat::Perfetto => perfetto(&a.trace)?,
    };
    write_output(a.output.as_deref(), a.force, text.as_bytes())
}

/// Derived columns added after the raw counters.
const DERIVED: &[&str] = &[
    "system_used_bytes",
    "cpu_os_used_bytes",
    "vram_used_bytes",
    "total_used_bytes",
    "swap_used_bytes",
];

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The samples as CSV: `t_s`, the counters present anywhere in the trace, derived figures, `phase`.
pub fn csv(path: &Path) -> Result<String, CliError> {
    let mut mask = 0u64;
    trace::read(path, |_, item| {
        if let Item::Record(Record::Sample(s)) = item {
            mask |= s.counters.present_mask();
        }
    })?;
    let columns: Vec<Counter> = Counter::ALL
        .iter()
        .copied()
        .filter(|c| mask & (1u64 << (*c as u8)) != 0)
        .collect();
    let mut out = String::from("t_s");
    for c in &columns {
        out.push(',');
        out.push_str(c.key());
    }
    for d in DERIVED {
        out.push(',');
        out.push_str(d);
    }
    out.push_str(",phase\n");
    let mut open: PhaseTracker<String> = PhaseTracker::new();
    trace::read(path, |h, item| match item {
        Item::Record(Record::Sample(s)) => {
            let f = figures(&h.platform, &s.counters);
            let _ = write!(out, "{:.3}", secs(s.t_ns));
            for c in &columns {
                let _ = write!(out, ",{}", opt(s.counters.get(*c)));
            }
            for v in [
                f.used,
                f.cpu_os_used,
                f.vram_used,
                f.total_used,
                f.swap_used,
            ] {
                let _ = write!(out, ",{}", opt(v));
            }
            let _ = writeln!(
                out,
                ",{}",
                field(open.innermost().map_or("", |s| s.as_str()))
            );
        }
        Item::Record(Record::Mark(m)) => match m.kind {
            MarkKind::Begin => {
                open.begin(m.label.to_string());
            }
            MarkKind::End => {
                open.end(|l| l == m.label.as_str());
            }
            _ => {}
        },
        _ => {}
    })?;
    Ok(out)
}

fn header_json(h: &Header) -> Value {
    let p = &h.platform;
    json!({
        "label": h.label.as_str(),
        "command": h.command.as_str(),
        "pid": h.pid,
        "architecture": p.architecture.as_str(),
        "model": p.model.as_str(),
        "soc": p.soc.as_str(),
        "jetpack": p.jetpack.as_str(),
        "cuda_device": p.cuda_device.as_str(),
        "page_size": p.page_size,
        "interval_s": h.interval_ns as f64 / 1e9,
        "start_unix_s": h.start_unix_ns as f64 / 1e9,
        "gpu_source": p.gpu_source.as_str(),
        "gpu_reason": p.gpu_reason.as_str(),
        "pressure_threshold_permille": h.pressure_threshold_permille,
        "budget_bytes": h.budget_bytes,
    })
}

/// Every record as JSON: `{"format_version", "header", "samples", "marks", "allocator", "events"}`.
pub fn json_export(path: &Path) -> Result<String, CliError> {
    let mut header = Value::Null;
    let (mut samples, mut marks, mut allocs, mut events, mut procs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let decoded = trace::read(path, |h, item| {
        if header.is_null() {
            header = header_json(h);
        }
        let Item::Record(r) = item else { return };
        match r {
            Record::Sample(s) => {
                let mut obj = serde_json::Map::new();
                obj.insert("t_s".into(), json!(secs(s.t_ns)));
                for (c, v) in s.counters.iter() {
                    obj.insert(c.key().into(), json!(v));
                }
                samples.push(Value::Object(obj));
            }
            Record::Mark(m) => marks.push(json!({
                "t_s": secs(m.t_ns),
                "kind": match m.kind { MarkKind::Begin => "begin", MarkKind::End => "end", _ => "instant" },
                "label": m.label.as_str(),
            })),
            Record::Allocator(a) => allocs.push(json!({
                "t_s": secs(a.t_ns), "device": a.device,
                "allocated_bytes": a.allocated, "reserved_bytes": a.reserved,
                "peak_allocated_bytes": a.peak_allocated, "peak_reserved_bytes": a.peak_reserved,
            })),
            Record::Event(e) => events.push(json!({
                "t_s": secs(e.t_ns), "kind": e.kind.as_str(),
                "value_bytes": e.value, "threshold_bytes": e.threshold,
            })),
            Record::Process(p) => procs.push(json!({
                "t_s": secs(p.t_ns), "pid": p.pid, "ppid": p.ppid,
                "change": format!("{:?}", p.change).to_lowercase(), "name": p.name.as_str(),
            })),
            _ => {}
        }
    })?;
    let v = json!({
        "format_version": 1,
        "header": header,
        "skipped_bytes": decoded.stats.skipped_bytes,
        "samples": samples,
        "marks": marks,
        "allocator": allocs,
        "events": events,
        "processes": procs,
    });
    Ok(serde_json::to_string(&v).unwrap_or_default() + "\n")
}

/// Counter tracks of the Perfetto export: name and how to get the value in MiB.
type Track = (&'static str, fn(&Figures, &Counters) -> Option<u64>);

const TRACKS: &[Track] = &[
    ("system used (MiB)", |f, _| f.used),
    ("available (MiB)", |f, _| f.available),
    ("GPU used (MiB)", |f, _| f.gpu_used),
    ("VRAM used (MiB)", |f, _| f.vram_used),
    ("swap used (MiB)", |f, _| f.swap_used),
    ("process tree RSS (MiB)", |_, c| c.get(Counter::TreeRss)),
];

/// Chrome / Perfetto trace-event JSON: counter tracks in MiB, phases as slices, events as instants.
pub fn perfetto(path: &Path) -> Result<String, CliError> {
    let mut ev: Vec<Value> = Vec::new();
    let mut open: PhaseTracker<(String, u64)> = PhaseTracker::new();
    let mut last_ns = 0u64;
    let mut name = String::new();
    trace::read(path, |h, item| {
        if name.is_empty() {
            name = format!(
                "jetmem: {}",
                if h.label.is_empty() {
                    h.command.as_str()
                } else {
                    h.label.as_str()
                }
            );
        }
        let Item::Record(r) = item else { return };
        last_ns = last_ns.max(r.t_ns());
        let us = |ns: u64| ns as f64 / 1e3;
        match r {
            Record::Sample(s) => {
                let f = figures(&h.platform, &s.counters);
                for (track, get) in TRACKS {
                    if let Some(v) = get(&f, &s.counters) {
                        ev.push(json!({"name": track, "ph": "C", "ts": us(s.t_ns), "pid": 1,
                            "args": {"MiB": mib(v)}}));
                    }
                }
            }
            Record::Mark(m) => match m.kind {
                MarkKind::Begin => {
                    open.begin((m.label.to_string(), m.t_ns));
                }
                MarkKind::End => {
                    if let Some((label, start)) = open.end(|(l, _)| l == m.label.as_str()) {
                        ev.push(
                            json!({"name": label, "cat": "phase", "ph": "X", "ts": us(start),
                            "dur": us(m.t_ns.saturating_sub(start)), "pid": 1, "tid": 1}),
                        );
                    }
                }
                _ => ev.push(
                    json!({"name": m.label.as_str(), "cat": "mark", "ph": "i", "s": "p",
                    "ts": us(m.t_ns), "pid": 1, "tid": 1}),
                ),
            },
            Record::Allocator(a) => {
                if let Some(v) = a.allocated {
                    ev.push(
                        json!({"name": "CUDA allocated (MiB)", "ph": "C", "ts": us(a.t_ns),
                        "pid": 1, "args": {"MiB": mib(v)}}),
                    );
                }
            }
            Record::Event(e) => ev.push(json!({"name": format!("{:?}", e.kind), "cat": "pressure",
                "ph": "i", "s": "g", "ts": us(e.t_ns), "pid": 1, "tid": 1,
                "args": {"value_MiB": mib(e.value), "threshold_MiB": mib(e.threshold)}})),
            _ => {}
        }
    })?;
    for (label, start) in open.drain() {
        ev.push(
            json!({"name": label, "cat": "phase", "ph": "X", "ts": start as f64 / 1e3,
            "dur": last_ns.saturating_sub(start) as f64 / 1e3, "pid": 1, "tid": 1}),
        );
    }
    ev.push(json!({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": name}}));
    ev.push(
        json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "phases"}}),
    );
    let v = json!({"traceEvents": ev, "displayTimeUnit": "ms"});
    Ok(serde_json::to_string(&v).unwrap_or_default() + "\n")
}
