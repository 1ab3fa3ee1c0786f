//! `/proc/PID/comm`: the process's name, re-read to see an `exec`.
//!
//! ```text
//! python3
//! ```
//!
//! The kernel's `comm` (at most 15 bytes, `TASK_COMM_LEN` − 1) and a newline,
//! unescaped (`status`'s `Name:` line escapes tabs and newlines; this file
//! does not). Reading it costs about 0.5 µs, `status` about 8 µs
//! (docs/PERFORMANCE.md), so the sampler reads this one on every discovery
//! cycle and `status` once a second.

use super::ParseError;
use crate::record::PROCESS_NAME_LEN;
use heapless::String;

/// The name in a `comm` file: its bytes without the one trailing newline, as
/// UTF-8 (invalid bytes replaced), cut to [`PROCESS_NAME_LEN`] bytes on a
/// character boundary. An empty file is an error.
pub fn parse_comm(text: &[u8]) -> Result<String<PROCESS_NAME_LEN>, ParseError> {
    let name = text.strip_suffix(b"\n").unwrap_or(text);
    if name.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(crate::text::from_utf8_lossy(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_real_comm_files() {
        assert_eq!(parse_comm(b"python3\n").unwrap().as_str(), "python3");
        // A 15-byte comm (the kernel's longest) fits whole.
        assert_eq!(
            parse_comm(b"nvargus-daemon1\n").unwrap().as_str(),
            "nvargus-daemon1"
        );
        // Only one newline is the kernel's; a tab in the name is kept.
        assert_eq!(parse_comm(b"a\tb\n").unwrap().as_str(), "a\tb");
        assert_eq!(parse_comm(b"x\n\n").unwrap().as_str(), "x\n");
        assert_eq!(parse_comm(b"\n"), Err(ParseError::Empty));
        assert_eq!(parse_comm(b""), Err(ParseError::Empty));
        // Invalid UTF-8 is replaced, and a long name is cut on a char boundary.
        assert_eq!(parse_comm(b"a\xffb\n").unwrap().as_str(), "a\u{FFFD}b");
        let cut = parse_comm("ééééééééé\n".as_bytes()).unwrap();
        assert_eq!(cut.as_str(), "éééééééé");
    }

    #[test]
    fn reads_this_process() {
        let text = std::fs::read("/proc/self/comm").unwrap();
        let name = parse_comm(&text).unwrap();
        let status = std::fs::read("/proc/self/status").unwrap();
        let from_status = super::super::status::parse_status(&status).unwrap().name;
        assert_eq!(
            name, from_status,
            "comm and status name the same process alike"
        );
    }
}
