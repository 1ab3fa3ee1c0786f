//! `jetmem monitor`: a live table of memory with the right labels, and the peaks at the end.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::thread::sleep;
use std::time::Instant;

use jetmem_core::accounting::{Figures, Peaks, PressureConfig, PressureTracker, figures};
use jetmem_core::record::{Architecture, Counters, Event};

use crate::args::MonitorArgs;
use crate::error::CliError;
use crate::output::{create_output, write_stdout};
use crate::signals;
use crate::units::{bytes, opt_bytes};
use jetmem_core::sampler::{LiveSampler, Target};

/// What the monitor keeps across readings: pressure with the recorder's hysteresis
/// and the peaks, both from `jetmem_core::accounting`, so the PRESSURE column and
/// the summary agree with what `record` writes and `report` shows.
#[derive(Debug)]
pub struct Watch {
    pressure: PressureTracker,
    peaks: Peaks,
}

impl Watch {
    /// Nothing seen yet; pressure and budget as the recorder's defaults.
    pub fn new(cfg: PressureConfig) -> Self {
        Watch {
            pressure: PressureTracker::new(cfg),
            peaks: Peaks::new(),
        }
    }

    /// Folds in one reading taken at `t_ns`; returns the event it crossed, if any.
    pub fn push(&mut self, t_ns: u64, f: &Figures, c: &Counters) -> Option<Event> {
        let _ = self.peaks.update(t_ns, f, c);
        self.pressure.update(t_ns, f)
    }

    /// Whether available memory is under the threshold now (with hysteresis).
    pub fn in_pressure(&self) -> bool {
        self.pressure.in_pressure()
    }

    /// The peaks so far.
    pub fn peaks(&self) -> &Peaks {
        &self.peaks
    }
}

/// The columns of the live table and the log, for one architecture.
pub fn header(arch: Architecture) -> (String, &'static str) {
    let gpu = match arch {
        Architecture::Unified => "GPU (subset)",
        Architecture::Discrete => "VRAM used",
        _ => "GPU",
    };
    (
        format!(
            "{:>9}  {:>11}  {:>11}  {:>13}  {:>11}  {}",
            "time s", "used", "available", gpu, "swap", "pressure"
        ),
        "t_s,system_used_bytes,available_bytes,gpu_used_bytes,vram_used_bytes,swap_used_bytes,pressure",
    )
}

/// One row of the live table.
pub fn row(t_s: f64, f: &Figures, pressure: bool) -> String {
    let gpu = match f.architecture {
        Architecture::Discrete => f.vram_used,
        _ => f.gpu_used,
    };
    format!(
        "{:>9.1}  {:>11}  {:>11}  {:>13}  {:>11}  {}",
        t_s,
        opt_bytes(f.used),
        opt_bytes(f.available),
        opt_bytes(gpu),
        opt_bytes(f.swap_used),
        if pressure { "PRESSURE" } else { "-" }
    )
}

/// One line of the CSV log.
pub fn log_line(t_s: f64, f: &Figures, pressure: bool) -> String {
    let o = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    format!(
        "{t_s:.3},{},{},{},{},{},{}",
        o(f.used),
        o(f.available),
        o(f.gpu_used),
        o(f.vram_used),
        o(f.swap_used),
        u8::from(pressure)
    )
}

/// Runs `jetmem monitor`.
pub fn run(a: &MonitorArgs) -> Result<(), CliError> {
    let probe_cuda = a.root == Path::new("/");
    let mut live = LiveSampler::open(&a.root, Target::System, probe_cuda)
        .map_err(|e| CliError::Sampler(e.to_string()))?;
    signals::install().map_err(|e| CliError::Sampler(format!("cannot catch signals: {e}")))?;
    let platform = live.platform().clone();
    let (head, log_head) = header(platform.architecture);
    let mut log = match &a.log {
        Some(p) => {
            let mut w = BufWriter::new(create_output(p, a.force)?);
            writeln!(w, "{log_head}").map_err(|source| CliError::Write {
                path: p.clone(),
                source,
            })?;
            Some((p.clone(), w))
        }
        None => None,
    };
    let mut intro = String::new();
    if platform.architecture == Architecture::Unified {
        intro.push_str(
            "Unified memory: the GPU uses system DRAM; its figure is part of \"used\", never added.\n",
        );
    }
    intro.push_str(&head);
    intro.push('\n');
    write_stdout(intro.as_bytes())?;
    let start = Instant::now();
    let mut watch = Watch::new(PressureConfig::default());
    let mut n = 0u64;
    loop {
        let s = live.sample();
        let f = figures(&platform, &s.counters);
        let elapsed = start.elapsed();
        let t_s = elapsed.as_secs_f64();
        let _ = watch.push(elapsed.as_nanos() as u64, &f, &s.counters);
        let pressure = watch.in_pressure();
        write_stdout(format!("{}\n", row(t_s, &f, pressure)).as_bytes())?;
        if let Some((path, w)) = &mut log {
            writeln!(w, "{}", log_line(t_s, &f, pressure))
                .and_then(|()| w.flush())
                .map_err(|source| CliError::Write {
                    path: path.clone(),
                    source,
                })?;
        }
        n += 1;
        if a.count.is_some_and(|c| n >= c) || signals::take().is_some() {
            break;
        }
        let next = a.interval.saturating_mul(n as u32);
        let mut slept = start.elapsed();
        while slept < next {
            if signals::take().is_some() {
                return summary(watch.peaks());
            }
            sleep((next - slept).min(std::time::Duration::from_millis(50)));
            slept = start.elapsed();
        }
    }
    summary(watch.peaks())
}

/// The closing line: peaks over all readings.
fn summary(p: &Peaks) -> Result<(), CliError> {
    let gpu = Peaks::max_of(p.gpu_used)
        .value
        .or(Peaks::max_of(p.vram_used).value);
    let text = format!(
        "Peaks over {} readings: used {}, GPU {}, available minimum {}\n",
        p.samples,
        opt_bytes(Peaks::max_of(p.used).value),
        opt_bytes(gpu),
        Peaks::min_of(p.available)
            .value
            .map_or_else(|| "unknown".to_owned(), bytes)
    );
    write_stdout(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetmem_core::parse::meminfo::parse_meminfo;
    use jetmem_core::record::{Counter, Counters, GpuSource, Platform};

    fn nano() -> (Platform, Counters) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/nano-4gb-jp4.6-meminfo/proc/meminfo"
        );
        let m = parse_meminfo(&std::fs::read(path).unwrap()).unwrap();
        let mut c = Counters::new();
        m.apply(&mut c);
        c.set(Counter::GpuUsed, m.nvmap_mem_used);
        let p = Platform {
            architecture: Architecture::Unified,
            gpu_source: GpuSource::MeminfoNvmap,
            ..Platform::default()
        };
        (p, c)
    }

    #[test]
    fn nano_row_shows_gpu_as_subset_and_flags_pressure() {
        let (p, c) = nano();
        let f = figures(&p, &c);
        // MemAvailable 592696 kB of 4059240 kB is 14.6 %: under the 20 % threshold.
        let mut watch = Watch::new(PressureConfig::default());
        let e = watch.push(0, &f, &c).unwrap();
        assert_eq!(e.kind, jetmem_core::record::EventKind::PressureEntered);
        assert!(watch.in_pressure());
        let r = row(1.5, &f, watch.in_pressure());
        assert!(r.contains("3.31 GiB"), "used = 4059240 - 592696 kB: {r}");
        assert!(r.contains("578.8 MiB"), "available: {r}");
        assert!(r.contains("239.0 MiB"), "NvMapMemUsed 244748 kB: {r}");
        assert!(r.ends_with("PRESSURE"));
        assert!(header(Architecture::Unified).0.contains("GPU (subset)"));
        assert!(header(Architecture::Discrete).0.contains("VRAM used"));
        let line = log_line(1.5, &f, watch.in_pressure());
        assert_eq!(
            line,
            format!(
                "1.500,{},{},{},,{},1",
                (4_059_240u64 - 592_696) * 1024,
                592_696u64 * 1024,
                244_748u64 * 1024,
                (2_029_616u64 - 1_848_840) * 1024
            )
        );
    }
}
