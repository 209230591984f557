//! An immutable name index: one `fst` map over four key spaces, with posting
//! lists beside it.
//!
//! | key | value | finds |
//! |---|---|---|
//! | `N` + normalized name | posting list of names | the name as typed, after normalization |
//! | `C` + core | core id | every name with that core (region or form changed, dropped, added) |
//! | `D` + core, or core less one character | posting list of cores | one-character typos, by deletion neighbourhoods |
//! | `P` + toneless pinyin of a core | posting list of cores | homophones, pinyin typed as such |
//!
//! A typo is found by deletions on both sides (SymSpell's idea): a core and
//! its variants with one character deleted are keys; a query looks up its own
//! core and its one- (and, when that finds little, two-) character deletions.
//! An insertion, a deletion, a substitution or a swap of neighbours all
//! leave a deletion in common. Candidates are confirmed by a character-level
//! edit distance, not by `fst`'s Levenshtein automaton, which misses matches
//! on Chinese text (../shared/DEPENDENCIES.md). Cores shorter than three
//! characters get no deletion keys: one character left would match too much.
//!
//! Deletion and pinyin keys point at cores, not names: the 60 companies
//! called 华远科技 in 60 cities share one core, confirmed once.
//!
//! Files (in the segment's directory): `keys.fst`, `postings.bin`,
//! `cores.bin` and `cores.idx` (core text; per core its end offset and its
//! names' posting list), `names.bin` and `names.idx` (per name: subject key,
//! whether an alias, the current name's id, the text, and its places, legal
//! form and branch as parsed, so a query scores names without parsing them), and
//! `segment.meta` (format, the change-log sequence it covers, counts).
//! They are memory-mapped at open. The same structure also lives in memory,
//! as the delta of subjects written since the segment was built.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use fst::{Map, MapBuilder};

use super::normalize::{
    Form, NameParts, PINYIN_READINGS, normalize, parse, pinyin_keys, place_id, place_of,
};
use super::spill::{Item, ReadAhead, Sorter};
use crate::id::{SubjectKey, SubjectKind};
use crate::model::Subject;

const TAG_CORE: u8 = b'C';
const TAG_DELETION: u8 = b'D';
const TAG_NAME: u8 = b'N';
const TAG_PINYIN: u8 = b'P';

/// Format and key derivation. Bump it with any change to normalization,
/// parsing or keys: an older segment then fails to open and is rebuilt.
const META_MAGIC: &[u8; 8] = b"CGNAMES6";

/// Bytes of a segment part: memory-mapped from its file, or owned.
pub enum Bytes {
    /// A mapped file.
    Mapped(memmap2::Mmap),
    /// In memory.
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// One name of a subject, as the segment keeps it.
#[derive(Debug, Clone)]
pub struct NameRecord<'a> {
    /// Its subject and text.
    pub head: NameHead<'a>,
    /// Its places, legal form and branch (the core is the caller's).
    pub parts: NameParts,
}

/// A name's subject and text, without its parts ([`Segment::head`]).
#[derive(Debug, Clone, Copy)]
pub struct NameHead<'a> {
    /// The subject.
    pub key: SubjectKey,
    /// Whether this is an alias rather than the current name.
    pub alias: bool,
    /// The id of the subject's current name (itself unless an alias).
    pub current: u32,
    /// The name as given.
    pub text: &'a str,
}

/// An immutable name index.
pub struct Segment {
    keys: Map<Bytes>,
    postings: Bytes,
    cores: Bytes,
    core_idx: Bytes,
    names: Bytes,
    name_idx: Bytes,
    /// Change-log sequence the segment covers (every change below it).
    covers: u64,
}

/// The little-endian `u64` at `at`; 0 past the end (a damaged file).
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        // Past the end (a damaged file) reads as zeros: wrong ids that the
        // record lookups reject, never a panic.
        let b = bytes.get(*at).copied().unwrap_or(0);
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Appends a sorted, deduplicated posting list; returns its offset.
fn push_postings(out: &mut Sink, ids: &[u32]) -> io::Result<u64> {
    let at = out.len();
    let mut buf = Vec::with_capacity(ids.len() * 3 + 5);
    push_varint(&mut buf, ids.len() as u64);
    let mut last = 0u32;
    for &id in ids {
        push_varint(&mut buf, u64::from(id - last));
        last = id;
    }
    out.write_all(&buf)?;
    Ok(at)
}

/// Appends a core's names with their entry meta; returns the offset.
fn push_core_postings(out: &mut Sink, entries: &[(u32, u64)]) -> io::Result<u64> {
    let at = out.len();
    let mut buf = Vec::with_capacity(entries.len() * 8 + 5);
    push_varint(&mut buf, entries.len() as u64);
    let mut last = 0u32;
    for &(id, meta) in entries {
        push_varint(&mut buf, u64::from(id - last));
        push_varint(&mut buf, meta);
        last = id;
    }
    out.write_all(&buf)?;
    Ok(at)
}

/// A name under a core, with what scoring needs beside the core, so that
/// ranking reads one posting list in order instead of every name's record.
#[derive(Debug, Clone, Copy)]
pub struct CoreEntry {
    /// The name's id.
    pub name: u32,
    /// Bits 0–3 form code, 4 person, 5 has a branch, 6 alias, 7–8 number of
    /// places, then up to three 16-bit place ids.
    meta: u64,
}

impl CoreEntry {
    fn meta(parts: &NameParts, kind: SubjectKind, alias: bool) -> u64 {
        let mut m = u64::from(parts.form.map_or(0, Form::code));
        m |= u64::from(kind == SubjectKind::Person) << 4;
        m |= u64::from(parts.branch.is_some()) << 5;
        m |= u64::from(alias) << 6;
        let places: Vec<u16> = parts
            .regions
            .iter()
            .filter_map(|r| place_id(r))
            .take(3)
            .collect();
        m |= (places.len() as u64) << 7;
        for (i, p) in places.iter().enumerate() {
            m |= u64::from(*p) << (9 + 16 * i);
        }
        m
    }

    /// The legal form.
    pub fn form(self) -> Option<Form> {
        Form::from_code((self.meta & 0xf) as u8)
    }

    /// A person's name.
    pub fn person(self) -> bool {
        self.meta & (1 << 4) != 0
    }

    /// The name has a branch part.
    pub fn has_branch(self) -> bool {
        self.meta & (1 << 5) != 0
    }

    /// An alias, not the current name.
    pub fn alias(self) -> bool {
        self.meta & (1 << 6) != 0
    }

    /// Its places (up to three).
    pub fn places(self) -> impl Iterator<Item = &'static str> {
        let n = ((self.meta >> 7) & 3) as usize;
        (0..n).filter_map(move |i| place_of(((self.meta >> (9 + 16 * i)) & 0xffff) as u16))
    }
}

/// The ids of the posting list at `at`, at most `cap` of them.
fn postings_at(bytes: &[u8], at: u64, cap: usize, out: &mut Vec<u32>) {
    let mut i = at as usize;
    let n = read_varint(bytes, &mut i) as usize;
    let mut last = 0u32;
    for _ in 0..n.min(cap) {
        last += read_varint(bytes, &mut i) as u32;
        out.push(last);
    }
}

fn key(tag: u8, text: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(text.len() + 1);
    k.push(tag);
    k.extend_from_slice(text.as_bytes());
    k
}

/// The core and its one-character deletions, for cores of three characters
/// or more (none for shorter ones).
pub fn deletion_keys(core: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = core.chars().collect();
    if chars.len() < 3 {
        return;
    }
    out.push(core.to_string());
    for skip in 0..chars.len() {
        out.push(
            chars
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != skip)
                .map(|(_, c)| c)
                .collect(),
        );
    }
}

/// What a name contributes to the index.
pub struct Keyed {
    /// Normalized text.
    pub normalized: String,
    /// Core of an organization's name; a person's whole name.
    pub core: String,
    /// The other parts (none for a person).
    pub parts: NameParts,
}

/// The normalized form, core and parts of a subject's name.
pub fn keyed(text: &str, kind: SubjectKind) -> Keyed {
    let normalized = normalize(text);
    let mut parts = match kind {
        SubjectKind::Org => parse(&normalized),
        SubjectKind::Person => NameParts {
            core: normalized.clone(),
            ..NameParts::default()
        },
    };
    let core = std::mem::take(&mut parts.core);
    Keyed {
        normalized,
        core,
        parts,
    }
}

/// Where a segment part is written: memory (the delta), or a file.
enum Sink {
    Memory(Vec<u8>),
    File { out: BufWriter<fs::File>, len: u64 },
}

impl Sink {
    fn file(path: &Path) -> io::Result<Sink> {
        Ok(Sink::File {
            out: BufWriter::with_capacity(1 << 20, fs::File::create(path)?),
            len: 0,
        })
    }

    fn len(&self) -> u64 {
        match self {
            Sink::Memory(v) => v.len() as u64,
            Sink::File { len, .. } => *len,
        }
    }

    /// The bytes (memory), or nothing once the file is synced.
    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Sink::Memory(v) => Ok(v),
            Sink::File { out, .. } => {
                out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                Ok(Vec::new())
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Memory(v) => v.extend_from_slice(buf),
            Sink::File { out, len } => {
                out.write_all(buf)?;
                *len += buf.len() as u64;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Memory(_) => Ok(()),
            Sink::File { out, .. } => out.flush(),
        }
    }
}

/// Memory the builder's sorters may hold before spilling a run.
const SORT_BUDGET: usize = 256 << 20;

/// Collects subjects and writes a segment: in memory (the delta), or into a
/// directory with bounded memory (names and records stream to their files;
/// keys are sorted in runs on disk, [`super::spill`]).
pub struct SegmentBuilder {
    /// Where the files go (a temporary directory renamed at the end).
    dir: Option<(PathBuf, PathBuf)>,
    /// Normalized names: key, name id.
    full: Sorter,
    /// Cores: key, name id, entry meta.
    by_core: Sorter,
    names: Sink,
    name_idx: Sink,
    count: u32,
    /// Sort memory per sorter before a run is spilled.
    budget: usize,
}

impl SegmentBuilder {
    /// A builder in memory.
    pub fn memory() -> SegmentBuilder {
        SegmentBuilder {
            dir: None,
            full: Sorter::new(None, "names", SORT_BUDGET),
            by_core: Sorter::new(None, "cores", SORT_BUDGET),
            names: Sink::Memory(Vec::new()),
            name_idx: Sink::Memory(Vec::new()),
            count: 0,
            budget: SORT_BUDGET,
        }
    }

    /// A builder of the segment in `dir`, which it replaces when done.
    pub fn to_dir(dir: &Path) -> io::Result<SegmentBuilder> {
        Self::to_dir_with_budget(dir, SORT_BUDGET)
    }

    fn to_dir_with_budget(dir: &Path, budget: usize) -> io::Result<SegmentBuilder> {
        let tmp = dir.with_extension("tmp");
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp)?;
        Ok(SegmentBuilder {
            full: Sorter::new(Some(tmp.clone()), "names", budget),
            by_core: Sorter::new(Some(tmp.clone()), "cores", budget),
            names: Sink::file(&tmp.join("names.bin"))?,
            name_idx: Sink::file(&tmp.join("names.idx"))?,
            dir: Some((dir.to_path_buf(), tmp)),
            count: 0,
            budget,
        })
    }

    /// Adds a subject's current name and aliases.
    pub fn add(&mut self, subject: &Subject) -> io::Result<()> {
        let current = self.count;
        let kind = subject.id.kind();
        for (i, text) in std::iter::once(&subject.name)
            .chain(&subject.aliases)
            .enumerate()
        {
            let id = self.count;
            self.count += 1;
            let at = self.names.len();
            self.name_idx.write_all(&at.to_le_bytes())?;
            let mut record = Vec::with_capacity(64);
            record.extend_from_slice(&subject.id.to_bytes());
            record.push(u8::from(i > 0));
            record.extend_from_slice(&current.to_le_bytes());
            let mut len = text.len().min(u16::MAX as usize);
            while !text.is_char_boundary(len) {
                len -= 1;
            }
            let text = &text[..len];
            record.extend_from_slice(&(text.len() as u16).to_le_bytes());
            record.extend_from_slice(text.as_bytes());
            let k = keyed(text, kind);
            // The parts beside the core, so that a query scores names
            // without parsing them again.
            let regions: Vec<u16> = k
                .parts
                .regions
                .iter()
                .filter_map(|r| place_id(r))
                .take(8)
                .collect();
            record.push(regions.len() as u8);
            for r in regions {
                record.extend_from_slice(&r.to_le_bytes());
            }
            record.push(k.parts.form.map_or(0, Form::code));
            let branch = k.parts.branch.as_deref().unwrap_or("");
            let branch = if branch.len() > 255 { "" } else { branch };
            record.push(branch.len() as u8);
            record.extend_from_slice(branch.as_bytes());
            self.names.write_all(&record)?;
            if k.normalized.is_empty() {
                continue;
            }
            self.full.push(Item {
                key: k.normalized.into_bytes().into(),
                a: id,
                b: 0,
            })?;
            if !k.core.is_empty() {
                self.by_core.push(Item {
                    key: k.core.into_bytes().into(),
                    a: id,
                    b: CoreEntry::meta(&k.parts, kind, i > 0),
                })?;
            }
        }
        Ok(())
    }

    /// Builds the segment: in memory, or into its directory (replacing what
    /// was there), then maps it.
    pub fn finish(self, covers: u64) -> io::Result<Segment> {
        let names = self.count;
        let spill = self.dir.as_ref().map(|(_, tmp)| tmp.clone());
        let file = |name: &str| -> io::Result<Sink> {
            match &spill {
                Some(tmp) => Sink::file(&tmp.join(name)),
                None => Ok(Sink::Memory(Vec::new())),
            }
        };
        let mut postings = file("postings.bin")?;
        let mut cores = file("cores.bin")?;
        let mut core_idx = file("cores.idx")?;
        let mut keys = MapBuilder::new(file("keys.fst")?).map_err(io::Error::other)?;
        let mut deletions = Sorter::new(spill.clone(), "deletions", self.budget);
        let mut pinyin = Sorter::new(spill.clone(), "pinyin", self.budget);
        // Cores, in key order: ids, text, their names' postings, and the
        // deletion and pinyin keys that lead to them.
        let mut group: Vec<(u32, u64)> = Vec::new();
        let mut current: Option<Box<[u8]>> = None;
        let mut core_count = 0u32;
        let mut scratch = Vec::new();
        let mut flush_core = |text: &[u8], group: &mut Vec<(u32, u64)>| -> io::Result<()> {
            group.dedup_by_key(|e| e.0);
            let at = push_core_postings(&mut postings, group)?;
            group.clear();
            cores.write_all(text)?;
            core_idx.write_all(&cores.len().to_le_bytes())?;
            core_idx.write_all(&at.to_le_bytes())?;
            let core_id = core_count;
            core_count += 1;
            // Cores come from `String`s: always UTF-8.
            let text = std::str::from_utf8(text).unwrap_or("");
            keys.insert(key(TAG_CORE, text), u64::from(core_id))
                .map_err(io::Error::other)?;
            scratch.clear();
            deletion_keys(text, &mut scratch);
            for d in scratch.drain(..) {
                deletions.push(Item {
                    key: d.into_bytes().into(),
                    a: core_id,
                    b: 0,
                })?;
            }
            // Other readings of polyphonic characters too, for pinyin typed
            // as people say it (长 in 长沙 is chang, its first reading zhang).
            for py in pinyin_keys(text, PINYIN_READINGS) {
                pinyin.push(Item {
                    key: py.into_bytes().into(),
                    a: core_id,
                    b: 0,
                })?;
            }
            Ok(())
        };
        for item in self.by_core.finish()?.read_ahead()? {
            let item = item?;
            if current.as_deref() != Some(&item.key[..]) {
                if let Some(text) = current.take() {
                    flush_core(&text, &mut group)?;
                }
                current = Some(item.key);
            }
            group.push((item.a, item.b));
        }
        if let Some(text) = current.take() {
            flush_core(&text, &mut group)?;
        }
        // Tags in byte order: C (above) < D < N < P.
        // Each merged ahead while the map is built.
        let deletions = deletions.finish()?.read_ahead()?;
        insert_groups(&mut keys, &mut postings, TAG_DELETION, deletions)?;
        let full = self.full.finish()?.read_ahead()?;
        insert_groups(&mut keys, &mut postings, TAG_NAME, full)?;
        let pinyin = pinyin.finish()?.read_ahead()?;
        insert_groups(&mut keys, &mut postings, TAG_PINYIN, pinyin)?;
        let keys = keys.into_inner().map_err(io::Error::other)?.finish()?;
        let postings = postings.finish()?;
        let cores = cores.finish()?;
        let core_idx = core_idx.finish()?;
        let names_bytes = self.names.finish()?;
        let name_idx = self.name_idx.finish()?;
        let Some((dir, tmp)) = self.dir else {
            return Ok(Segment {
                keys: Map::new(Bytes::Owned(keys)).map_err(io::Error::other)?,
                postings: Bytes::Owned(postings),
                cores: Bytes::Owned(cores),
                core_idx: Bytes::Owned(core_idx),
                names: Bytes::Owned(names_bytes),
                name_idx: Bytes::Owned(name_idx),
                covers,
            });
        };
        let mut meta = META_MAGIC.to_vec();
        meta.extend_from_slice(&covers.to_le_bytes());
        meta.extend_from_slice(&u64::from(names).to_le_bytes());
        fs::write(tmp.join("segment.meta"), meta)?;
        let _ = fs::remove_dir_all(&dir);
        fs::rename(&tmp, &dir)?;
        Segment::open(&dir)?
            .ok_or_else(|| io::Error::other("the segment just written is unreadable"))
    }
}

/// Inserts sorted `(key, id)` items as keys `tag`+key, each with the posting
/// list of its ids.
fn insert_groups(
    keys: &mut MapBuilder<Sink>,
    postings: &mut Sink,
    tag: u8,
    items: ReadAhead,
) -> io::Result<()> {
    let mut current: Option<Box<[u8]>> = None;
    let mut ids: Vec<u32> = Vec::new();
    let mut flush = |text: &[u8], ids: &mut Vec<u32>| -> io::Result<()> {
        ids.dedup();
        let at = push_postings(postings, ids)?;
        ids.clear();
        let mut k = Vec::with_capacity(text.len() + 1);
        k.push(tag);
        k.extend_from_slice(text);
        keys.insert(k, at).map_err(io::Error::other)
    };
    for item in items {
        let item = item?;
        if current.as_deref() != Some(&item.key[..]) {
            if let Some(text) = current.take() {
                flush(&text, &mut ids)?;
            }
            current = Some(item.key);
        }
        ids.push(item.a);
    }
    if let Some(text) = current.take() {
        flush(&text, &mut ids)?;
    }
    Ok(())
}

impl Segment {
    /// Maps the segment in `dir`; `None` if it is missing or not a complete
    /// segment of this format.
    pub fn open(dir: &Path) -> std::io::Result<Option<Segment>> {
        let Ok(meta) = fs::read(dir.join("segment.meta")) else {
            return Ok(None);
        };
        if meta.len() != 24 || &meta[..8] != META_MAGIC {
            return Ok(None);
        }
        let map = |file: &str| -> std::io::Result<Bytes> {
            let f = fs::File::open(dir.join(file))?;
            if f.metadata()?.len() == 0 {
                return Ok(Bytes::Owned(Vec::new()));
            }
            // SAFETY: segment files are written once, renamed into place,
            // and never modified; a rebuild writes a new directory.
            let map = unsafe { memmap2::Mmap::map(&f)? };
            // Start reading the files in now, without waiting for it: the
            // first queries after a start should not each fault pages in.
            #[cfg(unix)]
            let _ = map.advise(memmap2::Advice::WillNeed);
            Ok(Bytes::Mapped(map))
        };
        let keys = match Map::new(map("keys.fst")?) {
            Ok(m) => m,
            Err(_) => return Ok(None),
        };
        let segment = Segment {
            keys,
            postings: map("postings.bin")?,
            cores: map("cores.bin")?,
            core_idx: map("cores.idx")?,
            names: map("names.bin")?,
            name_idx: map("names.idx")?,
            covers: read_u64(&meta, 8),
        };
        if segment.name_idx.len() as u64 != read_u64(&meta, 16) * 8
            || !segment.core_idx.len().is_multiple_of(16)
        {
            return Ok(None);
        }
        Ok(Some(segment))
    }

    /// The change-log sequence the segment covers.
    pub fn covers(&self) -> u64 {
        self.covers
    }

    /// Names in the segment.
    pub fn name_count(&self) -> usize {
        self.name_idx.len() / 8
    }

    /// Bytes of all parts.
    pub fn bytes(&self) -> usize {
        self.keys.as_fst().as_bytes().len()
            + self.postings.len()
            + self.cores.len()
            + self.core_idx.len()
            + self.names.len()
            + self.name_idx.len()
    }

    /// Names whose normalized text is `normalized`.
    pub fn names_by_text(&self, normalized: &str, cap: usize, out: &mut Vec<u32>) {
        if let Some(at) = self.keys.get(key(TAG_NAME, normalized)) {
            postings_at(&self.postings, at, cap, out);
        }
    }

    /// The id of `core`, if some name has it.
    pub fn core_id(&self, core: &str) -> Option<u32> {
        self.keys.get(key(TAG_CORE, core)).map(|v| v as u32)
    }

    /// Cores with the deletion key `k` (a core or a core less one character).
    pub fn cores_by_deletion(&self, k: &str, out: &mut Vec<u32>) {
        if let Some(at) = self.keys.get(key(TAG_DELETION, k)) {
            postings_at(&self.postings, at, usize::MAX, out);
        }
    }

    /// Cores whose toneless pinyin is `py`.
    pub fn cores_by_pinyin(&self, py: &str, out: &mut Vec<u32>) {
        if let Some(at) = self.keys.get(key(TAG_PINYIN, py)) {
            postings_at(&self.postings, at, usize::MAX, out);
        }
    }

    /// Cores whose text (`pinyin` false) or pinyin (`pinyin` true) starts
    /// with `prefix` and is longer, at most `cap` of them: a name typed in
    /// part (凯隆房地产 for 凯隆房地产开发).
    pub fn cores_by_prefix(&self, prefix: &str, pinyin: bool, cap: usize, out: &mut Vec<u32>) {
        use fst::{IntoStreamer, Streamer};
        let k = key(if pinyin { TAG_PINYIN } else { TAG_CORE }, prefix);
        let mut stream = self.keys.range().gt(&k).into_stream();
        let start = out.len();
        while let Some((found, value)) = stream.next() {
            if !found.starts_with(&k) || out.len() - start >= cap {
                break;
            }
            if pinyin {
                postings_at(&self.postings, value, cap, out);
            } else {
                out.push(value as u32);
            }
        }
        out.truncate(start + cap);
    }

    /// The text of core `id`.
    pub fn core_text(&self, id: u32) -> &str {
        let i = id as usize * 16;
        let end = read_u64(&self.core_idx, i) as usize;
        let start = if id == 0 {
            0
        } else {
            read_u64(&self.core_idx, i - 16) as usize
        };
        self.cores
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// The names with core `id`, at most `cap`.
    pub fn core_names(&self, id: u32, cap: usize, out: &mut Vec<CoreEntry>) {
        let at = read_u64(&self.core_idx, id as usize * 16 + 8);
        let bytes = &self.postings[..];
        let mut i = at as usize;
        let n = read_varint(bytes, &mut i) as usize;
        let mut last = 0u32;
        for _ in 0..n.min(cap) {
            last += read_varint(bytes, &mut i) as u32;
            out.push(CoreEntry {
                name: last,
                meta: read_varint(bytes, &mut i),
            });
        }
    }

    /// Name `id`.
    pub fn name(&self, id: u32) -> Option<NameRecord<'_>> {
        let (head, mut i) = self.head_at(id)?;
        let n = usize::from(*self.names.get(i)?);
        i += 1;
        let mut parts = NameParts::default();
        for _ in 0..n {
            let id = u16::from_le_bytes(self.names.get(i..i + 2)?.try_into().ok()?);
            parts.regions.extend(place_of(id));
            i += 2;
        }
        parts.form = Form::from_code(*self.names.get(i)?);
        let blen = usize::from(*self.names.get(i + 1)?);
        let branch = std::str::from_utf8(self.names.get(i + 2..i + 2 + blen)?).ok()?;
        parts.branch = (!branch.is_empty()).then(|| branch.to_string());
        Some(NameRecord { head, parts })
    }

    /// Name `id` without its parts: what ranking and the rivalry read for
    /// every candidate, where the parts are not needed.
    pub fn head(&self, id: u32) -> Option<NameHead<'_>> {
        self.head_at(id).map(|(head, _)| head)
    }

    /// Only the subject of name `id`.
    pub fn key(&self, id: u32) -> Option<SubjectKey> {
        let at = read_u64(&self.name_idx, id as usize * 8) as usize;
        SubjectKey::from_own_bytes(self.names.get(at..at + 12)?)
    }

    /// The head of name `id`, and where its parts start.
    fn head_at(&self, id: u32) -> Option<(NameHead<'_>, usize)> {
        let at = read_u64(&self.name_idx, id as usize * 8) as usize;
        let r = self.names.get(at..at + 19)?;
        let key = SubjectKey::from_own_bytes(&r[..12])?;
        let current = u32::from_le_bytes(r[13..17].try_into().ok()?);
        let len = u16::from_le_bytes(r[17..19].try_into().ok()?) as usize;
        let text = std::str::from_utf8(self.names.get(at + 19..at + 19 + len)?).ok()?;
        Some((
            NameHead {
                key,
                alias: r[12] != 0,
                current,
                text,
            },
            at + 19 + len,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(id: &str, name: &str, aliases: &[&str]) -> Subject {
        Subject {
            id: SubjectKey::parse(id).unwrap(),
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            persons: Vec::new(),
        }
    }

    fn subjects() -> Vec<Subject> {
        vec![
            subject(
                "91360100705500005G",
                "江西华远科技有限公司",
                &["南昌华远科技有限公司"],
            ),
            subject("91360100MA35XXXX7J", "九江华远科技有限责任公司", &[]),
            subject("360102198801011233", "张伟", &[]),
        ]
    }

    fn fill(mut b: SegmentBuilder) -> SegmentBuilder {
        for s in subjects() {
            b.add(&s).unwrap();
        }
        b
    }

    fn check(s: &Segment) {
        assert_eq!(s.name_count(), 4);
        let mut out = Vec::new();
        s.names_by_text("南昌华远科技有限公司", 10, &mut out);
        assert_eq!(out, [1]);
        let r = s.name(1).unwrap().head;
        assert!(r.alias && r.current == 0 && r.text == "南昌华远科技有限公司");
        assert_eq!(s.key(1), Some(r.key));
        assert_eq!(s.head(1).unwrap().text, r.text);
        let core = s.core_id("华远科技").unwrap();
        assert_eq!(s.core_text(core), "华远科技");
        let mut entries = Vec::new();
        s.core_names(core, 10, &mut entries);
        assert_eq!(
            entries.iter().map(|e| e.name).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(entries[0].places().collect::<Vec<_>>(), ["江西"]);
        assert_eq!(entries[2].places().collect::<Vec<_>>(), ["九江"]);
        assert!(entries[1].alias() && !entries[0].alias());
        assert_eq!(entries[0].form(), Some(Form::Limited));
        assert!(!entries[0].person() && !entries[0].has_branch());
        out.clear();
        s.cores_by_deletion("华科技", &mut out);
        assert_eq!(out, [core]);
        out.clear();
        s.cores_by_pinyin("zhangwei", &mut out);
        assert_eq!(s.core_text(out[0]), "张伟");
        // Two-character cores get no deletion keys.
        out.clear();
        s.cores_by_deletion("张", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn keys_postings_and_records_in_memory_and_on_disk() {
        check(&fill(SegmentBuilder::memory()).finish(7).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let written = fill(SegmentBuilder::to_dir(&dir.path().join("seg")).unwrap())
            .finish(7)
            .unwrap();
        check(&written);
        // Only the segment's files are left: no runs, no temporary directory.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(fs::read_dir(dir.path().join("seg")).unwrap().count(), 7);
        let reopened = Segment::open(&dir.path().join("seg")).unwrap().unwrap();
        assert_eq!(reopened.covers(), 7);
        check(&reopened);
        // Truncated posting and core files give wrong answers, not panics.
        for file in ["postings.bin", "cores.bin"] {
            let path = dir.path().join("seg").join(file);
            let bytes = fs::read(&path).unwrap();
            fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        }
        let damaged = Segment::open(&dir.path().join("seg")).unwrap().unwrap();
        let mut out = Vec::new();
        let mut entries = Vec::new();
        for k in ["南昌华远科技有限公司", "华远科技", "张伟", "华科技"] {
            damaged.names_by_text(k, 10, &mut out);
            damaged.cores_by_deletion(k, &mut out);
            damaged.cores_by_pinyin(k, &mut out);
        }
        for id in 0..4 {
            let _ = damaged.core_text(id);
            damaged.core_names(id, 10, &mut entries);
        }
        for id in out {
            let _ = damaged.name(id);
        }
        // A damaged meta file is not a segment.
        fs::write(dir.path().join("seg/segment.meta"), b"junk").unwrap();
        assert!(Segment::open(&dir.path().join("seg")).unwrap().is_none());
    }

    #[test]
    fn varints_round_trip() {
        let mut out = Sink::Memory(b"x".to_vec());
        let at = push_postings(&mut out, &[0, 5, 300, 70_000, u32::MAX]).unwrap();
        let mut ids = Vec::new();
        postings_at(&out.finish().unwrap(), at, usize::MAX, &mut ids);
        assert_eq!(ids, [0, 5, 300, 70_000, u32::MAX]);
    }

    /// Building with runs spilled to disk makes the same files as building
    /// in memory.
    #[test]
    fn a_build_in_sorted_runs_equals_one_in_memory() {
        let names = ["华远科技", "华达科技", "鑫盛贸易", "恒源实业", "宏德建材"];
        let places = ["南昌", "九江", "赣州", "上饶"];
        let mut many = Vec::new();
        for (i, (n, p)) in names
            .iter()
            .flat_map(|n| places.iter().map(move |p| (n, p)))
            .enumerate()
        {
            let body = format!("3601021980010{:04}", 1000 + i);
            let id = crate::id::build::identity_number(body.as_bytes()[..17].try_into().unwrap())
                .unwrap();
            many.push(subject(
                std::str::from_utf8(&id).unwrap(),
                &format!("{p}{n}有限公司"),
                &[],
            ));
        }
        let memory = {
            let mut b = SegmentBuilder::memory();
            many.iter().for_each(|s| b.add(s).unwrap());
            b.finish(3).unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let spilled = {
            // A budget of a few items: every sorter spills many runs.
            let mut b = SegmentBuilder::to_dir_with_budget(&dir.path().join("seg"), 200).unwrap();
            many.iter().for_each(|s| b.add(s).unwrap());
            b.finish(3).unwrap()
        };
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "runs left behind"
        );
        for (a, b) in [
            (
                memory.keys.as_fst().as_bytes(),
                spilled.keys.as_fst().as_bytes(),
            ),
            (&memory.postings[..], &spilled.postings[..]),
            (&memory.cores[..], &spilled.cores[..]),
            (&memory.core_idx[..], &spilled.core_idx[..]),
            (&memory.names[..], &spilled.names[..]),
            (&memory.name_idx[..], &spilled.name_idx[..]),
        ] {
            assert_eq!(a, b);
        }
    }
}
