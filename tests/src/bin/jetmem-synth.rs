//! `jetmem-synth OUT SAMPLES [INTERVAL_MS]`: writes a synthetic trace (see
//! `jetmem_tests::synth`) for benchmarks of long traces.

use std::io::BufWriter;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(Ok(samples))) = (args.first(), args.get(1).map(|n| n.parse::<u64>()))
    else {
        eprintln!("usage: jetmem-synth OUT SAMPLES [INTERVAL_MS]");
        return ExitCode::from(2);
    };
    let interval_ms: f64 = match args.get(2).map(|i| i.parse()) {
        None => 10.0,
        Some(Ok(ms)) if ms > 0.0 => ms,
        Some(_) => {
            eprintln!("jetmem-synth: INTERVAL_MS must be a positive number");
            return ExitCode::from(2);
        }
    };
    let written = std::fs::File::create_new(out).and_then(|f| {
        jetmem_tests::synth::write_synthetic(BufWriter::new(f), samples, (interval_ms * 1e6) as u64)
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .and_then(|f| f.sync_all())
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jetmem-synth: {out}: {e}");
            ExitCode::from(1)
        }
    }
}
