//! CRC-32C (Castagnoli, the iSCSI CRC) of frames.
//!
//! Without `std` a slice-by-16 table computes it. With `std` the CPU's own
//! instruction does when it has one (SSE 4.2 `crc32` on x86-64, the `crc`
//! extension on AArch64): decoding checks every frame, and the table costs
//! about as much as decoding the records themselves. Both give the same value.

static TABLE: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// CRC-32C of `a` followed by `b`.
#[inline]
pub(crate) fn crc32c(a: &[u8], b: &[u8]) -> u32 {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE 4.2, checked just above.
        return !unsafe { hw::update(hw::update(!0, a), b) };
    }
    #[cfg(all(feature = "std", target_arch = "aarch64"))]
    if std::arch::is_aarch64_feature_detected!("crc") {
        // SAFETY: the CPU has the CRC extension, checked just above.
        return !unsafe { hw::update(hw::update(!0, a), b) };
    }
    table(a, b)
}

/// The raw CRC-32C state (no inversions) after feeding `bytes` from `state`,
/// by the CPU's instruction when it has one.
#[cfg(feature = "std")]
#[inline]
pub(crate) fn raw_update(state: u32, bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE 4.2, checked just above.
        return unsafe { hw::update(state, bytes) };
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("crc") {
        // SAFETY: the CPU has the CRC extension, checked just above.
        return unsafe { hw::update(state, bytes) };
    }
    // The crate reflects a custom initial value and inverts the result.
    let mut digest = TABLE.digest_with_initial(state.reverse_bits());
    digest.update(bytes);
    !digest.finalize()
}

/// The portable table form.
fn table(a: &[u8], b: &[u8]) -> u32 {
    let mut digest = TABLE.digest();
    digest.update(a);
    digest.update(b);
    digest.finalize()
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod hw {
    use core::arch::x86_64::{_mm_crc32_u8, _mm_crc32_u64};

    /// Raw CRC-32C update (no pre/post inversion).
    #[target_feature(enable = "sse4.2")]
    pub(super) fn update(crc: u32, bytes: &[u8]) -> u32 {
        let mut c = u64::from(crc);
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            c = _mm_crc32_u64(c, u64::from_le_bytes(a));
        }
        let mut c = c as u32;
        for &byte in words.remainder() {
            c = _mm_crc32_u8(c, byte);
        }
        c
    }
}

#[cfg(all(feature = "std", target_arch = "aarch64"))]
mod hw {
    use core::arch::aarch64::{__crc32cb, __crc32cd};

    /// Raw CRC-32C update (no pre/post inversion).
    #[target_feature(enable = "crc")]
    pub(super) fn update(crc: u32, bytes: &[u8]) -> u32 {
        let mut c = crc;
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            c = __crc32cd(c, u64::from_le_bytes(a));
        }
        for &byte in words.remainder() {
            c = __crc32cb(c, byte);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_table_and_the_check_value() {
        // The catalogue check value of CRC-32/ISCSI.
        assert_eq!(crc32c(b"1234", b"56789"), 0xE306_9283);
        let data: std::vec::Vec<u8> = (0..1000u32).map(|i| (i * 131 % 256) as u8).collect();
        for cut in [0, 1, 7, 8, 9, 333, 1000] {
            for len in [0, 1, 5, 8, 17, 64, 999] {
                let (a, b) = data.split_at(cut);
                let b = &b[..len.min(b.len())];
                assert_eq!(crc32c(a, b), table(a, b), "cut {cut} len {len}");
                #[cfg(feature = "std")]
                assert_eq!(!raw_update(raw_update(!0, a), b), table(a, b));
            }
        }
    }
}
