//! What a plot draws, apart from drawing it: each line, area and mark with its
//! legend label and colour, cut to the time window, and the axis fitted to
//! them. Colours are Okabe–Ito's colour-blind-safe set.

use plotters::style::RGBColor;

use jetmem_core::accounting::PressureConfig;
use jetmem_core::record::Architecture;

use super::Series;
use super::data::xy;
use crate::budget::Budget;
use crate::downsample::MinMax;
use crate::escape::printable;
use crate::units;

const GIB: f64 = (1u64 << 30) as f64;

/// Okabe–Ito: blue, vermillion, bluish green, orange, sky blue, reddish purple.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
];
const BLACK: RGBColor = RGBColor(0, 0, 0);
const GREY: RGBColor = RGBColor(110, 110, 110);

/// `--from/--to`, in seconds into the run.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from_s: f64,
    pub to_s: Option<f64>,
}

/// How a layer is drawn.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Filled from zero.
    Area,
    /// Filled between `lower` and the layer (stacked on `lower`).
    Band {
        lower: Vec<(f64, f64)>,
    },
    Line,
    Dashed,
    /// A thin vertical line at each point's time.
    Marks,
}

/// One legend entry and what it draws, as (seconds, GiB).
#[derive(Debug, Clone)]
pub struct Layer {
    pub label: String,
    pub color: RGBColor,
    pub kind: Kind,
    pub pts: Vec<(f64, f64)>,
}

/// Consecutive phases with one label.
#[derive(Debug, Clone)]
pub struct PhaseRun {
    pub label: String,
    pub start_s: f64,
    pub count: usize,
}

impl PhaseRun {
    /// `label`, or `label ×N` for a run of N.
    pub fn text(&self) -> String {
        match self.count {
            1 => self.label.clone(),
            n => format!("{} ×{n}", self.label),
        }
    }
}

/// Everything a plot draws.
#[derive(Debug, Clone)]
pub struct Plot {
    pub caption: String,
    pub x: (f64, f64),
    pub y_max: f64,
    pub layers: Vec<Layer>,
    /// Phase spans (start, end) in the window.
    pub phases: Vec<(f64, f64)>,
    pub phase_runs: Vec<PhaseRun>,
}

/// A horizontal reference: MemTotal, the pressure threshold, the budget.
struct Reference {
    label: String,
    color: RGBColor,
    dashed: bool,
    bytes: u64,
}

/// Lays out the traces in the window; `budget` overrides the report's.
pub fn build(series: &[Series], budget: Option<Budget>, w: Window) -> Plot {
    let end = series
        .iter()
        .map(|s| s.data.last_t_ns() as f64 / 1e9)
        .fold(0.0f64, f64::max);
    let x1 = w.to_s.unwrap_or(end).max(w.from_s + 1e-3);
    let x = (w.from_s, x1);
    let cut = |m: &MinMax| -> Vec<(f64, f64)> {
        xy(m)
            .into_iter()
            .filter(|p| p.0 >= x.0 && p.0 <= x.1)
            .collect()
    };
    let (mut layers, refs, title) = match series {
        [one] => one_trace(one, budget, &cut, x),
        many => many_traces(many, budget, &cut),
    };
    let data_max = layers
        .iter()
        .filter(|l| !matches!(l.kind, Kind::Marks))
        .flat_map(|l| l.pts.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);
    let y_max = (data_max * 1.1).max(0.1);
    let mut off_axis = Vec::new();
    for r in refs {
        let y = r.bytes as f64 / GIB;
        if y <= y_max {
            layers.push(Layer {
                label: r.label,
                color: r.color,
                kind: if r.dashed { Kind::Dashed } else { Kind::Line },
                pts: vec![(x.0, y), (x.1, y)],
            });
        } else {
            off_axis.push(format!("{} {}", r.label, units::bytes(r.bytes)));
        }
    }
    let caption = if off_axis.is_empty() {
        title
    } else {
        format!("{title}; above the axis: {}", off_axis.join(", "))
    };
    let (phases, phase_runs) = match series {
        [one] => phases_in(one, x),
        _ => (Vec::new(), Vec::new()),
    };
    Plot {
        caption,
        x,
        y_max,
        layers,
        phases,
        phase_runs,
    }
}

fn phases_in(s: &Series, x: (f64, f64)) -> (Vec<(f64, f64)>, Vec<PhaseRun>) {
    let mut spans = Vec::new();
    let mut runs: Vec<PhaseRun> = Vec::new();
    let mut in_window: Vec<_> = s
        .report
        .phases
        .iter()
        .filter(|p| p.end_s >= x.0 && p.start_s <= x.1)
        .collect();
    in_window.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    for p in in_window {
        let start = p.start_s.max(x.0);
        spans.push((start, p.end_s.min(x.1)));
        let label = printable(&p.label).into_owned();
        match runs.last_mut() {
            Some(r) if r.label == label => r.count += 1,
            _ => runs.push(PhaseRun {
                label,
                start_s: start,
                count: 1,
            }),
        }
    }
    (spans, runs)
}

type Cut<'a> = dyn Fn(&MinMax) -> Vec<(f64, f64)> + 'a;

fn layer(label: impl Into<String>, color: RGBColor, kind: Kind, pts: Vec<(f64, f64)>) -> Layer {
    Layer {
        label: label.into(),
        color,
        kind,
        pts,
    }
}

fn one_trace(
    s: &Series,
    budget: Option<Budget>,
    cut: &Cut<'_>,
    x: (f64, f64),
) -> (Vec<Layer>, Vec<Reference>, String) {
    let d = &s.data;
    let unified = s.report.architecture == Architecture::Unified;
    let mut out = Vec::new();
    let system = cut(&d.used);
    if unified {
        out.push(layer(
            "system used (all DRAM)",
            PALETTE[0],
            Kind::Area,
            system,
        ));
        let gpu = cut(&d.gpu_used);
        if !gpu.is_empty() {
            out.push(layer("GPU (subset of system)", PALETTE[1], Kind::Area, gpu));
        }
    } else {
        let vram = cut(&d.vram_used);
        let ram_label = "RAM used";
        if vram.is_empty() {
            out.push(layer(ram_label, PALETTE[0], Kind::Area, system));
        } else {
            out.push(layer(ram_label, PALETTE[0], Kind::Area, system.clone()));
            out.push(layer(
                "VRAM used (stacked on RAM)",
                PALETTE[1],
                Kind::Band { lower: system },
                cut(&d.total_used),
            ));
        }
    }
    let tegrastats = cut(&d.tegrastats_used);
    if !tegrastats.is_empty() {
        out.push(layer(
            "tegrastats RAM used (its definition, imported)",
            PALETTE[4],
            Kind::Line,
            tegrastats,
        ));
    }
    let rss = cut(&d.rss);
    if !rss.is_empty() {
        out.push(layer("process tree RSS", PALETTE[2], Kind::Line, rss));
    }
    let marks: Vec<(f64, f64)> = s
        .instants
        .iter()
        .map(|m| (m.t_s, 0.0))
        .filter(|p| p.0 >= x.0 && p.0 <= x.1)
        .collect();
    if !marks.is_empty() {
        let label = units::count(marks.len() as u64, "instant mark", "instant marks");
        out.push(layer(label, GREY, Kind::Marks, marks));
    }
    let mut refs = Vec::new();
    if let Some(total) = s.report.system.total_bytes {
        if s.threshold_permille > 0 {
            // Used at the moment available falls under the threshold: where pressure enters.
            let enter = PressureConfig {
                threshold_permille: s.threshold_permille,
                ..PressureConfig::default()
            }
            .enter_bytes(total);
            refs.push(Reference {
                label: format!(
                    "{}pressure threshold ({} % available)",
                    if unified { "" } else { "RAM " },
                    s.threshold_permille / 10
                ),
                color: PALETTE[5],
                dashed: true,
                bytes: total.saturating_sub(enter),
            });
        }
        refs.push(Reference {
            label: "MemTotal".to_owned(),
            color: GREY,
            dashed: false,
            bytes: total,
        });
    }
    refs.extend(budget_line(s, budget));
    let title = format!(
        "{} ({})",
        printable(&s.report.label),
        s.report.architecture.as_str()
    );
    (out, refs, title)
}

/// The budget line, named as the report names it.
fn budget_line(s: &Series, budget: Option<Budget>) -> Option<Reference> {
    let total = s.report.system.total_bytes;
    let (bytes, how) = match budget {
        Some(Budget::Bytes(b)) => (b, format!("set: {}", units::bytes(b))),
        Some(Budget::Permille(p)) => (
            total? / 1000 * u64::from(p),
            format!("set: {} % of MemTotal", f64::from(p) / 10.0),
        ),
        None => (
            s.report.headroom.budget_bytes?,
            s.report.headroom.budget_source.describe().to_owned(),
        ),
    };
    // The budget is measured against system used: RAM alone on a discrete GPU.
    let ram = if s.report.architecture == Architecture::Discrete {
        "RAM "
    } else {
        ""
    };
    Some(Reference {
        label: format!("{ram}budget ({how})"),
        color: BLACK,
        dashed: true,
        bytes,
    })
}

fn many_traces(
    many: &[Series],
    budget: Option<Budget>,
    cut: &Cut<'_>,
) -> (Vec<Layer>, Vec<Reference>, String) {
    let mut out = Vec::new();
    for (i, s) in many.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let name = format!(
            "{} ({})",
            printable(&s.report.label),
            s.report.architecture.as_str()
        );
        let used = if s.report.architecture == Architecture::Discrete {
            "RAM + VRAM used"
        } else {
            "system used"
        };
        out.push(layer(
            format!("{name}: {used}"),
            color,
            Kind::Line,
            cut(&s.data.total_used),
        ));
        let rss = cut(&s.data.rss);
        if !rss.is_empty() {
            out.push(layer(format!("{name}: tree RSS"), color, Kind::Dashed, rss));
        }
    }
    // A --budget is one line; each trace's own budget differs with its MemTotal.
    let refs = budget
        .and_then(|_| budget_line(&many[0], budget))
        .into_iter()
        .collect();
    let title = format!(
        "system used (solid) and process-tree RSS (dashed) of {} runs",
        many.len()
    );
    (out, refs, title)
}
