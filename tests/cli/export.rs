//! `jetmem export` and `jetmem plot`.

use serde_json::Value;

use crate::traces::{self, N, get, nano_meminfo};
use crate::{jetmem, ok_stdout};

#[test]
fn csv_has_every_sample_with_units_in_column_names() {
    let t = traces::traces("export-csv");
    let out = ok_stdout(&jetmem([
        "export".as_ref(),
        t.unified.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]));
    let mut lines = out.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(head[0], "t_s");
    assert_eq!(*head.last().unwrap(), "phase");
    for col in &head[1..head.len() - 1] {
        assert!(
            col.ends_with("_bytes") || col.ends_with("_permille") || *col == "tree_processes",
            "column without unit: {col}"
        );
    }
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len() as u64, N);
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let m = nano_meminfo();
    // Sample 0 is the captured meminfo itself.
    assert_eq!(
        rows[0][col("mem_total_bytes")],
        get(&m, "MemTotal").to_string()
    );
    assert_eq!(
        rows[0][col("nvmap_mem_used_bytes")],
        get(&m, "NvMapMemUsed").to_string()
    );
    assert_eq!(
        rows[0][col("system_used_bytes")],
        (get(&m, "MemTotal") - get(&m, "MemAvailable")).to_string()
    );
    assert_eq!(
        rows[0][col("vram_used_bytes")],
        "",
        "no VRAM on unified memory"
    );
    assert_eq!(rows[15][col("phase")], "load");
    assert_eq!(rows[50][col("phase")], "infer");
    assert_eq!(rows[90][col("phase")], "");
    assert_eq!(rows[50][col("t_s")], "0.500");
}

#[test]
fn perfetto_has_counter_tracks_and_phase_slices() {
    let t = traces::traces("export-perfetto");
    let out = ok_stdout(&jetmem([
        "export".as_ref(),
        t.unified.as_os_str(),
        "--format".as_ref(),
        "perfetto".as_ref(),
    ]));
    let j: Value = serde_json::from_str(&out).unwrap();
    let ev = j["traceEvents"].as_array().unwrap();
    let counters = ev
        .iter()
        .filter(|e| e["ph"] == "C" && e["name"] == "system used (MiB)")
        .count();
    assert_eq!(counters as u64, N);
    let slices: Vec<(&str, f64, f64)> = ev
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["ts"].as_f64().unwrap(),
                e["dur"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        slices,
        [
            ("load", 100_000.0, 200_000.0),
            ("infer", 300_000.0, 500_000.0)
        ]
    );
    assert!(
        ev.iter()
            .any(|e| e["ph"] == "M" && e["args"]["name"] == "jetmem: nano-resnet50")
    );
}

#[test]
fn json_export_and_output_file_not_overwritten() {
    let t = traces::traces("export-json");
    let dest = t.dir.join("out.json");
    let args = |force: bool| {
        let mut a = vec![
            "export".into(),
            t.cpu.clone().into_os_string(),
            "--format".into(),
            "json".into(),
            "-o".into(),
            dest.clone().into_os_string(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    ok_stdout(&jetmem(args(false)));
    let j: Value = serde_json::from_str(&std::fs::read_to_string(&dest).unwrap()).unwrap();
    assert_eq!(j["samples"].as_array().unwrap().len() as u64, N);
    assert_eq!(j["header"]["architecture"], "cpu-only");
    let again = jetmem(args(false));
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("out.json") && err.contains("already exists"),
        "{err}"
    );
    ok_stdout(&jetmem(args(true)));
}

#[test]
fn plot_writes_an_svg_with_gpu_inside_system_memory() {
    let t = traces::traces("plot");
    let svg_path = t.dir.join("nano.svg");
    ok_stdout(&jetmem([
        "plot".as_ref(),
        t.unified.as_os_str(),
        "-o".as_ref(),
        svg_path.as_os_str(),
    ]));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    for label in [
        "system used (all DRAM)",
        "GPU (subset of system)",
        "pressure threshold (20 % available)",
        "process tree RSS",
    ] {
        assert!(svg.contains(label), "legend {label} missing");
    }
    let many = t.dir.join("all.svg");
    ok_stdout(&jetmem([
        "plot".as_ref(),
        t.unified.as_os_str(),
        t.discrete.as_os_str(),
        t.cpu.as_os_str(),
        "-o".as_ref(),
        many.as_os_str(),
    ]));
    let svg = std::fs::read_to_string(&many).unwrap();
    for label in [
        "nano-resnet50 (unified)",
        "rtx4090-train (discrete)",
        "laptop-cpu (cpu-only)",
    ] {
        assert!(svg.contains(label), "legend {label} missing");
    }
}

/// Export JSON names event kinds as the report does (`docs/report-json.md`):
/// kebab-case, no longer the Rust variant name ("PressureEntered").
#[test]
fn json_export_event_kinds_match_the_report() {
    let t = traces::traces("export-json-events");
    let json_of = |cmd: &str| -> Value {
        let args = [
            cmd.as_ref(),
            t.unified.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ];
        serde_json::from_str(&ok_stdout(&jetmem(args))).unwrap()
    };
    let kinds = |events: &Value| -> Vec<Value> {
        let events = events.as_array().unwrap();
        events.iter().map(|e| e["kind"].clone()).collect()
    };
    let exported = kinds(&json_of("export")["events"]);
    assert_eq!(exported.first(), Some(&Value::from("pressure-entered")));
    assert_eq!(exported, kinds(&json_of("report")["pressure_events"]));
}

/// `plot -o run.png` used to write SVG under the PNG name; any name but
/// `.svg` or `.png` is now refused before anything is written.
#[test]
fn plot_refuses_a_name_that_is_not_svg() {
    let t = traces::traces("plot-ext");
    for name in ["run.jpg", "run", "run.pdf"] {
        let out = t.dir.join(name);
        let o = jetmem([
            "plot".as_ref(),
            t.unified.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.starts_with("jetmem: error: ") && err.contains("plot writes SVG or PNG"),
            "{err}"
        );
        assert!(!out.exists(), "{name} was written");
    }
}

/// Two writers (pids 501 and 502) with interleaved phases of one label: each
/// End closes its own writer's phase, as the report pairs them, and each
/// writer's slices are on its own track, named after the process.
#[test]
fn phases_of_two_writers_with_one_label_pair_per_writer() {
    use jetmem_core::record::{Mark, MarkKind, ProcessChange, ProcessEvent, Record};
    use jetmem_core::text::truncated;
    let dir = traces::scratch("export-two-writers");
    let path = dir.join("two.jetmem");
    let mark = |t_ms: u64, kind: MarkKind, pid: u32| {
        Record::Mark(Mark {
            t_ns: t_ms * 1_000_000,
            kind,
            label: truncated("batch"),
            pid: Some(pid),
        })
    };
    let mut records = vec![Record::Process(ProcessEvent {
        t_ns: 0,
        pid: 501,
        ppid: 4242,
        change: ProcessChange::Joined,
        name: truncated("worker-a"),
    })];
    for i in 0..N {
        let t_ms = i * traces::DT_NS / 1_000_000;
        match t_ms {
            100 => records.push(mark(t_ms, MarkKind::Begin, 501)),
            200 => records.push(mark(t_ms, MarkKind::Begin, 502)),
            300 => records.push(mark(t_ms, MarkKind::End, 501)),
            500 => records.push(mark(t_ms, MarkKind::End, 502)),
            _ => {}
        }
        records.push(Record::Sample(traces::unified_sample(i)));
    }
    traces::write_trace(&path, &traces::unified_header(), &records);
    let out = ok_stdout(&jetmem([
        "export".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "perfetto".as_ref(),
    ]));
    let j: Value = serde_json::from_str(&out).unwrap();
    let ev = j["traceEvents"].as_array().unwrap();
    let mut slices: Vec<(u64, f64, f64)> = ev
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["ts"].as_f64().unwrap(),
                e["dur"].as_f64().unwrap(),
            )
        })
        .collect();
    slices.sort_by_key(|s| s.0);
    // 501: 100–300 ms; 502: 200–500 ms (label-only pairing gave 200–300 and 100–500).
    assert_eq!(
        slices,
        [(501, 100_000.0, 200_000.0), (502, 200_000.0, 300_000.0)]
    );
    let track = |tid: u64| {
        ev.iter()
            .find(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["tid"] == tid)
            .map(|e| e["args"]["name"].as_str().unwrap().to_owned())
    };
    assert_eq!(track(501).as_deref(), Some("phases: worker-a (pid 501)"));
    assert_eq!(track(502).as_deref(), Some("phases: pid 502"));
    // The report pairs them the same way.
    let rep: Value = serde_json::from_str(&ok_stdout(&jetmem([
        "report".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])))
    .unwrap();
    let mut durations: Vec<(f64, f64)> = rep["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["start_s"].as_f64().unwrap(),
                p["duration_s"].as_f64().unwrap(),
            )
        })
        .collect();
    durations.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(durations, [(0.1, 0.2), (0.2, 0.3)]);
    assert_eq!(
        rep["phase_summary"][0]["pids"],
        serde_json::json!([501, 502])
    );
}
