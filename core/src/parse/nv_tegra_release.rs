//! `/etc/nv_tegra_release`: the L4T (Jetson Linux) release, and the JetPack it belongs to.
//!
//! ```text
//! # R36 (release), REVISION: 4.7, GCID: 42132812, BOARD: generic, EABI: aarch64, DATE: Thu Sep 18 22:54:44 UTC 2025
//! # KERNEL_VARIANT: oot
//! TARGET_USERSPACE_LIB_DIR=nvidia
//! TARGET_USERSPACE_LIB_DIR_PATH=usr/lib/aarch64-linux-gnu/nvidia
//! ```
//!
//! Only the first line is read (OE4T images ship only that line). `BOARD` is not
//! the SoC (Orin says `t186ref` on R35 and `generic` on R36) and is ignored; the
//! revision may lack its minor (`REVISION: 5`).

use super::{ParseError, blank_len, leading_u64};
use crate::record::L4tRelease;

fn small(bytes: &[u8], name: &'static str) -> Result<(u16, usize), ParseError> {
    let (v, n) = leading_u64(bytes).ok_or(ParseError::BadNumber(name))?;
    Ok((
        u16::try_from(v).map_err(|_| ParseError::BadNumber(name))?,
        n,
    ))
}

/// Parses the first line of `/etc/nv_tegra_release`
/// (`^# R(\d+) \(release\), REVISION: (\d+)(?:\.(\d+))?`).
pub fn parse_nv_tegra_release(text: &[u8]) -> Result<L4tRelease, ParseError> {
    let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
    if first.trim_ascii().is_empty() {
        return Err(ParseError::Empty);
    }
    let rest = first
        .strip_prefix(b"# R")
        .ok_or(ParseError::Malformed("`# R<release>`"))?;
    let (release, n) = small(rest, "release")?;
    let rest = rest.get(n..).unwrap_or_default();
    let at = rest
        .windows(9)
        .position(|w| w == b"REVISION:")
        .ok_or(ParseError::MissingField("REVISION"))?;
    let rest = rest.get(at + 9..).unwrap_or_default();
    let rest = rest.get(blank_len(rest)..).unwrap_or_default();
    let (revision, n) = small(rest, "REVISION")?;
    let rest = rest.get(n..).unwrap_or_default();
    let minor = match rest.strip_prefix(b".") {
        Some(m) => small(m, "REVISION")?.0,
        None => 0,
    };
    Ok(L4tRelease {
        release,
        revision,
        minor,
    })
}

/// L4T → JetPack, from jetson-stats 7.2.2 `NVIDIA_JETPACK` (docs/accounting.md, platform).
const JETPACK: &[((u16, u16, u16), &str)] = &[
    // JetPack 7
    ((39, 2, 2), "7.2.2"),
    ((39, 2, 1), "7.2.1"),
    ((39, 2, 0), "7.2 GA"),
    ((39, 0, 0), "7.2 EA"),
    ((38, 4, 0), "7.1"),
    ((38, 2, 2), "7.0"),
    ((38, 2, 1), "7.0"),
    ((38, 2, 0), "7.0"),
    // JetPack 6
    ((36, 5, 2), "6.2.3"),
    ((36, 5, 0), "6.2.2"),
    ((36, 4, 7), "6.2.1"),
    ((36, 4, 4), "6.2.1"),
    ((36, 4, 3), "6.2"),
    ((36, 4, 2), "6.1 (rev1)"),
    ((36, 4, 0), "6.1"),
    ((36, 3, 0), "6.0"),
    ((36, 2, 0), "6.0 DP"),
    ((36, 0, 0), "6.0 EA"),
    // JetPack 5
    ((35, 6, 5), "5.1.7"),
    ((35, 6, 4), "5.1.6"),
    ((35, 6, 3), "5.1.5"),
    ((35, 6, 2), "5.1.5"),
    ((35, 6, 1), "5.1.5"),
    ((35, 6, 0), "5.1.4"),
    ((35, 5, 0), "5.1.3"),
    ((35, 4, 1), "5.1.2"),
    ((35, 3, 1), "5.1.1"),
    ((35, 3, 0), "5.1.1 PRE"),
    ((35, 2, 1), "5.1"),
    ((35, 1, 0), "5.0.2 GA"),
    ((34, 1, 1), "5.0.1 DP"),
    ((34, 1, 0), "5.0 DP"),
    ((34, 0, 1), "5.0 PRE-DP"),
    // JetPack 4
    ((32, 7, 6), "4.6.6"),
    ((32, 7, 5), "4.6.5"),
    ((32, 7, 4), "4.6.4"),
    ((32, 7, 3), "4.6.3"),
    ((32, 7, 2), "4.6.2"),
    ((32, 7, 1), "4.6.1"),
    ((32, 6, 1), "4.6"),
    ((32, 5, 2), "4.5.1"),
    ((32, 5, 1), "4.5.1"),
    ((32, 5, 0), "4.5"),
    ((32, 4, 4), "4.4.1"),
    ((32, 4, 3), "4.4"),
    ((32, 4, 2), "4.4 DP"),
    ((32, 3, 1), "4.3"),
    ((32, 2, 3), "4.2.3"),
    ((32, 2, 1), "4.2.2"),
    ((32, 2, 0), "4.2.1"),
    ((32, 1, 0), "4.2"),
    ((31, 1, 0), "4.1.1"),
    ((31, 0, 2), "4.1"),
    ((31, 0, 1), "4.0"),
];

/// The JetPack release for an L4T release: the exact entry first, then the
/// entry for `release.revision` with minor 0; `None` when neither is known.
pub fn jetpack_for(l4t: L4tRelease) -> Option<&'static str> {
    let find = |key: (u16, u16, u16)| JETPACK.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    find((l4t.release, l4t.revision, l4t.minor)).or_else(|| find((l4t.release, l4t.revision, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jp(text: &[u8]) -> (L4tRelease, Option<&'static str>) {
        let l = parse_nv_tegra_release(text).unwrap();
        (l, jetpack_for(l))
    }

    #[test]
    fn every_shared_fixture_maps_to_its_jetpack() {
        type Case = (&'static [u8], (u16, u16, u16), &'static str);
        let cases: [Case; 4] = [
            (
                include_bytes!("../../../tests/fixtures/l4t-r32.7.6-nano/etc/nv_tegra_release"),
                (32, 7, 6),
                "4.6.6",
            ),
            (
                include_bytes!("../../../tests/fixtures/l4t-r35.2.1-orin-nx/etc/nv_tegra_release"),
                (35, 2, 1),
                "5.1",
            ),
            (
                include_bytes!("../../../tests/fixtures/l4t-r36.3.0/etc/nv_tegra_release"),
                (36, 3, 0),
                "6.0",
            ),
            (
                include_bytes!(
                    "../../../tests/fixtures/orin-nano-super-jp6.2.1-r36.4.7/etc/nv_tegra_release"
                ),
                (36, 4, 7),
                "6.2.1",
            ),
        ];
        for (text, (r, v, m), want) in cases {
            let (l, j) = jp(text);
            assert_eq!((l.release, l.revision, l.minor), (r, v, m));
            assert_eq!(j, Some(want));
        }
    }

    #[test]
    fn verbatim_lines_from_the_doc() {
        // R39 prints a 12-hour DATE; only the first fields matter.
        let (l, j) = jp(b"# R39 (release), REVISION: 2.0, GCID: 45755727, BOARD: generic, EABI: aarch64, DATE: Mon Jun  1 09:28:48 PM UTC 2026\n");
        assert_eq!((l.release, l.revision, l.minor), (39, 2, 0));
        assert_eq!(j, Some("7.2 GA"));
        let (_, j) = jp(b"# R32 (release), REVISION: 4.3, GCID: 21589087, BOARD: t186ref, EABI: aarch64, DATE: Fri Jun 26 04:34:27 UTC 2020");
        assert_eq!(j, Some("4.4"));
    }

    #[test]
    fn missing_minor_and_fallback_to_minor_zero() {
        let (l, j) = jp(b"# R32 (release), REVISION: 5, GCID: 1\n");
        assert_eq!(l.minor, 0);
        assert_eq!(j, Some("4.5"));
        // 36.4.9 is not in the table: release.revision with minor 0.
        let l = L4tRelease {
            release: 36,
            revision: 4,
            minor: 9,
        };
        assert_eq!(jetpack_for(l), Some("6.1"));
        let l = L4tRelease {
            release: 99,
            revision: 0,
            minor: 0,
        };
        assert_eq!(jetpack_for(l), None);
    }

    #[test]
    fn only_line_one_counts_and_junk_is_an_error() {
        assert_eq!(parse_nv_tegra_release(b""), Err(ParseError::Empty));
        assert_eq!(
            parse_nv_tegra_release(
                b"TARGET_USERSPACE_LIB_DIR=nvidia\n# R36 (release), REVISION: 3.0"
            ),
            Err(ParseError::Malformed("`# R<release>`"))
        );
        assert_eq!(
            parse_nv_tegra_release(b"# R36 (release)"),
            Err(ParseError::MissingField("REVISION"))
        );
        assert_eq!(
            parse_nv_tegra_release(b"# R99999 (release), REVISION: 1.0"),
            Err(ParseError::BadNumber("release"))
        );
    }
}
