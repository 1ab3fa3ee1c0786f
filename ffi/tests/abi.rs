//! The C ABI called through its Rust signatures: a real trace is written,
//! decoded and checked; every misuse gives its status code.

use jetmem::config::{JETMEM_FLAG_FORCE, JETMEM_FLAG_NO_CUDA, JETMEM_FLAG_SYSTEM};
use jetmem::*;
use jetmem_core::record::{Counter, MarkKind, Record};
use jetmem_core::wire::Item;
use jetmem_core::wire::stream::TraceReader;
use std::ffi::{CString, c_char, c_int};
use std::path::{Path, PathBuf};
use std::ptr;

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jetmem-ffi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cpath(p: &Path) -> CString {
    CString::new(p.to_str().unwrap()).unwrap()
}

fn config(out: &CString, label: Option<&CString>) -> jetmem_config {
    let mut c = std::mem::MaybeUninit::<jetmem_config>::uninit();
    assert_eq!(
        // SAFETY: the pointer is to a live local MaybeUninit.
        unsafe { jetmem_config_default(c.as_mut_ptr()) },
        jetmem_status::Ok
    );
    // SAFETY: jetmem_config_default returned OK, so it initialised the value.
    let mut c = unsafe { c.assume_init() };
    c.output_path = out.as_ptr();
    c.interval_ns = 1_000_000;
    c.label = label.map_or(ptr::null(), |l| l.as_ptr());
    c.flags = JETMEM_FLAG_NO_CUDA;
    c
}

fn start(cfg: &jetmem_config) -> *mut jetmem_tracer {
    let mut t: *mut jetmem_tracer = ptr::null_mut();
    assert_eq!(
        // SAFETY: cfg and t are live locals.
        unsafe { jetmem_tracer_start(cfg, &mut t) },
        jetmem_status::Ok
    );
    assert!(!t.is_null());
    t
}

fn records(path: &Path) -> (jetmem_core::record::Header, Vec<Record>) {
    let reader = TraceReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut header = None;
    let mut out = Vec::new();
    for item in reader {
        match item.unwrap() {
            Item::Header(h) => header = Some(h),
            Item::Record(r) => out.push(r),
            Item::Unknown { .. } => {}
        }
    }
    (header.expect("trace has a header"), out)
}

fn marks(recs: &[Record]) -> Vec<(MarkKind, String)> {
    recs.iter()
        .filter_map(|r| match r {
            Record::Mark(m) => Some((m.kind, m.label.as_str().to_owned())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_traced_run_decodes_with_its_marks_and_allocator_figures() {
    let dir = scratch("run");
    let path = dir.join("run.jmt");
    let out = cpath(&path);
    let label = CString::new("edgetam").unwrap();
    let t = start(&config(&out, Some(&label)));
    let begin = jetmem_mark_kind::Begin as u32;
    let end = jetmem_mark_kind::End as u32;
    let instant = jetmem_mark_kind::Instant as u32;
    // SAFETY: t is live until the free at the end of this block; labels are C literals.
    unsafe {
        assert_eq!(
            jetmem_mark(t, begin, c"inference".as_ptr()),
            jetmem_status::Ok
        );
        assert_eq!(
            jetmem_mark(t, instant, c"frame".as_ptr()),
            jetmem_status::Ok
        );
        std::thread::sleep(std::time::Duration::from_millis(50)); // 50 intervals of 1 ms
        assert_eq!(
            jetmem_record_allocator(t, 1 << 20, 4 << 20, 3 << 20, JETMEM_UNKNOWN),
            jetmem_status::Ok
        );
        assert_eq!(
            jetmem_record_allocator_device(t, 1, 5, 6, 7, 8),
            jetmem_status::Ok
        );
        assert_eq!(
            jetmem_mark(t, end, c"inference".as_ptr()),
            jetmem_status::Ok
        );
        assert_eq!(jetmem_tracer_stop(t), jetmem_status::Ok);
        jetmem_tracer_free(t);
    }
    let (header, recs) = records(&path);
    assert_eq!(header.label.as_str(), "edgetam");
    assert_eq!(header.pid, Some(std::process::id()));
    assert_eq!(header.interval_ns, 1_000_000);
    assert_eq!(
        marks(&recs),
        vec![
            (MarkKind::Begin, "inference".to_owned()),
            (MarkKind::Instant, "frame".to_owned()),
            (MarkKind::End, "inference".to_owned()),
        ]
    );
    let allocs: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Allocator(a) => Some(*a),
            _ => None,
        })
        .collect();
    assert_eq!(allocs.len(), 2);
    assert_eq!(allocs[0].device, 0);
    assert_eq!(allocs[0].allocated, Some(1 << 20));
    assert_eq!(allocs[0].reserved, Some(4 << 20));
    assert_eq!(allocs[0].peak_allocated, Some(3 << 20));
    assert_eq!(allocs[0].peak_reserved, None, "UINT64_MAX means unknown");
    assert_eq!(allocs[1].device, 1);
    assert_eq!(allocs[1].peak_reserved, Some(8));
    assert!(
        matches!(recs.last(), Some(Record::End(_))),
        "the trace ends cleanly"
    );
    // The sampler ran in this process and saw this process's tree.
    let samples: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Sample(s) => Some(s.counters),
            _ => None,
        })
        .collect();
    // At least one: the box may be loaded (tests run in parallel on few cores).
    assert!(!samples.is_empty(), "no samples in 50 ms at 1 ms");
    let last = samples.last().unwrap();
    assert!(last.get(Counter::TreeProcesses).unwrap() >= 1);
    assert!(
        last.get(Counter::TreeRss).unwrap() > 1 << 20,
        "this test's RSS"
    );
    // Times never go backwards across the marks.
    let times: Vec<u64> = recs
        .iter()
        .filter(|r| matches!(r, Record::Mark(_)))
        .map(Record::t_ns)
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn misuse_after_stop_gives_already_stopped() {
    let dir = scratch("stopped");
    let out = cpath(&dir.join("s.jmt"));
    let t = start(&config(&out, None));
    // SAFETY: t is live until freed at the end of this block.
    unsafe {
        assert_eq!(jetmem_tracer_stop(t), jetmem_status::Ok);
        assert_eq!(jetmem_tracer_stop(t), jetmem_status::AlreadyStopped);
        assert_eq!(
            jetmem_mark(t, jetmem_mark_kind::Instant as u32, c"late".as_ptr()),
            jetmem_status::AlreadyStopped
        );
        assert_eq!(
            jetmem_record_allocator(t, 1, 2, 3, 4),
            jetmem_status::AlreadyStopped
        );
        jetmem_tracer_free(t);
    }
    let (_, recs) = records(&dir.join("s.jmt"));
    assert!(
        marks(&recs).is_empty(),
        "the late mark must not be in the trace"
    );
}

#[test]
fn bad_arguments_give_their_codes_and_leave_outputs_alone() {
    let dir = scratch("args");
    let path = dir.join("a.jmt");
    let out = cpath(&path);
    let sentinel = ptr::dangling_mut::<jetmem_tracer>(); // never dereferenced
    let mut t = sentinel;
    // SAFETY: every pointer is NULL, a live local, a C literal, or a tracer used only before its free.
    unsafe {
        assert_eq!(
            jetmem_config_default(ptr::null_mut()),
            jetmem_status::NullParameter
        );
        assert_eq!(
            jetmem_tracer_start(ptr::null(), &mut t),
            jetmem_status::NullParameter
        );
        let good = config(&out, None);
        assert_eq!(
            jetmem_tracer_start(&good, ptr::null_mut()),
            jetmem_status::NullParameter
        );

        let mut c = good;
        c.output_path = ptr::null();
        assert_eq!(
            jetmem_tracer_start(&c, &mut t),
            jetmem_status::NullParameter
        );
        let mut c = good;
        c.flags = 1 << 31;
        assert_eq!(
            jetmem_tracer_start(&c, &mut t),
            jetmem_status::InvalidArgument
        );
        let mut c = good;
        c.interval_ns = 10; // 10 ns: below the 10 µs floor
        assert_eq!(
            jetmem_tracer_start(&c, &mut t),
            jetmem_status::InvalidArgument
        );
        let bad_label = [0xffu8 as c_char, 0xfe_u8 as c_char, 0];
        let mut c = good;
        c.label = bad_label.as_ptr();
        assert_eq!(jetmem_tracer_start(&c, &mut t), jetmem_status::InvalidUtf8);
        let missing = cpath(&dir.join("no/such/dir/x.jmt"));
        let mut c = good;
        c.output_path = missing.as_ptr();
        assert_eq!(jetmem_tracer_start(&c, &mut t), jetmem_status::IoError);
        let mut c = good;
        c.pid = u32::MAX - 1; // above pid_max on every Linux
        assert_eq!(
            jetmem_tracer_start(&c, &mut t),
            jetmem_status::NoSuchProcess
        );
        assert!(!path.exists(), "a failed start leaves no file behind");
        std::fs::write(&path, b"precious").unwrap();
        assert_eq!(
            jetmem_tracer_start(&good, &mut t),
            jetmem_status::Exists,
            "an existing file is replaced only with JETMEM_FLAG_FORCE"
        );
        let mut c = good;
        c.pid = u32::MAX - 1;
        c.flags |= JETMEM_FLAG_FORCE;
        assert_eq!(
            jetmem_tracer_start(&c, &mut t),
            jetmem_status::NoSuchProcess
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"precious",
            "a failed start leaves an existing file alone, even with force"
        );
        let link = dir.join("link.jmt");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let clink = cpath(&link);
        let mut c = good;
        c.output_path = clink.as_ptr();
        c.flags |= JETMEM_FLAG_FORCE;
        assert_eq!(
            jetmem_tracer_start(&c, &mut t),
            jetmem_status::Exists,
            "force never replaces a symbolic link (nor its target)"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(t, sentinel, "*out is written only on success");

        let mut c = good;
        c.flags |= JETMEM_FLAG_SYSTEM;
        let t = start(&c);
        assert_eq!(
            jetmem_mark(ptr::null(), 0, c"x".as_ptr()),
            jetmem_status::NullParameter
        );
        assert_eq!(jetmem_mark(t, 0, ptr::null()), jetmem_status::NullParameter);
        assert_eq!(
            jetmem_mark(t, 3, c"x".as_ptr()),
            jetmem_status::InvalidArgument
        );
        assert_eq!(
            jetmem_mark(t, 0, bad_label.as_ptr()),
            jetmem_status::InvalidUtf8
        );
        assert_eq!(
            jetmem_record_allocator(ptr::null(), 1, 2, 3, 4),
            jetmem_status::NullParameter
        );
        assert_eq!(
            jetmem_record_allocator_device(t, 256, 1, 2, 3, 4),
            jetmem_status::InvalidArgument
        );
        assert_eq!(
            jetmem_tracer_stop(ptr::null()),
            jetmem_status::NullParameter
        );
        let mut lost = 0u64;
        assert_eq!(
            jetmem_tracer_markers_lost(ptr::null(), &mut lost),
            jetmem_status::NullParameter
        );
        assert_eq!(
            jetmem_tracer_markers_lost(t, ptr::null_mut()),
            jetmem_status::NullParameter
        );
        assert_eq!(jetmem_tracer_stop(t), jetmem_status::Ok);
        jetmem_tracer_free(t);
        jetmem_tracer_free(ptr::null_mut());
    }
    let (header, recs) = records(&path);
    assert_eq!(
        header.pid, None,
        "JETMEM_FLAG_SYSTEM traces the whole system"
    );
    assert!(marks(&recs).is_empty(), "rejected marks are not recorded");
}

#[test]
fn status_messages_fit_their_buffers() {
    let mut buf = [0x55 as c_char; 128];
    let mut n = usize::MAX;
    for code in 0..=13 as c_int {
        // SAFETY: NULL buffers come with len 0; buf is a live local of buf.len() bytes.
        unsafe {
            assert_eq!(
                jetmem_status_message(code, ptr::null_mut(), 0, &mut n),
                jetmem_status::Ok
            );
            let needed = n;
            assert!(needed > 0);
            assert_eq!(
                jetmem_status_message(code, buf.as_mut_ptr(), needed, &mut n),
                jetmem_status::BufferTooSmall,
                "the NUL needs one more byte"
            );
            assert_eq!(
                jetmem_status_message(code, buf.as_mut_ptr(), needed + 1, &mut n),
                jetmem_status::Ok
            );
            let text = std::ffi::CStr::from_ptr(buf.as_ptr()).to_str().unwrap();
            assert_eq!(text.len(), n);
        }
    }
    // SAFETY: buf holds the NUL-terminated message just written.
    let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    assert_eq!(
        text.to_str().unwrap(),
        "this process is a fork of the tracer's: its copy records nothing"
    );
    n = 7;
    // SAFETY: buf is a live local of buf.len() bytes; the NULL out_n is the case under test.
    unsafe {
        assert_eq!(
            jetmem_status_message(14, buf.as_mut_ptr(), buf.len(), &mut n),
            jetmem_status::InvalidArgument
        );
        assert_eq!(
            jetmem_status_message(-1, buf.as_mut_ptr(), buf.len(), &mut n),
            jetmem_status::InvalidArgument
        );
        assert_eq!(
            jetmem_status_message(0, buf.as_mut_ptr(), buf.len(), ptr::null_mut()),
            jetmem_status::NullParameter
        );
    }
    assert_eq!(n, 7, "out_n is written only on success");
    // SAFETY: jetmem_version returns a static NUL-terminated string.
    let v = unsafe { std::ffi::CStr::from_ptr(jetmem_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn many_threads_mark_at_once_and_every_accepted_mark_is_recorded() {
    let dir = scratch("threads");
    let path = dir.join("t.jmt");
    let out = cpath(&path);
    let t = start(&config(&out, None));
    struct Shared(*const jetmem_tracer);
    // SAFETY: the tracer is Sync by contract; it outlives the scoped threads.
    unsafe impl Sync for Shared {}
    let shared = Shared(t);
    const THREADS: usize = 8;
    const EACH: usize = 2000;
    let accepted: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|i| {
                let shared = &shared;
                s.spawn(move || {
                    let label = CString::new(format!("thread-{i}")).unwrap();
                    let mut ok = 0;
                    for _ in 0..EACH {
                        // SAFETY: the tracer is live until freed after the threads are joined; label is a live CString.
                        match unsafe {
                            jetmem_mark(shared.0, jetmem_mark_kind::Instant as u32, label.as_ptr())
                        } {
                            jetmem_status::Ok => ok += 1,
                            jetmem_status::QueueFull => {}
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                    ok
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    // SAFETY: the threads are joined; t is live and no thread uses it any more.
    unsafe {
        assert_eq!(jetmem_tracer_stop(t), jetmem_status::Ok);
    }
    let mut lost = u64::MAX;
    // SAFETY: t is live (stopped, not freed); lost is a live local.
    let status = unsafe { jetmem_tracer_markers_lost(t, &mut lost) };
    assert_eq!(status, jetmem_status::Ok);
    let total = (THREADS * EACH) as u64;
    assert_eq!(
        lost,
        total - accepted.iter().sum::<usize>() as u64,
        "every QUEUE_FULL is counted"
    );
    // SAFETY: nothing uses t any more.
    unsafe { jetmem_tracer_free(t) };
    let (_, recs) = records(&path);
    let got = marks(&recs);
    assert_eq!(got.len(), accepted.iter().sum::<usize>());
    assert!(accepted.iter().sum::<usize>() > 0);
    for (i, ok) in accepted.iter().enumerate() {
        let label = format!("thread-{i}");
        let n = got.iter().filter(|(_, l)| *l == label).count();
        assert_eq!(n, *ok, "every OK mark of {label} is in the trace, no other");
    }
}

#[test]
fn stop_racing_marks_gives_status_codes_and_a_clean_trace() {
    let dir = scratch("race");
    let path = dir.join("r.jmt");
    let out = cpath(&path);
    let t = start(&config(&out, None));
    struct Shared(*const jetmem_tracer);
    // SAFETY: the tracer is Sync by contract; it outlives the scoped threads.
    unsafe impl Sync for Shared {}
    let shared = Shared(t);
    let accepted: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let shared = &shared;
                s.spawn(move || {
                    let mut ok = 0usize;
                    loop {
                        // SAFETY: the tracer is live until freed after the threads end.
                        let status = unsafe {
                            jetmem_mark(shared.0, jetmem_mark_kind::Instant as u32, c"r".as_ptr())
                        };
                        match status {
                            jetmem_status::Ok => ok += 1,
                            jetmem_status::QueueFull => std::thread::yield_now(),
                            jetmem_status::AlreadyStopped => return ok,
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        // SAFETY: stop may race marks on other threads (the threading contract).
        assert_eq!(unsafe { jetmem_tracer_stop(shared.0) }, jetmem_status::Ok);
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    // SAFETY: every thread has ended; nothing uses t any more.
    unsafe { jetmem_tracer_free(t) };
    let (_, recs) = records(&path);
    assert!(matches!(recs.last(), Some(Record::End(_))), "clean end");
    let got = marks(&recs).len();
    assert!(
        got > 0 && got <= accepted,
        "{got} marks in the trace, {accepted} accepted"
    );
}
