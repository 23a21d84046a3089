//! Exit codes: what a run or a command ended with, and which of two outcomes is worse.

use std::fmt;

/// Tells how a run or a command ended; the process exits with [`ExitCode::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitCode {
    /// Every step passed (0).
    Passed,
    /// A step's expectation, check or capture failed (1).
    Failed,
    /// The workflow or the command line is invalid; nothing was sent (2).
    Invalid,
    /// A request could not be completed: connection, TLS, timeout (3).
    Unreachable,
    /// Interrupted by Ctrl-C (130).
    Interrupted,
}

impl ExitCode {
    /// Returns the number the process exits with.
    pub const fn code(self) -> i32 {
        match self {
            ExitCode::Passed => 0,
            ExitCode::Failed => 1,
            ExitCode::Invalid => 2,
            ExitCode::Unreachable => 3,
            ExitCode::Interrupted => 130,
        }
    }

    /// Ranks outcomes by how bad they are: passed, failed, unreachable, invalid, interrupted.
    /// An invalid workflow outranks a failed request because it is the user's to fix first; an
    /// interruption outranks everything because the run is incomplete.
    const fn rank(self) -> u8 {
        match self {
            ExitCode::Passed => 0,
            ExitCode::Failed => 1,
            ExitCode::Unreachable => 2,
            ExitCode::Invalid => 3,
            ExitCode::Interrupted => 4,
        }
    }

    /// Returns the worse of two outcomes (the first when they rank the same).
    #[must_use]
    pub const fn worst(self, other: ExitCode) -> ExitCode {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// Tells whether this is a pass.
    pub const fn passed(self) -> bool {
        matches!(self, ExitCode::Passed)
    }
}

impl From<ExitCode> for i32 {
    fn from(code: ExitCode) -> i32 {
        code.code()
    }
}

impl PartialEq<i32> for ExitCode {
    fn eq(&self, other: &i32) -> bool {
        self.code() == *other
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode::{Failed, Interrupted, Invalid, Passed, Unreachable};

    #[test]
    fn the_worst_outcome_wins_in_either_order() {
        let order = [Passed, Failed, Unreachable, Invalid, Interrupted];
        for (i, a) in order.iter().enumerate() {
            for b in &order[i..] {
                assert_eq!(a.worst(*b), *b, "{a:?} then {b:?}");
                assert_eq!(b.worst(*a), *b, "{b:?} then {a:?}");
            }
        }
    }

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes: Vec<i32> = [Passed, Failed, Invalid, Unreachable, Interrupted]
            .into_iter()
            .map(i32::from)
            .collect();
        assert_eq!(codes, [0, 1, 2, 3, 130]);
        assert_eq!(Unreachable, 3);
        assert_eq!(Interrupted.to_string(), "130");
    }
}
