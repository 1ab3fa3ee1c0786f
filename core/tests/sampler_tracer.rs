//! End-to-end: a tracer samples a real process tree into a file that decodes.

use jetmem_core::record::{Counter, MarkKind, Record};
use jetmem_core::sampler::{MarkError, SamplerConfig, SamplerError, StopReport, Target, Tracer};
use jetmem_core::wire::Item;
use jetmem_core::wire::stream::TraceReader;
use std::time::Duration;

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("jetmem-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn decode(path: &std::path::Path) -> (Vec<Item>, jetmem_core::wire::stream::DecodeStats) {
    let mut r = TraceReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let items: Vec<Item> = r.by_ref().map(|i| i.unwrap()).collect();
    (items, r.stats())
}

#[test]
fn traces_a_child_with_marks_and_allocator_figures() {
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("sleep 0.3; exec sleep 2")
        .spawn()
        .unwrap();
    let path = temp("child.jmt");
    let cfg = SamplerConfig {
        interval: Duration::from_millis(5),
        target: Target::Tree { pid: child.id() },
        label: "unit".into(),
        command: "sh -c sleep".into(),
        probe_cuda: false,
        ..SamplerConfig::default()
    };
    let tracer = Tracer::start(cfg, std::fs::File::create(&path).unwrap()).unwrap();
    let h = tracer.handle();
    h.mark(MarkKind::Begin, "warmup").unwrap();
    std::thread::sleep(Duration::from_millis(150));
    h.mark(MarkKind::End, "warmup").unwrap();
    h.record_allocator(
        0,
        Some(1 << 20),
        Some(2 << 20),
        Some(3 << 20),
        Some(4 << 20),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(350));
    let report = tracer.stop(Some(0)).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(report.write_error.is_none());
    assert!(
        h.mark(MarkKind::Instant, "late")
            .is_err_and(|e| e == MarkError::Stopped)
    );

    let (items, stats) = decode(&path);
    assert_eq!(stats.skipped_bytes, 0);
    let Item::Header(header) = &items[0] else {
        panic!("first item is the header")
    };
    assert_eq!(header.interval_ns, 5_000_000);
    assert_eq!(header.pid, Some(child.id()));
    assert_eq!(header.label.as_str(), "unit");
    // Format 1.1: a copy of the header just before the end, identical to the first.
    let n = items.len();
    assert!(n >= 3);
    assert_eq!(
        items[n - 2],
        Item::Header(header.clone()),
        "header copy before the end"
    );
    assert!(matches!(items[n - 1], Item::Record(Record::End(_))));
    let samples: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record(Record::Sample(s)) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(samples.len() as u64, report.end.samples);
    assert!(
        samples.len() >= 60,
        "≈100 samples in 0.5 s at 5 ms, got {}",
        samples.len()
    );
    assert!(samples.windows(2).all(|w| w[0].t_ns < w[1].t_ns));
    let s = samples.last().unwrap();
    assert!(s.counters.get(Counter::MemTotal).unwrap() > 0);
    assert!(s.counters.get(Counter::TreeRss).unwrap() > 0);
    // The shell exec'd into sleep after 0.3 s; a second process never joined.
    assert!(s.counters.get(Counter::TreeProcesses).unwrap() >= 1);
    let marks: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record(Record::Mark(m)) => Some((m.kind, m.label.as_str().to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        marks,
        vec![
            (MarkKind::Begin, "warmup".into()),
            (MarkKind::End, "warmup".into())
        ]
    );
    assert!(
        items.iter().any(
            |i| matches!(i, Item::Record(Record::Allocator(a)) if a.reserved == Some(2 << 20))
        )
    );
    let Some(Item::Record(Record::End(end))) = items.last() else {
        panic!("ends with End")
    };
    assert_eq!(end.exit_code, Some(0));
    assert_eq!(end.dropped, 0);
    assert!(
        end.lateness_max_ns >= end.lateness_p99_ns && end.lateness_p99_ns >= end.lateness_p50_ns
    );
    assert!(end.sampler_cpu_ns > 0);
}

#[test]
fn missing_process_is_a_clear_error() {
    let cfg = SamplerConfig {
        target: Target::Tree { pid: u32::MAX - 7 },
        probe_cuda: false,
        ..SamplerConfig::default()
    };
    match Tracer::start(cfg, std::io::sink()) {
        Err(SamplerError::NoSuchProcess(p)) => assert_eq!(p, u32::MAX - 7),
        other => panic!("expected NoSuchProcess, got {other:?}"),
    }
}

/// A writer into shared memory that misbehaves like a real disk on cue: it can
/// fail with ENOSPC past `capacity` bytes, and stall once on its third write
/// (the preamble and the header go through before the threads start).
struct TestDisk {
    capacity: usize,
    stall: Option<Duration>,
    writes: u32,
    written: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl TestDisk {
    fn new(written: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>) -> Self {
        TestDisk {
            capacity: usize::MAX,
            stall: None,
            writes: 0,
            written: written.clone(),
        }
    }
}

impl std::io::Write for TestDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writes += 1;
        if self.writes == 3 {
            if let Some(stall) = self.stall.take() {
                std::thread::sleep(stall);
            }
        }
        let mut w = self.written.lock().unwrap();
        if w.len() + buf.len() > self.capacity {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        w.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn full_disk_stops_writing_and_keeps_what_was_written_decodable() {
    let written = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let cfg = SamplerConfig {
        interval: Duration::from_millis(1),
        probe_cuda: false,
        ..SamplerConfig::default()
    };
    let out = TestDisk {
        capacity: 1500,
        ..TestDisk::new(&written)
    };
    let tracer = Tracer::start(cfg, out).unwrap();
    let h = tracer.handle();
    // The tracer stops on its own, and says so through `ended_fd`: a
    // caller asleep in poll wakes without a timer.
    let fd = h.ended_fd().expect("an eventfd");
    let mut pfd = nix::libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
        events: nix::libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the call's duration.
    let ready = unsafe { nix::libc::poll(&mut pfd, 1, 10_000) };
    assert_eq!(ready, 1, "ended_fd readable after the write error");
    assert!(!h.is_running());
    let report = tracer.stop(None).unwrap();
    let err = report.write_error.expect("the disk filled up");
    assert_eq!(err.raw_os_error(), Some(28));
    assert!(!h.is_running());
    let bytes = written.lock().unwrap().clone();
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    let n = r
        .by_ref()
        .filter(|i| matches!(i, Ok(Item::Record(Record::Sample(_)))))
        .count();
    assert!(n > 0, "samples before the disk filled decode");
    assert_eq!(r.stats().skipped_bytes, 0, "only whole frames were written");
}

#[test]
fn fixture_root_system_trace_reads_the_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/nano-4gb-jp4.6-meminfo");
    if !root.exists() {
        panic!("fixture missing: {}", root.display());
    }
    let path = temp("fixture.jmt");
    let cfg = SamplerConfig {
        root: root.clone(),
        interval: Duration::from_millis(2),
        probe_cuda: false,
        ..SamplerConfig::default()
    };
    let tracer = Tracer::start(cfg, std::fs::File::create(&path).unwrap()).unwrap();
    assert_eq!(
        tracer.header().platform.gpu_source,
        jetmem_core::record::GpuSource::MeminfoNvmap
    );
    std::thread::sleep(Duration::from_millis(50));
    tracer.stop(None).unwrap();
    let (items, _) = decode(&path);
    let s = items
        .iter()
        .find_map(|i| match i {
            Item::Record(Record::Sample(s)) => Some(*s),
            _ => None,
        })
        .unwrap();
    // /proc/meminfo of the Nano fixture: MemTotal 4059240 kB, NvMapMemUsed 244748 kB.
    assert_eq!(s.counters.get(Counter::MemTotal), Some(4_059_240 * 1024));
    assert_eq!(s.counters.get(Counter::GpuUsed), Some(244_748 * 1024));
}

/// A system trace at `interval` for `run_ms`, onto a disk whose third write
/// stalls for 1.5 s: the stop report and the bytes written.
fn with_stalled_disk(interval: Duration, run_ms: u64) -> (StopReport, Vec<u8>) {
    let written = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let cfg = SamplerConfig {
        interval,
        probe_cuda: false,
        ..SamplerConfig::default()
    };
    let out = TestDisk {
        stall: Some(Duration::from_millis(1500)),
        ..TestDisk::new(&written)
    };
    let tracer = Tracer::start(cfg, out).unwrap();
    std::thread::sleep(Duration::from_millis(run_ms));
    let report = tracer.stop(None).unwrap();
    let bytes = written.lock().unwrap().clone();
    (report, bytes)
}

#[test]
fn a_writer_stalled_in_a_write_costs_no_sample() {
    // At 10 ms the writer takes every tenth tick itself, then writes; while
    // its write is stalled, the sampler takes those ticks.
    // The third write is the second flush, at ≈ 0.2 s.
    let (report, bytes) = with_stalled_disk(Duration::from_millis(10), 2000);
    assert!(report.write_error.is_none());
    assert_eq!(report.end.dropped, 0);
    let slots: Vec<u64> = TraceReader::new(&bytes[..])
        .unwrap()
        .filter_map(|i| match i.unwrap() {
            Item::Record(Record::Sample(s)) => Some(s.t_ns / 10_000_000),
            _ => None,
        })
        .collect();
    // Samples in the writer's slots (every tenth tick) of the first 1.8 s:
    // without the sampler standing in, the 1.5 s stall would cost ≈ 15 of 18.
    let writer_slots = slots
        .iter()
        .filter(|&&k| k > 0 && k < 180 && k % 10 == 0)
        .count();
    assert!(
        writer_slots >= 13,
        "{writer_slots} of the writer's 17 ticks sampled: {slots:?}"
    );
}

#[test]
fn ring_overflow_is_counted_and_recorded_never_silent() {
    // The ring holds 1023 records; at 5 kHz it overflows after ~0.2 s.
    let (report, bytes) = with_stalled_disk(Duration::from_micros(200), 2200);
    assert!(
        report.end.dropped > 0,
        "the stalled writer made the ring overflow: {:?}",
        report.end
    );
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    let (mut samples, mut dropped_records, mut end_dropped) = (0u64, 0u64, None);
    for item in r.by_ref() {
        match item.unwrap() {
            Item::Record(Record::Sample(_)) => samples += 1,
            Item::Record(Record::Dropped(d)) => dropped_records += d.samples,
            Item::Record(Record::End(e)) => end_dropped = Some(e.dropped),
            _ => {}
        }
    }
    assert_eq!(end_dropped, Some(report.end.dropped));
    assert_eq!(
        dropped_records, report.end.dropped,
        "every lost sample is in a Dropped record"
    );
    assert_eq!(
        samples + report.end.dropped,
        report.end.samples,
        "taken = written + dropped"
    );
    assert_eq!(report.peaks.samples, report.end.samples);
}

#[test]
fn a_trace_stopped_at_once_still_ends_with_a_sample() {
    let path = temp("instant.jmt");
    let cfg = SamplerConfig {
        interval: Duration::from_secs(10),
        probe_cuda: false,
        ..SamplerConfig::default()
    };
    let tracer = Tracer::start(cfg, std::fs::File::create(&path).unwrap()).unwrap();
    let report = tracer.stop(None).unwrap();
    let (items, _) = decode(&path);
    let samples: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record(Record::Sample(s)) => Some(*s),
            _ => None,
        })
        .collect();
    assert!(!samples.is_empty(), "the stop itself takes a sample");
    assert_eq!(samples.len() as u64, report.end.samples);
    let last = samples.last().unwrap();
    assert!(last.counters.get(Counter::MemAvailable).is_some());
    assert!(last.t_ns <= report.end.t_ns);
}
