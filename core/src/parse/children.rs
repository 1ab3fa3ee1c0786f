//! `/proc/PID/task/TID/children` (needs `CONFIG_PROC_CHILDREN`).
//!
//! ```text
//! 4482 4490 4511
//! ```
//!
//! Space-separated pids of the thread's children, with a trailing space.

use super::{tokens, whole_u64};

/// An iterator over the child pids in a `children` file.
#[derive(Debug, Clone)]
pub struct Children<'a> {
    rest: &'a [u8],
}

/// The pids listed in `text`; tokens that are not a `u32` are skipped.
pub fn children(text: &[u8]) -> Children<'_> {
    Children { rest: text }
}

impl Iterator for Children<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            let token = tokens(self.rest).next()?;
            // Advance past this token: it is a sub-slice of `rest`.
            let end = (token.as_ptr() as usize)
                .wrapping_sub(self.rest.as_ptr() as usize)
                .wrapping_add(token.len());
            self.rest = self.rest.get(end..).unwrap_or_default();
            if let Some(pid) = whole_u64(token).and_then(|v| u32::try_from(v).ok()) {
                return Some(pid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_pids_and_skips_junk() {
        let v: std::vec::Vec<u32> = children(b"4482 4490 4511 \n").collect();
        assert_eq!(v, [4482, 4490, 4511]);
        let v: std::vec::Vec<u32> = children(b"1 x 99999999999 2\t3").collect();
        assert_eq!(v, [1, 2, 3]);
        assert_eq!(children(b"").count(), 0);
        assert_eq!(children(b" \n").count(), 0);
    }
}
