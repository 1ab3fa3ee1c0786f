//! Fuzzes the report analysis's core: every record a (crafted) trace decodes
//! to goes through core::accounting as the report does (figures with their
//! plausibility screen, peaks, pressure and budget events, phase pairing).
//! Nothing may panic, figures never exceed the plausible bound, and the open
//! phases stay within their cap.
#![no_main]

use jetmem_core::accounting::{
    MAX_OPEN_PHASES, MAX_PLAUSIBLE_BYTES, Peaks, PhaseTracker, PressureConfig, PressureTracker,
    figures,
};
use jetmem_core::record::{Header, MarkKind, Record};
use jetmem_core::wire::stream::TraceReader;
use jetmem_core::wire::{Item, TraceWriter};
use libfuzzer_sys::fuzz_target;

fn analyse(bytes: &[u8]) {
    let Ok(mut r) = TraceReader::new(bytes) else {
        return;
    };
    let mut header = Header::default();
    let mut peaks = Peaks::new();
    let mut pressure = PressureTracker::new(PressureConfig::default());
    let mut phases: PhaseTracker<u64> = PhaseTracker::new();
    let _ = r.for_each_item(|item| match item {
        Item::Header(h) => header = h.clone(),
        Item::Record(Record::Sample(s)) => {
            let f = figures(&header.platform, &s.counters);
            for v in [f.used, f.available, f.gpu_used, f.cpu_os_used, f.total].into_iter().flatten() {
                assert!(v <= MAX_PLAUSIBLE_BYTES, "an implausible figure: {v}");
            }
            let _ = peaks.update(s.t_ns, &f, &s.counters);
            let _ = pressure.update(s.t_ns, &f);
            for p in phases.open_mut() {
                *p = (*p).max(s.t_ns);
            }
        }
        Item::Record(Record::Mark(m)) => match m.kind {
            MarkKind::Begin => {
                let _ = phases.begin(m.t_ns);
            }
            MarkKind::End => {
                let _ = phases.end(|_| true);
            }
            _ => {}
        },
        _ => {}
    });
    assert!(phases.open_mut().count() <= MAX_OPEN_PHASES);
}

fuzz_target!(|data: &[u8]| {
    let mut valid = TraceWriter::new(Vec::new(), 0)
        .expect("a Vec takes the preamble")
        .into_inner();
    valid.extend_from_slice(data);
    analyse(&valid);
    analyse(data);
});
