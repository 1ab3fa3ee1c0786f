//! `jetmem monitor` on a recorded root and on this machine.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::traces::{fixture, get, nano_meminfo, scratch};
use crate::{jetmem, ok_stdout};

#[test]
fn monitor_logs_csv_with_units_and_flags_pressure() {
    let dir = scratch("monitor-log");
    let log = dir.join("mem.csv");
    let root = fixture("nano-4gb-jp4.6-meminfo");
    let out = ok_stdout(&jetmem([
        "monitor".as_ref(),
        "--count".as_ref(),
        "3".as_ref(),
        "-i".as_ref(),
        "50ms".as_ref(),
        "--log".as_ref(),
        log.as_os_str(),
        "--root".as_ref(),
        root.as_os_str(),
    ]));
    assert!(
        out.contains("GPU (subset)") && out.contains("Unified memory"),
        "{out}"
    );
    assert!(
        out.contains("PRESSURE"),
        "available 14.6 % of MemTotal: {out}"
    );
    assert!(out.contains("Peaks over 3 readings"), "{out}");
    let m = nano_meminfo();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        "t_s,system_used_bytes,available_bytes,gpu_used_bytes,vram_used_bytes,swap_used_bytes,pressure"
    );
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        cells[1],
        (get(&m, "MemTotal") - get(&m, "MemAvailable")).to_string()
    );
    assert_eq!(cells[3], get(&m, "NvMapMemUsed").to_string());
    assert_eq!(cells[6], "1");
    // The log is never overwritten without --force.
    let again = jetmem([
        "monitor".as_ref(),
        "--count".as_ref(),
        "1".as_ref(),
        "--log".as_ref(),
        log.as_os_str(),
        "--root".as_ref(),
        root.as_os_str(),
    ]);
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn ctrl_c_prints_the_peak_summary() {
    use std::io::{BufRead, BufReader, Read};
    let mut child = crate::jetmem_command()
        .args(["monitor", "-i", "50ms"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt only once the table is on screen: the handler is installed by then,
    // also when the binary runs slowly under an emulator.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while text.lines().count() < 3 && std::time::Instant::now() < deadline {
        if out.read_line(&mut text).unwrap() == 0 {
            break;
        }
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    out.read_to_string(&mut text).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("Peaks over"), "{text}");
}
