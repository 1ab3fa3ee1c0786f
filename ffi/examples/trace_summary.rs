//! Prints the phases, marks and allocator peaks of traces written through the
//! C ABI. tests/ffi/run.sh uses it where the built `jetmem` has no `report`
//! command yet.
//!
//! Usage: `cargo run -p jetmem-ffi --example trace_summary -- TRACE.jmt...`

use jetmem_core::record::{MarkKind, Record};
use jetmem_core::wire::Item;
use jetmem_core::wire::stream::TraceReader;
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Default)]
struct Phase {
    begins: u64,
    ends: u64,
    instants: u64,
}

fn max(a: &mut Option<u64>, b: Option<u64>) {
    if let Some(b) = b {
        *a = Some(a.map_or(b, |a| a.max(b)));
    }
}

fn fmt(v: Option<u64>) -> String {
    v.map_or_else(|| "unknown".to_owned(), |v| v.to_string())
}

fn summarize(path: &str) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut reader = TraceReader::new(file).map_err(|e| format!("{path}: {e}"))?;
    let mut phases: BTreeMap<String, Phase> = BTreeMap::new();
    let mut peaks: BTreeMap<u8, [Option<u64>; 4]> = BTreeMap::new();
    let mut label = String::new();
    let mut ended = false;
    let mut samples = 0u64;
    for item in reader.by_ref() {
        match item.map_err(|e| format!("{path}: {e}"))? {
            Item::Header(h) => label = h.label.as_str().to_owned(),
            Item::Record(Record::Mark(m)) => {
                let p = phases.entry(m.label.as_str().to_owned()).or_default();
                match m.kind {
                    MarkKind::Begin => p.begins += 1,
                    MarkKind::End => p.ends += 1,
                    _ => p.instants += 1,
                }
            }
            Item::Record(Record::Allocator(a)) => {
                let e = peaks.entry(a.device).or_default();
                max(&mut e[0], a.allocated);
                max(&mut e[1], a.reserved);
                max(&mut e[2], a.peak_allocated);
                max(&mut e[3], a.peak_reserved);
            }
            Item::Record(Record::Sample(_)) => samples += 1,
            Item::Record(Record::End(_)) => ended = true,
            _ => {}
        }
    }
    println!("trace {path} label={label:?} samples={samples} clean_end={ended}");
    for (name, p) in &phases {
        println!(
            "phase {name:?}: begin={} end={} instant={}",
            p.begins, p.ends, p.instants
        );
    }
    for (dev, [a, r, pa, pr]) in &peaks {
        println!(
            "allocator device={dev}: max_allocated={} max_reserved={} peak_allocated={} peak_reserved={}",
            fmt(*a),
            fmt(*r),
            fmt(*pa),
            fmt(*pr)
        );
    }
    let s = reader.stats();
    if s.skipped_bytes != 0 || s.malformed_frames != 0 || !ended {
        return Err(format!("{path}: damaged or unfinished trace: {s:?}"));
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut ok = true;
    for path in std::env::args().skip(1) {
        if let Err(e) = summarize(&path) {
            eprintln!("{e}");
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
