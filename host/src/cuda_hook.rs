//! `jetmem record --cuda-hook`: where the interposer library is and how it is
//! put in the traced command's `LD_PRELOAD` (docs/cuda-hook.md).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// The interposer's file name (built by the `jetmem-cudahook` crate).
pub const LIBRARY: &str = "libjetmem_cudahook.so";

/// Where the library is looked for, in order, for a jetmem binary at `exe`:
/// beside it (a cargo build), then `../lib/jetmem/` (the .deb: /usr/lib/jetmem).
pub fn candidates(exe: &Path) -> Vec<PathBuf> {
    let dir = exe.parent().unwrap_or(Path::new("."));
    vec![
        dir.join(LIBRARY),
        dir.join("..").join("lib").join("jetmem").join(LIBRARY),
    ]
}

/// The interposer for this jetmem binary, or an error naming where it looked.
pub fn library() -> Result<PathBuf, CliError> {
    let exe = std::env::current_exe().map_err(|e| CliError::CudaHook(format!("{e}")))?;
    let tried = candidates(&exe);
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
        CliError::CudaHook(format!(
            "{LIBRARY} not found (looked in {})",
            list.join(", ")
        ))
    })
}

/// `LD_PRELOAD` for the command: the hook first, then any existing value.
pub fn preload(lib: &Path, existing: Option<OsString>) -> OsString {
    let mut v = lib.as_os_str().to_owned();
    if let Some(old) = existing.filter(|o| !o.is_empty()) {
        v.push(":");
        v.push(old);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepended_to_an_existing_preload() {
        let lib = Path::new("/usr/lib/jetmem/libjetmem_cudahook.so");
        assert_eq!(preload(lib, None), lib.as_os_str());
        assert_eq!(preload(lib, Some(OsString::new())), lib.as_os_str());
        assert_eq!(
            preload(lib, Some("libother.so".into())),
            "/usr/lib/jetmem/libjetmem_cudahook.so:libother.so"
        );
        assert_eq!(
            candidates(Path::new("/usr/bin/jetmem")),
            [
                PathBuf::from("/usr/bin/libjetmem_cudahook.so"),
                PathBuf::from("/usr/bin/../lib/jetmem/libjetmem_cudahook.so")
            ]
        );
    }
}
