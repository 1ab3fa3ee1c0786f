//! `jetmem record` against real processes on this machine.

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::traces::{MIB, scratch};
use crate::{jetmem, ok_stdout, report_json};

pub fn record_cmd(out: &std::path::Path, extra: &[&str], cmd: &[&str]) -> Command {
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

/// python3 fills 300 MiB (every page written), prints its own VmRSS, holds it briefly.
const FILL_300: &str = "import time\n\
b = b'\\x01' * (300 * 1024 * 1024)\n\
rss = [l for l in open('/proc/self/status') if l.startswith('VmRSS:')][0].split()[1]\n\
print(int(rss) * 1024, flush=True)\n\
time.sleep(0.6)\n";

#[test]
fn process_peak_of_a_real_child_is_within_5_percent() {
    let dir = scratch("record-python");
    let trace = dir.join("fill.jetmem");
    let out = record_cmd(
        &trace,
        &["-i", "10ms", "--label", "fill300"],
        &["python3", "-c", FILL_300],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The child's stdout went through jetmem untouched.
    let own_rss: u64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(own_rss >= 300 * MIB, "python reports {own_rss}");
    let j = report_json(&trace);
    let peak = j["process"]["rss_peak_bytes"].as_u64().unwrap();
    let diff = peak.abs_diff(own_rss) as f64 / own_rss as f64;
    assert!(
        diff <= 0.05,
        "process peak {peak} vs child's own VmRSS {own_rss}: {:.1} %",
        diff * 100.0
    );
    assert!(
        peak.abs_diff(300 * MIB) as f64 <= 0.05 * (300 * MIB) as f64,
        "peak {peak}"
    );
    assert_eq!(j["label"], "fill300");
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["damage"]["clean_end"], true);
    assert!(j["samples"].as_u64().unwrap() >= 50, "{}", j["samples"]);
}

#[test]
fn sigkilled_recorder_leaves_a_trace_readable_up_to_the_last_flush() {
    let dir = scratch("record-sigkill");
    let trace = dir.join("killed.jetmem");
    let spawned = Instant::now();
    let mut rec = record_cmd(&trace, &["-i", "10ms"], &["sleep", "30"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The trace appears when the tracer has started (it is renamed into place
    // then): time the run from there, so a slow start (an emulator, a loaded
    // machine) is not counted against the recorder.
    wait_for_file(&trace);
    let started = Instant::now();
    sleep(Duration::from_millis(2500));
    rec.kill().unwrap(); // SIGKILL: no chance to write the end record.
    let ran = started.elapsed().as_secs_f64();
    // The trace's clock starts before the file appears, and a loaded test
    // thread may notice the file late: the time since the spawn bounds it above.
    let ran_at_most = spawned.elapsed().as_secs_f64();
    rec.wait().unwrap();
    let j = report_json(&trace);
    if let Some(pid) = j["process"]["pid"].as_u64() {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    assert_eq!(j["damage"]["clean_end"], false);
    // The writer flushes a frame at least every 100 ms: all but the last ~0.1 s decode
    // (a second of slack for start-up on a loaded machine).
    let dur = j["duration_s"].as_f64().unwrap();
    assert!(
        dur >= ran - 1.0 && dur <= ran_at_most,
        "duration {dur} s of {ran} s ({ran_at_most} s since the spawn)"
    );
    let samples = j["samples"].as_u64().unwrap();
    // An emulator (JETMEM_TEST_RUNNER) is slow enough to miss deadlines; the
    // report counts those misses (tracer section) rather than hiding them.
    let min_share = match std::env::var_os("JETMEM_TEST_RUNNER") {
        Some(_) => 0.5,
        None => 0.8,
    };
    assert!(
        samples as f64 >= dur / 0.01 * min_share,
        "{samples} samples in {dur} s"
    );
    let codes: Vec<&str> = j["advice"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["code"].as_str())
        .collect();
    assert!(codes.contains(&"damaged-trace"));
}

#[test]
fn exit_code_is_the_childs_or_128_plus_signal() {
    let dir = scratch("record-exit");
    let t1 = dir.join("exit7.jetmem");
    let s = record_cmd(&t1, &[], &["sh", "-c", "exit 7"])
        .status()
        .unwrap();
    assert_eq!(s.code(), Some(7));
    assert_eq!(report_json(&t1)["exit_code"], 7);

    let t2 = dir.join("killed.jetmem");
    let s = record_cmd(&t2, &[], &["sh", "-c", "kill -KILL $$"])
        .status()
        .unwrap();
    assert_eq!(s.code(), Some(128 + 9));
    assert_eq!(report_json(&t2)["exit_code"], 137);
}

#[test]
fn sigterm_to_jetmem_is_forwarded_and_the_trace_finished() {
    let dir = scratch("record-sigterm");
    let trace = dir.join("term.jetmem");
    let mut rec = record_cmd(&trace, &[], &["sleep", "30"]).spawn().unwrap();
    sleep(Duration::from_millis(700));
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &rec.id().to_string()])
        .status()
        .unwrap();
    let status = rec.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "sleep was not stopped"
    );
    assert_eq!(status.code(), Some(128 + 15));
    let j = report_json(&trace);
    assert_eq!(j["damage"]["clean_end"], true);
    assert_eq!(j["exit_code"], 143);
}

#[test]
fn whole_system_for_a_duration_and_no_overwrite() {
    let dir = scratch("record-system");
    let trace = dir.join("sys.jetmem");
    let out = jetmem([
        "record".as_ref(),
        "--system".as_ref(),
        "--duration".as_ref(),
        "300ms".as_ref(),
        "-i".as_ref(),
        "20ms".as_ref(),
        "--no-cuda".as_ref(),
        "-o".as_ref(),
        trace.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The report is printed (to stderr) unless --no-report.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("System memory"), "{err}");
    let j = report_json(&trace);
    assert_eq!(j["process"]["pid"], Value::Null);
    let d = j["duration_s"].as_f64().unwrap();
    assert!((0.25..1.5).contains(&d), "duration {d}");
    assert!(j["system"]["used_peak_bytes"].as_u64().unwrap() > 0);
    let before = std::fs::read(&trace).unwrap();
    let again = jetmem([
        "record".as_ref(),
        "--system".as_ref(),
        "--duration".as_ref(),
        "100ms".as_ref(),
        "-o".as_ref(),
        trace.as_os_str(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read(&trace).unwrap(),
        before,
        "existing trace was touched"
    );
    let _ = ok_stdout;
}

#[test]
fn pid_mode_ends_with_the_process_and_default_name_comes_from_command_and_time() {
    let dir = scratch("record-pid");
    let mut target = Command::new("sleep").arg("0.8").spawn().unwrap();
    let target_pid = target.id();
    let trace = dir.join("pid.jetmem");
    let started = Instant::now();
    let out = jetmem([
        "record".as_ref(),
        "--pid".as_ref(),
        target_pid.to_string().as_ref(),
        "--no-report".as_ref(),
        "--no-cuda".as_ref(),
        "-o".as_ref(),
        trace.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "did not stop with the process"
    );
    // Until here the exited `sleep` was an unreaped zombie: jetmem must not wait for it.
    target.wait().unwrap();
    let j = report_json(&trace);
    assert_eq!(j["process"]["pid"].as_u64(), Some(u64::from(target_pid)));
    assert!(j["samples"].as_u64().unwrap() > 10);
    assert_eq!(j["exit_code"], Value::Null, "jetmem did not start it");

    // No -o: `<program>-<UTC time>.jetmem` in the current directory.
    let status = crate::jetmem_command()
        .current_dir(&dir)
        .args(["record", "--no-report", "--no-cuda", "--", "/bin/true"])
        .status()
        .unwrap();
    assert!(status.success());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("true-"))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let stamp = names[0]
        .trim_start_matches("true-")
        .trim_end_matches(".jetmem");
    assert_eq!(stamp.len(), "20261126-193911".len(), "{stamp}");
    assert!(
        stamp.chars().all(|c| c.is_ascii_digit() || c == '-'),
        "{stamp}"
    );
}

/// The whole chain on a recorded Jetson: sampler → trace → report, from the Nano's meminfo.
#[test]
fn recording_a_recorded_nano_root_reports_gpu_as_a_subset() {
    use crate::traces::{fixture, get, nano_meminfo};
    let dir = scratch("record-nano-root");
    let trace = dir.join("nano.jetmem");
    let root = fixture("nano-4gb-jp4.6-meminfo");
    let out = jetmem([
        "record".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--system".as_ref(),
        "--duration".as_ref(),
        "200ms".as_ref(),
        "--no-cuda".as_ref(),
        "-o".as_ref(),
        trace.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = nano_meminfo();
    let j = report_json(&trace);
    assert_eq!(j["architecture"], "unified");
    assert_eq!(j["gpu"]["source"], "meminfo-nvmap");
    assert_eq!(j["gpu"]["used_peak_bytes"], get(&m, "NvMapMemUsed"));
    let used = get(&m, "MemTotal") - get(&m, "MemAvailable");
    assert_eq!(j["system"]["used_peak_bytes"], used);
    assert_eq!(
        j["total_peak_bytes"], used,
        "GPU is never added on unified memory"
    );
    assert_eq!(
        j["gpu"]["cpu_os_at_system_peak_bytes"],
        used - get(&m, "NvMapMemUsed")
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("├─ GPU (nvmap, subset): 239.0 MiB"), "{text}");
    assert!(text.contains("└─ CPU / OS (rest):     3.07 GiB"), "{text}");
}

/// No command: the whole system (10 s by default); Ctrl+C ends it early with a clean trace.
#[test]
fn no_command_records_the_system_until_interrupted() {
    let dir = scratch("record-nocommand");
    let trace = dir.join("sys.jetmem");
    let child = crate::jetmem_command()
        .args(["record", "--no-report", "--no-cuda", "-o"])
        .arg(&trace)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&trace);
    sleep(Duration::from_millis(500));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not stop on SIGINT"
    );
    assert_eq!(out.status.code(), Some(0));
    let j = report_json(&trace);
    assert_eq!(j["process"]["pid"], Value::Null);
    assert_eq!(j["damage"]["clean_end"], true);
    let d = j["duration_s"].as_f64().unwrap();
    assert!((0.2..3.0).contains(&d), "duration {d}");
}

/// Waits (at most 20 s) until `record` has started its tracer: the trace file
/// is renamed into place at that moment.
fn wait_for_file(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        sleep(Duration::from_millis(10));
    }
}

/// Records `cmd` and checks that jetmem and the command succeeded.
fn record_ok(out: &std::path::Path, extra: &[&str], cmd: &[&str]) {
    let o = record_cmd(out, extra, cmd).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Without `--label` a run is named by its trace file, the command is shown
/// as a shell would need it, and `--budget` is the budget the report measures
/// against and names as set.
#[test]
fn label_command_and_budget_of_a_recorded_run() {
    let dir = scratch("record-label-budget");
    let trace = dir.join("run-two.jetmem");
    record_ok(
        &trace,
        &["--budget", "1.5GiB"],
        &["sh", "-c", "sleep 0.1; true"],
    );
    let j = report_json(&trace);
    assert_eq!(j["label"], "run-two");
    assert_eq!(j["command"], "sh -c 'sleep 0.1; true'");
    assert_eq!(j["headroom"]["budget_bytes"].as_u64(), Some(3 << 29));
    assert_eq!(j["headroom"]["budget_source"], "trace");
    let used = j["system"]["used_peak_bytes"].as_i64().unwrap();
    assert_eq!(j["headroom"]["min_bytes"].as_i64(), Some((3 << 29) - used));
    let text = ok_stdout(&jetmem(["report".as_ref(), trace.as_os_str()]));
    assert!(text.contains("(set with record --budget)"), "{text}");
    // No --budget: the default, named as such.
    let trace = dir.join("default.jetmem");
    record_ok(&trace, &[], &["true"]);
    let j = report_json(&trace);
    assert_eq!(j["headroom"]["budget_source"], "default-80-percent");
    let total = j["system"]["total_bytes"].as_u64().unwrap();
    assert_eq!(
        j["headroom"]["budget_bytes"].as_u64(),
        Some(total * 800 / 1000)
    );
    // A percent of a MemTotal this machine does not have is refused.
    let bad = record_cmd(&dir.join("bad.jetmem"), &["--budget", "150%"], &["true"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// As shells do: a command that cannot be found exits 127, one that cannot
/// be executed 126, and neither leaves a trace behind.
#[test]
fn unstartable_commands_exit_127_and_126() {
    let dir = scratch("record-unstartable");
    let trace = dir.join("none.jetmem");
    let out = record_cmd(&trace, &[], &["jetmem-no-such-program-xyz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("jetmem: error: jetmem-no-such-program-xyz: cannot start"),
        "{err}"
    );
    assert!(!trace.exists());
    let script = dir.join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\ntrue\n").unwrap();
    let out = record_cmd(&trace, &[], &[script.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126));
    assert!(!trace.exists());
}

/// `record --duration D -- CMD` stops recording at D, leaves the command
/// running and says so; the trace has no exit code (the command had none).
#[test]
fn duration_with_a_command_stops_recording_and_leaves_it_running() {
    let dir = scratch("record-duration-cmd");
    let trace = dir.join("long.jetmem");
    let pid_file = dir.join("pid");
    // The command's own output goes elsewhere, so reading jetmem's ends with jetmem.
    let script = format!(
        "echo $$ > {}; exec sleep 60 >/dev/null 2>&1 </dev/null",
        pid_file.display()
    );
    let out = record_cmd(&trace, &["--duration", "1s"], &["sh", "-c", &script])
        .output()
        .unwrap();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(alive, "the command was ended");
    assert!(
        err.contains(&format!(
            "the command (pid {pid}) was still running when --duration ended the recording; it was left running"
        )),
        "{err}"
    );
    let r = report_json(&trace);
    assert_eq!(r["exit_code"], Value::Null);
    let d = r["duration_s"].as_f64().unwrap();
    // Stopped at the deadline, not when `sleep 60` would end.
    assert!((0.5..30.0).contains(&d), "{d}");
}
