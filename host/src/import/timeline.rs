//! When each imported line happened, in nanoseconds since the first.
//!
//! A line with a timestamp (whole seconds) is placed by it; lines that share a
//! second are spread by the interval (at most to the end of that second); a
//! line without one comes one interval after the previous line. A clock that
//! goes backwards (or a first stamp after unstamped lines) re-anchors: the line
//! comes one interval after the previous one, and later stamps count from it.

const SECOND_NS: u64 = 1_000_000_000;

/// The time of the previous line and its stamp, and the anchor stamps count from.
#[derive(Debug)]
pub struct Timeline {
    interval_ns: u64,
    last: Option<Last>,
    /// (unix seconds of a stamp, its t_ns).
    anchor: Option<(i64, u64)>,
}

#[derive(Debug, Clone, Copy)]
struct Last {
    t_ns: u64,
    stamp: Option<i64>,
    same_second: u64,
}

impl Timeline {
    pub fn new(interval_ns: u64) -> Self {
        Timeline {
            interval_ns,
            last: None,
            anchor: None,
        }
    }

    /// The time of the next line, given its stamp in Unix seconds (if any).
    pub fn next(&mut self, stamp: Option<i64>) -> u64 {
        let after_last = self
            .last
            .map_or(0, |l| l.t_ns.saturating_add(self.interval_ns));
        let mut same_second = 0;
        let t = match (stamp, self.anchor, self.last) {
            (Some(s), Some((a, at)), Some(last)) if s >= a => {
                let base =
                    at.saturating_add(u64::try_from(s - a).unwrap_or(0).saturating_mul(SECOND_NS));
                if last.stamp == Some(s) {
                    same_second = last.same_second + 1;
                }
                let t = base.saturating_add(
                    same_second
                        .saturating_mul(self.interval_ns)
                        .min(SECOND_NS - 1),
                );
                if t > last.t_ns {
                    t
                } else {
                    self.anchor = Some((s, after_last));
                    after_last
                }
            }
            (Some(s), _, _) => {
                self.anchor = Some((s, after_last));
                after_last
            }
            (None, _, _) => after_last,
        };
        self.last = Some(Last {
            t_ns: t,
            stamp,
            same_second,
        });
        t
    }

    /// Unix seconds minus t: the wall clock of t = 0 by the stamps, if any was seen.
    pub fn start_unix_ns(&self) -> Option<u64> {
        let (s, at) = self.anchor?;
        u64::try_from(s)
            .ok()?
            .checked_mul(SECOND_NS)?
            .checked_sub(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn unstamped_lines_are_one_interval_apart() {
        let mut t = Timeline::new(500 * MS);
        assert_eq!(
            [t.next(None), t.next(None), t.next(None)],
            [0, 500 * MS, 1000 * MS]
        );
        assert_eq!(t.start_unix_ns(), None);
    }

    #[test]
    fn stamps_place_lines_and_share_seconds_by_the_interval() {
        // tegrastats --interval 500 with whole-second stamps.
        let mut t = Timeline::new(500 * MS);
        let got = [100, 100, 101, 101, 103].map(|s| t.next(Some(s)));
        assert_eq!(got, [0, 500 * MS, 1000 * MS, 1500 * MS, 3000 * MS]);
        assert_eq!(t.start_unix_ns(), Some(100 * SECOND_NS));
        // Default 1 s interval on a 500 ms log: never past the second, never backwards.
        let mut t = Timeline::new(1000 * MS);
        let got = [100, 100, 101].map(|s| t.next(Some(s)));
        assert_eq!(got, [0, SECOND_NS - 1, SECOND_NS]);
    }

    #[test]
    fn a_clock_going_back_re_anchors() {
        let mut t = Timeline::new(1000 * MS);
        let got = [200, 201, 150, 151].map(|s| t.next(Some(s)));
        assert_eq!(got, [0, SECOND_NS, 2 * SECOND_NS, 3 * SECOND_NS]);
    }
}
