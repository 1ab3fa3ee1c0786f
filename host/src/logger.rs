//! The CLI's logger: `log` records on stderr as `jetmem: warning: …`.
//!
//! Warnings are shown by default; `-v` adds info, `-vv` debug, `-vvv` trace, and
//! `JETMEM_LOG` (`off`, `error`, `warn`, `info`, `debug`, `trace`) sets the base
//! level the flags raise. A logger this small needs no dependency beyond `log`.

use log::{LevelFilter, Log, Metadata, Record};

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record) {
        if self.enabled(r.metadata()) {
            let level = r.level().as_str().to_lowercase();
            let level = if level == "warn" { "warning" } else { &level };
            eprintln!("jetmem: {level}: {}", r.args());
        }
    }

    fn flush(&self) {}
}

/// The level for `JETMEM_LOG` (`None`: unset, the default `warn`) raised by `verbose` `-v`s.
pub fn level(env: Option<&str>, verbose: u8) -> LevelFilter {
    let base = env
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(LevelFilter::Warn);
    let raised = match verbose {
        0 => LevelFilter::Off,
        1 => LevelFilter::Info,
        2 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    base.max(raised)
}

/// Installs the logger once, at `level`.
pub fn install(level: LevelFilter) {
    static LOGGER: Stderr = Stderr;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_sets_the_base_and_flags_raise_it() {
        assert_eq!(level(None, 0), LevelFilter::Warn);
        assert_eq!(level(Some("off"), 0), LevelFilter::Off);
        assert_eq!(level(Some("debug"), 1), LevelFilter::Debug);
        assert_eq!(level(Some("error"), 2), LevelFilter::Debug);
        assert_eq!(level(Some("nonsense"), 0), LevelFilter::Warn);
        assert_eq!(level(None, 3), LevelFilter::Trace);
    }
}
