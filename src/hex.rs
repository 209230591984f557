//! Lower-case hexadecimal, the one encoding of bytes as text the product
//! uses: key ids and token secrets, token hashes, audit records' key ids,
//! and the digits of percent-escapes.

/// `bytes` as lower-case hexadecimal, two digits a byte.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
}

/// The value of one hexadecimal digit, either case.
pub fn digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Fills `out` from `text`, exactly two digits a byte; `None` for text of
/// another length or with a character that is not a digit.
pub fn decode_into<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *o = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_hex() {
        let bytes = [0x00, 0x7f, 0x80, 0xff, 0x3a, 0xc5];
        assert_eq!(encode(&bytes), "007f80ff3ac5");
        assert_eq!(decode_into::<6>("007f80ff3ac5"), Some(bytes));
        assert_eq!(decode_into::<6>("007F80FF3AC5"), Some(bytes));
        assert_eq!(decode_into::<6>("007f80ff3ac"), None);
        assert_eq!(decode_into::<6>("007f80ff3acg"), None);
        assert_eq!(decode_into::<1>("é"), None);
        assert_eq!(encode(&[]), "");
    }
}
