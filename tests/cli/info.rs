//! `jetmem info --json --root <fixture>` for every fixture root in tests/fixtures.

use serde_json::Value;

use crate::traces::{KIB, fixture, get, meminfo};
use crate::{jetmem, ok_stdout};

fn info(root: &std::path::Path) -> Value {
    let out = jetmem([
        "info".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
    ]);
    serde_json::from_str(&ok_stdout(&out)).unwrap()
}

/// What each fixture root must give; values from the fixture files and the L4T → JetPack table
/// in core/src/parse/nv_tegra_release.rs.
fn expect(name: &str, j: &Value) -> bool {
    let p = &j["platform"];
    match name {
        "l4t-r32.7.6-nano" => {
            assert_eq!(j["architecture"], "unified");
            assert_eq!(p["l4t"], "32.7.6");
            assert_eq!(p["jetpack"], "4.6.6");
        }
        "l4t-r35.2.1-orin-nx" => {
            assert_eq!(j["architecture"], "unified");
            assert_eq!(p["l4t"], "35.2.1");
            assert_eq!(p["jetpack"], "5.1");
        }
        "l4t-r36.3.0" => {
            assert_eq!(j["architecture"], "unified");
            assert_eq!(p["l4t"], "36.3.0");
            assert_eq!(p["jetpack"], "6.0");
        }
        "orin-nano-super-jp6.2.1-r36.4.7" => {
            assert_eq!(j["architecture"], "unified");
            assert_eq!(p["l4t"], "36.4.7");
            assert_eq!(p["jetpack"], "6.2.1");
            assert_eq!(
                p["model"],
                "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
            );
        }
        "orin-agx-64gb-compatible" => {
            assert_eq!(j["architecture"], "unified");
            assert_eq!(p["soc"], "tegra234");
            assert!(
                j["evidence"]
                    .as_array()
                    .unwrap()
                    .contains(&"dt-compatible-tegra".into())
            );
        }
        "nano-4gb-jp4.6-meminfo" => {
            let m = meminfo(&fixture("nano-4gb-jp4.6-meminfo/proc/meminfo"));
            assert_eq!(j["architecture"], "unified");
            assert!(
                j["evidence"]
                    .as_array()
                    .unwrap()
                    .contains(&"meminfo-nvmap".into())
            );
            assert_eq!(j["system"]["total_bytes"], get(&m, "MemTotal"));
            assert_eq!(
                j["system"]["used_bytes"],
                get(&m, "MemTotal") - get(&m, "MemAvailable")
            );
            assert_eq!(j["system"]["available_bytes"], get(&m, "MemAvailable"));
            // tegrastats/jtop "used": hand-computed from the capture,
            // 4059240 − 313692 − 57932 − 362944 = 3 324 672 KiB.
            assert_eq!(
                j["system"]["used_tegrastats_bytes"],
                get(&m, "MemTotal") - get(&m, "MemFree") - get(&m, "Buffers") - get(&m, "Cached")
            );
            assert_eq!(j["system"]["used_tegrastats_bytes"], 3_324_672 * KIB);
            assert_eq!(j["gpu"]["source"], "meminfo-nvmap");
            assert_eq!(j["gpu"]["used_bytes"], 244_748 * KIB);
            assert_eq!(
                j["gpu"]["cpu_os_used_bytes"],
                get(&m, "MemTotal") - get(&m, "MemAvailable") - 244_748 * KIB
            );
        }
        "orin-jp5-jp6-meminfo-RECONSTRUCTED" => {
            // Only a meminfo without NvMap lines: nothing says Jetson, and no GPU source.
            assert_eq!(j["system"]["total_bytes"], 7_802_880 * KIB);
            assert_eq!(j["system"]["available_bytes"], 5_023_744 * KIB);
            assert_eq!(j["gpu"]["used_bytes"], Value::Null);
            assert_eq!(j["gpu"]["source"], Value::Null);
            assert!(j["gpu"]["reason"].as_str().is_some_and(|r| !r.is_empty()));
        }
        "orin-nano-jp6-meminfo-tegrastats-pair" => {
            // The captured pair of issue #17: ours 1520 MiB, tegrastats/jtop's 1276 MiB, and
            // tegrastats itself printed "RAM 1273/7620MB" a second later (tegrastats.txt).
            let m = meminfo(&fixture(
                "orin-nano-jp6-meminfo-tegrastats-pair/proc/meminfo",
            ));
            let (used, tfbc) = (1_557_140 * KIB, 1_306_956 * KIB);
            assert_eq!(
                get(&m, "MemTotal") - get(&m, "MemAvailable"),
                used,
                "7802736 - 6245596 kB"
            );
            assert_eq!(j["system"]["used_bytes"], used);
            assert_eq!(used >> 20, 1520);
            assert_eq!(
                j["system"]["used_tegrastats_bytes"],
                get(&m, "MemTotal") - get(&m, "MemFree") - get(&m, "Buffers") - get(&m, "Cached")
            );
            assert_eq!(j["system"]["used_tegrastats_bytes"], tfbc);
            assert_eq!(tfbc >> 20, 1276, "7802736 - 3668508 - 633812 - 2193460 kB");
            let line = std::fs::read_to_string(fixture(
                "orin-nano-jp6-meminfo-tegrastats-pair/tegrastats.txt",
            ))
            .unwrap();
            assert!(line.contains("RAM 1273/7620MB"));
            // 7802736 kB = 7619.9 MiB: tegrastats rounds to the nearest MiB, not down.
            assert_eq!(
                (get(&m, "MemTotal") + (1 << 19)) >> 20,
                7620,
                "tegrastats' total is MemTotal in MiB"
            );
            assert_eq!(j["gpu"]["source"], Value::Null);
        }
        "nvmap-iovmm-clients-gimbal" => {
            // The clients table is readable: its `total` row (141896K) is the GPU source.
            assert_eq!(j["gpu"]["source"], "nvmap-clients");
        }
        _ => return false,
    }
    // No fixture root has CUDA: it is never probed under --root.
    assert_eq!(p["cuda_device"], Value::Null);
    true
}

#[test]
fn every_fixture_root_gives_the_expected_info() {
    let dir = fixture("");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let is_root = ["etc", "proc", "sys"].iter().any(|d| path.join(d).is_dir());
        if !is_root {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let j = info(&path);
        for key in [
            "format_version",
            "architecture",
            "platform",
            "system",
            "gpu",
            "cuda",
            "sources",
        ] {
            assert!(j.get(key).is_some(), "{name}: {key} missing");
        }
        assert!(
            expect(&name, &j),
            "fixture root {name} has no expectation: add one"
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} fixture roots");
}

#[test]
fn a_missing_root_is_an_error_naming_it() {
    let root = std::path::Path::new("/nonexistent-jetmem-root");
    for cmd in [
        &["info", "--root"][..],
        &["monitor", "--count", "1", "--root"][..],
    ] {
        let mut args: Vec<&std::ffi::OsStr> = cmd.iter().map(|a| a.as_ref()).collect();
        args.push(root.as_os_str());
        let out = jetmem(args);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("/nonexistent-jetmem-root") && err.contains("No such file"),
            "{cmd:?}: {err}"
        );
    }
}

/// The text form shows tegrastats/jtop's "used" beside ours, with the reason they differ.
#[test]
fn text_shows_both_used_definitions() {
    let root = fixture("nano-4gb-jp4.6-meminfo");
    let text = ok_stdout(&jetmem([
        "info".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
    ]));
    // 3 466 544 KiB = 3.31 GiB (MemTotal - MemAvailable); 3 324 672 KiB = 3.17 GiB (T-F-B-C).
    assert!(
        text.contains("System memory: 3.31 GiB used of 3.87 GiB (MemTotal - MemAvailable"),
        "{text}"
    );
    assert!(
        text.contains(
            "  used (tegrastats/jtop definition): 3.17 GiB (MemTotal - MemFree - Buffers - Cached)"
        ),
        "{text}"
    );
    assert!(text.contains("differs: tegrastats/jtop count all of Buffers and Cached as free"));
}
