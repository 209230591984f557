//! In-memory indexes built from the store, consulted before touching disk.

pub mod known;
pub mod status;

/// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
/// Both in-memory indexes hash subject keys with it.
#[inline]
pub(crate) fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}
