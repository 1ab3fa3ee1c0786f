//! Synthetic traces of any length, written with the real encoder
//! (`wire::TraceWriter`) the way the live writer lays them out: the real 10 ms
//! capture (`capture.rs`) replayed in a loop, re-timed to the interval, one
//! frame per 100 ms of samples, a phase (Begin/End marks) every minute, a
//! pressure event pair every ten minutes, and an `End` record. Generated as it
//! is written: memory does not grow with the length.

use std::io::{self, Write};

use jetmem_core::record::{
    Architecture, End, Event, EventKind, Header, Mark, MarkKind, Platform, Record,
};
use jetmem_core::text::truncated;
use jetmem_core::wire::TraceWriter;

use crate::capture::{CAPTURE_CSV, read_capture_csv};

/// The live writer flushes a frame every 100 ms.
const FRAME_NS: u64 = 100_000_000;
const MINUTE_NS: u64 = 60_000_000_000;

/// The header of a synthetic trace: the capture machine (x86-64, CPU only).
pub fn synthetic_header(interval_ns: u64, mem_total: Option<u64>) -> Header {
    Header {
        platform: Platform {
            architecture: Architecture::CpuOnly,
            page_size: 4096,
            mem_total_bytes: mem_total,
            ..Platform::default()
        },
        interval_ns,
        command: truncated("synthetic replay of workload-capture-10ms"),
        label: truncated("synthetic"),
        pressure_threshold_permille: 200,
        ..Header::default()
    }
}

/// Writes a trace of `samples` samples `interval_ns` apart to `out`.
pub fn write_synthetic<W: Write>(out: W, samples: u64, interval_ns: u64) -> io::Result<W> {
    let capture = read_capture_csv(CAPTURE_CSV);
    let mem_total = capture
        .first()
        .and_then(|s| s.counters.get(jetmem_core::record::Counter::MemTotal));
    let mut w = TraceWriter::new(out, TraceWriter::<W>::DEFAULT_FRAME_CAPACITY)?;
    w.write_header(&synthetic_header(interval_ns, mem_total))?;
    let per_frame = (FRAME_NS / interval_ns.max(1)).max(1);
    let mut frame: Vec<Record> = Vec::with_capacity(per_frame as usize + 4);
    let mut k = 0u64;
    while k < samples {
        frame.clear();
        for k in k..(k + per_frame).min(samples) {
            let t_ns = k * interval_ns;
            let prev = t_ns.saturating_sub(interval_ns);
            // A minute boundary passed since the last sample: open or close the phase.
            if k > 0 && t_ns / MINUTE_NS != prev / MINUTE_NS {
                let minute = t_ns / MINUTE_NS;
                frame.push(Record::Mark(Mark {
                    t_ns,
                    kind: if minute % 2 == 1 {
                        MarkKind::Begin
                    } else {
                        MarkKind::End
                    },
                    label: truncated("step"),
                    pid: None,
                }));
                if minute % 10 == 5 {
                    frame.push(pressure(t_ns, EventKind::PressureEntered));
                } else if minute % 10 == 6 {
                    frame.push(pressure(t_ns, EventKind::PressureLeft));
                }
            }
            let mut s = capture[(k % capture.len() as u64) as usize];
            s.t_ns = t_ns;
            frame.push(Record::Sample(s));
        }
        w.write_records(&frame)?;
        k += per_frame;
    }
    let t_ns = samples.saturating_sub(1) * interval_ns;
    w.write_records(&[Record::End(End {
        t_ns,
        samples,
        dropped: 0,
        sampler_cpu_ns: t_ns / 100,
        writer_cpu_ns: t_ns / 1000,
        lateness_p50_ns: 60_000,
        lateness_p99_ns: 300_000,
        lateness_max_ns: 900_000,
        exit_code: Some(0),
    })])?;
    Ok(w.into_inner())
}

fn pressure(t_ns: u64, kind: EventKind) -> Record {
    Record::Event(Event {
        t_ns,
        kind,
        value: 1 << 30,
        threshold: 1 << 30,
    })
}
