//! The tracer wakes once per sample: at intervals up to 50 ms the writer
//! thread takes each flush's tick itself instead of being woken by the
//! sampler (docs/sampler.md, "One wake-up per sample"). Alone in its test
//! binary, so that the only `jetmem-*` threads of the process are this
//! tracer's.

use jetmem_core::record::Record;
use jetmem_core::sampler::{SamplerConfig, Target, Tracer};
use jetmem_core::wire::Item;
use jetmem_core::wire::stream::TraceReader;
use std::time::{Duration, Instant};

#[path = "../../tests/support/runner.rs"]
mod runner;
#[path = "../../tests/support/thread_sleeps.rs"]
mod thread_sleeps;
use thread_sleeps::thread_sleeps;

/// Voluntary context switches of this process's thread named `name`.
fn voluntary_switches(name: &str) -> u64 {
    let found: Vec<u64> = thread_sleeps("self")
        .into_iter()
        .filter(|t| t.1 == name)
        .map(|t| t.2)
        .collect();
    assert_eq!(found.len(), 1, "one thread named {name}: {found:?}");
    found[0]
}

#[test]
fn wakes_once_per_sample_with_the_writer_taking_the_flush_ticks() {
    let path = std::env::temp_dir().join(format!("jetmem-wakes-{}.jmt", std::process::id()));
    let interval = Duration::from_millis(10);
    let cfg = SamplerConfig {
        interval,
        target: Target::System,
        probe_cuda: false,
        ..SamplerConfig::default()
    };
    let tracer = Tracer::start(cfg, std::fs::File::create(&path).unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (s0, w0) = (
        voluntary_switches("jetmem-sampler"),
        voluntary_switches("jetmem-writer"),
    );
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let (s1, w1) = (
        voluntary_switches("jetmem-sampler"),
        voluntary_switches("jetmem-writer"),
    );
    let ticks = (t0.elapsed().as_nanos() / interval.as_nanos()) as u64 + 1;
    let report = tracer.stop(None).unwrap();
    assert!(report.write_error.is_none());
    let (sampler, writer) = (s1 - s0, w1 - w0);
    if let Some(emulator) = runner::emulator() {
        // qemu-user's own locks and signals add sleeps of their own; the
        // ticks below are still checked.
        eprintln!("wake-ups not counted under {emulator}: sampler {sampler}, writer {writer}");
    } else {
        assert_wakes(sampler, writer, ticks);
    }
    // Every tick is taken once, by one thread or the other.
    let mut r = TraceReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let times: Vec<u64> = r
        .by_ref()
        .filter_map(|i| match i.unwrap() {
            Item::Record(Record::Sample(s)) => Some(s.t_ns),
            _ => None,
        })
        .collect();
    let _ = std::fs::remove_file(&path);
    assert_eq!(times.len() as u64, report.end.samples);
    let step = interval.as_nanos() as u64;
    // The last sample, taken at the stop, may come at any time.
    let steady = &times[..times.len() - 1];
    // Ticks are due at multiples of the interval from the start; a sample
    // late by less than an interval falls in its own tick's slot.
    let twice = steady
        .windows(2)
        .filter(|w| w[1] / step == w[0] / step)
        .count();
    assert_eq!(twice, 0, "a tick sampled twice: {steady:?}");
    let expected = report.end.t_ns / step;
    assert!(
        steady.len() as u64 + 5 >= expected * 9 / 10,
        "{} samples for {expected} ticks",
        steady.len()
    );
}

/// The writer sleeps between its ticks, one every 100 ms (≈ 20 in 2 s), and
/// the sampler sleeps through them: the two together sleep once a tick.
/// With the sampler waking the writer after a sample instead, it would be
/// ≈ 1.1 a tick; a loaded machine may add a few waits for the lock (the
/// writer's tick running late into the sampler's).
fn assert_wakes(sampler: u64, writer: u64, ticks: u64) {
    assert!(
        sampler + writer <= ticks + ticks / 20 + 3,
        "sampler {sampler} + writer {writer} wake-ups for {ticks} ticks"
    );
    assert!(
        (10..=ticks / 10 + 3).contains(&writer),
        "writer {writer} wake-ups in {ticks} ticks"
    );
}
