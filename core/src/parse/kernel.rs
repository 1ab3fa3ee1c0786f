//! `/proc/sys/kernel/osrelease` (`uname -r`), and the release in `/proc/version`.
//!
//! ```text
//! 5.15.148-tegra
//! ```

use crate::record::KERNEL_LEN;
use crate::text::from_utf8_lossy;
use heapless::String;

/// The kernel release without surrounding whitespace or NULs, cut to [`KERNEL_LEN`].
pub fn parse_osrelease(bytes: &[u8]) -> String<KERNEL_LEN> {
    let first = bytes
        .split(|&b| b == b'\n' || b == 0)
        .next()
        .unwrap_or_default();
    from_utf8_lossy(first.trim_ascii())
}

/// The release in `/proc/version` (its third word), for kernels without
/// `osrelease`:
///
/// ```text
/// Linux version 5.15.148-tegra (buildbrain@mobile-u64-6422) (aarch64-buildroot-linux-gnu-gcc ...) #1 SMP PREEMPT ...
/// ```
pub fn parse_version_release(bytes: &[u8]) -> Option<&[u8]> {
    bytes
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .nth(2)
}

/// Whether the release names a Tegra kernel (`4.9.337-tegra`, `6.8.12-1021-tegra`).
pub fn is_tegra_kernel(release: &str) -> bool {
    release.contains("tegra")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims() {
        assert_eq!(
            parse_osrelease(b"5.15.148-tegra\n").as_str(),
            "5.15.148-tegra"
        );
        assert!(is_tegra_kernel(&parse_osrelease(b"4.9.337-tegra")));
        assert!(!is_tegra_kernel(&parse_osrelease(b"6.8.0-45-generic\n")));
    }
}
