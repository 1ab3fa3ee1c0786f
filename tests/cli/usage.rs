//! Exit codes, errors that name the file, and the generated man page and completions.

use crate::traces;
use crate::{jetmem, ok_stdout};

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["report"],
        vec!["record", "-i", "ten", "--", "true"],
        vec!["record", "-i", "0s", "--", "true"],
        vec!["export", "x.jetmem", "--format", "xml"],
        vec!["frobnicate"],
    ] {
        let out = jetmem(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// The panics (exit 101, a backtrace): out-of-range durations and
/// counts are usage errors, exit 2, with a message naming the accepted range.
#[test]
fn out_of_range_arguments_exit_2_naming_the_range() {
    for (args, range) in [
        (
            vec!["record", "-i", "99999999999999999999s", "--", "true"],
            "10 µs – 1 h",
        ),
        (vec!["record", "-i", "2h", "--", "true"], "10 µs – 1 h"),
        (
            vec!["record", "--system", "--duration", "18446744073709551615"],
            "10 µs – 366 d",
        ),
        (
            vec!["monitor", "-i", "99999999999999999999s", "--count", "1"],
            "10 µs – 1 h",
        ),
        (
            vec!["monitor", "-i", "5000h", "--count", "1"],
            "10 µs – 1 h",
        ),
        (vec!["monitor", "--count", "0"], "1 – 4294967295"),
        (
            vec!["monitor", "--count", "99999999999999999999"],
            "1 – 4294967295",
        ),
        (vec!["monitor", "--count=-3"], "1 – 4294967295"),
    ] {
        let out = jetmem(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(range), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn errors_exit_1_and_name_the_file_and_cause() {
    let dir = traces::scratch("usage-errors");
    let missing = dir.join("missing.jetmem");
    let out = jetmem(["report".as_ref(), missing.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing.jetmem") && err.contains("No such file"),
        "{err}"
    );

    let trace = dir.join("never.jetmem");
    let out = jetmem([
        "record".as_ref(),
        "--no-cuda".as_ref(),
        "-o".as_ref(),
        trace.as_os_str(),
        "--".as_ref(),
        "/nonexistent/program".as_ref(),
    ]);
    // A command that cannot be found exits 127, as in a shell.
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/program") && err.contains("No such file"),
        "{err}"
    );
    assert!(!trace.exists(), "an empty trace was left behind");

    let not_trace = dir.join("notes.txt");
    std::fs::write(&not_trace, "hello, this is not a trace").unwrap();
    let out = jetmem(["report".as_ref(), not_trace.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.txt") && err.contains("not a jetmem trace"),
        "{err}"
    );
}

#[test]
fn man_page_and_completions_come_from_the_clap_definition() {
    let man = ok_stdout(&jetmem(["man"]));
    assert!(man.contains(".TH jetmem"), "{}", &man[..200.min(man.len())]);
    assert!(man.contains("record"));
    for shell in ["bash", "zsh", "fish"] {
        let c = ok_stdout(&jetmem(["completions", shell]));
        assert!(c.contains("jetmem") && c.contains("monitor"), "{shell}");
    }
    // Hidden from the help.
    let help = ok_stdout(&jetmem(["--help"]));
    assert!(!help.contains("completions") && help.contains("record"));
}

/// Every error has one prefix, `jetmem: error:` (warnings are `jetmem: warning:`):
/// a usage error (exit 2) as well as a failure (exit 1).
#[test]
fn errors_have_one_prefix() {
    let usage = jetmem(["report", "--format", "bogus", "x.jetmem"]);
    assert_eq!(usage.status.code(), Some(2));
    let err = String::from_utf8_lossy(&usage.stderr);
    assert!(
        err.starts_with("jetmem: error: invalid value 'bogus'"),
        "{err}"
    );
    let failed = jetmem(["report", "/nonexistent/run.trace"]);
    assert_eq!(failed.status.code(), Some(1));
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.starts_with("jetmem: error: /nonexistent/run.trace"),
        "{err}"
    );
    assert_eq!(err.matches("jetmem: ").count(), 1, "{err}");
}
