//! Lines of a text file of any size in bounded memory: a line longer than
//! [`MAX_LINE`] is cut there and the rest of it skipped (and said so).

use std::io::{self, BufRead, Read};

/// The longest line kept; a tegrastats line of a 12-core Orin is about 600 bytes.
pub const MAX_LINE: usize = 64 * 1024;

/// One line, without its end.
pub struct Line<'a> {
    /// 1-based line number.
    pub number: u64,
    /// The bytes, at most [`MAX_LINE`].
    pub bytes: &'a [u8],
    /// The line was longer than [`MAX_LINE`].
    pub cut: bool,
}

/// Reads `r` line by line into one reused buffer.
pub struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(r: R) -> Self {
        Lines {
            r,
            buf: Vec::with_capacity(4096),
            number: 0,
        }
    }

    /// The next line, `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let n = (&mut self.r)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        let cut = self.buf.last() != Some(&b'\n') && n == MAX_LINE && !self.skip_rest()?;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        Ok(Some(Line {
            number: self.number,
            bytes: &self.buf,
            cut,
        }))
    }

    /// Skips to the next line; `true` when the line in fact ended right at the cut.
    fn skip_rest(&mut self) -> io::Result<bool> {
        let mut first = true;
        loop {
            let avail = self.r.fill_buf()?;
            if avail.is_empty() {
                return Ok(first);
            }
            if let Some(p) = avail.iter().position(|&b| b == b'\n') {
                let ended = first && p == 0;
                self.r.consume(p + 1);
                return Ok(ended);
            }
            let len = avail.len();
            self.r.consume(len);
            first = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_numbers_stay_right() {
        let mut text = b"a\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        text.extend_from_slice(b"\nlast");
        let mut l = Lines::new(io::BufReader::with_capacity(1000, &text[..]));
        let a = l.next_line().unwrap().unwrap();
        assert_eq!((a.number, a.bytes, a.cut), (1, &b"a"[..], false));
        let long = l.next_line().unwrap().unwrap();
        assert_eq!(
            (long.number, long.bytes.len(), long.cut),
            (2, MAX_LINE, true)
        );
        let last = l.next_line().unwrap().unwrap();
        assert_eq!(
            (last.number, last.bytes, last.cut),
            (3, &b"last"[..], false)
        );
        assert!(l.next_line().unwrap().is_none());
    }
}
