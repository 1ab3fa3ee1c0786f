//! `jetmem report`: values computed from the fixture-based traces, JSON keys, snapshots.

use serde_json::Value;

use crate::traces::{self, MIB, N, UNIFIED, get, nano_meminfo, scaled};
use crate::{jetmem, jetmem_command, ok_stdout, report_json};

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn unified_report_splits_system_memory_into_gpu_and_the_rest() {
    let t = traces::traces("report-unified");
    let j = report_json(&t.unified);
    let m = nano_meminfo();
    let total = get(&m, "MemTotal");
    let used_peak = total - (get(&m, "MemAvailable") - UNIFIED.avail_drop);
    let gpu_peak = get(&m, "NvMapMemUsed") + UNIFIED.nvmap_growth;
    assert_eq!(j["architecture"], "unified");
    assert_eq!(u(&j["system"]["total_bytes"]), total);
    assert_eq!(u(&j["system"]["used_peak_bytes"]), used_peak);
    assert_eq!(j["system"]["used_definition"], "MemTotal - MemAvailable");
    // tegrastats/jtop "used" beside ours: the workload moves drop/2 out of MemFree and
    // drop/2 out of Cached, so T − F − B − C rises by the whole drop. On the Nano capture
    // T − F − B − C = 3 324 672 KiB (docs/accounting.md §2).
    let tfbc = total - get(&m, "MemFree") - get(&m, "Buffers") - get(&m, "Cached");
    assert_eq!(tfbc, 3_324_672 * 1024);
    assert_eq!(
        u(&j["system"]["used_tegrastats_peak_bytes"]),
        tfbc + UNIFIED.avail_drop
    );
    assert_eq!(
        j["system"]["used_tegrastats_definition"],
        "MemTotal - MemFree - Buffers - Cached"
    );
    assert_eq!(
        u(&j["system"]["available_min_bytes"]),
        get(&m, "MemAvailable") - UNIFIED.avail_drop
    );
    assert_eq!(
        u(&j["system"]["swap_used_peak_bytes"]),
        get(&m, "SwapTotal") - get(&m, "SwapFree")
    );
    assert_eq!(j["system"]["swap_is_zram"], true);
    assert_eq!(u(&j["gpu"]["used_peak_bytes"]), gpu_peak);
    assert_eq!(j["gpu"]["source"], "meminfo-nvmap");
    assert_eq!(j["gpu"]["reason"], Value::Null);
    // The GPU is a subset: at the system peak, GPU + CPU/OS = system used, never more.
    assert_eq!(
        u(&j["gpu"]["used_at_system_peak_bytes"]) + u(&j["gpu"]["cpu_os_at_system_peak_bytes"]),
        used_peak
    );
    assert_eq!(u(&j["total_peak_bytes"]), used_peak);
    assert_eq!(u(&j["process"]["rss_peak_bytes"]), UNIFIED.rss_max);
    assert_eq!(u(&j["process"]["processes_peak"]), 3);
    assert_eq!(u(&j["process"]["pinned_peak_bytes"]), UNIFIED.pinned);
    let alloc_peak = (0..N)
        .filter(|i| i % 10 == 5)
        .map(|i| scaled(200 * MIB, i))
        .max();
    assert_eq!(j["cuda"]["alloc_peak_bytes"].as_u64(), alloc_peak);
    assert_eq!(
        j["cuda"]["reserved_peak_bytes"].as_u64(),
        alloc_peak.map(|a| a + 64 * MIB)
    );
    assert_eq!(u(&j["samples"]), N);
    assert_eq!(j["duration_s"].as_f64(), Some(1.0));
    assert_eq!(u(&j["dropped"]), 0);
    assert_eq!(u(&j["skipped_bytes"]), 0);
    assert_eq!(j["platform"]["l4t"], "32.7.1");
    assert_eq!(j["platform"]["jetpack"], "4.6.1");
    assert_eq!(j["platform"]["soc"], "tegra210");
    assert_eq!(j["platform"]["model"], "NVIDIA Jetson Nano Developer Kit");
    // Budget: 80 % of MemTotal, exceeded by this workload.
    let budget = total / 5 * 4;
    assert_eq!(u(&j["headroom"]["budget_bytes"]), budget);
    assert_eq!(
        j["headroom"]["min_bytes"].as_i64(),
        Some(budget as i64 - used_peak as i64)
    );
    assert_eq!(j["headroom"]["exceeded"], true);
    let events = j["pressure_events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "pressure-entered");
    assert_eq!(u(&events[0]["threshold_bytes"]), total / 5);
    let phases = j["phases"].as_array().unwrap();
    let names: Vec<&str> = phases
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["load", "infer"]);
    assert_eq!(phases[0]["duration_s"].as_f64(), Some(0.2));
    assert_eq!(phases[1]["duration_s"].as_f64(), Some(0.5));
    // `infer` (samples 30..80) contains the peak at sample 50; `load` ends before sample 30
    // (its End mark is written ahead of that sample), so it peaks at sample 29.
    assert_eq!(u(&phases[1]["system_used_peak_bytes"]), used_peak);
    assert_eq!(
        u(&phases[0]["gpu_used_peak_bytes"]),
        get(&m, "NvMapMemUsed") + scaled(UNIFIED.nvmap_growth, 29)
    );
    let codes: Vec<&str> = j["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    for want in [
        "pinned-on-unified",
        "worker-processes",
        "cuda-free-is-memfree",
        "headroom-exceeded",
        "zram-swap",
    ] {
        assert!(
            codes.contains(&want),
            "advice {want} missing from {codes:?}"
        );
    }
    assert!(!codes.contains(&"damaged-trace"));
    // Per-process peaks from the slow path: the root, then the two workers (at sample 50).
    let top = j["process"]["top"].as_array().unwrap();
    let worker_peak = (UNIFIED.rss_max - 20 * MIB) / 5 / 4096 * 4096;
    assert_eq!(top.len(), 3);
    assert_eq!(top[0]["pid"], 4242);
    assert_eq!(top[0]["root"], true);
    assert_eq!(
        u(&top[0]["rss_peak_bytes"]),
        UNIFIED.rss_max - 2 * worker_peak
    );
    assert_eq!(top[1]["name"], "pt_data_worker");
    assert_eq!(u(&top[1]["rss_peak_bytes"]), worker_peak);
    let worker_advice = j["advice"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "worker-processes")
        .unwrap();
    assert!(
        worker_advice["message"]
            .as_str()
            .unwrap()
            .contains("pt_data_worker (pid 4301) 46.0 MiB"),
        "{worker_advice}"
    );
}

#[test]
fn contract_keys_are_present() {
    let t = traces::traces("report-keys");
    for path in [&t.unified, &t.discrete, &t.cpu, &t.damaged] {
        let j = report_json(path);
        for key in [
            "format_version",
            "label",
            "architecture",
            "platform",
            "duration_s",
            "samples",
            "dropped",
            "skipped_bytes",
            "system",
            "gpu",
            "cuda",
            "process",
            "total_peak_bytes",
            "pressure_events",
            "phases",
            "advice",
        ] {
            assert!(
                j.get(key).is_some(),
                "{}: key {key} missing",
                path.display()
            );
        }
        for key in ["model", "soc", "l4t", "jetpack", "cuda_device"] {
            assert!(j["platform"].get(key).is_some(), "platform.{key} missing");
        }
        for key in [
            "total_bytes",
            "used_peak_bytes",
            "used_definition",
            "available_min_bytes",
            "swap_used_peak_bytes",
        ] {
            assert!(j["system"].get(key).is_some(), "system.{key} missing");
        }
        for key in ["used_peak_bytes", "source", "reason"] {
            assert!(j["gpu"].get(key).is_some(), "gpu.{key} missing");
        }
        // `cuda` is null when the trace has no CUDA figure; else it has every key.
        if j["cuda"].is_null() {
            assert!(
                j["architecture"].as_str() != Some("discrete"),
                "{}: a discrete trace has CUDA figures",
                path.display()
            );
        } else {
            for key in [
                "alloc_peak_bytes",
                "reserved_peak_bytes",
                "device_used_peak_bytes",
            ] {
                assert!(j["cuda"].get(key).is_some(), "cuda.{key} missing");
            }
        }
        for key in ["rss_peak_bytes", "processes_peak", "pinned_peak_bytes"] {
            assert!(j["process"].get(key).is_some(), "process.{key} missing");
        }
        assert_eq!(j["format_version"], 1);
    }
}

#[test]
fn discrete_total_is_vram_plus_ram() {
    let t = traces::traces("report-discrete");
    let j = report_json(&t.discrete);
    let ram_peak = traces::DISCRETE_RAM_BASE + traces::DISCRETE_RAM_GROWTH;
    let vram_peak = traces::DISCRETE_VRAM_BASE + traces::DISCRETE_VRAM_GROWTH;
    assert_eq!(j["architecture"], "discrete");
    assert_eq!(u(&j["system"]["used_peak_bytes"]), ram_peak);
    assert_eq!(u(&j["gpu"]["used_peak_bytes"]), vram_peak);
    assert_eq!(j["gpu"]["source"], "cuda");
    assert_eq!(u(&j["total_peak_bytes"]), ram_peak + vram_peak);
    assert_eq!(
        u(&j["total_peak"]["ram_bytes"]) + u(&j["total_peak"]["vram_bytes"]),
        ram_peak + vram_peak
    );
    assert_eq!(u(&j["cuda"]["device_used_peak_bytes"]), vram_peak);
    assert_eq!(j["platform"]["cuda_device"], "NVIDIA GeForce RTX 4090");
    assert_eq!(j["platform"]["l4t"], Value::Null);
    let text = ok_stdout(&jetmem(["report".as_ref(), t.discrete.as_os_str()]));
    assert!(
        text.contains("Total peak: 26.00 GiB = VRAM 17.00 GiB + RAM 9.00 GiB"),
        "{text}"
    );
}

#[test]
fn unified_without_root_says_the_gpu_share_is_unknown_and_why() {
    let t = traces::traces("report-orin");
    let j = report_json(&traces::orin_nonroot(&t.dir));
    let m = traces::meminfo(&traces::fixture(
        "orin-jp5-jp6-meminfo-RECONSTRUCTED/proc/meminfo",
    ));
    assert_eq!(j["architecture"], "unified");
    assert_eq!(j["gpu"]["used_peak_bytes"], Value::Null);
    assert_eq!(j["gpu"]["source"], Value::Null);
    assert_eq!(j["gpu"]["reason"], "needs root: /sys/kernel/debug/nvmap");
    assert_eq!(j["gpu"]["cpu_os_at_system_peak_bytes"], Value::Null);
    assert_eq!(
        u(&j["system"]["used_peak_bytes"]),
        get(&m, "MemTotal") - get(&m, "MemAvailable") + 1024 * MIB
    );
    assert_eq!(j["platform"]["l4t"], "36.4.7");
    assert_eq!(j["platform"]["jetpack"], "6.2.1");
}

#[test]
fn cpu_only_has_no_gpu_and_says_why() {
    let t = traces::traces("report-cpu");
    let j = report_json(&t.cpu);
    assert_eq!(j["architecture"], "cpu-only");
    assert_eq!(j["gpu"]["used_peak_bytes"], Value::Null);
    assert_eq!(j["gpu"]["source"], Value::Null);
    assert_eq!(j["gpu"]["reason"], "no CUDA driver");
    assert_eq!(u(&j["system"]["used_peak_bytes"]), 5 * 1024 * MIB);
}

#[test]
fn damaged_trace_reports_what_decodes_and_how_much_was_skipped() {
    let t = traces::traces("report-damaged");
    let j = report_json(&t.damaged);
    // Frame k ≥ 1 carries records [(k-1)*32, k*32); frame 2 is flipped, the last one cut.
    let records = traces::unified_records(false);
    let chunks: Vec<_> = records.chunks(32).collect();
    let samples_in = |c: &[jetmem_core::record::Record]| {
        c.iter()
            .filter(|r| matches!(r, jetmem_core::record::Record::Sample(_)))
            .count() as u64
    };
    let lost = samples_in(chunks[1]) + samples_in(chunks[chunks.len() - 1]);
    assert_eq!(u(&j["samples"]), N - lost);
    let frames = traces::frame_offsets(&t.damaged_bytes);
    let frame2_len = frames[3] - frames[2];
    let tail_len = t.damaged_bytes.len() - frames[frames.len() - 1];
    assert_eq!(u(&j["skipped_bytes"]), (frame2_len + tail_len) as u64);
    assert_eq!(u(&j["damage"]["truncated_tail_bytes"]), tail_len as u64);
    assert_eq!(j["damage"]["clean_end"], false);
    let codes: Vec<&str> = j["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"damaged-trace"));
    let text = ok_stdout(&jetmem(["report".as_ref(), t.damaged.as_os_str()]));
    assert!(
        text.contains(&format!("Damage: {} bytes skipped", frame2_len + tail_len)),
        "{text}"
    );
}

#[test]
fn several_traces_give_a_comparison_table() {
    let t = traces::traces("report-compare");
    let args = |fmt: &str| {
        vec![
            "report".into(),
            t.unified.clone().into_os_string(),
            t.discrete.clone().into_os_string(),
            t.cpu.clone().into_os_string(),
            "--format".into(),
            fmt.into(),
        ]
    };
    let csv = ok_stdout(&jetmem(args("csv")));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("label,architecture,system_total_bytes,system_used_peak_bytes"));
    assert!(lines[1].starts_with("nano-resnet50,unified,"));
    assert!(lines[2].starts_with("rtx4090-train,discrete,"));
    assert!(lines[3].starts_with("laptop-cpu,cpu-only,"));
    let j: Value = serde_json::from_str(&ok_stdout(&jetmem(args("json")))).unwrap();
    assert_eq!(j["traces"].as_array().unwrap().len(), 3);
    assert_eq!(j["traces"][1]["architecture"], "discrete");
    // CSV sizes are the JSON's exact bytes.
    for (i, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let tr = &j["traces"][i];
        assert_eq!(
            cells[3],
            tr["system"]["used_peak_bytes"].to_string(),
            "{line}"
        );
        assert_eq!(
            cells[8],
            tr["process"]["rss_peak_bytes"].to_string(),
            "{line}"
        );
    }
    insta::assert_snapshot!("compare_text", ok_stdout(&jetmem(args("text"))));
    insta::assert_snapshot!("compare_markdown", ok_stdout(&jetmem(args("markdown"))));
    insta::assert_snapshot!("compare_csv", csv);
}

/// `--phases all` adds every occurrence after the summary; with several
/// traces, `--phases` gives one summary table per trace that has phases.
#[test]
fn phases_all_and_one_summary_per_trace() {
    let t = traces::traces("report-phases-all");
    let report = |args: &[&std::ffi::OsStr]| ok_stdout(&jetmem(args.iter().copied()));
    let one = report(&[
        "report".as_ref(),
        "--phases".as_ref(),
        t.unified.as_os_str(),
    ]);
    assert!(one.contains("Phase summary:\n"), "{one}");
    assert!(
        !one.contains("Phases:\n"),
        "the occurrences only with `all`: {one}"
    );
    let all = report(&[
        "report".as_ref(),
        "--phases".as_ref(),
        "all".as_ref(),
        t.unified.as_os_str(),
    ]);
    let occurrences = all.split("Phases:\n").nth(1).expect("an occurrence table");
    // The unified trace's phases: load 0.1–0.3 s, infer 0.3–0.8 s.
    assert!(
        occurrences
            .lines()
            .any(|l| l.trim_start().starts_with("load ") && l.contains("0.100"))
    );
    assert!(
        occurrences
            .lines()
            .any(|l| l.trim_start().starts_with("infer ") && l.contains("0.500"))
    );
    let two = report(&[
        "report".as_ref(),
        "--phases".as_ref(),
        t.unified.as_os_str(),
        t.cpu.as_os_str(),
        t.unified.as_os_str(),
    ]);
    assert_eq!(two.matches("Phase summary: ").count(), 2, "{two}");
}

#[test]
fn snapshots_of_single_reports() {
    let t = traces::traces("report-snapshots");
    let run = |path: &std::path::Path, extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec!["report".into(), path.as_os_str().into()];
        args.extend(extra.iter().map(Into::into));
        ok_stdout(&jetmem(args))
    };
    insta::assert_snapshot!("unified_text", run(&t.unified, &["--phases"]));
    insta::assert_snapshot!(
        "unified_phases_all_markdown",
        run(&t.unified, &["--format", "markdown", "--phases", "all"])
    );
    insta::assert_snapshot!(
        "unified_markdown",
        run(&t.unified, &["--format", "markdown"])
    );
    insta::assert_snapshot!("unified_csv", run(&t.unified, &["--format", "csv"]));
    insta::assert_snapshot!("discrete_text", run(&t.discrete, &[]));
    insta::assert_snapshot!("cpu_text", run(&t.cpu, &[]));
    insta::assert_snapshot!("damaged_text", run(&t.damaged, &[]));
    let orin = traces::orin_nonroot(&t.dir);
    insta::assert_snapshot!("orin_nonroot_text", run(&orin, &[]));
}

/// Every key path of a value (`gpu.source`, `phases[].label`), sorted and unique.
fn key_paths(v: &Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(path.clone());
                key_paths(child, &path, out);
            }
        }
        Value::Array(items) => {
            for child in items {
                key_paths(child, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// The JSON keys are a contract (docs/report-json.md): any rename shows up here.
#[test]
fn json_key_paths_are_stable() {
    let t = traces::traces("report-key-paths");
    let mut paths = std::collections::BTreeSet::new();
    key_paths(&report_json(&t.unified), "", &mut paths);
    let listed: Vec<String> = paths.into_iter().collect();
    insta::assert_snapshot!("json_key_paths", listed.join("\n"));
    // Each top-level key is documented.
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/report-json.md"
    ))
    .unwrap();
    for p in &listed {
        let leaf = p.rsplit(['.', ']']).next().unwrap_or(p);
        assert!(
            doc.contains(&format!("`{leaf}"))
                || doc.contains(&format!("{leaf}`"))
                || doc.contains(&format!("\"{leaf}\"")),
            "{p} is not in docs/report-json.md"
        );
    }
}

/// The decoder's skipped frames are reported on stderr by default (the CLI's
/// logger), and `JETMEM_LOG=off` silences them; a clean trace says nothing.
#[test]
fn damaged_trace_warns_on_stderr() {
    let t = traces::traces("report-damaged-warns");
    let out = jetmem(["report".as_ref(), t.damaged.as_os_str()]);
    ok_stdout(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("jetmem: warning:") && err.contains("were skipped"),
        "{err}"
    );
    let quiet = jetmem_command()
        .env("JETMEM_LOG", "off")
        .args(["report".as_ref(), t.damaged.as_os_str()])
        .output()
        .unwrap();
    assert!(quiet.stderr.is_empty(), "{:?}", quiet.stderr);
    let clean = jetmem(["report".as_ref(), t.unified.as_os_str()]);
    assert!(clean.stderr.is_empty(), "{:?}", clean.stderr);
}

/// Deltas against the baseline: each figure of the JSON minus the baseline's,
/// in the unit its column names; `--baseline` chooses the baseline.
#[test]
fn a_comparison_gives_deltas_against_the_baseline() {
    let t = traces::traces("report-deltas");
    let (uni, cpu) = (t.unified.display().to_string(), t.cpu.display().to_string());
    let text = ok_stdout(&jetmem(["report", &uni, &cpu, "--baseline", &cpu]));
    let (ju, jc) = (report_json(&t.unified), report_json(&t.cpu));
    let peak = |j: &Value| u(&j["system"]["used_peak_bytes"]) as i64;
    let d = peak(&ju) - peak(&jc);
    let pct = d as f64 / peak(&jc) as f64 * 100.0;
    // One unit for the column: GiB from 1 GiB on, else MiB.
    let (unit, value) = if d.unsigned_abs() >= 1 << 30 {
        ("GiB", format!("{:+.2}", d as f64 / (1u64 << 30) as f64))
    } else {
        ("MiB", format!("{:+.1}", d as f64 / (1u64 << 20) as f64))
    };
    let want = format!("{value} ({pct:+.1} %)");
    assert!(
        text.contains(&format!("Δ system/RAM peak ({unit})")),
        "{text}"
    );
    assert!(text.contains("Against the baseline: laptop-cpu"), "{text}");
    let row = text
        .lines()
        .skip_while(|l| !l.starts_with("Against"))
        .find(|l| l.starts_with("nano-resnet50"))
        .unwrap();
    assert!(row.contains(&want), "{row} lacks {want}");
    let base = text
        .lines()
        .rev()
        .find(|l| l.starts_with("laptop-cpu"))
        .unwrap();
    assert!(base.contains("baseline"));
    // A --baseline not among the traces is added first.
    let text = ok_stdout(&jetmem(["report", &uni, "--baseline", &cpu]));
    let first = text.lines().nth(1).unwrap();
    assert!(first.starts_with("laptop-cpu"), "{text}");
}

/// The unified trace with a `frame` phase over samples `from..to` (one
/// sample long, every other sample).
fn with_frames(path: &std::path::Path, label: &str, from: u64, to: u64) {
    use jetmem_core::record::{MarkKind, Record};
    let mut h = traces::unified_header();
    h.label.clear();
    h.label.push_str(label).unwrap();
    let mut recs = Vec::new();
    for r in traces::unified_records(true) {
        if let Record::Sample(s) = &r {
            let i = s.t_ns / traces::DT_NS;
            if (from..to).contains(&i) {
                let kind = if (i - from) % 2 == 0 {
                    MarkKind::Begin
                } else {
                    MarkKind::End
                };
                recs.push(traces::mark(s.t_ns, kind, "frame"));
            }
        }
        recs.push(r);
    }
    traces::write_trace(path, &h, &recs);
}

/// Frames/s of the per-frame phase: closed occurrences over the span from
/// the first start to the last end, and its change against the baseline.
#[test]
fn a_comparison_gives_frames_per_second_of_the_per_frame_phase() {
    let dir = traces::scratch("report-frames");
    let (a, b) = (dir.join("a.jetmem"), dir.join("b.jetmem"));
    with_frames(&a, "ten-frames", 40, 60); // 10 frames from 0.40 s to 0.59 s
    with_frames(&b, "five-frames", 40, 50); // 5 frames from 0.40 s to 0.49 s
    let fps = |n: f64, span_dt: f64| (n / (span_dt * 0.01) * 1000.0).round() / 1000.0;
    let (fa, fb) = (fps(10.0, 19.0), fps(5.0, 9.0));
    let text = ok_stdout(&jetmem(["report".as_ref(), a.as_os_str(), b.as_os_str()]));
    let pct = ((fb - fa) / fa * 1000.0).round() / 10.0;
    let row = |l: &str| {
        text.lines()
            .rev()
            .find(|x| x.starts_with(l))
            .unwrap()
            .to_owned()
    };
    assert!(
        row("ten-frames").contains(&format!("{fa:.1} frame (baseline)")),
        "{text}"
    );
    assert!(
        row("five-frames").contains(&format!("{fb:.1} frame ({pct:+.1} %)")),
        "{text}"
    );
    // The HTML page carries the same figures.
    let html = dir.join("frames.html");
    ok_stdout(&jetmem([
        "report".as_ref(),
        "--format".as_ref(),
        "html".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        "-o".as_ref(),
        html.as_os_str(),
    ]));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&format!("\"frames_per_s\":{fa}")), "{fa}");
    assert!(
        page.contains(&format!("\"frames_per_s_percent\":{pct}")),
        "{pct}"
    );
}

/// `--phases` with several traces: one row per label and trace, the p95
/// duration's change against the baseline's same label, a count of 0 where
/// a trace lacks the label.
#[test]
fn phases_across_traces_compare_each_label() {
    let dir = traces::scratch("report-phases-across");
    let (a, b) = (dir.join("a.jetmem"), dir.join("b.jetmem"));
    with_frames(&a, "ten-frames", 40, 60);
    let plain = dir.join("plain.jetmem");
    traces::write_trace(
        &plain,
        &traces::unified_header(),
        &traces::unified_records(true),
    );
    with_frames(&b, "five-frames", 40, 50);
    let text = ok_stdout(&jetmem([
        "report".as_ref(),
        "--phases".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        plain.as_os_str(),
    ]));
    let across = text
        .split("Phases across traces (Δ against ten-frames)\n")
        .nth(1)
        .expect("the across table");
    let row = |phase: &str, trace: &str| -> Vec<String> {
        across
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .find(|c| c.len() > 2 && c[0] == phase && c[1] == trace)
            .unwrap_or_else(|| panic!("no {phase} {trace} row in {across}"))
    };
    // Every frame is one sample (0.010 s) long in both traces.
    assert_eq!(
        row("frame", "ten-frames")[2..5],
        ["10", "0.010", "baseline"]
    );
    assert_eq!(
        row("frame", "five-frames")[2..6],
        ["5", "0.010", "+0.0", "%"]
    );
    assert_eq!(row("frame", "nano-resnet50")[2..4], ["0", "-"]);
    // load is 0.1–0.3 s in every trace.
    assert_eq!(
        row("load", "nano-resnet50")[2..6],
        ["1", "0.200", "+0.0", "%"]
    );
}

/// `--units` prints every size in the unit asked for: decimal MB for people
/// comparing with MB-based tools, exact bytes, or a fixed binary unit.
#[test]
fn units_flag_prints_every_size_in_one_unit() {
    let t = traces::traces("report-units");
    let j = report_json(&t.unified);
    let peak = u(&j["system"]["used_peak_bytes"]);
    let total = u(&j["system"]["total_bytes"]);
    let text = |unit: &str| {
        ok_stdout(&jetmem([
            "report".as_ref(),
            t.unified.as_os_str(),
            "--units".as_ref(),
            unit.as_ref(),
        ]))
    };
    let line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("System memory peak"))
            .unwrap()
            .to_owned()
    };
    let mb = text("mb");
    assert!(
        line(&mb).contains(&format!(
            "{:.1} MB of {:.1} MB",
            peak as f64 / 1e6,
            total as f64 / 1e6
        )),
        "{mb}"
    );
    assert!(!mb.contains("MiB") && !mb.contains("GiB"), "{mb}");
    let b = text("bytes");
    assert!(line(&b).contains(&format!("{peak} B of {total} B")), "{b}");
    let mib = text("mib");
    assert!(
        line(&mib).contains(&format!("{:.1} MiB", peak as f64 / 1048576.0)),
        "{mib}"
    );
    assert!(!mib.contains("GiB"), "{mib}");
}
