//! Begin/End phase pairing: one tracker, shared by the report, `export` and plots.
//!
//! An End closes the innermost open phase with its label (phases may nest and
//! interleave). At most `N` phases are open at once ([`MAX_OPEN_PHASES`] by
//! default): a Begin beyond that is never tracked and is counted as unclosed
//! ([`PhaseTracker::unclosed`]), and its End in [`PhaseTracker::unmatched`].
//! No allocation: the open phases live in an array, so a Begin, an End and a
//! sample's update of the open phases each cost at most `N` steps, whatever
//! the trace holds (a program calling Begin without End at frame rate).

/// Open phases opened by Begin marks, as the caller's `T` (a label, or a label with peaks).
#[derive(Debug, Clone)]
pub struct PhaseTracker<T, const N: usize = MAX_OPEN_PHASES> {
    /// Packed: slots `0..len` are `Some`, in Begin order (innermost last).
    open: [Option<T>; N],
    unclosed: u64,
    unmatched: u64,
}

/// How many phases may be open at once by default.
pub const MAX_OPEN_PHASES: usize = 64;

impl<T, const N: usize> Default for PhaseTracker<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> PhaseTracker<T, N> {
    /// No phase open.
    pub fn new() -> Self {
        PhaseTracker {
            open: core::array::from_fn(|_| None),
            unclosed: 0,
            unmatched: 0,
        }
    }

    /// Opens a phase; returns `false` (and counts it) when `N` are already open.
    pub fn begin(&mut self, phase: T) -> bool {
        match self.open.iter_mut().find(|s| s.is_none()) {
            Some(slot) => {
                *slot = Some(phase);
                true
            }
            None => {
                self.unclosed = self.unclosed.saturating_add(1);
                false
            }
        }
    }

    /// Closes the innermost open phase for which `is_it` holds and returns it;
    /// `None` (counted as unmatched) when no open phase matches.
    pub fn end(&mut self, is_it: impl Fn(&T) -> bool) -> Option<T> {
        let found = self
            .open
            .iter()
            .rposition(|s| s.as_ref().is_some_and(&is_it))
            .and_then(|i| self.open.get_mut(i..));
        let Some(tail) = found else {
            self.unmatched = self.unmatched.saturating_add(1);
            return None;
        };
        let phase = tail.first_mut().and_then(Option::take);
        tail.rotate_left(1);
        phase
    }

    /// The innermost open phase.
    pub fn innermost(&self) -> Option<&T> {
        self.open.iter().rev().find_map(Option::as_ref)
    }

    /// Every open phase, outermost first.
    pub fn open_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.open.iter_mut().flatten()
    }

    /// Takes every phase still open (the trace ended first), outermost first.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.open.iter_mut().filter_map(Option::take)
    }

    /// Begins refused because `N` phases were open: counted as unclosed
    /// phases, never tracked.
    pub const fn unclosed(&self) -> u64 {
        self.unclosed
    }

    /// Ends that matched no open phase (including those of refused Begins).
    pub const fn unmatched(&self) -> u64 {
        self.unmatched
    }
}
