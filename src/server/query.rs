//! Query-string decoding (`application/x-www-form-urlencoded`, as browsers
//! and HTTP clients encode `?name=华为&at=2026-01-01`).
//!
//! Small and strict: a malformed escape or a value that is not UTF-8 is an
//! error naming the parameter, never a silently mangled value.

use std::borrow::Cow;

use super::errors::{Code, Refusal};
use crate::date::Date;

/// Most parameters a query may carry. No route takes more than four, so
/// this leaves room for a precise "unknown parameter" answer while the
/// decoded pairs stay on the stack.
pub const MAX_PARAMS: usize = 8;

type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// A decoded query string: parameters in order of appearance.
#[derive(Debug, Default)]
pub struct Query<'a> {
    pairs: [Pair<'a>; MAX_PARAMS],
    len: usize,
}

/// Why a query string cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `%` not followed by two hex digits.
    #[error("parameter {name:?}: malformed percent-escape")]
    BadEscape {
        /// The parameter (as far as it could be decoded).
        name: String,
    },
    /// The decoded bytes are not UTF-8.
    #[error("parameter {name:?}: not UTF-8 after decoding")]
    NotUtf8 {
        /// The parameter.
        name: String,
    },
    /// A parameter given twice.
    #[error("parameter {name:?} is given more than once")]
    Repeated {
        /// The parameter.
        name: String,
    },
    /// More than [`MAX_PARAMS`] parameters.
    #[error("more than {MAX_PARAMS} parameters")]
    TooMany,
}

/// Decodes a percent-encoded path segment (`+` stays `+`); `None` for a bad
/// escape or bytes that are not UTF-8.
pub fn decode_path_segment(raw: &str) -> Option<Cow<'_, str>> {
    decode_with(raw, false).ok()
}

/// Decodes one query component; `Err(true)` for a bad escape, `Err(false)`
/// for bytes that are not UTF-8.
fn decode(raw: &str) -> Result<Cow<'_, str>, bool> {
    decode_with(raw, true)
}

fn decode_with(raw: &str, plus_is_space: bool) -> Result<Cow<'_, str>, bool> {
    if !raw
        .bytes()
        .any(|b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hi = bytes
                    .get(i + 1)
                    .copied()
                    .and_then(crate::hex::digit)
                    .ok_or(true)?;
                let lo = bytes
                    .get(i + 2)
                    .copied()
                    .and_then(crate::hex::digit)
                    .ok_or(true)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| false)
}

impl<'a> Query<'a> {
    /// Decodes `raw` (the part after `?`, or `None` for no query). Empty
    /// components (`a=1&&b=2`) are skipped; a parameter given twice is an
    /// error, since a check must not depend on which copy wins.
    pub fn parse(raw: Option<&'a str>) -> Result<Query<'a>, QueryError> {
        let mut query = Query::default();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let fail = |name: &str, bad_escape: bool| {
                let name = name.to_string();
                if bad_escape {
                    QueryError::BadEscape { name }
                } else {
                    QueryError::NotUtf8 { name }
                }
            };
            let name = decode(name).map_err(|bad| fail(name, bad))?;
            let value = decode(value).map_err(|bad| fail(&name, bad))?;
            if query.pairs().iter().any(|(n, _)| *n == name) {
                return Err(QueryError::Repeated {
                    name: name.into_owned(),
                });
            }
            let slot = query.pairs.get_mut(query.len).ok_or(QueryError::TooMany)?;
            *slot = (name, value);
            query.len += 1;
        }
        Ok(query)
    }

    fn pairs(&self) -> &[Pair<'a>] {
        &self.pairs[..self.len]
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Parameter names not in `known`, for a precise "unknown parameter" error.
    pub fn unknown<'k>(&'k self, known: &'k [&str]) -> impl Iterator<Item = &'k str> + 'k {
        self.pairs()
            .iter()
            .map(|(n, _)| n.as_ref())
            .filter(move |n| !known.contains(n))
    }
}

/// A required parameter, not blank.
pub(super) fn required<'q>(q: &'q Query<'_>, name: &'static str) -> Result<&'q str, Refusal> {
    match q.get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(_) => Err(Refusal::new(
            Code::MissingParameter,
            format!("parameter {name:?} is empty"),
        )),
        None => Err(Refusal::new(
            Code::MissingParameter,
            format!("parameter {name:?} is required"),
        )),
    }
}

/// An optional parameter read by `parse`; its error is an `invalid_parameter`
/// naming the parameter.
pub(super) fn optional<'q, T>(
    q: &'q Query<'_>,
    name: &str,
    parse: impl FnOnce(&'q str) -> Result<T, String>,
) -> Result<Option<T>, Refusal> {
    q.get(name)
        .map(parse)
        .transpose()
        .map_err(|e| Refusal::new(Code::InvalidParameter, format!("parameter {name:?}: {e}")))
}

/// The date an answer is for: `at`, or `today`.
pub(super) fn date_param(q: &Query<'_>, today: Date) -> Result<Date, Refusal> {
    match q.get("at") {
        None => Ok(today),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| Refusal::new(Code::InvalidDate, format!("parameter \"at\": {e}"))),
    }
}

/// Refuses a parameter the route does not take: a misspelt `at` silently
/// answering for today is worse than a 400.
pub(super) fn refuse_unknown(q: &Query<'_>, known: &[&str]) -> Result<(), Refusal> {
    match q.unknown(known).next() {
        None => Ok(()),
        Some(name) => Err(Refusal::new(
            Code::UnknownParameter,
            format!(
                "unknown parameter {name:?}; this route takes: {}",
                known.join(", ")
            ),
        )),
    }
}

/// The request's query string, decoded, taking only `known` parameters.
pub(super) fn parse_query<'a>(raw: Option<&'a str>, known: &[&str]) -> Result<Query<'a>, Refusal> {
    let q = Query::parse(raw).map_err(|e| Refusal::new(Code::BadQuery, e.to_string()))?;
    refuse_unknown(&q, known)?;
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        let q = Query::parse(Some(
            "id=91360100705500005G&name=%E5%8D%8E%E4%B8%BA+%E6%8A%80%E6%9C%AF&at=2026-01-01",
        ))
        .unwrap();
        assert_eq!(q.get("id"), Some("91360100705500005G"));
        assert_eq!(q.get("name"), Some("华为 技术"));
        assert_eq!(q.get("at"), Some("2026-01-01"));
        assert_eq!(q.get("action"), None);
    }

    #[test]
    fn raw_utf8_and_empty_parts_are_accepted() {
        let q = Query::parse(Some("&name=华为&&flag")).unwrap();
        assert_eq!(q.get("name"), Some("华为"));
        assert_eq!(q.get("flag"), Some(""));
        assert!(Query::parse(None).unwrap().get("x").is_none());
    }

    #[test]
    fn errors_name_the_parameter() {
        assert_eq!(
            Query::parse(Some("id=%G1")).unwrap_err(),
            QueryError::BadEscape { name: "id".into() }
        );
        assert_eq!(
            Query::parse(Some("id=%4")).unwrap_err(),
            QueryError::BadEscape { name: "id".into() }
        );
        assert_eq!(
            Query::parse(Some("name=%FF%FE")).unwrap_err(),
            QueryError::NotUtf8 {
                name: "name".into()
            }
        );
        assert_eq!(
            Query::parse(Some("id=1&id=2")).unwrap_err(),
            QueryError::Repeated { name: "id".into() }
        );
        let eight = "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8";
        assert_eq!(Query::parse(Some(eight)).unwrap().get("h"), Some("8"));
        assert_eq!(
            Query::parse(Some(&format!("{eight}&i=9"))).unwrap_err(),
            QueryError::TooMany
        );
    }

    #[test]
    fn path_segments_keep_plus() {
        assert_eq!(decode_path_segment("a+b%20c").as_deref(), Some("a+b c"));
        assert_eq!(decode_path_segment("%zz"), None);
    }

    #[test]
    fn unknown_lists_unexpected_names() {
        let q = Query::parse(Some("id=1&action=flight&acton=x")).unwrap();
        let unknown: Vec<_> = q.unknown(&["id", "action"]).collect();
        assert_eq!(unknown, ["acton"]);
    }
}
