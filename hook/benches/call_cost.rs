//! What `--cuda-hook` adds to an intercepted call, against the fake driver
//! (tests/fakecuda): a `cuMemAlloc_v2` + `cuMemFree_v2` pair called directly
//! (`driver`, the floor: the same calls without the hook) and through the
//! hook's wrappers as `dlsym` on libcuda's handle hands them out (`hooked`),
//! with a marker channel mapped and drained by a thread as the recorder
//! would. The pointer table is warmed up first (its pages are touched on first
//! use). Target: ≤ 200 ns added per call (issue 12), i.e. the difference of
//! the two medians over 2 calls. Run:
//!   tests/fakecuda/build.sh; JETMEM_FAKECUDA_DIR=$PWD/target/fakecuda/x86_64 \
//!     cargo bench -p jetmem-cudahook --bench call_cost

use divan::Bencher;
use jetmem_core::channel::shm::{Mapped, Owned};
use jetmem_cudahook::counts::CHANNEL;
use std::ffi::{CString, c_int, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

type Alloc = unsafe extern "C" fn(*mut u64, usize) -> c_int;
type Free = unsafe extern "C" fn(u64) -> c_int;

struct Calls {
    driver: (Alloc, Free),
    hooked: (Alloc, Free),
}

static CALLS: OnceLock<Calls> = OnceLock::new();
static STOP: AtomicBool = AtomicBool::new(false);

fn calls() -> &'static Calls {
    CALLS.get_or_init(|| {
        let dir = std::env::var("JETMEM_FAKECUDA_DIR").expect("set JETMEM_FAKECUDA_DIR");
        let path = CString::new(format!("{dir}/libcuda.so.1")).unwrap();
        // SAFETY: loads the fake driver; kept loaded for the process.
        let h = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!h.is_null(), "cannot load {dir}/libcuda.so.1");
        let sym = |name: &std::ffi::CStr| {
            // SAFETY: the hook's dlsym on a live handle (it forwards to glibc's).
            let p = unsafe { jetmem_cudahook::dlsym(h, name.as_ptr()) };
            assert!(!p.is_null(), "{name:?}");
            p
        };
        // SAFETY: the fake's cuInit(unsigned) -> CUresult.
        let init: unsafe extern "C" fn(u32) -> c_int =
            unsafe { std::mem::transmute(sym(c"cuInit")) };
        // SAFETY: as declared by the fake driver.
        assert_eq!(unsafe { init(0) }, 0);
        // SAFETY: the wrappers have these C signatures (hook/src/lib.rs).
        let hooked: (Alloc, Free) = unsafe {
            (
                std::mem::transmute::<*mut c_void, Alloc>(sym(c"cuMemAlloc_v2")),
                std::mem::transmute::<*mut c_void, Free>(sym(c"cuMemFree_v2")),
            )
        };
        let real = |n| jetmem_cudahook::driver_function(n).expect("driver function");
        // SAFETY: the fake driver's own functions of these names and signatures.
        let driver: (Alloc, Free) = unsafe {
            (
                std::mem::transmute::<usize, Alloc>(real(c"cuMemAlloc_v2")),
                std::mem::transmute::<usize, Free>(real(c"cuMemFree_v2")),
            )
        };
        // A channel as under `jetmem record`, drained by a thread.
        let owned = Owned::create().unwrap();
        let _ = CHANNEL.set(Mapped::open(owned.name()).unwrap());
        std::thread::spawn(move || {
            while !STOP.load(Ordering::Relaxed) {
                owned.drain(|| true, |_| {});
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        // Touch the pointer table's pages first (1 MiB of .bss, faulted in on
        // first use): the benchmark times the warm path.
        for _ in 0..200_000 {
            let mut p = 0u64;
            // SAFETY: the hook's wrappers with valid arguments.
            unsafe {
                assert_eq!(hooked.0(&mut p, 1 << 20), 0);
                assert_eq!(hooked.1(p), 0);
            }
        }
        Calls { driver, hooked }
    })
}

fn pair(b: Bencher, (alloc, free): (Alloc, Free)) {
    b.bench(|| {
        let mut p = 0u64;
        // SAFETY: the fake driver's (or the hook's) alloc/free with valid arguments.
        unsafe {
            assert_eq!(alloc(&mut p, 1 << 20), 0);
            assert_eq!(free(divan::black_box(p)), 0);
        }
    });
}

#[divan::bench(sample_count = 200, sample_size = 512)]
fn driver(b: Bencher) {
    pair(b, calls().driver);
}

#[divan::bench(sample_count = 200, sample_size = 512)]
fn hooked(b: Bencher) {
    pair(b, calls().hooked);
}

fn main() {
    divan::main();
    STOP.store(true, Ordering::Relaxed);
}
