//! What `jetmem record` reports about itself and about awkward process trees:
//! the `tracer` section, per-process peaks of short and exec'ing processes,
//! and descendants that daemonize.

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use serde_json::Value;

use crate::report_json;
use crate::traces::scratch;

fn record_cmd(out: &std::path::Path, extra: &[&str], cmd: &[&str]) -> Command {
    let mut c = crate::jetmem_command();
    c.env("NO_COLOR", "1")
        .arg("record")
        .arg("-o")
        .arg(out)
        .args(["--no-report", "--no-cuda"])
        .args(extra)
        .arg("--")
        .args(cmd);
    c
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// A recorder stopped with SIGSTOP for 0.8 s leaves a gap, and the deadlines it
/// slept through are counted as missed, not hidden.
#[test]
fn a_stopped_recorder_reports_the_gap_and_the_missed_deadlines() {
    let dir = scratch("tracer-sigstop");
    let trace = dir.join("stopped.jetmem");
    let mut rec = record_cmd(&trace, &["-i", "10ms"], &["sleep", "2"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    sleep(Duration::from_millis(500));
    let pid = rec.id().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    sleep(Duration::from_millis(800));
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    assert!(rec.wait().unwrap().success());

    let j = report_json(&trace);
    let t = &j["tracer"];
    assert_eq!(t["interval_s"], 0.01);
    let (scheduled, taken, missed) = (
        u(&t["samples_scheduled"]),
        u(&t["samples_taken"]),
        u(&t["deadlines_missed"]),
    );
    assert_eq!(scheduled, taken + missed, "{t}");
    // Nothing was lost on the ring: every sample taken is in the trace.
    assert_eq!(taken, u(&j["samples"]), "{t}");
    // 0.8 s at 10 ms is 80 deadlines; the stop and the wake-up blur the edges.
    assert!((70..=200).contains(&missed), "{t}");
    let gaps = t["gaps"].as_array().unwrap();
    let long: Vec<&Value> = gaps
        .iter()
        .filter(|g| g["length_s"].as_f64().unwrap() >= 0.7)
        .collect();
    assert_eq!(long.len(), 1, "{t}");
    let at = long[0]["t_s"].as_f64().unwrap();
    assert!((0.2..=1.2).contains(&at), "gap at {at} s: {t}");
    // Scheduled samples cover the trace's duration, one per interval.
    let dur = j["duration_s"].as_f64().unwrap();
    let expected = dur / 0.01;
    assert!(
        (scheduled as f64 - expected).abs() <= 3.0,
        "{scheduled} scheduled in {dur} s"
    );
    for key in [
        "cpu_percent_sampler",
        "cpu_percent_writer",
        "cpu_percent_total",
    ] {
        let p = t[key].as_f64().unwrap();
        assert!(p > 0.0 && p < 100.0, "{key} = {p}");
    }
    let total = t["cpu_percent_total"].as_f64().unwrap();
    let parts =
        t["cpu_percent_sampler"].as_f64().unwrap() + t["cpu_percent_writer"].as_f64().unwrap();
    assert!((total - parts).abs() < 1e-9, "{t}");
    let p99 = t["lateness_p99_s"].as_f64().unwrap();
    assert!(p99 <= t["lateness_max_s"].as_f64().unwrap(), "{t}");
    let size = std::fs::metadata(&trace).unwrap().len() as f64;
    let per = t["bytes_per_sample"].as_f64().unwrap();
    assert!((per * u(&j["samples"]) as f64 - size).abs() < 1.0, "{t}");

    let text = crate::jetmem(["report".as_ref(), trace.as_os_str()]);
    let text = String::from_utf8_lossy(&text.stdout);
    let line = text.lines().find(|l| l.starts_with("Tracer:")).unwrap();
    assert!(
        line.contains("deadlines missed") && line.contains("stall"),
        "{line}"
    );
}
