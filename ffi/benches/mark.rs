//! What a marker costs from C: `jetmem_mark` called through its exported
//! symbol (Rust ABI to the same `extern "C"` function) on a running tracer.
//! Target: ≤ 100 ns (issue 6). Run: `cargo bench -p jetmem-ffi --bench mark`.
//!
//! The marker queue holds 1024 entries and the writer drains it every few
//! milliseconds, so the input generator (outside the timed region) pauses
//! every 512 marks to let it drain: `accepted` then times the real path (the
//! marker enters the queue). `burst` marks without pauses, so once the queue
//! fills most calls take the `QUEUE_FULL` path (the cost when the writer is
//! behind). The statuses of `accepted` are counted and checked at the end.
//!
//! `attached` times the same call on a `jetmem_attach` handle: the mark goes
//! into a marker channel (as under `jetmem record`), which the input generator
//! drains every 512 marks as the recorder's sampler would.

use divan::Bencher;
use jetmem::config::JETMEM_FLAG_NO_CUDA;
use jetmem::*;
use jetmem_core::channel::shm::{ENV, Owned};
use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

struct Running(*mut jetmem_tracer);
// SAFETY: a jetmem tracer may be used from any thread (ffi/README.md).
unsafe impl Sync for Running {}
// SAFETY: as above.
unsafe impl Send for Running {}

static TRACER: OnceLock<Running> = OnceLock::new();
static ATTACHED: OnceLock<Running> = OnceLock::new();
/// The channel `attached_channel` marks into; taken (and so removed) at the end.
static CHANNEL: Mutex<Option<Owned>> = Mutex::new(None);
static NOT_OK: AtomicU64 = AtomicU64::new(0);

fn tracer() -> *const jetmem_tracer {
    TRACER
        .get_or_init(|| {
            let path =
                std::env::temp_dir().join(format!("jetmem-bench-{}.jmt", std::process::id()));
            let out = CString::new(path.to_str().unwrap()).unwrap();
            let cfg = jetmem_config {
                output_path: out.as_ptr(),
                flags: JETMEM_FLAG_NO_CUDA,
                ..Default::default()
            };
            let mut t = std::ptr::null_mut();
            // SAFETY: cfg and t are live locals; the path string outlives the call.
            let s = unsafe { jetmem_tracer_start(&cfg, &mut t) };
            assert_eq!(s, jetmem_status::Ok);
            Running(t)
        })
        .0
}

fn attached() -> *const jetmem_tracer {
    ATTACHED
        .get_or_init(|| {
            let channel = Owned::create().unwrap();
            // SAFETY: set before the handle is made, on the benchmark's one thread.
            unsafe { std::env::set_var(ENV, channel.name()) };
            *CHANNEL.lock().unwrap() = Some(channel);
            let mut t = std::ptr::null_mut();
            // SAFETY: t is a live local.
            assert_eq!(unsafe { jetmem_attach(&mut t) }, jetmem_status::Ok);
            Running(t)
        })
        .0
}

fn main() {
    divan::main();
    if let Some(t) = TRACER.get() {
        // SAFETY: the benchmarks are done; nothing else uses the tracer.
        unsafe {
            assert_eq!(jetmem_tracer_stop(t.0), jetmem_status::Ok);
            jetmem_tracer_free(t.0);
        }
        let path = std::env::temp_dir().join(format!("jetmem-bench-{}.jmt", std::process::id()));
        let _ = std::fs::remove_file(path);
    }
    if let Some(t) = ATTACHED.get() {
        // SAFETY: the benchmarks are done; nothing else uses the handle.
        unsafe { jetmem_tracer_free(t.0) };
    }
    drop(CHANNEL.lock().unwrap().take()); // removes the channel
    let not_ok = NOT_OK.load(Ordering::Relaxed);
    assert_eq!(
        not_ok, 0,
        "{not_ok} timed marks in `accepted` were not accepted"
    );
}

/// One timed mark; a status other than OK is counted and fails the run at the end.
#[inline(always)]
fn counted_mark(t: *const jetmem_tracer) {
    // SAFETY: t is a running tracer or an attached handle; the label is a C literal.
    let s = unsafe {
        jetmem_mark(
            divan::black_box(t),
            jetmem_mark_kind::Instant as u32,
            c"frame".as_ptr(),
        )
    };
    if s != jetmem_status::Ok {
        NOT_OK.fetch_add(1, Ordering::Relaxed);
    }
}

#[divan::bench(sample_count = 200, sample_size = 256)]
fn accepted(bencher: Bencher) {
    let t = tracer();
    let mut n = 0u64;
    bencher
        .with_inputs(|| {
            n += 1;
            if n % 512 == 0 {
                std::thread::sleep(Duration::from_millis(12));
            }
        })
        .bench_local_values(|()| counted_mark(t));
}

#[divan::bench(sample_count = 200, sample_size = 256)]
fn burst(bencher: Bencher) {
    let t = tracer();
    // Fill the queue first.
    for _ in 0..4096 {
        // SAFETY: as above.
        let _ = unsafe { jetmem_mark(t, jetmem_mark_kind::Instant as u32, c"fill".as_ptr()) };
    }
    bencher.bench_local(|| {
        // SAFETY: as above.
        unsafe {
            jetmem_mark(
                divan::black_box(t),
                jetmem_mark_kind::Instant as u32,
                c"frame".as_ptr(),
            )
        }
    });
}

#[divan::bench(sample_count = 200, sample_size = 256)]
fn attached_channel(bencher: Bencher) {
    let t = attached();
    let mut n = 0u64;
    bencher
        .with_inputs(|| {
            n += 1;
            if n % 512 == 0
                && let Some(channel) = CHANNEL.lock().unwrap().as_ref()
            {
                channel.drain(|| true, |_| {});
            }
        })
        .bench_local_values(|()| counted_mark(t));
}
