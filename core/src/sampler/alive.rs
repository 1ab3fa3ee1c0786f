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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_state_under_the_root() {
        let root = std::env::temp_dir().join(format!("jetmem-alive-{}", std::process::id()));
        for (pid, stat) in [(7, "7 (a b) S 1 7"), (8, "8 (zombie) Z 1 8"), (9, "junk")] {
            let dir = root.join(format!("proc/{pid}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("stat"), stat).unwrap();
        }
        assert!(process_alive(&root, 7));
        assert!(!process_alive(&root, 8), "a zombie is not alive");
        assert!(!process_alive(&root, 9), "an unparsable stat is not alive");
        assert!(
            !process_alive(&root, 10),
            "no stat under a sysroot: not alive"
        );
        assert!(process_alive(Path::new("/"), std::process::id()));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
