//! The integer encodings of the trace format.
//!
//! Unsigned integers are LEB128 varints exactly as postcard writes them (7 bits
//! a byte, least significant group first, high bit = more). Signed values are
//! zigzag-mapped first, as postcard does. Counter deltas use a *scaled* form:
//! memory figures are almost always whole KiB, so a delta that is a multiple of
//! 1024 is stored divided by 1024 with the low bit set.

/// Largest encoded size of a `u64` varint.
pub const MAX_VARINT_LEN: usize = 10;

/// Maps a signed value to unsigned so that small magnitudes stay small.
#[inline]
pub const fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub const fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Writes `v` as a varint at `buf[*pos..]`; `None` when it does not fit.
#[inline]
pub fn put(buf: &mut [u8], pos: &mut usize, mut v: u64) -> Option<()> {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let slot = buf.get_mut(*pos)?;
        *pos += 1;
        if v == 0 {
            *slot = byte;
            return Some(());
        }
        *slot = byte | 0x80;
    }
}

/// Reads a varint from `buf[*pos..]`; `None` on end of input or more than 64 bits.
#[inline]
pub fn get(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut out: u64 = 0;
    let mut shift = 0u32;
    loop {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        if shift == 63 && byte > 1 {
            return None;
        }
        out |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(out);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Encodes a counter delta (`new − old`, wrapping) in the scaled form.
///
/// `None` when the magnitude is too large for the form (≥ 2^62 bytes); the
/// encoder then writes a key sample instead.
#[inline]
pub const fn scaled_delta(delta: i64) -> Option<u64> {
    if delta % 1024 == 0 {
        Some((zigzag(delta / 1024) << 1) | 1)
    } else if delta > -(1 << 61) && delta < (1 << 61) {
        Some(zigzag(delta) << 1)
    } else {
        None
    }
}

/// Inverse of [`scaled_delta`].
#[inline]
pub const fn unscaled_delta(w: u64) -> i64 {
    if w & 1 == 1 {
        unzigzag(w >> 1).wrapping_mul(1024)
    } else {
        unzigzag(w >> 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_postcard() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut buf = [0u8; MAX_VARINT_LEN];
            let mut n = 0;
            put(&mut buf, &mut n, v).unwrap();
            let theirs = postcard::to_slice(&v, &mut [0u8; 16]).unwrap().to_vec();
            assert_eq!(&buf[..n], &theirs[..], "value {v}");
            let mut p = 0;
            assert_eq!(get(&buf[..n], &mut p), Some(v));
            assert_eq!(p, n);
        }
        let mut p = 0;
        assert_eq!(get(&[0xff; 11], &mut p), None);
        assert_eq!(get(&[0x80], &mut 0), None);
    }

    #[test]
    fn zigzag_matches_postcard() {
        for v in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            let ours = {
                let mut b = [0u8; 10];
                let mut n = 0;
                put(&mut b, &mut n, zigzag(v)).unwrap();
                b[..n].to_vec()
            };
            let theirs = postcard::to_slice(&v, &mut [0u8; 16]).unwrap().to_vec();
            assert_eq!(ours, theirs);
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn scaled_round_trip_and_size() {
        for d in [
            0i64,
            1,
            -1,
            1024,
            -4096,
            409_600,
            1023,
            -(1 << 40),
            (1 << 60) + 3,
        ] {
            let w = scaled_delta(d).unwrap();
            assert_eq!(unscaled_delta(w), d, "delta {d}");
        }
        // 100 pages of 4 KiB in one varint byte pair instead of three bytes.
        assert!(scaled_delta(409_600).unwrap() < 1 << 14);
        assert_eq!(scaled_delta(i64::MAX), None);
        assert!(scaled_delta(i64::MIN).is_some());
        assert_eq!(unscaled_delta(scaled_delta(i64::MIN).unwrap()), i64::MIN);
    }
}
