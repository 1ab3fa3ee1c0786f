//! `jetmem export`: every sample as CSV or JSON, or Chrome / Perfetto trace-event JSON.
//!
//! Every format streams: rows and objects are written as the trace decodes, so
//! memory does not grow with the trace (a format that needs to know something
//! first, the CSV columns or the JSON arrays, decodes the file once more rather
//! than keeping it). Perfetto counter tracks are downsampled above a limit,
//! keeping each bucket's minimum and maximum (`perfetto.rs`).

mod csv;
mod json;
mod perfetto;

use std::io::Write;

use serde::Serialize;

use crate::args::{ExportArgs, ExportFormat};
use crate::error::CliError;
use crate::sink::Sink;

/// Runs `jetmem export`.
pub fn run(a: &ExportArgs) -> Result<(), CliError> {
    let mut sink = Sink::new(a.output.as_deref(), a.force);
    let written = match a.format {
        ExportFormat::Csv => csv::write(&a.trace, &mut sink),
        ExportFormat::Json => json::write(&a.trace, &mut sink),
        ExportFormat::Perfetto => perfetto::write(&a.trace, &mut sink),
    };
    match written {
        Ok(()) => sink.finish(),
        Err(e) => {
            sink.abandon();
            Err(e)
        }
    }
}

/// The elements of a JSON array written one at a time, commas between them.
#[derive(Default)]
struct JsonArray {
    started: bool,
}

impl JsonArray {
    /// Writes one element (the sink keeps any write error for its `finish`).
    fn push(&mut self, out: &mut Sink, v: &impl Serialize) {
        if self.started {
            let _ = out.write_all(b",");
        }
        self.started = true;
        let _ = serde_json::to_writer(&mut *out, v);
    }
}
