//! One line of `tegrastats` output (`tegrastats --logfile`), L4T R28 to JetPack 7.
//!
//! ```text
//! 04-11-2025 10:36:27 RAM 4321/62801MB (lfb 1759x4MB) SWAP 19/31400MB (cached 0MB) CPU [0%@729,…] EMC_FREQ 0%@2133 GR3D_FREQ 0%@[0,0] VIC_FREQ 729 APE 174 … VDD_GPU_SOC 2340mW/2340mW …
//! RAM 3691/3983MB (lfb 3x2MB) SWAP 2780/8192MB (cached 284MB) cpu [0%,0%,0%,0%]@1734 EMC 0%@1600 APE 25 GR3D 0%@998
//! ```
//!
//! What is kept: the optional `MM-DD-YYYY HH:MM:SS` prefix, `RAM used/totalMB`
//! with its `(lfb NxSIZE)`, `SWAP used/totalMB (cached NMB)`, the GPU
//! (`GR3D_FREQ`, or `GR3D` before JetPack 4) and the memory controller
//! (`EMC_FREQ`, or `EMC`). Their value is `x%@f`, `x%@[f,f,…]` (one frequency
//! per GPC since JetPack 6), a bare `x%` (run without root), or `@f` /
//! `@[f,…]` (no load: Thor, or a rail-gated GPU). Everything else (CPU, rails,
//! temperatures, engines) is skipped. tegrastats prints RAM and swap in whole
//! MiB (it writes "MB"): the byte values here are that MiB figure × 2²⁰, so
//! they carry a resolution of 1 MiB ([`RESOLUTION_BYTES`]).
//!
//! A line without `RAM used/total` is not a tegrastats sample.

use super::{ParseError, leading_u64, tokens};

/// The resolution of tegrastats' memory figures: whole MiB.
pub const RESOLUTION_BYTES: u64 = 1 << 20;

/// The line's own `MM-DD-YYYY HH:MM:SS` stamp (the board's local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Year (`2025`).
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60.
    pub second: u8,
}

/// `(lfb NxSIZE)`: `blocks` free blocks of `block_bytes` each, the largest free block size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lfb {
    /// How many free blocks of the largest size.
    pub blocks: u64,
    /// The largest free block's size in bytes (`4MB`, `2MB`, `512kB`).
    pub block_bytes: u64,
}

/// A load and clock pair (`GR3D_FREQ 12%@[1300,1300]`); either may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Engine {
    /// Load in percent (`12`), absent for `@f` forms.
    pub load_percent: Option<u8>,
    /// Clock in MHz; for a per-GPC array the highest of them. Absent for a bare `x%`.
    pub freq_mhz: Option<u32>,
}

/// The memory and load figures of one tegrastats line, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TegrastatsLine {
    /// The leading timestamp, when the line has one.
    pub stamp: Option<Stamp>,
    /// `RAM x/…`: tegrastats' "used" (bytes, MiB resolution).
    pub ram_used: u64,
    /// `RAM …/y`: tegrastats' total (bytes, MiB resolution; ≈ `MemTotal`).
    pub ram_total: u64,
    /// The largest free block.
    pub lfb: Option<Lfb>,
    /// `SWAP x/…` (bytes), absent when the line has no SWAP field.
    pub swap_used: Option<u64>,
    /// `SWAP …/y` (bytes).
    pub swap_total: Option<u64>,
    /// `(cached z)` after SWAP (bytes).
    pub swap_cached: Option<u64>,
    /// `GR3D_FREQ` / `GR3D`.
    pub gpu: Option<Engine>,
    /// `EMC_FREQ` / `EMC`.
    pub emc: Option<Engine>,
}

/// Parses one line of tegrastats output (without or with its newline).
pub fn parse_tegrastats_line(line: &[u8]) -> Result<TegrastatsLine, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut out = TegrastatsLine {
        stamp: None,
        ram_used: 0,
        ram_total: 0,
        lfb: None,
        swap_used: None,
        swap_total: None,
        swap_cached: None,
        gpu: None,
        emc: None,
    };
    let mut ram = false;
    let mut it = tokens(line).peekable();
    let mut first = true;
    while let Some(tok) = it.next() {
        if first {
            first = false;
            if let Some(date) = parse_date(tok) {
                let time = it
                    .next()
                    .and_then(parse_time)
                    .ok_or(ParseError::Malformed("HH:MM:SS after the MM-DD-YYYY date"))?;
                out.stamp = Some(date.with(time));
                continue;
            }
        }
        match tok {
            b"RAM" if !ram => {
                let (u, t) = it
                    .next()
                    .and_then(|v| used_total(v, b"MB"))
                    .ok_or(ParseError::Malformed("RAM used/totalMB"))?;
                out.ram_used = u;
                out.ram_total = t;
                ram = true;
                if it.peek() == Some(&&b"(lfb"[..]) {
                    let _ = it.next();
                    out.lfb = it.next().and_then(parse_lfb);
                }
            }
            b"SWAP" => {
                let (u, t) = it
                    .next()
                    .and_then(|v| used_total(v, b"MB"))
                    .ok_or(ParseError::Malformed("SWAP used/totalMB"))?;
                out.swap_used = Some(u);
                out.swap_total = Some(t);
                if it.peek() == Some(&&b"(cached"[..]) {
                    let _ = it.next();
                    out.swap_cached = it
                        .next()
                        .and_then(|v| v.strip_suffix(b")"))
                        .and_then(|v| size(v, b"MB"));
                }
            }
            b"GR3D_FREQ" | b"GR3D" => out.gpu = it.peek().and_then(|v| parse_engine(v)),
            b"EMC_FREQ" | b"EMC" => out.emc = it.peek().and_then(|v| parse_engine(v)),
            _ => {}
        }
    }
    if ram {
        Ok(out)
    } else {
        Err(ParseError::MissingField("RAM"))
    }
}

impl Stamp {
    fn with(self, (hour, minute, second): (u8, u8, u8)) -> Stamp {
        Stamp {
            hour,
            minute,
            second,
            ..self
        }
    }
}

/// `MM-DD-YYYY`.
fn parse_date(tok: &[u8]) -> Option<Stamp> {
    let [m0, m1, b'-', d0, d1, b'-', y0, y1, y2, y3] = *tok else {
        return None;
    };
    let month = two(m0, m1)?;
    let day = two(d0, d1)?;
    let year = u16::from(two(y0, y1)?) * 100 + u16::from(two(y2, y3)?);
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Stamp {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
    })
}

/// `HH:MM:SS`.
fn parse_time(tok: &[u8]) -> Option<(u8, u8, u8)> {
    let [h0, h1, b':', m0, m1, b':', s0, s1] = *tok else {
        return None;
    };
    let (h, m, s) = (two(h0, h1)?, two(m0, m1)?, two(s0, s1)?);
    (h < 24 && m < 60 && s <= 60).then_some((h, m, s))
}

fn two(a: u8, b: u8) -> Option<u8> {
    let (a, b) = (a.wrapping_sub(b'0'), b.wrapping_sub(b'0'));
    // Lazily: `then_some` would compute `a * 10` for a non-digit and overflow.
    (a <= 9 && b <= 9).then(|| a * 10 + b)
}

/// Bytes per unit: `MB` is MiB and `kB` KiB (tegrastats' spelling); an empty unit is `default`.
fn unit_scale(unit: &[u8], default: &[u8]) -> Option<u64> {
    match if unit.is_empty() { default } else { unit } {
        b"MB" => Some(1 << 20),
        b"kB" | b"KB" => Some(1 << 10),
        _ => None,
    }
}

/// `N<unit>` in bytes.
fn size(tok: &[u8], default_unit: &[u8]) -> Option<u64> {
    let (n, used) = leading_u64(tok)?;
    n.checked_mul(unit_scale(tok.get(used..)?, default_unit)?)
}

/// `used/total<unit>` (`4321/62801MB`), both in bytes; the used figure carries the total's unit.
fn used_total(tok: &[u8], default_unit: &[u8]) -> Option<(u64, u64)> {
    let (u, n) = leading_u64(tok)?;
    let rest = tok.get(n..)?.strip_prefix(b"/")?;
    let (t, m) = leading_u64(rest)?;
    let scale = unit_scale(rest.get(m..)?, default_unit)?;
    Some((u.checked_mul(scale)?, t.checked_mul(scale)?))
}

/// `NxSIZE)` (`1759x4MB)`, `1x512kB)`).
fn parse_lfb(tok: &[u8]) -> Option<Lfb> {
    let tok = tok.strip_suffix(b")")?;
    let (blocks, n) = leading_u64(tok)?;
    let rest = tok.get(n..)?.strip_prefix(b"x")?;
    Some(Lfb {
        blocks,
        block_bytes: size(rest, b"MB")?,
    })
}

/// `x%@f`, `x%@[f,f]`, `x%`, `@f`, `@[f,f,f]`; `None` for anything else (`off`).
fn parse_engine(tok: &[u8]) -> Option<Engine> {
    let (load, rest) = match tok.iter().position(|&b| b == b'%') {
        Some(p) => {
            let digits = tok.get(..p)?;
            let (v, n) = leading_u64(digits)?;
            if n != digits.len() || v > 100 {
                return None;
            }
            (u8::try_from(v).ok(), tok.get(p + 1..)?)
        }
        None => (None, tok),
    };
    let freq = match rest {
        [] => None,
        [b'@', f @ ..] => Some(freq(f)?),
        _ => return None,
    };
    if load.is_none() && freq.is_none() {
        return None;
    }
    Some(Engine {
        load_percent: load,
        freq_mhz: freq,
    })
}

/// `f` or `[f,f,…]` in MHz; the highest of an array.
fn freq(f: &[u8]) -> Option<u32> {
    let list = match f {
        [b'[', inner @ .., b']'] => inner,
        _ => f,
    };
    let mut max: Option<u32> = None;
    for part in list.split(|&b| b == b',') {
        let (v, n) = leading_u64(part)?;
        if n != part.len() {
            return None;
        }
        let v = u32::try_from(v).ok()?;
        max = Some(max.map_or(v, |m| m.max(v)));
    }
    max
}

#[cfg(test)]
mod tests;
