//! The open-file limit of `record` and `monitor`, raised to its hard limit
//! before a process tree is traced.
//!
//! The sampler keeps four descriptors open per traced process (`statm`,
//! `status`, `comm`, `task/`) and one per thread (its `children`, up to 128),
//! so the common soft limit of 1024 would stop a tree at about 200 processes; the hard
//! limit (often 524 288 under systemd) is what this process may use. The
//! traced command is forked before this runs and keeps the limit it was
//! given. A process the sampler cannot open for want of descriptors is
//! counted with the tree's overflow, never silently left out.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Raises `RLIMIT_NOFILE`'s soft limit to the hard one; returns the limit now
/// in force (`None` if it could not be read). A failure is logged, not fatal.
pub fn raise() -> Option<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft >= hard {
        return Some(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => Some(hard),
        Err(e) => {
            log::warn!("cannot raise the open-file limit from {soft} to {hard}: {e}");
            Some(soft)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limit_reaches_the_hard_limit() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(raise(), Some(hard));
        assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap(), (hard, hard));
    }
}
