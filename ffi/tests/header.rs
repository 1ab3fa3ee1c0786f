//! The committed header agrees with this crate: version defines with
//! Cargo.toml, status and mark-kind numbers with the Rust enums.

use jetmem::jetmem_mark_kind;
use jetmem::status::jetmem_status;

const HEADER: &str = include_str!("../include/jetmem.h");

/// The value of `#define NAME value` in the header.
fn define(name: &str) -> Option<&'static str> {
    HEADER.lines().find_map(|l| {
        let rest = l.strip_prefix("#define ")?.strip_prefix(name)?;
        rest.starts_with(' ').then(|| rest.trim())
    })
}

/// The value of `NAME = value,` inside an enum in the header.
fn enumerator(name: &str) -> Option<i64> {
    HEADER.lines().find_map(|l| {
        let (lhs, rhs) = l.trim().split_once('=')?;
        (lhs.trim() == name).then(|| rhs.trim().trim_end_matches(',').trim().parse().ok())?
    })
}

#[test]
fn version_defines_match_cargo_toml() {
    assert_eq!(
        define("JETMEM_VERSION_MAJOR"),
        Some(env!("CARGO_PKG_VERSION_MAJOR"))
    );
    assert_eq!(
        define("JETMEM_VERSION_MINOR"),
        Some(env!("CARGO_PKG_VERSION_MINOR"))
    );
    assert_eq!(
        define("JETMEM_VERSION_PATCH"),
        Some(env!("CARGO_PKG_VERSION_PATCH"))
    );
    let quoted = format!("\"{}\"", env!("CARGO_PKG_VERSION"));
    assert_eq!(define("JETMEM_VERSION"), Some(quoted.as_str()));
}

fn screaming(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[test]
fn status_numbers_in_the_header_match_the_rust_enum() {
    for s in jetmem_status::all() {
        let name = format!("JETMEM_STATUS_{}", screaming(&format!("{s:?}")));
        assert_eq!(enumerator(&name), Some(s as i64), "{name}");
    }
    // The fixed numbers of the ABI, spelled out: a renumbering must fail here.
    assert_eq!(enumerator("JETMEM_STATUS_OK"), Some(0));
    assert_eq!(enumerator("JETMEM_STATUS_ALREADY_STOPPED"), Some(4));
    assert_eq!(enumerator("JETMEM_STATUS_PANIC"), Some(9));
    assert_eq!(enumerator("JETMEM_STATUS_SAMPLER_ERROR"), Some(10));
}

#[test]
fn mark_kinds_in_the_header_match_the_rust_enum() {
    assert_eq!(
        enumerator("JETMEM_MARK_KIND_BEGIN"),
        Some(jetmem_mark_kind::Begin as i64)
    );
    assert_eq!(
        enumerator("JETMEM_MARK_KIND_END"),
        Some(jetmem_mark_kind::End as i64)
    );
    assert_eq!(
        enumerator("JETMEM_MARK_KIND_INSTANT"),
        Some(jetmem_mark_kind::Instant as i64)
    );
}
