//! The sampler thread: one sample per tick at absolute deadlines, the slow
//! path (process discovery, NVML per-process GPU memory) every 100 ms, each
//! process's `status` once a second, pressure events, and every record pushed
//! into the SPSC ring without ever blocking. The tree's share of both is
//! spread over the ticks of its period, so no sample pays for a whole round.
//!
//! Per-process records carry each process's highest resident size since its
//! previous record (read from `statm` on every sample): one a second per
//! process, one when a process leaves, and one for each at the stop, so a
//! short-lived or exec'ing process gets its true peak.

use super::clock::{mono_ns, sleep_until, thread_cpu_ns};
use super::collect::Collector;
use super::handle::Shared;
use super::lateness::Lateness;
use super::supervisor::{FLUSH_NS, WAKE_RECORDS};
use super::tree::Tracked;
use crate::accounting::{Figures, Peaks, PressureTracker, figures};
use crate::channel::Entry;
use crate::channel::shm::Drained;
use crate::record::{
    Allocator, ChannelLost, CudaHook, Dropped, GpuProcess, Mark, Platform, ProcessChange,
    ProcessEvent, ProcessMemory, Record, Sample,
};
use heapless::spsc;
use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Slow-path period: process discovery (and `comm`, to see an exec), zram, PSI.
const SLOW_NS: u64 = 100_000_000;
/// Per-process memory records are written at most this often, and each
/// process's `status` (VmHWM, VmSwap, VmLck, VmPin: 8 µs a read, the tree's
/// costliest file) is read once in this period.
const PROCESS_MEMORY_NS: u64 = 1_000_000_000;
/// Ring slots the marker-channel drain leaves free for samples and events.
const RING_RESERVE: usize = 64;

/// What the sampler thread hands back when it stops.
pub(super) struct SamplerOutcome {
    pub(super) peaks: Peaks,
    pub(super) samples: u64,
    pub(super) dropped: u64,
    /// CPU time of the sampling: the sampler thread's, and the writer's ticks'.
    pub(super) cpu_ns: u64,
    /// CPU time the writer thread spent taking its ticks (part of `cpu_ns`).
    pub(super) writer_ticks_cpu_ns: u64,
    pub(super) lateness: Lateness,
    /// Processes the tree could not track because it was full.
    pub(super) processes_overflowed: u64,
}

impl SamplerOutcome {
    fn new() -> SamplerOutcome {
        SamplerOutcome {
            peaks: Peaks::new(),
            samples: 0,
            dropped: 0,
            cpu_ns: 0,
            writer_ticks_cpu_ns: 0,
            lateness: Lateness::new(),
            processes_overflowed: 0,
        }
    }
}

/// The sampling state between ticks, shared by the sampler and the writer
/// thread (which takes some ticks, [`Schedule`]) under a lock that is never
/// held during a write.
pub(super) struct SampleLoop<'r, 's> {
    collector: Collector,
    ring: spsc::Producer<'r, Record>,
    shared: &'s Shared,
    platform: Platform,
    pressure: PressureTracker,
    out: SamplerOutcome,
    /// Samples dropped on a full ring and not yet reported by a `Dropped` record.
    pending_dropped: u64,
    /// Records pushed since the writer was last woken.
    unannounced: usize,
    sample: Sample,
    next_slow: u64,
    next_proc_mem: u64,
    /// When the writer is next asked to flush (when it takes no ticks).
    next_flush: u64,
    sched: Schedule,
    /// The last tick taken, by either thread.
    taken: Option<u64>,
    /// Set by [`SampleLoop::finish`]: no tick is taken after it.
    finished: bool,
    /// Whether the writer thread has bound the collector (its CUDA context).
    writer_bound: bool,
    /// Ticks per slow period: the tree's discovery is spread over them.
    ticks_per_slow: usize,
    /// Ticks per `status` round ([`PROCESS_MEMORY_NS`]): its reads are spread over them.
    ticks_per_status: usize,
    /// Whether this slow period's discovery cycle is still running.
    discovering: bool,
    /// `status` files still to read in this slow period.
    statuses_left: usize,
}

/// Which thread takes which tick. With `writer_every` ≥ 2 (an interval of at
/// most half the 100 ms flush period), every `writer_every`-th tick is the
/// writer's: it wakes at that deadline, takes the sample, then flushes, and
/// the sampler thread sleeps through it. The process then wakes once per
/// sample, as the floor does, instead of the sampler waking the writer on
/// another CPU ten times a second (30–50 µs each on a VM, 7–10 % of a C
/// floor's cost at 10 ms). The sampler still takes a writer's tick whenever
/// the writer is busy writing, so a slow disk never costs a sample.
#[derive(Debug, Clone, Copy)]
pub(super) struct Schedule {
    /// `CLOCK_MONOTONIC` ns of tick 0.
    pub(super) start: u64,
    pub(super) interval_ns: u64,
    /// Every this many ticks the writer takes one; 0: it takes none.
    pub(super) writer_every: u64,
}

impl Schedule {
    /// The schedule for ticks `interval_ns` apart from `start`.
    pub(super) fn new(start: u64, interval_ns: u64) -> Schedule {
        let interval_ns = interval_ns.max(1);
        let every = FLUSH_NS / interval_ns;
        Schedule {
            start,
            interval_ns,
            writer_every: if every >= 2 { every } else { 0 },
        }
    }

    /// When tick `k` is due.
    pub(super) fn deadline(&self, k: u64) -> u64 {
        self.start
            .saturating_add(k.saturating_mul(self.interval_ns))
    }

    /// Whether tick `k` is the writer's.
    pub(super) fn is_writer_tick(&self, k: u64) -> bool {
        self.writer_every != 0 && k != 0 && k % self.writer_every == 0
    }

    /// The writer's first tick due after `now`, if it takes any.
    pub(super) fn next_writer_tick(&self, now: u64) -> Option<u64> {
        if self.writer_every == 0 {
            return None;
        }
        let elapsed = now.saturating_sub(self.start) / self.interval_ns;
        Some((elapsed / self.writer_every + 1).saturating_mul(self.writer_every))
    }

    /// The first tick due after `now` (ticks already missed are skipped
    /// rather than taken in a burst), and after `k`.
    fn next_after(&self, now: u64, k: u64) -> u64 {
        (now.saturating_sub(self.start) / self.interval_ns + 1).max(k + 1)
    }
}

/// Locks the loop's state (a panic elsewhere cannot poison a sample).
pub(super) fn lock<'a, 'r, 's>(
    state: &'a Mutex<SampleLoop<'r, 's>>,
) -> MutexGuard<'a, SampleLoop<'r, 's>> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The sampler thread: samples at every tick of `sched` that is not the
/// writer's until `shared.stop`, then takes a last sample.
pub(super) fn sample_loop(
    state: &Mutex<SampleLoop<'_, '_>>,
    shared: &Shared,
    sched: Schedule,
    tree_target: bool,
) -> SamplerOutcome {
    lock(state).collector.bind_thread();
    let mut k: u64 = 0;
    while !shared.stop.load(Ordering::Acquire) {
        if sched.is_writer_tick(k) && !shared.writer_busy.load(Ordering::Acquire) {
            k += 1;
        }
        let deadline = sched.deadline(k);
        sleep_until(deadline, &shared.stop);
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        let mut l = lock(state);
        if l.taken.is_none_or(|t| t < k) {
            l.tick(k, deadline, false);
        }
        if tree_target && l.collector.target_exited() {
            // The traced root is gone; the caller decides when to stop.
            if !shared.target_gone.swap(true, Ordering::AcqRel) {
                shared.signal_ended();
            }
        }
        drop(l);
        k = sched.next_after(mono_ns(), k);
    }
    lock(state).finish()
}

/// The writer's tick `k`, due at `deadline`: taken unless the sampler took
/// it or holds the state (a sample of its own running late), or sampling
/// has stopped. Its CPU time is the sampler's in the `End` record.
pub(super) fn writer_tick(state: &Mutex<SampleLoop<'_, '_>>, k: u64, deadline: u64) {
    let Ok(mut l) = state.try_lock() else {
        return;
    };
    if l.finished || l.shared.stop.load(Ordering::Acquire) || l.taken.is_some_and(|t| t >= k) {
        return;
    }
    if !l.writer_bound {
        l.collector.bind_thread();
        l.writer_bound = true;
    }
    let cpu = thread_cpu_ns();
    l.tick(k, deadline, true);
    l.out.writer_ticks_cpu_ns += thread_cpu_ns().saturating_sub(cpu);
}

impl<'r, 's> SampleLoop<'r, 's> {
    /// The state of a trace starting at `sched.start`; the processes already
    /// found are announced into `ring`.
    pub(super) fn new(
        collector: Collector,
        ring: spsc::Producer<'r, Record>,
        shared: &'s Shared,
        sched: Schedule,
        pressure: PressureTracker,
    ) -> Self {
        let start = sched.start;
        let interval_ns = sched.interval_ns;
        let mut l = SampleLoop {
            platform: collector.platform().clone(),
            collector,
            ring,
            shared,
            pressure,
            out: SamplerOutcome::new(),
            pending_dropped: 0,
            unannounced: 0,
            sample: Sample::default(),
            next_slow: start + SLOW_NS,
            next_proc_mem: start,
            next_flush: start + FLUSH_NS,
            sched,
            taken: None,
            finished: false,
            writer_bound: false,
            ticks_per_slow: (SLOW_NS / interval_ns).max(1) as usize,
            ticks_per_status: (PROCESS_MEMORY_NS / interval_ns).max(1) as usize,
            discovering: false,
            statuses_left: 0,
        };
        l.announce_initial();
        l
    }
}

impl SampleLoop<'_, '_> {
    /// Tick `k`, due at `deadline` (taken by the writer thread if
    /// `by_writer`, which flushes right after): the slow path when due, then
    /// a sample.
    fn tick(&mut self, k: u64, deadline: u64, by_writer: bool) {
        self.taken = Some(k);
        let now = mono_ns();
        self.out.lateness.record(now.saturating_sub(deadline));
        let t = now.saturating_sub(self.shared.start_mono_ns);
        if now >= self.next_slow {
            self.slow_path(now, t);
        }
        self.tree_step(t);
        let f = self.read_sample(t);
        if let Some(ev) = self.pressure.update(t, &f) {
            self.push(Record::Event(ev));
        }
        self.push(Record::Sample(self.sample));
        self.out.samples += 1;
        self.drain_channel(t);
        let flush_due = if self.sched.writer_every == 0 {
            now >= self.next_flush
        } else {
            // A writer's tick the sampler took (the writer was busy writing):
            // the writer flushes again when it is done.
            !by_writer && self.sched.is_writer_tick(k)
        };
        if by_writer {
            // The writer flushes right after this tick.
            self.unannounced = 0;
        } else if flush_due {
            // Right after the sample, while this CPU is awake.
            self.next_flush = now + FLUSH_NS;
            self.unannounced = 0;
            self.shared.request_flush();
        } else if self.unannounced >= WAKE_RECORDS {
            self.unannounced = 0;
            self.shared.wake_writer();
        }
    }

    /// Moves what the traced tree wrote into the marker channel into the ring,
    /// times moved onto the trace's clock, then each writer's new losses. It
    /// keeps [`RING_RESERVE`] slots of the ring free for samples; what does not
    /// fit waits in the channel. Returns whether the channel is empty.
    fn drain_channel(&mut self, t: u64) -> bool {
        let Some(channel) = self.shared.channel.clone() else {
            return true;
        };
        let start = self.shared.start_mono_ns;
        // Only this thread fills the ring, so its free slots only grow meanwhile.
        let free = self.ring.capacity() - self.ring.len();
        let left = Cell::new(free.saturating_sub(RING_RESERVE));
        channel.drain(
            || left.get() > 0,
            |d| {
                left.set(left.get().saturating_sub(1));
                let rec = match d {
                    Drained::Entry(Entry::Mark(m)) => Record::Mark(Mark {
                        t_ns: m.t_ns.saturating_sub(start),
                        ..m
                    }),
                    Drained::Entry(Entry::Allocator(a)) => Record::Allocator(Allocator {
                        t_ns: a.t_ns.saturating_sub(start),
                        ..a
                    }),
                    Drained::Entry(Entry::CudaHook(c)) => Record::CudaHook(CudaHook {
                        t_ns: c.t_ns.saturating_sub(start),
                        ..c
                    }),
                    Drained::Lost { pid, records } => Record::ChannelLost(ChannelLost {
                        t_ns: t,
                        pid,
                        records,
                    }),
                };
                self.push(rec);
            },
        )
    }

    /// The descendants found when the collector opened, as `Joined` at 0 (the
    /// root is named by the header's command).
    fn announce_initial(&mut self) {
        let root = self.collector.tree().map(|t| t.root_pid());
        for p in self.collector.processes().filter(|p| Some(p.pid) != root) {
            let _ = self.ring.enqueue(Record::Process(ProcessEvent {
                t_ns: 0,
                pid: p.pid,
                ppid: p.ppid,
                change: ProcessChange::Joined,
                name: p.name.clone(),
            }));
            self.unannounced += 1;
        }
    }

    /// The slow period starts: the slower files and a new discovery cycle
    /// for the tree (spread over the period's ticks by
    /// [`SampleLoop::tree_step`]); once a second, a `ProcessMemory` record per
    /// tracked process and a new `status` round (spread over the second).
    fn slow_path(&mut self, now: u64, t: u64) {
        self.collector.slow_files();
        self.discovering = true;
        if now >= self.next_proc_mem {
            self.statuses_left = self.collector.tree_len();
            for p in self.collector.processes_mut() {
                let _ = self.ring.enqueue(process_memory(p, t));
                self.unannounced += 1;
            }
            self.next_proc_mem = now + PROCESS_MEMORY_NS;
        }
        for g in self.collector.gpu_processes() {
            let _ = self.ring.enqueue(Record::GpuProcess(GpuProcess {
                t_ns: t,
                pid: g.pid,
                used_bytes: g.used_bytes,
            }));
            self.unannounced += 1;
        }
        self.next_slow = now + SLOW_NS;
    }

    /// This tick's share of the tree's slow path: the `comm` and children
    /// files of about `1 / ticks_per_slow` of the processes, and the `status`
    /// of about `1 / ticks_per_status`, so a large tree's slow path never
    /// bunches into one late sample. A `Process` record per change.
    fn tree_step(&mut self, t: u64) {
        if !self.discovering && self.statuses_left == 0 {
            return;
        }
        let n = self.collector.tree_len();
        let parents = if self.discovering {
            n.div_ceil(self.ticks_per_slow).max(1)
        } else {
            0
        };
        let statuses = n
            .div_ceil(self.ticks_per_status)
            .max(1)
            .min(self.statuses_left);
        self.statuses_left -= statuses;
        let (ring, unannounced) = (&mut self.ring, &mut self.unannounced);
        let done = self.collector.slow_step(parents, statuses, |c| {
            if c.rss_peak_bytes.is_some() {
                // A process that left: its peak since its last record.
                let _ = ring.enqueue(Record::ProcessMemory(ProcessMemory {
                    t_ns: t,
                    pid: c.pid,
                    rss_bytes: c.rss_peak_bytes,
                    hwm_bytes: None,
                    swap_bytes: None,
                    locked_bytes: None,
                }));
            }
            let _ = ring.enqueue(Record::Process(ProcessEvent {
                t_ns: t,
                pid: c.pid,
                ppid: c.ppid,
                change: c.change,
                name: c.name.clone(),
            }));
            *unannounced += 2;
        });
        if done {
            self.discovering = false;
        }
    }

    /// Reads one sample at `t` and folds it into the running peaks; returns its figures.
    fn read_sample(&mut self, t: u64) -> Figures {
        self.collector.fast(t, &mut self.sample);
        let f = figures(&self.platform, &self.sample.counters);
        let _ = self.out.peaks.update(t, &f, &self.sample.counters);
        f
    }

    /// Pushes a record, first reporting samples dropped earlier; a sample that
    /// does not fit is dropped and counted.
    fn push(&mut self, rec: Record) {
        let t = rec.t_ns();
        if self.pending_dropped > 0
            && self
                .ring
                .enqueue(Record::Dropped(Dropped {
                    t_ns: t,
                    samples: self.pending_dropped,
                }))
                .is_ok()
        {
            self.pending_dropped = 0;
        }
        let is_sample = matches!(rec, Record::Sample(_));
        self.unannounced += 1;
        if self.ring.enqueue(rec).is_err() && is_sample {
            self.pending_dropped += 1;
            self.out.dropped += 1;
        }
    }

    /// A last sample at the stop, so that every trace ends with the state it
    /// ended in (and a very short one has a sample at all); then each process's
    /// peak record and the drops not yet reported, waiting up to a second for
    /// room in the ring.
    fn finish(&mut self) -> SamplerOutcome {
        self.finished = true;
        let t = mono_ns().saturating_sub(self.shared.start_mono_ns);
        self.read_sample(t);
        self.push(Record::Sample(self.sample));
        self.out.samples += 1;
        // Everything the tree wrote before the end, waiting up to a second for room.
        for _ in 0..1000 {
            if self.drain_channel(t) {
                break;
            }
            self.shared.wake_writer();
            std::thread::sleep(Duration::from_millis(1));
        }
        let shared = self.shared;
        for p in self.collector.processes_mut() {
            enqueue_waiting(&mut self.ring, shared, process_memory(p, t));
        }
        if self.pending_dropped > 0 {
            let t = mono_ns().saturating_sub(shared.start_mono_ns);
            let samples = self.pending_dropped;
            let rec = Record::Dropped(Dropped { t_ns: t, samples });
            enqueue_waiting(&mut self.ring, shared, rec);
        }
        self.out.processes_overflowed = self.collector.tree().map_or(0, |t| t.overflowed);
        self.out.cpu_ns = thread_cpu_ns().saturating_add(self.out.writer_ticks_cpu_ns);
        std::mem::replace(&mut self.out, SamplerOutcome::new())
    }
}

/// Enqueues a record at the stop, waking the writer and waiting up to a
/// second for room in the ring.
fn enqueue_waiting(ring: &mut spsc::Producer<'_, Record>, shared: &Shared, mut rec: Record) {
    for _ in 0..1000 {
        match ring.enqueue(rec) {
            Ok(()) => return,
            Err(back) => rec = back,
        }
        shared.wake_writer();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A process's `ProcessMemory` record: its peak resident size since its last
/// one (statm on every sample, `VmRSS` on the slow path), and its slow-path figures.
fn process_memory(p: &mut Tracked, t_ns: u64) -> Record {
    Record::ProcessMemory(ProcessMemory {
        t_ns,
        pid: p.pid,
        rss_bytes: p.take_rss_peak().or(p.status_rss_bytes),
        hwm_bytes: p.hwm_bytes,
        swap_bytes: p.swap_bytes,
        locked_bytes: match (p.locked_bytes, p.pinned_bytes) {
            (Some(a), Some(b)) => Some(a.saturating_add(b)),
            (a, b) => a.or(b),
        },
    })
}
