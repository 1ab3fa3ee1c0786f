//! Printing sizes and times for people: MiB/GiB with the unit, seconds.

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = MIB * 1024.0;

/// `6.20 GiB` at or above 1 GiB, else `512.0 MiB`.
pub fn bytes(b: u64) -> String {
    let f = b as f64;
    if f >= GIB {
        format!("{:.2} GiB", f / GIB)
    } else {
        format!("{:.1} MiB", f / MIB)
    }
}

/// One binary unit for a whole column, chosen from its largest value by the
/// rule of [`bytes`]: GiB at or above 1 GiB, else MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnUnit {
    MiB,
    GiB,
}

impl ColumnUnit {
    /// The unit for values whose largest magnitude is `max`.
    pub fn for_max(max: u64) -> Self {
        if max as f64 >= GIB {
            ColumnUnit::GiB
        } else {
            ColumnUnit::MiB
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            ColumnUnit::MiB => "MiB",
            ColumnUnit::GiB => "GiB",
        }
    }

    /// `v` in this unit without its name (`512.0`, `1.25`).
    pub fn plain(self, v: u64) -> String {
        match self {
            ColumnUnit::MiB => format!("{:.1}", v as f64 / MIB),
            ColumnUnit::GiB => format!("{:.2}", v as f64 / GIB),
        }
    }

    /// `v` in this unit without its name and with its sign (`+512.0`, `-1.25`).
    pub fn signed(self, v: i64) -> String {
        match self {
            ColumnUnit::MiB => format!("{:+.1}", v as f64 / MIB),
            ColumnUnit::GiB => format!("{:+.2}", v as f64 / GIB),
        }
    }
}

/// `1 sample`, `2 samples`: a count with its noun in the right number.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Like [`bytes`], `unknown` for `None`.
pub fn opt_bytes(b: Option<u64>) -> String {
    b.map_or_else(|| "unknown".to_owned(), bytes)
}

/// A signed size (headroom can be negative).
pub fn signed_bytes(b: i64) -> String {
    if b < 0 {
        format!("-{}", bytes(b.unsigned_abs()))
    } else {
        bytes(b as u64)
    }
}

/// Bytes as MiB with two decimals, for CSV and Markdown cells.
pub fn mib(b: u64) -> f64 {
    (b as f64 / MIB * 100.0).round() / 100.0
}

/// Nanoseconds as seconds rounded to the millisecond.
pub fn secs(ns: u64) -> f64 {
    (ns as f64 / 1e6).round() / 1e3
}

/// Share of `part` in `whole` in whole percent.
pub fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    ((part as f64 / whole as f64) * 100.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_carry_their_unit() {
        assert_eq!(bytes(6_657_199_309), "6.20 GiB");
        assert_eq!(bytes(300 << 20), "300.0 MiB");
        assert_eq!(signed_bytes(-(1 << 30)), "-1.00 GiB");
        assert_eq!(percent(83, 100), 83);
        assert_eq!(secs(1_234_567_890), 1.235);
        assert_eq!(count(1, "sample", "samples"), "1 sample");
        assert_eq!(count(0, "frame", "frames"), "0 frames");
        assert_eq!(ColumnUnit::for_max(1 << 30), ColumnUnit::GiB);
        assert_eq!(ColumnUnit::for_max((1 << 30) - 1), ColumnUnit::MiB);
        assert_eq!(ColumnUnit::MiB.signed(-(300 << 20)), "-300.0");
        assert_eq!(ColumnUnit::GiB.signed(3 << 29), "+1.50");
        assert_eq!(ColumnUnit::GiB.plain(3 << 29), "1.50");
        assert_eq!(ColumnUnit::MiB.plain(300 << 20), "300.0");
    }
}
