//! The panic boundary: no Rust panic ever unwinds into C.
//!
//! Every export's body runs inside [`ffi_panic_boundary!`], which catches a
//! panic and returns the function's [`PanicOrDefault`] value instead
//! (`JETMEM_STATUS_PANIC` for status-returning functions).

use crate::status::jetmem_status;
use std::ffi::c_char;

/// What an export returns when its body panicked.
pub(crate) trait PanicOrDefault {
    /// The value returned instead of unwinding.
    fn panic_value() -> Self;
}

impl PanicOrDefault for jetmem_status {
    fn panic_value() -> Self {
        jetmem_status::Panic
    }
}

impl PanicOrDefault for () {
    fn panic_value() -> Self {}
}

impl PanicOrDefault for *const c_char {
    fn panic_value() -> Self {
        c"".as_ptr()
    }
}

/// Runs the body, turning a panic into the return type's panic value.
macro_rules! ffi_panic_boundary {
    ($($body:tt)*) => {{
        let result = ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($body)* }));
        match result {
            Ok(value) => value,
            Err(_) => <_ as $crate::panic::PanicOrDefault>::panic_value(),
        }
    }};
}

pub(crate) use ffi_panic_boundary;

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary_around(should_panic: bool) -> jetmem_status {
        ffi_panic_boundary! {
            if should_panic {
                panic!("test panic inside the boundary");
            }
            jetmem_status::Ok
        }
    }

    #[test]
    fn a_panic_becomes_the_panic_status() {
        assert_eq!(boundary_around(false), jetmem_status::Ok);
        assert_eq!(boundary_around(true), jetmem_status::Panic);
    }
}
