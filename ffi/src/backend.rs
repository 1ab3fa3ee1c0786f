//! The sampler this crate drives: `jetmem_core::sampler` (contract D).

pub(crate) use jetmem_core::sampler::{
    MarkError, SamplerConfig, SamplerError, Target, TraceHandle, Tracer,
};
