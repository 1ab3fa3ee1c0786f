//! The channel in POSIX shared memory (`/dev/shm`): the recorder creates it
//! ([`Owned`], mode 0600, removed on drop), writers map it by the name in
//! [`ENV`] ([`Mapped`]), and [`clean_stale`] removes rings left by a killed
//! recorder. The writer's pid is cached per process ([`writer_pid`]) and
//! refreshed in the child of every `fork`, so a mark makes no syscall.

use super::{Push, PushError, Reader, Ring};
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap, shm_open, shm_unlink};
use nix::sys::stat::{Mode, fstat};
use nix::unistd::{Uid, ftruncate, getpid};
use std::ffi::c_void;
use std::num::NonZeroUsize;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable that names the channel for the traced command.
pub const ENV: &str = "JETMEM_CHANNEL";
/// Where Linux keeps POSIX shared memory objects.
const SHM_DIR: &str = "/dev/shm";
/// Every channel's name starts with this (then `<uid>-<recorder pid>-<nonce>`).
const PREFIX: &str = "jetmem-";

/// Why a channel could not be created or opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChannelError {
    /// A system call failed.
    Sys(&'static str, nix::Error),
    /// The object is not a channel of this layout version (or too small).
    NotAChannel,
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelError::Sys(what, e) => write!(f, "marker channel: {what}: {e}"),
            ChannelError::NotAChannel => {
                f.write_str("marker channel: not a jetmem channel of this version")
            }
        }
    }
}

impl std::error::Error for ChannelError {}

/// A ring mapped into this process.
#[derive(Debug)]
struct Map {
    ptr: NonNull<c_void>,
}

// SAFETY: the mapping is only ever accessed through `&Ring`, whose fields are
// all atomics; the pointer itself is never written after mapping.
unsafe impl Send for Map {}
// SAFETY: as for `Send`: shared access goes through atomics only.
unsafe impl Sync for Map {}

const LEN: usize = size_of::<Ring>();

impl Map {
    fn new(fd: &OwnedFd) -> Result<Map, ChannelError> {
        let len = NonZeroUsize::new(LEN).ok_or(ChannelError::NotAChannel)?;
        // SAFETY: a fresh shared mapping of `fd` at an address the kernel picks;
        // no existing memory is affected.
        let ptr = unsafe {
            mmap(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd,
                0,
            )
        }
        .map_err(|e| ChannelError::Sys("mmap", e))?;
        Ok(Map { ptr })
    }

    fn ring(&self) -> &Ring {
        // SAFETY: `ptr` maps `LEN = size_of::<Ring>()` bytes, page-aligned (more
        // than `Ring`'s alignment), for the life of `self`. Every field of `Ring`
        // is an atomic integer, valid for any bit pattern, and all access goes
        // through atomic operations, so other processes writing it concurrently
        // is no data race.
        unsafe { self.ptr.cast::<Ring>().as_ref() }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `mmap` of `LEN` bytes and no reference into
        // it outlives `self` (`ring()` borrows `self`).
        let _ = unsafe { munmap(self.ptr, LEN) };
    }
}

/// The recorder's channel: created fresh, removed (`shm_unlink`) on drop.
#[derive(Debug)]
pub struct Owned {
    name: String,
    map: Map,
    reader: std::sync::Mutex<Reader>,
}

impl Owned {
    /// Removes stale rings of this user, then creates an empty channel
    /// readable and writable by this user only (0600).
    pub fn create() -> Result<Owned, ChannelError> {
        clean_stale();
        let pid = std::process::id();
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("/{PREFIX}{}-{pid}-{nonce:x}", Uid::current());
        let fd = shm_open(
            name.as_str(),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )
        .map_err(|e| ChannelError::Sys("shm_open", e))?;
        let made = ftruncate(&fd, LEN as i64)
            .map_err(|e| ChannelError::Sys("ftruncate", e))
            .and_then(|()| Map::new(&fd));
        let map = match made {
            Ok(m) => m,
            Err(e) => {
                let _ = shm_unlink(name.as_str());
                return Err(e);
            }
        };
        map.ring().init(pid);
        Ok(Owned {
            name,
            map,
            reader: std::sync::Mutex::new(Reader::new()),
        })
    }

    /// The name to pass in [`ENV`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drains published records into `f` while `room()` says the caller can
    /// keep one more (the rest stay in the channel for the next call), then
    /// each writer's new losses likewise. Returns whether the channel was left
    /// empty. Called by the sampler thread only.
    pub fn drain(&self, mut room: impl FnMut() -> bool, mut f: impl FnMut(Drained)) -> bool {
        let Ok(mut reader) = self.reader.try_lock() else {
            return false;
        };
        let ring = self.map.ring();
        let mut empty = false;
        while room() {
            match reader.pop(ring) {
                Some(e) => f(Drained::Entry(e)),
                None => {
                    empty = true;
                    break;
                }
            }
        }
        reader.losses(ring, |pid, records| {
            let kept = room();
            if kept {
                f(Drained::Lost { pid, records });
            }
            kept
        });
        empty
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = shm_unlink(self.name.as_str());
    }
}

/// What [`Owned::drain`] hands over.
#[derive(Debug)]
pub enum Drained {
    /// A record a writer wrote.
    Entry(super::Entry),
    /// Records writer `pid` lost since the last report (pid 0: unlisted writers).
    Lost {
        /// The writer.
        pid: u32,
        /// How many.
        records: u64,
    },
}

/// A writer's mapping of the recorder's channel.
#[derive(Debug)]
pub struct Mapped {
    map: Map,
}

impl Mapped {
    /// Maps the channel named in [`ENV`]; `Ok(None)` when the variable is unset.
    pub fn from_env() -> Result<Option<Mapped>, ChannelError> {
        match std::env::var(ENV) {
            Ok(name) if !name.is_empty() => Mapped::open(&name).map(Some),
            _ => Ok(None),
        }
    }

    /// Maps the channel `name` (a name from [`Owned::name`]).
    pub fn open(name: &str) -> Result<Mapped, ChannelError> {
        let fd = shm_open(name, OFlag::O_RDWR, Mode::empty())
            .map_err(|e| ChannelError::Sys("shm_open", e))?;
        let st = fstat(&fd).map_err(|e| ChannelError::Sys("fstat", e))?;
        if (st.st_size as u64) < LEN as u64 {
            return Err(ChannelError::NotAChannel);
        }
        let map = Map::new(&fd)?;
        if !map.ring().is_valid() {
            return Err(ChannelError::NotAChannel);
        }
        register_fork_handler();
        Ok(Mapped { map })
    }

    /// Writes one record now from this process. No lock, syscall or
    /// allocation (the time comes from the vDSO's `CLOCK_MONOTONIC`).
    #[inline]
    pub fn push(&self, what: Push<'_>) -> Result<(), PushError> {
        self.map.ring().push(writer_pid(), mono_ns(), what)
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds, the sampler's clock.
fn mono_ns() -> u64 {
    crate::sampler::mono_ns()
}

/// This process's pid, cached; 0 until the first channel is opened.
static PID: AtomicU32 = AtomicU32::new(0);

/// The calling process's pid without a syscall (refreshed after `fork`).
pub fn writer_pid() -> u32 {
    PID.load(Ordering::Relaxed)
}

extern "C" fn refresh_pid() {
    PID.store(getpid().as_raw() as u32, Ordering::Relaxed);
}

fn register_fork_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        refresh_pid();
        // SAFETY: registers a child handler that only calls getpid(2) (async-
        // signal-safe) and stores an atomic; the handler is a plain `extern "C"`
        // function that lives as long as the library.
        let _ = unsafe { nix::libc::pthread_atfork(None, None, Some(refresh_pid)) };
    });
}

/// Removes the channels of this user whose recorder no longer runs (a
/// recorder killed with SIGKILL cannot remove its own). Returns how many.
pub fn clean_stale() -> usize {
    let Ok(dir) = std::fs::read_dir(SHM_DIR) else {
        return 0;
    };
    let mine = format!("{PREFIX}{}-", Uid::current());
    let mut removed = 0;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(mine.as_str())) else {
            continue;
        };
        let Some(pid) = rest
            .split('-')
            .next()
            .and_then(|p| p.parse::<i32>().ok())
            .filter(|p| *p > 0)
        else {
            continue;
        };
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
            .map_or_else(|e| e != nix::errno::Errno::ESRCH, |()| true);
        if !alive && shm_unlink(format!("/{}", name.to_string_lossy()).as_str()).is_ok() {
            removed += 1;
        }
    }
    removed
}
