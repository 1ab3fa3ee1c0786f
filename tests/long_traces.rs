//! Long traces in bounded memory: every command that reads a trace runs on a
//! synthetic 200 000-sample trace (33 minutes at 10 ms; 120 000 under an
//! emulator; written with the real encoder by `jetmem_tests::synth`) and its peak RSS, from
//! `getrusage(RUSAGE_CHILDREN)`, stays under a generous bound. This test is
//! alone in its binary, so no other test's children count.

use std::path::Path;

use jetmem_tests::synth::write_synthetic;

#[path = "support/runner.rs"]
mod runner;

/// Samples of the trace: above the 100 000 points a Perfetto counter track
/// keeps exactly (fewer under an emulator, which is slow, but still above).
fn samples() -> u64 {
    if runner_set() { 120_000 } else { 200_000 }
}
/// The target is 100 MiB for a 24 h trace; holding every sample of this
/// one (as export and plot once did) takes several times that. Under an
/// emulator (`JETMEM_TEST_RUNNER`) the emulator's own RSS, measured on
/// `jetmem --version`, is added.
const BOUND_KIB: i64 = 100 * 1024;

fn runner_set() -> bool {
    std::env::var("JETMEM_TEST_RUNNER").is_ok_and(|r| !r.trim().is_empty())
}

/// Largest RSS of any child waited for so far (KiB).
fn children_max_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_CHILDREN is valid.
    let mut ru: nix::libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `ru` outlives the call.
    let rc = unsafe { nix::libc::getrusage(nix::libc::RUSAGE_CHILDREN, &mut ru) };
    assert_eq!(rc, 0, "getrusage");
    ru.ru_maxrss
}

fn jetmem(args: &[&std::ffi::OsStr]) -> String {
    jetmem_within(args, BOUND_KIB + baseline_kib())
}

/// What running the recorder costs before it reads anything (the emulator under a runner).
fn baseline_kib() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        if !runner_set() {
            return 0;
        }
        jetmem_within(&["--version".as_ref()], i64::MAX);
        children_max_rss_kib()
    })
}

fn jetmem_within(args: &[&std::ffi::OsStr], bound_kib: i64) -> String {
    let out = runner::command(Path::new(env!("CARGO_BIN_EXE_jetmem")))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jetmem {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rss = children_max_rss_kib();
    assert!(rss <= bound_kib, "jetmem {args:?} peaked at {rss} KiB");
    String::from_utf8(out.stdout).unwrap()
}

/// The values of one Perfetto counter track, from serde_json's sorted keys:
/// `{"args":{"MiB":V},"name":NAME,"ph":"C",...}`.
fn counter_values(json: &[u8], name: &str) -> Vec<f64> {
    let text = std::str::from_utf8(json).unwrap();
    let tail = format!("}},\"name\":\"{name}\",\"ph\":\"C\"");
    text.match_indices(&tail)
        .map(|(end, _)| {
            let head = &text[..end];
            let start = head.rfind("\"MiB\":").unwrap() + "\"MiB\":".len();
            head[start..].parse().unwrap()
        })
        .collect()
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[test]
fn every_command_reads_a_long_trace_in_bounded_memory() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("long-traces");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("long.jetmem");
    let bytes = write_synthetic(Vec::new(), samples(), 10_000_000).unwrap();
    std::fs::write(&trace, &bytes).unwrap();
    drop(bytes);
    let t = trace.as_os_str();
    let o = |name: &str| dir.join(name).into_os_string();

    let report: serde_json::Value = serde_json::from_str(&jetmem(&[
        "report".as_ref(),
        t,
        "--format".as_ref(),
        "json".as_ref(),
    ]))
    .unwrap();
    assert_eq!(report["samples"], samples());
    assert_eq!(report["tracer"]["samples_scheduled"], samples());
    assert_eq!(report["tracer"]["deadlines_missed"], 0);
    let peak_mib = report["system"]["used_peak_bytes"].as_u64().unwrap() as f64 / 1048576.0;

    let csv = o("long.csv");
    jetmem(&[
        "export".as_ref(),
        t,
        "--format".as_ref(),
        "csv".as_ref(),
        "-o".as_ref(),
        &csv,
    ]);
    let text = std::fs::read(&csv).unwrap();
    assert_eq!(count(&text, b"\n") as u64, samples() + 1);
    // Nothing large stays alive here while the next child starts (a forked child's
    // peak RSS counts the parent's pages until it execs).
    drop(text);

    let json = o("long.json");
    jetmem(&[
        "export".as_ref(),
        t,
        "--format".as_ref(),
        "json".as_ref(),
        "-o".as_ref(),
        &json,
    ]);
    let text = std::fs::read(&json).unwrap();
    // Every sample of the capture read MemTotal.
    assert_eq!(count(&text, b"\"mem_total_bytes\":") as u64, samples());
    assert!(text.ends_with(b"\"skipped_bytes\":0}\n"));
    drop(text);

    let perfetto = o("long.perfetto.json");
    jetmem(&[
        "export".as_ref(),
        t,
        "--format".as_ref(),
        "perfetto".as_ref(),
        "-o".as_ref(),
        &perfetto,
    ]);
    // Scanned, not parsed: a parsed document would stay in this process's heap,
    // and a forked child's peak RSS counts the parent's pages until it execs.
    let text = std::fs::read(&perfetto).unwrap();
    let used = counter_values(&text, "system used (MiB)");
    // Downsampled (200 000 samples, at most 100 000 buckets of two points) and says so.
    assert!(
        used.len() < samples() as usize && used.len() >= 50_000,
        "{}",
        used.len()
    );
    assert_eq!(count(&text, b"\"counters\":\"downsampled"), 1);
    // The peak survived.
    let kept = used.iter().copied().fold(0.0, f64::max);
    assert!(
        (kept - peak_mib).abs() < 0.01,
        "{kept} MiB kept, peak {peak_mib} MiB"
    );
    drop((text, used));

    let svg = o("long.svg");
    jetmem(&["plot".as_ref(), t, "-o".as_ref(), &svg]);
    let size = std::fs::metadata(&svg).unwrap().len();
    assert!(size < 2 << 20, "{size} bytes of SVG");
}
