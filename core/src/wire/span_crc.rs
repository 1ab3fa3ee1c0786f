//! CRC-32C of any span of a buffer in constant time, for the resync search.
//!
//! A damaged trace can hold a fake frame header every 12 bytes, each claiming
//! a 1 MiB payload. Checking every candidate by reading its payload again
//! costs O(N × 1 MiB). Instead, the reader keeps the raw CRC state after every
//! byte of its buffer (one table step per byte, each byte once); the CRC of
//! the span `a..b` then follows from the states at `a` and `b` and one
//! multiplication by x^(8(b−a)) mod P. So a candidate costs O(1) however long
//! it claims to be, and a whole input decodes in O(N) (docs/trace-format.md,
//! section 7.1).
//!
//! Memory: 4 bytes per buffered byte for the states, and 4 bytes per byte of
//! the longest span checked for the powers of x (at most 4 × 1 MiB).

use super::crc;

/// The reflected CRC-32C polynomial.
const POLY: u32 = 0x82F6_3B78;

/// One byte of the raw (uninverted) reflected CRC-32C, by table.
#[allow(clippy::indexing_slicing)] // const evaluation: i < 256 by the loop
const BYTE_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

#[inline]
fn step(state: u32, byte: u8) -> u32 {
    let i = usize::from((state as u8) ^ byte);
    (state >> 8) ^ BYTE_TABLE.get(i).copied().unwrap_or(0)
}

/// `a × b mod P`, both in the reflected bit order (x^0 is the top bit).
/// Branch-free: the bits of a fake length are not predictable.
fn mul_mod_p(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    for bit in (0..32).rev() {
        product ^= b & ((a >> bit) & 1).wrapping_neg();
        b = (b >> 1) ^ (POLY & (b & 1).wrapping_neg());
    }
    product
}

/// Bytes between two stored states.
const STRIDE: usize = 8;

/// Raw CRC states over a window of a buffer, and the powers of x^8.
#[derive(Debug, Default)]
pub(crate) struct SpanCrc {
    /// `states[i]`: the raw CRC state after feeding `buf[base..base + STRIDE·i]` from 0.
    states: Vec<u32>,
    /// Buffer index that `states[0]` stands for.
    base: usize,
    /// `powers[n]` = x^(8n) mod P: what feeding n zero bytes multiplies a state by.
    powers: Vec<u32>,
    /// Bytes stepped through the CRC.
    stepped: u64,
}

impl SpanCrc {
    /// The buffer dropped its first `by` bytes and moved the rest to the front.
    pub(crate) fn shift(&mut self, by: usize) {
        if self.base >= by {
            self.base -= by;
        } else {
            // The window starts before the new front: forget it.
            self.states.clear();
            self.base = 0;
        }
    }

    /// Bytes stepped through the CRC so far (each buffered byte about once).
    pub(crate) fn stepped(&self) -> u64 {
        self.stepped
    }

    fn power(&mut self, n: usize) -> u32 {
        if self.powers.is_empty() {
            self.powers.push(1 << 31);
        }
        while self.powers.len() <= n {
            let last = self.powers.last().copied().unwrap_or(1 << 31);
            self.powers.push(step(last, 0));
        }
        self.powers.get(n).copied().unwrap_or(0)
    }

    /// The raw state after feeding `buf[base..at]` from 0 (`at ≥ base`).
    fn state_at(&mut self, buf: &[u8], at: usize) -> u32 {
        let k = (at - self.base) / STRIDE;
        while self.states.len() <= k {
            let i = self.base + (self.states.len() - 1) * STRIDE;
            let last = self.states.last().copied().unwrap_or(0);
            let chunk = buf.get(i..i + STRIDE).unwrap_or(&[]);
            self.stepped += STRIDE as u64;
            self.states.push(crc::raw_update(last, chunk));
        }
        let from = self.base + k * STRIDE;
        let tail = buf.get(from..at).unwrap_or(&[]);
        self.stepped += tail.len() as u64;
        let s = self.states.get(k).copied().unwrap_or(0);
        tail.iter().fold(s, |s, &byte| step(s, byte))
    }

    /// The CRC-32C (with its usual inversions) of `prefix` followed by
    /// `buf[a..b]`, in O(|prefix| + STRIDE) amortised: each byte of the
    /// buffer goes through the CRC about once while the window moves forward.
    pub(crate) fn crc(&mut self, buf: &[u8], prefix: &[u8], a: usize, b: usize) -> u32 {
        let init = crc::raw_update(!0, prefix);
        if self.states.is_empty() || a < self.base {
            self.states.clear();
            self.states.push(0);
            self.base = a;
        }
        let sa = self.state_at(buf, a);
        let sb = self.state_at(buf, b);
        // S(init, M) = S(0, M) ⊕ init·x^(8|M|) and S(0, buf[a..b]) = s_b ⊕ s_a·x^(8|M|);
        // the product distributes over ⊕.
        sb ^ self.times_x8n(b - a, sa ^ init) ^ !0
    }

    /// `v · x^(8n) mod P`: by carry-less multiply where the CPU has one, else bit by bit.
    fn times_x8n(&mut self, n: usize, v: u32) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if n >= 4
            && std::is_x86_feature_detected!("pclmulqdq")
            && std::is_x86_feature_detected!("sse4.2")
        {
            let p = self.power(n - 4);
            // SAFETY: the CPU has PCLMULQDQ and SSE 4.2, checked just above.
            return unsafe { clmul::times_x32(p, v) };
        }
        let p = self.power(n);
        mul_mod_p(p, v)
    }
}

#[cfg(target_arch = "x86_64")]
mod clmul {
    use core::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_crc32_u64, _mm_cvtsi64_si128, _mm_cvtsi128_si64,
    };

    /// `p · v · x^32 mod P` (reflected). The carry-less product of two 32-bit
    /// reflected values is the 63-bit reflected product one bit low; shifted
    /// up it is a 64-bit reflected polynomial, which the CRC instruction
    /// reduces while multiplying by x^32 (as for 8 message bytes from state 0).
    #[target_feature(enable = "pclmulqdq,sse4.2")]
    pub(super) fn times_x32(p: u32, v: u32) -> u32 {
        let a = _mm_cvtsi64_si128(i64::from(p));
        let b = _mm_cvtsi64_si128(i64::from(v));
        let c = _mm_cvtsi128_si64(_mm_clmulepi64_si128::<0>(a, b)) as u64;
        _mm_crc32_u64(0, c << 1) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_span_matches_the_direct_crc() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 131 % 251) as u8).collect();
        let mut span = SpanCrc::default();
        for a in (0..4000).step_by(97) {
            for len in [0, 1, 4, 8, 13, 200, 999] {
                let b = (a + len).min(data.len());
                let want = super::super::crc::crc32c(&data[a..b], &[]);
                assert_eq!(span.crc(&data, &[], a, b), want, "span {a}..{b}");
                let want = super::super::crc::crc32c(b"len!", &data[a..b]);
                assert_eq!(span.crc(&data, b"len!", a, b), want, "span {a}..{b}");
            }
        }
    }

    #[test]
    fn the_fast_product_is_the_bitwise_one() {
        let mut span = SpanCrc::default();
        let mut x = 0x1234_5678u32;
        for n in [0usize, 1, 3, 4, 5, 8, 100, 4096, 1 << 20] {
            for _ in 0..50 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let p = span.power(n);
                assert_eq!(span.times_x8n(n, x), mul_mod_p(p, x), "n {n} v {x:#x}");
            }
        }
    }

    #[test]
    fn a_shifted_buffer_keeps_its_states() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut span = SpanCrc::default();
        let _ = span.crc(&data, &[], 100, 2000);
        span.shift(500);
        let moved = &data[500..];
        let want = super::super::crc::crc32c(&data[700..2900], &[]);
        assert_eq!(span.crc(moved, &[], 200, 2400), want);
        // Shifting past the window drops it; spans are still right.
        span.shift(2300);
        let moved = &data[2800..];
        let want = super::super::crc::crc32c(&data[2810..2990], &[]);
        assert_eq!(span.crc(moved, &[], 10, 190), want);
    }
}
