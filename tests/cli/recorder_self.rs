//! What `jetmem record` reports about itself and about awkward process trees:
//! the `tracer` section, per-process peaks of short and exec'ing processes,
//! and descendants that daemonize.

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use serde_json::Value;

use crate::record::record_cmd;
use crate::report_json;
use crate::thread_sleeps::thread_sleeps;
use crate::traces::scratch;

/// Runs a record that must succeed; its output.
fn record_ok(mut cmd: Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether the recorder said it could not become a child subreaper: qemu-user
/// (the aarch64 tests) refuses `PR_SET_CHILD_SUBREAPER`. It must then say so,
/// and the daemon is out of reach: nothing more to check.
fn no_subreaper(out: &std::process::Output) -> bool {
    let err = String::from_utf8_lossy(&out.stderr);
    let refused = err.contains("descendants that daemonize will not be traced");
    if refused {
        eprintln!("jetmem could not become a child subreaper here (an emulator?): {err}");
    }
    refused
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// Waits until the recorder wrote a frame of records after its header (it samples).
fn wait_for_samples(trace: &std::path::Path) {
    let len = || std::fs::metadata(trace).map_or(0, |m| m.len());
    let mut header = 0;
    for _ in 0..400 {
        sleep(Duration::from_millis(25));
        match (header, len()) {
            (0, n) => header = n,
            (h, n) if n > h => return,
            _ => {}
        }
    }
    panic!("{}: no samples written after 10 s", trace.display());
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
    wait_for_samples(&trace);
    sleep(Duration::from_millis(200));
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
    // Inside the trace (when it starts depends on how fast the recorder started).
    let dur = j["duration_s"].as_f64().unwrap();
    let (at, len) = (
        long[0]["t_s"].as_f64().unwrap(),
        long[0]["length_s"].as_f64().unwrap(),
    );
    assert!(at > 0.0 && at + len <= dur, "gap at {at} s in {dur} s: {t}");
    // Scheduled samples cover the trace's duration, one per interval.
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

/// A whole-system record at 10 ms: its main thread sleeps until the end (no
/// timer: signals, and the tracer's `ended_fd`), and the sampler and writer
/// together wake once per sample.
#[test]
fn the_recorder_wakes_once_per_sample_and_its_main_thread_not_at_all() {
    if let Some(emulator) = crate::runner::emulator() {
        eprintln!("not checked under {emulator}: its threads and sleeps are the emulator's");
        return;
    }
    let dir = scratch("tracer-wakes");
    let trace = dir.join("wakes.jetmem");
    let mut rec = crate::jetmem_command()
        .args(["record", "--system", "--no-report", "--no-cuda"])
        .args(["-i", "10ms", "--duration", "5s", "-o"])
        .arg(&trace)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_samples(&trace);
    sleep(Duration::from_millis(300));
    let pid = rec.id();
    let before = thread_sleeps(&pid.to_string());
    let t0 = std::time::Instant::now();
    sleep(Duration::from_millis(2000));
    let after = thread_sleeps(&pid.to_string());
    let ticks = (t0.elapsed().as_millis() / 10) as u64 + 1;
    assert!(rec.wait().unwrap().success());
    let slept = |pred: &dyn Fn(u32, &str) -> bool| -> u64 {
        after
            .iter()
            .filter(|(tid, name, _)| pred(*tid, name))
            .map(|(tid, _, v)| v - before.iter().find(|b| b.0 == *tid).map_or(0, |b| b.2))
            .sum()
    };
    let main = slept(&|tid, _| tid == pid);
    let sampling = slept(&|_, name| name == "jetmem-sampler" || name == "jetmem-writer");
    assert_eq!(
        main, 0,
        "the main thread woke {main} times in 2 s: {after:?}"
    );
    assert!(
        // 1.1 a tick if the sampler woke the writer; a machine loaded by
        // the other tests may add a few lock waits.
        sampling <= ticks + ticks / 20 + 3 && sampling + 10 >= ticks * 9 / 10,
        "sampler + writer slept {sampling} times in {ticks} ticks: {after:?}"
    );
}

/// python3 writes `mib` MiB (every page touched), holds it briefly, exits (no
/// quotes: it goes inside shell quoting).
fn fill(mib: u64, hold_s: f64) -> String {
    format!("import time\nb = bytes([1]) * ({mib} * 1024 * 1024)\ntime.sleep({hold_s})\n")
}

fn top_entry(j: &Value, pred: impl Fn(&Value) -> bool) -> Option<&Value> {
    j["process"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| pred(p))
}

/// A short child that execs (sh → python3) and lives 0.4 s: its per-process
/// peak comes from every sample and it is listed under its name after exec.
#[test]
fn short_exec_ing_processes_get_their_peak_and_name() {
    let dir = scratch("tracer-exec-peaks");
    let trace = dir.join("exec.jetmem");
    let script = format!(
        "sh -c 'exec python3 -c \"{}\"'; sleep 0.3",
        fill(80, 0.4).replace('\n', ";")
    );
    record_ok(record_cmd(&trace, &["-i", "10ms"], &["sh", "-c", &script]));
    let j = report_json(&trace);
    let tree_peak = u(&j["process"]["rss_peak_bytes"]);
    let child = top_entry(&j, |p| p["root"] == false && p["name"] == "python3")
        .unwrap_or_else(|| panic!("no python3 in {}", j["process"]["top"]));
    let peak = u(&child["rss_peak_bytes"]);
    assert!(peak >= 80 << 20, "python3 peak {peak}");
    // The tree's peak is the sum of its processes at one sample: at least this one's.
    assert!(tree_peak >= peak, "tree {tree_peak} < process {peak}");
}

/// A command that double-forks a daemon and exits: as a subreaper the
/// recorder keeps the daemon in the tree, and with --wait-descendants the
/// record lasts until the daemon exits.
#[test]
fn a_double_forked_daemon_stays_traced() {
    let dir = scratch("tracer-daemon");
    let trace = dir.join("daemon.jetmem");
    // The subshell forks python3 into the background and exits: python3 is orphaned.
    let script = format!(
        "(python3 -c \"{}\" &) ; exit 0",
        fill(100, 1.0).replace('\n', ";")
    );
    let out = record_ok(record_cmd(
        &trace,
        &["-i", "10ms", "--wait-descendants"],
        &["sh", "-c", &script],
    ));
    if no_subreaper(&out) {
        return;
    }
    let j = report_json(&trace);
    let dur = j["duration_s"].as_f64().unwrap();
    assert!(
        dur >= 1.0,
        "the record ended after {dur} s, before the daemon"
    );
    let tree_peak = u(&j["process"]["rss_peak_bytes"]);
    assert!(tree_peak >= 100 << 20, "tree peak {tree_peak}");
    let daemon = top_entry(&j, |p| p["name"] == "python3")
        .unwrap_or_else(|| panic!("daemon not listed: {}", j["process"]));
    assert!(u(&daemon["rss_peak_bytes"]) >= 100 << 20, "{daemon}");
}

/// Without --wait-descendants the record ends with the command, and says that
/// descendants were still running.
#[test]
fn descendants_left_running_are_warned_about() {
    let dir = scratch("tracer-daemon-warn");
    let trace = dir.join("left.jetmem");
    let pidfile = dir.join("daemon.pid");
    let script = format!(
        "(sh -c 'echo $$ > {}; exec sleep 5' &) ; sleep 0.3",
        pidfile.display()
    );
    let out = record_cmd(&trace, &["-i", "10ms"], &["sh", "-c", &script])
        .output()
        .unwrap();
    if let Ok(pid) = std::fs::read_to_string(&pidfile) {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if no_subreaper(&out) {
        return;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("descendants of the command were still running"),
        "{err}"
    );
    let j = report_json(&trace);
    assert!(j["duration_s"].as_f64().unwrap() < 3.0);
    // The daemon was in the tree while the command ran.
    assert!(u(&j["process"]["processes_peak"]) >= 2, "{}", j["process"]);
}
