//! `jetmem plot`: PNG and SVG rendered from the fixture traces, checked for
//! size and drawn content; phase labels collapsed; the time window; the budget.

use std::path::{Path, PathBuf};

use jetmem_core::record::{MarkKind, Record};

use crate::traces::{self, DT_NS, N, mark, unified_header, unified_records, write_trace};
use crate::{jetmem, ok_stdout};

/// Kept under target/tmp so a reviewer can look at them.
fn plot(traces: &[&Path], out: &Path, extra: &[&str]) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["plot".as_ref()];
    args.extend(traces.iter().map(|t| t.as_os_str()));
    args.extend(["-o".as_ref(), out.as_os_str()]);
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    ok_stdout(&jetmem(args));
}

/// Pixels not white, and distinct colours, of a decoded PNG.
fn png_content(path: &Path) -> (u32, u32, usize, usize) {
    let img = image::open(path).unwrap().to_rgb8();
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0;
    for p in img.pixels() {
        colours.insert(p.0);
        if p.0 != [255, 255, 255] {
            inked += 1;
        }
    }
    (img.width(), img.height(), inked, colours.len())
}

fn has_colour(path: &Path, rgb: [u8; 3]) -> bool {
    image::open(path)
        .unwrap()
        .to_rgb8()
        .pixels()
        .any(|p| p.0 == rgb)
}

const BLUE: [u8; 3] = [0, 114, 178];
const VERMILLION: [u8; 3] = [213, 94, 0];

#[test]
fn png_from_each_fixture_trace_has_drawn_content() {
    let t = traces::traces("plot-png");
    let cases: [(&str, Vec<&Path>); 4] = [
        ("unified", vec![&t.unified]),
        ("discrete", vec![&t.discrete]),
        ("cpu", vec![&t.cpu]),
        ("all", vec![&t.unified, &t.discrete, &t.cpu]),
    ];
    for (name, traces) in cases {
        let out = t.dir.join(format!("{name}.png"));
        plot(&traces, &out, &[]);
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}");
        let (w, h, inked, colours) = png_content(&out);
        assert_eq!((w, h), (1200, 600), "{name}");
        // Axes, text, areas and lines: well over 3 % of the image, many shades (antialiased text).
        assert!(inked > 1200 * 600 * 3 / 100, "{name}: {inked} pixels drawn");
        assert!(colours > 20, "{name}: {colours} colours");
        assert!(has_colour(&out, BLUE), "{name}: no system/RAM line");
    }
    // Discrete: VRAM is a band stacked on RAM (its border in vermillion).
    assert!(has_colour(&t.dir.join("discrete.png"), VERMILLION));
    assert!(!has_colour(&t.dir.join("cpu.png"), VERMILLION));
}

#[test]
fn svg_names_layers_budget_and_collapses_phase_runs() {
    let t = traces::traces("plot-svg");
    // 300 per-frame phases and instant marks: one label, not 300.
    let frames = t.dir.join("frames.jetmem");
    let mut r: Vec<Record> = unified_records(true)
        .into_iter()
        .filter(|r| !matches!(r, Record::Mark(_)))
        .collect();
    let step = (N - 1) * DT_NS / 300; // all inside the sampled span
    for i in 0..300 {
        r.push(mark(i * step, MarkKind::Begin, "frame"));
        r.push(mark(i * step + step / 2, MarkKind::Instant, "vsync"));
        r.push(mark((i + 1) * step, MarkKind::End, "frame"));
    }
    r.sort_by_key(t_ns);
    write_trace(&frames, &unified_header(), &r);
    let out = t.dir.join("frames.svg");
    plot(&[&frames], &out, &[]);
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.len() > 10_000, "{} bytes", svg.len());
    let labels = texts(&svg);
    assert_eq!(
        labels.iter().filter(|t| *t == "frame ×300").count(),
        1,
        "{labels:?}"
    );
    assert!(!labels.iter().any(|t| t == "frame"), "{labels:?}");
    assert!(
        labels.iter().any(|t| t == "300 instant marks"),
        "{labels:?}"
    );
    assert!(svg.contains("budget (default: 80 % of MemTotal)"));

    let out = t.dir.join("budget.svg");
    plot(&[&t.discrete], &out, &["--budget", "12GiB"]);
    let svg = std::fs::read_to_string(&out).unwrap();
    for label in [
        "RAM used",
        "VRAM used (stacked on RAM)",
        "RAM budget (set: 12",
    ] {
        assert!(svg.contains(label), "{label} missing");
    }
    let out = t.dir.join("all.svg");
    plot(&[&t.unified, &t.discrete], &out, &[]);
    let svg = std::fs::read_to_string(&out).unwrap();
    for label in [
        "nano-resnet50 (unified): system used",
        "nano-resnet50 (unified): tree RSS",
        "rtx4090-train (discrete): RAM + VRAM used",
        "process-tree RSS (dashed) of 2 runs",
    ] {
        assert!(svg.contains(label), "{label} missing");
    }
}

fn t_ns(r: &Record) -> u64 {
    match r {
        Record::Mark(m) => m.t_ns,
        Record::Sample(s) => s.t_ns,
        _ => 0,
    }
}

/// The texts of an SVG plot (plotters writes each on its own line).
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = t.split_once('>')?.1;
            Some(body.split_once("</text>")?.0.trim().to_owned())
        })
        .collect()
}

/// x tick labels: centred numbers (y ticks are right-aligned).
fn x_ticks(svg: &str) -> Vec<f64> {
    svg.split("<text")
        .skip(1)
        .filter(|t| t.contains("text-anchor=\"middle\"") && !t.contains("rotate"))
        .filter_map(|t| {
            t.split_once('>')?
                .1
                .split_once("</text>")?
                .0
                .trim()
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn from_and_to_limit_the_time_axis() {
    let t = traces::traces("plot-window");
    let out: PathBuf = t.dir.join("window.svg");
    plot(&[&t.unified], &out, &["--from", "0.35s", "--to", "0.6s"]);
    let svg = std::fs::read_to_string(&out).unwrap();
    // `load` (0.1–0.3 s) is outside; `infer` (0.3–0.8 s) is cut to the window.
    let labels = texts(&svg);
    assert!(!labels.iter().any(|t| t == "load"), "{labels:?}");
    assert!(labels.iter().any(|t| t == "infer"), "{labels:?}");
    let ticks = x_ticks(&svg);
    assert!(ticks.len() >= 3, "{ticks:?}");
    assert!(
        ticks.iter().all(|&t| (0.35..=0.6).contains(&t)),
        "{ticks:?}"
    );
    // The whole run spans 0–1 s.
    let out = t.dir.join("whole.svg");
    plot(&[&t.unified], &out, &[]);
    let ticks = x_ticks(&std::fs::read_to_string(&out).unwrap());
    assert!(
        ticks.iter().any(|&t| t < 0.1) && ticks.iter().any(|&t| t > 0.8),
        "{ticks:?}"
    );
    // An empty window is refused.
    let o = jetmem([
        "plot".as_ref(),
        t.unified.as_os_str(),
        "-o".as_ref(),
        t.dir.join("empty.svg").as_os_str(),
        "--from".as_ref(),
        "0.5s".as_ref(),
        "--to".as_ref(),
        "0.2s".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("must be later than --from"));
}

/// Without a font there is no text to draw: a clear error, nothing written.
#[test]
fn a_missing_font_is_a_clear_error() {
    let t = traces::traces("plot-font");
    let plot_with_font = |font: &std::path::Path, out: &std::path::Path| {
        crate::jetmem_command()
            .env("JETMEM_PLOT_FONT", font)
            .args([
                "plot".as_ref(),
                t.unified.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ])
            .output()
            .unwrap()
    };
    for name in ["x.png", "x.svg"] {
        let out = t.dir.join(name);
        let o = plot_with_font(&t.dir.join("no-such.ttf"), &out);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("no font to draw text with") && err.contains("fonts-dejavu-core"),
            "{err}"
        );
        assert!(!out.exists());
        // A file that is not a font is named as such.
        let o = plot_with_font(&t.unified, &out);
        assert_eq!(o.status.code(), Some(1), "{name}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("is not a font"));
        assert!(!out.exists());
    }
}
