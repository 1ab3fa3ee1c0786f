//! Parser cost on real captures: `cargo bench -p jetmem-core --bench parse`.
//! Figures and targets: docs/PERFORMANCE.md, "Parsers".

use divan::black_box;
use jetmem_core::parse::meminfo::{MeminfoParser, parse_meminfo};
use jetmem_core::parse::statm::parse_statm;
use jetmem_core::parse::status::parse_status;

const NANO: &[u8] = include_bytes!("../../tests/fixtures/nano-4gb-jp4.6-meminfo/proc/meminfo");
const STATM: &[u8] = b"1525431 262144 13107 243 0 1310720 0\n";
const STATUS: &[u8] = b"Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4481\nNgid:\t0\nPid:\t4481\nPPid:\t1731\nTracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t256\nGroups:\t4 20 24 27 30 46 116 1000\nNStgid:\t4481\nNSpid:\t4481\nNSpgid:\t4481\nNSsid:\t1731\nVmPeak:\t 2631212 kB\nVmSize:\t 2566640 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t  812344 kB\nVmRSS:\t  790112 kB\nRssAnon:\t  620400 kB\nRssFile:\t  160128 kB\nRssShmem:\t    9584 kB\nVmData:\t  900000 kB\nVmStk:\t     132 kB\nVmExe:\t    2772 kB\nVmLib:\t  120000 kB\nVmPTE:\t    2400 kB\nVmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\nCoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t42\nSigQ:\t0/30446\n";

fn main() {
    divan::main();
}

/// The generic keyed parse of the Nano JP4.6 /proc/meminfo (1 285 bytes, 45 lines).
#[divan::bench]
fn meminfo_keyed() -> bool {
    parse_meminfo(black_box(NANO)).is_ok()
}

/// The cached-layout parse of the same file (layout learned before timing).
#[divan::bench]
fn meminfo_cached(b: divan::Bencher) {
    let mut p = MeminfoParser::new();
    let _ = p.parse(NANO);
    b.bench_local(|| p.parse(black_box(NANO)).is_ok());
}

/// /proc/PID/statm, 4 KiB pages.
#[divan::bench]
fn statm() -> bool {
    parse_statm(black_box(STATM), 4096).is_ok()
}

/// /proc/PID/status of a Python process (slow path).
#[divan::bench]
fn status() -> bool {
    parse_status(black_box(STATUS)).is_ok()
}
