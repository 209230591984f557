//! Builders of valid identifiers, for the data generator and tests: they
//! compute the check characters the parser verifies.

use super::check::{USCC_VALUE, org_code_check, person_check, uscc_check};

/// Completes 16 credit-code characters (registration authority, type,
/// division code, organization code body) with both check characters.
/// Returns `None` if a character is outside [`super::USCC_ALPHABET`] or positions
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
