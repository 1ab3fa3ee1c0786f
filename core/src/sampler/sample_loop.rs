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
    pub(super) cpu_ns: u64,
    pub(super) lateness: Lateness,
    /// Processes the tree could not track because it was full.
    pub(super) processes_overflowed: u64,
}

/// The sampler thread's state between ticks.
struct SampleLoop<'r, 's> {
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
    /// When the writer is next asked to flush.
    next_flush: u64,
    /// Ticks per slow period: the tree's discovery is spread over them.
    ticks_per_slow: usize,
    /// Ticks per `status` round ([`PROCESS_MEMORY_NS`]): its reads are spread over them.
    ticks_per_status: usize,
    /// Whether this slow period's discovery cycle is still running.
    discovering: bool,
    /// `status` files still to read in this slow period.
    statuses_left: usize,
}

/// Samples every `interval_ns` until `shared.stop`, then takes a last sample.
pub(super) fn sample_loop(
    collector: Collector,
    ring: spsc::Producer<'_, Record>,
    shared: &Shared,
    interval_ns: u64,
    pressure: PressureTracker,
    tree_target: bool,
) -> SamplerOutcome {
    collector.bind_thread();
    let start = shared.start_mono_ns;
    let mut l = SampleLoop {
        platform: collector.platform().clone(),
        collector,
        ring,
        shared,
        pressure,
        out: SamplerOutcome {
            peaks: Peaks::new(),
            samples: 0,
            dropped: 0,
            cpu_ns: 0,
            lateness: Lateness::new(),
            processes_overflowed: 0,
        },
        pending_dropped: 0,
        unannounced: 0,
        sample: Sample::default(),
        next_slow: start + SLOW_NS,
        next_proc_mem: start,
        next_flush: start + FLUSH_NS,
        ticks_per_slow: (SLOW_NS / interval_ns.max(1)).max(1) as usize,
        ticks_per_status: (PROCESS_MEMORY_NS / interval_ns.max(1)).max(1) as usize,
        discovering: false,
        statuses_left: 0,
    };
    l.announce_initial();
    let mut k: u64 = 0;
    while !shared.stop.load(Ordering::Acquire) {
        let deadline = start + k * interval_ns;
        sleep_until(deadline, &shared.stop);
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        l.tick(deadline);
        // Skip ticks already missed instead of bursting to catch up.
        let after = mono_ns().saturating_sub(start);
        k = (after / interval_ns + 1).max(k + 1);
        if tree_target && l.collector.target_exited() {
            // The traced root is gone; the caller decides when to stop.
            shared.target_gone.store(true, Ordering::Release);
        }
    }
    l.finish()
}

impl SampleLoop<'_, '_> {
    /// One tick due at `deadline`: the slow path when due, then a sample.
    fn tick(&mut self, deadline: u64) {
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
        if now >= self.next_flush {
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
    fn finish(mut self) -> SamplerOutcome {
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
        self.out.cpu_ns = thread_cpu_ns();
        self.out
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
