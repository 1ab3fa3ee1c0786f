//! What an in-program question costs: `jetmem_memory_query` and
//! `jetmem_under_pressure` on this machine (one sample: the pread and parse of
//! /proc/meminfo and the other fast-path files, then core::accounting), after
//! the first call has opened the query sampler. Target: ≤ 20 µs per call
//! (issue 17). Run: `cargo bench -p jetmem-ffi --bench query`.
//!
//! `floor_pread_meminfo` is the same-run floor: one `pread` of /proc/meminfo
//! into a buffer, the kernel's share of the cheapest possible answer (this
//! 2-vCPU VM's absolute figures move with its neighbours).

use std::os::unix::fs::FileExt;

use divan::{Bencher, black_box};
use jetmem::config::JETMEM_FLAG_NO_CUDA;
use jetmem::query::{jetmem_memory, jetmem_memory_query, jetmem_under_pressure};
use jetmem::status::jetmem_status;

fn main() {
    divan::main();
}

fn query(out: &mut jetmem_memory) -> jetmem_status {
    // SAFETY: root NULL ("/") and a live, writable out struct.
    unsafe { jetmem_memory_query(std::ptr::null(), JETMEM_FLAG_NO_CUDA, out) }
}

#[divan::bench(sample_count = 200, sample_size = 50)]
fn memory_query(b: Bencher) {
    // SAFETY: zeroed is a valid jetmem_memory (integers and u32 enums with a 0 variant).
    let mut out: jetmem_memory = unsafe { std::mem::zeroed() };
    assert_eq!(query(&mut out), jetmem_status::Ok); // opens the sampler, untimed
    b.bench_local(|| query(black_box(&mut out)));
}

#[divan::bench(sample_count = 200, sample_size = 50)]
fn under_pressure(b: Bencher) {
    let mut p = 0i32;
    // SAFETY: root NULL and a live out value.
    let call =
        |p: &mut i32| unsafe { jetmem_under_pressure(std::ptr::null(), JETMEM_FLAG_NO_CUDA, p) };
    assert_eq!(call(&mut p), jetmem_status::Ok);
    b.bench_local(|| call(black_box(&mut p)));
}

#[divan::bench(sample_count = 200, sample_size = 50)]
fn floor_pread_meminfo(b: Bencher) {
    let f = std::fs::File::open("/proc/meminfo").unwrap();
    let mut buf = [0u8; 8192];
    b.bench_local(|| f.read_at(black_box(&mut buf), 0).unwrap());
}
