//! `jetmem import`: other tools' output turned into jetmem traces, which
//! `report`, `plot`, `export` and comparisons read like any other.

mod lines;
mod tegrastats;
mod timeline;

use crate::args::{ImportArgs, ImportSource};
use crate::config::TegrastatsConfig;
use crate::error::CliError;

/// Runs `jetmem import`.
pub fn run(a: ImportArgs) -> Result<(), CliError> {
    match a.source {
        ImportSource::Tegrastats(t) => tegrastats::run(&TegrastatsConfig::from_args(t)?),
    }
}
