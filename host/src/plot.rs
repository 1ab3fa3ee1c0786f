//! `jetmem plot`: memory over time as SVG (plotters' SVG backend).
//!
//! On unified memory the GPU area is drawn inside the system-memory area (it
//! is a subset); on discrete GPUs VRAM and RAM are separate lines with their
//! sum. Phases are shaded; the pressure threshold is a dashed line.
//!
//! The data path (`data.rs`) keeps each series as min/max buckets, one or two
//! per pixel column; this file only draws them.

pub mod data;

use plotters::prelude::*;

use crate::args::PlotArgs;
use crate::error::CliError;
use crate::escape::printable;
use crate::output::write_output;
use jetmem_core::accounting::PressureConfig;
use jetmem_core::record::Architecture;

use crate::analyze::analyze;
use crate::report::model::Report;
use data::{PlotData, xy};

const GIB: f64 = (1u64 << 30) as f64;
const SIZE: (u32, u32) = (1200, 600);
/// Buckets kept per series: about one per pixel column of the plot.
pub const COLUMNS: usize = SIZE.0 as usize;

/// One trace to draw.
pub struct Series {
    pub report: Report,
    pub data: PlotData,
    pub threshold_permille: u16,
}

/// Runs `jetmem plot`.
pub fn run(a: &PlotArgs) -> Result<(), CliError> {
    check_extension(&a.output)?;
    let mut series = Vec::new();
    for path in &a.traces {
        let a = analyze(path, true)?;
        series.push(Series {
            report: a.report,
            data: a.series.unwrap_or_else(|| PlotData::new(COLUMNS)),
            threshold_permille: a.threshold_permille,
        });
    }
    let svg = render(&series).map_err(|message| CliError::Plot {
        path: a.output.clone(),
        message,
    })?;
    write_output(Some(&a.output), a.force, svg.as_bytes())
}

/// The output must name SVG: a `.png` (or any other) name would otherwise get
/// SVG bytes under a name that promises something else.
fn check_extension(path: &std::path::Path) -> Result<(), CliError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("svg") => Ok(()),
        other => Err(CliError::Plot {
            path: path.to_path_buf(),
            message: format!(
                "cannot write {}: plot writes SVG (name the file .svg), and `jetmem report --format html` an interactive page",
                other.map_or_else(
                    || "a file without an extension".to_owned(),
                    |e| format!(".{e}")
                )
            ),
        }),
    }
}

fn gib(v: u64) -> f64 {
    v as f64 / GIB
}

/// Draws the traces into an SVG document.
pub fn render(series: &[Series]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let x_max = series
            .iter()
            .map(|s| s.data.last_t_ns() as f64 / 1e9)
            .fold(0.0f64, f64::max)
            .max(1e-3);
        let y_max = series
            .iter()
            .filter_map(|s| s.data.y_max())
            .map(gib)
            .fold(0.0f64, f64::max)
            .max(0.1)
            * 1.05;
        let title = match series {
            [one] => format!(
                "{} ({})",
                printable(&one.report.label),
                one.report.architecture.as_str()
            ),
            _ => "memory over time".to_owned(),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_desc("time (s)")
            .y_desc("memory (GiB)")
            .draw()
            .map_err(|e| e.to_string())?;
        match series {
            [one] => draw_one(&mut chart, one, y_max)?,
            many => draw_many(&mut chart, many)?,
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn draw_one(chart: &mut Chart<'_, '_>, s: &Series, y_max: f64) -> Result<(), String> {
    let d = &s.data;
    let shade = RGBColor(200, 200, 200).mix(0.35);
    for ph in &s.report.phases {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(ph.start_s, 0.0), (ph.end_s, y_max)],
                shade.filled(),
            )))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(std::iter::once(Text::new(
                printable(&ph.label).into_owned(),
                (ph.start_s, y_max * 0.98),
                ("sans-serif", 13).into_font().color(&BLACK.mix(0.7)),
            )))
            .map_err(|e| e.to_string())?;
    }
    let system = xy(&d.used);
    let unified = s.report.architecture == Architecture::Unified;
    let sys_label = if unified {
        "system used (all DRAM)"
    } else {
        "RAM used"
    };
    chart
        .draw_series(AreaSeries::new(system, 0.0, BLUE.mix(0.25)).border_style(BLUE))
        .map_err(|e| e.to_string())?
        .label(sys_label)
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], BLUE.mix(0.4).filled()));
    let gpu = xy(&d.gpu_used);
    if !gpu.is_empty() && unified {
        chart
            .draw_series(AreaSeries::new(gpu, 0.0, RED.mix(0.35)).border_style(RED))
            .map_err(|e| e.to_string())?
            .label("GPU (subset of system)")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], RED.mix(0.5).filled()));
    }
    if !unified {
        let vram = xy(&d.vram_used);
        if !vram.is_empty() {
            chart
                .draw_series(LineSeries::new(vram, RED.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label("VRAM used")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], RED));
            let total = xy(&d.total_used);
            chart
                .draw_series(LineSeries::new(total, BLACK.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label("total (RAM + VRAM)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], BLACK));
        }
    }
    let tegrastats = xy(&d.tegrastats_used);
    if !tegrastats.is_empty() {
        chart
            .draw_series(LineSeries::new(tegrastats, CYAN.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label("tegrastats RAM used (its definition, imported)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], CYAN));
    }
    let rss = xy(&d.rss);
    if !rss.is_empty() {
        chart
            .draw_series(LineSeries::new(rss, GREEN.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label("process tree RSS")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], GREEN));
    }
    if let (Some(total), true) = (s.report.system.total_bytes, s.threshold_permille > 0) {
        // Used at the moment available falls under the threshold: where pressure enters.
        let enter = PressureConfig {
            threshold_permille: s.threshold_permille,
            ..PressureConfig::default()
        }
        .enter_bytes(total);
        let y = gib(total.saturating_sub(enter));
        let x_end = d.last_t_ns() as f64 / 1e9;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, y), (x_end, y)],
                8,
                4,
                MAGENTA.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(format!(
                "{}pressure threshold ({} % available)",
                if unified { "" } else { "RAM " },
                s.threshold_permille / 10
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], MAGENTA));
        let tot = gib(total);
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, tot), (x_end, tot)],
                BLACK.mix(0.5),
            ))
            .map_err(|e| e.to_string())?
            .label("MemTotal")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], BLACK.mix(0.5)));
    }
    Ok(())
}

fn draw_many(chart: &mut Chart<'_, '_>, many: &[Series]) -> Result<(), String> {
    for (i, s) in many.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts = xy(&s.data.total_used);
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(format!(
                "{} ({})",
                printable(&s.report.label),
                s.report.architecture.as_str()
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], color));
    }
    Ok(())
}
