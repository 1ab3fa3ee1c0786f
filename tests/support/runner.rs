//! Starting a test's own build products. Cross-architecture test runs (aarch64
//! under qemu in CI) have no binfmt_misc, so `JETMEM_TEST_RUNNER` (for example
//! `qemu-aarch64 -L /usr/aarch64-linux-gnu`) names the program that runs them.
//! Included with `#[path]` by the test binaries that spawn such programs.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The emulator that runs the build products (`JETMEM_TEST_RUNNER`), if
/// any: under it, timing and threads are the emulator's.
pub fn emulator() -> Option<String> {
    std::env::var("JETMEM_TEST_RUNNER")
        .ok()
        .filter(|r| !r.trim().is_empty())
}

/// A `Command` that runs `program`, through `JETMEM_TEST_RUNNER` when it is set.
pub fn command(program: &Path) -> Command {
    match std::env::var("JETMEM_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut words = runner.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or("env"));
            c.args(words).arg(program);
            c
        }
        _ => Command::new(program),
    }
}
