//! Indexes saved beside the store, so that an open loads them instead of
//! scanning the store: the known set with its name prints and the status
//! index (at 10^8 subjects, minutes of scanning against seconds of
//! reading).
//!
//! A saved file is stamped with the store's change sequence (the next
//! sequence of its change log): it is loaded only by an open at that same
//! sequence, so a file that no longer describes the store is rebuilt
//! instead of believed. Every write that changes what these indexes hold
//! (a record, an entry joining or leaving a subject) logs a change; writes
//! that log none (the expiry sweep's marker, feedback, the sequence
//! counter) leave them valid. RocksDB's own write sequence, the stamp
//! before, moved with those too: a server's expiry sweep at start made the
//! next open rebuild both indexes, four minutes at 10^8 subjects. It is written to a
//! temporary file, synced and renamed into place, and ends with a checksum
//! of everything before it: a truncated or damaged file is refused, never
//! misread.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::fmix64;

/// A running checksum, 8 bytes at a time (a known set of 10^8 subjects is
/// 1.5 GB).
#[derive(Default)]
struct Sum {
    h: u64,
    /// Bytes of an unfinished word.
    pending: [u8; 8],
    filled: usize,
}

impl Sum {
    fn word(&mut self, w: u64) {
        self.h = (self.h ^ w)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(31);
    }

    fn add(&mut self, mut bytes: &[u8]) {
        while self.filled > 0 && !bytes.is_empty() {
            self.pending[self.filled] = bytes[0];
            self.filled += 1;
            bytes = &bytes[1..];
            if self.filled == 8 {
                self.word(u64::from_le_bytes(self.pending));
                self.filled = 0;
            }
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.word(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        for &b in words.remainder() {
            self.pending[self.filled] = b;
            self.filled += 1;
        }
    }

    fn value(&self) -> u64 {
        let mut tail = [0u8; 8];
        tail[..self.filled].copy_from_slice(&self.pending[..self.filled]);
        fmix64(self.h ^ fmix64(u64::from_le_bytes(tail) ^ self.filled as u64))
    }
}

/// Writes a saved index: [`SavedWriter::finish`] adds the checksum, syncs
/// and renames it into place. Dropped unfinished, it leaves only the
/// temporary file, which the next save replaces.
pub(crate) struct SavedWriter {
    out: BufWriter<File>,
    sum: Sum,
    tmp: PathBuf,
    path: PathBuf,
}

impl SavedWriter {
    /// Starts `path` with its `magic` and `stamp`.
    pub fn create(path: &Path, magic: &[u8; 8], stamp: u64) -> std::io::Result<SavedWriter> {
        let tmp = path.with_extension("tmp");
        let mut w = SavedWriter {
            out: BufWriter::with_capacity(1 << 20, File::create(&tmp)?),
            sum: Sum::default(),
            tmp,
            path: path.to_path_buf(),
        };
        w.put(magic)?;
        w.u64(stamp)?;
        Ok(w)
    }

    /// Appends `bytes`.
    pub fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.sum.add(bytes);
        self.out.write_all(bytes)
    }

    /// Appends `v`, little-endian.
    pub fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.put(&v.to_le_bytes())
    }

    /// Appends the checksum, syncs the file and renames it into place.
    pub fn finish(mut self) -> std::io::Result<()> {
        let sum = self.sum.value();
        self.out.write_all(&sum.to_le_bytes())?;
        self.out.into_inner()?.sync_all()?;
        std::fs::rename(&self.tmp, &self.path)
    }
}

/// Reads a saved index: every read is `None` at the end of the file, and
/// [`SavedReader::finish`] says whether the checksum holds and nothing
/// follows it.
pub(crate) struct SavedReader {
    input: BufReader<File>,
    sum: Sum,
}

/// The stamp a saved index at `path` carries, without reading the rest
/// (whether the file is whole is for the load to find).
pub(crate) fn stamp_of(path: &Path) -> Option<u64> {
    let mut head = [0u8; 16];
    File::open(path).ok()?.read_exact(&mut head).ok()?;
    Some(u64::from_le_bytes(head[8..].try_into().expect("8 bytes")))
}

impl SavedReader {
    /// Opens `path` if it starts with `magic` and a stamp no later than
    /// `newest` (the store's change sequence: a later stamp is from another
    /// store, or one restored from a backup), and gives the stamp.
    pub fn open(path: &Path, magic: &[u8; 8], newest: u64) -> Option<(SavedReader, u64)> {
        let mut r = SavedReader {
            input: BufReader::with_capacity(1 << 20, File::open(path).ok()?),
            sum: Sum::default(),
        };
        let mut head = [0u8; 8];
        r.take(&mut head)?;
        let stamp = r.u64()?;
        (&head == magic && stamp <= newest).then_some((r, stamp))
    }

    /// Fills `buf`.
    pub fn take(&mut self, buf: &mut [u8]) -> Option<()> {
        self.input.read_exact(buf).ok()?;
        self.sum.add(buf);
        Some(())
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> Option<u64> {
        let mut b = [0u8; 8];
        self.take(&mut b)?;
        Some(u64::from_le_bytes(b))
    }

    /// Fills `words`, each from its `N` little-endian bytes.
    pub fn words<const N: usize, T>(
        &mut self,
        words: &mut [T],
        from_le: fn([u8; N]) -> T,
    ) -> Option<()> {
        let mut bytes = vec![0u8; 1 << 20];
        for chunk in words.chunks_mut(bytes.len() / N) {
            let bytes = &mut bytes[..chunk.len() * N];
            self.take(bytes)?;
            for (word, b) in chunk.iter_mut().zip(bytes.chunks_exact(N)) {
                *word = from_le(b.try_into().expect("N bytes"));
            }
        }
        Some(())
    }

    /// Whether the checksum holds and the file ends there.
    pub fn finish(mut self) -> Option<()> {
        let sum = self.sum.value();
        let mut stored = [0u8; 8];
        self.input.read_exact(&mut stored).ok()?;
        (u64::from_le_bytes(stored) == sum && self.input.read(&mut [0u8; 1]).ok()? == 0)
            .then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_reads_back_only_whole_and_stamped_at_most_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.idx");
        let mut w = SavedWriter::create(&path, b"CGTEST01", 7).unwrap();
        w.u64(3).unwrap();
        w.put(b"abc").unwrap();
        w.finish().unwrap();
        let read = |path: &Path, stamp: u64| {
            let (mut r, at) = SavedReader::open(path, b"CGTEST01", stamp)?;
            assert_eq!(at, 7);
            let n = r.u64()?;
            let mut b = [0u8; 3];
            r.take(&mut b)?;
            r.finish()?;
            Some((n, b))
        };
        assert_eq!(read(&path, 7), Some((3, *b"abc")));
        assert_eq!(read(&path, 8), Some((3, *b"abc")), "a store ahead");
        assert_eq!(read(&path, 6), None, "a store behind the stamp");
        assert_eq!(stamp_of(&path), Some(7));
        assert!(SavedReader::open(&path, b"CGTEST02", 7).is_none());
        let bytes = std::fs::read(&path).unwrap();
        for i in [0, 9, 16, 20, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(read(&path, 7), None, "byte {i} damaged");
        }
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(read(&path, 7), None, "truncated");
        let mut longer = bytes.clone();
        longer.push(0);
        std::fs::write(&path, &longer).unwrap();
        assert_eq!(read(&path, 7), None, "something after the checksum");
    }
}
