//! Every cast between C pointers and Rust values lives here.
//!
//! A C handle type is an opaque, zero-sized struct; [`Castable`] names the
//! Rust type behind it. Handles are created with [`into_raw`], borrowed with
//! [`try_ref`] and destroyed with [`free_raw`]; nothing else in the crate
//! dereferences a raw pointer except the C-string and out-parameter helpers
//! below.

use std::ffi::{CStr, c_char};

/// A C-side opaque type and the Rust type it points to (always boxed).
pub(crate) trait Castable {
    /// The Rust value behind the C pointer.
    type RustType;
}

/// Boxes `value` and hands its ownership to C.
pub(crate) fn into_raw<C: Castable>(value: C::RustType) -> *mut C {
    Box::into_raw(Box::new(value)).cast::<C>()
}

/// Borrows the value behind a handle; `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or came from [`into_raw`] for the same `C` and was not yet
/// passed to [`free_raw`]; the borrow does not outlive that.
pub(crate) unsafe fn try_ref<'a, C: Castable>(ptr: *const C) -> Option<&'a C::RustType> {
    // SAFETY: per the contract above, a non-NULL `ptr` points to a live, boxed
    // `C::RustType` (it was created by `into_raw` with the same `C`).
    unsafe { ptr.cast::<C::RustType>().as_ref() }
}

/// Takes ownership back from C and drops the value; NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or came from [`into_raw`] for the same `C`, was not freed
/// before, and no other thread uses it during or after this call.
pub(crate) unsafe fn free_raw<C: Castable>(ptr: *mut C) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: per the contract above, `ptr` is the unique owner of a box made
    // by `into_raw` with the same `C`.
    drop(unsafe { Box::from_raw(ptr.cast::<C::RustType>()) });
}

/// Borrows a NUL-terminated C string; `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub(crate) unsafe fn try_cstr<'a>(ptr: *const c_char) -> Option<&'a CStr> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: non-NULL and NUL-terminated per the contract above.
        Some(unsafe { CStr::from_ptr(ptr) })
    }
}

/// Writes `value` through an out-parameter; returns `false` for NULL.
///
/// # Safety
/// `out` is NULL or valid for a write of one `T` (alignment included).
pub(crate) unsafe fn try_write<T>(out: *mut T, value: T) -> bool {
    if out.is_null() {
        return false;
    }
    // SAFETY: non-NULL and valid for writes per the contract above.
    unsafe { out.write(value) };
    true
}

/// Borrows a caller's byte buffer for writing; `None` for NULL.
///
/// # Safety
/// `buf` is NULL or valid for writes of `len` bytes, and not used by anything
/// else for `'a`.
pub(crate) unsafe fn try_buf_mut<'a>(buf: *mut c_char, len: usize) -> Option<&'a mut [u8]> {
    if buf.is_null() {
        None
    } else {
        // SAFETY: non-NULL and valid for `len` byte writes per the contract above;
        // `c_char` and `u8` have the same size and alignment.
        Some(unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) })
    }
}
