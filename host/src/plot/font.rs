//! The plot's font. plotters' `ab_glyph` text needs a font file to measure
//! and draw text (PNG) and to lay out labels (SVG); jetmem ships none and
//! reads DejaVu Sans (Debian's `fonts-dejavu-core`) at run time, or only the
//! TTF named by `JETMEM_PLOT_FONT` when it is set.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

/// Where the font is looked for, in order, when `JETMEM_PLOT_FONT` is unset.
const CANDIDATES: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Registers the font as plotters' `sans-serif` once; the error says what to install.
pub fn ensure() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED.get_or_init(load).clone()
}

fn load() -> Result<(), String> {
    // A font the user names is the only one tried: no silent fallback.
    let paths: Vec<std::path::PathBuf> = match std::env::var_os("JETMEM_PLOT_FONT") {
        Some(p) => vec![p.into()],
        None => CANDIDATES.iter().map(Into::into).collect(),
    };
    let Some((path, bytes)) = paths
        .iter()
        .find_map(|p| std::fs::read(p).ok().map(|b| (p, b)))
    else {
        return Err(format!(
            "no font to draw text with: looked for {}; install DejaVu Sans \
             (apt-get install fonts-dejavu-core) or set JETMEM_PLOT_FONT to a .ttf file",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    // Registered for the life of the process; plotters needs 'static bytes.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    for style in [FontStyle::Normal, FontStyle::Bold] {
        register_font("sans-serif", style, bytes)
            .map_err(|_| format!("{} is not a font plotters can read", path.display()))?;
    }
    Ok(())
}
