//! `/proc/sys/kernel/random/boot_id`: a UUID that changes at every boot.
//!
//! ```text
//! 0f3c5e2a-9b1d-4c7e-8a6f-2d4b1e9c7a53
//! ```

/// The 16 bytes of the boot id: the first 32 hex digits, dashes and other
/// characters skipped. Missing digits stay 0; no allocation.
pub fn parse_boot_id(bytes: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let digits = bytes.iter().filter_map(|b| (*b as char).to_digit(16));
    for (i, d) in digits.take(32).enumerate() {
        if let Some(slot) = out.get_mut(i / 2) {
            // An odd trailing digit is taken as the whole byte's value.
            *slot = (*slot << 4) | d as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_uuid() {
        let id = parse_boot_id(b"0f3c5e2a-9b1d-4c7e-8a6f-2d4b1e9c7a53\n");
        assert_eq!(id[0], 0x0f);
        assert_eq!(id[1], 0x3c);
        assert_eq!(id[15], 0x53);
    }

    #[test]
    fn short_or_empty_input_leaves_zeros() {
        assert_eq!(parse_boot_id(b""), [0u8; 16]);
        let id = parse_boot_id(b"ab");
        assert_eq!(id[0], 0xab);
        assert_eq!(id[1..], [0u8; 15]);
    }
}
