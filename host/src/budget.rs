//! `record --budget SIZE|PERCENT`: the memory budget the recorder's
//! `budget-exceeded` events and the report's headroom are measured against.
//! A size is binary with `K`/`M`/`G`/`T` or `KiB`…`TiB`, decimal with
//! `kB`/`MB`/`GB`/`TB`, bytes when bare; a percent is of MemTotal.

use std::path::Path;

use jetmem_core::parse::meminfo::parse_meminfo;

/// A budget as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Bytes(u64),
    /// Tenths of a percent of MemTotal.
    Permille(u32),
}

/// Parses `6GiB`, `6G`, `6000MB`, `1073741824`, `75%`, `62.5%`.
pub fn parse_budget(s: &str) -> Result<Budget, String> {
    let t = s.trim();
    let bad = || format!("`{s}` is not a size or a percent (try 6GiB, 6000MB, 75%)");
    if let Some(p) = t.strip_suffix('%') {
        let v: f64 = p.trim().parse().map_err(|_| bad())?;
        if !(v > 0.0 && v <= 100.0) {
            return Err(format!(
                "`{s}`: a percent of MemTotal must be over 0 and at most 100"
            ));
        }
        return Ok(Budget::Permille((v * 10.0).round() as u32));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return Err(bad()),
    };
    let bytes = v * scale as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{s}` must be at least one byte"));
    }
    Ok(Budget::Bytes(bytes.round() as u64))
}

impl Budget {
    /// The budget in bytes; a percent reads MemTotal from `root`/proc/meminfo.
    pub fn bytes(self, root: &Path) -> Result<u64, String> {
        match self {
            Budget::Bytes(b) => Ok(b),
            Budget::Permille(p) => {
                let path = root.join("proc/meminfo");
                let text = std::fs::read(&path)
                    .map_err(|e| format!("--budget: cannot read {}: {e}", path.display()))?;
                let total = parse_meminfo(&text)
                    .ok()
                    .and_then(|m| m.mem_total)
                    .ok_or_else(|| format!("--budget: no MemTotal in {}", path.display()))?;
                Ok((u128::from(total) * u128::from(p) / 1000) as u64)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_percents() {
        assert_eq!(parse_budget("6GiB"), Ok(Budget::Bytes(6 << 30)));
        assert_eq!(parse_budget("6G"), Ok(Budget::Bytes(6 << 30)));
        assert_eq!(parse_budget("1.5M"), Ok(Budget::Bytes(3 << 19)));
        assert_eq!(parse_budget("6000MB"), Ok(Budget::Bytes(6_000_000_000)));
        assert_eq!(parse_budget("4096"), Ok(Budget::Bytes(4096)));
        assert_eq!(parse_budget("75%"), Ok(Budget::Permille(750)));
        assert_eq!(parse_budget("62.5 %"), Ok(Budget::Permille(625)));
        for bad in ["", "%", "0%", "101%", "6 parsecs", "0", "-1G", "G"] {
            assert!(parse_budget(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_percent_is_of_the_captured_mem_total() {
        let root = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/nano-4gb-jp4.6-meminfo"
        ));
        let text = std::fs::read(root.join("proc/meminfo")).unwrap();
        let total = parse_meminfo(&text).unwrap().mem_total.unwrap();
        assert_eq!(Budget::Permille(500).bytes(root), Ok(total / 2));
        assert!(
            Budget::Permille(500)
                .bytes(Path::new("/nonexistent"))
                .is_err()
        );
    }
}
