//! How often each thread of a process slept: the voluntary context switches
//! in `/proc/PID/task/TID/status` (each a timer, a futex wait or a blocked
//! read). Included with `#[path]` by the tests that count a tracer's wake-ups.

#![allow(dead_code)]

/// Each thread of process `pid` (a number, or `self`): (thread id, name,
/// voluntary context switches so far).
pub fn thread_sleeps(pid: &str) -> Vec<(u32, String, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let tid = e.file_name().to_string_lossy().parse().unwrap();
        let name = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
        if let Some(v) = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        {
            out.push((tid, name.trim().to_owned(), v.trim().parse().unwrap()));
        }
    }
    out
}
