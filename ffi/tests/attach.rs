//! `jetmem_attach`: its statuses, and marks through the recorder's channel
//! that arrive with this process's pid and allocate nothing. One test: it sets
//! the process environment.

use jetmem::*;
use jetmem_core::channel::Entry;
use jetmem_core::channel::shm::{Drained, ENV, Owned};
use jetmem_core::record::MarkKind;

#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

const MARKS: u64 = 1000;

#[test]
fn attach_statuses_and_marks_through_the_channel() {
    let mut t = std::ptr::null_mut();
    // SAFETY: NULL out is the case under test; t is a live local.
    unsafe {
        assert_eq!(
            jetmem_attach(std::ptr::null_mut()),
            jetmem_status::NullParameter
        );
        assert_eq!(jetmem_attach(&mut t), jetmem_status::NotRecording);
    }
    assert!(t.is_null(), "no handle on failure");

    let channel = Owned::create().unwrap();
    // SAFETY: this test binary has one test, so no other thread reads the environment.
    unsafe { std::env::set_var(ENV, channel.name()) };
    // SAFETY: t is a live local.
    assert_eq!(unsafe { jetmem_attach(&mut t) }, jetmem_status::Ok);

    counting_alloc::start();
    for i in 0..MARKS {
        // SAFETY: t is attached; the labels are C literals.
        let (a, b) = unsafe {
            (
                jetmem_mark(t, jetmem_mark_kind::Begin as u32, c"frame".as_ptr()),
                jetmem_record_allocator(t, i, JETMEM_UNKNOWN, i, JETMEM_UNKNOWN),
            )
        };
        assert_eq!((a, b), (jetmem_status::Ok, jetmem_status::Ok));
    }
    counting_alloc::pause();
    assert_eq!(
        counting_alloc::allocations(),
        0,
        "marks through the channel allocate"
    );

    let (mut marks, mut allocs, mut lost) = (0u64, 0u64, 0u64);
    channel.drain(
        || true,
        |d| match d {
            Drained::Entry(Entry::Mark(m)) => {
                assert_eq!(m.pid, Some(std::process::id()));
                assert_eq!((m.kind, m.label.as_str()), (MarkKind::Begin, "frame"));
                marks += 1;
            }
            Drained::Entry(Entry::Allocator(a)) => {
                assert_eq!(a.allocated, Some(allocs));
                assert_eq!(a.reserved, None, "JETMEM_UNKNOWN is unknown, not a figure");
                allocs += 1;
            }
            Drained::Lost { records, .. } => lost += records,
            Drained::Entry(other) => panic!("not written by this test: {other:?}"),
        },
    );
    assert_eq!((marks, allocs, lost), (MARKS, MARKS, 0));

    // SAFETY: t is attached and used by nothing else.
    unsafe {
        assert_eq!(jetmem_tracer_stop(t), jetmem_status::Ok);
        assert_eq!(
            jetmem_mark(t, jetmem_mark_kind::End as u32, c"frame".as_ptr()),
            jetmem_status::AlreadyStopped
        );
        assert_eq!(jetmem_tracer_stop(t), jetmem_status::AlreadyStopped);
        jetmem_tracer_free(t);
    }
}
