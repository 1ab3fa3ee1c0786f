//! The sampler this crate drives: `jetmem_core::sampler` (contract D).
//! TEMPORARY: a stand-in until the core's sampler is merged.

#[path = "backend_stub.rs"]
mod stub;
pub(crate) use stub::*;
