//! Advice lines, each backed by evidence found in the trace.

use jetmem_core::record::Architecture;

use crate::analyze::Evidence;
use crate::report::model::{Advice, AdviceCode, Report};
use crate::units::bytes;

/// Pinned memory below this is noise (the CUDA runtime pins a little itself).
const PINNED_NOTABLE: u64 = 64 << 20;
/// Worker processes holding less than this (or 10 % of the tree) are not worth advice.
const WORKER_NOTABLE: u64 = 64 << 20;
/// `cuMemGetInfo` free within this share of MemFree counts as "≈ MemFree".
const CLOSE_PERMILLE: u64 = 100;

/// One advice rule: the line it gives for this report and evidence, if any.
type Rule = fn(&Report, &Evidence) -> Option<Advice>;

/// The rules, in the order their lines appear.
const RULES: &[Rule] = &[
    pinned_on_unified,
    worker_processes,
    cuda_free_is_memfree,
    headroom_exceeded,
    gpu_source_disagrees,
    zram_swap,
    damaged_trace,
    cuda_memory_at_exit,
];

/// The advice for a finished report.
pub fn advise(r: &Report, e: &Evidence) -> Vec<Advice> {
    RULES.iter().filter_map(|rule| rule(r, e)).collect()
}

fn unified(r: &Report) -> bool {
    r.architecture == Architecture::Unified
}

fn advice(code: AdviceCode, message: String) -> Option<Advice> {
    Some(Advice { code, message })
}

fn pinned_on_unified(r: &Report, _: &Evidence) -> Option<Advice> {
    // The kernel's pinned/locked pages, or the --cuda-hook's count of CUDA
    // pinned host memory, whichever is larger.
    let hooked = r.cuda_hook.as_ref().map(|h| h.pinned_peak_bytes);
    let pinned = r
        .process
        .pinned_peak_bytes
        .max(r.process.locked_peak_bytes)
        .max(hooked)?;
    if !unified(r) || pinned < PINNED_NOTABLE {
        return None;
    }
    advice(
        AdviceCode::PinnedOnUnified,
        format!(
            "The process tree pinned or locked up to {} of host memory. On unified memory the GPU \
             already reads system DRAM: pinned staging buffers (pin_memory=True, cudaHostAlloc) \
             cost memory without speeding copies up.",
            bytes(pinned)
        ),
    )
}

fn worker_processes(r: &Report, _: &Evidence) -> Option<Advice> {
    let (n, rss) = (r.process.processes_peak?, r.process.rss_peak_bytes?);
    // With per-process figures, only workers that hold a real share of the tree count.
    let workers: Vec<_> = r.process.top.iter().filter(|p| !p.root).collect();
    let worker_rss: u64 = workers.iter().filter_map(|p| p.rss_peak_bytes).sum();
    let workers_matter =
        r.process.top.is_empty() || worker_rss >= WORKER_NOTABLE.min(rss / 10).max(1);
    if n <= 1 || !workers_matter {
        return None;
    }
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
    advice(
        AdviceCode::WorkerProcesses,
        format!(
            "Up to {n} processes ran in the traced tree, together {} resident. Worker processes \
             (e.g. DataLoader num_workers) each hold their own copy of what they import; fewer \
             workers lower the peak.{largest}",
            bytes(rss)
        ),
    )
}

fn cuda_free_is_memfree(r: &Report, e: &Evidence) -> Option<Advice> {
    let cuda_free = e.cuda_free_min.value?;
    let mem_free = e.mem_free_at_cuda_free_min?;
    let avail = e.available_at_cuda_free_min?;
    let close = cuda_free.abs_diff(mem_free) * 1000 <= mem_free.max(1) * CLOSE_PERMILLE;
    if !unified(r) || !close || avail <= cuda_free {
        return None;
    }
    advice(
        AdviceCode::CudaFreeIsMemfree,
        format!(
            "cuMemGetInfo's \"free\" ({}) tracks MemFree ({}), not MemAvailable ({}): on Jetson \
             it ignores reclaimable page cache, so it understates what can still be allocated.",
            bytes(cuda_free),
            bytes(mem_free),
            bytes(avail)
        ),
    )
}

fn headroom_exceeded(r: &Report, _: &Evidence) -> Option<Advice> {
    let (budget, used) = (r.headroom.budget_bytes?, r.system.used_peak_bytes?);
    // The headroom (accounting::headroom) is negative here: its size is the excess.
    let over = r.headroom.min_bytes.filter(|&m| m < 0)?.unsigned_abs();
    if !r.headroom.exceeded {
        return None;
    }
    advice(
        AdviceCode::HeadroomExceeded,
        format!(
            "System memory used peaked at {}, over the budget of {} ({}) by {}.",
            bytes(used),
            bytes(budget),
            r.headroom.budget_source.describe(),
            bytes(over)
        ),
    )
}

fn gpu_source_disagrees(r: &Report, _: &Evidence) -> Option<Advice> {
    if !r.gpu.sources_disagree {
        return None;
    }
    advice(
        AdviceCode::GpuSourceDisagrees,
        "The GPU figure was at times larger than system memory used; the two sources \
         were read at slightly different moments or count differently (nvmap includes \
         carveouts)."
            .to_owned(),
    )
}

fn zram_swap(r: &Report, _: &Evidence) -> Option<Advice> {
    let swapped = r.system.swap_used_peak_bytes.is_some_and(|s| s > 0);
    if !r.system.swap_is_zram || !swapped {
        return None;
    }
    advice(
        AdviceCode::ZramSwap,
        "Swap is zram: swapped pages are compressed into the same DRAM, so swap is not \
         extra memory."
            .to_owned(),
    )
}

/// Processes that exited with CUDA device memory still allocated (`--cuda-hook`).
fn cuda_memory_at_exit(r: &Report, _: &Evidence) -> Option<Advice> {
    let left: Vec<String> = r
        .cuda_hook
        .as_ref()?
        .processes
        .iter()
        .filter(|p| p.device_end_bytes > 0)
        .map(|p| {
            format!(
                "{} (pid {}) {}",
                p.name.as_deref().unwrap_or("?"),
                p.pid,
                bytes(p.device_end_bytes)
            )
        })
        .collect();
    if left.is_empty() {
        return None;
    }
    advice(
        AdviceCode::CudaMemoryAtExit,
        format!(
            "CUDA device memory was still allocated when these processes last made a CUDA call or \
             exited: {}. The driver frees it at exit, but memory held until then is unavailable \
             to the rest of the run (a missing cuMemFree, or a cache never emptied).",
            left.join(", ")
        ),
    )
}

fn damaged_trace(r: &Report, _: &Evidence) -> Option<Advice> {
    if r.skipped_bytes == 0 && r.damage.clean_end {
        return None;
    }
    advice(
        AdviceCode::DamagedTrace,
        format!(
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
    )
}
