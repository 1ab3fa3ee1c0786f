//! `/proc/PID/stat`: one line of space-separated fields; the command (field 2)
//! is in parentheses and may itself contain spaces and `)`.
//!
//! ```text
//! 4242 (python3 (x)) S 4200 4242 4200 34816 4242 4194304 1520 0 0 0 ...
//! ```

use super::leading_u64;

/// The fields after the command: state, ppid, ...
fn after_command(bytes: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
    let close = bytes.iter().rposition(|&b| b == b')')?;
    let rest = bytes.get(close + 1..)?;
    Some(
        rest.split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty()),
    )
}

/// The state (field 3: `R`, `S`, `D`, `Z`, `X`, ...), found after the last `)`.
pub fn parse_stat_state(bytes: &[u8]) -> Option<u8> {
    match after_command(bytes)?.next()? {
        [state] => Some(*state),
        _ => None,
    }
}

/// Whether the state is that of a live process: not a zombie (`Z`, exited
/// but not reaped) and not dead (`X`).
pub fn is_live_state(state: u8) -> bool {
    state != b'Z' && state != b'X'
}

/// The parent pid (field 4), found after the last `)`.
pub fn parse_stat_ppid(bytes: &[u8]) -> Option<u32> {
    let mut fields = after_command(bytes)?;
    let _state = fields.next()?;
    let ppid = fields.next()?;
    match leading_u64(ppid) {
        Some((v, n)) if n == ppid.len() => u32::try_from(v).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_odd_names() {
        assert_eq!(parse_stat_ppid(b"123 (a b) c)) S 77 123 123 0"), Some(77));
        assert_eq!(parse_stat_ppid(b"garbage"), None);
        assert_eq!(parse_stat_ppid(b"1 (x) S 4294967296 1"), None);
        assert_eq!(parse_stat_ppid(b"1 (x) S 12a 1"), None);
    }

    #[test]
    fn state() {
        assert_eq!(parse_stat_state(b"9 (a) b) Z 1 9"), Some(b'Z'));
        assert_eq!(parse_stat_state(b"9 (a)"), None);
        assert!(!is_live_state(b'Z'));
        assert!(is_live_state(b'S'));
    }
}
