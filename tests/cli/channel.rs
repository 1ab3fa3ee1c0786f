//! `jetmem record`'s marker channel with a tree of real writers: the test
//! binary itself, started again by the recorder (through JETMEM_TEST_RUNNER
//! under qemu, so this runs on aarch64 too), marks phases, forks a child that
//! marks, and spawns itself once more. The report's `phase_summary` must show
//! each label's count and the pids that wrote it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jetmem_core::channel::shm::Mapped;
use jetmem_core::channel::{Push, SLOTS};
use jetmem_core::record::{MarkKind, Record};
use jetmem_core::wire::Item;
use jetmem_core::wire::stream::TraceReader;

use crate::traces::scratch;
use crate::{ok_stdout, report_json};

/// Set in the writer processes: where to write their pids.
const PIDS_ENV: &str = "JETMEM_TEST_CHANNEL_PIDS";
/// Set in the spawned grandchild.
const ROLE_ENV: &str = "JETMEM_TEST_CHANNEL_ROLE";
const FRAMES: usize = 20;
const WORKER_PHASES: usize = 3;
const SPAWNED_PHASES: usize = 2;

/// A command that runs this test binary's test `name` alone, through the runner.
fn this_test(name: &str) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut words: Vec<String> = std::env::var("JETMEM_TEST_RUNNER")
        .map(|r| r.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    words.push(exe.to_string_lossy().into_owned());
    words.extend(["--exact", name, "--test-threads=1", "--quiet"].map(str::to_owned));
    words
}

fn phase(ch: &Mapped, label: &str, ms: u64) {
    ch.push(Push::Mark(MarkKind::Begin, label)).unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    ch.push(Push::Mark(MarkKind::End, label)).unwrap();
}

fn append(path: &Path, line: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    writeln!(f, "{line}").unwrap();
}

/// The writers' role; a no-op in an ordinary test run.
#[test]
fn writer_role() {
    let Some(pids) = std::env::var_os(PIDS_ENV).map(PathBuf::from) else {
        return;
    };
    let ch = Mapped::from_env()
        .unwrap()
        .expect("JETMEM_CHANNEL is set under jetmem record");
    let me = std::process::id();
    if std::env::var(ROLE_ENV).as_deref() == Ok("flood") {
        // Three rings' worth at once: the recorder drains once a second.
        let full = (0..3 * SLOTS)
            .filter(|_| ch.push(Push::Mark(MarkKind::Instant, "flood")).is_err())
            .count();
        append(&pids, &format!("flood {me} {full}"));
        return;
    }
    if std::env::var_os(ROLE_ENV).is_some() {
        for _ in 0..SPAWNED_PHASES {
            phase(&ch, "spawned", 3);
        }
        append(&pids, &format!("spawned {me}"));
        return;
    }
    phase(&ch, "load", 20);
    for _ in 0..FRAMES {
        phase(&ch, "frame", 2);
    }
    // SAFETY: the child only marks (clock_gettime and atomics on the mapped
    // ring), sleeps and leaves with _exit: nothing that needs the parent's
    // other threads or locks.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            for _ in 0..WORKER_PHASES {
                phase(&ch, "worker", 3);
            }
            // SAFETY: ends the forked child without running the parent's atexit handlers.
            unsafe { nix::libc::_exit(0) };
        }
        nix::unistd::ForkResult::Parent { child } => {
            let status = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
            append(&pids, &format!("forked {child}"));
        }
    }
    let words = this_test("channel::writer_role");
    let status = std::process::Command::new(&words[0])
        .args(&words[1..])
        .env(ROLE_ENV, "spawned")
        .status()
        .unwrap();
    assert!(status.success());
    append(&pids, &format!("main {me}"));
}

#[test]
fn marks_of_a_recorded_tree_reach_the_trace_with_their_pids() {
    let dir = scratch("record-channel");
    let trace = dir.join("channel.jetmem");
    let pids = dir.join("pids.txt");
    let _ = std::fs::remove_file(&pids);
    let words = this_test("channel::writer_role");
    let out = crate::jetmem_command()
        .args(["record", "--no-report", "--no-cuda", "-i", "5ms", "-o"])
        .arg(&trace)
        .arg("--")
        .args(&words)
        .env(PIDS_ENV, &pids)
        .output()
        .unwrap();
    ok_stdout(&out);
    let written = std::fs::read_to_string(&pids).unwrap();
    let pid = |role: &str| -> u64 {
        written
            .lines()
            .find_map(|l| l.strip_prefix(role)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {role} pid in {written}"))
    };
    let j = report_json(&trace);
    let rows = j["phase_summary"].as_array().unwrap();
    let labels: Vec<&str> = rows.iter().filter_map(|r| r["label"].as_str()).collect();
    assert_eq!(labels, ["load", "frame", "worker", "spawned"]);
    let expect = [
        ("load", 1, pid("main "), 0.020),
        ("frame", FRAMES, pid("main "), 0.002),
        ("worker", WORKER_PHASES, pid("forked "), 0.003),
        ("spawned", SPAWNED_PHASES, pid("spawned "), 0.003),
    ];
    for (row, (label, count, pid, min_s)) in rows.iter().zip(expect) {
        assert_eq!(row["count"], count as u64, "{label}");
        assert_eq!(row["pids"], serde_json::json!([pid]), "{label}");
        assert_eq!(row["unclosed"], 0, "{label}");
        let max = row["duration_max_s"].as_f64().unwrap();
        assert!(
            max >= min_s - 1e-9,
            "{label}: max {max} s < {min_s} s slept"
        );
        assert!(
            row["system_used_peak_bytes"].as_u64().is_some(),
            "{label}: a short phase takes the sample at its end"
        );
    }
    assert_eq!(j["exit_code"], 0);
}

/// A writer that overflows the channel: its losses are counted, written into
/// the trace (`ChannelLost`) and reported per pid, and the rest arrive.
#[test]
fn a_full_channel_counts_each_writers_losses_into_the_trace() {
    let dir = scratch("record-channel-flood");
    let trace = dir.join("flood.jetmem");
    let pids = dir.join("pids.txt");
    let _ = std::fs::remove_file(&pids);
    let out = crate::jetmem_command()
        .args(["record", "--no-report", "--no-cuda", "-i", "1s", "-o"])
        .arg(&trace)
        .arg("--")
        .args(this_test("channel::writer_role"))
        .env(PIDS_ENV, &pids)
        .env(ROLE_ENV, "flood")
        .output()
        .unwrap();
    ok_stdout(&out);
    let written = std::fs::read_to_string(&pids).unwrap();
    let words: Vec<u64> = written
        .trim()
        .strip_prefix("flood ")
        .unwrap()
        .split(' ')
        .map(|w| w.parse().unwrap())
        .collect();
    let (pid, full) = (words[0], words[1]);
    assert!(full > 0, "{written}");
    // Every mark either reached the trace with the writer's pid or is counted lost there.
    let (mut arrived, mut lost) = (0u64, 0u64);
    let file = std::fs::File::open(&trace).unwrap();
    for item in TraceReader::new(std::io::BufReader::new(file)).unwrap() {
        match item.unwrap() {
            Item::Record(Record::Mark(m)) => {
                assert_eq!(m.pid, Some(pid as u32));
                arrived += 1;
            }
            Item::Record(Record::ChannelLost(c)) => {
                assert_eq!(c.pid, pid as u32);
                lost += c.records;
            }
            _ => {}
        }
    }
    assert_eq!((arrived + lost, lost), (3 * SLOTS as u64, full));
    let report = crate::jetmem(["report".as_ref(), trace.as_os_str()]);
    let err = String::from_utf8_lossy(&report.stderr);
    assert!(
        err.contains(&format!(
            "{full} marks or allocator records of pid {pid} were lost: the marker channel was full"
        )),
        "{err}"
    );
}
