//! nvmap debugfs (`/sys/kernel/debug/nvmap/`, root only).
//!
//! `stats/total_memory`: one integer, bytes of all nvmap handle allocations.
//!
//! `iovmm/clients` (header `"%-18s %18s %8s %11s"`, rows `"%-18s %18s %8u %10lluK"`):
//!
//! ```text
//! CLIENT                        PROCESS      PID        SIZE
//! user                              gem     4481     118372K
//! user                      gnome-shell     2831       5384K
//! user                             Xorg     1731      18140K
//! user                   nvargus-daemon     1012          0K
//! total                                              141896K
//! ```
//!
//! A row's size is Σ handle size / share count, and `total` is Σ of all IOVMM
//! handles, so rows need not add up to `total`. Sizes may carry K, M or G.

use super::{ParseError, leading_u64, tokens, whole_u64};

/// Parses `stats/total_memory` (bytes).
pub fn parse_nvmap_total(text: &[u8]) -> Result<u64, ParseError> {
    if text.trim_ascii().is_empty() {
        return Err(ParseError::Empty);
    }
    whole_u64(text).ok_or(ParseError::BadNumber("total_memory"))
}

/// `118372K` → bytes; K, M and G are binary multiples.
fn size(token: &[u8]) -> Option<u64> {
    let (n, used) = leading_u64(token)?;
    let mult: u64 = match token.get(used..)? {
        b"K" => 1 << 10,
        b"M" => 1 << 20,
        b"G" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// One row of `iovmm/clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmapClient<'a> {
    /// The client name: `user` for user-space clients, else a kernel client.
    pub client: &'a str,
    /// The process's `comm` (`kernel` for kernel clients).
    pub process: &'a str,
    /// The pid; 0 for kernel clients.
    pub pid: u32,
    /// The client's share of IOVMM memory, in bytes.
    pub size_bytes: u64,
}

/// An iterator over the client rows of `iovmm/clients` (header and `total` skipped,
/// unreadable rows skipped).
#[derive(Debug, Clone)]
pub struct NvmapClients<'a> {
    lines: core::slice::Split<'a, u8, fn(&u8) -> bool>,
}

fn is_newline(b: &u8) -> bool {
    *b == b'\n'
}

/// The client rows of an `iovmm/clients` file.
pub fn nvmap_clients(text: &[u8]) -> NvmapClients<'_> {
    NvmapClients {
        lines: text.split(is_newline as fn(&u8) -> bool),
    }
}

/// A row split as (first token, middle, second-to-last token, last token).
type Row<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8]);

/// Splits a row; the middle (the process name) may contain spaces.
fn row(line: &[u8]) -> Option<Row<'_>> {
    let line = line.trim_ascii();
    let first_end = line.iter().position(u8::is_ascii_whitespace)?;
    let (first, rest) = line.split_at_checked(first_end)?;
    let rest = rest.trim_ascii();
    let last_start = rest.iter().rposition(u8::is_ascii_whitespace)? + 1;
    let (rest, last) = rest.split_at_checked(last_start)?;
    let rest = rest.trim_ascii_end();
    let pid_start = rest
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .map_or(0, |i| i + 1);
    let (middle, pid) = rest.split_at_checked(pid_start)?;
    Some((first, middle.trim_ascii(), pid, last))
}

fn client_row(line: &[u8]) -> Option<NvmapClient<'_>> {
    let (client, process, pid, sz) = row(line)?;
    if client == b"CLIENT" || client == b"total" || process.is_empty() {
        return None;
    }
    Some(NvmapClient {
        client: core::str::from_utf8(client).ok()?,
        process: core::str::from_utf8(process).ok()?,
        pid: u32::try_from(whole_u64(pid)?).ok()?,
        size_bytes: size(sz)?,
    })
}

impl<'a> Iterator for NvmapClients<'a> {
    type Item = NvmapClient<'a>;

    fn next(&mut self) -> Option<NvmapClient<'a>> {
        self.lines.by_ref().find_map(client_row)
    }
}

/// The `total` row of `iovmm/clients`, in bytes.
pub fn nvmap_clients_total(text: &[u8]) -> Result<u64, ParseError> {
    if text.trim_ascii().is_empty() {
        return Err(ParseError::Empty);
    }
    let line = text
        .split(|&b| b == b'\n')
        .find(|l| tokens(l).next() == Some(b"total"))
        .ok_or(ParseError::MissingField("total"))?;
    let last = tokens(line)
        .last()
        .ok_or(ParseError::MissingField("total"))?;
    size(last).ok_or(ParseError::BadNumber("total"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENTS: &[u8] = include_bytes!(
        "../../../tests/fixtures/nvmap-iovmm-clients-gimbal/sys/kernel/debug/nvmap/iovmm/clients"
    );

    #[test]
    fn gimbal_rows_and_total() {
        let rows: std::vec::Vec<_> = nvmap_clients(CLIENTS).collect();
        let want = [
            ("user", "gem", 4481, 118_372),
            ("user", "gnome-shell", 2831, 5_384),
            ("user", "Xorg", 1731, 18_140),
            ("user", "nvargus-daemon", 1012, 0),
        ];
        assert_eq!(rows.len(), want.len());
        for (r, (c, p, pid, kib)) in rows.iter().zip(want) {
            assert_eq!(
                (r.client, r.process, r.pid, r.size_bytes),
                (c, p, pid, kib * 1024)
            );
        }
        let total = nvmap_clients_total(CLIENTS).unwrap();
        assert_eq!(total, 141_896 * 1024);
        assert_eq!(rows.iter().map(|r| r.size_bytes).sum::<u64>(), total);
    }

    #[test]
    fn suffixes_spaces_in_comm_and_kernel_clients() {
        let text = b"CLIENT                        PROCESS      PID        SIZE\n\
user                  VLLM::EngineCor  1792595  14617792K\n\
user                      Web Content     77          3M\n\
vi                             kernel        0          1G\n\
user                              bad     12         12Q\n\
total                                               2G\n";
        let rows: std::vec::Vec<_> = nvmap_clients(text).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].size_bytes, 14_617_792 * 1024);
        assert_eq!(
            (rows[1].process, rows[1].pid, rows[1].size_bytes),
            ("Web Content", 77, 3 << 20)
        );
        assert_eq!(
            (rows[2].client, rows[2].pid, rows[2].size_bytes),
            ("vi", 0, 1 << 30)
        );
        assert_eq!(nvmap_clients_total(text), Ok(2 << 30));
    }

    #[test]
    fn total_memory_and_errors() {
        assert_eq!(parse_nvmap_total(b"250630144\n"), Ok(250_630_144));
        assert_eq!(parse_nvmap_total(b""), Err(ParseError::Empty));
        assert_eq!(
            parse_nvmap_total(b"12K"),
            Err(ParseError::BadNumber("total_memory"))
        );
        assert_eq!(
            nvmap_clients_total(b"CLIENT PROCESS PID SIZE\n"),
            Err(ParseError::MissingField("total"))
        );
    }
}
