//! Trace format benchmarks: encode cost per sample, streaming decode rate, bytes per sample.
//!
//! `cargo bench -p jetmem-core --features std --bench format`
//!
//! Before the timed benchmarks it captures a real 10 ms trace of this machine
//! (see `support/capture.rs`), encodes it with one frame per 100 ms as the
//! writer does, and prints bytes per sample. Set `JETMEM_CAPTURE_SECS` to change
//! the capture length (default 5 s) and `JETMEM_CAPTURE_OUT=file.csv` to keep it
//! (that is how `tests/fixtures/workload-capture-10ms/` was made).

#[path = "support/capture.rs"]
mod capture;

use divan::{Bencher, black_box, counter::ItemsCount};
use jetmem_core::record::{Header, Record, Sample};
use jetmem_core::wire::stream::TraceReader;
use jetmem_core::wire::{FrameBuilder, TraceWriter};
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

const FRAME_NS: u64 = 100_000_000;

/// Encodes `samples` as a trace: preamble, header frame, one frame per 100 ms.
fn encode_trace(samples: &[Sample]) -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), 64 * 1024).expect("preamble");
    w.write_header(&Header::default()).expect("header");
    w.write_samples_spanning(samples, FRAME_NS).expect("fits");
    w.into_inner()
}

fn captured() -> &'static [Sample] {
    static CAPTURE: OnceLock<Vec<Sample>> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let secs = std::env::var("JETMEM_CAPTURE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0);
        capture::capture(Duration::from_secs_f64(secs), Duration::from_millis(10))
    })
}

/// A long trace for decode timing: the capture tiled to about 1M samples, times shifted.
fn long_trace_file() -> &'static (std::path::PathBuf, u64) {
    static FILE: OnceLock<(std::path::PathBuf, u64)> = OnceLock::new();
    FILE.get_or_init(|| {
        let cap = captured();
        let span = cap.last().map_or(0, |s| s.t_ns) + 10_000_000;
        let mut samples = Vec::with_capacity(1 << 20);
        let mut round = 0u64;
        while samples.len() < 1 << 20 {
            samples.extend(cap.iter().map(|s| Sample {
                t_ns: s.t_ns + round * span,
                counters: s.counters,
            }));
            round += 1;
        }
        let bytes = encode_trace(&samples);
        let path = std::env::temp_dir().join(format!("jetmem-bench-{}.jmt", std::process::id()));
        let mut f = std::fs::File::create(&path).expect("temp file");
        f.write_all(&bytes).expect("write");
        // Warm the page cache and count the records once.
        let mut n = 0u64;
        let mut r = TraceReader::new(std::fs::File::open(&path).expect("open")).expect("trace");
        TraceReader::for_each_item(&mut r, |_| n += 1).expect("decode");
        (path, n)
    })
}

/// Writes samples as CSV: `t_ns` then one column per counter key, empty when absent.
fn write_csv(path: &str, samples: &[Sample]) -> std::io::Result<()> {
    use jetmem_core::record::Counter;
    let mut out = String::from("t_ns");
    for c in Counter::ALL {
        out.push(',');
        out.push_str(c.key());
    }
    out.push('\n');
    for s in samples {
        out.push_str(&s.t_ns.to_string());
        for c in Counter::ALL {
            out.push(',');
            if let Some(v) = s.counters.get(*c) {
                out.push_str(&v.to_string());
            }
        }
        out.push('\n');
    }
    std::fs::write(path, out)
}

fn main() {
    let cap = captured();
    if let Ok(path) = std::env::var("JETMEM_CAPTURE_OUT") {
        write_csv(&path, cap).expect("write capture CSV");
        println!("capture written to {path}");
    }
    let bytes = encode_trace(cap);
    let header_len = encode_trace(&[]).len();
    let per = (bytes.len() - header_len) as f64 / cap.len() as f64;
    let present = cap.first().map_or(0, |s| s.counters.iter().count());
    println!(
        "capture: {} samples at 10 ms, {} counters each, {} bytes of sample frames: {:.2} bytes/sample (one frame per 100 ms)",
        cap.len(),
        present,
        bytes.len() - header_len,
        per
    );
    let (path, records) = long_trace_file();
    println!("decode file: {records} records");
    cpu_time_decode(path, *records);
    divan::main();
    let _ = std::fs::remove_file(&long_trace_file().0);
}

/// This thread's CPU time: unlike wall time, it does not count the time this
/// thread waited for a core on a shared machine.
fn thread_cpu_ns() -> u64 {
    use nix::time::{ClockId, clock_gettime};
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).expect("thread CPU clock");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

/// Decode rate by thread CPU time over 15 passes (open + read + decode each).
fn cpu_time_decode(path: &std::path::Path, records: u64) {
    let mut rates: Vec<f64> = (0..15)
        .map(|_| {
            let t0 = thread_cpu_ns();
            let mut r = TraceReader::new(std::fs::File::open(path).expect("open")).expect("trace");
            let mut sum = 0u64;
            TraceReader::for_each_item(&mut r, |item| {
                if let jetmem_core::wire::Item::Record(Record::Sample(s)) = item {
                    sum = sum.wrapping_add(s.t_ns);
                }
            })
            .expect("decode");
            black_box(sum);
            let ns = thread_cpu_ns() - t0;
            records as f64 * 1e3 / ns as f64
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    println!(
        "decode by thread CPU time, 15 passes: best {:.1} M records/s, median {:.1}, worst {:.1}",
        rates[14], rates[7], rates[0]
    );
}

/// Encoding the whole capture into one frame: one key sample, then deltas
/// (9 of 10 samples are deltas with the writer's 100 ms frames).
#[divan::bench]
fn encode_sample(bencher: Bencher) {
    let cap = captured();
    let mut buf = vec![0u8; 64 * 1024];
    bencher.counter(ItemsCount::new(cap.len())).bench_local(|| {
        let mut fb = FrameBuilder::new(&mut buf, 1).expect("frame");
        for s in cap {
            if fb.push_sample(black_box(s)).is_err() {
                break;
            }
        }
        black_box(fb.finish().len())
    });
}

/// Encoding one key sample (the first of every frame) into a fresh frame.
#[divan::bench(sample_size = 1000)]
fn encode_key_sample(bencher: Bencher) {
    let cap = captured();
    let mut buf = vec![0u8; 4096];
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % cap.len();
        let mut fb = FrameBuilder::new(&mut buf, 1).expect("frame");
        fb.push_sample(black_box(&cap[i])).expect("fits");
        black_box(fb.len())
    });
}

/// Streaming a trace file from the page cache through `TraceReader::for_each`.
#[divan::bench(sample_count = 20)]
fn decode_file(bencher: Bencher) {
    let (path, records) = long_trace_file();
    bencher.counter(ItemsCount::new(*records)).bench_local(|| {
        let f = std::fs::File::open(path).expect("open");
        let mut r = TraceReader::new(f).expect("trace");
        let mut sum = 0u64;
        TraceReader::for_each_item(&mut r, |item| {
            if let jetmem_core::wire::Item::Record(Record::Sample(s)) = item {
                sum = sum.wrapping_add(s.t_ns);
            }
        })
        .expect("decode");
        black_box(sum)
    });
}
