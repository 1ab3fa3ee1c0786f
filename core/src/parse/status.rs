//! `/proc/PID/status`: the slow path (every few samples).
//!
//! Fields are separated from values by a tab (shown here as spaces):
//!
//! ```text
//! Name:    python3
//! Umask:    0022
//! State:    S (sleeping)
//! Tgid:    4481
//! PPid:    1
//! …
//! VmLck:           0 kB
//! VmPin:           0 kB
//! VmHWM:      812344 kB
//! VmRSS:      790112 kB
//! RssAnon:      620400 kB
//! RssFile:      160128 kB
//! RssShmem:        9584 kB
//! …
//! VmSwap:           0 kB
//! …
//! Threads:    42
//! ```

use super::{ParseError, meminfo::value, whole_u64};
use crate::record::PROCESS_NAME_LEN;
use heapless::String;

/// The `status` fields jetmem reads; sizes in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    /// `Name`: the kernel's `comm` (at most 15 bytes; longer escaped names are cut).
    pub name: String<PROCESS_NAME_LEN>,
    /// `PPid`.
    pub ppid: Option<u32>,
    /// `Threads`.
    pub threads: Option<u32>,
    /// `VmRSS`.
    pub vm_rss: Option<u64>,
    /// `VmHWM`: peak resident set size.
    pub vm_hwm: Option<u64>,
    /// `RssAnon`.
    pub rss_anon: Option<u64>,
    /// `RssFile`.
    pub rss_file: Option<u64>,
    /// `RssShmem`.
    pub rss_shmem: Option<u64>,
    /// `VmSwap`.
    pub vm_swap: Option<u64>,
    /// `VmLck`: locked memory.
    pub vm_lck: Option<u64>,
    /// `VmPin`: pinned memory.
    pub vm_pin: Option<u64>,
}

/// Parses `/proc/PID/status`. Kernel threads have no `Vm*` lines: those are
/// `None`. An input without a `Name` line is an error.
pub fn parse_status(text: &[u8]) -> Result<Status, ParseError> {
    if text.trim_ascii().is_empty() {
        return Err(ParseError::Empty);
    }
    let mut s = Status::default();
    let mut named = false;
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, rest) = (
            line.get(..colon).unwrap_or_default(),
            line.get(colon + 1..).unwrap_or_default(),
        );
        let size = match key {
            b"Name" => {
                let raw = rest.strip_prefix(b"\t").unwrap_or(rest);
                s.name = crate::text::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw));
                named = true;
                continue;
            }
            b"PPid" => {
                s.ppid = whole_u64(rest).and_then(|v| u32::try_from(v).ok());
                continue;
            }
            b"Threads" => {
                s.threads = whole_u64(rest).and_then(|v| u32::try_from(v).ok());
                continue;
            }
            b"VmRSS" => &mut s.vm_rss,
            b"VmHWM" => &mut s.vm_hwm,
            b"RssAnon" => &mut s.rss_anon,
            b"RssFile" => &mut s.rss_file,
            b"RssShmem" => &mut s.rss_shmem,
            b"VmSwap" => &mut s.vm_swap,
            b"VmLck" => &mut s.vm_lck,
            b"VmPin" => &mut s.vm_pin,
            _ => continue,
        };
        *size = value(rest);
    }
    if named {
        Ok(s)
    } else {
        Err(ParseError::MissingField("Name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shape and widths as `task_mem()` prints them (5.15 kernel).
    const SAMPLE: &[u8] = b"Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4481\nNgid:\t0\nPid:\t4481\nPPid:\t1731\nTracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\nVmPeak:\t 2631212 kB\nVmSize:\t 2566640 kB\nVmLck:\t       4 kB\nVmPin:\t       8 kB\nVmHWM:\t  812344 kB\nVmRSS:\t  790112 kB\nRssAnon:\t  620400 kB\nRssFile:\t  160128 kB\nRssShmem:\t    9584 kB\nVmData:\t  900000 kB\nVmSwap:\t      12 kB\nHugetlbPages:\t       0 kB\nThreads:\t42\nSigQ:\t0/30446\n";

    #[test]
    fn reads_every_field() {
        let s = parse_status(SAMPLE).unwrap();
        assert_eq!(s.name.as_str(), "python3");
        assert_eq!(s.ppid, Some(1731));
        assert_eq!(s.threads, Some(42));
        assert_eq!(s.vm_rss, Some(790_112 * 1024));
        assert_eq!(s.vm_hwm, Some(812_344 * 1024));
        assert_eq!(s.rss_anon, Some(620_400 * 1024));
        assert_eq!(s.rss_file, Some(160_128 * 1024));
        assert_eq!(s.rss_shmem, Some(9_584 * 1024));
        assert_eq!(s.vm_swap, Some(12 * 1024));
        assert_eq!(s.vm_lck, Some(4 * 1024));
        assert_eq!(s.vm_pin, Some(8 * 1024));
        assert_eq!(
            s.rss_anon.unwrap() + s.rss_file.unwrap() + s.rss_shmem.unwrap(),
            s.vm_rss.unwrap()
        );
    }

    #[test]
    fn kernel_thread_has_no_vm_lines() {
        let s = parse_status(b"Name:\tkworker/0:1-events\nPPid:\t2\nThreads:\t1\n").unwrap();
        assert_eq!(
            s.name.as_str(),
            "kworker/0:1-even",
            "cut to the 16-byte capacity"
        );
        assert_eq!(s.vm_rss, None);
        assert_eq!(s.ppid, Some(2));
    }

    #[test]
    fn missing_name_is_an_error() {
        assert_eq!(
            parse_status(b"PPid:\t1\n"),
            Err(ParseError::MissingField("Name"))
        );
        assert_eq!(parse_status(b"\n"), Err(ParseError::Empty));
    }
}
