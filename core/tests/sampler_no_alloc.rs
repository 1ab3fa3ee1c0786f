//! The sampler's steady state allocates nothing: a counting global allocator
//! watches ≥ 10 000 samples (hot path every time, slow path every tenth) of a
//! live process tree.

use jetmem_core::record::Sample;
use jetmem_core::sampler::{Collector, Target};
#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

#[test]
fn ten_thousand_samples_allocate_nothing() {
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("sleep 30 & sleep 30 & wait")
        .spawn()
        .expect("spawn sh");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut c = Collector::open(
        std::path::Path::new("/"),
        Target::Tree { pid: child.id() },
        false,
    )
    .expect("collector");
    let mut s = Sample::default();
    // Warm-up: buffers reach their steady size, the tree is discovered.
    for i in 0..50 {
        c.fast(i, &mut s);
        c.slow(|_| {});
    }
    let mut changes = 0u32;
    counting_alloc::start();
    for i in 0..10_000u64 {
        c.fast(i, &mut s);
        if i % 10 == 0 {
            c.slow(|_| changes += 1);
        }
    }
    counting_alloc::pause();
    let allocs = counting_alloc::allocations();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(changes, 0, "the tree did not change during the measurement");
    assert!(
        s.counters
            .get(jetmem_core::record::Counter::TreeRss)
            .unwrap_or(0)
            > 0,
        "the samples really read the tree"
    );
    assert_eq!(allocs, 0, "heap allocations in 10 000 steady-state samples");
}
