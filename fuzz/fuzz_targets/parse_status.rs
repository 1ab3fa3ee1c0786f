//! Fuzzes /proc/PID/status, statm and children.
//! The body is shared with the no-panic proptest in `core/tests/parse_no_panic.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert!(jetmem_core::fuzz_entry::status(data));
});
