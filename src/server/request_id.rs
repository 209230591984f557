//! Request ids: every request the server answers gets one, echoed in the
//! `X-Request-Id` response header, kept in its audit record and named in
//! the log, so that one refused passenger an airline complains about can be
//! found from the header its system logged.
//!
//! An id is 40 bits, written as 10 hex digits: the audit record has five
//! bytes for it. Each process starts at a random point and counts up, so
//! ids are unique within a run (2^40 requests) and unlikely to repeat
//! across restarts; the audit record's time narrows a search further.
//! A client's own `X-Request-Id` is not adopted (it could be anything and
//! of any length); the log names it beside ours.

use std::sync::atomic::{AtomicU64, Ordering};

use hyper::header::{HeaderName, HeaderValue};

/// The response header that carries the id.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Bits an id has.
pub const BITS: u32 = 40;
const MASK: u64 = (1 << BITS) - 1;

/// One request's id; 0 is the audit's "none".
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RequestId(u64);

impl RequestId {
    /// No request (records written outside one, and those older than ids).
    pub const NONE: RequestId = RequestId(0);

    /// The id of `value`'s low 40 bits.
    pub fn from_u64(value: u64) -> RequestId {
        RequestId(value & MASK)
    }

    /// The id as a number (`0`: none).
    pub fn get(self) -> u64 {
        self.0
    }

    /// Whether this is [`RequestId::NONE`].
    pub fn is_none(self) -> bool {
        self.0 == 0
    }

    /// Parses the 10 hex digits of the header.
    pub fn parse(text: &str) -> Option<RequestId> {
        if text.len() != 10 {
            return None;
        }
        let value = u64::from_str_radix(text, 16).ok()?;
        (value != 0).then_some(RequestId(value))
    }

    /// The header value.
    pub fn header_value(self) -> HeaderValue {
        let mut buf = [0u8; 10];
        let digits = b"0123456789abcdef";
        for (i, b) in buf.iter_mut().enumerate() {
            *b = digits[((self.0 >> (36 - 4 * i)) & 0xF) as usize];
        }
        HeaderValue::from_bytes(&buf).expect("hex digits are a valid header value")
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:010x}", self.0)
    }
}

/// Hands out ids: one atomic add per request.
#[derive(Debug)]
pub struct RequestIds {
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> RequestIds {
        RequestIds::new()
    }
}

impl RequestIds {
    /// Starts at a random point.
    pub fn new() -> RequestIds {
        use std::hash::{BuildHasher, Hasher};
        // std's hasher keys come from the OS's random source.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        RequestIds {
            next: AtomicU64::new(hasher.finish()),
        }
    }

    /// The next id.
    pub fn next(&self) -> RequestId {
        loop {
            let id = RequestId::from_u64(self.next.fetch_add(1, Ordering::Relaxed));
            if !id.is_none() {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ten_hex_digits_and_round_trip() {
        let ids = RequestIds::new();
        let a = ids.next();
        let b = ids.next();
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), 10);
        assert_eq!(a.header_value().to_str().unwrap(), text);
        assert_eq!(RequestId::parse(&text), Some(a));
        assert_eq!(RequestId::parse("0000000000"), None);
        assert_eq!(RequestId::parse("abc"), None);
        assert_eq!(RequestId::from_u64(1 << 40), RequestId::NONE);
    }

    #[test]
    fn zero_is_skipped() {
        let ids = RequestIds {
            next: AtomicU64::new(MASK),
        };
        assert_eq!(ids.next().get(), MASK);
        assert_eq!(ids.next().get(), 1);
    }
}
