//! Name prints: a check that carries the passenger's name is answered
//! from memory.
//!
//! `name_match` says whether the name sent with an id is the subject's
//! current name or one of its aliases, after
//! [`normalize`](crate::search::normalize::normalize) (SPEC §6,
//! [`crate::search::names::matches`]). Reading the subject's record for that sent
//! every named check to RocksDB, and at 10^7 subjects the records do not
//! fit the block cache: p99 went from under 1 ms to 9–75 ms. Instead the
//! known set keeps, beside each subject's slot, a 32-bit *print* of its
//! normalized current name (4 bytes per slot, 5 per subject), and
//! [`AliasPrints`] keeps the prints of aliases, 12 bytes per alias in a
//! sorted array with a bucket directory. A named check compares one print,
//! and reads the alias table only when that differs.
//!
//! A print stands in for a name, so a wrong name whose print equals one of
//! the subject's would be reported as matching: the chance is 2^-32 (about
//! 2·10^-10) per wrong name and name held. Knowing a name does not help
//! anyone forge a match either: the real name already matches.
//!
//! Prints are saved with the known set. They depend on `normalize`, so
//! [`PRINT_VERSION`] is part of the saved file's header: change it with any
//! change to normalization and saved sets are rebuilt instead of misread.

use super::fmix64;

/// Stamped into saved files: bump it with any change to how a print is
/// made, [`normalize`](crate::search::normalize::normalize) included.
pub const PRINT_VERSION: u32 = 1;

/// A name's print; 0 is "no name" and never the print of one.
pub type Print = u32;

/// The print of `name` as typed, or 0 when nothing of it survives
/// normalization (such a name matches nothing).
pub fn of_name(name: &str) -> Print {
    of_normalized(&crate::search::normalize::normalize(name))
}

/// The print of an already normalized name; 0 for the empty name.
pub fn of_normalized(normalized: &str) -> Print {
    let b = normalized.as_bytes();
    if b.is_empty() {
        return 0;
    }
    let mut h = 0x243f_6a88_85a3_08d3 ^ b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(tail))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    ((fmix64(h) >> 32) as u32).max(1)
}

/// The prints of a subject's names: its current name and its aliases
/// (without 0s and duplicates).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamePrints {
    /// The current name's print (0: none).
    pub current: Print,
    /// The aliases' prints, ascending.
    pub aliases: Box<[Print]>,
}

impl NamePrints {
    /// The prints of a subject called `name`, also known as `aliases`.
    pub fn of<'a>(name: &str, aliases: impl IntoIterator<Item = &'a str>) -> NamePrints {
        let current = of_name(name);
        let mut prints: Vec<Print> = aliases
            .into_iter()
            .map(of_name)
            .filter(|&p| p != 0 && p != current)
            .collect();
        prints.sort_unstable();
        prints.dedup();
        NamePrints {
            current,
            aliases: prints.into(),
        }
    }

    /// Whether `given` (a non-zero print) is one of these names'.
    pub fn has(&self, given: Print) -> bool {
        given != 0 && (self.current == given || self.aliases.contains(&given))
    }
}

/// The prints of every alias, by the 64-bit hash of its subject's key
/// (the known set's hash, which stands in for the key): two sorted arrays
/// and a directory of buckets by the hash's top bits, so that a lookup
/// reads the directory and usually one cache line of each array.
///
/// 12 bytes per alias and 4 per bucket (about one bucket per four
/// aliases). Built once and replaced whole ([`AliasPrints::with_changes`])
/// when a fold moves live writes into a new base.
#[derive(Clone, Debug, Default)]
pub struct AliasPrints {
    /// Subject hashes, ascending (one per alias).
    hashes: Vec<u64>,
    /// The alias prints, in the order of `hashes`.
    prints: Vec<Print>,
    /// `dir[b]..dir[b + 1]`: the rows whose hash's top `bits` are `b`.
    dir: Vec<u32>,
    /// Bits of the hash that pick a bucket.
    bits: u32,
}

impl AliasPrints {
    /// The table of `rows` (subject hash, alias print), in any order;
    /// duplicates are kept once.
    pub fn build(mut rows: Vec<(u64, Print)>) -> AliasPrints {
        rows.sort_unstable();
        rows.dedup();
        assert!(
            rows.len() < u32::MAX as usize,
            "more than 4·10^9 aliases do not fit a u32 directory"
        );
        // About four rows per bucket.
        let bits = (usize::BITS - (rows.len() / 4).max(1).leading_zeros()).min(32);
        let buckets = 1usize << bits;
        let mut dir = Vec::with_capacity(buckets + 1);
        let mut row = 0;
        for b in 0..buckets {
            while row < rows.len() && Self::bucket_of(rows[row].0, bits) < b {
                row += 1;
            }
            dir.push(row as u32);
        }
        dir.push(rows.len() as u32);
        let (hashes, prints) = rows.into_iter().unzip();
        AliasPrints {
            hashes,
            prints,
            dir,
            bits,
        }
    }

    #[inline]
    fn bucket_of(hash: u64, bits: u32) -> usize {
        if bits == 0 {
            0
        } else {
            (hash >> (64 - bits)) as usize
        }
    }

    /// The rows of the subject with hash `hash`.
    #[inline]
    fn rows(&self, hash: u64) -> std::ops::Range<usize> {
        if self.hashes.is_empty() {
            return 0..0;
        }
        let b = Self::bucket_of(hash, self.bits);
        let (lo, hi) = (self.dir[b] as usize, self.dir[b + 1] as usize);
        let bucket = &self.hashes[lo..hi];
        let first = lo + bucket.partition_point(|&h| h < hash);
        let end = lo + bucket.partition_point(|&h| h <= hash);
        first..end
    }

    /// Whether `print` is one of the aliases of the subject with hash `hash`.
    #[inline]
    pub fn has(&self, hash: u64, print: Print) -> bool {
        self.prints[self.rows(hash)].contains(&print)
    }

    /// The alias prints of the subject with hash `hash`, ascending.
    pub fn of(&self, hash: u64) -> &[Print] {
        &self.prints[self.rows(hash)]
    }

    /// Aliases held.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether no alias is held.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 8 + self.prints.capacity() * 4 + self.dir.capacity() * 4
    }

    /// A new table: the subjects of `replaced` (hashes, ascending) lose
    /// the aliases held here and get the ones `added` lists.
    pub fn with_changes(&self, replaced: &[u64], added: Vec<(u64, Print)>) -> AliasPrints {
        debug_assert!(replaced.is_sorted());
        let mut rows: Vec<(u64, Print)> = self
            .hashes
            .iter()
            .zip(&self.prints)
            .filter(|(h, _)| replaced.binary_search(h).is_err())
            .map(|(&h, &p)| (h, p))
            .collect();
        rows.extend(added);
        AliasPrints::build(rows)
    }

    /// The rows, in order.
    pub fn rows_iter(&self) -> impl Iterator<Item = (u64, Print)> + '_ {
        self.hashes.iter().copied().zip(self.prints.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_follow_normalization() {
        let p = of_name("南昌市洪都机械有限公司");
        assert_ne!(p, 0);
        assert_eq!(of_name(" 南昌市洪都機械有限公司 "), p);
        assert_eq!(of_name("南昌市·洪都机械有限公司"), p);
        assert_ne!(of_name("南昌市洪都机械有限责任公司"), p);
        assert_eq!(of_name(""), 0);
        assert_eq!(of_name(" ·、 "), 0);
        // Lengths around the 8-byte word are told apart.
        let texts = ["a", "ab", "abcdefg", "abcdefgh", "abcdefgh\0", "abcdefghi"];
        let prints: std::collections::HashSet<Print> =
            texts.iter().map(|t| of_normalized(t)).collect();
        assert_eq!(prints.len(), texts.len());
    }

    #[test]
    fn name_prints_hold_current_and_aliases() {
        let n = NamePrints::of(
            "甲乙科技有限公司",
            ["甲乙科技", "甲乙科技有限公司", "", "丙丁"],
        );
        assert!(n.has(of_name("甲乙科技有限公司")));
        assert!(n.has(of_name("甲乙科技")));
        assert!(n.has(of_name("丙丁")));
        assert!(!n.has(of_name("甲乙")));
        assert!(!n.has(0));
        assert_eq!(
            n.aliases.len(),
            2,
            "the current name and the empty alias are not kept"
        );
    }

    #[test]
    fn alias_table_finds_every_row_and_nothing_else() {
        let mut rows = Vec::new();
        for s in 0..5_000u64 {
            let hash = fmix64(s + 1);
            for a in 0..(s % 4) {
                rows.push((hash, (s * 10 + a) as Print + 1));
            }
        }
        let table = AliasPrints::build(rows.clone());
        assert_eq!(table.len(), rows.len());
        for s in 0..5_000u64 {
            let hash = fmix64(s + 1);
            assert_eq!(table.of(hash).len() as u64, s % 4);
            for a in 0..(s % 4) {
                assert!(table.has(hash, (s * 10 + a) as Print + 1));
            }
            assert!(!table.has(hash, (s * 10 + 9) as Print + 1));
            assert!(!table.has(fmix64(s + 1_000_000), 1));
        }
        // A fold replaces some subjects' aliases.
        let changed: Vec<u64> = {
            let mut v: Vec<u64> = (0..100u64).map(|s| fmix64(s + 1)).collect();
            v.sort_unstable();
            v
        };
        let next = table.with_changes(&changed, vec![(fmix64(1), 77), (fmix64(2), 78)]);
        assert_eq!(next.of(fmix64(1)), &[77]);
        assert_eq!(next.of(fmix64(2)), &[78]);
        assert!(next.of(fmix64(3)).is_empty());
        assert_eq!(next.of(fmix64(103)).len(), 102 % 4);
        assert!(AliasPrints::default().of(5).is_empty());
        assert!(!AliasPrints::build(Vec::new()).has(5, 1));
    }
}
