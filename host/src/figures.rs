//! Memory figures: re-exported from `jetmem_core::accounting` (contract C), the one
//! place that defines them (`docs/accounting.md`).

pub use jetmem_core::accounting::{Figures, PressureConfig, figures};

/// How `used` is defined, for reports.
pub const USED_DEFINITION: &str = "MemTotal - MemAvailable";
