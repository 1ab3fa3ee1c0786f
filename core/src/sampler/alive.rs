//! Whether a process is still alive, read under the sysroot.

use super::source::read_small;
use crate::parse::stat::{is_live_state, parse_stat_state};
use std::path::Path;

/// Whether `pid` exists and is not a zombie (an exited process its parent has
/// not reaped), from `/proc/PID/stat` under `root`. Where that file cannot be
/// read or parsed and `root` is `/`, asks the kernel with signal 0.
pub fn process_alive(root: &Path, pid: u32) -> bool {
    let stat = read_small(root, &format!("/proc/{pid}/stat"));
    match stat.as_deref().and_then(parse_stat_state) {
        Some(state) => is_live_state(state),
        None if stat.is_some() => false,
        None => {
            root == Path::new("/")
                && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok()
        }
    }
}
