//! Which subjects the platform has a record of, and the prints of their
//! names: 15 bytes per subject and 12 per alias.
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
//!
//! Beside the slots, a second table holds the [print](super::prints) of
//! each subject's current name at the same position (4 bytes per slot, 5
//! per subject), and [`AliasPrints`] the prints of aliases by the same
//! hash: a check that carries a name compares prints and never reads the
//! subject's record.

use std::path::Path;

use super::fmix64;
use super::prints::{AliasPrints, NamePrints, PRINT_VERSION, Print};
use super::saved::{SavedReader, SavedWriter};
use crate::id::SubjectKey;

/// First bytes of a saved set.
const MAGIC: &[u8; 8] = b"CGKNOWN4";

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
    /// The print of the current name of the subject in the same slot (0:
    /// none, or an empty slot).
    prints: Vec<Print>,
    /// The prints of aliases, by stored hash.
    aliases: AliasPrints,
    /// Slots with [`KNOWN`].
    len: usize,
    /// Slots in use (known or flagged).
    used: usize,
}

/// Collects subjects for [`KnownSet::build`] in 12 bytes each (16 with
/// alignment) and 12 per alias: at 10^8 subjects, a list of the records'
/// keys and prints as they were scanned took 4.8 GB.
#[derive(Default)]
pub struct KnownSetBuilder {
    rows: Vec<(u64, Print)>,
    aliases: Vec<(u64, Print)>,
}

impl KnownSetBuilder {
    /// A builder with room for `subjects` (an estimate: more may be added).
    pub fn with_capacity(subjects: usize) -> KnownSetBuilder {
        KnownSetBuilder {
            rows: Vec::with_capacity(subjects),
            aliases: Vec::new(),
        }
    }

    /// Adds a subject with a record and the prints of its names.
    pub fn add(&mut self, key: SubjectKey, prints: &NamePrints) {
        let h = stored(hash(key));
        self.rows.push((h, prints.current));
        self.aliases.extend(prints.aliases.iter().map(|&p| (h, p)));
    }

    /// The set of everything added (a key added twice keeps the prints of
    /// one of them).
    pub fn finish(self) -> KnownSet {
        KnownSet::from_rows(self.rows, AliasPrints::build(self.aliases))
    }
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
    /// Builds the set from every subject with a record and its names'
    /// prints (a key given twice keeps the prints of one of them).
    pub fn build(records: impl IntoIterator<Item = (SubjectKey, NamePrints)>) -> KnownSet {
        let mut builder = KnownSetBuilder::default();
        for (key, prints) in records {
            builder.add(key, &prints);
        }
        builder.finish()
    }

    /// The set of `rows` (stored hash, current name's print), any order.
    fn from_rows(mut rows: Vec<(u64, Print)>, aliases: AliasPrints) -> KnownSet {
        // Sorted, the inserts walk the table front to back (the home slot
        // grows with the hash), which is far kinder to the cache. (Not a
        // stable sort: its buffer would be half the rows again.)
        rows.sort_unstable_by_key(|&(h, _)| h);
        rows.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                *kept = *later;
            }
            same
        });
        let mut set = KnownSet::with_size(rows.len() + rows.len() / 4);
        for (h, print) in rows {
            let i = set.insert(h, KNOWN);
            set.prints[i] = print;
        }
        set.aliases = aliases;
        set
    }

    fn with_size(size: usize) -> KnownSet {
        let size = size.max(16);
        KnownSet {
            slots: super::zeroed_table(size),
            prints: super::zeroed_table(size),
            aliases: AliasPrints::default(),
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

    /// Adds `bits` to stored hash `h`, inserting it if absent; its slot.
    fn insert(&mut self, h: u64, bits: u64) -> usize {
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
        i
    }

    fn grow(&mut self) {
        let old = std::mem::take(self);
        *self = KnownSet::with_size(old.slots.len() * 2);
        for (&v, &print) in old.slots.iter().zip(&old.prints).filter(|(v, _)| **v != 0) {
            let i = self.insert(v & !BITS, v & BITS);
            self.prints[i] = print;
        }
        self.aliases = old.aliases;
    }

    /// A copy with `records` (subjects with a record and their names'
    /// prints) added or replacing what the set held of them: the fold of
    /// live writes into a new base, done off the request path (the
    /// original keeps serving meanwhile).
    pub fn with_records<'a>(
        &self,
        records: impl IntoIterator<Item = (SubjectKey, &'a NamePrints)>,
    ) -> KnownSet {
        let mut set = KnownSet {
            slots: super::zeroed_table(self.slots.len()),
            prints: super::zeroed_table(self.prints.len()),
            aliases: AliasPrints::default(),
            len: self.len,
            used: self.used,
        };
        set.slots.copy_from_slice(&self.slots);
        set.prints.copy_from_slice(&self.prints);
        let mut replaced = Vec::new();
        let mut added = Vec::new();
        for (key, prints) in records {
            let h = stored(hash(key));
            let i = set.insert(h, KNOWN);
            set.prints[i] = prints.current;
            replaced.push(h);
            added.extend(prints.aliases.iter().map(|&p| (h, p)));
        }
        replaced.sort_unstable();
        set.aliases = if replaced.is_empty() {
            self.aliases.clone()
        } else {
            self.aliases.with_changes(&replaced, added)
        };
        set
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

    /// Whether `given` (a non-zero print) is the print of the current name
    /// or of an alias of `key`, a subject with a record. No I/O: a probe,
    /// the print beside it, and the alias table only when that differs.
    pub fn has_name(&self, key: SubjectKey, given: Print) -> bool {
        if self.slots.is_empty() || given == 0 {
            return false;
        }
        let h = stored(hash(key));
        let i = self.find(h);
        self.slots[i] & KNOWN != 0 && (self.prints[i] == given || self.aliases.has(h, given))
    }

    /// The prints of `key`'s names (none when it has no record).
    pub fn name_prints(&self, key: SubjectKey) -> NamePrints {
        if self.slots.is_empty() {
            return NamePrints::default();
        }
        let h = stored(hash(key));
        let i = self.find(h);
        if self.slots[i] & KNOWN == 0 {
            return NamePrints::default();
        }
        NamePrints {
            current: self.prints[i],
            aliases: self.aliases.of(h).into(),
        }
    }

    /// Starts loading the cache line [`KnownSet::probe`] will read first for
    /// `key`, so that a caller with other work to do before the probe does it
    /// while the line (usually a miss: the table is far larger than the
    /// caches) comes in from memory. `name`: also the line of its print.
    #[inline]
    pub fn prefetch(&self, key: SubjectKey, name: bool) {
        if self.slots.is_empty() {
            return;
        }
        let i = self.home(stored(hash(key)));
        prefetch_line(&self.slots[i]);
        if name {
            prefetch_line(&self.prints[i]);
        }
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

    /// Aliases held.
    pub fn aliases(&self) -> usize {
        self.aliases.len()
    }

    /// Heap bytes held: the slots, the current names' prints and the
    /// alias table.
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 8 + self.prints.capacity() * 4 + self.aliases.heap_bytes()
    }

    /// Heap bytes of the name prints alone (current names and aliases).
    pub fn print_bytes(&self) -> usize {
        self.prints.capacity() * 4 + self.aliases.heap_bytes()
    }

    /// Saves the set to `path`, stamped with `stamp` (the store's change
    /// sequence; `index::saved`). Flagged marks are not saved on the
    /// subjects with a record (the status index gives them again at open);
    /// a slot marked for a subject without a record stays, as a mark that
    /// costs at most an extra look at the status index.
    pub fn save(&self, path: &Path, stamp: u64) -> std::io::Result<()> {
        let mut out = SavedWriter::create(path, MAGIC, stamp)?;
        out.u64(u64::from(PRINT_VERSION))?;
        out.u64(self.len as u64)?;
        out.u64(self.slots.len() as u64)?;
        out.u64(self.aliases.len() as u64)?;
        let mut block = Vec::with_capacity(1 << 20);
        let unmarked = |v: u64| if v & KNOWN != 0 { v & !FLAGGED } else { v };
        for chunk in self.slots.chunks(1 << 17) {
            block.clear();
            block.extend(chunk.iter().flat_map(|&v| unmarked(v).to_le_bytes()));
            out.put(&block)?;
        }
        for chunk in self.prints.chunks(1 << 18) {
            block.clear();
            block.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
            out.put(&block)?;
        }
        for (h, print) in self.aliases.rows_iter() {
            out.put(&h.to_le_bytes())?;
            out.put(&print.to_le_bytes())?;
        }
        out.finish()
    }

    /// Loads a set saved with `stamp`; `None` if the file is missing, from
    /// another print version, stamped after `newest`, or not a consistent
    /// set (it is then rebuilt). Gives the set and its stamp: the changes
    /// from there on are still to be caught up (`index::catch_up`).
    pub fn load(path: &Path, newest: u64) -> Option<(KnownSet, u64)> {
        let (mut input, stamp) = SavedReader::open(path, MAGIC, newest)?;
        if input.u64()? != u64::from(PRINT_VERSION) {
            return None;
        }
        let (len, size, aliases) = (
            input.u64()? as usize,
            input.u64()? as usize,
            input.u64()? as usize,
        );
        if size < 16 || len > size || size > (1 << 40) || aliases > (1 << 36) {
            return None;
        }
        let mut slots = super::zeroed_table::<u64>(size);
        input.words(&mut slots, u64::from_le_bytes)?;
        let mut prints = super::zeroed_table::<Print>(size);
        input.words(&mut prints, u32::from_le_bytes)?;
        let mut rows = Vec::with_capacity(aliases);
        let mut row = [0u8; 12];
        for _ in 0..aliases {
            input.take(&mut row)?;
            let h = u64::from_le_bytes(row[..8].try_into().expect("8 bytes"));
            let p = u32::from_le_bytes(row[8..].try_into().expect("4 bytes"));
            rows.push((h, p));
        }
        input.finish()?;
        if !rows.is_sorted() {
            return None;
        }
        let mut set = KnownSet {
            slots,
            prints,
            aliases: AliasPrints::build(rows),
            len,
            used: 0,
        };
        // Every slot must hold a hash found from its home slot, known and
        // unmarked or only marked (a marked one, as an empty one, has no
        // print), and the count of known ones must match. Anything else is
        // a damaged file.
        let (mut found, mut used) = (0, 0);
        for (&v, &print) in set.slots.iter().zip(&set.prints) {
            if v == 0 || v & BITS == FLAGGED {
                if print != 0 {
                    return None;
                }
                if v == 0 {
                    continue;
                }
            } else if v & BITS != KNOWN {
                return None;
            }
            if set.slots[set.find(v & !BITS)] != v {
                return None;
            }
            used += 1;
            found += usize::from(v & KNOWN != 0);
        }
        set.used = used;
        (found == len && used * 10 <= size * 9 && set.aliases.len() == aliases)
            .then_some((set, stamp))
    }
}

/// Hints the processor to load the cache line holding `value`.
#[inline]
fn prefetch_line<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing into the program
    // and cannot fault, and `value` is a valid reference anyway.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::build;
    use crate::index::prints::of_name;

    fn person(n: u32) -> SubjectKey {
        // Distinct for n < 28,000: a day of January 1980 and a sequence.
        let body = format!("360102{:08}{:03}", 19_800_101 + n / 1000, n % 1000);
        let id = build::identity_number(body.as_bytes().try_into().unwrap()).unwrap();
        SubjectKey::parse(std::str::from_utf8(&id).unwrap()).unwrap()
    }

    /// A set of `keys` without names.
    fn unnamed<'a>(keys: impl IntoIterator<Item = &'a SubjectKey>) -> KnownSet {
        KnownSet::build(keys.into_iter().map(|k| (*k, NamePrints::default())))
    }

    /// The names [`named`] gives subject `i`.
    fn names_of(i: usize) -> NamePrints {
        let aliases = [format!("{i}号厂"), format!("{i}号店")];
        NamePrints::of(
            &format!("测试{i}有限公司"),
            aliases[..i % 3].iter().map(String::as_str),
        )
    }

    /// A set of `keys`, each with a name and 0–2 aliases.
    fn named(keys: &[SubjectKey]) -> KnownSet {
        KnownSet::build(keys.iter().enumerate().map(|(i, k)| (*k, names_of(i))))
    }

    #[test]
    fn holds_exactly_what_it_was_built_from() {
        let all: Vec<SubjectKey> = (0..20_000).map(person).collect();
        let (known, unknown) = all.split_at(10_000);
        let known_set: std::collections::HashSet<_> = known.iter().copied().collect();
        let set = unnamed(known.iter().chain(known.iter()));
        assert_eq!(set.len(), known_set.len());
        for k in known {
            assert!(set.contains(*k));
        }
        for k in unknown.iter().filter(|k| !known_set.contains(k)) {
            assert!(!set.contains(*k), "{k}");
        }
        // 8 bytes of hash and 4 of print per slot, 80% full.
        assert!(set.heap_bytes() <= set.len() * 16);
    }

    #[test]
    fn saved_sets_load_at_or_behind_the_store_and_never_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known.idx");
        let keys: Vec<SubjectKey> = (0..5_000).map(person).collect();
        let set = named(&keys);
        set.save(&path, 42).unwrap();
        let (loaded, stamp) = KnownSet::load(&path, 42).expect("same stamp");
        assert_eq!(stamp, 42);
        assert_eq!(loaded.len(), set.len());
        assert!(keys.iter().all(|k| loaded.contains(*k)));
        // With the names' prints.
        assert_eq!(loaded.aliases(), set.aliases());
        assert!(set.aliases() > 3_000);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(loaded.name_prints(*k), names_of(i));
            assert!(loaded.has_name(*k, of_name(&format!("测试{i}有限公司"))));
            assert_eq!(
                loaded.has_name(*k, of_name(&format!("{i}号店"))),
                i % 3 == 2
            );
            assert!(!loaded.has_name(*k, of_name(&format!("测试{}有限公司", i + 1))));
        }
        assert!(!loaded.has_name(person(20_000), of_name("测试0有限公司")));
        assert!(!loaded.contains(person(20_000)));
        // Behind the store: loaded, with its stamp to catch up from; ahead
        // of it: refused.
        assert_eq!(
            KnownSet::load(&path, 50).map(|(s, at)| (s.len(), at)),
            Some((set.len(), 42))
        );
        assert!(
            KnownSet::load(&path, 41).is_none(),
            "a stamp after the store's"
        );
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
        let mut set = unnamed(&known);
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
        // Saved with its marks (a fold's set is): the known subjects come
        // back unmarked, the subjects only marked stay marked.
        let file = path.path().join("k2");
        set.save(&file, 1).unwrap();
        let (loaded, _) = KnownSet::load(&file, 1).expect("a marked set loads");
        assert_eq!(loaded.len(), set.len());
        for k in &known {
            assert_eq!(
                loaded.probe(*k),
                Probe {
                    known: true,
                    maybe_flagged: false
                }
            );
        }
        for k in &flagged_only {
            assert!(loaded.probe(*k).maybe_flagged && !loaded.probe(*k).known);
        }
    }

    #[test]
    fn records_added_or_renamed_in_a_copy_keep_their_prints_through_growth() {
        let keys: Vec<SubjectKey> = (0..2_000).map(person).collect();
        let set = named(&keys[..1_000]);
        // Half of the base renamed, and twice as many new subjects: the
        // copy grows past its size.
        let renamed: Vec<(SubjectKey, NamePrints)> = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(i, k)| {
                (
                    *k,
                    NamePrints::of(&format!("新{i}"), [format!("旧{i}").as_str()]),
                )
            })
            .collect();
        let next = set.with_records(renamed.iter().map(|(k, n)| (*k, n)));
        assert_eq!(next.len(), 1_500);
        for (i, k) in keys.iter().enumerate() {
            let want = match i {
                i if i % 2 == 0 => NamePrints::of(&format!("新{i}"), [format!("旧{i}").as_str()]),
                i if i < 1_000 => names_of(i),
                _ => NamePrints::default(),
            };
            assert_eq!(next.name_prints(*k), want, "{i}");
            assert_eq!(next.contains(*k), i < 1_000 || i % 2 == 0);
        }
        // The original is untouched.
        assert_eq!(set.name_prints(keys[0]), names_of(0));
        assert!(!set.contains(keys[1_000]));
    }

    #[test]
    fn empty_and_tiny_sets() {
        let empty = unnamed(&[]);
        assert!(empty.is_empty() && !empty.contains(person(1)));
        let one = unnamed(&[person(1)]);
        assert!(one.contains(person(1)) && !one.contains(person(2)));
    }
}
