//! Listing the numeric entries of a `/proc` directory without heap allocation.
//!
//! `std::fs::read_dir` and `nix::dir` allocate a name per entry; the slow path
//! runs every 100 ms for the whole trace, so it reads entries straight from
//! `readdir(3)` into a caller callback.

use nix::libc;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Longest path accepted (with its NUL), formatted on the stack.
const PATH_MAX: usize = 512;

/// Calls `f` with every entry of `dir` whose name is a decimal `u32` (pids, tids).
/// Returns false when the directory could not be opened.
pub fn numeric_entries(dir: &Path, mut f: impl FnMut(u32)) -> bool {
    let bytes = dir.as_os_str().as_bytes();
    let mut cpath = [0u8; PATH_MAX];
    if bytes.len() >= PATH_MAX || bytes.contains(&0) {
        return false;
    }
    if let Some(dst) = cpath.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    // SAFETY: `cpath` is NUL-terminated (zero-filled past `bytes`, checked shorter than the buffer).
    let d = unsafe { libc::opendir(cpath.as_ptr().cast()) };
    if d.is_null() {
        return false;
    }
    loop {
        // SAFETY: `d` is a valid, open DIR stream until closedir below.
        let ent = unsafe { libc::readdir(d) };
        if ent.is_null() {
            break;
        }
        // SAFETY: readdir returned a valid dirent whose d_name is NUL-terminated; it
        // stays valid until the next readdir/closedir on `d`, and is read before either.
        let name = unsafe { std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if let Some(n) = parse_u32(name) {
            f(n);
        }
    }
    // SAFETY: `d` was returned by opendir and is closed exactly once.
    unsafe { libc::closedir(d) };
    true
}

fn parse_u32(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 {
        return None;
    }
    let mut v: u32 = 0;
    for &b in name {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(d))?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_own_tasks() {
        let mut tids = Vec::new();
        assert!(numeric_entries(Path::new("/proc/self/task"), |t| tids.push(t)));
        assert!(tids.contains(&(std::process::id())));
        assert!(!numeric_entries(Path::new("/nonexistent"), |_| {}));
        assert_eq!(parse_u32(b"123"), Some(123));
        assert_eq!(parse_u32(b"12a"), None);
        assert_eq!(parse_u32(b"99999999999"), None);
    }
}
