//! The real 10 ms capture of `tests/fixtures/workload-capture-10ms` (see its
//! SOURCE.txt) as samples.

use jetmem_core::record::{Counter, Counters, Sample};

/// The capture's CSV, built into the crate.
pub const CAPTURE_CSV: &str = include_str!("../fixtures/workload-capture-10ms/samples.csv");

/// Parses a capture CSV: `t_ns`, then one column per counter key (empty = unknown).
pub fn read_capture_csv(text: &str) -> Vec<Sample> {
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    assert_eq!(head.first(), Some(&"t_ns"), "not a capture CSV");
    let counters: Vec<Counter> = head
        .iter()
        .skip(1)
        .map(|k| {
            *Counter::ALL
                .iter()
                .find(|c| c.key() == *k)
                .unwrap_or_else(|| panic!("unknown counter column {k}"))
        })
        .collect();
    lines
        .map(|line| {
            let mut cells = line.split(',');
            let t_ns = cells.next().and_then(|t| t.parse().ok()).expect("t_ns");
            let mut c = Counters::new();
            for (counter, cell) in counters.iter().zip(cells) {
                if !cell.is_empty() {
                    c.set(*counter, Some(cell.parse().expect("a number")));
                }
            }
            Sample { t_ns, counters: c }
        })
        .collect()
}
