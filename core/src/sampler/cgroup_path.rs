//! Where the memory cgroup files of a process (or of the whole system) lie
//! under the sysroot. The text of `/proc/PID/cgroup` is parsed by
//! [`crate::parse::proc_cgroup`].

use crate::parse::proc_cgroup::parse_memory_cgroup;
use std::path::{Path, PathBuf};

/// The memory cgroup files of one cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupFiles {
    /// Usage now: v2 `memory.current`, v1 `memory.usage_in_bytes`.
    pub current: PathBuf,
    /// Peak usage: v2 `memory.peak`, v1 `memory.max_usage_in_bytes`.
    pub peak: PathBuf,
    /// Limit: v2 `memory.max`, v1 `memory.limit_in_bytes`.
    pub max: PathBuf,
    /// 1 or 2.
    pub version: u8,
}

/// Finds the memory cgroup in the text of `/proc/PID/cgroup`. A v1 memory
/// hierarchy wins over the v2 line when both exist (hybrid mode accounts
/// memory in v1).
pub fn memory_cgroup(root: &Path, proc_cgroup: &[u8]) -> Option<CgroupFiles> {
    let cg = parse_memory_cgroup(proc_cgroup)?;
    Some(if cg.version == 1 {
        let base = root.join("sys/fs/cgroup/memory").join(cg.path);
        CgroupFiles {
            current: base.join("memory.usage_in_bytes"),
            peak: base.join("memory.max_usage_in_bytes"),
            max: base.join("memory.limit_in_bytes"),
            version: 1,
        }
    } else {
        let base = root.join("sys/fs/cgroup").join(cg.path);
        CgroupFiles {
            current: base.join("memory.current"),
            peak: base.join("memory.peak"),
            max: base.join("memory.max"),
            version: 2,
        }
    })
}

/// The root memory cgroup, for whole-system traces (v1 has usage there; v2's root has none).
pub fn root_cgroup(root: &Path) -> CgroupFiles {
    let v1 = root.join("sys/fs/cgroup/memory");
    if v1.join("memory.usage_in_bytes").exists() {
        CgroupFiles {
            current: v1.join("memory.usage_in_bytes"),
            peak: v1.join("memory.max_usage_in_bytes"),
            max: v1.join("memory.limit_in_bytes"),
            version: 1,
        }
    } else {
        let v2 = root.join("sys/fs/cgroup");
        CgroupFiles {
            current: v2.join("memory.current"),
            peak: v2.join("memory.peak"),
            max: v2.join("memory.max"),
            version: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_line() {
        let f = memory_cgroup(Path::new("/"), b"0::/user.slice/a.scope\n").unwrap();
        assert_eq!(f.version, 2);
        assert_eq!(
            f.current,
            Path::new("/sys/fs/cgroup/user.slice/a.scope/memory.current")
        );
        assert_eq!(
            f.max,
            Path::new("/sys/fs/cgroup/user.slice/a.scope/memory.max")
        );
    }

    #[test]
    fn v1_memory_hierarchy_wins() {
        let text =
            b"12:pids:/x\n11:memory:/user.slice\n4:cpu,cpuacct:/user.slice\n0::/user.slice\n";
        let f = memory_cgroup(Path::new("/host"), text).unwrap();
        assert_eq!(f.version, 1);
        assert_eq!(
            f.current,
            Path::new("/host/sys/fs/cgroup/memory/user.slice/memory.usage_in_bytes")
        );
    }

    #[test]
    fn garbage_gives_none() {
        assert_eq!(memory_cgroup(Path::new("/"), b"\xff\xfe"), None);
        assert_eq!(memory_cgroup(Path::new("/"), b"nonsense"), None);
    }
}
