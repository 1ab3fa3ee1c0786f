//! `export --format json`: every record as
//! `{"format_version", "header", "samples", "marks", "allocator", "events", "processes", "skipped_bytes"}`,
//! one decoding pass per array, each element written as it decodes.

use std::io::Write;
use std::path::Path;

use jetmem_core::record::{Header, MarkKind, Record};
use jetmem_core::wire::Item;
use serde_json::{Value, json};

use super::JsonArray;
use crate::error::CliError;
use crate::sink::Sink;
use crate::trace;
use crate::units::secs;

/// An array of the export: its key, and the JSON of the records it holds.
type Section = (&'static str, fn(&Record) -> Option<Value>);

/// The arrays of the export, in order.
const SECTIONS: &[Section] = &[
    ("samples", sample),
    ("marks", mark),
    ("allocator", allocator),
    ("events", event),
    ("processes", process),
];

fn sample(r: &Record) -> Option<Value> {
    let Record::Sample(s) = r else { return None };
    let mut obj = serde_json::Map::new();
    obj.insert("t_s".into(), json!(secs(s.t_ns)));
    for (c, v) in s.counters.iter() {
        obj.insert(c.key().into(), json!(v));
    }
    Some(Value::Object(obj))
}

fn mark(r: &Record) -> Option<Value> {
    let Record::Mark(m) = r else { return None };
    let kind = match m.kind {
        MarkKind::Begin => "begin",
        MarkKind::End => "end",
        _ => "instant",
    };
    Some(json!({"t_s": secs(m.t_ns), "kind": kind, "label": m.label.as_str()}))
}

fn allocator(r: &Record) -> Option<Value> {
    let Record::Allocator(a) = r else { return None };
    Some(json!({
        "t_s": secs(a.t_ns), "device": a.device,
        "allocated_bytes": a.allocated, "reserved_bytes": a.reserved,
        "peak_allocated_bytes": a.peak_allocated, "peak_reserved_bytes": a.peak_reserved,
    }))
}

fn event(r: &Record) -> Option<Value> {
    let Record::Event(e) = r else { return None };
    Some(json!({
        "t_s": secs(e.t_ns), "kind": e.kind.as_str(),
        "value_bytes": e.value, "threshold_bytes": e.threshold,
    }))
}

fn process(r: &Record) -> Option<Value> {
    let Record::Process(p) = r else { return None };
    Some(json!({
        "t_s": secs(p.t_ns), "pid": p.pid, "ppid": p.ppid,
        "change": format!("{:?}", p.change).to_lowercase(), "name": p.name.as_str(),
    }))
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

/// One pass per array; the header opens the object during the first.
pub fn write(path: &Path, out: &mut Sink) -> Result<(), CliError> {
    let mut skipped_bytes = 0;
    for (pass, (key, to_json)) in SECTIONS.iter().enumerate() {
        if pass > 0 {
            let _ = write!(out, "],\"{key}\":[");
        }
        let mut array = JsonArray::default();
        let decoded = trace::read_pass(path, pass == 0, |h, item| match item {
            _ if out.failed() => {}
            Item::Header(_) if pass == 0 => {
                let _ = out.write_all(b"{\"format_version\":1,\"header\":");
                let _ = serde_json::to_writer(&mut *out, &header_json(h));
                let _ = write!(out, ",\"{key}\":[");
            }
            Item::Record(r) => {
                if let Some(v) = to_json(r) {
                    array.push(out, &v);
                }
            }
            _ => {}
        })?;
        skipped_bytes = decoded.stats.skipped_bytes;
    }
    let _ = writeln!(out, "],\"skipped_bytes\":{skipped_bytes}}}");
    Ok(())
}
