//! The marker path allocates nothing: `jetmem_mark` and
//! `jetmem_record_allocator` are called 2 000 times on a running tracer while
//! a counting global allocator counts this thread's allocations.

use jetmem::config::JETMEM_FLAG_NO_CUDA;
use jetmem::*;
use std::ffi::CString;

#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

#[test]
fn marks_and_allocator_records_do_not_allocate() {
    let path = std::env::temp_dir().join(format!("jetmem-noalloc-{}.jmt", std::process::id()));
    let out = CString::new(path.to_str().unwrap()).unwrap();
    let cfg = jetmem_config {
        output_path: out.as_ptr(),
        flags: JETMEM_FLAG_NO_CUDA,
        ..Default::default()
    };
    let mut t = std::ptr::null_mut();
    // SAFETY: cfg and t are live locals.
    let started = unsafe { jetmem_tracer_start(&cfg, &mut t) };
    assert_eq!(started, jetmem_status::Ok);
    let mut statuses = [0u32; 16];
    counting_alloc::start();
    // A full queue (a slow writer, e.g. under an emulator) is waited out with the
    // count paused, and the same call is made again: only accepted calls count.
    let retry = |call: &dyn Fn() -> jetmem_status| -> jetmem_status {
        for _ in 0..2000 {
            let status = call();
            if status != jetmem_status::QueueFull {
                return status;
            }
            counting_alloc::pause();
            std::thread::sleep(std::time::Duration::from_millis(5));
            counting_alloc::start();
        }
        jetmem_status::QueueFull
    };
    for i in 0..2000u64 {
        // SAFETY: t is running; the label is a C literal.
        let a = retry(&|| unsafe {
            jetmem_mark(t, jetmem_mark_kind::Instant as u32, c"frame".as_ptr())
        });
        // SAFETY: t is running.
        let b = retry(&|| unsafe { jetmem_record_allocator(t, i, 2 * i, i, 2 * i) });
        statuses[a as usize] += 1;
        statuses[b as usize] += 1;
    }
    counting_alloc::pause();
    // SAFETY: t is live; nothing else uses it.
    unsafe {
        assert_eq!(jetmem_tracer_stop(t), jetmem_status::Ok);
        jetmem_tracer_free(t);
    }
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        counting_alloc::allocations(),
        0,
        "allocations on the marker path"
    );
    assert_eq!(
        statuses[jetmem_status::Ok as usize],
        4000,
        "every call was accepted, so the real path was measured: {statuses:?}"
    );
}
