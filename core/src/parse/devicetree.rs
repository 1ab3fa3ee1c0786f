//! Device-tree `model` and `compatible`
//! (`/sys/firmware/devicetree/base/…`, also reachable as `/proc/device-tree/…`).
//!
//! ```text
//! model:      NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super\0
//! compatible: nvidia,p3737-0000+p3701-0005\0nvidia,p3701-0005\0nvidia,tegra234\0nvidia,tegra23x\0
//! ```
//!
//! Both are NUL-terminated strings; `compatible` is a NUL-separated list from
//! most to least specific, the SoC last.

use crate::record::{MODEL_LEN, SOC_LEN};
use crate::text::from_utf8_lossy;
use heapless::String;

/// The board model without its trailing NULs (and whitespace); invalid UTF-8
/// becomes U+FFFD. Cut to [`MODEL_LEN`] bytes.
pub fn parse_model(bytes: &[u8]) -> String<MODEL_LEN> {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0 && !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    // A NUL inside the string ends it, as C readers see it.
    let s = bytes.get(..end).unwrap_or_default();
    let s = s.split(|&b| b == 0).next().unwrap_or_default();
    from_utf8_lossy(s)
}

/// The SoC named by the last `nvidia,tegraNNN` entry (digits only) of a
/// `compatible` list: `"tegra234"`. `None` when there is none.
pub fn soc_from_compatible(bytes: &[u8]) -> Option<String<SOC_LEN>> {
    let entry = bytes.split(|&b| b == 0).rev().find_map(|e| {
        let soc = e.strip_prefix(b"nvidia,")?;
        let digits = soc.strip_prefix(b"tegra")?;
        (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)).then_some(soc)
    })?;
    Some(from_utf8_lossy(entry))
}

/// Whether any `compatible` entry names an NVIDIA Tegra SoC (`nvidia,tegra…`).
pub fn compatible_is_tegra(bytes: &[u8]) -> bool {
    bytes
        .split(|&b| b == 0)
        .any(|e| e.starts_with(b"nvidia,tegra"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &[u8] = include_bytes!(
        "../../../tests/fixtures/orin-nano-super-jp6.2.1-r36.4.7/sys/firmware/devicetree/base/model"
    );
    const COMPATIBLE: &[u8] = include_bytes!(
        "../../../tests/fixtures/orin-agx-64gb-compatible/sys/firmware/devicetree/base/compatible"
    );

    #[test]
    fn model_drops_the_trailing_nul() {
        assert_eq!(MODEL.last(), Some(&0));
        assert_eq!(
            parse_model(MODEL).as_str(),
            "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
        );
        assert_eq!(parse_model(b"jetson-nano\0\0").as_str(), "jetson-nano");
        assert_eq!(parse_model(b"").as_str(), "");
        assert_eq!(parse_model(b"ab\xffc\0").as_str(), "ab\u{FFFD}c");
    }

    #[test]
    fn compatible_gives_the_soc_not_the_family() {
        assert_eq!(
            soc_from_compatible(COMPATIBLE).unwrap().as_str(),
            "tegra234"
        );
        assert!(compatible_is_tegra(COMPATIBLE));
        assert_eq!(
            soc_from_compatible(b"nvidia,p3450-0000\0nvidia,tegra210\0")
                .unwrap()
                .as_str(),
            "tegra210"
        );
        assert_eq!(
            soc_from_compatible(b"raspberrypi,4-model-b\0brcm,bcm2711\0"),
            None
        );
        assert!(!compatible_is_tegra(
            b"raspberrypi,4-model-b\0brcm,bcm2711\0"
        ));
        assert_eq!(soc_from_compatible(b"nvidia,tegra\0"), None);
    }
}
