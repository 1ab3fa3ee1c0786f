//! The writer thread ("supervisor"): starts the sampler thread, drains the
//! ring and the marker queue into frames at least every 100 ms, stops the
//! sampler on a write error, and writes the `End` record.
//!
//! At intervals up to 50 ms the writer takes every [`FLUSH_NS`]'s tick
//! itself (`sample_loop::Schedule`): it wakes at that deadline, samples
//! under the loop's lock, releases it, then drains and writes, while the
//! sampler thread sleeps through that tick. The whole recorder then wakes
//! once per sample, as a C loop doing the same reads does. Between its
//! ticks it sleeps unless woken: by the sampler (the ring holds
//! [`WAKE_RECORDS`], sampling ended, or a flush is due after a tick the
//! sampler took because the writer was still writing) or by a marker queue
//! half full. At longer intervals the sampler asks for a flush right after
//! a sample every [`FLUSH_NS`], and a fallback timer (twice the longer of
//! [`FLUSH_NS`] and the interval) covers a stalled sampler. It never polls.

use super::SamplerError;
use super::clock::{mono_ns, thread_cpu_ns};
use super::collect::Collector;
use super::handle::{NO_EXIT_CODE, Shared};
use super::sample_loop::{SampleLoop, SamplerOutcome, Schedule, sample_loop, writer_tick};
use super::tracer::StopReport;
use super::writer::Writer;
use crate::accounting::PressureTracker;
use crate::record::{End, Header, Record};
use crate::wire::TraceWriter;
use heapless::spsc;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Capacity of the sampler → writer ring (records).
const RING: usize = 1024;
/// The writer writes a frame this often (asked by the sampler), so a killed
/// recorder loses at most this much (or one interval, when longer).
pub(super) const FLUSH_NS: u64 = 100_000_000;
/// The sampler wakes the writer early when this many records wait in the ring (a quarter of it).
pub(super) const WAKE_RECORDS: usize = RING / 4;

/// Runs the trace to its end: the body of the writer thread.
pub(super) fn supervise<W: Write>(
    collector: Collector,
    trace: TraceWriter<W>,
    header: Header,
    shared: Arc<Shared>,
    interval_ns: u64,
    pressure: PressureTracker,
    tree_target: bool,
) -> Result<StopReport, SamplerError> {
    let mut ring: Box<spsc::Queue<Record, RING>> = Box::new(spsc::Queue::new());
    let (producer, mut consumer) = ring.split();
    let mut writer = Writer::new(trace, header);
    let _ = shared.writer.set(std::thread::current());
    let sched = Schedule::new(shared.start_mono_ns, interval_ns);
    let state = Mutex::new(SampleLoop::new(
        collector, producer, &shared, sched, pressure,
    ));
    let outcome = std::thread::scope(|scope| {
        let sampler = std::thread::Builder::new()
            .name("jetmem-sampler".into())
            .spawn_scoped(scope, || {
                let o = sample_loop(&state, &shared, sched, tree_target);
                shared.sampler_done.store(true, Ordering::Release);
                shared.wake_writer();
                o
            });
        let sampler = match sampler {
            Ok(h) => h,
            Err(e) => return Err(SamplerError::Thread(e.to_string())),
        };
        let fallback_ns = FLUSH_NS.max(interval_ns).saturating_mul(2);
        // Whether the writer's tick came since the last flush.
        let mut ticked = false;
        loop {
            let done = shared.sampler_done.load(Ordering::Acquire);
            shared.writer_busy.store(true, Ordering::Release);
            while let Some(rec) = consumer.dequeue() {
                writer.add(rec);
            }
            drain_events(&shared, &mut writer);
            let asked = shared.flush_due.swap(false, Ordering::AcqRel);
            if asked
                || std::mem::take(&mut ticked)
                || mono_ns().saturating_sub(writer.last_flush) >= fallback_ns
            {
                writer.flush();
            }
            if writer.error.is_some() {
                // Stop sampling; the traced program is left alone.
                shared.stop.store(true, Ordering::Release);
            }
            shared.writer_busy.store(false, Ordering::Release);
            if done && consumer.peek().is_none() {
                break;
            }
            match sched.next_writer_tick(mono_ns()) {
                Some(k) if !done => {
                    let deadline = sched.deadline(k);
                    let now = mono_ns();
                    if now < deadline {
                        std::thread::park_timeout(Duration::from_nanos(deadline - now));
                    }
                    // Woken early (a wake from the sampler or a marker
                    // queue), the work is done first and the tick waited
                    // for again.
                    if mono_ns() >= deadline {
                        writer_tick(&state, k, deadline);
                        // The tick's flush, whichever thread took its sample.
                        ticked = true;
                    }
                }
                _ => {
                    let since = mono_ns().saturating_sub(writer.last_flush);
                    std::thread::park_timeout(Duration::from_nanos(
                        fallback_ns.saturating_sub(since),
                    ));
                }
            }
        }
        sampler
            .join()
            .map_err(|_| SamplerError::Thread("sampler thread panicked".into()))
    })?;
    shared.running.store(false, Ordering::Release);
    shared.signal_ended();
    drain_events(&shared, &mut writer);
    let end = end_record(&shared, &outcome);
    // The last copy of the header comes just before the end.
    writer.flush();
    writer.write_header_copy();
    writer.add(Record::End(end));
    writer.flush();
    if outcome.processes_overflowed > 0 {
        log::warn!(
            "jetmem: {} processes of the tree were not tracked (the process table was full)",
            outcome.processes_overflowed
        );
    }
    Ok(StopReport {
        end,
        frames: writer.record_frames(),
        write_error: writer.error,
        markers_lost: shared.events_lost.load(Ordering::Relaxed),
        processes_overflowed: outcome.processes_overflowed,
        peaks: outcome.peaks,
    })
}

/// Moves every queued marker and allocator figure into the writer.
fn drain_events<W: Write>(shared: &Shared, writer: &mut Writer<W>) {
    shared.events_pending.store(0, Ordering::Relaxed);
    while let Some(p) = shared.events.dequeue() {
        writer.add(p.into());
    }
}

/// The `End` record: counts, CPU times, lateness and the exit code.
fn end_record(shared: &Shared, outcome: &SamplerOutcome) -> End {
    let code = shared.exit_code.load(Ordering::Acquire);
    End {
        t_ns: mono_ns().saturating_sub(shared.start_mono_ns),
        samples: outcome.samples,
        dropped: outcome.dropped,
        sampler_cpu_ns: outcome.cpu_ns,
        // The writer's ticks are sampling: counted as the sampler's.
        writer_cpu_ns: thread_cpu_ns().saturating_sub(outcome.writer_ticks_cpu_ns),
        lateness_p50_ns: outcome.lateness.percentile(50.0),
        lateness_p99_ns: outcome.lateness.percentile(99.0),
        lateness_max_ns: outcome.lateness.max(),
        exit_code: if code == NO_EXIT_CODE {
            None
        } else {
            i32::try_from(code).ok()
        },
    }
}
