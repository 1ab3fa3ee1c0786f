//! `/proc/PID/statm`: the sampler's hot path.
//!
//! ```text
//! 5465 2212 1584 243 0 431 0
//! ```
//!
//! Seven numbers in pages: size, resident, shared, text, lib (0), data, dt (0).
//! The page size is passed in: it is 4 KiB on most Jetsons but 64 KiB kernels
//! exist, and assuming 4096 is jtop's open bug #703.

use super::{ParseError, leading_u64};

/// The first three `statm` fields, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Statm {
    /// Total program size (`VmSize`).
    pub size_bytes: u64,
    /// Resident set size (`VmRSS`).
    pub resident_bytes: u64,
    /// Resident shared pages: file-backed plus shared memory (`RssFile + RssShmem`).
    pub shared_bytes: u64,
    /// The program's text (`end_code − start_code`), when the fourth field is
    /// there: it changes when the process `exec`s another program, which is
    /// how the sampler knows to re-read its name (docs/sampler.md).
    pub text_bytes: Option<u64>,
}

/// Parses `/proc/PID/statm`, multiplying pages by `page_size` (bytes).
pub fn parse_statm(text: &[u8], page_size: u64) -> Result<Statm, ParseError> {
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut rest = text;
    let mut out = [0u64; 3];
    for (slot, name) in out.iter_mut().zip(["size", "resident", "shared"]) {
        let (pages, used) = leading_u64(rest).ok_or(if rest.is_empty() {
            ParseError::MissingField(name)
        } else {
            ParseError::BadNumber(name)
        })?;
        *slot = pages
            .checked_mul(page_size)
            .ok_or(ParseError::BadNumber(name))?;
        rest = rest.get(used..).unwrap_or_default();
        match rest.first() {
            Some(b' ') => rest = rest.get(1..).unwrap_or_default(),
            None | Some(b'\n') => rest = &[],
            Some(_) => return Err(ParseError::BadNumber(name)),
        }
    }
    let [size_bytes, resident_bytes, shared_bytes] = out;
    let text_bytes = leading_u64(rest).and_then(|(pages, _)| pages.checked_mul(page_size));
    Ok(Statm {
        size_bytes,
        resident_bytes,
        shared_bytes,
        text_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_times_the_given_page_size() {
        let s = parse_statm(b"5465 2212 1584 243 0 431 0\n", 4096).unwrap();
        assert_eq!(s.size_bytes, 5465 * 4096);
        assert_eq!(s.resident_bytes, 2212 * 4096);
        assert_eq!(s.shared_bytes, 1584 * 4096);
        assert_eq!(s.text_bytes, Some(243 * 4096));
        assert_eq!(parse_statm(b"1 2 3\n", 4096).unwrap().text_bytes, None);
        let s = parse_statm(b"5465 2212 1584 243 0 431 0\n", 65536).unwrap();
        assert_eq!(s.resident_bytes, 2212 * 65536, "never assumes 4 KiB");
    }

    #[test]
    fn short_or_bad_input_is_an_error() {
        assert_eq!(parse_statm(b"", 4096), Err(ParseError::Empty));
        assert_eq!(
            parse_statm(b"1 2", 4096),
            Err(ParseError::MissingField("shared"))
        );
        assert_eq!(
            parse_statm(b"1 x 3", 4096),
            Err(ParseError::BadNumber("resident"))
        );
        assert_eq!(
            parse_statm(b"1 2 3", u64::MAX),
            Err(ParseError::BadNumber("resident"))
        );
        assert!(parse_statm(b"1 2 3", 4096).is_ok());
    }
}
