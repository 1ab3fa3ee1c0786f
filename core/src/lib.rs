//! `jetmem-core`: the part of jetmem that runs inside a traced process.
//!
//! It is `no_std` and never allocates unless its `std` feature is on. It holds
//! the record model ([`record`]), the trace format ([`wire`]), the counter
//! parsers for `/proc` and `/sys` ([`parse`]), platform detection
//! ([`platform`]) and the memory accounting model ([`accounting`]).
//!
//! A sampler inside a user's real-time inference process must never abort it,
//! so panicking constructs are denied by lint below.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![deny(missing_docs)]
#![cfg_attr(not(feature = "std"), forbid(unsafe_code))]

pub mod accounting;
#[cfg(target_has_atomic = "64")]
pub mod channel;
#[doc(hidden)]
pub mod fuzz_entry;
pub mod parse;
pub mod platform;
pub mod record;
pub mod text;
pub mod varint;
pub mod wire;

#[cfg(feature = "std")]
pub mod sampler;
