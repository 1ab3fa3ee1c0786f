//! Bounded text: copying `&str` into fixed-capacity strings without panicking.

use heapless::String;

/// Copies as much of `s` as fits in `N` bytes, cut on a character boundary.
///
/// Returns the bounded string and whether anything was cut off.
pub fn bounded<const N: usize>(s: &str) -> (String<N>, bool) {
    let mut out = String::new();
    let mut cut = false;
    for ch in s.chars() {
        if out.push(ch).is_err() {
            cut = true;
            break;
        }
    }
    (out, cut)
}

/// Like [`bounded`], for callers that accept a cut label.
pub fn truncated<const N: usize>(s: &str) -> String<N> {
    bounded::<N>(s).0
}

/// Copies UTF-8 bytes into a bounded string, replacing invalid sequences with U+FFFD.
pub fn from_utf8_lossy<const N: usize>(bytes: &[u8]) -> String<N> {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if out.push(ch).is_err() {
                return out;
            }
        }
        if !chunk.invalid().is_empty() && out.push('\u{FFFD}').is_err() {
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_char_boundary() {
        let (s, cut) = bounded::<5>("héllo");
        assert_eq!(s.as_str(), "héll");
        assert!(cut);
        let (s, cut) = bounded::<8>("abc");
        assert_eq!(s.as_str(), "abc");
        assert!(!cut);
    }

    #[test]
    fn lossy_replaces_invalid() {
        let s: String<16> = from_utf8_lossy(b"ab\xffc");
        assert_eq!(s.as_str(), "ab\u{FFFD}c");
    }
}
