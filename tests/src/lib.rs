//! Shared helpers for jetmem integration tests and benchmarks: the real 10 ms
//! capture (`capture`) and synthetic traces of any length built from it (`synth`).

pub mod capture;
pub mod synth;
