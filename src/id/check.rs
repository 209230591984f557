//! Check characters: the credit code's two (GB 32100 over GB 11714) and
//! the identity number's ISO 7064 MOD 11-2, with their alphabets and
//! weights.

/// The 31 characters a credit code may use, in value order (no I, O, S, V, Z).
pub const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 for the credit code's own check: 3^(i−1) mod 31.
pub(super) const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// Weights of the GB 11714 organization code body (positions 9–16).
pub(super) const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
/// ISO 7064 MOD 11-2 weights of identity-number positions 1–17: 2^(17−i) mod 11.
pub(super) const PERSON_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check characters of an identity number, indexed by value.
pub(super) const PERSON_CHECK: &[u8; 11] = b"0123456789X";

/// `USCC_VALUE[byte]` is the character's value in [`USCC_ALPHABET`], or 255.
pub(super) const USCC_VALUE: [u8; 256] = {
    let mut table = [255u8; 256];
    let mut i = 0;
    while i < USCC_ALPHABET.len() {
        table[USCC_ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The credit code's check character over its first 17 characters, which must
/// all be in [`USCC_ALPHABET`].
pub(super) fn uscc_check(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(&c, w)| u32::from(USCC_VALUE[c as usize]) * w)
        .sum();
    USCC_ALPHABET[((31 - sum % 31) % 31) as usize]
}

/// The GB 11714 check character over an organization code's 8-character body:
/// digits count their value, letters A–Z count 10–35.
pub(super) fn org_code_check(body: &[u8]) -> u8 {
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
pub(super) fn person_check(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(PERSON_WEIGHTS)
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    PERSON_CHECK[((12 - sum % 11) % 11) as usize]
}
