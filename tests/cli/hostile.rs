//! Hostile inputs to the CLI: crafted traces, roots and arguments (issue 14).

use jetmem_core::record::{MarkKind, Record};

use crate::report_json;
use crate::traces::{self, mark, unified_header, unified_sample};

/// A program that calls Begin without End at frame rate: the open phases stay
/// capped (64, in core::accounting), the excess is counted as unclosed, and the
/// report lists at most 10 000 phases, counting the rest.
#[test]
fn unmatched_begins_and_many_phases_stay_bounded_and_counted() {
    let dir = traces::scratch("hostile-phases");
    let path = dir.join("phases.jmt");
    let pairs = 12_000u64;
    let begins = 50_000u64;
    let mut records = Vec::new();
    for i in 0..pairs {
        records.push(mark(i, MarkKind::Begin, "frame"));
        records.push(mark(i + 1, MarkKind::End, "frame"));
    }
    for i in 0..begins {
        records.push(mark(pairs + i, MarkKind::Begin, "leak"));
        if i % 1000 == 0 {
            records.push(Record::Sample(unified_sample(i / 1000)));
        }
    }
    traces::write_trace(&path, &unified_header(), &records);
    let j = report_json(&path);
    let listed = j["phases"].as_array().unwrap().len() as u64;
    assert_eq!(listed, 10_000);
    let open_cap = 64;
    assert_eq!(j["omitted"]["unclosed_phases"], begins - open_cap);
    // Closed pairs beyond the list, plus the 64 tracked phases still open at the end.
    assert_eq!(j["omitted"]["phases"], pairs + open_cap - listed);
    assert_eq!(j["omitted"]["pressure_events"], 0);
}
