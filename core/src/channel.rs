//! The marker channel: a fixed ring in shared memory that every process of a
//! traced tree writes marks, phase begins/ends and allocator figures into, and
//! that the recorder drains at each sample. Layout, versioning, limits and
//! security: `docs/marker-channel.md`.
//!
//! This part is `no_std` and safe: the ring is a `#[repr(C)]` struct of
//! atomics ([`Ring`]), written by many processes at once and read by one.
//! A writer claims a slot with one compare-and-swap on `tail` and publishes it
//! by storing the slot's sequence number (a bounded MPSC queue after Dmitry
//! Vyukov's): no lock, no syscall, no allocation. A full ring costs the writer
//! one counter increment in its row of the writer table, never a wait.
//! Mapping the ring (`shm_open`, `mmap`) is the `std` half, [`shm`]. The module
//! needs 64-bit atomics, so it is absent on targets without them.

use crate::record::{Allocator, CUDA_HOOK_KINDS, CudaHook, MARK_LABEL_LEN, Mark, MarkKind};
use crate::text::from_utf8_lossy;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The first word of a channel: `"JMCHAN\0\x01"` read as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"JMCHAN\0\x01");
/// Layout version: a writer refuses a ring of another version.
pub const VERSION: u32 = 1;
/// Slots of the ring of a recording (a power of two).
pub const SLOTS: usize = 4096;
/// Rows of the writer table (per-writer loss counters).
pub const WRITERS: usize = 64;
/// Words of one slot: 128 bytes.
const SLOT_WORDS: usize = 16;
/// Words of a slot that hold the label.
const LABEL_WORDS: usize = MARK_LABEL_LEN / 8;
/// How often a writer retries a contended claim before counting the record lost.
const CLAIM_TRIES: u32 = 64;

/// What a slot holds (the `kind` byte of its meta word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum SlotKind {
    Begin = 0,
    End = 1,
    Instant = 2,
    Allocator = 3,
    CudaHook = 4,
}

/// One slot: `seq`, then the writer's monotonic time, a meta word
/// (pid | kind << 32 | device << 40 | label length << 48 | figure presence << 56),
/// four allocator figures and the label.
#[repr(C, align(128))]
#[derive(Debug)]
pub struct Slot {
    words: [AtomicU64; SLOT_WORDS],
}

/// One row of the writer table: a writer's pid (0 = free) and the records it lost.
#[repr(C)]
#[derive(Debug)]
pub struct WriterRow {
    pid: AtomicU32,
    _pad: AtomicU32,
    lost: AtomicU64,
}

/// The whole channel, as it lies in shared memory. `N` is the slot count (a
/// power of two); recordings use [`SLOTS`].
#[repr(C)]
#[derive(Debug)]
pub struct Ring<const N: usize = SLOTS> {
    magic: AtomicU64,
    version: AtomicU32,
    slots: AtomicU32,
    recorder_pid: AtomicU32,
    _pad: AtomicU32,
    /// Records lost by writers the table had no row for.
    lost_unlisted: AtomicU64,
    _pad2: [AtomicU64; 12],
    tail: AtomicU64,
    _pad3: [AtomicU64; 15],
    writers: [WriterRow; WRITERS],
    ring: [Slot; N],
}

/// One record taken from the channel, times still on the writer's monotonic clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A mark; its `t_ns` is the writer's `CLOCK_MONOTONIC` time.
    Mark(Mark),
    /// Allocator figures; `t_ns` as for marks.
    Allocator(Allocator),
    /// A `--cuda-hook` snapshot of one process; `t_ns` as for marks.
    CudaHook(CudaHook),
}

/// Why a writer's record did not go in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The ring was full (or too contended); the loss is counted for this writer.
    Full,
}

/// What a writer pushes.
#[derive(Debug, Clone, Copy)]
pub enum Push<'a> {
    /// A mark with this kind and label (cut to 48 bytes on a character boundary).
    Mark(MarkKind, &'a str),
    /// Allocator figures for a device (`None` = unknown).
    Allocator(u8, [Option<u64>; 4]),
    /// The `--cuda-hook` interposer's figures for this process (its `t_ns` and
    /// `pid` are ignored: the push's own are used).
    CudaHook(&'a CudaHook),
}

impl<const N: usize> Ring<N> {
    /// Makes zeroed memory a fresh, empty channel owned by `recorder_pid`.
    /// Only the creator calls this, before any writer can see the memory.
    pub fn init(&self, recorder_pid: u32) {
        for (i, slot) in self.ring.iter().enumerate() {
            if let Some(seq) = slot.words.first() {
                seq.store(i as u64, Ordering::Relaxed);
            }
        }
        self.tail.store(0, Ordering::Relaxed);
        self.slots.store(N as u32, Ordering::Relaxed);
        self.version.store(VERSION, Ordering::Relaxed);
        self.recorder_pid.store(recorder_pid, Ordering::Relaxed);
        self.magic.store(MAGIC, Ordering::Release);
    }

    /// Whether this memory is a channel a writer of this version may use.
    pub fn is_valid(&self) -> bool {
        self.magic.load(Ordering::Acquire) == MAGIC
            && self.version.load(Ordering::Relaxed) == VERSION
            && self.slots.load(Ordering::Relaxed) as usize == N
            && N.is_power_of_two()
    }

    /// The pid of the recorder that created the channel.
    pub fn recorder_pid(&self) -> u32 {
        self.recorder_pid.load(Ordering::Relaxed)
    }

    /// Writes one record from process `pid` at `t_mono_ns`. Never blocks: a
    /// full ring counts the record lost in `pid`'s row and returns `Full`.
    pub fn push(&self, pid: u32, t_mono_ns: u64, what: Push<'_>) -> Result<(), PushError> {
        let mut pos = self.tail.load(Ordering::Relaxed);
        for _ in 0..CLAIM_TRIES {
            let Some(slot) = self.ring.get(pos as usize & (N - 1)) else {
                break;
            };
            let Some(seq) = slot.words.first() else { break };
            let diff = seq.load(Ordering::Acquire).wrapping_sub(pos) as i64;
            if diff == 0 {
                match self.tail.compare_exchange_weak(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        fill(slot, pid, t_mono_ns, what);
                        seq.store(pos.wrapping_add(1), Ordering::Release);
                        return Ok(());
                    }
                    Err(now) => pos = now,
                }
            } else if diff < 0 {
                break; // full: the reader has not freed this slot yet
            } else {
                pos = self.tail.load(Ordering::Relaxed);
            }
        }
        self.count_lost(pid);
        Err(PushError::Full)
    }

    fn count_lost(&self, pid: u32) {
        for row in &self.writers {
            let owner = match row.pid.load(Ordering::Relaxed) {
                0 => match row
                    .pid
                    .compare_exchange(0, pid, Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => pid,
                    Err(other) => other,
                },
                other => other,
            };
            if owner == pid {
                row.lost.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.lost_unlisted.fetch_add(1, Ordering::Relaxed);
    }
}

fn word(slot: &Slot, i: usize) -> Option<&AtomicU64> {
    slot.words.get(i)
}

fn fill(slot: &Slot, pid: u32, t: u64, what: Push<'_>) {
    let set = |i: usize, v: u64| {
        if let Some(w) = word(slot, i) {
            w.store(v, Ordering::Relaxed);
        }
    };
    set(1, t);
    if let Push::CudaHook(c) = what {
        set(2, u64::from(pid) | (SlotKind::CudaHook as u64) << 32);
        let counts = [c.allocations, c.frees, c.table_overflow];
        for (i, v) in c.live.iter().chain(&c.peak).chain(&counts).enumerate() {
            set(3 + i, *v);
        }
        return;
    }
    let (kind, device, label, figures) = match what {
        Push::Mark(k, label) => {
            let kind = match k {
                MarkKind::Begin => SlotKind::Begin,
                MarkKind::End => SlotKind::End,
                _ => SlotKind::Instant,
            };
            (kind, 0u8, label, [None; 4])
        }
        Push::Allocator(device, figures) => (SlotKind::Allocator, device, "", figures),
        Push::CudaHook(_) => return,
    };
    let label: heapless::String<MARK_LABEL_LEN> = crate::text::truncated(label);
    let mut present = 0u64;
    for (i, f) in figures.iter().enumerate() {
        if let Some(v) = f {
            present |= 1 << i;
            set(3 + i, *v);
        }
    }
    set(
        2,
        u64::from(pid)
            | (kind as u64) << 32
            | u64::from(device) << 40
            | (label.len() as u64) << 48
            | present << 56,
    );
    let mut bytes = [0u8; MARK_LABEL_LEN];
    for (d, s) in bytes.iter_mut().zip(label.as_bytes()) {
        *d = *s;
    }
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        set(7 + i, u64::from_le_bytes(w));
    }
}

/// The single reader of a ring: the recorder. Keeps its read position and the
/// losses it has reported per writer row.
#[derive(Debug)]
pub struct Reader {
    head: u64,
    reported: [u64; WRITERS],
    reported_unlisted: u64,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

impl Reader {
    /// A reader at the start of a fresh ring.
    pub const fn new() -> Reader {
        Reader {
            head: 0,
            reported: [0; WRITERS],
            reported_unlisted: 0,
        }
    }

    /// Takes the next published record, if any; frees its slot.
    pub fn pop<const N: usize>(&mut self, ring: &Ring<N>) -> Option<Entry> {
        let slot = ring.ring.get(self.head as usize & (N - 1))?;
        let seq = word(slot, 0)?;
        if seq.load(Ordering::Acquire) != self.head.wrapping_add(1) {
            return None;
        }
        let get = |i: usize| word(slot, i).map_or(0, |w| w.load(Ordering::Relaxed));
        let t = get(1);
        let meta = get(2);
        let pid = Some(meta as u32);
        let kind = (meta >> 32) as u8;
        let entry = if kind == SlotKind::CudaHook as u8 {
            let mut c = CudaHook {
                t_ns: t,
                pid: meta as u32,
                allocations: get(3 + 2 * CUDA_HOOK_KINDS),
                frees: get(4 + 2 * CUDA_HOOK_KINDS),
                table_overflow: get(5 + 2 * CUDA_HOOK_KINDS),
                ..CudaHook::default()
            };
            for i in 0..CUDA_HOOK_KINDS {
                if let (Some(l), Some(p)) = (c.live.get_mut(i), c.peak.get_mut(i)) {
                    *l = get(3 + i);
                    *p = get(3 + CUDA_HOOK_KINDS + i);
                }
            }
            Entry::CudaHook(c)
        } else if kind == SlotKind::Allocator as u8 {
            let present = (meta >> 56) as u8;
            let fig = |i: usize| (present & (1 << i) != 0).then(|| get(3 + i));
            Entry::Allocator(Allocator {
                t_ns: t,
                device: (meta >> 40) as u8,
                allocated: fig(0),
                reserved: fig(1),
                peak_allocated: fig(2),
                peak_reserved: fig(3),
                pid,
            })
        } else {
            let mut bytes = [0u8; MARK_LABEL_LEN];
            for (i, chunk) in bytes.chunks_exact_mut(8).enumerate().take(LABEL_WORDS) {
                chunk.copy_from_slice(&get(7 + i).to_le_bytes());
            }
            let len = ((meta >> 48) as u8 as usize).min(MARK_LABEL_LEN);
            Entry::Mark(Mark {
                t_ns: t,
                kind: match kind {
                    0 => MarkKind::Begin,
                    1 => MarkKind::End,
                    _ => MarkKind::Instant,
                },
                label: from_utf8_lossy(bytes.get(..len).unwrap_or(&[])),
                pid,
            })
        };
        seq.store(self.head.wrapping_add(N as u64), Ordering::Release);
        self.head = self.head.wrapping_add(1);
        Some(entry)
    }

    /// Calls `f(pid, records)` for each writer that lost records since it
    /// last took them (pid 0: writers the table had no row for); `f` returns
    /// whether it took them, so a loss it could not keep is offered again.
    pub fn losses<const N: usize>(&mut self, ring: &Ring<N>, mut f: impl FnMut(u32, u64) -> bool) {
        for (row, seen) in ring.writers.iter().zip(self.reported.iter_mut()) {
            let lost = row.lost.load(Ordering::Relaxed);
            if lost > *seen && f(row.pid.load(Ordering::Relaxed), lost - *seen) {
                *seen = lost;
            }
        }
        let lost = ring.lost_unlisted.load(Ordering::Relaxed);
        if lost > self.reported_unlisted && f(0, lost - self.reported_unlisted) {
            self.reported_unlisted = lost;
        }
    }
}

#[cfg(feature = "std")]
pub mod shm;

#[cfg(test)]
mod tests;
