//! Which subjects the platform has a record of, in 9 bytes per subject.
//!
//! `/v1/check` answers `known` for every id, and most ids asked about are
//! known but clean. Answering that from RocksDB cost a point lookup (index
//! partition, data block, often a decompression): 40% of the server's CPU
//! under load. This set answers it from memory.
//!
//! Layout: every key is hashed to 64 bits and the hashes are kept in an
//! open-addressing table (linear probing, 80% full, 10 bytes per subject).
//! A lookup usually reads one cache line: the probe of every check costs one
//! memory access, not the two of a bucketed sorted array. The hash stands in
//! for the key, so an unknown id whose hash equals a known one's would be
//! reported known: with 10^8 subjects the chance per query is about
//! 5·10^-12, and the only effect would be a `known: true` (and the
//! clean-record benefit) on an id the platform does not have. Decisions never
//! depend on it: restrictions come from entries, which the status index
//! holds exactly.

use std::io::{Read, Write};
use std::path::Path;

use super::fmix64;
use crate::id::SubjectKey;

/// First bytes of a saved set.
const MAGIC: &[u8; 8] = b"CGKNOWN3";

/// Slot bit: the subject has a record.
const KNOWN: u64 = 2;
/// Slot bit: the subject may be flagged (ask the status index).
const FLAGGED: u64 = 1;
/// The two flag bits.
const BITS: u64 = KNOWN | FLAGGED;

/// A hash as stored: the two low bits cleared for the flags, never 0.
#[inline]
fn stored(h: u64) -> u64 {
    (h & !BITS).max(BITS + 1)
}

/// What one probe tells.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The subject has a record.
    pub known: bool,
    /// The subject may be flagged: the status index has the exact answer.
    /// False means it is certainly not flagged.
    pub maybe_flagged: bool,
}

/// The set of known subjects.
#[derive(Default)]
pub struct KnownSet {
    /// [`stored`] hashes with their [`KNOWN`] and [`FLAGGED`] bits, at their
    /// probe positions; 0 marks an empty slot.
    slots: Vec<u64>,
    /// Slots with [`KNOWN`].
    len: usize,
    /// Slots in use (known or flagged).
    used: usize,
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
        let mut hashes: Vec<u64> = keys.into_iter().map(|k| stored(hash(k))).collect();
        // Sorted, the inserts walk the table front to back (the home slot
        // grows with the hash), which is far kinder to the cache.
        hashes.sort_unstable();
        hashes.dedup();
        let mut set = KnownSet::with_size(hashes.len() + hashes.len() / 4);
        for h in hashes {
            set.insert(h, KNOWN);
        }
        set
    }

    fn with_size(size: usize) -> KnownSet {
        KnownSet {
            slots: super::zeroed_table(size.max(16)),
            len: 0,
            used: 0,
        }
    }

    /// The slot a hash's probe starts at: `hash · size / 2^64`.
    #[inline]
    fn home(&self, h: u64) -> usize {
        ((u128::from(h) * self.slots.len() as u128) >> 64) as usize
    }

    /// The slot holding stored hash `h`, or the empty slot where it would go.
    #[inline]
    fn find(&self, h: u64) -> usize {
        let mut i = self.home(h);
        loop {
            let v = self.slots[i];
            if v == 0 || v & !BITS == h {
                return i;
            }
            i = if i + 1 == self.slots.len() { 0 } else { i + 1 };
        }
    }

    /// Adds `bits` to stored hash `h`, inserting it if absent.
    fn insert(&mut self, h: u64, bits: u64) {
        // At most 90% full, so that probes stay short and always end.
        if (self.used + 1) * 10 > self.slots.len() * 9 {
            self.grow();
        }
        let i = self.find(h);
        let old = self.slots[i];
        if old == 0 {
            self.used += 1;
        }
        if bits & KNOWN != 0 && old & KNOWN == 0 {
            self.len += 1;
        }
        self.slots[i] = h | (old & BITS) | bits;
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        *self = KnownSet::with_size(old.len() * 2);
        for v in old.into_iter().filter(|&v| v != 0) {
            self.insert(v & !BITS, v & BITS);
        }
    }

    /// Adds `key` as a subject with a record.
    pub fn mark_known(&mut self, key: SubjectKey) {
        self.insert(stored(hash(key)), KNOWN);
    }

    /// A copy, for folding live writes into a new base off the request path
    /// (the original keeps serving meanwhile).
    pub fn copy(&self) -> KnownSet {
        let mut slots = super::zeroed_table(self.slots.len());
        slots.copy_from_slice(&self.slots);
        KnownSet {
            slots,
            len: self.len,
            used: self.used,
        }
    }

    /// Marks `key` as possibly flagged (adding it if it has no record), so
    /// that [`KnownSet::probe`] answers both questions at once.
    pub fn mark_flagged(&mut self, key: SubjectKey) {
        self.insert(stored(hash(key)), FLAGGED);
    }

    /// Whether `key` is known and whether it may be flagged: one probe,
    /// usually one cache line.
    #[inline]
    pub fn probe(&self, key: SubjectKey) -> Probe {
        if self.slots.is_empty() {
            return Probe {
                known: false,
                maybe_flagged: false,
            };
        }
        let v = self.slots[self.find(stored(hash(key)))];
        Probe {
            known: v & KNOWN != 0,
            maybe_flagged: v & FLAGGED != 0,
        }
    }

    /// Starts loading the cache line [`KnownSet::probe`] will read first for
    /// `key`, so that a caller with other work to do before the probe does it
    /// while the line (usually a miss: the table is far larger than the
    /// caches) comes in from memory.
    #[inline]
    pub fn prefetch(&self, key: SubjectKey) {
        if self.slots.is_empty() {
            return;
        }
        let slot = &self.slots[self.home(stored(hash(key)))];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint; it reads nothing into the program
        // and cannot fault, and `slot` is a valid reference anyway.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(slot).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// Whether `key` is in the set.
    #[inline]
    pub fn contains(&self, key: SubjectKey) -> bool {
        self.probe(key).known
    }

    /// Number of subjects.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 8
    }

    /// Saves the set to `path`, stamped with `stamp` (the store's write
    /// sequence), through a temporary file renamed into place.
    /// Only the known subjects are saved: call it before
    /// [`KnownSet::mark_flagged`], which is derived from the status index.
    pub fn save(&self, path: &Path, stamp: u64) -> std::io::Result<()> {
        if self.used != self.len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the known set holds flagged marks; save it before marking",
            ));
        }
        let tmp = path.with_extension("tmp");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        out.write_all(MAGIC)?;
        out.write_all(&stamp.to_le_bytes())?;
        out.write_all(&(self.len as u64).to_le_bytes())?;
        out.write_all(&(self.slots.len() as u64).to_le_bytes())?;
        for slot in &self.slots {
            out.write_all(&slot.to_le_bytes())?;
        }
        out.into_inner()?.sync_all()?;
        std::fs::rename(&tmp, path)
    }

    /// Loads a set saved with `stamp`; `None` if the file is missing, from
    /// another stamp, or not a consistent set (it is then rebuilt).
    pub fn load(path: &Path, stamp: u64) -> Option<KnownSet> {
        let mut input = std::io::BufReader::new(std::fs::File::open(path).ok()?);
        let mut header = [0u8; 32];
        input.read_exact(&mut header).ok()?;
        let u64_at = |i: usize| u64::from_le_bytes(header[i..i + 8].try_into().expect("8 bytes"));
        if &header[..8] != MAGIC || u64_at(8) != stamp {
            return None;
        }
        let (len, size) = (u64_at(16) as usize, u64_at(24) as usize);
        if size < 16 || len > size || size > (1 << 40) {
            return None;
        }
        let mut slots = super::zeroed_table(size);
        let mut bytes = vec![0u8; 1 << 20];
        for chunk in slots.chunks_mut(bytes.len() / 8) {
            let bytes = &mut bytes[..chunk.len() * 8];
            input.read_exact(bytes).ok()?;
            for (slot, b) in chunk.iter_mut().zip(bytes.chunks_exact(8)) {
                *slot = u64::from_le_bytes(b.try_into().expect("8 bytes"));
            }
        }
        if input.read(&mut [0u8; 1]).ok()? != 0 {
            return None;
        }
        let set = KnownSet {
            slots,
            len,
            used: len,
        };
        // Every slot must hold a known, unmarked hash found from its home
        // slot, and the count must match. Anything else is a damaged file.
        let mut found = 0;
        for &v in set.slots.iter().filter(|&&v| v != 0) {
            if v & BITS != KNOWN || set.slots[set.find(v & !BITS)] != v {
                return None;
            }
            found += 1;
        }
        (found == len && len * 10 <= size * 9).then_some(set)
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
        assert!(set.heap_bytes() <= set.len() * 11);
    }

    #[test]
    fn saved_sets_load_only_with_their_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known.idx");
        let keys: Vec<SubjectKey> = (0..5_000).map(person).collect();
        let set = KnownSet::build(keys.iter().copied());
        set.save(&path, 42).unwrap();
        let loaded = KnownSet::load(&path, 42).expect("same stamp");
        assert_eq!(loaded.len(), set.len());
        assert!(keys.iter().all(|k| loaded.contains(*k)));
        assert!(!loaded.contains(person(20_000)));
        assert!(KnownSet::load(&path, 43).is_none(), "another stamp");
        // A truncated or corrupted file is refused, not misread.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(KnownSet::load(&path, 42).is_none());
        let mut bad = bytes.clone();
        let last = bad.len() - 9;
        bad[last] ^= 0xff;
        std::fs::write(&path, &bad).unwrap();
        assert!(KnownSet::load(&path, 42).is_none());
        assert!(KnownSet::load(&dir.path().join("missing"), 42).is_none());
    }

    #[test]
    fn one_probe_tells_known_and_maybe_flagged() {
        let known: Vec<SubjectKey> = (0..1_000).map(person).collect();
        let mut set = KnownSet::build(known.iter().copied());
        let path = tempfile::tempdir().unwrap();
        set.save(&path.path().join("k"), 1).unwrap();
        // Flag some known subjects and many unknown ones (forcing growth).
        for k in known.iter().step_by(10) {
            set.mark_flagged(*k);
        }
        let flagged_only: Vec<SubjectKey> = (1_000..6_000).map(person).collect();
        for k in &flagged_only {
            set.mark_flagged(*k);
        }
        assert_eq!(set.len(), 1_000);
        for (i, k) in known.iter().enumerate() {
            let p = set.probe(*k);
            assert!(p.known);
            assert_eq!(p.maybe_flagged, i % 10 == 0, "{k}");
        }
        for k in &flagged_only {
            assert_eq!(
                set.probe(*k),
                Probe {
                    known: false,
                    maybe_flagged: true
                }
            );
        }
        assert_eq!(
            set.probe(person(7_000)),
            Probe {
                known: false,
                maybe_flagged: false
            }
        );
        assert!(
            set.save(&path.path().join("k2"), 1).is_err(),
            "marks are not saved"
        );
    }

    #[test]
    fn empty_and_tiny_sets() {
        let empty = KnownSet::build([]);
        assert!(empty.is_empty() && !empty.contains(person(1)));
        let one = KnownSet::build([person(1)]);
        assert!(one.contains(person(1)) && !one.contains(person(2)));
    }
}
