//! The plot's data path, apart from its drawing: each plotted series kept as
//! min/max buckets ([`MinMax`]) about one per pixel column, so a trace of any
//! length plots in bounded memory and every peak stays visible.

use jetmem_core::accounting::Figures;

use crate::downsample::{MinMax, Pt};

/// The series a plot draws, downsampled to about `columns` buckets each.
#[derive(Debug, Clone)]
pub struct PlotData {
    pub used: MinMax,
    pub gpu_used: MinMax,
    pub vram_used: MinMax,
    pub total_used: MinMax,
    pub rss: MinMax,
    /// The CUDA device's used memory (total − free; the HTML timeline draws it).
    pub cuda_used: MinMax,
    /// tegrastats' own RAM used (imported traces only; its definition).
    pub tegrastats_used: MinMax,
    /// Highest MemTotal seen.
    pub mem_total_max: Option<u64>,
    last_t_ns: u64,
}

impl PlotData {
    /// Empty series for a plot about `columns` pixels wide.
    pub fn new(columns: usize) -> Self {
        PlotData {
            used: MinMax::new(columns),
            gpu_used: MinMax::new(columns),
            vram_used: MinMax::new(columns),
            total_used: MinMax::new(columns),
            rss: MinMax::new(columns),
            tegrastats_used: MinMax::new(columns),
            cuda_used: MinMax::new(columns),
            mem_total_max: None,
            last_t_ns: 0,
        }
    }

    /// Takes one sample's figures and tree RSS.
    pub fn push(&mut self, t_ns: u64, f: &Figures, rss: Option<u64>) {
        self.last_t_ns = self.last_t_ns.max(t_ns);
        for (series, v) in [
            (&mut self.used, f.used),
            (&mut self.gpu_used, f.gpu_used),
            (&mut self.vram_used, f.vram_used),
            (&mut self.total_used, f.total_used),
            (&mut self.rss, rss),
            (&mut self.tegrastats_used, f.tegrastats_used),
            (&mut self.cuda_used, f.cuda_used),
        ] {
            if let Some(v) = v {
                series.push(t_ns, v);
            }
        }
        if let Some(t) = f.total {
            self.mem_total_max = Some(self.mem_total_max.map_or(t, |m| m.max(t)));
        }
    }

    /// Time of the last sample (ns).
    pub fn last_t_ns(&self) -> u64 {
        self.last_t_ns
    }
}

/// A series' kept points as (seconds, GiB) for drawing.
pub fn xy(series: &MinMax) -> Vec<(f64, f64)> {
    series
        .points()
        .map(|Pt { t_ns, v }| (t_ns as f64 / 1e9, v as f64 / GIB))
        .collect()
}

const GIB: f64 = (1u64 << 30) as f64;
