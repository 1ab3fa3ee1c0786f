//! Fuzzes cgroup, PSI, nv_tegra_release, device tree, GPU load, zram, osrelease, platform detection and accounting.
//! The body is shared with the no-panic proptest in `core/tests/parse_no_panic.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert!(jetmem_core::fuzz_entry::misc(data));
});
