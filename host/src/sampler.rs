//! The live sampler of contract D, as the CLI uses it.

pub use jetmem_core::sampler::{
    LiveSampler, SamplerConfig, Snapshot, SourceState, Target, Tracer, snapshot,
};
