//! Which subjects the platform has a record of, in 9 bytes per subject.
//!
//! `/v1/check` answers `known` for every id, and most ids asked about are
//! known but clean. Answering that from RocksDB cost a point lookup (index
//! partition, data block, often a decompression): 40% of the server's CPU
//! under load. This set answers it from memory.
//!
//! Layout: every key is hashed to 64 bits; the hashes are sorted and cut into
//! buckets by their top bits (about four per bucket), with one `u32` offset
//! per bucket. A lookup is one offset read and a scan of a few adjacent
//! `u64`s: two cache misses. The hash stands in for the key, so an unknown
//! id whose hash equals a known one's would be reported known: with 10^8
//! subjects the chance per query is about 5·10^-12, and the only effect would
//! be a `known: true` (and the clean-record benefit) on an id the platform
//! does not have. Decisions never depend on it: restrictions come from
//! entries, which the status index holds exactly.

use crate::id::SubjectKey;

/// The set of known subjects.
#[derive(Default)]
pub struct KnownSet {
    /// Bucket of a hash: `hash >> shift`.
    shift: u32,
    /// `offsets[b]..offsets[b + 1]` is bucket `b`'s range in `hashes`.
    offsets: Vec<u32>,
    /// Sorted hashes.
    hashes: Vec<u64>,
}

/// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
#[inline]
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The 64-bit hash of a key.
#[inline]
fn hash(key: SubjectKey) -> u64 {
    let b = key.to_bytes();
    let lo = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let hi = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as u64;
    fmix64(lo ^ fmix64(hi ^ 0x9e37_79b9_7f4a_7c15))
}

impl KnownSet {
    /// Builds the set from every key (duplicates allowed).
    pub fn build(keys: impl IntoIterator<Item = SubjectKey>) -> KnownSet {
        let mut hashes: Vec<u64> = keys.into_iter().map(hash).collect();
        hashes.sort_unstable();
        hashes.dedup();
        hashes.shrink_to_fit();
        // About four hashes per bucket; at least two buckets, so that the
        // shift stays below 64.
        let bits = (hashes.len() / 4).max(2).ilog2().min(32);
        let shift = 64 - bits;
        let buckets = 1usize << bits;
        let mut offsets = Vec::with_capacity(buckets + 1);
        let mut i = 0;
        for b in 0..buckets as u64 {
            offsets.push(i as u32);
            while i < hashes.len() && hashes[i] >> shift == b {
                i += 1;
            }
        }
        offsets.push(i as u32);
        KnownSet {
            shift,
            offsets,
            hashes,
        }
    }

    /// Whether `key` is in the set.
    #[inline]
    pub fn contains(&self, key: SubjectKey) -> bool {
        if self.hashes.is_empty() {
            return false;
        }
        let h = hash(key);
        let b = (h >> self.shift) as usize;
        let (start, end) = (self.offsets[b] as usize, self.offsets[b + 1] as usize);
        self.hashes[start..end].contains(&h)
    }

    /// Number of subjects.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 8 + self.offsets.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::build;

    fn person(n: u32) -> SubjectKey {
        // Distinct for n < 28,000: a day of January 1980 and a sequence.
        let body = format!("360102{:08}{:03}", 19_800_101 + n / 1000, n % 1000);
        let id = build::identity_number(body.as_bytes().try_into().unwrap()).unwrap();
        SubjectKey::parse(std::str::from_utf8(&id).unwrap()).unwrap()
    }

    #[test]
    fn holds_exactly_what_it_was_built_from() {
        let all: Vec<SubjectKey> = (0..20_000).map(person).collect();
        let (known, unknown) = all.split_at(10_000);
        let known_set: std::collections::HashSet<_> = known.iter().copied().collect();
        let set = KnownSet::build(known.iter().copied().chain(known.iter().copied()));
        assert_eq!(set.len(), known_set.len());
        for k in known {
            assert!(set.contains(*k));
        }
        for k in unknown.iter().filter(|k| !known_set.contains(k)) {
            assert!(!set.contains(*k), "{k}");
        }
        assert!(set.heap_bytes() < set.len() * 10);
    }

    #[test]
    fn empty_and_tiny_sets() {
        let empty = KnownSet::build([]);
        assert!(empty.is_empty() && !empty.contains(person(1)));
        let one = KnownSet::build([person(1)]);
        assert!(one.contains(person(1)) && !one.contains(person(2)));
    }
}
