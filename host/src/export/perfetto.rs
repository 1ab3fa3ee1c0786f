//! `export --format perfetto`: Chrome / Perfetto trace-event JSON. Phases,
//! marks and pressure events are written as they decode; the counter tracks
//! (MiB) go through [`MinMax`] and are written at the end: every sample up to
//! [`EXACT_POINTS`] per track, above that the minimum and maximum of each time
//! bucket (every peak kept), which the file states in `otherData`.
//!
//! A phase is a Begin and the End with its label *from the same writer*, as
//! the report pairs them (marks without a writer pid are the traced
//! process's); each writer's phases and marks are on their own track (its
//! pid as the thread id, named after the process), so two processes' phases
//! of one label never pair across processes or overlap on one track.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use jetmem_core::accounting::{Figures, PhaseTracker, figures};
use jetmem_core::record::{Counter, Counters, MarkKind, Record};
use jetmem_core::wire::Item;
use serde_json::json;

use super::JsonArray;
use crate::downsample::MinMax;
use crate::error::CliError;
use crate::sink::Sink;
use crate::trace;
use crate::units::mib;

/// A counter track keeps every sample up to this many points, then at least
/// half as many min/max buckets (about 100 MB of JSON for all tracks at most).
pub const EXACT_POINTS: usize = 100_000;

/// Counter tracks: name and how to get the value.
type Track = (&'static str, fn(&Figures, &Counters) -> Option<u64>);

const TRACKS: &[Track] = &[
    ("system used (MiB)", |f, _| f.used),
    ("available (MiB)", |f, _| f.available),
    ("GPU used (MiB)", |f, _| f.gpu_used),
    ("VRAM used (MiB)", |f, _| f.vram_used),
    ("swap used (MiB)", |f, _| f.swap_used),
    ("process tree RSS (MiB)", |_, c| c.get(Counter::TreeRss)),
];
const CUDA_ALLOCATED: &str = "CUDA allocated (MiB)";

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

/// One pass: slices and instants streamed, counters downsampled and written last.
pub fn write(path: &Path, out: &mut Sink) -> Result<(), CliError> {
    let _ = out.write_all(b"{\"traceEvents\":[");
    let mut ev = JsonArray::default();
    let mut tracks: Vec<MinMax> = (0..=TRACKS.len())
        .map(|_| MinMax::new(EXACT_POINTS / 2))
        .collect();
    let mut open: PhaseTracker<(String, u32, u64)> = PhaseTracker::new();
    let mut last_ns = 0u64;
    let mut name = String::new();
    // Writer tracks (thread ids) and the process names the trace gives.
    let mut writers: BTreeSet<u32> = BTreeSet::new();
    let mut process_names: BTreeMap<u32, String> = BTreeMap::new();
    let phase = |label: &str, tid: u32, start: u64, end: u64| {
        json!({"name": label, "cat": "phase", "ph": "X", "ts": us(start),
            "dur": us(end.saturating_sub(start)), "pid": 1, "tid": tid})
    };
    let decoded = trace::read(path, |h, item| {
        if name.is_empty() {
            let who = if h.label.is_empty() {
                h.command.as_str()
            } else {
                h.label.as_str()
            };
            name = format!("jetmem: {who}");
            if let Some(pid) = h.pid {
                let first = h.command.split_whitespace().next().unwrap_or_default();
                let base = first.rsplit('/').next().unwrap_or(first);
                process_names.entry(pid).or_insert_with(|| base.to_owned());
            }
        }
        let Item::Record(r) = item else { return };
        if out.failed() {
            return;
        }
        last_ns = last_ns.max(r.t_ns());
        match r {
            Record::Sample(s) => {
                let f = figures(&h.platform, &s.counters);
                for ((_, get), track) in TRACKS.iter().zip(&mut tracks) {
                    if let Some(v) = get(&f, &s.counters) {
                        track.push(s.t_ns, v);
                    }
                }
            }
            Record::Mark(m) => {
                // The writer's track: its pid, else the traced process's (in-process marks).
                let tid = m.pid.or(h.pid).unwrap_or(1);
                writers.insert(tid);
                match m.kind {
                    MarkKind::Begin => {
                        open.begin((m.label.to_string(), tid, m.t_ns));
                    }
                    MarkKind::End => {
                        if let Some((label, tid, start)) =
                            open.end(|(l, w, _)| l == m.label.as_str() && *w == tid)
                        {
                            ev.push(out, &phase(&label, tid, start, m.t_ns));
                        }
                    }
                    _ => ev.push(
                        out,
                        &json!({"name": m.label.as_str(), "cat": "mark", "ph": "i", "s": "t",
                        "ts": us(m.t_ns), "pid": 1, "tid": tid}),
                    ),
                }
            }
            Record::Process(p) if !p.name.is_empty() => {
                process_names.insert(p.pid, p.name.to_string());
            }
            Record::Allocator(a) => {
                if let (Some(v), Some(track)) = (a.allocated, tracks.last_mut()) {
                    track.push(a.t_ns, v);
                }
            }
            Record::Event(e) => ev.push(
                out,
                &json!({"name": format!("{:?}", e.kind), "cat": "pressure",
                "ph": "i", "s": "g", "ts": us(e.t_ns), "pid": 1, "tid": 1,
                "args": {"value_MiB": mib(e.value), "threshold_MiB": mib(e.threshold)}}),
            ),
            _ => {}
        }
    })?;
    for (label, tid, start) in open.drain() {
        ev.push(out, &phase(&label, tid, start, last_ns));
    }
    let names = TRACKS.iter().map(|(n, _)| *n).chain([CUDA_ALLOCATED]);
    for (track_name, track) in names.zip(&tracks) {
        for p in track.points() {
            ev.push(
                out,
                &json!({"name": track_name, "ph": "C", "ts": us(p.t_ns), "pid": 1,
                    "args": {"MiB": mib(p.v)}}),
            );
        }
    }
    ev.push(
        out,
        &json!({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": name}}),
    );
    for tid in &writers {
        let track = match process_names.get(tid) {
            Some(n) => format!("phases: {} (pid {tid})", crate::escape::printable(n)),
            None => format!("phases: pid {tid}"),
        };
        ev.push(
            out,
            &json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": track}}),
        );
    }
    let _ = out.write_all(b"],\"displayTimeUnit\":\"ms\",\"otherData\":");
    let _ = serde_json::to_writer(&mut *out, &other_data(&tracks, decoded.stats.skipped_bytes));
    let _ = out.write_all(b"}\n");
    Ok(())
}

/// What the file holds of the counters: every sample, or min/max buckets of what width.
fn other_data(tracks: &[MinMax], skipped_bytes: u64) -> serde_json::Value {
    let coarsest = tracks
        .iter()
        .filter(|t| !t.is_exact())
        .map(MinMax::width_ns)
        .max();
    let counters = match coarsest {
        None => "every sample".to_owned(),
        Some(w) => format!(
            "downsampled above {EXACT_POINTS} points per track: the minimum and the maximum of \
             each {:.3} ms bucket (every peak kept)",
            w as f64 / 1e6
        ),
    };
    json!({
        "generator": "jetmem export --format perfetto",
        "counters": counters,
        "counter_bucket_ns": coarsest,
        "skipped_bytes": skipped_bytes,
    })
}
