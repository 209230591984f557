//! Identifiers as public lists print them, with hidden characters
//! (`360102********1234`), and which keys fit one.

use super::check::USCC_VALUE;
use super::{SubjectKey, SubjectKind};

use std::fmt;

/// The characters of an 18-character identity number that public lists
/// hide, and that masking for keys without personal data hides: the birth
/// date, between the division code and the last four.
pub const HIDDEN_CHARS: std::ops::Range<usize> = 6..14;

/// An identifier with hidden characters, as public lists print them
/// (`360102********1234`, `91360100MA3******X`). `*` (or full-width `＊`) marks
/// a hidden character; the visible ones must fit their positions.
///
/// ```
/// use creditgate::id::{MaskedId, SubjectKey};
/// let mask = MaskedId::parse("110105********002X").unwrap();
/// assert!(mask.matches(SubjectKey::parse("11010519491231002X").unwrap()));
/// assert!(!mask.matches(SubjectKey::parse("91360100705500005G").unwrap()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MaskedId {
    /// Upper-case visible characters; 0 where hidden.
    pattern: [u8; 18],
    kind: Option<SubjectKind>,
}

/// Why a string is not a usable masked identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaskError {
    /// Masked identifiers have the full 18 positions.
    #[error("masked identifier {input:?} has {found} characters, expected 18")]
    Length {
        /// The input.
        input: String,
        /// Characters found.
        found: usize,
    },
    /// A visible character that no identifier has at that position.
    #[error(
        "masked identifier {input:?}: character {position} is {found:?}, expected a digit, a letter other than I, O, S, V, Z, or *"
    )]
    BadChar {
        /// The input.
        input: String,
        /// 1-based position.
        position: usize,
        /// The character.
        found: char,
    },
    /// No `*` at all: an ordinary identifier, not a masked one.
    #[error("{input:?} hides no characters: parse it as an identifier")]
    NotMasked {
        /// The input.
        input: String,
    },
    /// Too little is visible to narrow anything down.
    #[error("masked identifier {input:?} shows only {visible} characters; at least 4 are needed")]
    TooHidden {
        /// The input.
        input: String,
        /// Visible characters.
        visible: usize,
    },
}

impl MaskedId {
    /// Parses a masked identifier.
    pub fn parse(input: &str) -> Result<MaskedId, MaskError> {
        let trimmed = input.trim();
        let mut pattern = [0u8; 18];
        let mut len = 0;
        let mut hidden = 0;
        for (i, c) in trimmed.chars().enumerate() {
            len = i + 1;
            if i >= 18 {
                continue;
            }
            match c {
                '*' | '＊' => hidden += 1,
                c if c.is_ascii() && USCC_VALUE[c.to_ascii_uppercase() as usize] != 255 => {
                    pattern[i] = c.to_ascii_uppercase() as u8;
                }
                found => {
                    return Err(MaskError::BadChar {
                        input: trimmed.to_string(),
                        position: i + 1,
                        found,
                    });
                }
            }
        }
        if len != 18 {
            return Err(MaskError::Length {
                input: trimmed.to_string(),
                found: len,
            });
        }
        if hidden == 0 {
            return Err(MaskError::NotMasked {
                input: trimmed.to_string(),
            });
        }
        if 18 - hidden < 4 {
            return Err(MaskError::TooHidden {
                input: trimmed.to_string(),
                visible: 18 - hidden,
            });
        }
        // A letter anywhere before the check character rules out a person.
        let kind = pattern[..17]
            .iter()
            .any(|c| c.is_ascii_uppercase())
            .then_some(SubjectKind::Org);
        Ok(MaskedId { pattern, kind })
    }

    /// True when the string has the shape of a masked identifier (18
    /// characters, at least one of them `*`), so callers can route it here.
    pub fn looks_masked(input: &str) -> bool {
        let t = input.trim();
        t.chars().count() == 18 && t.chars().any(|c| c == '*' || c == '＊')
    }

    /// The kind the visible characters imply, if they decide it.
    pub fn kind(&self) -> Option<SubjectKind> {
        self.kind
    }

    /// Whether `key`'s canonical form shows the visible characters.
    pub fn matches(&self, key: SubjectKey) -> bool {
        if self.kind.is_some_and(|k| k != key.kind()) {
            return false;
        }
        let text = key.to_ascii();
        self.pattern
            .iter()
            .zip(text)
            .all(|(&p, c)| p == 0 || p == c)
    }

    /// Whether the visible characters could test what masking hides of an
    /// identity number ([`HIDDEN_CHARS`], the birth date): a pattern that may stand for a person and shows any of them.
    pub fn shows_masked_chars(&self) -> bool {
        self.kind != Some(SubjectKind::Org) && self.pattern[HIDDEN_CHARS].iter().any(|&c| c != 0)
    }

    /// The visible characters before the first hidden one.
    pub fn visible_prefix(&self) -> &[u8] {
        let end = self.pattern.iter().position(|&c| c == 0).unwrap_or(18);
        &self.pattern[..end]
    }
}

impl fmt::Display for MaskedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &c in &self.pattern {
            f.write_str(if c == 0 {
                "*"
            } else {
                std::str::from_utf8(std::slice::from_ref(&c)).expect("ASCII")
            })?;
        }
        Ok(())
    }
}

impl fmt::Debug for MaskedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaskedId({self})")
    }
}
