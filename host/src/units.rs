//! Printing sizes and times for people: MiB/GiB with the unit, seconds.

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = MIB * 1024.0;

use std::sync::OnceLock;

/// The unit every human-readable size is printed in (`--units`); unset,
/// binary units chosen by size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Units {
    Mib,
    Gib,
    Mb,
    Gb,
    Bytes,
}

static CHOSEN: OnceLock<Units> = OnceLock::new();

/// Sets `--units` for this run (once, before anything is printed).
pub fn choose(u: Units) {
    let _ = CHOSEN.set(u);
}

/// `6.20 GiB` at or above 1 GiB, else `512.0 MiB` (or in `--units`).
pub fn bytes(b: u64) -> String {
    let u = ColumnUnit::for_max(b);
    format!("{} {}", u.plain(b), u.name())
}

/// One unit for a whole column, chosen from its largest value by the rule of
/// [`bytes`]: GiB at or above 1 GiB, else MiB; always the `--units` unit when
/// one was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnUnit {
    MiB,
    GiB,
    MB,
    GB,
    B,
}

impl ColumnUnit {
    /// The unit for values whose largest magnitude is `max`.
    pub fn for_max(max: u64) -> Self {
        match CHOSEN.get() {
            Some(Units::Mib) => ColumnUnit::MiB,
            Some(Units::Gib) => ColumnUnit::GiB,
            Some(Units::Mb) => ColumnUnit::MB,
            Some(Units::Gb) => ColumnUnit::GB,
            Some(Units::Bytes) => ColumnUnit::B,
            None if max as f64 >= GIB => ColumnUnit::GiB,
            None => ColumnUnit::MiB,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            ColumnUnit::MiB => "MiB",
            ColumnUnit::GiB => "GiB",
            ColumnUnit::MB => "MB",
            ColumnUnit::GB => "GB",
            ColumnUnit::B => "B",
        }
    }

    /// Bytes per unit and decimals shown.
    const fn scale(self) -> (f64, usize) {
        match self {
            ColumnUnit::MiB => (MIB, 1),
            ColumnUnit::GiB => (GIB, 2),
            ColumnUnit::MB => (1e6, 1),
            ColumnUnit::GB => (1e9, 2),
            ColumnUnit::B => (1.0, 0),
        }
    }

    /// `v` in this unit without its name (`512.0`, `1.25`).
    pub fn plain(self, v: u64) -> String {
        let (s, d) = self.scale();
        format!("{:.d$}", v as f64 / s)
    }

    /// `v` in this unit without its name and with its sign (`+512.0`, `-1.25`).
    pub fn signed(self, v: i64) -> String {
        let (s, d) = self.scale();
        format!("{:+.d$}", v as f64 / s)
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

/// Nanoseconds as seconds rounded to the microsecond (intervals, lateness).
pub fn micro_secs(ns: u64) -> f64 {
    (ns as f64 / 1e3).round() / 1e6
}

/// A count with a thin space every three digits: `15 000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
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
        assert_eq!(micro_secs(312_600), 0.000313);
        assert_eq!(grouped(15_000), "15 000");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1 234 567");
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
