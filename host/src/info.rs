//! `jetmem info`: the platform and why, the current memory with each figure's source,
//! and which sources are unavailable and why.

use std::fmt::Write;
use std::path::Path;

use jetmem_core::record::{Architecture, Counter, Evidence, GpuSource, Platform};
use serde::Serialize;

use crate::args::InfoArgs;
use crate::error::CliError;
use crate::escape::printable;
use crate::output::write_stdout;
use jetmem_core::accounting::{
    Figures, USED_DEFINITION, USED_TEGRASTATS_DEFINITION, figures, flagged_implausible,
};

use crate::report::model::{
    ImplausibleValue, PlatformInfo, REPORT_FORMAT_VERSION, architecture_name, gpu_source_name,
    non_empty,
};
use crate::report::text::used_tegrastats_lines;
use crate::units::{bytes, opt_bytes};
use jetmem_core::sampler::{Snapshot, SourceState, snapshot};

/// `info --json`: the report's key names, for one snapshot.
#[derive(Debug, Serialize)]
pub struct Info {
    pub format_version: u32,
    #[serde(serialize_with = "architecture_name")]
    pub architecture: Architecture,
    pub evidence: Vec<&'static str>,
    pub platform: PlatformInfo,
    pub system: InfoSystem,
    pub gpu: InfoGpu,
    pub cuda: InfoCuda,
    pub sources: Vec<InfoSource>,
    /// Readings left out of every figure as implausible; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub implausible: Vec<ImplausibleValue>,
}

#[derive(Debug, Serialize)]
pub struct InfoSystem {
    pub total_bytes: Option<u64>,
    pub used_bytes: Option<u64>,
    pub used_definition: &'static str,
    /// `MemTotal − MemFree − Buffers − Cached` (tegrastats' and jtop's "used").
    pub used_tegrastats_bytes: Option<u64>,
    pub used_tegrastats_definition: &'static str,
    pub available_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
    pub swap_used_bytes: Option<u64>,
    pub swap_is_zram: bool,
    pub source: &'static str,
}

#[derive(Debug, Serialize)]
pub struct InfoGpu {
    pub used_bytes: Option<u64>,
    #[serde(serialize_with = "gpu_source_name")]
    pub source: GpuSource,
    pub reason: Option<String>,
    pub subset_of_system: bool,
    pub cpu_os_used_bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct InfoCuda {
    pub device_used_bytes: Option<u64>,
    pub device_free_bytes: Option<u64>,
    pub device_total_bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct InfoSource {
    pub name: &'static str,
    pub path: String,
    pub state: InfoState,
    pub detail: Option<String>,
}

/// Whether a source could be read; serialized as `"ok"`, `"missing"`, `"needs-root"`, `"unreadable"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InfoState {
    Ok,
    Missing,
    NeedsRoot,
    Unreadable,
}

impl InfoState {
    /// The same name as in JSON, for the text form.
    pub const fn as_str(self) -> &'static str {
        match self {
            InfoState::Ok => "ok",
            InfoState::Missing => "missing",
            InfoState::NeedsRoot => "needs-root",
            InfoState::Unreadable => "unreadable",
        }
    }
}

const EVIDENCE: &[(u16, &str)] = &[
    (Evidence::NV_TEGRA_RELEASE, "nv-tegra-release"),
    (Evidence::DT_MODEL_JETSON, "dt-model-jetson"),
    (Evidence::DT_COMPATIBLE_TEGRA, "dt-compatible-tegra"),
    (Evidence::CUDA_NAME_TEGRA, "cuda-name-tegra"),
    (Evidence::CUDA_INTEGRATED, "cuda-integrated"),
    (Evidence::CUDA_DISCRETE, "cuda-discrete"),
    (Evidence::NO_CUDA, "no-cuda"),
    (Evidence::MEMINFO_NVMAP, "meminfo-nvmap"),
];

/// Builds the info model of a snapshot.
pub fn model(s: &Snapshot) -> Info {
    let p: &Platform = &s.platform;
    let c = &s.sample.counters;
    let f: Figures = figures(p, c);
    Info {
        format_version: REPORT_FORMAT_VERSION,
        architecture: p.architecture,
        evidence: EVIDENCE
            .iter()
            .filter(|(bit, _)| p.evidence.has(*bit))
            .map(|(_, n)| *n)
            .collect(),
        platform: PlatformInfo::from(p),
        system: InfoSystem {
            total_bytes: f.total,
            used_bytes: f.used,
            used_definition: USED_DEFINITION,
            used_tegrastats_bytes: f.used_tfbc,
            used_tegrastats_definition: USED_TEGRASTATS_DEFINITION,
            available_bytes: f.available,
            free_bytes: c.get(Counter::MemFree),
            swap_used_bytes: f.swap_used,
            swap_is_zram: f.swap_is_zram,
            source: "/proc/meminfo",
        },
        gpu: InfoGpu {
            used_bytes: f.gpu_used,
            source: p.gpu_source,
            reason: non_empty(&p.gpu_reason),
            subset_of_system: p.architecture == Architecture::Unified,
            cpu_os_used_bytes: f.cpu_os_used,
        },
        implausible: flagged_implausible(c, f.implausible, p.architecture)
            .map(|(counter, v, rule)| ImplausibleValue {
                source: counter.key(),
                max_value: v,
                rule: rule.as_str(),
            })
            .collect(),
        cuda: InfoCuda {
            device_used_bytes: f.cuda_used,
            device_free_bytes: c.get(Counter::CudaFree),
            device_total_bytes: c.get(Counter::CudaTotal),
        },
        sources: s
            .sources
            .iter()
            .map(|src| {
                let (state, detail) = match &src.state {
                    SourceState::Ok => (InfoState::Ok, None),
                    SourceState::Missing => (InfoState::Missing, None),
                    SourceState::NeedsRoot => (InfoState::NeedsRoot, None),
                    SourceState::Unreadable(why) => (InfoState::Unreadable, Some(why.clone())),
                    other => (InfoState::Unreadable, Some(other.describe())),
                };
                InfoSource {
                    name: src.name,
                    path: src.path.display().to_string(),
                    state,
                    detail,
                }
            })
            .collect(),
    }
}

/// The text form of `info`.
pub fn text(i: &Info) -> String {
    let mut o = String::new();
    let arch = match i.architecture {
        Architecture::Unified => "unified memory (GPU memory is part of system memory)",
        Architecture::Discrete => "discrete GPU (VRAM separate from system memory)",
        _ => "CPU only (no GPU seen)",
    };
    let _ = writeln!(o, "Architecture: {arch}");
    if !i.evidence.is_empty() {
        let _ = writeln!(o, "  because: {}", i.evidence.join(", "));
    }
    let pl = &i.platform;
    for (k, v) in [
        ("Board", &pl.model),
        ("SoC", &pl.soc),
        ("L4T", &pl.l4t),
        ("JetPack", &pl.jetpack),
        ("CUDA device", &pl.cuda_device),
        ("Kernel", &pl.kernel),
    ] {
        if let Some(v) = v {
            let _ = writeln!(o, "{k}: {}", printable(v));
        }
    }
    let s = &i.system;
    let _ = writeln!(
        o,
        "System memory: {} used of {} ({}; from {})",
        opt_bytes(s.used_bytes),
        opt_bytes(s.total_bytes),
        s.used_definition,
        s.source
    );
    if let Some(t) = s.used_tegrastats_bytes {
        used_tegrastats_lines(
            &mut o,
            "  used (tegrastats/jtop definition)",
            t,
            s.used_tegrastats_definition,
            "    ",
        );
    }
    if let Some(a) = s.available_bytes {
        let _ = writeln!(o, "  available: {}", bytes(a));
    }
    if let Some(sw) = s.swap_used_bytes {
        let z = if s.swap_is_zram {
            " (zram, same DRAM)"
        } else {
            ""
        };
        let _ = writeln!(o, "  swap used: {}{z}", bytes(sw));
    }
    let g = &i.gpu;
    match (g.used_bytes, g.source.as_str()) {
        (Some(u), Some(src)) if g.subset_of_system => {
            let _ = writeln!(
                o,
                "GPU memory: {} (subset of system memory; from {src})",
                bytes(u)
            );
        }
        (Some(u), Some(src)) => {
            let _ = writeln!(o, "GPU memory: {} (from {src})", bytes(u));
        }
        _ => {
            let why = g.reason.as_deref().unwrap_or("no source readable");
            let _ = writeln!(o, "GPU memory: unknown ({why})");
        }
    }
    for v in &i.implausible {
        let _ = writeln!(
            o,
            "Implausible: {} = {} B ({}); left out of every figure",
            v.source, v.max_value, v.rule
        );
    }
    let missing: Vec<&InfoSource> = i
        .sources
        .iter()
        .filter(|s| s.state != InfoState::Ok)
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(o, "Unavailable sources:");
        for s in missing {
            let detail = s
                .detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  {} ({}): {}{}",
                s.name,
                printable(&s.path),
                s.state.as_str(),
                printable(&detail)
            );
        }
    }
    o
}

/// Runs `jetmem info`.
pub fn run(a: &InfoArgs) -> Result<(), CliError> {
    // A recorded root is another machine: never probe this machine's CUDA for it.
    let probe_cuda = a.root == Path::new("/");
    let snap = snapshot(&a.root, probe_cuda).map_err(|e| CliError::Sampler(e.to_string()))?;
    let info = model(&snap);
    let out = if a.json {
        serde_json::to_string_pretty(&info).unwrap_or_default() + "\n"
    } else {
        text(&info)
    };
    write_stdout(out.as_bytes())
}
