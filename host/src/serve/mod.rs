//! `jetmem serve`: a Prometheus exporter that samples at its own interval and
//! keeps each figure's extremes over a window, so a spike between two scrapes
//! still shows at the next one (docs/serve.md).
//!
//! - `sampling.rs`: the sampler thread (live sampler → `core::accounting`);
//! - `procs.rs`: `--pid` / `--match` processes;
//! - `state.rs`: what a scrape reads;
//! - `metrics.rs`: the metric names and values; `exposition.rs`: the text and
//!   OpenMetrics formats;
//! - `http.rs`: the server (bounded connections, timeouts).

mod exposition;
mod http;
mod metrics;
mod procs;
mod sampling;
mod state;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use jetmem_core::sampler::{Interval, LiveSampler, Target, page_size};

use crate::args::ServeArgs;
use crate::error::CliError;
use crate::signals;
use procs::{Processes, Selection};
use sampling::Sampling;
use state::Shared;

/// `jetmem serve`'s settings, checked.
#[derive(Debug, Clone)]
struct ServeConfig {
    interval: Duration,
    window: Duration,
    selection: Selection,
}

impl ServeConfig {
    fn new(a: &ServeArgs) -> Result<Self, CliError> {
        let interval = Interval::new(a.interval)
            .map_err(|e| CliError::Sampler(e.to_string()))?
            .get();
        if a.window < interval || a.window > Duration::from_secs(3600) {
            return Err(CliError::Sampler(format!(
                "--window {:?} must lie between --interval ({interval:?}) and 1 h",
                a.window
            )));
        }
        let selection = match (&a.match_name, a.pid.as_slice()) {
            (Some(name), _) => Selection::Name(name.clone()),
            (None, []) => Selection::None,
            (None, pids) => Selection::Pids(pids.to_vec()),
        };
        Ok(ServeConfig {
            interval,
            window: a.window,
            selection,
        })
    }
}

/// Opens the sources on the sampler thread (the CUDA context is bound to the
/// thread that samples), takes a first sample, hands the shared state back,
/// then samples until `stop`.
fn start_sampler(
    a: &ServeArgs,
    cfg: ServeConfig,
    stop: Arc<AtomicBool>,
) -> Result<(Arc<Shared>, std::thread::JoinHandle<()>), CliError> {
    let root = a.root.clone();
    let probe_cuda = a.root == Path::new("/");
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("jetmem-sampler".into())
        .spawn(move || {
            let opened = LiveSampler::open(&root, Target::System, probe_cuda)
                .map_err(|e| CliError::Sampler(e.to_string()))
                .and_then(|live| {
                    let procs = Processes::open(
                        &root,
                        cfg.selection,
                        page_size(),
                        cfg.window.as_nanos() as u64,
                    )?;
                    Ok(Sampling::new(live, procs, cfg.window))
                });
            let mut sampling = match opened {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let (platform, sources) = sampling.machine();
            let first = sampling.step().clone();
            let shared = Arc::new(Shared::new(platform, sources, first));
            if tx.send(Ok(Arc::clone(&shared))).is_ok() {
                sampling.run(cfg.interval, &shared, &stop);
            }
        })
        .map_err(|e| CliError::Sampler(format!("cannot start the sampler thread: {e}")))?;
    match rx.recv() {
        Ok(Ok(shared)) => Ok((shared, handle)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(CliError::Sampler(
            "the sampler thread stopped while opening".into(),
        )),
    }
}

/// Runs `jetmem serve` until SIGINT / SIGTERM.
pub fn run(a: &ServeArgs) -> Result<(), CliError> {
    let cfg = ServeConfig::new(a)?;
    signals::install().map_err(|e| CliError::Sampler(format!("cannot catch signals: {e}")))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| CliError::Sampler(format!("cannot start the server runtime: {e}")))?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(a.listen))
        .map_err(|source| CliError::Listen {
            addr: a.listen,
            source,
        })?;
    let stop = Arc::new(AtomicBool::new(false));
    let (shared, sampler) = start_sampler(a, cfg, Arc::clone(&stop))?;
    let fixed = metrics::Fixed::new(&shared);
    let addr = listener.local_addr().unwrap_or(a.listen);
    // The one line tests and users wait for (with --listen 127.0.0.1:0 it names the port).
    eprintln!("jetmem serve: listening on http://{addr}/metrics");
    let why = rt.block_on(http::serve(listener, shared, fixed));
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    match why {
        http::Stopped::Signal => Ok(()),
        http::Stopped::SamplerEnded => Err(CliError::Sampler(
            "the sampler thread stopped: no longer serving (see the message above)".into(),
        )),
    }
}
