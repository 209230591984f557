//! The signature a delivery carries, so that a receiver knows the POST
//! came from this platform and is not a replay:
//!
//! `X-Creditgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`
//!
//! The MAC is computed under the watch's secret over the timestamp, a dot
//! and the body exactly as sent (`"1764979200.{...}"`), the scheme
//! receivers already know from payment webhooks. A receiver recomputes it,
//! compares in constant time and rejects a `t` older than its tolerance
//! (five minutes is usual): an attacker replaying a captured POST cannot
//! move `t` without the secret. `X-Creditgate-Delivery` carries the
//! change's sequence, for a receiver to drop a duplicate (delivery is at
//! least once).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-creditgate-signature";
/// The header carrying the change's sequence.
pub const DELIVERY_HEADER: &str = "x-creditgate-delivery";
/// The header carrying the watch's id.
pub const WATCH_HEADER: &str = "x-creditgate-watch";

fn mac(secret: &str, t: u64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` sent at `t` (Unix seconds).
pub fn signature(secret: &str, t: u64, body: &[u8]) -> String {
    let tag = mac(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", crate::hex::encode(&tag))
}

/// Why a receiver rejects a delivery.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The header is not `t=…,v1=…`.
    #[error("the signature header is not t=<unix seconds>,v1=<hex>")]
    Malformed,
    /// The MAC does not verify.
    #[error("the signature does not verify")]
    Mismatch,
    /// `t` is further from now than the tolerance: a replay.
    #[error("the signature's time {t} is {age} s from now: a replay")]
    Stale {
        /// The header's time.
        t: u64,
        /// Seconds between it and now.
        age: u64,
    },
}

/// What a receiver does with a delivery (the reference for integrators,
/// and what the tests' receiver runs): verifies `header` over `body`
/// under `secret`, and rejects a time more than `tolerance_secs` from
/// `now` (Unix seconds).
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: u64,
    tolerance_secs: u64,
) -> Result<(), Rejected> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<u64>().ok(),
            Some(("v1", value)) => v1 = crate::hex::decode_into::<32>(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(Rejected::Malformed);
    };
    mac(secret, t, body)
        .verify_slice(&v1)
        .map_err(|_| Rejected::Mismatch)?;
    let age = now.abs_diff(t);
    if age > tolerance_secs {
        return Err(Rejected::Stale { t, age });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_a_replay_or_change_does_not() {
        let body = br#"{"seq":7}"#;
        let header = signature("whsec_1", 1_000, body);
        assert!(header.starts_with("t=1000,v1="));
        assert_eq!(verify("whsec_1", &header, body, 1_100, 300), Ok(()));
        assert_eq!(
            verify("whsec_1", &header, body, 1_400, 300),
            Err(Rejected::Stale { t: 1_000, age: 400 })
        );
        assert_eq!(
            verify("whsec_2", &header, body, 1_100, 300),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify("whsec_1", &header, br#"{"seq":8}"#, 1_100, 300),
            Err(Rejected::Mismatch)
        );
        // A replay with a fresh time but the old MAC.
        let moved = header.replace("t=1000", "t=1350");
        assert_eq!(
            verify("whsec_1", &moved, body, 1_400, 300),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify("whsec_1", "v1=00", body, 1_100, 300),
            Err(Rejected::Malformed)
        );
    }
}
