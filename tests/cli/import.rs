//! `jetmem import tegrastats` on real captured logs (tests/fixtures/tegrastats, sources in
//! its SOURCE.txt): the trace's report, export and errors, figure by figure.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::traces::{MIB, fixture, scratch};
use crate::{jetmem, ok_stdout, report_json};

fn log(name: &str) -> PathBuf {
    fixture(&format!("tegrastats/{name}"))
}

/// `RAM used/total` of every line of `path` that has one, read independently of the
/// parser under test: (used MiB, total MiB, 1-based line number).
fn ram_lines(path: &Path) -> Vec<(u64, u64, usize)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
        .filter_map(|(i, l)| {
            let rest = l.split("RAM ").nth(1)?;
            let (u, t) = rest.split_once('/')?;
            let t = t.split("MB").next()?;
            Some((u.parse().ok()?, t.parse().ok()?, i + 1))
        })
        .collect()
}

fn import(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let mut all: Vec<&std::ffi::OsStr> = vec!["import".as_ref(), "tegrastats".as_ref()];
    all.extend_from_slice(args);
    jetmem(all)
}

#[test]
fn stress_log_imports_with_its_peaks_and_names_the_lines_it_skipped() {
    let dir = scratch("import-stress");
    let src = log("nano-and-xaviernx-jp4.6-tegrastats-stress.log");
    let trace = dir.join("stress.jetmem");
    let out = import(&[src.as_os_str(), "-o".as_ref(), trace.as_os_str()]);
    let stdout = ok_stdout(&out);
    let lines = ram_lines(&src);
    assert_eq!(lines.len(), 13);
    let text = std::fs::read_to_string(&src).unwrap();
    let annotations = text.lines().filter(|l| l.starts_with('#')).count();
    assert!(
        stdout.starts_with("Imported 13 samples from 1 file into "),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{annotations} lines did not parse:")),
        "the '#' annotation lines are counted: {stdout}"
    );
    assert!(
        stdout.contains("stress.log:1: missing field `RAM`"),
        "{stdout}"
    );

    let j = report_json(&trace);
    let t = &j["tegrastats"];
    // The first line with the highest "used" (ties keep the earliest), and the highest total.
    let (peak, at) = lines
        .iter()
        .enumerate()
        .map(|(k, (u, _, _))| (*u, k))
        .max_by_key(|(u, k)| (*u, usize::MAX - k))
        .unwrap();
    let total = lines.iter().map(|(_, t, _)| *t).max().unwrap();
    // The 20 W Xavier NX section: "RAM 6774/7773MB" (SOURCE.txt).
    assert_eq!(peak, 6774);
    assert_eq!(t["ram_used_peak_bytes"], peak * MIB);
    assert_eq!(total, 7773);
    assert_eq!(t["ram_total_bytes"], total * MIB);
    assert_eq!(t["ram_used_peak_t_s"].as_f64(), Some(at as f64));
    assert_eq!(t["resolution_bytes"], MIB);
    assert_eq!(t["swap_used_peak_bytes"], 608 * MIB);
    assert_eq!(t["gpu_load_peak_percent"], 99);
    // Run without root: loads, no clocks.
    assert_eq!(t["gpu_freq_peak_mhz"], Value::Null);
    assert_eq!(j["samples"], 13);
    assert_eq!(j["duration_s"].as_f64(), Some(12.0), "13 lines, 1 s apart");
    // Never mixed with the meminfo-based figures.
    assert_eq!(j["system"]["used_peak_bytes"], Value::Null);
    assert_eq!(j["system"]["used_tegrastats_peak_bytes"], Value::Null);
    assert_eq!(j["gpu"]["source"], Value::Null);
    assert_eq!(j["architecture"], "unified");
    assert_eq!(j["label"], "nano-and-xaviernx-jp4.6-tegrastats-stress");

    let text = ok_stdout(&jetmem(["report".as_ref(), trace.as_os_str()]));
    assert!(text.contains("Imported from tegrastats (its own \"used\", 1.0 MiB resolution"));
    assert!(
        text.contains("RAM used peak: 6.62 GiB of 7.59 GiB (87 %)"),
        "{text}"
    );

    // Compared and plotted like any other trace, named as tegrastats' figure.
    let table = ok_stdout(&jetmem([
        "report".as_ref(),
        trace.as_os_str(),
        trace.as_os_str(),
    ]));
    assert_eq!(table.matches("6.62 GiB (tegrastats)").count(), 2, "{table}");
    let svg = dir.join("stress.svg");
    ok_stdout(&jetmem([
        "plot".as_ref(),
        trace.as_os_str(),
        "-o".as_ref(),
        svg.as_os_str(),
    ]));
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("tegrastats RAM used (its definition, imported)"));
}

#[test]
fn stamped_lines_import_and_export_names_the_source() {
    let dir = scratch("import-stamped");
    let trace = dir.join("orin.jetmem");
    let out = import(&[
        log("orin-agx-64gb-2025.txt").as_os_str(),
        "-o".as_ref(),
        trace.as_os_str(),
        "--mem-total".as_ref(),
        "62801MiB".as_ref(),
        "--label".as_ref(),
        "agx".as_ref(),
    ]);
    assert!(ok_stdout(&out).contains("times from the lines' own stamps"));
    let j = report_json(&trace);
    assert_eq!(j["label"], "agx");
    // "04-11-2025 10:36:27 RAM 4321/62801MB (lfb 1759x4MB) SWAP 19/31400MB (cached 0MB)".
    let t = &j["tegrastats"];
    assert_eq!(t["ram_used_peak_bytes"], 4321 * MIB);
    assert_eq!(t["ram_total_bytes"], 62801 * MIB);
    assert_eq!(t["lfb_min_bytes"], 4 * MIB);
    assert_eq!(t["lfb_min_blocks"], 1759);
    assert_eq!(t["swap_total_bytes"], 31400 * MIB);
    assert_eq!(t["emc_load_peak_percent"], 0);
    assert_eq!(j["system"]["total_bytes"], 62801 * MIB, "--mem-total");

    let csv = ok_stdout(&jetmem([
        "export".as_ref(),
        trace.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]));
    let mut rows = csv.lines();
    let head: Vec<&str> = rows.next().unwrap().split(',').collect();
    let row: Vec<&str> = rows.next().unwrap().split(',').collect();
    let col = |k: &str| row[head.iter().position(|h| *h == k).unwrap()];
    assert_eq!(col("tegrastats_ram_used_bytes"), (4321 * MIB).to_string());
    assert_eq!(col("tegrastats_swap_used_bytes"), (19 * MIB).to_string());
    assert_eq!(col("system_used_bytes"), "");

    // The stamp 04-11-2025 10:36:27, read as UTC, is the trace's start (1744367787 s);
    // --start overrides it.
    let start_of = |trace: &Path| {
        let j: Value = serde_json::from_str(&ok_stdout(&jetmem([
            "export".as_ref(),
            trace.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ])))
        .unwrap();
        j["header"]["start_unix_s"].as_f64().unwrap()
    };
    assert_eq!(start_of(&trace), 1_744_367_787.0);
    for (start, want) in [
        ("2025-04-11T12:36:27+02:00", 1_744_367_787.0),
        ("2025-04-11 11:00:00", 1_744_369_200.0),
    ] {
        let shifted = dir.join("shifted.jetmem");
        ok_stdout(&import(&[
            log("orin-agx-64gb-2025.txt").as_os_str(),
            "-o".as_ref(),
            shifted.as_os_str(),
            "--force".as_ref(),
            "--start".as_ref(),
            start.as_ref(),
        ]));
        assert_eq!(start_of(&shifted), want, "--start {start}");
    }
}

#[test]
fn interval_spaces_unstamped_lines() {
    let dir = scratch("import-interval");
    let trace = dir.join("tx2.jetmem");
    let out = import(&[
        log("tx2-2018-root.txt").as_os_str(),
        "-o".as_ref(),
        trace.as_os_str(),
        "--interval".as_ref(),
        "250ms".as_ref(),
    ]);
    assert!(ok_stdout(&out).contains("spaced by --interval"));
    let j = report_json(&trace);
    assert_eq!(j["samples"], 3);
    assert_eq!(j["duration_s"].as_f64(), Some(0.5));
    // EMC_FREQ 0%@1866, 16%@102, 16%@102: the peak load.
    assert_eq!(j["tegrastats"]["emc_load_peak_percent"], 16);
    assert_eq!(j["tegrastats"]["gpu_freq_peak_mhz"], 140);
}

#[test]
fn a_file_that_is_not_tegrastats_is_an_error_and_leaves_nothing() {
    let dir = scratch("import-bad");
    let trace = dir.join("bad.jetmem");
    let meminfo = fixture("nano-4gb-jp4.6-meminfo/proc/meminfo");
    let out = import(&[meminfo.as_os_str(), "-o".as_ref(), trace.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("meminfo: not tegrastats output"), "{err}");
    assert!(err.contains("(line 1: missing field `RAM`)"), "{err}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no trace, no partial file"
    );

    // An existing trace is kept unless --force.
    std::fs::write(&trace, b"keep").unwrap();
    let out = import(&[
        log("nano-jp4-root.txt").as_os_str(),
        "-o".as_ref(),
        trace.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&trace).unwrap(), b"keep");
    let out = import(&[
        log("nano-jp4-root.txt").as_os_str(),
        "-o".as_ref(),
        trace.as_os_str(),
        "--force".as_ref(),
    ]);
    ok_stdout(&out);
    assert_eq!(
        report_json(&trace)["tegrastats"]["ram_used_peak_bytes"],
        717 * MIB
    );

    let out = import(&[
        log("nano-jp4-root.txt").as_os_str(),
        "--mem-total".as_ref(),
        "lots".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`lots` is not a size"));
}

/// The captured Orin Nano pair (tests/fixtures/orin-nano-jp6-meminfo-tegrastats-pair): the
/// imported tegrastats "used" is within a few MiB of MemTotal − MemFree − Buffers − Cached of the
/// meminfo read a second earlier, and far from MemTotal − MemAvailable.
#[test]
fn imported_used_tracks_the_tegrastats_definition_on_a_captured_pair() {
    let dir = scratch("import-pair");
    let pair = fixture("orin-nano-jp6-meminfo-tegrastats-pair");
    let trace = dir.join("pair.jetmem");
    ok_stdout(&import(&[
        pair.join("tegrastats.txt").as_os_str(),
        "-o".as_ref(),
        trace.as_os_str(),
    ]));
    let t = &report_json(&trace)["tegrastats"];
    let imported = t["ram_used_peak_bytes"].as_u64().unwrap();
    assert_eq!(imported, 1273 * MIB);
    assert_eq!(t["ram_total_bytes"], 7620 * MIB);
    let m = crate::traces::meminfo(&pair.join("proc/meminfo"));
    let g = |k| crate::traces::get(&m, k);
    let tfbc = g("MemTotal") - g("MemFree") - g("Buffers") - g("Cached");
    let ours = g("MemTotal") - g("MemAvailable");
    assert!(tfbc.abs_diff(imported) < 4 * MIB, "{tfbc} vs {imported}");
    assert!(ours - imported > 240 * MIB, "{ours} vs {imported}");
}
