//! `jetmem monitor`: memory live, with the right labels: on a terminal a screen
//! redrawn in place, otherwise one line per reading; the CSV log; the peaks
//! and when they happened at the end.

mod csv_log;
mod view;

use std::process::Child;
use std::thread::sleep;
use std::time::{Duration, Instant};

use jetmem_core::accounting::{Figures, Peaks, PressureConfig, PressureTracker, figures};
use jetmem_core::record::{Architecture, Counter, Counters, Event, Platform};

use crate::config::{MonitorConfig, Watched};
use crate::error::CliError;
use crate::output::write_stdout;
use crate::signals;
use crate::units::bytes;
use jetmem_core::sampler::{LiveSampler, Target};

pub use view::{Columns, Reading};
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

/// The samplers: the system, and one per watched tree (with the command it started).
struct Samplers {
    system: LiveSampler,
    trees: Vec<(u32, LiveSampler, Peaks)>,
    child: Option<Child>,
}

impl Samplers {
    /// Opens the system's sources, starts the command if there is one, and opens each tree.
    fn open(cfg: &MonitorConfig) -> Result<Samplers, CliError> {
        let probe_cuda = cfg.root == std::path::Path::new("/");
        let system = LiveSampler::open(&cfg.root, Target::System, probe_cuda).map_err(sampler)?;
        let (pids, child) = match &cfg.watched {
            Watched::System => (Vec::new(), None),
            Watched::Pids(p) => (p.clone(), None),
            Watched::Command(cmd) => {
                let Some((program, rest)) = cmd.split_first() else {
                    return Err(CliError::Usage("monitor: no command after --".to_owned()));
                };
                let child = std::process::Command::new(program)
                    .args(rest)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .map_err(|source| CliError::Spawn {
                        program: program.clone(),
                        source,
                    })?;
                (vec![child.id()], Some(child))
            }
        };
        let mut trees = Vec::with_capacity(pids.len());
        if !pids.is_empty() {
            // After the command's spawn: it keeps the limit it was given.
            crate::fd_limit::raise();
        }
        for pid in pids {
            let tree =
                LiveSampler::open(&cfg.root, Target::Tree { pid }, false).map_err(sampler)?;
            trees.push((pid, tree, Peaks::new()));
        }
        Ok(Samplers {
            system,
            trees,
            child,
        })
    }

    fn columns(&self) -> Columns {
        let p: &Platform = self.system.platform();
        Columns {
            architecture: p.architecture,
            gpu_source: p.gpu_source,
            trees: self.trees.iter().map(|(pid, ..)| *pid).collect(),
        }
    }

    /// Takes one reading and folds it into the peaks.
    fn read(&mut self, t_ns: u64, watch: &mut Watch) -> Reading {
        let s = self.system.sample();
        let f = figures(self.system.platform(), &s.counters);
        let _ = watch.push(t_ns, &f, &s.counters);
        let rss = self
            .trees
            .iter_mut()
            .map(|(_, tree, peaks)| {
                let c = tree.sample().counters;
                let _ = peaks.update(t_ns, &Figures::default(), &c);
                c.get(Counter::TreeRss)
            })
            .collect();
        Reading {
            wall: jiff::Timestamp::now(),
            t_ns,
            figures: f,
            gpu_load_permille: s.counters.get(Counter::GpuLoadPermille),
            pressure: watch.in_pressure(),
            rss,
        }
    }

    /// Whether the command monitor started has exited (reaped here).
    fn command_exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some())
    }
}

fn sampler(e: jetmem_core::sampler::SamplerError) -> CliError {
    CliError::Sampler(e.to_string())
}

/// Where readings are shown: redrawn in place on a terminal, else appended as lines.
struct Screen {
    term: Option<console::Term>,
    drawn: usize,
    columns: Columns,
}

impl Screen {
    fn new(columns: Columns) -> Screen {
        let term = console::Term::stdout();
        Screen {
            term: term.is_term().then_some(term),
            drawn: 0,
            columns,
        }
    }

    /// The lines before the first reading (line mode only: the screen says it all).
    fn intro(&self) -> Result<(), CliError> {
        if self.term.is_some() {
            return Ok(());
        }
        let mut intro = String::new();
        if self.columns.architecture == Architecture::Unified {
            intro.push_str(
                "Unified memory: the GPU uses system DRAM; its figure is part of \"used\", never added.\n",
            );
        }
        intro.push_str(&format!(
            "{} from {}; \"used (tgr)\" is tegrastats/jtop's MemTotal - MemFree - Buffers - Cached.\n",
            self.columns.gpu_label(),
            self.columns.gpu_source()
        ));
        intro.push_str(&view::table_header(&self.columns));
        intro.push('\n');
        write_stdout(intro.as_bytes())
    }

    fn show(&mut self, r: &Reading, readings: u64) -> Result<(), CliError> {
        match &self.term {
            Some(term) => {
                let lines = view::screen(&self.columns, r, readings);
                term.clear_last_lines(self.drawn)
                    .and_then(|()| term.write_str(&(lines.join("\n") + "\n")))
                    .map_err(CliError::stdout)?;
                self.drawn = lines.len();
                Ok(())
            }
            None => write_stdout(format!("{}\n", view::table_row(&self.columns, r)).as_bytes()),
        }
    }
}

/// Sleeps until `next` after `start`; `false` when a signal asks to stop.
fn wait_until(start: Instant, next: Duration) -> bool {
    let mut slept = start.elapsed();
    while slept < next {
        if signals::take().is_some() {
            return false;
        }
        sleep((next - slept).min(Duration::from_millis(50)));
        slept = start.elapsed();
    }
    signals::take().is_none()
}

/// Runs `jetmem monitor`.
pub fn run(cfg: &MonitorConfig) -> Result<(), CliError> {
    let mut samplers = Samplers::open(cfg)?;
    signals::install().map_err(|e| CliError::Sampler(format!("cannot catch signals: {e}")))?;
    let columns = samplers.columns();
    let mut log = match &cfg.log {
        Some(l) => Some(csv_log::CsvLog::open(l, &csv_log::header(&columns))?),
        None => None,
    };
    let mut screen = Screen::new(columns.clone());
    screen.intro()?;
    let start = Instant::now();
    let start_wall = jiff::Timestamp::now();
    let mut watch = Watch::new(PressureConfig::default());
    let mut n = 0u64;
    loop {
        let r = samplers.read(start.elapsed().as_nanos() as u64, &mut watch);
        n += 1;
        screen.show(&r, n)?;
        if let Some(log) = &mut log {
            log.write(&csv_log::line(&columns, &r))?;
        }
        if cfg.count.is_some_and(|c| n >= c)
            || samplers.command_exited()
            || !wait_until(start, cfg.interval.get().saturating_mul(n as u32))
        {
            break;
        }
    }
    if let Some(c) = samplers.child.as_mut() {
        if matches!(c.try_wait(), Ok(None)) {
            log::warn!(
                "the command (pid {}) is still running; monitor stopped watching it",
                c.id()
            );
        }
    }
    let trees: Vec<(u32, Peaks)> = samplers.trees.iter().map(|(p, _, k)| (*p, *k)).collect();
    write_stdout(summary(watch.peaks(), &trees, start_wall).as_bytes())
}

/// The wall clock of `t_ns` after `start`, to the millisecond.
fn at(start: jiff::Timestamp, t_ns: u64) -> String {
    let t = start
        .checked_add(jiff::SignedDuration::from_nanos(t_ns as i64))
        .unwrap_or(start);
    format!(
        "{} (+{:.1} s)",
        t.round(jiff::Unit::Millisecond).unwrap_or(t),
        t_ns as f64 / 1e9
    )
}

/// The closing lines: each peak over all readings, and when it happened.
pub fn summary(p: &Peaks, trees: &[(u32, Peaks)], start: jiff::Timestamp) -> String {
    let line = |what: &str, e: jetmem_core::accounting::Peak| match e.value {
        Some(v) => format!("  {what:<34} {:>11}  at {}\n", bytes(v), at(start, e.t_ns)),
        None => format!("  {what:<34} {:>11}\n", "unknown"),
    };
    let gpu = if p.gpu_used.is_some() {
        Peaks::max_of(p.gpu_used)
    } else {
        Peaks::max_of(p.vram_used)
    };
    let mut o = format!("Peaks over {} readings:\n", p.samples);
    o.push_str(&line(
        "used (MemTotal - MemAvailable)",
        Peaks::max_of(p.used),
    ));
    o.push_str(&line(
        "used (tegrastats/jtop definition)",
        Peaks::max_of(p.used_tfbc),
    ));
    o.push_str(&line("GPU", gpu));
    o.push_str(&line("swap", Peaks::max_of(p.swap_used)));
    o.push_str(&line("available, minimum", Peaks::min_of(p.available)));
    for (pid, t) in trees {
        o.push_str(&line(
            &format!("RSS of tree {pid}"),
            Peaks::max_of(t.tree_rss),
        ));
    }
    o
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

    fn reading(f: Figures, pressure: bool) -> Reading {
        Reading {
            // 2026-11-26 19:39:11.250 UTC.
            wall: jiff::Timestamp::from_millisecond(1_795_721_951_250).unwrap(),
            t_ns: 1_500_000_000,
            figures: f,
            gpu_load_permille: Some(463),
            pressure,
            rss: vec![Some(250 << 20)],
        }
    }

    #[test]
    fn nano_row_shows_both_used_gpu_as_subset_and_flags_pressure() {
        let (p, c) = nano();
        let f = figures(&p, &c);
        // MemAvailable 592696 kB of 4059240 kB is 14.6 %: under the 20 % threshold.
        let mut watch = Watch::new(PressureConfig::default());
        let e = watch.push(0, &f, &c).unwrap();
        assert_eq!(e.kind, jetmem_core::record::EventKind::PressureEntered);
        assert!(watch.in_pressure());
        let cols = Columns {
            architecture: Architecture::Unified,
            gpu_source: GpuSource::MeminfoNvmap,
            trees: vec![4242],
        };
        let r = reading(f, watch.in_pressure());
        let row = view::table_row(&cols, &r);
        assert!(row.starts_with("19:39:11"), "{row}");
        assert!(
            row.contains("3.31 GiB"),
            "used = 4059240 - 592696 kB: {row}"
        );
        assert!(row.contains("3.17 GiB"), "T-F-B-C = 3324672 kB: {row}");
        assert!(row.contains("578.8 MiB"), "available: {row}");
        assert!(row.contains("239.0 MiB"), "NvMapMemUsed 244748 kB: {row}");
        assert!(row.contains("46.3 %"), "load 463 per mille: {row}");
        assert!(
            row.contains("PRESSURE") && row.ends_with("250.0 MiB"),
            "{row}"
        );
        let head = view::table_header(&cols);
        assert!(
            head.contains("GPU (subset)") && head.contains("RSS 4242"),
            "{head}"
        );
        let screen = view::screen(&cols, &r, 7).join("\n");
        assert!(
            screen.contains("from meminfo-nvmap, part of used"),
            "{screen}"
        );
        assert!(
            screen.contains("MemTotal - MemFree - Buffers - Cached"),
            "{screen}"
        );
        assert!(screen.contains("reading 7"), "{screen}");
        assert_eq!(
            csv_log::header(&cols),
            "t_s,system_used_bytes,available_bytes,gpu_used_bytes,vram_used_bytes,swap_used_bytes,\
             pressure,time,used_tegrastats_bytes,gpu_source,gpu_load_permille,tree_rss_bytes_4242"
        );
        assert_eq!(
            csv_log::line(&cols, &r),
            format!(
                "1.500,{},{},{},,{},1,2026-11-26T19:39:11.25Z,{},meminfo-nvmap,463,{}",
                (4_059_240u64 - 592_696) * 1024,
                592_696u64 * 1024,
                244_748u64 * 1024,
                (2_029_616u64 - 1_848_840) * 1024,
                3_324_672u64 * 1024,
                250u64 << 20
            )
        );
    }

    #[test]
    fn summary_says_when_each_peak_happened() {
        let (p, c) = nano();
        let mut watch = Watch::new(PressureConfig::default());
        let mut lower = c;
        lower.set(Counter::MemAvailable, Some((592_696 + 1024) * 1024));
        let _ = watch.push(0, &figures(&p, &lower), &lower);
        let _ = watch.push(2_000_000_000, &figures(&p, &c), &c);
        let start = jiff::Timestamp::from_second(1_795_721_951).unwrap();
        let text = summary(watch.peaks(), &[], start);
        assert!(text.starts_with("Peaks over 2 readings:"), "{text}");
        // The higher used (lower MemAvailable) is the second reading, 2 s in.
        assert!(
            text.contains("3.31 GiB  at 2026-11-26T19:39:13Z (+2.0 s)"),
            "{text}"
        );
        assert!(text.contains("available, minimum"), "{text}");
    }
}
