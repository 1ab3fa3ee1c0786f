//! The metric names (a contract: docs/serve.md) and how each is read from the
//! shared state. Unknown figures are left out, never written as 0; why a
//! source is missing is in `jetmem_source_up{source,reason}`.

use std::fmt::Write;

use jetmem_core::sampler::SourceState;

use super::exposition::{Encoder, Format, Kind, Value};
use super::state::{Live, Shared};

/// What never changes while serving, prepared once so a scrape allocates nothing
/// but its response: the labels of `jetmem_info` and each source's up/reason.
#[derive(Debug, Clone)]
pub struct Fixed {
    architecture: &'static str,
    model: String,
    soc: String,
    l4t: String,
    jetpack: String,
    kernel: String,
    /// (source, up, reason) for `jetmem_source_up`.
    sources: Vec<(&'static str, u64, String)>,
}

impl Fixed {
    pub fn new(shared: &Shared) -> Self {
        let pl = &shared.platform;
        let p = crate::report::model::PlatformInfo::from(pl);
        let mut sources: Vec<_> = shared
            .sources
            .iter()
            .map(|s| match &s.state {
                SourceState::Ok => (s.name, 1, String::new()),
                other => (s.name, 0, other.describe()),
            })
            .collect();
        sources.push((
            "gpu",
            u64::from(pl.gpu_source.as_str().is_some()),
            pl.gpu_reason.to_string(),
        ));
        Fixed {
            architecture: pl.architecture.as_str(),
            model: p.model.unwrap_or_default(),
            soc: p.soc.unwrap_or_default(),
            l4t: p.l4t.unwrap_or_default(),
            jetpack: p.jetpack.unwrap_or_default(),
            kernel: p.kernel.unwrap_or_default(),
            sources,
        }
    }
}

/// A gauge family with one unlabelled sample, left out when unknown.
fn gauge(e: &mut Encoder, name: &str, help: &str, v: Option<Value>) {
    if let Some(v) = v {
        e.family(name, Kind::Gauge, help);
        e.sample(name, &[], v);
    }
}

fn counter(e: &mut Encoder, name: &str, help: &str, v: Value) {
    e.family(name, Kind::Counter, help);
    e.sample(name, &[], v);
}

fn bytes(v: Option<u64>) -> Option<Value> {
    v.map(Value::Int)
}

/// Renders the whole exposition into `out` (the response buffer).
pub fn render(out: &mut String, format: Format, shared: &Shared, info: &Fixed) {
    let mut e = Encoder::new(out, format);
    let live = shared.live();
    system(&mut e, &live);
    gpu(&mut e, shared, &live);
    processes(&mut e, &live);
    e.family(
        "jetmem_info",
        Kind::Info,
        "The machine jetmem runs on (value always 1).",
    );
    e.sample(
        "jetmem_info",
        &[
            ("architecture", info.architecture),
            ("model", &info.model),
            ("soc", &info.soc),
            ("l4t", &info.l4t),
            ("jetpack", &info.jetpack),
            ("kernel", &info.kernel),
        ],
        Value::Int(1),
    );
    sources(&mut e, info);
    counter(
        &mut e,
        "jetmem_sampler_cpu_seconds_total",
        "CPU time used by jetmem serve (sampling and serving).",
        Value::Float(live.cpu_ns as f64 / 1e9),
    );
    counter(
        &mut e,
        "jetmem_samples_total",
        "Samples taken.",
        Value::Int(live.samples),
    );
    counter(
        &mut e,
        "jetmem_deadlines_missed_total",
        "Sampling ticks skipped because a sample ended past the next deadline.",
        Value::Int(live.deadlines_missed),
    );
    drop(live);
    e.finish();
}

fn system(e: &mut Encoder, l: &Live) {
    let f = &l.figures;
    gauge(e, "jetmem_system_total_bytes", "MemTotal.", bytes(f.total));
    gauge(
        e,
        "jetmem_system_used_bytes",
        "System memory used: MemTotal - MemAvailable (on unified memory it includes the GPU's).",
        bytes(f.used),
    );
    gauge(
        e,
        "jetmem_system_used_max_bytes",
        "Largest system used over the window (--window), sampled every --interval.",
        bytes(l.used_max),
    );
    gauge(
        e,
        "jetmem_system_available_min_bytes",
        "Smallest MemAvailable over the window (--window).",
        bytes(l.available_min),
    );
    gauge(
        e,
        "jetmem_swap_used_bytes",
        "SwapTotal - SwapFree.",
        bytes(f.swap_used),
    );
    if f.total.is_some() && f.available.is_some() {
        gauge(
            e,
            "jetmem_under_pressure",
            "1 while MemAvailable is under 20 % of MemTotal (left at 25 %), else 0.",
            Some(Value::Int(u64::from(l.in_pressure))),
        );
    }
    counter(
        e,
        "jetmem_pressure_events_total",
        "Times memory pressure was entered since jetmem serve started.",
        Value::Int(l.pressure_events),
    );
    gauge(
        e,
        "jetmem_headroom_bytes",
        "Budget (80 % of MemTotal) minus system used; negative when over budget.",
        l.headroom.map(Value::Signed),
    );
    gauge(
        e,
        "jetmem_psi_memory_some_avg10",
        "PSI memory some avg10 (/proc/pressure/memory), percent.",
        l.psi_some_avg10_centi
            .map(|c| Value::Float(c as f64 / 100.0)),
    );
}

fn gpu(e: &mut Encoder, shared: &Shared, l: &Live) {
    let Some(source) = shared.platform.gpu_source.as_str() else {
        return;
    };
    let rows = [
        (
            "jetmem_gpu_used_bytes",
            "GPU memory used, from the source named in the label; on unified memory (Jetson) a subset of system used, never added.",
            l.figures.gpu_used,
        ),
        (
            "jetmem_gpu_used_max_bytes",
            "Largest GPU memory used over the window (--window).",
            l.gpu_used_max,
        ),
    ];
    for (name, help, v) in rows {
        if let Some(v) = v {
            e.family(name, Kind::Gauge, help);
            e.sample(name, &[("source", source)], Value::Int(v));
        }
    }
}

fn processes(e: &mut Encoder, l: &Live) {
    for (name, help, max) in [
        (
            "jetmem_process_rss_bytes",
            "Resident memory of a --pid / --match process (statm).",
            false,
        ),
        (
            "jetmem_process_rss_max_bytes",
            "Largest resident memory of a --pid / --match process over the window.",
            true,
        ),
    ] {
        let mut first = true;
        for p in &l.processes {
            let Some(v) = (if max { p.rss_max } else { p.rss }) else {
                continue;
            };
            if first {
                e.family(name, Kind::Gauge, help);
                first = false;
            }
            let mut pid = heapless::String::<10>::new();
            let _ = write!(pid, "{}", p.pid);
            e.sample(name, &[("pid", &pid), ("name", &p.name)], Value::Int(v));
        }
    }
}

fn sources(e: &mut Encoder, fixed: &Fixed) {
    e.family(
        "jetmem_source_up",
        Kind::Gauge,
        "1 when a source could be read; 0 with the reason (needs root, missing) when not.",
    );
    for (source, up, reason) in &fixed.sources {
        e.sample(
            "jetmem_source_up",
            &[("source", source), ("reason", reason)],
            Value::Int(*up),
        );
    }
}

#[cfg(test)]
#[path = "../../../tests/support/counting_alloc.rs"]
mod counting_alloc;

#[cfg(test)]
#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::procs::{Processes, Selection};
    use crate::serve::sampling::Sampling;
    use crate::serve::state::ProcessView;
    use jetmem_core::sampler::{LiveSampler, Target};
    use std::path::Path;
    use std::time::Duration;

    /// A scrape of the recorded Nano root allocates nothing once its response
    /// buffer exists (the "no allocation beyond the response buffer"),
    /// in both formats, processes included.
    #[test]
    fn rendering_a_scrape_allocates_only_the_response_buffer() {
        let root = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/nano-4gb-jp4.6-meminfo"
        ));
        let live = LiveSampler::open(root, Target::System, false).unwrap();
        let procs = Processes::open(root, Selection::None, 4096, 1_000_000_000).unwrap();
        let mut sampling = Sampling::new(live, procs, Duration::from_secs(1));
        let (platform, sources) = sampling.machine();
        let mut first = sampling.step().clone();
        let _ = first.processes.push(ProcessView {
            pid: 4242,
            name: jetmem_core::text::truncated("python3"),
            rss: Some(1 << 20),
            rss_max: Some(2 << 20),
        });
        let shared = Shared::new(platform, sources, first);
        let fixed = Fixed::new(&shared);
        let mut text = String::with_capacity(64 << 10);
        let mut om = String::with_capacity(64 << 10);
        counting_alloc::start();
        render(&mut text, Format::Text, &shared, &fixed);
        render(&mut om, Format::OpenMetrics, &shared, &fixed);
        counting_alloc::pause();
        assert_eq!(
            counting_alloc::allocations(),
            0,
            "allocations while rendering"
        );
        assert!(
            text.contains("jetmem_process_rss_max_bytes{pid=\"4242\",name=\"python3\"} 2097152\n"),
            "{text}"
        );
        assert!(text.contains("\njetmem_system_used_bytes "), "{text}");
        assert!(om.ends_with("# EOF\n"), "{om}");
    }
}
