//! The fuzz targets' bodies (`jetmem_core::fuzz_entry`) driven by proptest
//! in the normal suite: no parser panics on any bytes, and the cached-layout
//! meminfo parser always agrees with the keyed parse.

use jetmem_core::fuzz_entry as fuzz;
use jetmem_core::parse::meminfo::{MeminfoParser, parse_meminfo};
use proptest::prelude::*;

const NANO: &[u8] = include_bytes!("../../tests/fixtures/nano-4gb-jp4.6-meminfo/proc/meminfo");
const ORIN: &[u8] =
    include_bytes!("../../tests/fixtures/orin-jp5-jp6-meminfo-RECONSTRUCTED/proc/meminfo");
const CLIENTS: &[u8] = include_bytes!(
    "../../tests/fixtures/nvmap-iovmm-clients-gimbal/sys/kernel/debug/nvmap/iovmm/clients"
);

/// A real file with a few bytes overwritten.
fn mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8).prop_map(
        move |edits| {
            let mut v = base.to_vec();
            for (i, b) in edits {
                let at = i.index(v.len());
                v[at] = b;
            }
            v
        },
    )
}

/// The Nano capture with every number replaced (any width).
fn renumbered() -> impl Strategy<Value = Vec<u8>> {
    let lines: Vec<&'static str> = std::str::from_utf8(NANO).unwrap().lines().collect();
    let n = lines.len();
    prop::collection::vec(0u64..10_000_000_000, n).prop_map(move |nums| {
        let mut out = String::new();
        for (line, v) in lines.iter().zip(nums) {
            let (key, rest) = line.split_once(':').unwrap();
            let unit = if rest.ends_with("kB") { " kB" } else { "" };
            out.push_str(&format!(
                "{key}:{v:>width$}{unit}\n",
                width = 24 - key.len() - 1
            ));
        }
        out.into_bytes()
    })
}

fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        mutated(NANO),
        mutated(ORIN),
        mutated(CLIENTS),
        "[a-zA-Z_():]{1,16}: *[0-9]{0,22} ?(kB|K|M|G)?\n".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn meminfo_never_panics_and_paths_agree(data in any_input()) {
        prop_assert!(fuzz::meminfo(&data));
    }

    #[test]
    fn status_never_panics(data in any_input()) {
        prop_assert!(fuzz::status(&data));
    }

    #[test]
    fn nvmap_never_panics(data in any_input()) {
        prop_assert!(fuzz::nvmap(&data));
    }

    #[test]
    fn misc_never_panics(data in any_input()) {
        prop_assert!(fuzz::misc(&data));
    }

    /// A long-lived parser fed a sequence of reads whose values change width
    /// always returns what the keyed parse returns.
    #[test]
    fn cached_layout_tracks_changing_values(reads in prop::collection::vec(renumbered(), 1..6)) {
        let mut p = MeminfoParser::new();
        for r in &reads {
            prop_assert_eq!(p.parse(r), parse_meminfo(r));
            prop_assert_eq!(p.parse(r), parse_meminfo(r));
        }
        prop_assert!(p.fast_hits() >= reads.len() as u64);
    }
}
