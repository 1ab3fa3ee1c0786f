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
    assert!(out.contains("Peaks over 3 readings"), "{out}");
    assert!(out.contains("used (tegrastats/jtop definition)"), "{out}");
    let m = nano_meminfo();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    // The original seven columns first, in their order; the added ones after (docs/cli.md).
    assert_eq!(
        lines[0],
        "t_s,system_used_bytes,available_bytes,gpu_used_bytes,vram_used_bytes,swap_used_bytes,pressure,\
         time,used_tegrastats_bytes,gpu_source,gpu_load_permille"
    );
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        cells[1],
        (get(&m, "MemTotal") - get(&m, "MemAvailable")).to_string()
    );
    assert_eq!(cells[3], get(&m, "NvMapMemUsed").to_string());
    assert_eq!(cells[6], "1");
    // ISO 8601 wall clock, UTC.
    let time = cells[7];
    assert!(
        time.len() >= 20 && time.ends_with('Z') && &time[4..5] == "-" && &time[10..11] == "T",
        "{time}"
    );
    assert_eq!(
        cells[8],
        (get(&m, "MemTotal") - get(&m, "MemFree") - get(&m, "Buffers") - get(&m, "Cached"))
            .to_string()
    );
    assert_eq!(cells[9], "meminfo-nvmap");
    let monitor_log = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "monitor".as_ref(),
            "--count".as_ref(),
            "1".as_ref(),
            "--log".as_ref(),
            log.as_os_str(),
            "--root".as_ref(),
            root.as_os_str(),
        ];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        jetmem(args)
    };
    // Same header: appended, the header not repeated.
    ok_stdout(&monitor_log(&[]));
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert_eq!(text.matches("t_s,").count(), 1);
    // --force truncates.
    ok_stdout(&monitor_log(&["--force"]));
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
    // A different header is refused, and the file kept.
    std::fs::write(&log, "t_s,something_else\n1,2\n").unwrap();
    let refused = monitor_log(&[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("exists with a different header"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "t_s,something_else\n1,2\n"
    );
}

/// On a terminal (a pseudo-terminal from util-linux `script`) the screen is redrawn in
/// place: the second reading clears the lines of the first instead of scrolling.
#[test]
fn on_a_terminal_the_screen_refreshes_in_place() {
    if std::env::var_os("JETMEM_TEST_RUNNER").is_some() {
        return; // `script` would start the aarch64 binary without the emulator.
    }
    let root = fixture("nano-4gb-jp4.6-meminfo");
    let cmd = format!(
        "{} monitor --count 2 -i 50ms --root {}",
        env!("CARGO_BIN_EXE_jetmem"),
        root.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) is needed: apt-get install bsdutils");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("jetmem monitor ").count(), 2, "{text}");
    assert!(text.contains("reading 2"), "{text}");
    // The second reading goes back up over the 8 lines of the first and erases them.
    assert_eq!(text.matches("\x1b[8A").count(), 2, "{text:?}");
    assert_eq!(text.matches("\x1b[2K").count(), 8, "{text:?}");
    assert!(text.contains("from meminfo-nvmap, part of used"), "{text}");
    // The line table's header never appears on a terminal.
    assert!(!text.contains("time UTC"), "{text}");
}

/// With a pipe: one line per reading under the header; `-- CMD` adds its tree's RSS and
/// stops when the command exits.
#[test]
fn command_tree_rss_column_and_stop_when_it_exits() {
    let out = ok_stdout(&jetmem([
        "monitor",
        "-i",
        "50ms",
        "--",
        "sh",
        "-c",
        "sleep 1.5",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    let head = lines.iter().position(|l| l.contains("time UTC")).unwrap();
    assert!(lines[head].contains("RSS "), "{out}");
    let rows = lines[head + 1..]
        .iter()
        .take_while(|l| !l.starts_with("Peaks over"))
        .count();
    assert!((1..200).contains(&rows), "stopped when sleep exited: {out}");
    assert!(out.contains("RSS of tree"), "{out}");
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

/// `--pid` (repeatable): one RSS column per tree, its peak with the time in the summary.
#[test]
fn pid_columns_and_their_peaks() {
    let me = std::process::id().to_string();
    let out = ok_stdout(&jetmem([
        "monitor", "--count", "2", "-i", "50ms", "--pid", &me, "--pid", &me,
    ]));
    let head = out.lines().find(|l| l.contains("time UTC")).unwrap();
    assert_eq!(head.matches(&format!("RSS {me}")).count(), 2, "{out}");
    assert_eq!(
        out.matches(&format!("RSS of tree {me}")).count(),
        2,
        "{out}"
    );
    let rss = out.lines().find(|l| l.contains("RSS of tree")).unwrap();
    assert!(
        rss.contains("MiB  at ") && rss.contains("Z (+"),
        "this test's own RSS is readable, with its time: {out}"
    );
}
