//! Subject identifiers: parsed once at the edge into a compact [`SubjectKey`].
//!
//! Two kinds of identifier name the subjects of the lists (SPEC §2):
//!
//! * an organization's 18-character **Unified Social Credit Code** (统一社会信用代码,
//!   GB 32100-2015), with two check characters: position 17 closes the embedded
//!   GB 11714 organization code (mod 11), position 18 closes the whole code (mod 31);
//! * a person's 18-character **resident identity number** (公民身份号码, GB 11643-1999),
//!   whose birth date must be a real day not in the future and whose last character
//!   is an ISO 7064 MOD 11-2 check. 15-digit legacy numbers are accepted and converted
//!   to 18 digits (century `19` inserted, check computed).
//!
//! Parsing accepts lower case and surrounding whitespace, and every rejection says
//! what was wrong and where (length, the bad character and its position, the check
//! character expected versus found, the impossible birth date).
//!
//! Inside the engine an identifier is a [`SubjectKey`]: 12 bytes (a kind tag and
//! 88 bits of payload), ordered like the canonical text within each kind. Check
//! characters are not stored: they are recomputed when the key is printed.
//!
//! ```
//! use creditgate::id::{SubjectKey, SubjectKind};
//! let key = SubjectKey::parse(" 91360100705500005g ").unwrap();
//! assert_eq!(key.kind(), SubjectKind::Org);
//! assert_eq!(key.to_string(), "91360100705500005G");
//! let err = SubjectKey::parse("91360100705500005H").unwrap_err();
//! assert!(err.to_string().contains("expected 'G'"), "{err}");
//! ```
//!
//! Public lists print identifiers with hidden characters (`360102********1234`);
//! those parse into a [`MaskedId`] that tells which keys fit.

mod check;
mod errors;
mod masked;
mod parse;
#[cfg(test)]
mod tests;

pub mod build;

use std::fmt;

use crate::date::Date;
pub use check::USCC_ALPHABET;
use check::{person_check, uscc_check};
pub use errors::{IdError, IdProblem};
pub use masked::{HIDDEN_CHARS, MaskError, MaskedId};
pub use parse::MIN_BIRTH_YEAR;
use parse::{Chars, parse_org, parse_person};

/// What an identifier names.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    /// An organization or individual business, named by a credit code.
    Org,
    /// A natural person, named by a resident identity number.
    Person,
}

impl SubjectKind {
    /// The identifier's name, as error messages use it.
    pub fn id_name(self) -> &'static str {
        match self {
            SubjectKind::Org => "unified social credit code",
            SubjectKind::Person => "resident identity number",
        }
    }

    /// The wire name: `org` or `person`.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Org => "org",
            SubjectKind::Person => "person",
        }
    }
}

/// A validated subject identifier in 12 bytes: a kind tag and 88 bits of payload.
///
/// For an organization the payload is positions 1–17 of the credit code read as
/// a base-31 number; for a person it is positions 1–17 of the identity number as
/// a decimal number. Check characters are derived, never stored.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectKey(u128);

const TAG_SHIFT: u32 = 88;
const PAYLOAD_MASK: u128 = (1u128 << TAG_SHIFT) - 1;
const TAG_ORG: u128 = 1;
const TAG_PERSON: u128 = 2;
/// 31^17: payloads of organizations are below this.
const ORG_PAYLOAD_LIMIT: u128 = 31u128.pow(17);
/// 10^17: payloads of persons are below this.
const PERSON_PAYLOAD_LIMIT: u128 = 10u128.pow(17);

/// The two readings of an 18-character string that is valid both as a credit
/// code and as an identity number (rare, but it happens at this scale).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct IdReadings {
    /// The reading callers should prefer: the person when both are valid.
    pub first: SubjectKey,
    /// The other valid reading, if any.
    pub second: Option<SubjectKey>,
}

impl SubjectKey {
    /// Size of [`SubjectKey::to_bytes`].
    pub const LEN: usize = 12;

    /// Parses either kind of identifier. A string valid as both is read as a
    /// person; use [`SubjectKey::parse_readings`] to get both readings.
    pub fn parse(input: &str) -> Result<SubjectKey, IdError> {
        Self::parse_readings(input).map(|r| r.first)
    }

    /// Parses either kind of identifier and returns every valid reading.
    pub fn parse_readings(input: &str) -> Result<IdReadings, IdError> {
        Self::parse_readings_at(input, Date::today())
    }

    /// As [`SubjectKey::parse_readings`], judging birth dates against `today`.
    pub fn parse_readings_at(input: &str, today: Date) -> Result<IdReadings, IdError> {
        Self::readings_of(input, today).map_err(|e| e.with_input(input))
    }

    /// [`SubjectKey::parse_readings_at`] with errors that do not carry the
    /// input yet: a valid credit code fails as an identity number on every
    /// check, and that error must not cost an allocation.
    fn readings_of(input: &str, today: Date) -> Result<IdReadings, IdError> {
        let chars = Chars::new(input)?;
        match chars.len {
            15 => parse_person(&chars, today).map(|first| IdReadings {
                first,
                second: None,
            }),
            18 => match (parse_person(&chars, today), parse_org(&chars)) {
                (Ok(p), Ok(o)) => Ok(IdReadings {
                    first: p,
                    second: Some(o),
                }),
                (Ok(k), Err(_)) | (Err(_), Ok(k)) => Ok(IdReadings {
                    first: k,
                    second: None,
                }),
                (Err(p), Err(o)) => Err(if chars.reads_as_org(&p, &o) { o } else { p }),
            },
            n => Err(chars.error(
                None,
                IdProblem::Length {
                    expected: "18 (or 15 for a legacy identity number)",
                    found: n,
                },
            )),
        }
    }

    /// Parses an identifier that must be of `kind`. A valid identifier of the
    /// other kind is reported as [`IdProblem::WrongKind`].
    pub fn parse_as(input: &str, kind: SubjectKind) -> Result<SubjectKey, IdError> {
        Self::parse_as_at(input, kind, Date::today())
    }

    /// As [`SubjectKey::parse_as`], judging birth dates against `today`.
    pub fn parse_as_at(input: &str, kind: SubjectKind, today: Date) -> Result<SubjectKey, IdError> {
        Self::as_kind(input, kind, today).map_err(|e| e.with_input(input))
    }

    /// [`SubjectKey::parse_as_at`] with errors that do not carry the input yet.
    fn as_kind(input: &str, kind: SubjectKind, today: Date) -> Result<SubjectKey, IdError> {
        let chars = Chars::new(input)?;
        let wanted = match kind {
            SubjectKind::Org => parse_org(&chars),
            SubjectKind::Person => parse_person(&chars, today),
        };
        let err = match wanted {
            Ok(key) => return Ok(key),
            Err(err) => err,
        };
        let other = match kind {
            SubjectKind::Org => parse_person(&chars, today).is_ok(),
            SubjectKind::Person => parse_org(&chars).is_ok(),
        };
        if other {
            let found = match kind {
                SubjectKind::Org => SubjectKind::Person,
                SubjectKind::Person => SubjectKind::Org,
            };
            return Err(chars.error(
                Some(kind),
                IdProblem::WrongKind {
                    expected: kind,
                    found,
                },
            ));
        }
        Err(err)
    }

    /// What the key names.
    pub fn kind(self) -> SubjectKind {
        if self.0 >> TAG_SHIFT == TAG_ORG {
            SubjectKind::Org
        } else {
            SubjectKind::Person
        }
    }

    /// The 12-byte form: tag, then payload big-endian. Byte order sorts like the
    /// canonical text within each kind.
    pub fn to_bytes(self) -> [u8; 12] {
        let all = self.0.to_be_bytes();
        let mut out = [0u8; 12];
        out.copy_from_slice(&all[4..16]);
        out
    }

    /// Reads back the 12-byte form of a key this program wrote itself (an
    /// index file): checks the tag and the payload's range, not the check
    /// characters, which [`SubjectKey::from_bytes`] recomputes at some cost.
    pub fn from_own_bytes(bytes: &[u8]) -> Option<SubjectKey> {
        let bytes: [u8; 12] = bytes.try_into().ok()?;
        let mut all = [0u8; 16];
        all[4..].copy_from_slice(&bytes);
        let raw = u128::from_be_bytes(all);
        let payload = raw & PAYLOAD_MASK;
        match raw >> TAG_SHIFT {
            TAG_ORG if payload < ORG_PAYLOAD_LIMIT => Some(SubjectKey(raw)),
            TAG_PERSON if payload < PERSON_PAYLOAD_LIMIT => Some(SubjectKey(raw)),
            _ => None,
        }
    }

    /// Reads the 12-byte form back, refusing anything [`SubjectKey::to_bytes`]
    /// could not have produced.
    pub fn from_bytes(bytes: &[u8]) -> Option<SubjectKey> {
        let key = Self::from_own_bytes(bytes)?;
        match key.kind() {
            // The payload is in range; its check characters must hold too.
            SubjectKind::Org => {
                let text = key.to_ascii();
                parse_org(&Chars::from_ascii(&text))
                    .ok()
                    .filter(|k| *k == key)
            }
            SubjectKind::Person => Some(key),
        }
    }

    /// The canonical 18-character form, check characters included, without
    /// allocating.
    pub fn to_ascii(self) -> [u8; 18] {
        // One 128-bit division splits the payload into two halves that fit
        // in 64 bits; the digits then come from cheap 64-bit arithmetic (a
        // 128-bit division is a library call, and this runs per answer).
        let mut out = [0u8; 18];
        let payload = self.0 & PAYLOAD_MASK;
        let digits = |slots: &mut [u8], mut n: u64, base: u64, alphabet: &[u8]| {
            for slot in slots.iter_mut().rev() {
                *slot = alphabet[(n % base) as usize];
                n /= base;
            }
        };
        match self.kind() {
            SubjectKind::Org => {
                const LOW: u128 = 31u128.pow(9);
                let (high, low) = ((payload / LOW) as u64, (payload % LOW) as u64);
                digits(&mut out[..8], high, 31, USCC_ALPHABET);
                digits(&mut out[8..17], low, 31, USCC_ALPHABET);
                out[17] = uscc_check(&out[..17]);
            }
            SubjectKind::Person => {
                // Below 10^17, so it fits in 64 bits as it is.
                digits(&mut out[..17], payload as u64, 10, b"0123456789");
                out[17] = person_check(&out[..17]);
            }
        }
        out
    }

    /// The birth date of a person (inside the number); `None` for organizations.
    pub fn birth_date(self) -> Option<Date> {
        match self.kind() {
            SubjectKind::Person => Date::parse_compact(&self.to_ascii()[6..14]),
            SubjectKind::Org => None,
        }
    }
}

/// The 12 bytes of [`SubjectKey::to_bytes`]; decoding refuses anything
/// `to_bytes` could not have produced.
impl bincode::Encode for SubjectKey {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        encoder: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        self.to_bytes().encode(encoder)
    }
}

impl<C> bincode::Decode<C> for SubjectKey {
    fn decode<D: bincode::de::Decoder<Context = C>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let bytes = <[u8; SubjectKey::LEN]>::decode(decoder)?;
        SubjectKey::from_bytes(&bytes)
            .ok_or(bincode::error::DecodeError::Other("not a subject key"))
    }
}

bincode::impl_borrow_decode!(SubjectKey);

impl fmt::Display for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_ascii();
        f.write_str(std::str::from_utf8(&text).expect("identifiers are ASCII"))
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectKey({self})")
    }
}

impl std::str::FromStr for SubjectKey {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        SubjectKey::parse(s)
    }
}

impl serde::Serialize for SubjectKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.to_ascii();
        s.serialize_str(std::str::from_utf8(&text).expect("identifiers are ASCII"))
    }
}
