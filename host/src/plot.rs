//! `jetmem plot`: memory over time as SVG or PNG (plotters' SVG and bitmap
//! backends; the output's extension chooses).
//!
//! On unified memory the GPU area is drawn inside the system-memory area (it
//! is a subset); on discrete GPUs VRAM is stacked on RAM (they add up). The y
//! axis is fitted to the data: MemTotal, the pressure threshold and the budget
//! are lines when they fall on it, else named in the caption. Consecutive
//! phases with one label get one label; instant marks are thin lines; the
//! legend sits right of the data. Several traces draw each one's system used
//! (solid) and process-tree RSS (dashed) in one colour-blind-safe colour.
//!
//! The data path (`data.rs`) keeps each series as min/max buckets, one or two
//! per pixel column; `layers.rs` turns them into what is drawn; this file draws.

pub mod data;
mod font;
mod layers;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::analyze::{InstantMark, analyze};
use crate::args::PlotArgs;
use crate::error::CliError;
use crate::output::write_output;
use crate::report::model::Report;
use data::PlotData;
use layers::{Kind, Layer, Window};

const SIZE: (u32, u32) = (1200, 600);
/// Width of the legend panel right of the chart.
const LEGEND_W: u32 = 330;
/// Buckets kept per series: about one per pixel column of the plot.
pub const COLUMNS: usize = SIZE.0 as usize;

/// One trace to draw.
pub struct Series {
    pub report: Report,
    pub data: PlotData,
    pub threshold_permille: u16,
    pub instants: Vec<InstantMark>,
}

/// What to write, from the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Png,
}

/// Runs `jetmem plot`.
pub fn run(a: &PlotArgs) -> Result<(), CliError> {
    let format = output_format(&a.output)?;
    let err = |message: String| CliError::Plot {
        path: a.output.clone(),
        message,
    };
    let window = Window {
        from_s: a.from.map_or(0.0, |d| d.as_secs_f64()),
        to_s: a.to.map(|d| d.as_secs_f64()),
    };
    if let Some(to) = window.to_s
        && to <= window.from_s
    {
        return Err(err(format!(
            "--to ({to} s) must be later than --from ({} s)",
            window.from_s
        )));
    }
    font::ensure().map_err(err)?;
    let mut series = Vec::new();
    for path in &a.traces {
        let a = analyze(path, true)?;
        series.push(Series {
            report: a.report,
            data: a.series.unwrap_or_else(|| PlotData::new(COLUMNS)),
            threshold_permille: a.threshold_permille,
            instants: a.instants,
        });
    }
    let layers = layers::build(&series, a.budget, window);
    let bytes = match format {
        Format::Svg => render_svg(&layers).map(String::into_bytes),
        Format::Png => render_png(&layers),
    }
    .map_err(err)?;
    write_output(Some(&a.output), a.force, &bytes)
}

/// `.svg` or `.png`; any other name is refused before anything is written.
fn output_format(path: &std::path::Path) -> Result<Format, CliError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("svg") => Ok(Format::Svg),
        Some("png") => Ok(Format::Png),
        other => Err(CliError::Plot {
            path: path.to_path_buf(),
            message: format!(
                "cannot write {}: plot writes SVG or PNG (name the file .svg or .png), and `jetmem report --format html` an interactive page",
                other.map_or_else(
                    || "a file without an extension".to_owned(),
                    |e| format!(".{e}")
                )
            ),
        }),
    }
}

fn render_svg(l: &layers::Plot) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, l)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn render_png(l: &layers::Plot) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(&root, l)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, SIZE.0, SIZE.1, image::ColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws the prepared layers on any backend.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &layers::Plot) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let (area, legend) = root.split_horizontally(SIZE.0 - LEGEND_W);
    let mut chart = ChartBuilder::on(&area)
        .caption(&p.caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(p.x.0..p.x.1, 0.0..p.y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("time into the run (s)")
        .y_desc("memory (GiB)")
        .draw()
        .map_err(e)?;
    draw_phases(&mut chart, p)?;
    // Bands first: the edge of what they are stacked on stays on top.
    let (bands, rest): (Vec<&Layer>, Vec<&Layer>) = p
        .layers
        .iter()
        .partition(|l| matches!(l.kind, Kind::Band { .. }));
    for l in bands.into_iter().chain(rest) {
        draw_layer(&mut chart, l, p)?;
    }
    draw_legend(&legend, p)
}

fn draw_phases<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    p: &layers::Plot,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let shade = RGBColor(200, 200, 200).mix(0.35);
    chart
        .draw_series(
            p.phases
                .iter()
                .map(|r| Rectangle::new([(r.0, 0.0), (r.1, p.y_max)], shade.filled())),
        )
        .map_err(e)?;
    // One label per run of the same label, none over the one before it.
    let mut free_from_px = i32::MIN;
    for run in &p.phase_runs {
        let (x_px, _) = chart.backend_coord(&(run.start_s, p.y_max));
        if x_px < free_from_px {
            continue;
        }
        let text = run.text();
        free_from_px = x_px + 8 * text.chars().count() as i32 + 6;
        chart
            .draw_series(std::iter::once(Text::new(
                text,
                (run.start_s, p.y_max * 0.985),
                ("sans-serif", 13).into_font().color(&BLACK.mix(0.75)),
            )))
            .map_err(e)?;
    }
    Ok(())
}

fn draw_layer<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    l: &Layer,
    p: &layers::Plot,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let c = l.color;
    match &l.kind {
        Kind::Area => chart
            .draw_series(AreaSeries::new(l.pts.clone(), 0.0, c.mix(0.3)).border_style(c))
            .map(|_| ()),
        Kind::Band { lower } => {
            let poly: Vec<(f64, f64)> = l.pts.iter().chain(lower.iter().rev()).copied().collect();
            chart
                .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.35).filled())))
                .map_err(e)?;
            chart
                .draw_series(LineSeries::new(l.pts.clone(), c))
                .map(|_| ())
        }
        Kind::Line => chart
            .draw_series(LineSeries::new(l.pts.clone(), c.stroke_width(2)))
            .map(|_| ()),
        Kind::Dashed => chart
            .draw_series(DashedLineSeries::new(
                l.pts.clone(),
                8,
                4,
                c.stroke_width(2),
            ))
            .map(|_| ()),
        Kind::Marks => chart
            .draw_series(
                l.pts
                    .iter()
                    .map(|&(t, _)| PathElement::new(vec![(t, 0.0), (t, p.y_max)], c.mix(0.45))),
            )
            .map(|_| ()),
    }
    .map_err(e)
}

/// The legend, in its own panel right of the data.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &layers::Plot,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let font = ("sans-serif", 13).into_font().color(&BLACK);
    let mut y = 48;
    for l in &p.layers {
        let c = l.color;
        let (x0, x1, ym) = (6, 30, y + 7);
        match l.kind {
            Kind::Area | Kind::Band { .. } => area.draw(&Rectangle::new(
                [(x0, y + 1), (x1, y + 13)],
                c.mix(0.45).filled(),
            )),
            Kind::Line | Kind::Marks => area.draw(&PathElement::new(
                vec![(x0, ym), (x1, ym)],
                c.stroke_width(2),
            )),
            Kind::Dashed => area
                .draw(&PathElement::new(
                    vec![(x0, ym), (x0 + 9, ym)],
                    c.stroke_width(2),
                ))
                .and_then(|_| {
                    area.draw(&PathElement::new(
                        vec![(x1 - 9, ym), (x1, ym)],
                        c.stroke_width(2),
                    ))
                }),
        }
        .map_err(e)?;
        area.draw(&Text::new(l.label.clone(), (x1 + 8, y), font.clone()))
            .map_err(e)?;
        y += 20;
    }
    Ok(())
}
