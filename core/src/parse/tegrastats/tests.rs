//! Every tegrastats generation, from real captured lines in tests/fixtures/tegrastats
//! (sources in its SOURCE.txt), figure by figure.

use super::*;

const MIB: u64 = 1 << 20;
const KIB: u64 = 1 << 10;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../../tests/fixtures/tegrastats/", $name))
    };
}

/// Line `n` (0-based) of a fixture that is not a `#` annotation.
fn line(file: &[u8], n: usize) -> &[u8] {
    file.split(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"#") && !l.trim_ascii().is_empty())
        .nth(n)
        .unwrap()
}

fn parse(file: &[u8], n: usize) -> TegrastatsLine {
    parse_tegrastats_line(line(file, n)).unwrap()
}

fn engine(load: Option<u8>, freq: Option<u32>) -> Option<Engine> {
    Some(Engine {
        load_percent: load,
        freq_mhz: freq,
    })
}

#[test]
fn l4t_r28_tx1_lower_case_fields() {
    let t = parse(fixture!("tx1-l4t28.1-root.txt"), 0);
    assert_eq!(t.stamp, None);
    assert_eq!((t.ram_used, t.ram_total), (3691 * MIB, 3983 * MIB));
    assert_eq!(
        t.lfb,
        Some(Lfb {
            blocks: 3,
            block_bytes: 2 * MIB
        })
    );
    assert_eq!(t.swap_used, Some(2780 * MIB));
    assert_eq!(t.swap_total, Some(8192 * MIB));
    assert_eq!(t.swap_cached, Some(284 * MIB));
    // `EMC 0%@1600 APE 25 GR3D 0%@998`: GR3D ends the line.
    assert_eq!(t.emc, engine(Some(0), Some(1600)));
    assert_eq!(t.gpu, engine(Some(0), Some(998)));
}

#[test]
fn jetpack4_tx2_root_with_mts_and_unitless_rails() {
    let f = fixture!("tx2-2018-root.txt");
    let t = parse(f, 0);
    assert_eq!((t.ram_used, t.ram_total), (1685 * MIB, 7854 * MIB));
    assert_eq!(t.lfb.unwrap().blocks, 1044);
    assert_eq!(t.lfb.unwrap().block_bytes, 4 * MIB);
    assert_eq!(t.swap_cached, Some(23 * MIB));
    assert_eq!(t.emc, engine(Some(0), Some(1866)));
    assert_eq!(t.gpu, engine(Some(0), Some(140)));
    assert_eq!(parse(f, 1).emc, engine(Some(16), Some(102)));
}

#[test]
fn jetpack4_nano_root_with_iram() {
    let t = parse(fixture!("nano-jp4-root.txt"), 0);
    assert_eq!((t.ram_used, t.ram_total), (717 * MIB, 3964 * MIB));
    assert_eq!(t.lfb.unwrap().blocks, 140);
    // IRAM's `0/252kB(lfb 252kB)` is not RAM nor swap.
    assert_eq!(t.swap_used, Some(0));
    assert_eq!(t.swap_total, Some(1982 * MIB));
    assert_eq!(t.emc, engine(Some(2), Some(204)));
    assert_eq!(t.gpu, engine(Some(0), Some(76)));
}

#[test]
fn jetpack4_xavier_without_root_has_loads_without_clocks() {
    let t = parse(fixture!("xavier-agx-jp4.2-nonroot.txt"), 0);
    assert_eq!((t.ram_used, t.ram_total), (14700 * MIB, 15692 * MIB));
    assert_eq!(t.swap_used, Some(898 * MIB));
    assert_eq!(t.emc, engine(Some(0), None));
    assert_eq!(t.gpu, engine(Some(0), None));
}

#[test]
fn tx2_without_swap_and_rail_gated_gpu() {
    // Line 0 and 1 are the shell prompt and sudo's question: not tegrastats samples.
    let f = fixture!("tx2-L4T32.x-tegrastats-idle.log");
    assert_eq!(
        parse_tegrastats_line(line(f, 0)),
        Err(ParseError::MissingField("RAM"))
    );
    assert!(parse_tegrastats_line(line(f, 1)).is_err());
    let t = parse(f, 2);
    assert_eq!((t.ram_used, t.ram_total), (284 * MIB, 7860 * MIB));
    assert_eq!(t.swap_used, None);
    assert_eq!(t.swap_total, None);
    assert_eq!(t.gpu, engine(None, Some(0)), "GR3D_FREQ @0");
    assert_eq!(parse(f, 3).ram_used, 288 * MIB);
}

#[test]
fn jetpack5_orin_nx_and_jetpack6_with_gpc_array_and_odd_spacing() {
    let f = fixture!("multi-board-tegrastats-datadog-fixtures.txt");
    let nx = parse(f, 5);
    assert_eq!((nx.ram_used, nx.ram_total), (6334 * MIB, 15388 * MIB));
    assert_eq!(nx.gpu, engine(Some(0), Some(611)));
    let r36 = parse(f, 6);
    assert_eq!((r36.ram_used, r36.ram_total), (29114 * MIB, 30697 * MIB));
    assert_eq!(r36.lfb.unwrap().blocks, 3);
    assert_eq!(r36.swap_used, Some(4915 * MIB));
    assert_eq!(r36.gpu, engine(Some(0), Some(305)));
    assert_eq!(r36.emc, engine(Some(1), Some(2133)));
    // JetPack 6 without root: no EMC at all.
    let orin = parse(f, 7);
    assert_eq!(orin.emc, None);
    assert_eq!(orin.gpu, engine(Some(0), None));
    // TX1 without SWAP: IRAM only.
    let tx1 = parse(f, 0);
    assert_eq!(tx1.swap_used, None);
    assert_eq!(tx1.ram_used, 1179 * MIB);
}

#[test]
fn jetpack6_orin_agx_with_timestamp() {
    let t = parse(fixture!("orin-agx-64gb-2025.txt"), 0);
    assert_eq!(
        t.stamp,
        Some(Stamp {
            year: 2025,
            month: 4,
            day: 11,
            hour: 10,
            minute: 36,
            second: 27
        })
    );
    assert_eq!((t.ram_used, t.ram_total), (4321 * MIB, 62801 * MIB));
    assert_eq!(t.lfb.unwrap().blocks, 1759);
    assert_eq!(t.swap_used, Some(19 * MIB));
    assert_eq!(t.swap_total, Some(31400 * MIB));
    assert_eq!(t.gpu, engine(Some(0), Some(0)), "GR3D_FREQ 0%@[0,0]");
    assert_eq!(t.emc, engine(Some(0), Some(2133)));
}

#[test]
fn jetpack7_orin_with_engines_temperature_pairs_and_three_value_rails() {
    let t = parse(fixture!("orin-agx-jp7.2-r39.2.txt"), 0);
    assert_eq!(t.stamp.unwrap().year, 2026);
    assert_eq!(t.stamp.unwrap().second, 28);
    assert_eq!((t.ram_used, t.ram_total), (20642 * MIB, 62817 * MIB));
    assert_eq!(
        t.lfb,
        Some(Lfb {
            blocks: 1,
            block_bytes: 2 * MIB
        })
    );
    assert_eq!(t.swap_used, None);
    assert_eq!(t.gpu, engine(Some(12), Some(1300)));
    assert_eq!(t.emc, engine(Some(3), Some(3199)));
}

#[test]
fn thor_clock_arrays_without_load_and_kib_lfb() {
    let t = parse(fixture!("thor-jtop-test-constant.txt"), 0);
    assert_eq!(
        t.lfb,
        Some(Lfb {
            blocks: 1,
            block_bytes: 512 * KIB
        })
    );
    assert_eq!(t.gpu, engine(None, Some(1000)));
}

#[test]
fn every_sample_line_of_every_fixture_parses() {
    let files: [&[u8]; 9] = [
        fixture!("tx1-l4t28.1-root.txt"),
        fixture!("tx2-2018-root.txt"),
        fixture!("nano-jp4-root.txt"),
        fixture!("xavier-agx-jp4.2-nonroot.txt"),
        fixture!("orin-agx-64gb-2025.txt"),
        fixture!("orin-agx-jp7.2-r39.2.txt"),
        fixture!("thor-jtop-test-constant.txt"),
        fixture!("multi-board-tegrastats-datadog-fixtures.txt"),
        fixture!("nano-and-xaviernx-jp4.6-tegrastats-stress.log"),
    ];
    let mut n = 0;
    for f in files {
        for l in f.split(|&b| b == b'\n') {
            if l.starts_with(b"#") || l.trim_ascii().is_empty() {
                continue;
            }
            let t = parse_tegrastats_line(l).unwrap();
            assert!(t.ram_used <= t.ram_total && t.ram_total > 0);
            n += 1;
        }
    }
    assert_eq!(n, 2 + 3 + 3 + 1 + 1 + 1 + 1 + 8 + 13);
}

#[test]
fn bad_input_is_an_error_not_a_sample() {
    assert_eq!(parse_tegrastats_line(b"  \n"), Err(ParseError::Empty));
    assert_eq!(
        parse_tegrastats_line(b"MemTotal: 4059240 kB"),
        Err(ParseError::MissingField("RAM"))
    );
    assert_eq!(
        parse_tegrastats_line(b"RAM 12/xMB"),
        Err(ParseError::Malformed("RAM used/totalMB"))
    );
    assert!(parse_tegrastats_line(b"04-11-2025 RAM 1/2MB").is_err());
    assert!(parse_tegrastats_line(b"RAM 99999999999999999999/2MB").is_err());
}

/// Found by the `parse_misc` fuzz target: a stamp whose "digits" are bytes
/// above '9' overflowed `a * 10` (u8) before the digit check.
#[test]
fn non_digit_stamps_are_no_time_not_an_overflow() {
    assert_eq!(parse_time(b"\xff\xff:00:00"), None);
    assert_eq!(parse_time(b"00:\xf0\xf0:00"), None);
    // The whole line must not panic either (it did, through the stamp).
    let _ = parse_tegrastats_line(
        b"\xff\xff-\xff\xff-\xff\xff\xff\xff \xff\xff:\xff\xff:\xff\xff RAM 1/2MB",
    );
}
