//! Advice lines, each backed by evidence found in the trace.

use crate::report::model::{Advice, Peaks, Report};
use crate::units::bytes;

/// Pinned memory below this is noise (the CUDA runtime pins a little itself).
const PINNED_NOTABLE: u64 = 64 << 20;
/// Worker processes holding less than this (or 10 % of the tree) are not worth advice.
const WORKER_NOTABLE: u64 = 64 << 20;
/// `cuMemGetInfo` free within this share of MemFree counts as "≈ MemFree".
const CLOSE_PERMILLE: u64 = 100;

/// The advice for a finished report.
pub fn advise(r: &Report, p: &Peaks) -> Vec<Advice> {
    let mut out = Vec::new();
    let unified = r.architecture == "unified";
    let pinned = r.process.pinned_peak_bytes.max(r.process.locked_peak_bytes);
    if unified && let Some(pinned) = pinned.filter(|&b| b >= PINNED_NOTABLE) {
        out.push(Advice {
            code: "pinned-on-unified",
            message: format!(
                "The process tree pinned or locked up to {} of host memory. On unified memory the GPU \
                 already reads system DRAM: pinned staging buffers (pin_memory=True, cudaHostAlloc) \
                 cost memory without speeding copies up.",
                bytes(pinned)
            ),
        });
    }
    // With per-process figures, only workers that hold a real share of the tree count.
    let workers: Vec<_> = r.process.top.iter().filter(|p| !p.root).collect();
    let worker_rss: u64 = workers.iter().filter_map(|p| p.rss_peak_bytes).sum();
    let workers_matter = r.process.top.is_empty()
        || r.process
            .rss_peak_bytes
            .is_some_and(|t| worker_rss >= WORKER_NOTABLE.min(t / 10).max(1));
    if let (Some(n), Some(rss)) = (r.process.processes_peak, r.process.rss_peak_bytes)
        && n > 1
        && workers_matter
    {
        let largest = workers
            .iter()
            .take(3)
            .map(|p| {
                format!(
                    "{} (pid {}) {}",
                    p.name.as_deref().unwrap_or("?"),
                    p.pid,
                    bytes(p.rss_peak_bytes.unwrap_or(0))
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let largest = if largest.is_empty() {
            String::new()
        } else {
            format!(" Largest workers: {largest}.")
        };
        out.push(Advice {
            code: "worker-processes",
            message: format!(
                "Up to {n} processes ran in the traced tree, together {} resident. Worker processes \
                 (e.g. DataLoader num_workers) each hold their own copy of what they import; fewer \
                 workers lower the peak.{largest}",
                bytes(rss)
            ),
        });
    }
    if unified
        && let (Some(cuda_free), Some(mem_free), Some(avail)) = (
            p.cuda_free_min.value,
            p.mem_free_at_cuda_free_min,
            p.available_at_cuda_free_min,
        )
        && cuda_free.abs_diff(mem_free) * 1000 <= mem_free.max(1) * CLOSE_PERMILLE
        && avail > cuda_free
    {
        out.push(Advice {
            code: "cuda-free-is-memfree",
            message: format!(
                "cuMemGetInfo's \"free\" ({}) tracks MemFree ({}), not MemAvailable ({}): on Jetson \
                 it ignores reclaimable page cache, so it understates what can still be allocated.",
                bytes(cuda_free),
                bytes(mem_free),
                bytes(avail)
            ),
        });
    }
    if r.headroom.exceeded
        && let (Some(budget), Some(used)) = (r.headroom.budget_bytes, r.system.used_peak_bytes)
    {
        out.push(Advice {
            code: "headroom-exceeded",
            message: format!(
                "System memory used peaked at {}, over the budget of {} ({}) by {}.",
                bytes(used),
                bytes(budget),
                if r.headroom.budget_source == "trace" {
                    "set when recording"
                } else {
                    "80 % of MemTotal"
                },
                bytes(used.saturating_sub(budget))
            ),
        });
    }
    if r.gpu.sources_disagree {
        out.push(Advice {
            code: "gpu-source-disagrees",
            message: "The GPU figure was at times larger than system memory used; the two sources \
                      were read at slightly different moments or count differently (nvmap includes \
                      carveouts)."
                .to_owned(),
        });
    }
    if r.system.swap_is_zram && r.system.swap_used_peak_bytes.is_some_and(|s| s > 0) {
        out.push(Advice {
            code: "zram-swap",
            message:
                "Swap is zram: swapped pages are compressed into the same DRAM, so swap is not \
                      extra memory."
                    .to_owned(),
        });
    }
    if r.skipped_bytes > 0 || !r.damage.clean_end {
        out.push(Advice {
            code: "damaged-trace",
            message: format!(
                "The trace is incomplete: {} bytes in {} frames were skipped{}; figures cover what \
                 decoded.",
                r.skipped_bytes,
                r.damage.skipped_frames,
                if r.damage.clean_end {
                    ""
                } else {
                    " and it has no end record (the recorder was stopped abruptly)"
                }
            ),
        });
    }
    out
}
