//! GPU load (`…/load`), per mille.
//!
//! ```text
//! 463
//! ```
//!
//! One integer, 0–1000 (tegrastats' `GR3D_FREQ` percent is this ÷ 10). The
//! file's place differs per board and JetPack: see [`GPU_LOAD_PATHS`].

use super::{ParseError, whole_u64};

/// Where the GPU load file lives, relative to `/`, most recent layouts first
/// (the paths tegrastats, htop, glances and jtop read). The sampler uses the
/// first that exists.
pub const GPU_LOAD_PATHS: &[&str] = &[
    // Orin JP5/JP6/JP7 (tegrastats IGPU_LOAD, glances).
    "sys/devices/platform/gpu.0/load",
    // Nano, AGX Xavier (JP4); also on Orin JP5 and Xavier NX.
    "sys/devices/gpu.0/load",
    // JP6 devfreq device link.
    "sys/class/devfreq/17000000.gpu/device/load",
    // Orin JP5 devfreq.
    "sys/class/devfreq/17000000.ga10b/device/load",
    // Xavier devfreq.
    "sys/class/devfreq/17000000.gv11b/device/load",
    // TX2.
    "sys/devices/17000000.gp10b/load",
    // Nano devfreq.
    "sys/class/devfreq/57000000.gpu/device/load",
    // Thor (JetPack 7, nvidia.ko).
    "sys/class/devfreq/gpu-gpc-0/load",
];

/// Parses a GPU `load` file: per mille.
pub fn parse_gpu_load(text: &[u8]) -> Result<u16, ParseError> {
    if text.trim_ascii().is_empty() {
        return Err(ParseError::Empty);
    }
    whole_u64(text)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or(ParseError::BadNumber("load"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_mille() {
        assert_eq!(parse_gpu_load(b"463\n"), Ok(463));
        assert_eq!(parse_gpu_load(b"0"), Ok(0));
        assert_eq!(parse_gpu_load(b"\n"), Err(ParseError::Empty));
        assert_eq!(parse_gpu_load(b"99999"), Err(ParseError::BadNumber("load")));
        assert!(
            GPU_LOAD_PATHS
                .iter()
                .all(|p| !p.starts_with('/') && p.ends_with("/load"))
        );
    }
}
