//! The one place that knows how values are laid out on disk.
//!
//! Every value is one version byte followed by a bincode 2 payload (standard
//! configuration). This build writes version 2 and reads versions 1 and 2:
//! each stored type says how a version-1 payload becomes today's value
//! ([`Value::from_v1`]). Reading a value with a version this build does not
//! know is an error naming both versions, never garbage. bincode is flagged
//! unmaintained (RUSTSEC-2025-0141); keeping it behind `encode`/`decode` lets
//! it be swapped (postcard, rkyv) without touching callers.

use bincode::{Decode, Encode};

use super::StoreError;

/// Version byte of every value this build writes.
pub const VALUE_VERSION: u8 = 2;

/// A stored type: how its version-1 payload (written before the lifecycle
/// fields existed) reads as today's value.
pub trait Value: Decode<()> + Sized {
    /// The version-1 layout.
    type V1: Decode<()>;
    /// Today's value of a version-1 one.
    fn from_v1(old: Self::V1) -> Self;
}

/// Encodes `value` with its version byte.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VALUE_VERSION);
    bincode::encode_into_std_write(value, &mut out, bincode::config::standard())
        .expect("encoding into a Vec cannot fail");
    out
}

fn payload<T: Decode<()>>(payload: &[u8], what: &'static str) -> Result<T, StoreError> {
    bincode::decode_from_slice(payload, bincode::config::standard())
        .map(|(value, _)| value)
        .map_err(|e| StoreError::Corrupt {
            what,
            detail: e.to_string(),
        })
}

/// Decodes a value written by [`encode`] (or by a version-1 build); `what`
/// names it in errors.
pub fn decode<T: Value>(bytes: &[u8], what: &'static str) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&VALUE_VERSION, rest)) => payload(rest, what),
        Some((&1, rest)) => payload::<T::V1>(rest, what).map(T::from_v1),
        Some((&version, _)) => Err(StoreError::ValueVersion {
            what,
            found: version,
            supported: VALUE_VERSION,
        }),
        None => Err(StoreError::Corrupt {
            what,
            detail: "empty value".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Encode, Decode, PartialEq, Debug)]
    struct Sample {
        name: String,
        days: Option<i32>,
    }

    #[derive(Encode, Decode)]
    struct SampleV1 {
        name: String,
    }

    impl Value for Sample {
        type V1 = SampleV1;
        fn from_v1(old: SampleV1) -> Sample {
            Sample {
                name: old.name,
                days: None,
            }
        }
    }

    #[test]
    fn a_version_1_value_reads_through_its_old_layout() {
        let mut bytes = vec![1u8];
        bincode::encode_into_std_write(
            SampleV1 {
                name: "江西".into(),
            },
            &mut bytes,
            bincode::config::standard(),
        )
        .unwrap();
        assert_eq!(
            decode::<Sample>(&bytes, "sample").unwrap(),
            Sample {
                name: "江西".into(),
                days: None
            }
        );
    }

    #[test]
    fn round_trip_and_unknown_version() {
        let v = Sample {
            name: "江西华远科技有限公司".into(),
            days: Some(-3),
        };
        let bytes = encode(&v);
        assert_eq!(bytes[0], VALUE_VERSION);
        assert_eq!(decode::<Sample>(&bytes, "sample").unwrap(), v);
        let mut newer = bytes.clone();
        newer[0] = 9;
        let err = decode::<Sample>(&newer, "sample").unwrap_err();
        assert_eq!(
            err.to_string(),
            "sample value has format version 9; this build reads version 2 (written by a newer creditgate?)"
        );
        assert!(matches!(
            decode::<Sample>(&bytes[..3], "sample"),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
