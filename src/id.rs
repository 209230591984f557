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

use std::fmt;

use crate::date::Date;

/// The 31 characters a credit code may use, in value order (no I, O, S, V, Z).
pub const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 for the credit code's own check: 3^(i−1) mod 31.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// Weights of the GB 11714 organization code body (positions 9–16).
const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
/// ISO 7064 MOD 11-2 weights of identity-number positions 1–17: 2^(17−i) mod 11.
const PERSON_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check characters of an identity number, indexed by value.
const PERSON_CHECK: &[u8; 11] = b"0123456789X";
/// Earliest birth year an identity number may carry.
pub const MIN_BIRTH_YEAR: i32 = 1850;

/// `USCC_VALUE[byte]` is the character's value in [`USCC_ALPHABET`], or 255.
const USCC_VALUE: [u8; 256] = {
    let mut table = [255u8; 256];
    let mut i = 0;
    while i < USCC_ALPHABET.len() {
        table[USCC_ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

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
    fn with_input(mut self, input: &str) -> IdError {
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
    fn depth(&self) -> u8 {
        match self {
            IdProblem::Empty | IdProblem::Length { .. } | IdProblem::WrongKind { .. } => 0,
            IdProblem::BadChar { .. } => 1,
            IdProblem::DivisionCode { .. } | IdProblem::BirthDate { .. } => 2,
            IdProblem::CheckChar { .. } => 3,
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

/// The input, trimmed and upper-cased, as at most 18 ASCII bytes plus its
/// length in characters. Non-ASCII characters are reported where they stand.
struct Chars<'a> {
    input: &'a str,
    bytes: [u8; 18],
    len: usize,
}

impl<'a> Chars<'a> {
    fn new(input: &'a str) -> Result<Chars<'a>, IdError> {
        let input = input.trim();
        let mut chars = Chars {
            input,
            bytes: [0; 18],
            len: 0,
        };
        if input.is_empty() {
            return Err(chars.error(None, IdProblem::Empty));
        }
        // The common case, 18 ASCII characters, without decoding UTF-8.
        if let Ok(ascii) = <[u8; 18]>::try_from(input.as_bytes()) {
            if ascii.is_ascii() {
                chars.bytes = ascii.map(|b| b.to_ascii_uppercase());
                chars.len = 18;
                return Ok(chars);
            }
        }
        let mut bad = None;
        for (i, c) in input.chars().enumerate() {
            if i < 18 {
                if c.is_ascii() {
                    chars.bytes[i] = c.to_ascii_uppercase() as u8;
                } else if bad.is_none() {
                    bad = Some((i + 1, c));
                    chars.bytes[i] = b'?';
                }
            }
            chars.len = i + 1;
        }
        if chars.len == 15 || chars.len == 18 {
            if let Some((position, found)) = bad {
                return Err(chars.error(
                    None,
                    IdProblem::BadChar {
                        position,
                        found,
                        expected: "an ASCII letter or digit",
                    },
                ));
            }
        }
        Ok(chars)
    }

    /// When an 18-character string is valid as neither kind, which error to
    /// report: letters before the check character, or a check character an
    /// identity number cannot have, mean a credit code was meant; a calendar
    /// date at positions 7–14 means an identity number; otherwise the reading
    /// that got further through validation.
    fn reads_as_org(&self, person: &IdError, org: &IdError) -> bool {
        let b = &self.bytes;
        if b[..17].iter().any(u8::is_ascii_uppercase) || !matches!(b[17], b'0'..=b'9' | b'X') {
            return true;
        }
        if Date::parse_compact(&b[6..14]).is_some() {
            return false;
        }
        org.problem.depth() > person.problem.depth()
    }

    fn from_ascii(text: &[u8; 18]) -> Chars<'static> {
        Chars {
            input: "",
            bytes: *text,
            len: 18,
        }
    }

    /// An error without its input (an empty `String` does not allocate);
    /// the public parsers attach it with [`IdError::with_input`] once an
    /// error is certain to be returned.
    fn error(&self, kind: Option<SubjectKind>, problem: IdProblem) -> IdError {
        IdError {
            input: String::new(),
            kind,
            problem,
        }
    }

    fn bad_char(&self, kind: SubjectKind, i: usize, expected: &'static str) -> IdError {
        let found = self.input.chars().nth(i).unwrap_or(self.bytes[i] as char);
        let found = found.to_ascii_uppercase();
        self.error(
            Some(kind),
            IdProblem::BadChar {
                position: i + 1,
                found,
                expected,
            },
        )
    }
}

/// The credit code's check character over its first 17 characters, which must
/// all be in [`USCC_ALPHABET`].
fn uscc_check(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(&c, w)| u32::from(USCC_VALUE[c as usize]) * w)
        .sum();
    USCC_ALPHABET[((31 - sum % 31) % 31) as usize]
}

/// The GB 11714 check character over an organization code's 8-character body:
/// digits count their value, letters A–Z count 10–35.
fn org_code_check(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(ORG_CODE_WEIGHTS)
        .map(|(&c, w)| {
            let v = if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'A' + 10
            };
            u32::from(v) * w
        })
        .sum();
    match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        v => b'0' + v as u8,
    }
}

/// The MOD 11-2 check character over an identity number's first 17 digits.
fn person_check(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(PERSON_WEIGHTS)
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    PERSON_CHECK[((12 - sum % 11) % 11) as usize]
}

fn parse_org(chars: &Chars<'_>) -> Result<SubjectKey, IdError> {
    const KIND: SubjectKind = SubjectKind::Org;
    if chars.len != 18 {
        return Err(chars.error(
            Some(KIND),
            IdProblem::Length {
                expected: "18",
                found: chars.len,
            },
        ));
    }
    let b = &chars.bytes;
    for (i, &c) in b.iter().enumerate() {
        if USCC_VALUE[c as usize] == 255 {
            return Err(chars.bad_char(KIND, i, "a digit or a letter other than I, O, S, V, Z"));
        }
        if (2..8).contains(&i) && !c.is_ascii_digit() {
            return Err(chars.bad_char(KIND, i, "a digit (positions 3-8 are the division code)"));
        }
    }
    check_division(chars, KIND, 2)?;
    let expected = uscc_check(&b[..17]);
    if b[17] != expected {
        return Err(chars.error(
            Some(KIND),
            IdProblem::CheckChar {
                what: "check character",
                position: 18,
                expected: expected as char,
                found: b[17] as char,
            },
        ));
    }
    let expected = org_code_check(&b[8..16]);
    if b[16] != expected {
        return Err(chars.error(
            Some(KIND),
            IdProblem::CheckChar {
                what: "organization code check character",
                position: 17,
                expected: expected as char,
                found: b[16] as char,
            },
        ));
    }
    let payload = b[..17].iter().fold(0u128, |acc, &c| {
        acc * 31 + u128::from(USCC_VALUE[c as usize])
    });
    Ok(SubjectKey(TAG_ORG << TAG_SHIFT | payload))
}

fn check_division(chars: &Chars<'_>, kind: SubjectKind, start: usize) -> Result<(), IdError> {
    let code = &chars.bytes[start..start + 6];
    if code[0] == b'0' && code[1] == b'0' {
        return Err(chars.error(
            Some(kind),
            IdProblem::DivisionCode {
                found: String::from_utf8_lossy(code).into_owned(),
                start: start + 1,
                end: start + 6,
            },
        ));
    }
    Ok(())
}

fn parse_person(chars: &Chars<'_>, today: Date) -> Result<SubjectKey, IdError> {
    const KIND: SubjectKind = SubjectKind::Person;
    let legacy = match chars.len {
        18 => false,
        15 => true,
        found => {
            return Err(chars.error(
                Some(KIND),
                IdProblem::Length {
                    expected: "18 (or 15 for a legacy number)",
                    found,
                },
            ));
        }
    };
    let digits = if legacy { 15 } else { 17 };
    for i in 0..digits {
        if !chars.bytes[i].is_ascii_digit() {
            return Err(chars.bad_char(KIND, i, "a digit"));
        }
    }
    if !legacy && !matches!(chars.bytes[17], b'0'..=b'9' | b'X') {
        return Err(chars.bad_char(KIND, 17, "a digit or X (the check character)"));
    }
    check_division(chars, KIND, 0)?;
    // Positions 1–17 of the 18-digit form.
    let mut first17 = [0u8; 17];
    if legacy {
        first17[..6].copy_from_slice(&chars.bytes[..6]);
        first17[6..8].copy_from_slice(b"19");
        first17[8..].copy_from_slice(&chars.bytes[6..15]);
    } else {
        first17.copy_from_slice(&chars.bytes[..17]);
    }
    let (start, end) = if legacy { (7, 12) } else { (7, 14) };
    let birth_error = |reason| {
        chars.error(
            Some(KIND),
            IdProblem::BirthDate {
                found: String::from_utf8_lossy(&chars.bytes[start - 1..end]).into_owned(),
                start,
                end,
                reason,
            },
        )
    };
    match Date::parse_compact(&first17[6..14]) {
        None => return Err(birth_error("is not a calendar date")),
        Some(d) if d > today => return Err(birth_error("is in the future")),
        Some(d) if d.ymd().0 < MIN_BIRTH_YEAR => return Err(birth_error("is before 1850")),
        Some(_) => {}
    }
    if !legacy {
        let expected = person_check(&first17);
        if chars.bytes[17] != expected {
            return Err(chars.error(
                Some(KIND),
                IdProblem::CheckChar {
                    what: "check character",
                    position: 18,
                    expected: expected as char,
                    found: chars.bytes[17] as char,
                },
            ));
        }
    }
    let payload = first17
        .iter()
        .fold(0u128, |acc, &c| acc * 10 + u128::from(c - b'0'));
    Ok(SubjectKey(TAG_PERSON << TAG_SHIFT | payload))
}

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

/// Builders of valid identifiers, for the data generator and tests: they
/// compute the check characters the parser verifies.
pub mod build {
    use super::*;

    /// Completes 16 credit-code characters (registration authority, type,
    /// division code, organization code body) with both check characters.
    /// Returns `None` if a character is outside [`USCC_ALPHABET`] or positions
    /// 3–8 are not digits.
    pub fn uscc(first16: &[u8; 16]) -> Option<[u8; 18]> {
        if first16.iter().any(|&c| USCC_VALUE[c as usize] == 255)
            || !first16[2..8].iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        let mut out = [0u8; 18];
        out[..16].copy_from_slice(first16);
        out[16] = org_code_check(&first16[8..16]);
        out[17] = uscc_check(&out[..17]);
        Some(out)
    }

    /// Completes 17 identity-number digits with the check character.
    pub fn identity_number(first17: &[u8; 17]) -> Option<[u8; 18]> {
        if !first17.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut out = [0u8; 18];
        out[..17].copy_from_slice(first17);
        out[17] = person_check(first17);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> Date {
        "2026-11-25".parse().unwrap()
    }

    fn problem(input: &str) -> IdProblem {
        SubjectKey::parse_readings_at(input, today())
            .unwrap_err()
            .problem
    }

    #[test]
    fn known_valid_codes() {
        // Published codes (stdnum's doc example; a real enterprise code).
        for code in ["91110000600037341L", "91360100705500005G"] {
            let key = SubjectKey::parse(code).unwrap();
            assert_eq!(key.kind(), SubjectKind::Org);
            assert_eq!(key.to_string(), code);
        }
        // GB 11643's own example number.
        let key = SubjectKey::parse("11010519491231002X").unwrap();
        assert_eq!(key.kind(), SubjectKind::Person);
        assert_eq!(key.birth_date().unwrap().to_string(), "1949-12-31");
    }

    #[test]
    fn accepts_lower_case_and_spaces() {
        let key = SubjectKey::parse("  11010519491231002x\t").unwrap();
        assert_eq!(key.to_string(), "11010519491231002X");
        assert_eq!(
            SubjectKey::parse("\u{3000}91110000600037341l ")
                .unwrap()
                .to_string(),
            "91110000600037341L"
        );
    }

    #[test]
    fn letters_in_first_positions_are_valid() {
        let code = build::uscc(b"N2360100MA35ABCD").unwrap();
        let text = std::str::from_utf8(&code).unwrap();
        let key = SubjectKey::parse(text).unwrap();
        assert_eq!(key.kind(), SubjectKind::Org);
        assert_eq!(key.to_string(), text);
    }

    #[test]
    fn wrong_length_names_both_lengths() {
        let err = SubjectKey::parse("9111000060003734").unwrap_err();
        assert_eq!(
            err.problem,
            IdProblem::Length {
                expected: "18 (or 15 for a legacy identity number)",
                found: 16
            }
        );
        assert!(err.to_string().contains("found 16 characters"), "{err}");
        assert_eq!(problem("   "), IdProblem::Empty);
    }

    #[test]
    fn errors_carry_the_trimmed_input() {
        let err = SubjectKey::parse(" 9111000060003I341L ").unwrap_err();
        assert_eq!(err.input, "9111000060003I341L");
        assert!(err.to_string().contains("\"9111000060003I341L\""), "{err}");
        let err = SubjectKey::parse_as("91110000600037341L", SubjectKind::Person).unwrap_err();
        assert_eq!(err.input, "91110000600037341L");
        let err = SubjectKey::parse("12").unwrap_err();
        assert_eq!(err.input, "12");
    }

    #[test]
    fn bad_character_is_named_with_position() {
        // `I` is never used in a credit code.
        let err = SubjectKey::parse("9111000060003I341L").unwrap_err();
        assert_eq!(err.kind, Some(SubjectKind::Org));
        assert!(matches!(
            err.problem,
            IdProblem::BadChar {
                position: 14,
                found: 'I',
                ..
            }
        ));
        // A Chinese character in an identity number.
        let err = SubjectKey::parse("11010519491231002号").unwrap_err();
        assert!(
            matches!(
                err.problem,
                IdProblem::BadChar {
                    position: 18,
                    found: '号',
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn check_character_expected_versus_found() {
        let err = SubjectKey::parse("91110000600037341M").unwrap_err();
        assert_eq!(err.kind, Some(SubjectKind::Org));
        assert_eq!(
            err.problem,
            IdProblem::CheckChar {
                what: "check character",
                position: 18,
                expected: 'L',
                found: 'M'
            }
        );
        let err = SubjectKey::parse("110105194912310021").unwrap_err();
        assert_eq!(err.kind, Some(SubjectKind::Person));
        assert_eq!(
            err.problem,
            IdProblem::CheckChar {
                what: "check character",
                position: 18,
                expected: 'X',
                found: '1'
            }
        );
        assert!(err.to_string().contains("expected 'X'"));
    }

    #[test]
    fn organization_code_check_is_verified() {
        // Change the organization code check (position 17) and re-close the
        // credit code check so only the inner check is wrong.
        let mut code = *b"91110000600037341L";
        code[16] = b'2';
        code[17] = uscc_check(&code[..17]);
        let err = SubjectKey::parse(std::str::from_utf8(&code).unwrap()).unwrap_err();
        assert_eq!(
            err.problem,
            IdProblem::CheckChar {
                what: "organization code check character",
                position: 17,
                expected: '1',
                found: '2'
            }
        );
    }

    #[test]
    fn impossible_birth_dates() {
        let make = |first17: &[u8; 17]| {
            String::from_utf8(build::identity_number(first17).unwrap().to_vec()).unwrap()
        };
        for (digits, reason) in [
            (b"36010219880230123", "is not a calendar date"),
            (b"36010220990101123", "is in the future"),
            (b"36010218000101123", "is before 1850"),
        ] {
            let text = make(digits);
            match SubjectKey::parse_as_at(&text, SubjectKind::Person, today()) {
                Err(IdError {
                    problem:
                        IdProblem::BirthDate {
                            reason: r,
                            start: 7,
                            end: 14,
                            ..
                        },
                    ..
                }) => assert_eq!(r, reason),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn division_code_shape() {
        let text = String::from_utf8(
            build::identity_number(b"00010219880101123")
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert!(matches!(problem(&text), IdProblem::DivisionCode { .. }));
        // Codes no longer current are fine: 360121 (南昌县's old code).
        let text = String::from_utf8(
            build::identity_number(b"36012119880101123")
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert!(SubjectKey::parse(&text).is_ok());
    }

    #[test]
    fn legacy_fifteen_digit_numbers_convert() {
        // 15-digit 110105491231002 is 11010519491231002X.
        let key = SubjectKey::parse("110105491231002").unwrap();
        assert_eq!(key.to_string(), "11010519491231002X");
        assert!(matches!(
            problem("110105491331002"),
            IdProblem::BirthDate {
                start: 7,
                end: 12,
                ..
            }
        ));
    }

    #[test]
    fn wrong_kind_is_reported() {
        let err = SubjectKey::parse_as("11010519491231002X", SubjectKind::Org).unwrap_err();
        assert_eq!(
            err.problem,
            IdProblem::WrongKind {
                expected: SubjectKind::Org,
                found: SubjectKind::Person
            }
        );
        assert!(
            err.to_string()
                .contains("but a unified social credit code is required")
        );
    }

    #[test]
    fn a_string_valid_as_both_kinds_has_two_readings() {
        // A credit code whose positions 7-14 hold a date, all digits, and whose
        // two check schemes happen to agree: search a small space for one.
        let found = (0..10_000u32).find_map(|n| {
            let mut first16 = *b"9136001988010100";
            first16[4..6].copy_from_slice(format!("{:02}", n / 100).as_bytes());
            first16[14..16].copy_from_slice(format!("{:02}", n % 100).as_bytes());
            let code = build::uscc(&first16)?;
            let mut first17 = [0u8; 17];
            first17.copy_from_slice(&code[..17]);
            (first17.iter().all(u8::is_ascii_digit)
                && build::identity_number(&first17)?[17] == code[17])
                .then_some(code)
        });
        let code = found.expect("such strings exist");
        let text = std::str::from_utf8(&code).unwrap();
        let readings = SubjectKey::parse_readings_at(text, today()).unwrap();
        assert_eq!(readings.first.kind(), SubjectKind::Person);
        assert_eq!(readings.second.map(|k| k.kind()), Some(SubjectKind::Org));
        assert_eq!(readings.second.unwrap().to_string(), text);
        assert_eq!(readings.first.to_string(), text);
    }

    #[test]
    fn bytes_round_trip_and_garbage_is_refused() {
        let key = SubjectKey::parse("91360100705500005G").unwrap();
        assert_eq!(SubjectKey::from_bytes(&key.to_bytes()), Some(key));
        assert_eq!(SubjectKey::from_bytes(&[0xff; 12]), None);
        assert_eq!(SubjectKey::from_bytes(&[1; 11]), None);
    }

    #[test]
    fn masked_ids_match_visible_characters() {
        let m = MaskedId::parse("360102********1234").unwrap();
        assert_eq!(m.kind(), None);
        assert_eq!(m.visible_prefix(), b"360102");
        let m = MaskedId::parse("91360100MA3５****0G").unwrap_err();
        assert!(matches!(m, MaskError::BadChar { position: 12, .. }));
        let m = MaskedId::parse("9136010070550000**").unwrap();
        assert_eq!(m.kind(), None);
        assert!(m.matches(SubjectKey::parse("91360100705500005G").unwrap()));
        assert!(matches!(
            MaskedId::parse("91360100705500005G"),
            Err(MaskError::NotMasked { .. })
        ));
        assert!(matches!(
            MaskedId::parse("***************12"),
            Err(MaskError::Length { found: 17, .. })
        ));
        assert!(MaskedId::looks_masked(" 360102********1234 "));
        assert!(!MaskedId::looks_masked("360102198801011234"));
    }

    /// Strategy: a random valid credit code (letters allowed where real ones
    /// have them: positions 1, 2 and 9–16).
    fn uscc_strategy() -> impl Strategy<Value = [u8; 18]> {
        let any = || proptest::sample::select(USCC_ALPHABET.to_vec());
        let digit = || proptest::sample::select(b"0123456789".to_vec());
        (
            proptest::collection::vec(any(), 2),
            proptest::collection::vec(digit(), 6),
            proptest::collection::vec(any(), 8),
        )
            .prop_filter_map("division code 00", |(head, div, body)| {
                if div[0] == b'0' && div[1] == b'0' {
                    return None;
                }
                let mut first16 = [0u8; 16];
                first16[..2].copy_from_slice(&head);
                first16[2..8].copy_from_slice(&div);
                first16[8..].copy_from_slice(&body);
                build::uscc(&first16)
            })
    }

    fn person_strategy() -> impl Strategy<Value = [u8; 18]> {
        (
            110000u32..=829999,
            0i32..=(today().days() - Date::from_ymd(1900, 1, 1).unwrap().days()),
            0u32..1000,
        )
            .prop_map(|(div, day, seq)| {
                let birth = Date::from_ymd(1900, 1, 1).unwrap().add_days(day);
                let (y, m, d) = birth.ymd();
                let text = format!("{div:06}{y:04}{m:02}{d:02}{seq:03}");
                let mut first17 = [0u8; 17];
                first17.copy_from_slice(text.as_bytes());
                build::identity_number(&first17).unwrap()
            })
    }

    fn parse_bytes(code: &[u8]) -> Result<IdReadings, IdError> {
        SubjectKey::parse_readings_at(std::str::from_utf8(code).unwrap(), today())
    }

    /// Whether `key` is the reading of `code` (any of its readings).
    fn reads_as(code: &[u8], readings: &IdReadings) -> bool {
        let text = std::str::from_utf8(code).unwrap();
        readings.first.to_string() == text || readings.second.is_some_and(|k| k.to_string() == text)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn generated_credit_codes_pass_and_round_trip(code in uscc_strategy()) {
            let text = std::str::from_utf8(&code).unwrap();
            let key = SubjectKey::parse_as_at(text, SubjectKind::Org, today()).unwrap();
            prop_assert_eq!(key.to_string(), text);
            prop_assert_eq!(SubjectKey::from_bytes(&key.to_bytes()), Some(key));
            prop_assert!(reads_as(&code, &parse_bytes(&code).unwrap()));
            prop_assert_eq!(
                SubjectKey::parse_as_at(&text.to_lowercase(), SubjectKind::Org, today()).unwrap(),
                key
            );
        }

        #[test]
        fn generated_identity_numbers_pass_and_round_trip(code in person_strategy()) {
            let text = std::str::from_utf8(&code).unwrap();
            let key = SubjectKey::parse_readings_at(text, today()).unwrap().first;
            prop_assert_eq!(key.kind(), SubjectKind::Person);
            prop_assert_eq!(key.to_string(), text);
            prop_assert_eq!(SubjectKey::from_bytes(&key.to_bytes()), Some(key));
        }

        /// Mod 31 with weights that are all non-zero and pairwise distinct for
        /// neighbours catches every substitution and adjacent transposition.
        #[test]
        fn credit_code_substitutions_and_transpositions_are_rejected(
            code in uscc_strategy(), pos in 0usize..18, sub in 0usize..31, swap in 0usize..17,
        ) {
            let mut changed = code;
            changed[pos] = USCC_ALPHABET[sub];
            if changed != code {
                prop_assert!(SubjectKey::parse_as_at(
                    std::str::from_utf8(&changed).unwrap(), SubjectKind::Org, today()).is_err());
            }
            let mut swapped = code;
            swapped.swap(swap, swap + 1);
            if swapped != code {
                prop_assert!(SubjectKey::parse_as_at(
                    std::str::from_utf8(&swapped).unwrap(), SubjectKind::Org, today()).is_err());
            }
        }

        /// MOD 11-2 catches every single-digit substitution and adjacent
        /// transposition of an identity number.
        #[test]
        fn identity_number_substitutions_and_transpositions_are_rejected(
            code in person_strategy(), pos in 0usize..18, sub in 0usize..11, swap in 0usize..17,
        ) {
            let mut changed = code;
            changed[pos] = PERSON_CHECK[sub];
            if changed != code {
                prop_assert!(SubjectKey::parse_as_at(
                    std::str::from_utf8(&changed).unwrap(), SubjectKind::Person, today()).is_err());
            }
            let mut swapped = code;
            swapped.swap(swap, swap + 1);
            if swapped != code {
                prop_assert!(SubjectKey::parse_as_at(
                    std::str::from_utf8(&swapped).unwrap(), SubjectKind::Person, today()).is_err());
            }
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,24}") {
            let _ = SubjectKey::parse_readings_at(&s, today());
            let _ = MaskedId::parse(&s);
        }

        #[test]
        fn key_order_follows_text_order(a in uscc_strategy(), b in uscc_strategy()) {
            let ka = SubjectKey::parse_as_at(std::str::from_utf8(&a).unwrap(), SubjectKind::Org, today()).unwrap();
            let kb = SubjectKey::parse_as_at(std::str::from_utf8(&b).unwrap(), SubjectKind::Org, today()).unwrap();
            // Alphabet order is ASCII order, so bytes order like the text.
            prop_assert_eq!(ka.to_bytes().cmp(&kb.to_bytes()), a.cmp(&b));
        }
    }
}
