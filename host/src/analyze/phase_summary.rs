//! `phase_summary`: every occurrence of a phase label folded into one row.
//! The peaks are the largest of the occurrences' peaks (each already derived
//! by `core::accounting` in the analysis); durations are over the closed
//! occurrences, the 95th percentile by nearest rank.

use std::collections::BTreeMap;

use crate::report::model::{Phase, PhaseSummary};

/// One row per label, in the order each label first began.
pub(super) fn summarise(phases: &[Phase]) -> Vec<PhaseSummary> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_label: BTreeMap<&str, Vec<&Phase>> = BTreeMap::new();
    for p in phases {
        let list = by_label.entry(p.label.as_str()).or_default();
        if list.is_empty() {
            order.push(p.label.as_str());
        }
        list.push(p);
    }
    order
        .into_iter()
        .filter_map(|label| by_label.get(label).map(|ps| row(label, ps)))
        .collect()
}

fn row(label: &str, ps: &[&Phase]) -> PhaseSummary {
    let mut durations: Vec<f64> = ps
        .iter()
        .filter(|p| p.closed)
        .map(|p| p.duration_s)
        .collect();
    durations.sort_by(f64::total_cmp);
    let mut pids: Vec<u32> = ps.iter().filter_map(|p| p.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    let peak = |f: fn(&Phase) -> Option<u64>| ps.iter().filter_map(|p| f(p)).max();
    PhaseSummary {
        label: label.to_owned(),
        count: ps.len() as u64,
        pids,
        duration_mean_s: (!durations.is_empty())
            .then(|| durations.iter().sum::<f64>() / durations.len() as f64),
        duration_p95_s: nearest_rank(&durations, 95),
        duration_max_s: durations.last().copied(),
        system_used_peak_bytes: peak(|p| p.system_used_peak_bytes),
        gpu_used_peak_bytes: peak(|p| p.gpu_used_peak_bytes),
        rss_peak_bytes: peak(|p| p.rss_peak_bytes),
        cuda_alloc_peak_bytes: peak(|p| p.cuda_alloc_peak_bytes),
        unclosed: ps.iter().filter(|p| !p.closed).count() as u64,
    }
}

/// The `pct`-th percentile of sorted values by nearest rank (`None` when empty).
fn nearest_rank(sorted: &[f64], pct: usize) -> Option<f64> {
    let n = sorted.len();
    let rank = (pct * n).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(label: &str, pid: u32, duration_s: f64, closed: bool, used: Option<u64>) -> Phase {
        Phase {
            label: label.to_owned(),
            start_s: 0.0,
            end_s: duration_s,
            duration_s,
            closed,
            system_used_peak_bytes: used,
            gpu_used_peak_bytes: None,
            rss_peak_bytes: used.map(|u| u / 2),
            pid: Some(pid),
            cuda_alloc_peak_bytes: None,
        }
    }

    #[test]
    fn rows_fold_every_occurrence_of_a_label() {
        // 20 frames of 1..=20 ms from two writers, one unclosed load.
        let mut ps: Vec<Phase> = (1..=20)
            .map(|i| {
                phase(
                    "frame",
                    100 + i % 2,
                    f64::from(i) / 1000.0,
                    true,
                    Some(u64::from(i)),
                )
            })
            .collect();
        ps.insert(0, phase("load", 7, 3.0, false, None));
        let rows = summarise(&ps);
        assert_eq!(rows.len(), 2);
        let (load, frame) = (&rows[0], &rows[1]);
        assert_eq!(
            (load.label.as_str(), load.count, load.unclosed),
            ("load", 1, 1)
        );
        assert_eq!(
            load.duration_mean_s, None,
            "no closed occurrence: no duration"
        );
        assert_eq!(load.system_used_peak_bytes, None, "unknown stays unknown");
        assert_eq!((frame.count, frame.unclosed), (20, 0));
        assert_eq!(frame.pids, [100, 101]);
        assert!((frame.duration_mean_s.unwrap() - 0.0105).abs() < 1e-12);
        assert_eq!(
            frame.duration_p95_s,
            Some(0.019),
            "nearest rank: the 19th of 20"
        );
        assert_eq!(frame.duration_max_s, Some(0.020));
        assert_eq!(frame.system_used_peak_bytes, Some(20));
        assert_eq!(frame.rss_peak_bytes, Some(10));
    }

    /// Through the analyzer: Begin/End pair per writer pid (two writers
    /// interleave the same label), and a phase between two samples takes the
    /// sample at its end.
    #[test]
    fn phases_pair_per_writer_and_short_ones_take_the_next_sample() {
        use jetmem_core::record::{Counter, Counters, Header, Mark, MarkKind, Record, Sample};
        use jetmem_core::text::truncated;
        use jetmem_core::wire::Item;
        use jetmem_core::wire::stream::DecodeStats;

        let header = Header {
            pid: Some(1),
            ..Header::default()
        };
        let mut a = super::super::Analyzer::new(&header, false);
        let sample = |t_ms: u64, rss_mib: u64| {
            let mut c = Counters::new();
            c.set(Counter::TreeRss, Some(rss_mib << 20));
            Item::Record(Record::Sample(Sample {
                t_ns: t_ms * 1_000_000,
                counters: c,
            }))
        };
        let mark = |t_ms: u64, kind, pid| {
            Item::Record(Record::Mark(Mark {
                t_ns: t_ms * 1_000_000,
                kind,
                label: truncated("step"),
                pid: Some(pid),
            }))
        };
        for item in [
            sample(0, 10),
            mark(1, MarkKind::Begin, 7),
            mark(2, MarkKind::Begin, 8),
            mark(4, MarkKind::End, 7), // closes pid 7's step (begun at 1 ms), not pid 8's
            sample(10, 30),
            mark(12, MarkKind::End, 8),
            sample(20, 20),
        ] {
            a.push(&item);
        }
        let report = a.finish("t".to_owned(), &DecodeStats::default()).report;
        let spans: Vec<(f64, f64, Option<u32>, Option<u64>)> = report
            .phases
            .iter()
            .map(|p| (p.start_s, p.end_s, p.pid, p.rss_peak_bytes))
            .collect();
        assert_eq!(
            spans,
            [
                // 1–4 ms: no sample inside, so the one at 10 ms.
                (0.001, 0.004, Some(7), Some(30 << 20)),
                (0.002, 0.012, Some(8), Some(30 << 20)),
            ]
        );
        let row = &report.phase_summary[0];
        assert_eq!((row.count, row.pids.as_slice()), (2, [7, 8].as_slice()));
        assert_eq!(row.duration_max_s, Some(0.010));
    }

    #[test]
    fn nearest_rank_of_few_values() {
        assert_eq!(nearest_rank(&[], 95), None);
        assert_eq!(nearest_rank(&[1.0], 95), Some(1.0));
        assert_eq!(nearest_rank(&[1.0, 2.0], 50), Some(1.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 95), Some(3.0));
    }
}
