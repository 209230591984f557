//! Reading the text of an identifier: characters checked one by one with
//! their positions, the organization code and the identity number taken
//! apart and verified.

use super::check::{USCC_VALUE, org_code_check, person_check, uscc_check};

/// Earliest birth year an identity number may carry.
pub const MIN_BIRTH_YEAR: i32 = 1850;
use super::{IdError, IdProblem, SubjectKey, SubjectKind, TAG_ORG, TAG_PERSON, TAG_SHIFT};

use crate::date::Date;

/// The input, trimmed and upper-cased, as at most 18 ASCII bytes plus its
/// length in characters. Non-ASCII characters are reported where they stand.
pub(super) struct Chars<'a> {
    pub(super) input: &'a str,
    pub(super) bytes: [u8; 18],
    pub(super) len: usize,
}

impl<'a> Chars<'a> {
    pub(super) fn new(input: &'a str) -> Result<Chars<'a>, IdError> {
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
        if let Ok(ascii) = <[u8; 18]>::try_from(input.as_bytes())
            && ascii.is_ascii()
        {
            chars.bytes = ascii.map(|b| b.to_ascii_uppercase());
            chars.len = 18;
            return Ok(chars);
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
        if (chars.len == 15 || chars.len == 18)
            && let Some((position, found)) = bad
        {
            return Err(chars.error(
                None,
                IdProblem::BadChar {
                    position,
                    found,
                    expected: "an ASCII letter or digit",
                },
            ));
        }
        Ok(chars)
    }

    /// When an 18-character string is valid as neither kind, which error to
    /// report: letters before the check character, or a check character an
    /// identity number cannot have, mean a credit code was meant; a calendar
    /// date at positions 7–14 means an identity number; otherwise the reading
    /// that got further through validation.
    pub(super) fn reads_as_org(&self, person: &IdError, org: &IdError) -> bool {
        let b = &self.bytes;
        if b[..17].iter().any(u8::is_ascii_uppercase) || !matches!(b[17], b'0'..=b'9' | b'X') {
            return true;
        }
        if Date::parse_compact(&b[6..14]).is_some() {
            return false;
        }
        org.problem.depth() > person.problem.depth()
    }

    pub(super) fn from_ascii(text: &[u8; 18]) -> Chars<'static> {
        Chars {
            input: "",
            bytes: *text,
            len: 18,
        }
    }

    /// An error without its input (an empty `String` does not allocate);
    /// the public parsers attach it with [`IdError::with_input`] once an
    /// error is certain to be returned.
    pub(super) fn error(&self, kind: Option<SubjectKind>, problem: IdProblem) -> IdError {
        IdError {
            input: String::new(),
            kind,
            problem,
        }
    }

    pub(super) fn bad_char(&self, kind: SubjectKind, i: usize, expected: &'static str) -> IdError {
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

pub(super) fn parse_org(chars: &Chars<'_>) -> Result<SubjectKey, IdError> {
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

pub(super) fn check_division(
    chars: &Chars<'_>,
    kind: SubjectKind,
    start: usize,
) -> Result<(), IdError> {
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

pub(super) fn parse_person(chars: &Chars<'_>, today: Date) -> Result<SubjectKey, IdError> {
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
