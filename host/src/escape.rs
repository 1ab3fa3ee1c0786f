//! One escape for every human-readable output: labels, phase names, process
//! names and commands come from the traced program (or a crafted trace) and
//! must not reach a terminal as control sequences.
//!
//! Control characters (C0, DEL, C1) are shown as `\n`, `\r`, `\t` or `\xNN`,
//! and the Unicode bidirectional overrides and isolates (which reorder what a
//! terminal or an editor shows) as `\u{NNNN}`. Everything else is kept.
//! JSON output needs none of this (serde escapes control characters); CSV
//! quoting (RFC 4180) is applied after it, in `report::csv::field`.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` reorders displayed text: the bidi embeddings, overrides and
/// isolates, and the direction marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character escaped (see the module documentation);
/// borrowed when there is none.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(printable("plain µs label"), "plain µs label");
        assert_eq!(
            printable("\x1b[2J\x1b]0;pwned\x07x"),
            "\\x1b[2J\\x1b]0;pwned\\x07x"
        );
        assert_eq!(printable("a\nb\r\tc\x7f"), "a\\nb\\r\\tc\\x7f");
        assert_eq!(printable("\u{9b}31m"), "\\x9b31m", "C1 CSI");
        assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
        // Idempotent: an escaped string has no control character left.
        let once = printable("\x1b\u{2066}\n").into_owned();
        assert_eq!(printable(&once), once);
    }
}
