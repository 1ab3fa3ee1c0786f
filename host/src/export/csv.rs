//! `export --format csv`: `t_s`, the counters present anywhere in the trace,
//! derived figures, `phase`; one row per sample, written as it decodes.

use std::io::Write;
use std::path::Path;

use jetmem_core::accounting::{PhaseTracker, figures};
use jetmem_core::record::{Counter, MarkKind, Record};
use jetmem_core::wire::Item;

use crate::error::CliError;
use crate::report::csv::field;
use crate::sink::Sink;
use crate::trace;
use crate::units::secs;

/// Derived columns added after the raw counters.
const DERIVED: &[&str] = &[
    "system_used_bytes",
    "cpu_os_used_bytes",
    "vram_used_bytes",
    "total_used_bytes",
    "swap_used_bytes",
];

/// Writes `,v` (or `,` for unknown).
fn cell(out: &mut Sink, v: Option<u64>) {
    let _ = match v {
        Some(v) => write!(out, ",{v}"),
        None => out.write_all(b","),
    };
}

/// Two passes: the counters present anywhere (the columns), then the rows.
pub fn write(path: &Path, out: &mut Sink) -> Result<(), CliError> {
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
    let _ = out.write_all(b"t_s");
    for c in &columns {
        let _ = write!(out, ",{}", c.key());
    }
    for d in DERIVED {
        let _ = write!(out, ",{d}");
    }
    let _ = out.write_all(b",phase\n");
    // (label, writer): an End closes its own writer's phase, as the report pairs them.
    let mut open: PhaseTracker<(String, Option<u32>)> = PhaseTracker::new();
    trace::read_pass(path, false, |h, item| match item {
        _ if out.failed() => {}
        Item::Record(Record::Sample(s)) => {
            let f = figures(&h.platform, &s.counters);
            let _ = write!(out, "{:.3}", secs(s.t_ns));
            for c in &columns {
                cell(out, s.counters.get(*c));
            }
            for v in [
                f.used,
                f.cpu_os_used,
                f.vram_used,
                f.total_used,
                f.swap_used,
            ] {
                cell(out, v);
            }
            let phase = field(open.innermost().map_or("", |(l, _)| l.as_str()));
            let _ = writeln!(out, ",{phase}");
        }
        Item::Record(Record::Mark(m)) => {
            let writer = m.pid.or(h.pid);
            match m.kind {
                MarkKind::Begin => {
                    open.begin((m.label.to_string(), writer));
                }
                MarkKind::End => {
                    open.end(|(l, w)| l == m.label.as_str() && *w == writer);
                }
                _ => {}
            }
        }
        _ => {}
    })?;
    Ok(())
}
