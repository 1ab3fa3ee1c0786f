//! `/proc/PID/cgroup`: which cgroup a process is in, one line per hierarchy.
//!
//! cgroup v2 (JetPack 6):
//!
//! ```text
//! 0::/user.slice/user-1000.slice/session-3.scope
//! ```
//!
//! cgroup v1 (JetPack 5):
//!
//! ```text
//! 11:memory:/user.slice
//! 4:cpu,cpuacct:/user.slice
//! ```

/// The process's memory cgroup: its hierarchy's version and its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryCgroup<'a> {
    /// 1 (a `memory` controller line) or 2 (the `0::` line).
    pub version: u8,
    /// The cgroup's path inside its hierarchy, without the leading `/`.
    pub path: &'a str,
}

/// Finds the memory cgroup. A v1 memory hierarchy wins over the v2 line when
/// both exist (hybrid mode accounts memory in v1). `None` for text that is not
/// UTF-8 or a line without three `:`-separated parts.
pub fn parse_memory_cgroup(bytes: &[u8]) -> Option<MemoryCgroup<'_>> {
    let text = core::str::from_utf8(bytes).ok()?;
    let mut v2: Option<&str> = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.split(',').any(|c| c == "memory") {
            return Some(MemoryCgroup {
                version: 1,
                path: path.trim_start_matches('/'),
            });
        }
        if controllers.is_empty() {
            v2 = Some(path);
        }
    }
    Some(MemoryCgroup {
        version: 2,
        path: v2?.trim_start_matches('/'),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_line() {
        let c = parse_memory_cgroup(b"0::/user.slice/a.scope\n").unwrap();
        assert_eq!(
            c,
            MemoryCgroup {
                version: 2,
                path: "user.slice/a.scope"
            }
        );
    }

    #[test]
    fn v1_memory_hierarchy_wins() {
        let text =
            b"12:pids:/x\n11:memory:/user.slice\n4:cpu,cpuacct:/user.slice\n0::/user.slice\n";
        let c = parse_memory_cgroup(text).unwrap();
        assert_eq!(
            c,
            MemoryCgroup {
                version: 1,
                path: "user.slice"
            }
        );
    }

    #[test]
    fn garbage_gives_none() {
        assert_eq!(parse_memory_cgroup(b"\xff\xfe"), None);
        assert_eq!(parse_memory_cgroup(b"nonsense"), None);
    }
}
