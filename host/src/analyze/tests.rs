//! The monitor path and the recorded-trace path agree on pressure events and peaks.

use jetmem_core::accounting::{Peaks, PressureConfig, PressureTracker, default_budget, figures};
use jetmem_core::record::{
    Architecture, Counter, Counters, GpuSource, Header, Platform, Record, Sample,
};
use jetmem_core::wire::{FrameBuilder, PREAMBLE_LEN, write_preamble};

use super::analyze;
use crate::monitor::Watch;
use crate::units::secs;

const MIB: u64 = 1 << 20;

/// Available memory (MiB of 1000) and GPU used (MiB) of each reading: enters
/// pressure, sits inside the hysteresis band (where a bare threshold would
/// say "no pressure"), leaves, then crosses pressure and budget together.
const READINGS: &[(u64, u64)] = &[
    (500, 100),
    (190, 300),
    (220, 250),
    (240, 250),
    (260, 200),
    (100, 400),
    (100, 420),
    (300, 50),
    (300, 50),
];

fn platform() -> Platform {
    Platform {
        architecture: Architecture::Unified,
        gpu_source: GpuSource::MeminfoNvmap,
        mem_total_bytes: Some(1000 * MIB),
        ..Platform::default()
    }
}

fn counters(avail: u64, gpu: u64) -> Counters {
    let mut c = Counters::new();
    c.set(Counter::MemTotal, Some(1000 * MIB));
    c.set(Counter::MemAvailable, Some(avail * MIB));
    c.set(Counter::MemFree, Some(avail * MIB / 2));
    c.set(Counter::NvMapMemUsed, Some(gpu * MIB));
    c.set(Counter::GpuUsed, Some(gpu * MIB));
    c
}

/// Encodes a trace as `record` writes it: per sample, the sample and the event
/// the recorder's tracker (budget resolved as in the tracer) returns.
fn recorded_trace(path: &std::path::Path) {
    let header = Header {
        platform: platform(),
        interval_ns: 10_000_000,
        pressure_threshold_permille: PressureConfig::default().threshold_permille,
        budget_bytes: Some(default_budget(1000 * MIB)),
        ..Header::default()
    };
    let mut tracker = PressureTracker::new(PressureConfig {
        budget_bytes: header.budget_bytes,
        ..PressureConfig::default()
    });
    let mut records = Vec::new();
    for (i, &(avail, gpu)) in READINGS.iter().enumerate() {
        let s = Sample {
            t_ns: i as u64 * 10_000_000,
            counters: counters(avail, gpu),
        };
        let event = tracker.update(s.t_ns, &figures(&header.platform, &s.counters));
        records.push(Record::Sample(s));
        records.extend(event.map(Record::Event));
    }
    let mut out = vec![0u8; PREAMBLE_LEN];
    let mut pre = [0u8; PREAMBLE_LEN];
    write_preamble(&mut pre);
    out.copy_from_slice(&pre);
    let mut buf = vec![0u8; 64 * 1024];
    let mut fb = FrameBuilder::new(&mut buf, 0).unwrap();
    fb.push_header(&header).unwrap();
    out.extend_from_slice(fb.finish());
    let mut fb = FrameBuilder::new(&mut buf, 1).unwrap();
    for r in &records {
        fb.push(r).unwrap();
    }
    out.extend_from_slice(fb.finish());
    std::fs::write(path, out).unwrap();
}

#[test]
fn monitor_and_recorded_trace_agree_on_pressure_and_peaks() {
    let p = platform();
    let mut watch = Watch::new(PressureConfig::default());
    let mut events = Vec::new();
    let mut column = Vec::new();
    for (i, &(avail, gpu)) in READINGS.iter().enumerate() {
        let c = counters(avail, gpu);
        events.extend(watch.push(i as u64 * 10_000_000, &figures(&p, &c), &c));
        column.push(watch.in_pressure());
    }
    let path = std::env::temp_dir().join(format!("jetmem-agree-{}.jmt", std::process::id()));
    recorded_trace(&path);
    let report = analyze(&path, false).unwrap().report;
    let _ = std::fs::remove_file(&path);

    let recorded: Vec<_> = report
        .pressure_events
        .iter()
        .map(|e| (e.kind, e.value_bytes, e.threshold_bytes))
        .collect();
    let live: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.value, e.threshold))
        .collect();
    assert_eq!(live, recorded);
    assert_eq!(
        recorded.len(),
        6,
        "enter, leave, enter, over budget, leave, recovered"
    );
    assert_eq!(
        column,
        [false, true, true, true, false, true, true, false, false],
        "the PRESSURE column keeps the hysteresis"
    );

    let peaks = watch.peaks();
    let used = Peaks::max_of(peaks.used);
    assert_eq!(report.system.used_peak_bytes, used.value);
    assert_eq!(report.system.used_peak_t_s, Some(secs(used.t_ns)));
    assert_eq!(used.value, Some(900 * MIB));
    assert_eq!(
        report.system.available_min_bytes,
        Peaks::min_of(peaks.available).value
    );
    assert_eq!(
        report.gpu.used_peak_bytes,
        Peaks::max_of(peaks.gpu_used).value
    );
    assert_eq!(report.samples, peaks.samples);
}
