//! Why an identifier is refused: what was wrong and where, in words a
//! clerk can act on.

use super::SubjectKind;

/// Why a string is not a valid identifier.
///
/// `kind` says which identifier it was read as (`None` when it fits neither
/// shape); `problem` says what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {input:?}: {problem}", match kind { Some(k) => format!("not a valid {}", k.id_name()), None => "not a valid identifier".to_string() })]
pub struct IdError {
    /// The identifier as given (trimmed).
    pub input: String,
    /// The kind of identifier it was read as.
    pub kind: Option<SubjectKind>,
    /// What is wrong.
    pub problem: IdProblem,
}

impl IdError {
    pub(super) fn with_input(mut self, input: &str) -> IdError {
        self.input = input.trim().to_string();
        self
    }
}

/// The precise defect of a rejected identifier. Positions count from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdProblem {
    /// Nothing but whitespace.
    #[error("it is empty")]
    Empty,
    /// Wrong number of characters.
    #[error("expected {expected}, found {found} characters")]
    Length {
        /// What lengths are acceptable.
        expected: &'static str,
        /// Characters found.
        found: usize,
    },
    /// A character not allowed at its position.
    #[error("character {position} is {found:?}, expected {expected}")]
    BadChar {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
        /// What the position allows.
        expected: &'static str,
    },
    /// The 6-digit administrative division code cannot exist.
    #[error("division code {found} (positions {start}-{end}) cannot exist: province part 00")]
    DivisionCode {
        /// The six digits.
        found: String,
        /// First position of the code.
        start: usize,
        /// Last position of the code.
        end: usize,
    },
    /// The birth date in an identity number is impossible.
    #[error("birth date {found} (positions {start}-{end}) {reason}")]
    BirthDate {
        /// The date digits as written.
        found: String,
        /// First position of the date.
        start: usize,
        /// Last position of the date.
        end: usize,
        /// Why it is impossible.
        reason: &'static str,
    },
    /// A check character does not match the characters it closes.
    #[error("{what} at position {position} is {found:?}, expected {expected:?}")]
    CheckChar {
        /// Which check: the code's own, or the embedded organization code's.
        what: &'static str,
        /// 1-based position of the check character.
        position: usize,
        /// Character expected from the others.
        expected: char,
        /// Character found.
        found: char,
    },
    /// A valid identifier of the other kind.
    #[error("this is a {found}, but a {expected} is required here", found = found.id_name(), expected = expected.id_name())]
    WrongKind {
        /// The kind required.
        expected: SubjectKind,
        /// The kind given.
        found: SubjectKind,
    },
}

impl IdProblem {
    /// How far validation got before this problem: when a string fits neither
    /// kind, the reading that got further names the error.
    pub(super) fn depth(&self) -> u8 {
        match self {
            IdProblem::Empty | IdProblem::Length { .. } | IdProblem::WrongKind { .. } => 0,
            IdProblem::BadChar { .. } => 1,
            IdProblem::DivisionCode { .. } | IdProblem::BirthDate { .. } => 2,
            IdProblem::CheckChar { .. } => 3,
        }
    }
}
